/**
 * The billing check (tag contract v2): after the image is available the workflow reads its
 * PlatformDetails; without the expected operating system it deregisters the image and fails
 * the registration with the reason and the way out, or, with allow-billing-code-loss=true,
 * keeps it tagged `<p>billing-check=missing` and completes with a warning. The emulator's
 * root-snapshot tag `emulator:platform-details` chooses the billing an image gets (ADR 0006);
 * without it an image is Linux/UNIX, as from a snapshot whose metadata carries no billing.
 */
import { DescribeImagesCommand, DescribeSnapshotsCommand, EC2Client } from '@aws-sdk/client-ec2';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import type { Plan } from '#shared/contract/types.ts';
import { executionInput } from '#shared/workflow.ts';
import {
  createPipeline,
  describeImagesBody,
  ec2Error,
  type FaultProxy,
  type Pipeline,
  PLATFORM_DETAILS_TAG,
  startFaultProxy,
} from '../../local/index.ts';
import { executionArn as arn, planFor } from '../support/pipeline.ts';

const ec2 = new EC2Client({});
let pipeline: Pipeline;
let counter = 0;
const unique = (label: string) => `${label}-${Date.now()}-${++counter}`;

beforeAll(async () => {
  pipeline = await createPipeline();
});

const imagesNamed = async (name: string) =>
  (await ec2.send(new DescribeImagesCommand({ Filters: [{ Name: 'name', Values: [name] }] }))).Images ?? [];

const snapshotTags = async (plan: Plan) =>
  (await ec2.send(new DescribeSnapshotsCommand({ SnapshotIds: plan.snapshotIds }))).Snapshots?.[0]?.Tags ??
  [];

const noticesFor = async (on: Pipeline, plan: Plan) =>
  (await on.notifications()).filter((n) => n.message.key === plan.key).map((n) => n.message);

/** A plan of a snapshot with these tags (snap2ami: ones and the emulator's billing tag). */
const billingPlan = (label: string, tags: Record<string, string>) =>
  planFor(ec2, { 'snap2ami:name': unique(label), ...tags });

const run = (on: Pipeline, plan: Plan) =>
  on.workflow.run(executionInput(plan, {}, new Date()), arn(plan.key));

/** A registration the check failed: FAILED at CheckBilling with `reason` (its parts in order), no image left, nothing tagged. */
async function expectDeregistered(on: Pipeline, plan: Plan, reason: string[]) {
  const record = await on.record(plan.key);
  expect(record).toMatchObject({
    status: 'FAILED',
    failedStep: 'CheckBilling',
    error: 'BillingInformationMissing',
  });
  // The cause as Lambda reports it: the error's message inside a JSON object.
  const message = (JSON.parse(String(record?.cause)) as { errorMessage: string }).errorMessage;
  let from = 0;
  for (const part of reason) {
    const at = message.indexOf(part, from);
    expect(at, `"${part}" in order in: ${message}`).toBeGreaterThanOrEqual(0);
    from = at + part.length;
  }
  // The image is gone: neither the record nor the notification names it as if it were there.
  expect(record).not.toHaveProperty('imageId');
  const notices = await noticesFor(on, plan);
  expect(notices).toEqual([
    expect.objectContaining({ outcome: 'FAILED', failedStep: 'CheckBilling', cause: record?.cause }),
  ]);
  expect(notices[0]).not.toHaveProperty('imageId');
  expect(await imagesNamed(plan.request.Name)).toEqual([]);
  expect((await snapshotTags(plan)).map((tag) => tag.Key)).not.toContain('snap2ami:image-id');
}

