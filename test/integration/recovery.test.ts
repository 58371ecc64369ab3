/**
 * Recovery (issue 10): whatever fails and whenever, a registration ends with exactly one AMI
 * (or none, with a reason `status` shows), a final record, and nothing lost. Faults are
 * injected at the HTTP level (local/fault-proxy.ts) into the deployed definition's DynamoDB,
 * SNS and EC2 calls; a new event goes through ingest, as in production.
 */
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DescribeImagesCommand, EC2Client } from '@aws-sdk/client-ec2';
import { SFNClient, StopExecutionCommand } from '@aws-sdk/client-sfn';
import { SNSClient } from '@aws-sdk/client-sns';
import { CreateQueueCommand, SQSClient } from '@aws-sdk/client-sqs';
import type { SQSRecord } from 'aws-lambda';
import { afterAll, afterEach, beforeAll, describe, expect, inject, it } from 'vitest';
import type { Plan } from '#shared/contract/types.ts';
import { ingest } from '../../functions/ingest/ingest.ts';
import {
  createPipeline,
  createSnapshotEvent,
  dynamoDbError,
  EMULATOR_ACCOUNT,
  EMULATOR_REGION,
  ec2Error,
  type FaultProxy,
  ingestDeps,
  type LocalStepFunctions,
  noImagesBody,
  type Pipeline,
  type PipelineOptions,
  startFaultProxy,
  startLocalStepFunctions,
  stillPending,
  unauthorized,
} from '../../local/index.ts';
import { executionsFor, planFor } from '../support/pipeline.ts';

const ec2 = new EC2Client({});
const sqs = new SQSClient({});
let proxy: FaultProxy;
let dlqUrl: string;

/** The pipeline with every AWS call of the workflow through the fault proxy, one attempt each (as Step Functions makes). */
async function pipelineWithFaults(options: Partial<PipelineOptions> = {}) {
  const through = { endpoint: proxy.endpoint, maxAttempts: 1 };
  const pipeline = await createPipeline({
    ec2: new EC2Client(through),
    dynamodb: new DynamoDBClient(through),
    sns: new SNSClient(through),
    // The waits end by their looks, which the proxy's faults decide (the emulator's events are not faked).
    amiEvents: false,
    ...options,
  });
  const sfn = await startLocalStepFunctions(
    `arn:aws:states:${EMULATOR_REGION}:${EMULATOR_ACCOUNT}:stateMachine:snap2ami-recovery-${Date.now()}`,
    pipeline.workflow,
  );
  return { pipeline, sfn };
}

let pipeline: Pipeline;
let sfn: LocalStepFunctions;

beforeAll(async () => {
  proxy = await startFaultProxy(inject('awsEndpoint'));
  dlqUrl = (await sqs.send(new CreateQueueCommand({ QueueName: `snap2ami-recovery-dlq-${Date.now()}` })))
    .QueueUrl as string;
  ({ pipeline, sfn } = await pipelineWithFaults());
});
afterEach(() => proxy.clear());
afterAll(async () => {
  await sfn.close();
  await proxy.close();
});

/** A snapshot's completion event through ingest (a new event, or the same one again), then the workflow to its end. */
async function deliver(snapshotId: string, on = sfn) {
  const body = JSON.stringify(createSnapshotEvent(snapshotId));
  const record = { messageId: crypto.randomUUID(), body } as SQSRecord;
  const deps = ingestDeps(
    { ec2, sfn: new SFNClient({ endpoint: on.endpoint }), sqs },
    on.stateMachineArn,
    dlqUrl,
  );
  const result = await ingest([record], deps);
  expect(result.batchItemFailures).toEqual([]);
  await on.idle();
}

const throttled = dynamoDbError(
  'ProvisionedThroughputExceededException',
  'The level of configured provisioned throughput was exceeded.',
);
const imagesNamed = async (name: string) =>
  (
    await ec2.send(
      new DescribeImagesCommand({ Owners: ['self'], Filters: [{ Name: 'name', Values: [name] }] }),
    )
  ).Images ?? [];

async function registration(
  tags: Record<string, string> = {},
): Promise<{ plan: Plan; snapshotId: string; name: string }> {
  const name = `recovery-${Date.now()}-${Math.floor(Math.random() * 1e6)}`;
  const plan = await planFor(ec2, { 'snap2ami:name': name, ...tags });
  return { plan, snapshotId: plan.snapshotIds[0] as string, name };
}

