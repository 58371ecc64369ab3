/**
 * What the image Lambda tells an operator, beyond its counts (image-handler.test.ts): EC2
 * throttling as it meets it (Ec2Throttled, the alarm's metric) and, when an image is available,
 * how long that took from the snapshot's event and from the execution's start (TimeToAvailable,
 * ExecutionTimeToAvailable: the dashboard's p50/p95), which the resume function publishes when it
 * ends the workflow's wait. On the emulator, whose EC2 throttles as
 * EC2 does, in a Region of this file's own so that its empty bucket slows no other test.
 */
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DescribeImagesCommand, EC2Client, waitUntilImageAvailable } from '@aws-sdk/client-ec2';
import type { Context } from 'aws-lambda';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { createTable, recordsTableProperties, throttleControl } from '../../local/index.ts';
import { capture } from '../support/lambda.ts';
import { planFor } from '../support/pipeline.ts';

const REGION = 'ap-southeast-4';
const control = throttleControl(inject('awsEndpoint'));
const context = {
  functionName: 'snap2ami-test-image',
  awsRequestId: 'test-request',
  invokedFunctionArn: `arn:aws:lambda:${REGION}:123456789012:function:snap2ami-test-image`,
} as Context;
let handler: typeof import('../../functions/image/handler.ts').handler;
let ec2: EC2Client;

beforeAll(async () => {
  // The handler's client reads the Region once, when its module loads.
  process.env.AWS_REGION = REGION;
  ec2 = new EC2Client({ region: REGION });
  ({ handler } = await import('../../functions/image/handler.ts'));
  await ec2.send(new DescribeImagesCommand({ Owners: ['self'] })); // moto loads a Region's catalogue once
});
afterAll(async () => {
  await control.reset(REGION);
});

/** Runs the handler; returns its result or error, and each metric it published (with its unit). */
const invoke = (task: Record<string, unknown>) => capture(() => handler(task as never, context));

describe('image handler observability', () => {
  it('counts a call EC2 throttled as Ec2Throttled, besides the ThrottledError the workflow retries', async () => {
    await control.configure({ region: REGION, buckets: { DescribeImages: { size: 0, refill: 0 } } });
    try {
      const throttled = await invoke({ action: 'checkImage', imageId: 'ami-0123456789abcdef0' });
      expect(throttled.error?.name).toBe('ThrottledError');
      expect(throttled.error?.message).toContain('RequestLimitExceeded');
      expect(throttled.metrics).toEqual({ ThrottledError: 1, Ec2Throttled: 1 });
      expect(throttled.units).toEqual({ ThrottledError: 'Count', Ec2Throttled: 'Count' });
    } finally {
      await control.reset(REGION);
    }
    // The same call with tokens to spare: no throttling to count.
    const missing = await invoke({ action: 'checkImage', imageId: 'ami-0123456789abcdef0' });
    expect(missing.metrics).not.toHaveProperty('Ec2Throttled');
  });

  it('publishes the time to available once its wait ends (the resume function), from the event and from the execution start, in milliseconds', async () => {
    // The resume function ends the workflow's wait for the image (ADR 0013) and measures then.
    const dynamo = new DynamoDBClient({ region: REGION });
    process.env.RECORDS_TABLE_NAME = await createTable(
      dynamo,
      await recordsTableProperties(),
      `snap2ami-records-timing-${Date.now()}`,
    );
    const { resumeHandler } = await import('../../functions/resume/handler.ts');
    const plan = await planFor(ec2, { 'snap2ami:name': `timing-${Date.now()}` });
    const registered = await invoke({ action: 'register', key: plan.key, request: plan.request });
    expect(registered.error).toBeUndefined();
    const imageId = registered.result?.imageId as string;
    await waitUntilImageAvailable({ client: ec2, maxWaitTime: 60 }, { ImageIds: [imageId] });
    const now = Date.now();
    const waited = await capture(() =>
      resumeHandler({
        action: 'await',
        token: `token-${imageId}`,
        key: plan.key,
        executionArn: `arn:aws:states:${REGION}:123456789012:execution:register:${plan.key}`,
        imageId,
        source: { messageId: 'm-1', eventTime: new Date(now - 600_000).toISOString() },
        startedAt: new Date(now - 60_000).toISOString(),
      }),
    );
    expect(waited.error).toBeUndefined();
    const after = Date.now();
    const { TimeToAvailable, ExecutionTimeToAvailable, ...others } = waited.metrics;
    expect(others).toEqual({});
    expect(waited.units).toEqual({
      TimeToAvailable: 'Milliseconds',
      ExecutionTimeToAvailable: 'Milliseconds',
    });
    // Measured from the times given, up to when the wait ended: no bound on how long it took.
    expect(TimeToAvailable).toBeGreaterThanOrEqual(600_000);
    expect(TimeToAvailable).toBeLessThanOrEqual(600_000 + (after - now));
    expect(ExecutionTimeToAvailable).toBeGreaterThanOrEqual(60_000);
    expect(ExecutionTimeToAvailable).toBeLessThanOrEqual(60_000 + (after - now));
  });
});