describe('the billing check', () => {
  it('deregisters a Windows image that came back without Windows billing, and fails with the reason and the way out', async () => {
    const plan = await billingPlan('billing-windows-missing', { 'snap2ami:platform': 'windows' });
    expect(plan.billingCheck).toEqual({ expect: 'Windows', onMissing: 'deregister' });
    const execution = await run(pipeline, plan);
    expect(execution.status).toBe('FAILED');
    expect(execution.retries('CheckBilling')).toBe(0);
    await expectDeregistered(pipeline, plan, [
      'has PlatformDetails "Linux/UNIX", not Windows',
      'The image was deregistered.',
      'Create the AMI from an instance instead',
      'snap2ami:allow-billing-code-loss=true',
    ]);
  });

  it('keeps it with allow-billing-code-loss=true: tagged billing-check=missing, COMPLETED with the warning in the record and the notification', async () => {
    const plan = await billingPlan('billing-windows-kept', {
      'snap2ami:platform': 'windows',
      'snap2ami:allow-billing-code-loss': 'true',
    });
    const execution = await run(pipeline, plan);
    expect(execution.status, `${execution.error}: ${execution.cause}`).toBe('SUCCEEDED');
    const { imageId } = execution.output as { imageId: string };
    const [image] = await imagesNamed(plan.request.Name);
    expect(image?.ImageId).toBe(imageId);
    expect(image?.Tags).toContainEqual({ Key: 'snap2ami:billing-check', Value: 'missing' });
    const warning = expect.stringContaining(
      `the image ${imageId} has PlatformDetails "Linux/UNIX", not Windows`,
    );
    expect(await pipeline.record(plan.key)).toMatchObject({
      status: 'COMPLETED',
      imageId,
      warnings: [warning],
    });
    expect(await noticesFor(pipeline, plan)).toEqual([
      expect.objectContaining({ outcome: 'REGISTERED', imageId, warnings: [warning] }),
    ]);
    expect(await snapshotTags(plan)).toContainEqual({ Key: 'snap2ami:image-id', Value: imageId });
  });

  it('completes a Windows image that has Windows billing, untagged and without warnings', async () => {
    const plan = await billingPlan('billing-windows-present', {
      'snap2ami:platform': 'windows',
      [PLATFORM_DETAILS_TAG]: 'Windows with SQL Server Standard',
    });
    const execution = await run(pipeline, plan);
    expect(execution.status, `${execution.error}: ${execution.cause}`).toBe('SUCCEEDED');
    const { imageId } = execution.output as { imageId: string };
    const [image] = await imagesNamed(plan.request.Name);
    expect(image?.PlatformDetails).toBe('Windows with SQL Server Standard');
    expect(image?.Tags?.map((tag) => tag.Key)).not.toContain('snap2ami:billing-check');
    const record = await pipeline.record(plan.key);
    expect(record).toMatchObject({ status: 'COMPLETED', imageId });
    expect(record).not.toHaveProperty('warnings');
    expect(await noticesFor(pipeline, plan)).toEqual([
      expect.objectContaining({ outcome: 'REGISTERED', imageId, warnings: [] }),
    ]);
  });

  it('deregisters a RHEL image with no billing at all (empty PlatformDetails)', async () => {
    const plan = await billingPlan('billing-rhel-empty', {
      'snap2ami:platform': 'rhel',
      [PLATFORM_DETAILS_TAG]: '',
    });
    expect((await run(pipeline, plan)).status).toBe('FAILED');
    await expectDeregistered(pipeline, plan, [
      'has no PlatformDetails, not Red Hat',
      'The image was deregistered.',
    ]);
  });

  it('does not check a linux snapshot, whatever its billing', async () => {
    const plan = await billingPlan('billing-linux', { [PLATFORM_DETAILS_TAG]: '' });
    expect(plan).not.toHaveProperty('billingCheck');
    const execution = await run(pipeline, plan);
    expect(execution.status, `${execution.error}: ${execution.cause}`).toBe('SUCCEEDED');
    expect(execution.events.some((e) => e.state?.name === 'CheckBilling')).toBe(false);
  });
});

describe('the billing check under retry', () => {
  let proxy: FaultProxy;
  afterAll(() => proxy?.close());

  it('deregisters again, harmlessly, when the first DeregisterImage answer was lost and a stale read still shows the image', async () => {
    proxy = await startFaultProxy(inject('awsEndpoint'));
    const through = new EC2Client({ endpoint: proxy.endpoint, maxAttempts: 1 });
    let injected = false;
    const faulty = await createPipeline({
      ec2: through,
      aroundImage: async (task, next) => {
        if (task.action === 'checkBilling' && !injected) {
          injected = true;
          const { imageId } = task.image as { imageId: string };
          // The first DeregisterImage deregisters, but its answer is lost (a 503: retried);
          // the retry's DescribeImages is stale, still showing the image (without billing).
          proxy.inject({
            action: 'DeregisterImage',
            forward: true,
            times: 1,
            status: 503,
            body: ec2Error('ServiceUnavailable', 'Service unavailable.'),
          });
          proxy.inject({
            action: 'DescribeImages',
            skip: 1,
            times: 1,
            status: 200,
            body: describeImagesBody(imageId, 'available'),
          });
        }
        return next();
      },
    });
    const plan = await billingPlan('billing-retry', { 'snap2ami:platform': 'windows' });
    const execution = await run(faulty, plan);
    expect(execution.status).toBe('FAILED');
    expect(execution.retries('CheckBilling')).toBe(1);
    expect(proxy.calls.get('EC2.DeregisterImage')).toBe(2);
    await expectDeregistered(faulty, plan, [
      'has no PlatformDetails, not Windows',
      'The image was deregistered.',
    ]);
  });
});
