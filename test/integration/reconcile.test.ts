/**
 * The reconciler on the emulator, with the deployed workflow on the local Step Functions
 * endpoint: it finishes records stuck IN_PROGRESS after their execution ended (adopting an
 * available image that carries the key, or failing them with the reason), leaves running ones
 * alone, sends opted-in snapshots with no AMI and no record through the queue (and not those
 * the tag contract rejects), keeps its place between runs, and can run twice, at once too,
 * with the same end state. `snap2ami reconcile` runs the same code; --dry-run changes nothing.
 */
import { GetItemCommand, PutItemCommand, UpdateItemCommand } from '@aws-sdk/client-dynamodb';
import { CreateTagsCommand, EC2Client, RegisterImageCommand } from '@aws-sdk/client-ec2';
import { SFNClient, StartExecutionCommand } from '@aws-sdk/client-sfn';
import { afterAll, beforeAll, describe, expect, inject, it, vi } from 'vitest';
import type { Plan } from '#shared/contract/types.ts';
import { executionInput } from '#shared/workflow.ts';
import { CURSOR_KEY, type ReconcileReport, reconcile } from '../../functions/reconcile/reconcile.ts';
import { describeImagesBody, type FaultProxy, startFaultProxy } from '../../local/index.ts';
import { snap2amiInProcess as snap2amiAsync } from '../support/cli-in-process.ts';
import { executionArn } from '../support/pipeline.ts';
import { createRecoveryHarness, type RecoveryHarness } from '../support/recovery.ts';
import { messagesIn } from '../support/sqs.ts';

let h: RecoveryHarness;

beforeAll(async () => {
  h = await createRecoveryHarness('rec');
});
afterAll(() => h.close());

/** Runs the reconciler now: no grace for snapshots, no settling time for claims. */
const run = (options: { dryRun?: boolean } = {}, deps = h.reconcile) =>
  reconcile(deps, { graceSeconds: 0, settleSeconds: 0, ...options });

const stuckEntry = (report: ReconcileReport, key: string) => report.stuck.records.find((r) => r.key === key);
const strayEntry = (report: ReconcileReport, snapshotId: string) =>
  report.strays.snapshots.find((s) => s.snapshotId === snapshotId);

const planned = (name: string, tags?: Record<string, string>) => h.planned(name, tags);

/** Starts the registration's execution, named by its key, as ingest does. */
async function start(plan: Plan): Promise<string> {
  const started = await new SFNClient({ endpoint: h.sfn.endpoint }).send(
    new StartExecutionCommand({
      stateMachineArn: h.sfn.stateMachineArn,
      name: plan.key,
      input: JSON.stringify(executionInput(plan, {}, new Date())),
    }),
  );
  return started.executionArn as string;
}

const stuckRecord = (plan: Plan, execution: string) => h.stuckRecord(plan, execution);

/** What RecordFailure would have written is lost: the record still says IN_PROGRESS. */
const loseRecordFailure = (key: string) =>
  h.dynamo.send(
    new UpdateItemCommand({
      TableName: h.pipeline.table,
      Key: { pk: { S: key } },
      UpdateExpression: 'SET #status = :inProgress REMOVE #error, #cause',
      ExpressionAttributeNames: { '#status': 'status', '#error': 'error', '#cause': 'cause' },
      ExpressionAttributeValues: { ':inProgress': { S: 'IN_PROGRESS' } },
    }),
  );

/** An AMI registered from the plan's snapshot, tagged with its key: what a lost Register left behind. */
async function imageOf(plan: Plan): Promise<string> {
  const { ImageId } = await h.ec2.send(
    new RegisterImageCommand({
      Name: plan.request.Name,
      RootDeviceName: '/dev/xvda',
      BlockDeviceMappings: [{ DeviceName: '/dev/xvda', Ebs: { SnapshotId: plan.snapshotIds[0] } }],
      TagSpecifications: [{ ResourceType: 'image', Tags: [{ Key: `${h.prefix}key`, Value: plan.key }] }],
    }),
  );
  return ImageId as string;
}

const cursor = async () =>
  (
    await h.dynamo.send(
      new GetItemCommand({
        TableName: h.pipeline.table,
        Key: { pk: { S: CURSOR_KEY } },
        ConsistentRead: true,
      }),
    )
  ).Item;

