/**
 * The reconciler Lambda's handler as the schedule invokes it (middy, Powertools), on the
 * emulator, with the environment serverless.yml gives it: it does the run, publishes its
 * counts as metrics, and fails the invocation (so Lambda's Errors metric shows it) when part
 * of the run could not be done, after doing the rest.
 */
import { DescribeImagesCommand } from '@aws-sdk/client-ec2';
import type { Context } from 'aws-lambda';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { RETENTION_ITEM_PREFIX } from '#shared/records.ts';
import { openRetention } from '../../functions/lifecycle/retention-item.ts';
import { EMULATOR_ACCOUNT, EMULATOR_REGION, type FaultProxy, startFaultProxy } from '../../local/index.ts';
import { executionArn, familyImage, unique } from '../support/pipeline.ts';
import { createRecoveryHarness, type RecoveryHarness } from '../support/recovery.ts';
import { messagesIn } from '../support/sqs.ts';

let h: RecoveryHarness;
let proxy: FaultProxy;
let handler: typeof import('../../functions/reconcile/handler.ts').handler;

beforeAll(async () => {
  h = await createRecoveryHarness('rh');
  // Step Functions through a proxy, to make DescribeExecution fail on demand.
  proxy = await startFaultProxy(h.sfn.endpoint);
  // Set before the handler module loads: it reads them once per container.
  Object.assign(process.env, {
    RECORDS_TABLE_NAME: h.pipeline.table,
    SNAPSHOT_EVENTS_QUEUE_NAME: new URL(h.queueUrl).pathname.split('/').pop(),
    RECONCILE_GRACE_MINUTES: '0',
    SNAP2AMI_TAG_PREFIX: h.prefix,
    AWS_ENDPOINT_URL_SFN: proxy.endpoint,
    POWERTOOLS_SERVICE_NAME: 'snap2ami-under-test',
    POWERTOOLS_METRICS_NAMESPACE: 'snap2ami-test-namespace',
  });
  ({ handler } = await import('../../functions/reconcile/handler.ts'));
});
afterAll(async () => {
  delete process.env.AWS_ENDPOINT_URL_SFN;
  delete process.env.SNAP2AMI_TAG_PREFIX;
  await proxy.close();
  await h.close();
});

const context = {
  functionName: 'snap2ami-test-reconcile',
  awsRequestId: 'r',
  invokedFunctionArn: `arn:aws:lambda:${EMULATOR_REGION}:${EMULATOR_ACCOUNT}:function:snap2ami-test-reconcile`,
} as Context;
const scheduled = { 'detail-type': 'Scheduled Event', source: 'aws.events', detail: {} };

interface MetricsLine {
  _aws: { CloudWatchMetrics: { Namespace: string }[] };
  [name: string]: unknown;
}

/** Invokes the handler; returns its result or error, the metrics it printed and its error log. */
async function invoke() {
  const lines: string[] = [];
  const errors: string[] = [];
  const write = vi.spyOn(process.stdout, 'write').mockImplementation((chunk) => {
    lines.push(String(chunk));
    return true;
  });
  const writeError = vi.spyOn(process.stderr, 'write').mockImplementation((chunk) => {
    errors.push(String(chunk));
    return true;
  });
  let outcome: { result?: unknown; error?: Error };
  try {
    outcome = { result: await handler(scheduled, context) };
  } catch (error) {
    outcome = { error: error as Error };
  } finally {
    write.mockRestore();
    writeError.mockRestore();
  }
  const metrics = lines
    .join('')
    .split('\n')
    .filter((line) => line.includes('"_aws"'))
    .map((line) => JSON.parse(line) as MetricsLine);
  return { ...outcome, metrics, errorLog: errors.join('') };
}

describe('reconcile handler', () => {
  it("sends a stray, finishes a stuck record and applies a family's unfinished retention, and counts them", async () => {
    const name = `rh-stray-${Date.now()}`;
    const stray = await h.planned(name);
    const stuck = await h.planned(`rh-stuck-${Date.now()}`);
    await h.stuckRecord(stuck, executionArn(`never-ran-${Date.now()}`));
    // A family whose retain step crashed ten minutes ago: its item pending, two AMIs, one to keep.
    const family = unique('rh-family');
    const older = await familyImage(h.ec2, family, '2025-01-01T00:00:00Z', h.prefix, {
      table: h.pipeline.table,
    });
    const newer = await familyImage(h.ec2, family, '2025-01-02T00:00:00Z', h.prefix, {
      table: h.pipeline.table,
    });
    await openRetention(
      { key: 'v1-rh', imageId: newer.imageId, copies: [], lifecycle: { family, retain: { count: 1 } } },
      executionArn(`crashed-${Date.now()}`),
      { dynamo: h.dynamo, table: h.pipeline.table, now: () => new Date(Date.now() - 600_000) },
    );

    const { result, error, metrics } = await invoke();
    expect(error).toBeUndefined();
    expect(result).toMatchObject({ errors: [] });
    expect(metrics).toHaveLength(1);
    expect(metrics[0]).toMatchObject({
      service: 'snap2ami-under-test',
      StuckFound: 1,
      StuckFinished: 1,
      StraysFound: 1,
      StraysSent: 1,
      StraysRejected: 0,
      RetentionFound: 1,
      RetentionApplied: 1,
      RetentionFailed: 0,
    });
    expect(metrics[0]?._aws.CloudWatchMetrics[0]?.Namespace).toBe('snap2ami-test-namespace');
    expect(await h.pipeline.record(`${RETENTION_ITEM_PREFIX}${family}`)).toMatchObject({
      status: 'RETENTION_DONE',
    });
    await expect(
      h.ec2.send(new DescribeImagesCommand({ ImageIds: [older.imageId] })).then((r) => r.Images ?? []),
    ).resolves.toEqual([]);
    expect(await h.pipeline.record(stuck.key)).toMatchObject({
      status: 'FAILED',
      error: 'ExecutionNotFound',
    });
    expect(await messagesIn(h.sqs, h.queueUrl)).toBe(1);
    await h.deliver();
    expect(await h.imagesNamed(name)).toHaveLength(1);
    expect(await h.pipeline.record(stray.key)).toMatchObject({ status: 'COMPLETED' });
  });

  it('fails the invocation when part of the run failed, after doing the rest', async () => {
    const name = `rh-partial-${Date.now()}`;
    await h.planned(name);
    const stuck = await h.planned(`rh-unreachable-${Date.now()}`);
    await h.stuckRecord(stuck, executionArn(`never-ran-${Date.now()}`));
    proxy.inject({
      action: 'AWSStepFunctions.DescribeExecution',
      times: 10,
      status: 400,
      body: '{"__type":"com.amazon.coral.service#AccessDeniedException","message":"injected: not authorized"}',
    });

    const { error, metrics, errorLog } = await invoke();
    expect(error?.name).toBe('ReconcileIncompleteError');
    expect(errorLog).toContain('reconcile run incomplete; the next run tries again');
    expect(error?.message).toContain(stuck.key);
    expect(error?.message).toContain('AccessDenied');
    // The counts are published all the same, and the stray was sent.
    expect(metrics[0]).toMatchObject({ StuckFound: 0, StraysSent: 1 });
    expect(await h.pipeline.record(stuck.key)).toMatchObject({ status: 'IN_PROGRESS' });
    await h.deliver();
    expect(await h.imagesNamed(name)).toHaveLength(1);
  });
});
