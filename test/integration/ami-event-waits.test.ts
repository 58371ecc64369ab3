/**
 * The workflow's waits follow EC2's AMI events (docs/adr/0013-ami-events.md): WaitUntilAvailable
 * and WaitForCopies store a task token under each image and end when the image's `EC2 AMI State
 * Change` event comes (the emulator sends them, local/emulator_ext/ami_events.py), or, when the
 * event is lost, at the wait's heartbeat, which looks again. All on the emulator's clock and the
 * workflow's, time-scaled: five emulated minutes of heartbeat are a fraction of a wall second.
 * In Regions of their own, whose emulator settings the tests set (and reset afterwards).
 *
 * On the polling definition (before ADR 0013) the event, failed, slow-copy and redrive tests fail
 * (retries 6 where the event resumes at once; error PermanentError, not ImageFailed; the
 * execution TIMED_OUT while the copy was pending; no task waits for a token); without the
 * heartbeat's Retry the dropped-event test fails (RegistrationFailed: States.HeartbeatTimeout).
 */
import { DynamoDBClient, GetItemCommand } from '@aws-sdk/client-dynamodb';
import { DescribeImagesCommand, EC2Client, type Image } from '@aws-sdk/client-ec2';
import {
  SendTaskFailureCommand,
  SendTaskHeartbeatCommand,
  SendTaskSuccessCommand,
  SFNClient,
  StartExecutionCommand,
} from '@aws-sdk/client-sfn';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { imageWaitKey } from '#shared/ami-events.ts';
import type { Plan } from '#shared/contract/types.ts';
import { executionInput } from '#shared/workflow.ts';
import {
  amiEventControl,
  createPipeline,
  IMAGE_FAILURE_TAG,
  type Pipeline,
  startStateMachine,
  throttleControl,
} from '../../local/index.ts';
import { executionArn as arn, planFor, unique } from '../support/pipeline.ts';

const HOME = 'ap-southeast-4';
const COPY = 'il-central-1';
const control = amiEventControl(inject('awsEndpoint'));
const throttle = throttleControl(inject('awsEndpoint'));
const ec2In = (region: string) => new EC2Client({ region, maxAttempts: 1 });
const ec2 = ec2In(HOME);
/**
 * Registrations in HOME, copies to COPY (whose events are forwarded to HOME), the workflow and
 * the emulator both `timeScale` times faster than real time: the wait's heartbeat (300 s) is
 * 300 / timeScale wall seconds.
 */
async function pipelineAt(
  timeScale: number,
  settings: { registerSeconds?: number; copySeconds?: number } = {},
) {
  for (const region of [HOME, COPY])
    await control.configure({
      region,
      timeScale,
      registerSeconds: 0,
      copySeconds: 0,
      dropShare: 0,
      ...settings,
    });
  return createPipeline({
    ec2,
    lifecycle: { region: HOME, ec2In },
    copyRegions: [COPY],
    timeScale,
    realRetryIntervals: true,
  });
}

async function imagesNamed(region: string, name: string): Promise<Image[]> {
  const { Images = [] } = await ec2In(region).send(
    new DescribeImagesCommand({ Owners: ['self'], Filters: [{ Name: 'name', Values: [name] }] }),
  );
  return Images;
}

const run = (p: Pipeline, plan: Plan, attempt = '', previous?: string) =>
  p.workflow.start(executionInput(plan, {}, new Date(), previous), arn(`${plan.key}${attempt}`));

beforeAll(async () => {
  for (const region of [HOME, COPY]) await throttle.configure({ region, enabled: false });
});
afterAll(async () => {
  for (const region of [HOME, COPY]) {
    await control.reset(region);
    await throttle.reset(region);
  }
});