describe('the reconciler: records stuck IN_PROGRESS', () => {
  it('fails a record whose execution FAILED without recording it, with the execution’s error', async () => {
    const name = `rec-failed-${Date.now()}`;
    const plan = await planned(name);
    h.fail(name);
    const execution = await start(plan);
    await h.sfn.idle();
    await loseRecordFailure(plan.key);

    const report = await run();
    expect(stuckEntry(report, plan.key)).toMatchObject({
      execution: 'FAILED',
      action: 'failed',
      error: 'RegistrationFailed',
    });
    expect(report.stuck.finished).toBeGreaterThanOrEqual(1);
    const record = await h.pipeline.record(plan.key);
    expect(record).toMatchObject({ status: 'FAILED', executionArn: execution, error: 'RegistrationFailed' });
    expect(record?.cause).toContain('reconciler');
    expect(record?.imageId).toBeUndefined();
    expect(await h.imagesNamed(name)).toHaveLength(0);
  });

  it('completes a record whose execution never existed when an available image carries its key (adopted)', async () => {
    const plan = await planned(`rec-adopt-${Date.now()}`);
    const imageId = await imageOf(plan);
    await stuckRecord(plan, executionArn(`never-ran-${Date.now()}`));

    const report = await run();
    expect(stuckEntry(report, plan.key)).toMatchObject({
      execution: 'NOT_FOUND',
      action: 'completed',
      imageId,
    });
    expect(await h.pipeline.record(plan.key)).toMatchObject({ status: 'COMPLETED', imageId, adopted: true });
    expect(await h.imagesNamed(plan.request.Name)).toHaveLength(1);
  });

  it.each([
    { step: 'the lifecycle', tag: 'deprecate-after', value: '30d', error: 'LifecycleNotCarriedOut' },
    { step: 'the billing check', tag: 'platform', value: 'windows', error: 'BillingNotChecked' },
  ])(
    'fails, keeping its image, a record whose execution ended before $step its plan asked for',
    async ({ tag, value, error }) => {
      const name = `rec-${tag}-${Date.now()}`;
      const plan = await planned(name, { [`${h.prefix}${tag}`]: value });
      expect(plan.lifecycle ?? plan.billingCheck).toBeDefined();
      h.fail(name);
      await start(plan);
      await h.sfn.idle();
      await loseRecordFailure(plan.key);
      // What an attempt that registered and then died left: its image, with the key.
      const imageId = await imageOf(plan);

      const report = await run();
      expect(stuckEntry(report, plan.key)).toMatchObject({ action: 'failed', error, imageId });
      expect(await h.pipeline.record(plan.key)).toMatchObject({ status: 'FAILED', error, imageId });
    },
  );

  it('fails a record whose execution never existed and left no image, saying so', async () => {
    const plan = await planned(`rec-noexec-${Date.now()}`);
    const execution = executionArn(`never-ran-${Date.now()}`);
    await stuckRecord(plan, execution);

    await run();
    const record = await h.pipeline.record(plan.key);
    expect(record).toMatchObject({ status: 'FAILED', error: 'ExecutionNotFound' });
    expect(record?.cause).toContain(execution);
    // A user reads it in `snap2ami status`.
    const status = await snap2amiAsync(['status', plan.key], {
      ...h.env,
      SNAP2AMI_STATE_MACHINE_ARN: h.sfn.stateMachineArn,
    });
    expect(status.stdout).toMatch(/status\s+FAILED/);
    expect(status.stdout).toContain('ExecutionNotFound: Step Functions does not know');
  });

  it('leaves a record alone while its execution is RUNNING, and the execution finishes it', async () => {
    const name = `rec-running-${Date.now()}`;
    const plan = await planned(name);
    const release = h.hold(name);
    await start(plan);
    await vi.waitFor(async () =>
      expect(await h.pipeline.record(plan.key)).toMatchObject({ status: 'IN_PROGRESS' }),
    );

    const report = await run();
    expect(stuckEntry(report, plan.key)).toMatchObject({ execution: 'RUNNING', action: 'running' });
    expect(await h.pipeline.record(plan.key)).toMatchObject({ status: 'IN_PROGRESS' });

    release();
    await h.sfn.idle();
    expect(await h.pipeline.record(plan.key)).toMatchObject({ status: 'COMPLETED' });
    expect(await h.imagesNamed(name)).toHaveLength(1);
  });

  it('leaves a record for the next run while its image is pending', async () => {
    const proxy: FaultProxy = await startFaultProxy(inject('awsEndpoint'));
    try {
      const plan = await planned(`rec-pending-${Date.now()}`);
      await stuckRecord(plan, executionArn(`never-ran-${Date.now()}`));
      proxy.inject({
        action: 'DescribeImages',
        times: 1,
        status: 200,
        body: describeImagesBody('ami-0123456789abcdef0', 'pending'),
      });
      const report = await run(
        {},
        { ...h.reconcile, ec2: new EC2Client({ endpoint: proxy.endpoint, maxAttempts: 1 }) },
      );
      expect(stuckEntry(report, plan.key)).toMatchObject({
        action: 'image pending',
        imageId: 'ami-0123456789abcdef0',
      });
      expect(await h.pipeline.record(plan.key)).toMatchObject({ status: 'IN_PROGRESS' });
      // Next run: no image after all (the pending one failed), so FAILED.
      await run();
      expect(await h.pipeline.record(plan.key)).toMatchObject({
        status: 'FAILED',
        error: 'ExecutionNotFound',
      });
    } finally {
      await proxy.close();
    }
  });

  it('does not touch a record that a new attempt claims while it decides', async () => {
    const plan = await planned(`rec-claimed-${Date.now()}`);
    const old = executionArn(`never-ran-${Date.now()}`);
    const newer = executionArn(`attempt-2-${Date.now()}`);
    await stuckRecord(plan, old);
    // A new attempt claims the key after the reconciler read the record, before it writes.
    const real = h.reconcile.dynamo;
    let claimed = false;
    const dynamo = {
      send: async (command: { input: { Key?: { pk?: { S?: string } } } }) => {
        if (command instanceof UpdateItemCommand && command.input.Key?.pk?.S === plan.key && !claimed) {
          claimed = true;
          await real.send(
            new UpdateItemCommand({
              TableName: h.pipeline.table,
              Key: { pk: { S: plan.key } },
              UpdateExpression: 'SET executionArn = :e',
              ExpressionAttributeValues: { ':e': { S: newer } },
            }),
          );
        }
        return real.send(command as never);
      },
    } as unknown as typeof real;

    const report = await run({}, { ...h.reconcile, dynamo });
    expect(claimed).toBe(true);
    expect(stuckEntry(report, plan.key)).toMatchObject({ executionArn: old, action: 'changed meanwhile' });
    expect(await h.pipeline.record(plan.key)).toMatchObject({ status: 'IN_PROGRESS', executionArn: newer });
    expect((await h.pipeline.record(plan.key))?.error).toBeUndefined();
  });
});

