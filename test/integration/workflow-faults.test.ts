/**
 * The workflow under faults: throttling and server errors are retried with backoff until
 * success; permanent errors fail the registration at once, with a FAILED record and a
 * failure notification, and no retry storm.
 */
import { DynamoDBClient, UpdateItemCommand } from '@aws-sdk/client-dynamodb';
import {
  CreateTagsCommand,
  DescribeImagesCommand,
  EC2Client,
  RegisterImageCommand,
} from '@aws-sdk/client-ec2';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import type { Plan } from '#shared/contract/types.ts';
import { executionInput } from '#shared/workflow.ts';
import {
  createPipeline,
  describeImagesBody,
  ec2Error,
  type FaultProxy,
  type Pipeline,
  startFaultProxy,
  unauthorized,
} from '../../local/index.ts';
import { executionArn as arn, planFor as planWith } from '../support/pipeline.ts';

const ec2 = new EC2Client({});
let proxy: FaultProxy;
let pipeline: Pipeline;

beforeAll(async () => {
  proxy = await startFaultProxy(inject('awsEndpoint'));
  // The waits end by their looks, which the proxy's faults decide (the emulator's events are not faked).
  pipeline = await createPipeline({
    ec2: new EC2Client({ maxAttempts: 1, endpoint: proxy.endpoint }),
    amiEvents: false,
  });
});
afterAll(() => proxy.close());

const imagesNamed = async (name: string) =>
  (await ec2.send(new DescribeImagesCommand({ Filters: [{ Name: 'name', Values: [name] }] }))).Images ?? [];

const planFor = (name: string) => planWith(ec2, { 'snap2ami:name': name });

