/**
 * UefiData (tag contract v2): the workflow reads the object or parameter that `<p>uefi-data`
 * names right before the dry run, and the dry run and RegisterImage both send it; a source
 * the deployment does not allow, a missing object or parameter, text that is not base64 and
 * text over 64,000 characters each end FAILED at ReadUefiData with the reason, no image made.
 * The deployed definition on the emulator's S3, SSM and EC2 (which keeps UefiData and returns
 * it by DescribeImageAttribute, as EC2 does).
 */
import { randomBytes } from 'node:crypto';
import { DescribeImageAttributeCommand, DescribeImagesCommand, EC2Client } from '@aws-sdk/client-ec2';
import { CreateBucketCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { PutParameterCommand, SSMClient } from '@aws-sdk/client-ssm';
import { beforeAll, describe, expect, it } from 'vitest';
import type { Plan } from '#shared/contract/types.ts';
import { executionInput } from '#shared/workflow.ts';
import { createPipeline, LOCAL_UEFI_DATA_BUCKET, type Pipeline } from '../../local/index.ts';
import { executionArn as arn, planFor } from '../support/pipeline.ts';

const ec2 = new EC2Client({});
const s3 = new S3Client({});
const ssm = new SSMClient({});
let pipeline: Pipeline;
/** The image function's tasks, by action, as the workflow sent them. */
const tasks: Record<string, unknown>[] = [];
let counter = 0;
const unique = (label: string) => `${label}-${Date.now()}-${++counter}`;

beforeAll(async () => {
  try {
    await s3.send(new CreateBucketCommand({ Bucket: LOCAL_UEFI_DATA_BUCKET }));
  } catch (error) {
    // Another test file on the same emulator may have made it.
    if (!/^BucketAlready(OwnedByYou|Exists)$/.test((error as Error).name)) throw error;
  }
  pipeline = await createPipeline({
    aroundImage: (task, next) => {
      tasks.push(task);
      return next();
    },
  });
});

/** A UEFI variable store as `aws ec2 get-instance-uefi-data --output text > file` leaves it. */
const variableStore = () => `${randomBytes(3000).toString('base64')}\n`;

async function putObject(text: string): Promise<string> {
  const key = `uefi/${unique('vars')}.b64`;
  await s3.send(new PutObjectCommand({ Bucket: LOCAL_UEFI_DATA_BUCKET, Key: key, Body: text }));
  return `s3://${LOCAL_UEFI_DATA_BUCKET}/${key}`;
}

const uefiPlan = (name: string, source: string) =>
  planFor(ec2, { 'snap2ami:name': name, 'snap2ami:boot-mode': 'uefi', 'snap2ami:uefi-data': source });

const imagesNamed = async (name: string) =>
  (await ec2.send(new DescribeImagesCommand({ Filters: [{ Name: 'name', Values: [name] }] }))).Images ?? [];

const sentBy = (plan: Plan, action: string) =>
  tasks
    .filter((task) => task.action === action && task.key === plan.key)
    .map((task) => (task.request as { UefiData?: string }).UefiData);

/** Registers a plan with uefi-data and checks that the dry run, RegisterImage and the image have `value`. */
async function expectRegisteredWith(plan: Plan, value: string) {
  const execution = await pipeline.workflow.run(executionInput(plan, {}, new Date()), arn(plan.key));
  expect(execution.status, `${execution.error}: ${execution.cause}`).toBe('SUCCEEDED');
  const { imageId } = execution.output as { imageId: string };
  // Register's one request is its dry run's and RegisterImage's.
  expect(sentBy(plan, 'register')).toEqual([value]);
  const attribute = await ec2.send(
    new DescribeImageAttributeCommand({ ImageId: imageId, Attribute: 'uefiData' }),
  );
  expect(attribute.UefiData?.Value).toBe(value);
  expect(await pipeline.record(plan.key)).toMatchObject({ status: 'COMPLETED', imageId });
}

/** Runs a plan whose UefiData must be refused, and checks what it leaves. */
async function expectFailedAtReadUefiData(plan: Plan, reason: string) {
  const execution = await pipeline.workflow.run(executionInput(plan, {}, new Date()), arn(plan.key));
  expect(execution.status).toBe('FAILED');
  // A permanent error: not retried, and nothing sent to EC2.
  expect(execution.retries('ReadUefiData')).toBe(0);
  expect(execution.events.some((e) => e.type === 'StateEntered' && e.state?.name === 'DryRun')).toBe(false);
  expect(await pipeline.record(plan.key)).toMatchObject({
    status: 'FAILED',
    failedStep: 'ReadUefiData',
    error: 'PermanentError',
    cause: expect.stringContaining(reason),
  });
  const notices = (await pipeline.notifications()).filter((n) => n.message.key === plan.key);
  expect(notices).toEqual([
    expect.objectContaining({
      message: expect.objectContaining({
        outcome: 'FAILED',
        failedStep: 'ReadUefiData',
        cause: expect.stringContaining(reason),
      }),
    }),
  ]);
  expect(await imagesNamed(plan.request.Name)).toEqual([]);
}

describe('UefiData', () => {
  it('reaches the dry run, RegisterImage and the image from an S3 object (its trailing newline left out)', async () => {
    const text = variableStore();
    const plan = await uefiPlan(unique('uefi-s3'), await putObject(text));
    await expectRegisteredWith(plan, text.trim());
  });

  it('reaches them from an SSM SecureString parameter under the deployment’s path', async () => {
    const value = randomBytes(2000).toString('base64');
    const name = `/snap2ami/uefi-data/${unique('web')}`;
    await ssm.send(new PutParameterCommand({ Name: name, Value: value, Type: 'SecureString' }));
    const plan = await uefiPlan(unique('uefi-ssm'), `ssm:${name}`);
    await expectRegisteredWith(plan, value);
  });

  it('is not read for a plan without uefi-data', async () => {
    const plan = await planFor(ec2, { 'snap2ami:name': unique('no-uefi') });
    const execution = await pipeline.workflow.run(executionInput(plan, {}, new Date()), arn(plan.key));
    expect(execution.status, `${execution.error}: ${execution.cause}`).toBe('SUCCEEDED');
    expect(execution.events.some((e) => e.state?.name === 'ReadUefiData')).toBe(false);
    expect(sentBy(plan, 'register')).toEqual([undefined]);
  });

  it('fails the registration when the object is missing', async () => {
    const source = `s3://${LOCAL_UEFI_DATA_BUCKET}/uefi/${unique('missing')}.b64`;
    await expectFailedAtReadUefiData(
      await uefiPlan(unique('uefi-missing'), source),
      `UefiData from ${source}: S3 GetObject: NoSuchKey`,
    );
  });

  it('fails the registration when the parameter is missing', async () => {
    const source = `ssm:/snap2ami/uefi-data/${unique('missing')}`;
    await expectFailedAtReadUefiData(
      await uefiPlan(unique('uefi-missing-parameter'), source),
      `UefiData from ${source}: SSM GetParameter: ParameterNotFound`,
    );
  });

  it('fails the registration when the text is not base64', async () => {
    const source = await putObject('QUJD QUJD\n');
    await expectFailedAtReadUefiData(
      await uefiPlan(unique('uefi-not-base64'), source),
      `UefiData from ${source} is not base64: character 5 is U+0020`,
    );
  });

  it('fails the registration when the text is over 64,000 characters', async () => {
    const source = await putObject('A'.repeat(64_004));
    await expectFailedAtReadUefiData(
      await uefiPlan(unique('uefi-oversize'), source),
      `UefiData from ${source} has 64004 characters; RegisterImage accepts at most 64,000`,
    );
  });

  it('refuses a source outside the deployment’s bucket and parameter path, naming the setting', async () => {
    await expectFailedAtReadUefiData(
      await uefiPlan(unique('uefi-other-bucket'), 's3://someone-elses-bucket/vars.b64'),
      `s3://someone-elses-bucket/vars.b64: this deployment reads UefiData only from the S3 bucket ${LOCAL_UEFI_DATA_BUCKET} (its uefiDataBucket parameter)`,
    );
    await expectFailedAtReadUefiData(
      await uefiPlan(unique('uefi-other-path'), 'ssm:/golden/uefi'),
      'ssm:/golden/uefi: this deployment reads UefiData only from SSM parameters under /snap2ami/uefi-data/ (its uefiDataParameterPath parameter)',
    );
  });
});