describe('the reconciler: opted-in snapshots with no AMI and no record', () => {
  it('sends a stray through the queue as Register Snapshots; ingest registers one AMI; a second run sends nothing', async () => {
    const name = `rec-stray-${Date.now()}`;
    const plan = await planned(name);
    const snapshotId = plan.snapshotIds[0] as string;

    const report = await run();
    expect(strayEntry(report, snapshotId)).toMatchObject({ action: 'sent', key: plan.key });
    expect(report.strays.sent).toBeGreaterThanOrEqual(1);
    await h.deliver();
    expect(await h.imagesNamed(name)).toHaveLength(1);
    expect(await h.pipeline.record(plan.key)).toMatchObject({ status: 'COMPLETED' });

    const again = await run();
    expect(strayEntry(again, snapshotId)).toBeUndefined();
    expect(await messagesIn(h.sqs, h.queueUrl)).toBe(0);
    expect(await h.imagesNamed(name)).toHaveLength(1);
  });

  it('sends no snapshot that has an AMI or a record: tagged with its image, named by an image, or FAILED', async () => {
    const tagged = await planned(`rec-has-tag-${Date.now()}`);
    await h.ec2.send(
      new CreateTagsCommand({
        Resources: tagged.snapshotIds,
        Tags: [{ Key: `${h.prefix}image-id`, Value: 'ami-0123456789abcdef0' }],
      }),
    );
    const imaged = await planned(`rec-has-image-${Date.now()}`);
    const { ImageId } = await h.ec2.send(
      new RegisterImageCommand({
        Name: imaged.request.Name,
        RootDeviceName: '/dev/xvda',
        BlockDeviceMappings: [{ DeviceName: '/dev/xvda', Ebs: { SnapshotId: imaged.snapshotIds[0] } }],
        TagSpecifications: [
          {
            ResourceType: 'image',
            Tags: [{ Key: `${h.prefix}source-snapshot`, Value: imaged.snapshotIds[0] as string }],
          },
        ],
      }),
    );
    expect(ImageId).toBeDefined();
    const failedName = `rec-has-record-${Date.now()}`;
    const failed = await planned(failedName);
    h.fail(failedName);
    await start(failed);
    await h.sfn.idle();
    expect(await h.pipeline.record(failed.key)).toMatchObject({ status: 'FAILED' });

    const report = await run();
    for (const plan of [tagged, imaged, failed])
      expect(strayEntry(report, plan.snapshotIds[0] as string), plan.request.Name).toBeUndefined();
    expect(await messagesIn(h.sqs, h.queueUrl)).toBe(0);
  });

  it('sends no member of a multi-volume set whose registration failed: alone, each would get an AMI of its own', async () => {
    const root = await planned(`rec-set-root-${Date.now()}`);
    const member = await planned(`rec-set-member-${Date.now()}`);
    const snapshotIds = [...root.snapshotIds, ...member.snapshotIds];
    // What a failed createSnapshots registration leaves: a FAILED record naming the whole set.
    await h.dynamo.send(
      new PutItemCommand({
        TableName: h.pipeline.table,
        Item: {
          pk: { S: 'v1-0123456789abcdef0123456789abcdef' },
          status: { S: 'FAILED' },
          snapshotIds: { SS: snapshotIds },
          rootSnapshotId: { S: snapshotIds[0] as string },
          startedAt: { S: new Date().toISOString() },
          error: { S: 'RetryableError' },
        },
      }),
    );
    const report = await run();
    for (const id of snapshotIds) expect(strayEntry(report, id), id).toBeUndefined();
    expect(await messagesIn(h.sqs, h.queueUrl)).toBe(0);
  });

  it('counts and names a stray the tag contract rejects, and sends nothing for it (the DLQ stays empty)', async () => {
    const name = `rec-rejected-${Date.now()}`;
    const plan = await planned(name);
    const snapshotId = plan.snapshotIds[0] as string;
    await h.ec2.send(
      new CreateTagsCommand({
        Resources: [snapshotId],
        Tags: [{ Key: `${h.prefix}architecture`, Value: 'sparc' }],
      }),
    );
    const report = await run();
    expect(strayEntry(report, snapshotId)).toMatchObject({
      action: 'rejected',
      detail: expect.stringContaining('sparc'),
    });
    expect(report.strays.rejected).toBeGreaterThanOrEqual(1);
    expect(await messagesIn(h.sqs, h.queueUrl)).toBe(0);
    expect(await messagesIn(h.sqs, h.dlqUrl)).toBe(0);
  });

  it('leaves snapshots younger than the grace period to their events, and skips register=false', async () => {
    const young = (await planned(`rec-young-${Date.now()}`)).snapshotIds[0] as string;
    const optedOut = await h.snapshot(`rec-false-${Date.now()}`, { [`${h.prefix}register`]: 'false' });
    const report = await reconcile(h.reconcile, { graceSeconds: 3600, settleSeconds: 0 });
    expect(strayEntry(report, young)).toBeUndefined();
    expect(report.strays.examined).toBeGreaterThanOrEqual(2);
    expect(await messagesIn(h.sqs, h.queueUrl)).toBe(0);
    const now = await run();
    expect(strayEntry(now, optedOut)).toBeUndefined();
    expect(strayEntry(now, young)).toMatchObject({ action: 'sent' });
    await h.deliver();
  });

  it('keeps its place in the account between runs, and starts a new pass when EC2 refuses the saved token', async () => {
    const proxy = await startFaultProxy(inject('awsEndpoint'));
    try {
      const ec2 = new EC2Client({ endpoint: proxy.endpoint, maxAttempts: 1 });
      proxy.inject({
        action: 'DescribeSnapshots',
        times: 1,
        status: 200,
        body: '<DescribeSnapshotsResponse xmlns="http://ec2.amazonaws.com/doc/2016-11-15/"><requestId>x</requestId><snapshotSet/><nextToken>page-2-token</nextToken></DescribeSnapshotsResponse>',
      });
      const first = await run({}, { ...h.reconcile, ec2 });
      expect(first.strays.passComplete).toBe(false);
      expect((await cursor())?.snapshotsToken?.S).toBe('page-2-token');

      // The next run asks for page 2 with the saved token; EC2 refuses it (it expired): a new pass.
      proxy.inject({
        action: 'DescribeSnapshots',
        times: 1,
        status: 400,
        body: '<?xml version="1.0" encoding="UTF-8"?><Response><Errors><Error><Code>InvalidPaginationToken</Code><Message>The pagination token is invalid or expired.</Message></Error></Errors><RequestID>x</RequestID></Response>',
      });
      const second = await run({}, { ...h.reconcile, ec2 });
      expect(second.errors).toEqual([]);
      expect(second.strays.passComplete).toBe(true);
      expect((await cursor())?.snapshotsToken).toBeUndefined();
      // The refused page, the new pass, and the look for sets (one listing per tag key) that
      // the strays of the earlier tests need.
      expect(proxy.calls.get('EC2.DescribeSnapshots')).toBe(5);
    } finally {
      await proxy.close();
    }
  });
});

