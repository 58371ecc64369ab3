/**
 * The reconciler's retention pass on the emulator (ADR 0008), with the deployed workflow on the
 * local Step Functions endpoint: a registration whose retention fails, or whose retain step
 * crashes, still completes and leaves its family's retention pending in the records table; a
 * reconciler run once the item has settled applies it (exactly N kept) and marks it done, and
 * the next run finds nothing; a fresh item is left to the retain step that may still be at work.
 * The pending item is no registration: status, redrive and the stuck-record pass pass it by.
 */
import { GetItemCommand, UpdateItemCommand } from '@aws-sdk/client-dynamodb';
import { DescribeImageReferencesCommand, DescribeImagesCommand, EC2Client } from '@aws-sdk/client-ec2';
import { DescribeExecutionCommand, SFNClient, StartExecutionCommand } from '@aws-sdk/client-sfn';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import type { Plan } from '#shared/contract/types.ts';
import { RETENTION_ITEM_PREFIX } from '#shared/records.ts';
import { executionInput } from '#shared/workflow.ts';
import { type ReconcileReport, reconcile } from '../../functions/reconcile/reconcile.ts';
import { type FaultProxy, startFaultProxy, unauthorized } from '../../local/index.ts';
import { snap2amiInProcess as snap2amiAsync } from '../support/cli-in-process.ts';
import { familyImage, unique } from '../support/pipeline.ts';
import { createRecoveryHarness, type RecoveryHarness } from '../support/recovery.ts';

let h: RecoveryHarness;
let proxy: FaultProxy;
/** While set, the retain step's DescribeImageReferences never answers and the function times out: a crash. */
let crashing = false;

/** The lifecycle function's EC2, through the fault proxy; DescribeImageReferences hangs while `crashing`. */
function lifecycleEc2(region: string): EC2Client {
  const client = new EC2Client({ region, endpoint: proxy.endpoint, maxAttempts: 1 });
  const send = client.send.bind(client) as (command: unknown) => Promise<unknown>;
  return Object.assign(client, {
    send: (command: unknown) =>
      crashing && command instanceof DescribeImageReferencesCommand ? new Promise(() => {}) : send(command),
  });
}

/** Lambda's own answer when the function runs out of time: no typed error, no code of ours ran to its end. */
async function timedOut(run: Promise<unknown>): Promise<unknown> {
  const timeout = new Promise((_, reject) =>
    setTimeout(
      () =>
        reject(Object.assign(new Error('Task timed out after 60.00 seconds'), { name: 'Sandbox.Timedout' })),
      300,
    ),
  );
  return Promise.race([run, timeout]);
}

beforeAll(async () => {
  proxy = await startFaultProxy(inject('awsEndpoint'));
  const clients = new Map<string, EC2Client>();
  const ec2In = (region: string) => {
    const client = clients.get(region) ?? lifecycleEc2(region);
    clients.set(region, client);
    return client;
  };
  h = await createRecoveryHarness('rp', {
    lifecycle: { ec2In },
    aroundLifecycle: (task, next) => (crashing && task.action === 'retain' ? timedOut(next()) : next()),
  });
});
afterAll(async () => {
  await h.close();
  await proxy.close();
});

/** Two older AMIs of a new family, and a plan of it that keeps one. */
async function familyOfThree(label: string): Promise<{ family: string; old: string[]; plan: Plan }> {
  const family = unique(label);
  const old = [
    (await familyImage(h.ec2, family, '2025-01-01T00:00:00Z', h.prefix, { table: h.pipeline.table })).imageId,
    (await familyImage(h.ec2, family, '2025-01-02T00:00:00Z', h.prefix, { table: h.pipeline.table })).imageId,
  ];
  const plan = await h.planned(family, { [`${h.prefix}family`]: family, [`${h.prefix}retain`]: '1' });
  return { family, old, plan };
}

const familyImages = async (family: string) =>
  (
    (
      await h.ec2.send(
        new DescribeImagesCommand({ Filters: [{ Name: `tag:${h.prefix}family`, Values: [family] }] }),
      )
    ).Images ?? []
  )
    .map((image) => image.ImageId)
    .sort();