describe('waits that follow EC2’s AMI events', () => {
  it('completes an image whose event is dropped, through the heartbeat’s look', async () => {
    // The image is pending for 600 emulated seconds (half a wall second), its event never sent.
    const p = await pipelineAt(1200, { registerSeconds: 600 });
    await control.configure({ region: HOME, dropShare: 1 });
    try {
      const before = (await control.state()).counters[HOME]?.dropped ?? 0;
      const plan = await planFor(ec2, { 'snap2ami:name': unique('dropped') });
      const execution = await run(p, plan).result;
      expect(execution.status, `${execution.error}: ${execution.cause}`).toBe('SUCCEEDED');
      // The image was pending at the first look; its event was lost; the heartbeat looked again.
      expect(execution.retries('WaitUntilAvailable')).toBeGreaterThanOrEqual(1);
      expect((await control.state()).counters[HOME]?.dropped).toBeGreaterThan(before);
      expect(await p.record(plan.key)).toMatchObject({ status: 'COMPLETED' });
    } finally {
      await control.configure({ region: HOME, dropShare: 0 });
    }
  });

  it('resumes at the event, not at the heartbeat, when the event comes', async () => {
    // Pending for two emulated minutes (one wall second); the heartbeat would come at 2.5.
    const p = await pipelineAt(120, { registerSeconds: 120 });
    const plan = await planFor(ec2, { 'snap2ami:name': unique('event') });
    const execution = await run(p, plan).result;
    expect(execution.status, `${execution.error}: ${execution.cause}`).toBe('SUCCEEDED');
    expect(execution.retries('WaitUntilAvailable')).toBe(0);
  });

  it('fails the registration with EC2’s message when the image fails', async () => {
    const p = await pipelineAt(120, { registerSeconds: 120 });
    const plan = await planFor(ec2, {
      'snap2ami:name': unique('failed'),
      [IMAGE_FAILURE_TAG]: 'Snapshot snap-x could not be read (emulated)',
    });
    const execution = await run(p, plan).result;
    expect(execution.status).toBe('FAILED');
    expect(await p.record(plan.key)).toMatchObject({
      status: 'FAILED',
      failedStep: 'WaitUntilAvailable',
      error: 'ImageFailed',
      cause: expect.stringContaining('Snapshot snap-x could not be read (emulated)'),
      imageId: expect.stringMatching(/^ami-/),
    });
    expect(execution.retries('WaitUntilAvailable')).toBe(0);
  });

  it('completes a copy slower than the old 38-minute limit (an hour and a half, on the emulator’s clock)', async () => {
    // 5,400 emulated seconds: 4.5 wall seconds, where the old polling gave up after 1.9.
    const p = await pipelineAt(1200, { copySeconds: 5400 });
    try {
      const name = unique('slow-copy');
      const plan = await planFor(ec2, { 'snap2ami:name': name, 'snap2ami:copy-to': COPY });
      const execution = await run(p, plan).result;
      expect(execution.status, `${execution.error}: ${execution.cause}`).toBe('SUCCEEDED');
      const [copy] = await imagesNamed(COPY, name);
      expect(copy?.State).toBe('available');
      expect(await p.record(plan.key)).toMatchObject({ status: 'COMPLETED' });
    } finally {
      await control.reset(COPY);
    }
  });

  it('a redrive while a callback waits makes no second AMI and no second copy', async () => {
    const p = await pipelineAt(1200, { copySeconds: 3600 });
    try {
      const name = unique('redrive-wait');
      const plan = await planFor(ec2, { 'snap2ami:name': name, 'snap2ami:copy-to': COPY });
      const first = run(p, plan);
      // The first attempt waits for its copy (a callback); then it ends (StopExecution, a crash).
      await expect.poll(async () => (await imagesNamed(COPY, name)).length, { timeout: 20_000 }).toBe(1);
      await expect.poll(() => p.workflow.waitingTasks, { timeout: 20_000 }).toBeGreaterThan(0);
      first.abort();
      expect((await first.result).status).toBe('ABORTED');
      // Its starter saw it end and starts the next attempt, which takes the claim over.
      const second = await run(p, plan, '-2', arn(plan.key)).result;
      expect(second.status, `${second.error}: ${second.cause}`).toBe('SUCCEEDED');
      expect(await imagesNamed(HOME, name)).toHaveLength(1);
      const copies = await imagesNamed(COPY, name);
      expect(copies).toHaveLength(1);
      expect(copies[0]?.State).toBe('available');
      expect(await p.record(plan.key)).toMatchObject({ status: 'COMPLETED', attempts: '2' });
    } finally {
      await control.reset(COPY);
    }
  });

  it('answers a waiting task through the SDK: SendTaskHeartbeat and SendTaskFailure on its token, refusals on others', async () => {
    // Pending for an emulated hour: the wait is open until the token is answered.
    const p = await pipelineAt(120, { registerSeconds: 3600 });
    const sfn = await startStateMachine(`snap2ami-callbacks-${Date.now()}`, p.workflow);
    try {
      const client = new SFNClient({ endpoint: sfn.endpoint, maxAttempts: 1 });
      const plan = await planFor(ec2, { 'snap2ami:name': unique('callbacks') });
      const { executionArn } = await client.send(
        new StartExecutionCommand({
          stateMachineArn: sfn.stateMachineArn,
          name: plan.key,
          input: JSON.stringify(executionInput(plan, {}, new Date())),
        }),
      );
      await expect.poll(() => p.workflow.waitingTasks, { timeout: 20_000 }).toBeGreaterThan(0);
      const [image] = await imagesNamed(HOME, plan.request.Name);
      const item = await new DynamoDBClient({}).send(
        new GetItemCommand({
          TableName: p.table,
          Key: { pk: { S: imageWaitKey(HOME, String(image?.ImageId)) } },
        }),
      );
      const taskToken = String(item.Item?.token?.S);
      await client.send(new SendTaskHeartbeatCommand({ taskToken }));
      await expect(
        client.send(new SendTaskHeartbeatCommand({ taskToken: 'not-a-token' })),
      ).rejects.toMatchObject({
        name: 'InvalidToken',
      });
      await client.send(
        new SendTaskFailureCommand({ taskToken, error: 'OperatorStopped', cause: 'by hand' }),
      );
      await sfn.idle();
      expect(sfn.executions.get(String(executionArn))?.status).toBe('FAILED');
      expect(await p.record(plan.key)).toMatchObject({
        status: 'FAILED',
        failedStep: 'WaitUntilAvailable',
        error: 'OperatorStopped',
      });
      await expect(
        client.send(new SendTaskSuccessCommand({ taskToken, output: '{}' })),
      ).rejects.toMatchObject({
        name: 'TaskTimedOut',
      });
    } finally {
      await sfn.close();
      await control.reset(HOME);
    }
  });
});