describe('the reconciler run twice', () => {
  it('twice at once and once more: the same end state, one AMI, one finished record', async () => {
    const name = `rec-twice-${Date.now()}`;
    const stray = await planned(name);
    const stuck = await planned(`rec-twice-stuck-${Date.now()}`);
    await stuckRecord(stuck, executionArn(`never-ran-${Date.now()}`));

    const reports = await Promise.all([run(), run()]);
    for (const report of reports) expect(report.errors).toEqual([]);
    // One run finishes the record; the other finds it changed, or no longer stuck.
    const actions = reports.map((r) => stuckEntry(r, stuck.key)?.action);
    expect(actions.filter((a) => a === 'failed')).toHaveLength(1);
    expect(actions.filter((a) => a !== 'failed')).toEqual([
      expect.toSatisfy((a) => a === undefined || a === 'changed meanwhile'),
    ]);
    await h.deliver();
    const after = { stuck: await h.pipeline.record(stuck.key), stray: await h.pipeline.record(stray.key) };
    expect(after.stuck).toMatchObject({ status: 'FAILED', error: 'ExecutionNotFound' });
    expect(after.stray).toMatchObject({ status: 'COMPLETED' });
    expect(await h.imagesNamed(name)).toHaveLength(1);

    const third = await run();
    await h.deliver();
    expect(stuckEntry(third, stuck.key)).toBeUndefined();
    expect(strayEntry(third, stray.snapshotIds[0] as string)).toBeUndefined();
    expect(await h.pipeline.record(stuck.key)).toEqual(after.stuck);
    expect(await h.pipeline.record(stray.key)).toEqual(after.stray);
    expect(await h.imagesNamed(name)).toHaveLength(1);
  });
});