/** Runs the registration's execution, named by its key, as ingest starts it, to its end. */
async function register(plan: Plan) {
  const sfn = new SFNClient({ endpoint: h.sfn.endpoint });
  const { executionArn } = await sfn.send(
    new StartExecutionCommand({
      stateMachineArn: h.sfn.stateMachineArn,
      name: plan.key,
      input: JSON.stringify(executionInput(plan, {}, new Date())),
    }),
  );
  await h.sfn.idle();
  const execution = await sfn.send(new DescribeExecutionCommand({ executionArn }));
  expect(execution.status, `${execution.error}: ${execution.cause}`).toBe('SUCCEEDED');
  const record = await h.pipeline.record(plan.key);
  expect(record).toMatchObject({ status: 'COMPLETED' });
  return {
    executionArn: executionArn as string,
    imageId: record?.imageId as string,
    retention: JSON.parse(record?.distribution as string).retention,
  };
}

const retentionItem = (family: string) => h.pipeline.record(`${RETENTION_ITEM_PREFIX}${family}`);

/** Time passes: the item's last run started ten minutes ago, past the settle time. */
const settle = (family: string) =>
  h.dynamo.send(
    new UpdateItemCommand({
      TableName: h.pipeline.table,
      Key: { pk: { S: `${RETENTION_ITEM_PREFIX}${family}` } },
      UpdateExpression: 'SET startedAt = :then',
      ExpressionAttributeValues: { ':then': { S: new Date(Date.now() - 600_000).toISOString() } },
    }),
  );

/** A reconciler run as scheduled: the retention pass keeps its own settle time. */
const run = () => reconcile(h.reconcile, { graceSeconds: 0, settleSeconds: 0 });
const entryOf = (report: ReconcileReport, family: string) =>
  report.retention.families.find((entry) => entry.family === family);