describe('recovery: every execution ends in a record that says what happened', () => {
  it('a claim throttled past its retries still leaves a FAILED record naming the step; a new event then registers one AMI', async () => {
    const { plan, snapshotId, name } = await registration();
    proxy.inject({ action: 'DynamoDB.UpdateItem', times: 6, status: 400, body: throttled });
    await deliver(snapshotId);
    expect(await pipeline.record(plan.key)).toMatchObject({
      status: 'FAILED',
      failedStep: 'Claim',
      error: 'DynamoDB.ProvisionedThroughputExceededException',
    });
    expect(await imagesNamed(name)).toEqual([]);
    const [notice] = (await pipeline.notifications()).filter((n) => n.message.key === plan.key);
    expect(notice?.message).toMatchObject({ outcome: 'FAILED', failedStep: 'Claim' });

    await deliver(snapshotId);
    expect(await pipeline.record(plan.key)).toMatchObject({ status: 'COMPLETED', attempts: '2' });
    expect(await imagesNamed(name)).toHaveLength(1);
    expect(executionsFor(sfn, snapshotId).map((e) => e.status)).toEqual(['FAILED', 'SUCCEEDED']);
  });

  it('a claim whose write landed but whose answer was lost, then throttled past its retries, ends FAILED, not as a duplicate of itself', async () => {
    const { plan, snapshotId, name } = await registration();
    proxy.inject({
      action: 'DynamoDB.UpdateItem',
      forward: true,
      times: 1,
      status: 500,
      body: dynamoDbError('InternalServerError', 'injected: the answer was lost'),
    });
    proxy.inject({ action: 'DynamoDB.UpdateItem', times: 5, status: 400, body: throttled });
    await deliver(snapshotId);
    expect(await pipeline.record(plan.key)).toMatchObject({ status: 'FAILED', failedStep: 'Claim' });

    await deliver(snapshotId);
    expect(await pipeline.record(plan.key)).toMatchObject({ status: 'COMPLETED' });
    expect(await imagesNamed(name)).toHaveLength(1);
  });

  it('when RecordFailure fails, the failure is still announced, and a new event takes over the stuck claim', async () => {
    const { plan, snapshotId, name } = await registration();
    proxy.inject(unauthorized('RegisterImage', { dryRun: true }));
    // The claim goes through; the six tries of RecordFailure do not.
    proxy.inject({ action: 'DynamoDB.UpdateItem', skip: 1, times: 6, status: 400, body: throttled });
    await deliver(snapshotId);
    expect(await pipeline.record(plan.key)).toMatchObject({ status: 'IN_PROGRESS' });
    const notices = (await pipeline.notifications()).filter((n) => n.message.key === plan.key);
    expect(notices.map((n) => n.message.outcome)).toEqual(['FAILED']);

    // The cause is gone. The same snapshot's event again: the dead attempt does not count.
    await deliver(snapshotId);
    expect(await pipeline.record(plan.key)).toMatchObject({ status: 'COMPLETED', attempts: '2' });
    expect(await imagesNamed(name)).toHaveLength(1);
  });

  it('a failure after Register keeps the image ID in the FAILED record and in the notification', async () => {
    const { plan, snapshotId, name } = await registration();
    proxy.inject(unauthorized('CreateTags'));
    await deliver(snapshotId);
    const [image] = await imagesNamed(name);
    expect(await pipeline.record(plan.key)).toMatchObject({
      status: 'FAILED',
      failedStep: 'TagSnapshots',
      imageId: image?.ImageId,
    });
    const [notice] = (await pipeline.notifications()).filter((n) => n.message.key === plan.key);
    expect(notice?.message).toMatchObject({
      outcome: 'FAILED',
      imageId: image?.ImageId,
      failedStep: 'TagSnapshots',
    });

    // Fixed: a new event adopts that image instead of making a second one.
    await deliver(snapshotId);
    expect(await pipeline.record(plan.key)).toMatchObject({ status: 'COMPLETED', imageId: image?.ImageId });
    expect(await imagesNamed(name)).toHaveLength(1);
  });

  it('a notification that cannot be sent does not fail a registered AMI: the record is COMPLETED and says so', async () => {
    const { plan, snapshotId } = await registration();
    proxy.inject({
      action: 'SNS.Publish',
      times: 6,
      status: 500,
      body: '<ErrorResponse><Error><Type>Receiver</Type><Code>InternalError</Code><Message>injected</Message></Error><RequestId>x</RequestId></ErrorResponse>',
    });
    await deliver(snapshotId);
    const [execution] = executionsFor(sfn, snapshotId);
    expect(execution?.status).toBe('SUCCEEDED');
    expect(await pipeline.record(plan.key)).toMatchObject({
      status: 'COMPLETED',
      notificationError: expect.any(String),
    });
  });
});