describe('snap2ami reconcile', () => {
  it('--dry-run lists what it would do and changes nothing; without it, does it', async () => {
    const name = `rec-cli-${Date.now()}`;
    const stray = await planned(name);
    const snapshotId = stray.snapshotIds[0] as string;
    const stuck = await planned(`rec-cli-stuck-${Date.now()}`);
    await stuckRecord(stuck, executionArn(`never-ran-${Date.now()}`));
    const before = await cursor();

    const dry = await snap2amiAsync(['reconcile', '--dry-run', '--grace', '0', '--json'], h.env);
    expect(dry.status, dry.stderr).toBe(0);
    const report = JSON.parse(dry.stdout) as ReconcileReport;
    expect(report.dryRun).toBe(true);
    expect(stuckEntry(report, stuck.key)).toMatchObject({ action: 'would fail', error: 'ExecutionNotFound' });
    expect(strayEntry(report, snapshotId)).toMatchObject({ action: 'would send', key: stray.key });
    expect(await h.pipeline.record(stuck.key)).toMatchObject({ status: 'IN_PROGRESS' });
    expect(await messagesIn(h.sqs, h.queueUrl)).toBe(0);
    expect(await cursor()).toEqual(before);

    const text = await snap2amiAsync(['reconcile', '--dry-run', '--grace', '0'], h.env);
    expect(text.stdout).toContain(`STUCK  ${stuck.key}  execution NOT_FOUND  → would fail`);
    expect(text.stdout).toContain(`STRAY  ${snapshotId}  → would send`);
    expect(text.stdout).toContain('dry run, nothing changed');

    const real = await snap2amiAsync(['reconcile', '--grace', '0'], h.env);
    expect(real.status, real.stderr).toBe(0);
    expect(real.stdout).toContain(`STUCK  ${stuck.key}  execution NOT_FOUND  → failed`);
    expect(real.stdout).toMatch(new RegExp(`STRAY  ${snapshotId}  → sent: message \\S+`));
    await h.deliver();
    expect(await h.pipeline.record(stuck.key)).toMatchObject({ status: 'FAILED' });
    expect(await h.imagesNamed(name)).toHaveLength(1);
  });

  it('names the table when it is not there', async () => {
    const result = await snap2amiAsync(['reconcile'], { ...h.env, SNAP2AMI_TABLE: 'no-such-table' });
    expect(result.status).toBe(1);
    expect(result.stderr).toContain('reading the records table no-such-table: not found in us-east-1');
  });
});