describe('the reconciler: retention that did not finish', () => {
  it('a registration whose retention fails completes and leaves it pending; a run once it settled applies it, keeps exactly N and marks it done; the next run does nothing', async () => {
    const { family, old, plan } = await familyOfThree('rp-failed');
    proxy.inject(unauthorized('DescribeImageReferences'));
    const { imageId, retention, executionArn } = await register(plan);
    expect(retention).toMatchObject({ Error: 'PermanentError' });
    expect(await retentionItem(family)).toMatchObject({
      status: 'RETENTION_PENDING',
      attempt: executionArn,
      imageKey: plan.key,
      imageId,
      error: expect.stringContaining('UnauthorizedOperation'),
    });
    expect(await familyImages(family)).toEqual([imageId, ...old].sort());

    await settle(family);
    const report = await run();
    expect(report.errors).toEqual([]);
    expect(entryOf(report, family)).toEqual({
      family,
      key: plan.key,
      imageId,
      action: 'applied',
      deregistered: old.map((id) => ({ region: 'us-east-1', imageId: id })).reverse(),
      previousError: expect.stringContaining('UnauthorizedOperation'),
    });
    expect(report.retention.applied).toBeGreaterThanOrEqual(1);
    expect(await familyImages(family)).toEqual([imageId]);
    const done = await retentionItem(family);
    expect(done).toMatchObject({ status: 'RETENTION_DONE' });
    expect(done?.error).toBeUndefined();

    const again = await run();
    expect(entryOf(again, family)).toBeUndefined();
    expect(await familyImages(family)).toEqual([imageId]);
  });

  it('leaves an item alone while a retain step may still be at work on it (the settle time)', async () => {
    const { family, old, plan } = await familyOfThree('rp-fresh');
    proxy.inject(unauthorized('DescribeImageReferences'));
    const { imageId } = await register(plan);

    const report = await run();
    expect(entryOf(report, family)).toBeUndefined();
    expect(await retentionItem(family)).toMatchObject({ status: 'RETENTION_PENDING' });
    expect(await familyImages(family)).toEqual([imageId, ...old].sort());
  });

  it('a crash of the retain step (the function times out) leaves no answer, yet the family stays pending and a run applies it', async () => {
    const { family, old, plan } = await familyOfThree('rp-crash');
    crashing = true;
    let registered: Awaited<ReturnType<typeof register>>;
    try {
      registered = await register(plan);
    } finally {
      crashing = false;
    }
    expect(registered.retention).toMatchObject({ Error: 'Sandbox.Timedout' });
    const pending = await retentionItem(family);
    expect(pending).toMatchObject({ status: 'RETENTION_PENDING', attempt: registered.executionArn });
    expect(pending?.error).toBeUndefined();

    await settle(family);
    const report = await run();
    expect(entryOf(report, family)).toMatchObject({ action: 'applied' });
    expect(entryOf(report, family)?.previousError).toBeUndefined();
    expect(await familyImages(family)).toEqual([registered.imageId]);
    expect(await retentionItem(family)).toMatchObject({ status: 'RETENTION_DONE' });
    expect(old).toHaveLength(2);
  });

  it('is no registration: status, redrive and the stuck-record pass pass the pending item by', async () => {
    const { family, plan } = await familyOfThree('rp-not-a-record');
    proxy.inject(unauthorized('DescribeImageReferences'));
    await register(plan);
    await settle(family);
    const before = await retentionItem(family);
    expect(before).toMatchObject({ status: 'RETENTION_PENDING' });
    const env = { ...h.env, SNAP2AMI_STATE_MACHINE_ARN: h.sfn.stateMachineArn };

    const status = await snap2amiAsync(['status', plan.snapshotIds[0] as string, '--json'], env);
    expect(status.status, status.stderr).toBe(0);
    expect(JSON.parse(status.stdout).map((s: { record: { key: string } }) => s.record.key)).toEqual([
      plan.key,
    ]);
    const redrive = await snap2amiAsync(['redrive', '--all', '--dry-run', '--json'], env);
    expect(redrive.status, redrive.stderr).toBe(0);
    expect(redrive.stdout).not.toContain(RETENTION_ITEM_PREFIX);

    // The stuck-record pass alone (the retention pass waits a day here).
    const report = await reconcile(h.reconcile, {
      graceSeconds: 0,
      settleSeconds: 0,
      retentionSettleSeconds: 86_400,
    });
    expect(report.stuck.records.map((r) => r.key)).not.toContainEqual(
      expect.stringContaining(RETENTION_ITEM_PREFIX),
    );
    expect(await retentionItem(family)).toEqual(before);
  });
});

describe('snap2ami reconcile: retention', () => {
  it('--dry-run says which AMIs it would deregister and changes nothing; without it, deregisters them', async () => {
    const { family, old, plan } = await familyOfThree('rp-cli');
    proxy.inject(unauthorized('DescribeImageReferences'));
    const { imageId } = await register(plan);
    await settle(family);
    const before = await retentionItem(family);
    const line = `RETENTION  ${family}  (${plan.key}, ${imageId})`;

    const dry = await snap2amiAsync(['reconcile', '--dry-run', '--grace', '0'], h.env);
    expect(dry.status, dry.stderr).toBe(0);
    expect(dry.stdout).toContain(`${line}  → would apply: would deregister `);
    for (const id of old) expect(dry.stdout).toContain(`${id} (us-east-1)`);
    expect(dry.stdout).toMatch(/dry run, nothing changed: .* \d+ unfinished retentions found/);
    expect(await retentionItem(family)).toEqual(before);
    expect(await familyImages(family)).toEqual([imageId, ...old].sort());

    const real = await snap2amiAsync(['reconcile', '--grace', '0'], h.env);
    expect(real.status, real.stderr).toBe(0);
    expect(real.stdout).toContain(`${line}  → applied: deregistered `);
    expect(await familyImages(family)).toEqual([imageId]);
    expect(await retentionItem(family)).toMatchObject({ status: 'RETENTION_DONE' });
    expect(
      (
        await h.dynamo.send(
          new GetItemCommand({
            TableName: h.pipeline.table,
            Key: { pk: { S: plan.key } },
            ConsistentRead: true,
          }),
        )
      ).Item?.status?.S,
    ).toBe('COMPLETED');
  });
});