describe('workflow under faults', () => {
  it('retries throttling and a server error on register, then registers one AMI', async () => {
    const name = `wf-throttled-${Date.now()}`;
    const plan = await planFor(name);
    proxy.inject({
      action: 'RegisterImage',
      dryRun: false,
      times: 1,
      status: 503,
      body: ec2Error('RequestLimitExceeded', 'Request limit exceeded.'),
    });
    proxy.inject({
      action: 'RegisterImage',
      dryRun: false,
      times: 1,
      status: 500,
      body: ec2Error('InternalError', 'An internal error has occurred.'),
    });
    const execution = await pipeline.workflow.run(executionInput(plan, {}, new Date()), arn(plan.key));
    expect(execution.status, execution.cause).toBe('SUCCEEDED');
    expect(execution.retries('Register')).toBe(2);
    const failures = execution.events.filter((e) => e.type === 'StateFailed' && e.state?.name === 'Register');
    expect(JSON.stringify(failures)).toContain('RequestLimitExceeded');
    expect(JSON.stringify(failures)).toContain('InternalError');
    expect(await imagesNamed(name)).toHaveLength(1);
    expect(await pipeline.record(plan.key)).toMatchObject({ status: 'COMPLETED' });
  });

  async function expectFailed(plan: Plan, error: string, causePart: string) {
    const execution = await pipeline.workflow.run(executionInput(plan, {}, new Date()), arn(plan.key));
    expect(execution.status).toBe('FAILED');
    expect(execution.error).toBe('RegistrationFailed');
    expect(await pipeline.record(plan.key)).toMatchObject({
      status: 'FAILED',
      error,
      cause: expect.stringContaining(causePart),
    });
    const notifications = (await pipeline.notifications()).filter((n) => n.message.key === plan.key);
    expect(notifications).toEqual([
      {
        message: expect.objectContaining({ outcome: 'FAILED', error }),
        attributes: expect.objectContaining({ outcome: 'FAILED', key: plan.key, error }),
      },
    ]);
    return execution;
  }

  it('fails at once on an unauthorized dry run: FAILED record, one notification, no retry', async () => {
    const name = `wf-unauthorized-${Date.now()}`;
    const plan = await planFor(name);
    proxy.inject(unauthorized('RegisterImage', { dryRun: true }));
    const execution = await expectFailed(plan, 'PermanentError', 'UnauthorizedOperation');
    // The dry run is Register's first call; its failure still names the step DryRun.
    expect(execution.retries('Register')).toBe(0);
    expect(await pipeline.record(plan.key)).toMatchObject({ failedStep: 'DryRun' });
    expect(await imagesNamed(name)).toEqual([]);
  });

  it('fails on a duplicate name that belongs to a foreign image, and adopts one that carries our key', async () => {
    const name = `wf-duplicate-${Date.now()}`;
    await ec2.send(new RegisterImageCommand({ Name: name, RootDeviceName: '/dev/xvda' }));
    const plan = await planFor(name);
    // The emulator, like EC2, refuses the name in use (InvalidAMIName.Duplicate): nothing injected.
    const execution = await expectFailed(plan, 'PermanentError', 'InvalidAMIName.Duplicate');
    expect(execution.retries('Register')).toBe(0);

    // The same name, now carrying this registration's key (as after a lost response): adopted.
    const [existing] = await imagesNamed(name);
    await ec2.send(
      new CreateTagsCommand({
        Resources: [existing?.ImageId as string],
        Tags: [{ Key: 'snap2ami:key', Value: plan.key }],
      }),
    );
    const adopted = await pipeline.workflow.run(
      executionInput(plan, {}, new Date()),
      arn(`${plan.key}-redrive`),
    );
    expect(adopted.status, adopted.cause).toBe('SUCCEEDED');
    expect(adopted.output).toMatchObject({ outcome: 'REGISTERED', imageId: existing?.ImageId });
    expect(await pipeline.record(plan.key)).toMatchObject({
      status: 'COMPLETED',
      imageId: existing?.ImageId,
      adopted: true,
      attempts: '2',
    });
  });

  it('adopts its own image when the answer to RegisterImage is lost and the retry meets the name in use', async () => {
    const name = `wf-lost-answer-${Date.now()}`;
    const plan = await planFor(name);
    // EC2 registers the image, then the answer is lost: the retry gets the emulator's real
    // InvalidAMIName.Duplicate, and the image carries this registration's key (TagSpecifications).
    proxy.inject({
      action: 'RegisterImage',
      dryRun: false,
      times: 1,
      forward: true,
      status: 500,
      body: ec2Error('InternalError', 'An internal error has occurred.'),
    });
    const execution = await pipeline.workflow.run(executionInput(plan, {}, new Date()), arn(plan.key));
    expect(execution.status, execution.cause).toBe('SUCCEEDED');
    expect(execution.retries('Register')).toBe(1);
    const images = await imagesNamed(name);
    expect(images).toHaveLength(1);
    expect(execution.output).toMatchObject({ outcome: 'REGISTERED', imageId: images[0]?.ImageId });
    expect(await pipeline.record(plan.key)).toMatchObject({
      status: 'COMPLETED',
      imageId: images[0]?.ImageId,
      adopted: true,
    });
  });

  it('fails when the image becomes failed, without retrying', async () => {
    const name = `wf-image-failed-${Date.now()}`;
    const plan = await planFor(name);
    proxy.inject({
      action: 'DescribeImages',
      // Register makes no look on a first attempt of one snapshot: the wait's look fails.
      times: 1,
      status: 200,
      body: describeImagesBody('ami-0123456789abcdef0', 'failed', {
        code: 'Client.InvalidSnapshot.NotFound',
        message: 'The snapshot was not found',
      }),
    });
    // The wait's look sees it failed, and fails the wait with EC2's message (ADR 0013).
    const execution = await expectFailed(plan, 'ImageFailed', 'is failed: The snapshot was not found');
    expect(execution.retries('WaitUntilAvailable')).toBe(0);
  });
});

describe('DescribeImages per registration', () => {
  const describeImages = () => proxy.calls.get('EC2.DescribeImages') ?? 0;

  it('a first attempt of one snapshot makes one (the wait’s look); a later attempt looks for an earlier image too', async () => {
    const plan = await planFor(`wf-describe-count-${Date.now()}`);
    const before = describeImages();
    const first = await pipeline.workflow.run(executionInput(plan, {}, new Date()), arn(plan.key));
    expect(first.status, first.cause).toBe('SUCCEEDED');
    expect(describeImages() - before).toBe(1);

    // The record made FAILED, as after a step past Register failed: the next attempt (attempts 2)
    // looks for the first one's image by its key, and adopts it.
    const [image] = await imagesNamed(plan.request.Name);
    await new DynamoDBClient({}).send(
      new UpdateItemCommand({
        TableName: pipeline.table,
        Key: { pk: { S: plan.key } },
        UpdateExpression: 'SET #status = :failed',
        ExpressionAttributeNames: { '#status': 'status' },
        ExpressionAttributeValues: { ':failed': { S: 'FAILED' } },
      }),
    );
    const again = describeImages();
    const second = await pipeline.workflow.run(
      executionInput(plan, {}, new Date()),
      arn(`${plan.key}-second`),
    );
    expect(second.status, second.cause).toBe('SUCCEEDED');
    expect(second.output).toMatchObject({ imageId: image?.ImageId });
    expect(await pipeline.record(plan.key)).toMatchObject({ adopted: true, attempts: '2' });
    expect(describeImages() - again).toBe(2);
  });
});