describe('recovery: crashes, lost answers and ended executions adopt the AMI already made', () => {
  it('a Lambda crash after RegisterImage succeeded is retried, and the retry adopts the image', async () => {
    let crashed = false;
    const crashing = await pipelineWithFaults({
      aroundImage: async (task, next) => {
        const result = await next();
        if (task.action === 'register' && !crashed) {
          crashed = true;
          throw Object.assign(new Error('RequestId: x Error: Runtime exited with error: signal: killed'), {
            name: 'Runtime.ExitError',
          });
        }
        return result;
      },
    });
    try {
      const { plan, snapshotId, name } = await registration();
      await deliver(snapshotId, crashing.sfn);
      expect(crashed).toBe(true);
      const images = await imagesNamed(name);
      expect(images).toHaveLength(1);
      expect(await crashing.pipeline.record(plan.key)).toMatchObject({
        status: 'COMPLETED',
        imageId: images[0]?.ImageId,
        adopted: true,
      });
    } finally {
      await crashing.sfn.close();
    }
  });

  it('a lost RegisterImage answer, then a stale DescribeImages: looks again, adopts, one AMI', async () => {
    const { plan, snapshotId, name } = await registration();
    // The image is registered, but the answer never arrives; the retry meets the emulator's own
    // InvalidAMIName.Duplicate, and its look by name is stale (nothing yet): it looks again (a
    // retry), and adopts by name. (A first attempt of one snapshot makes no look by key.)
    proxy.inject({
      action: 'RegisterImage',
      dryRun: false,
      forward: true,
      times: 1,
      status: 500,
      body: ec2Error('InternalError', 'An internal error has occurred.'),
    });
    proxy.inject({ action: 'DescribeImages', times: 1, status: 200, body: noImagesBody() });
    await deliver(snapshotId);
    const images = await imagesNamed(name);
    expect(images).toHaveLength(1);
    expect(await pipeline.record(plan.key)).toMatchObject({
      status: 'COMPLETED',
      imageId: images[0]?.ImageId,
      adopted: true,
    });
  });

  it('when RecordSuccess and RecordFailure both fail, a new event adopts the image and completes the record', async () => {
    const { plan, snapshotId, name } = await registration();
    // The claim passes; RecordSuccess (6 tries) and RecordFailureWithImage (6 tries) do not.
    proxy.inject({ action: 'DynamoDB.UpdateItem', skip: 1, times: 12, status: 400, body: throttled });
    await deliver(snapshotId);
    expect(await pipeline.record(plan.key)).toMatchObject({ status: 'IN_PROGRESS' });
    const [image] = await imagesNamed(name);
    const [notice] = (await pipeline.notifications()).filter((n) => n.message.key === plan.key);
    expect(notice?.message).toMatchObject({ outcome: 'FAILED', imageId: image?.ImageId });

    await deliver(snapshotId);
    expect(await pipeline.record(plan.key)).toMatchObject({ status: 'COMPLETED', imageId: image?.ImageId });
    expect(await imagesNamed(name)).toHaveLength(1);
  });

  it('an aborted execution leaves its claim to the next attempt, which adopts its image', async () => {
    const { plan, snapshotId, name } = await registration();
    // The image stays pending (slowly) until the execution is stopped.
    proxy.inject(stillPending(100));
    const describesBefore = proxy.calls.get('EC2.DescribeImages') ?? 0;
    const body = JSON.stringify(createSnapshotEvent(snapshotId));
    const deps = ingestDeps(
      { ec2, sfn: new SFNClient({ endpoint: sfn.endpoint }), sqs },
      sfn.stateMachineArn,
      dlqUrl,
    );
    await ingest([{ messageId: 'abort-1', body } as SQSRecord], deps);
    const [running] = executionsFor(sfn, snapshotId);
    // Stopped while it waits for the image it registered (Register's look by key is the first
    // DescribeImages, the wait's first look the second).
    for (let i = 0; i < 100 && (proxy.calls.get('EC2.DescribeImages') ?? 0) < describesBefore + 2; i++)
      await new Promise((resolve) => setTimeout(resolve, 50));
    await new SFNClient({ endpoint: sfn.endpoint }).send(
      new StopExecutionCommand({ executionArn: running?.executionArn }),
    );
    await sfn.idle();
    proxy.clear();
    expect(running?.status).toBe('ABORTED');
    expect(await imagesNamed(name)).toHaveLength(1);
    expect(await pipeline.record(plan.key)).toMatchObject({ status: 'IN_PROGRESS' });

    await deliver(snapshotId);
    const images = await imagesNamed(name);
    expect(images).toHaveLength(1);
    expect(await pipeline.record(plan.key)).toMatchObject({
      status: 'COMPLETED',
      imageId: images[0]?.ImageId,
    });
  });

  it('a timed-out execution leaves its claim to the next attempt, which adopts its image', async () => {
    const timing = await pipelineWithFaults({ executionTimeoutSeconds: 1 });
    try {
      const { plan, snapshotId, name } = await registration();
      proxy.inject(stillPending(1000));
      await deliver(snapshotId, timing.sfn);
      proxy.clear();
      expect(executionsFor(timing.sfn, snapshotId).map((e) => e.status)).toEqual(['TIMED_OUT']);
      expect(await timing.pipeline.record(plan.key)).toMatchObject({ status: 'IN_PROGRESS' });

      await deliver(snapshotId, timing.sfn);
      const images = await imagesNamed(name);
      expect(images).toHaveLength(1);
      expect(await timing.pipeline.record(plan.key)).toMatchObject({
        status: 'COMPLETED',
        imageId: images[0]?.ImageId,
      });
    } finally {
      await timing.sfn.close();
    }
  });
});
