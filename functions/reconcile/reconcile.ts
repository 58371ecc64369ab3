/**
 * The reconciler: the pipeline's sweep for registrations that no event will finish.
 *
 * 1. Stuck records: a record IN_PROGRESS whose execution is no longer running (the execution
 *    timed out, was stopped, or failed before it could write the record; or it never ran)
 *    would stay IN_PROGRESS forever, and `redrive` only looks at FAILED ones. The reconciler
 *    finishes it: COMPLETED (adopted) when an available image carries its key, FAILED with
 *    the execution's error otherwise. An image still pending waits for the next run.
 * 2. Stray snapshots: an opted-in, completed snapshot with no AMI and no record (its event
 *    never came, or came before it was opted in and no CloudTrail trail saw the tag) would
 *    never get its AMI. The reconciler sends it through the queue as a Register Snapshots
 *    request, so it takes the ordinary pipeline: same planner, same key, same workflow.
 *    A root that members name (snapshots tagged `<p>device-name` that started at the root's
 *    StartTime, as `createSnapshots` stamps a set) is sent as that set, under the set's key;
 *    when the set cannot be told for sure, it is reported for `snap2ami register
 *    --multi-volume` and not sent: never a set's root alone (sets.ts).
 *
 * 3. Unfinished retention: a family whose retention step failed or crashed keeps a pending
 *    item in the records table; the reconciler runs its retention again (retention-pass.ts).
 *
 * Bounded work per run (a few dozen records, one DescribeSnapshots page, ten families), a cursor in the
 * records table carries on where the last run stopped. Idempotent and safe to run twice at
 * once: records change only by a conditional write (still IN_PROGRESS, same execution), and a
 * snapshot sent twice is one key, one execution, one AMI. The scheduled Lambda
 * (handler.ts) and `snap2ami reconcile` both run this.
 */
import {
  type AttributeValue,
  GetItemCommand,
  QueryCommand,
  UpdateItemCommand,
} from '@aws-sdk/client-dynamodb';
import { DescribeImagesCommand, DescribeSnapshotsCommand, type Image } from '@aws-sdk/client-ec2';
import { DescribeExecutionCommand, type SFNClient } from '@aws-sdk/client-sfn';
import { SendMessageBatchCommand } from '@aws-sdk/client-sqs';
import { adoptable, imagesByKey } from '#shared/aws/images-by-key.ts';
import { byStatusQuery } from '#shared/aws/records.ts';
import { describeSnapshots, referencedSnapshotIds } from '#shared/aws/snapshots.ts';
import { planGroups } from '#shared/contract/plan.ts';
import { conditionally } from '#shared/errors.ts';
import { RECORD_STATUS } from '#shared/records.ts';
import { registerSnapshotsEvent } from '#shared/register-request.ts';
import { type Snapshot, SnapshotSchema, toSnapshot } from '#shared/snapshot.ts';
import { sweepLaunchTestInstances } from '../launchTest/launch-test.ts';
import { emptyRetentionReport, retentionPass } from './retention-pass.ts';
import { type InstantSnapshots, setOf, snapshotsByInstant } from './sets.ts';
import type {
  ReconcileDeps,
  ReconcileOptions,
  ReconcileReport,
  StraySnapshot,
  StuckRecord,
} from './types.ts';

/** The records table's item that keeps the reconciler's place between runs (not a record: no status). */
export const CURSOR_KEY = '#reconciler-cursor';
/** Records examined per run. */
export const MAX_RECORDS = 50;
/** Snapshots per DescribeSnapshots page: EC2 takes at most 200 values in the image filter that follows. */
export const PAGE_SIZE = 200;
/** A claim younger than this is left alone: its execution is starting, or just ended and is writing. */
export const SETTLE_SECONDS = 120;
/** What the reconciler says it is, in the requests it sends. */
export const ORIGIN = 'snap2ami reconciler';

export type {
  ReconcileDeps,
  ReconcileOptions,
  ReconcileReport,
  StrayAction,
  StraySnapshot,
  StuckAction,
  StuckRecord,
} from './types.ts';

type Item = Record<string, AttributeValue>;
const str = (item: Item | undefined, name: string) => item?.[name]?.S;

interface Cursor {
  snapshotsToken?: string;
  recordsStartKey?: Item;
}

/** A run's report before it has done anything. */
export function emptyReport(dryRun = false): ReconcileReport {
  return {
    dryRun,
    stuck: { examined: 0, found: 0, finished: 0, records: [] },
    strays: { examined: 0, found: 0, sent: 0, rejected: 0, unsure: 0, snapshots: [], passComplete: false },
    retention: emptyRetentionReport(),
    errors: [],
  };
}

export async function reconcile(deps: ReconcileDeps, options: ReconcileOptions): Promise<ReconcileReport> {
  const report = emptyReport(options.dryRun ?? false);
  const cursor = await readCursor(deps);
  await attempt(report, 'stuck records', () => stuckRecords(deps, options, cursor, report));
  await attempt(report, 'stray snapshots', () => straySnapshots(deps, options, cursor, report));
  await attempt(report, 'retention', () => retentionPass(deps, options, report));
  await attempt(report, 'launch-test instances', async () => {
    const swept = await sweepLaunchTestInstances(
      deps.ec2,
      deps.settings.prefix,
      deps.now?.() ?? new Date(),
      options.dryRun,
    );
    if (swept.length > 0) report.launchTestInstances = swept;
  });
  return report;
}

/** One job; its failure is reported and logged, and does not stop the other job. */
async function attempt(report: ReconcileReport, job: string, run: () => Promise<void>): Promise<void> {
  try {
    await run();
  } catch (error) {
    report.errors.push(`${job}: ${(error as Error).name}: ${(error as Error).message}`);
  }
}

// ---------------------------------------------------------------------------------------------
// Stuck records

async function stuckRecords(
  deps: ReconcileDeps,
  options: ReconcileOptions,
  cursor: Cursor,
  report: ReconcileReport,
): Promise<void> {
  const now = deps.now?.() ?? new Date();
  const settled = new Date(now.getTime() - (options.settleSeconds ?? SETTLE_SECONDS) * 1000).toISOString();
  const page = await deps.dynamo.send(
    new QueryCommand({
      ...byStatusQuery(deps.table, RECORD_STATUS.inProgress, { until: settled }),
      Limit: options.maxRecords ?? MAX_RECORDS,
      ...(cursor.recordsStartKey && { ExclusiveStartKey: cursor.recordsStartKey }),
    }),
  );
  for (const item of page.Items ?? []) {
    report.stuck.examined += 1;
    const key = str(item, 'pk') ?? '';
    const executionArn = str(item, 'executionArn') ?? '';
    try {
      const entry = await finish(deps, options, key, executionArn, now);
      if (!['running', 'changed meanwhile'].includes(entry.action)) report.stuck.found += 1;
      if (entry.action === 'completed' || entry.action === 'failed') report.stuck.finished += 1;
      report.stuck.records.push(entry);
      deps.log.info({ message: `stuck record: ${entry.action}`, ...entry });
    } catch (error) {
      const message = `${(error as Error).name}: ${(error as Error).message}`;
      report.stuck.records.push({ key, executionArn, execution: '?', action: 'error', error: message });
      report.errors.push(`record ${key}: ${message}`);
      deps.log.warn({
        message: 'could not reconcile a record; the next run tries again',
        key,
        executionArn,
        error: message,
      });
    }
  }
  // The next run carries on after this page; after the last, it starts again from the oldest.
  if (!options.dryRun) await writeCursor(deps, { recordsStartKey: page.LastEvaluatedKey });
}

interface Execution {
  status: string;
  error?: string;
  cause?: string;
  /** Its input had a lifecycle (copies, parameters, retention) to carry out after the image. */
  hadLifecycle?: boolean;
  /** Its input had a billing check (tag contract v2) to make once the image was available. */
  hadBillingCheck?: boolean;
  /** Its input had a launch test (tag contract v3) to pass before anything published the image. */
  hadLaunchTest?: boolean;
}

async function describeExecution(sfn: SFNClient, executionArn: string): Promise<Execution> {
  try {
    const e = await sfn.send(new DescribeExecutionCommand({ executionArn }));
    return {
      status: e.status ?? 'UNKNOWN',
      ...(e.error && { error: e.error }),
      ...(e.cause && { cause: e.cause }),
      ...plannedSteps(e.input),
    };
  } catch (error) {
    const name = (error as Error).name;
    if (name === 'ExecutionDoesNotExist' || name === 'InvalidArn') return { status: 'NOT_FOUND' };
    throw error;
  }
}

/** Whether an execution's input asked for a step after the image: `lifecycle`, `billingCheck`. */
/** Whether the execution's input planned a lifecycle and a billing check (none when it does not parse). */
function plannedSteps(
  input: string | undefined,
): Pick<Execution, 'hadLifecycle' | 'hadBillingCheck' | 'hadLaunchTest'> {
  let parsed: Record<string, unknown> = {};
  try {
    parsed = (JSON.parse(input ?? '{}') ?? {}) as Record<string, unknown>;
  } catch {
    // An input that does not parse planned neither.
  }
  return {
    hadLifecycle: Boolean(parsed.lifecycle),
    hadBillingCheck: Boolean(parsed.billingCheck),
    hadLaunchTest: Boolean(parsed.launchTest),
  };
}

/** Why a record whose execution ended without a word is FAILED: the execution's own error, else its status. */
export function executionFailure(
  executionArn: string,
  execution: Execution,
): { error: string; cause: string } {
  const said = (error: string, cause: string) => ({
    error: execution.error ?? error,
    cause: execution.cause ?? cause,
  });
  switch (execution.status) {
    case 'TIMED_OUT':
      return said('States.Timeout', 'the execution timed out before it recorded an outcome');
    case 'ABORTED':
      return said('ABORTED', 'the execution was stopped before it recorded an outcome');
    case 'FAILED':
      return said('States.Failed', 'the execution failed before it recorded an outcome');
    case 'SUCCEEDED':
      return said(
        'NoImage',
        'the execution ended without recording an outcome, and no image carries the key',
      );
    case 'NOT_FOUND':
      return {
        error: 'ExecutionNotFound',
        cause: `Step Functions does not know ${executionArn}: it never started, or its history has expired`,
      };
    default:
      return said(execution.status, `the execution ended ${execution.status} before it recorded an outcome`);
  }
}

/** Our image for a key (tag `<prefix>key`): an available one first, then a pending one, then any. */
async function imageFor(deps: ReconcileDeps, key: string): Promise<Image | undefined> {
  return adoptable(await imagesByKey(deps.ec2, deps.settings.prefix, [key]));
}

async function finish(
  deps: ReconcileDeps,
  options: ReconcileOptions,
  key: string,
  executionArn: string,
  now: Date,
): Promise<StuckRecord> {
  const execution = await describeExecution(deps.sfn, executionArn);
  const base = { key, executionArn, execution: execution.status };
  if (execution.status === 'RUNNING' || execution.status === 'PENDING_REDRIVE')
    return { ...base, action: 'running' };
  // The index is eventually consistent: the record may have been finished, or claimed by a
  // new attempt, since. Read it as it is (the update below checks the same again).
  const { Item } = await deps.dynamo.send(
    new GetItemCommand({ TableName: deps.table, Key: { pk: { S: key } }, ConsistentRead: true }),
  );
  if (str(Item, 'status') !== RECORD_STATUS.inProgress || str(Item, 'executionArn') !== executionArn)
    return { ...base, action: 'changed meanwhile' };
  const image = await imageFor(deps, key);
  const imageId = image?.ImageId;
  if (image?.State === 'pending') return { ...base, action: 'image pending', ...(imageId && { imageId }) };

  const failure = stuckFailure(executionArn, execution, image);
  const outcome: StuckRecord = {
    ...base,
    action: failure ? 'failed' : 'completed',
    ...(imageId && { imageId }),
    ...(failure && { error: failure.error, cause: `${failure.cause} (found by the reconciler)` }),
  };
  if (options.dryRun) return { ...outcome, action: failure ? 'would fail' : 'would complete' };
  const written = await writeOutcome(deps, outcome, now);
  return written ? outcome : { ...base, action: 'changed meanwhile' };
}

/**
 * Why a stuck record is FAILED, or undefined when it is COMPLETED: an available image carrying
 * its key is the whole registration only when the plan had neither a lifecycle (copies,
 * sharing, parameters and retention never ran: a redrive finishes them) nor a billing check
 * (the image may lack the billing it must have: a redrive adopts it and checks it).
 */
function stuckFailure(
  executionArn: string,
  execution: Execution,
  image: Image | undefined,
): { error: string; cause: string } | undefined {
  const imageId = image?.ImageId;
  if (image?.State !== 'available' || imageId === undefined) return executionFailure(executionArn, execution);
  if (execution.hadBillingCheck === true)
    return {
      error: 'BillingNotChecked',
      cause: `${imageId} is registered, but its execution ended before its billing check could be trusted to have run; redrive to check its PlatformDetails`,
    };
  if (execution.hadLaunchTest === true)
    return {
      error: 'LaunchTestNotPassed',
      cause: `${imageId} is registered, but its execution ended before its launch test passed; redrive to test it`,
    };
  if (execution.hadLifecycle === true)
    return {
      error: 'LifecycleNotCarriedOut',
      cause: `${imageId} is registered, but its execution ended before its distribution and lifecycle; redrive to finish them`,
    };
  return undefined;
}

/** Writes a stuck record's outcome, only while it is still IN_PROGRESS under that execution; false when it is not. */
async function writeOutcome(deps: ReconcileDeps, outcome: StuckRecord, now: Date): Promise<boolean> {
  const { key, executionArn, imageId, error } = outcome;
  const values: Item = {
    ':inProgress': { S: RECORD_STATUS.inProgress },
    ':execution': { S: executionArn },
    ':now': { S: now.toISOString() },
    ...(imageId && { ':image': { S: imageId } }),
  };
  let update: string;
  if (error === undefined) {
    update =
      'SET #status = :completed, imageId = :image, adopted = :adopted, reconciledAt = :now REMOVE #error, #cause';
    Object.assign(values, { ':completed': { S: RECORD_STATUS.completed }, ':adopted': { BOOL: true } });
  } else {
    update = `SET #status = :failed, #error = :error, #cause = :cause, reconciledAt = :now${imageId ? ', imageId = :image' : ''}`;
    Object.assign(values, {
      ':failed': { S: RECORD_STATUS.failed },
      ':error': { S: error },
      ':cause': { S: outcome.cause ?? '' },
    });
  }
  return conditionally(() =>
    deps.dynamo.send(
      new UpdateItemCommand({
        TableName: deps.table,
        Key: { pk: { S: key } },
        UpdateExpression: update,
        // A new attempt may have claimed the key since the query: then it is not ours to finish.
        ConditionExpression: '#status = :inProgress AND executionArn = :execution',
        ExpressionAttributeNames: { '#status': 'status', '#error': 'error', '#cause': 'cause' },
        ExpressionAttributeValues: values,
      }),
    ),
  );
}

// ---------------------------------------------------------------------------------------------
// Stray snapshots

async function straySnapshots(
  deps: ReconcileDeps,
  options: ReconcileOptions,
  cursor: Cursor,
  report: ReconcileReport,
): Promise<void> {
  const { prefix } = deps.settings;
  const now = deps.now?.() ?? new Date();
  const page = await snapshotPage(deps, options, cursor.snapshotsToken);
  report.strays.passComplete = page.NextToken === undefined;
  const snapshots = (page.Snapshots ?? []).map((raw) => toSnapshot(SnapshotSchema.parse(raw)));
  report.strays.examined = snapshots.length;

  const graceEnd = now.getTime() - options.graceSeconds * 1000;
  const candidates = snapshots.filter(
    (snapshot) =>
      // Old enough that the event path would have registered it.
      (snapshot.startTime?.getTime() ?? 0) <= graceEnd &&
      // The pipeline tags the snapshots of every AMI it registers.
      !snapshot.tags.has(`${prefix}image-id`),
  );
  const imaged = await snapshotsWithImages(deps, candidates);
  const inOpenRecords = candidates.length > 0 ? await snapshotsOfOpenRecords(deps) : new Set<string>();
  const known = new Map<string, Snapshot>(snapshots.map((snapshot) => [snapshot.snapshotId, snapshot]));
  const referenced = referencedSnapshotIds(candidates, prefix, known);
  if (referenced.size > 0)
    for (const [id, snapshot] of await describeSnapshots(deps.ec2, referenced)) known.set(id, snapshot);

  const toSend: StraySnapshot[] = [];
  // The snapshots that may make sets with these roots, looked up once, when a root needs them.
  let instants: Promise<InstantSnapshots> | undefined;
  for (const snapshot of candidates) {
    const id = snapshot.snapshotId;
    if (imaged.has(id)) continue;
    // A member (or the root) of a registration that failed or is under way: planned alone, it
    // would get another key and an AMI of its own. Redrive, or the next event, decides it.
    if (inOpenRecords.has(id)) continue;
    instants ??= snapshotsByInstant(deps.ec2, prefix);
    const set = setOf(snapshot, await instants, prefix);
    if ('unsure' in set) {
      report.strays.unsure += 1;
      report.strays.snapshots.push({ snapshotId: id, action: 'unsure', detail: set.unsure });
      deps.log.warn({
        message: 'stray root of a set that cannot be told: not sent',
        snapshotId: id,
        reason: set.unsure,
      });
      continue;
    }
    for (const member of set.members) known.set(member.snapshotId, member);
    const snapshotIds = [id, ...set.members.map((member) => member.snapshotId)];
    const multiVolume = snapshotIds.length > 1;
    const planned = planGroups([{ snapshotIds, multiVolume }], known, deps.settings);
    const rejected = planned.rejected[0];
    if (rejected) {
      const reasons = rejected.errors.map((error) => error.message).join(' | ');
      report.strays.rejected += 1;
      report.strays.snapshots.push({ snapshotId: id, action: 'rejected', detail: reasons });
      deps.log.warn({
        message: 'stray snapshot rejected by the tag contract: not sent',
        snapshotId: id,
        reason: reasons,
      });
      continue;
    }
    const plan = planned.plans[0];
    if (!plan) continue; // skipped: not opted in after all (<p>register=false), not completed …
    const record = await deps.dynamo.send(
      new GetItemCommand({
        TableName: deps.table,
        Key: { pk: { S: plan.key } },
        ConsistentRead: true,
        ProjectionExpression: 'pk',
      }),
    );
    if (record.Item) continue; // its registration exists (any status): not the reconciler's to start
    report.strays.found += 1;
    const members = set.members.map(
      (member) => `${member.snapshotId} (${member.tags.get(`${prefix}device-name`)})`,
    );
    toSend.push({
      snapshotId: id,
      ...(multiVolume && { snapshotIds }),
      key: plan.key,
      action: 'would send',
      detail: `no AMI and no record${multiVolume ? `; a multi-volume set with ${members.join(', ')}` : ''}`,
    });
  }

  if (!options.dryRun) await send(deps, toSend, now, report);
  report.strays.snapshots.push(...toSend);
  for (const stray of toSend) deps.log.info({ message: `stray snapshot: ${stray.action}`, ...stray });
  const allSent = toSend.every((stray) => stray.action === 'sent');
  // A page whose requests did not all go is done again next run (sending twice is harmless).
  if (!options.dryRun && allSent) await writeCursor(deps, { snapshotsToken: page.NextToken });
}

/**
 * Every snapshot a FAILED or IN_PROGRESS record names (a COMPLETED registration's snapshots
 * carry `<p>image-id` already). Read through the byStatus index, snapshot IDs only: failed and
 * unfinished registrations are few, and their records expire (TTL).
 */
async function snapshotsOfOpenRecords(deps: ReconcileDeps): Promise<Set<string>> {
  const ids = new Set<string>();
  for (const status of [RECORD_STATUS.failed, RECORD_STATUS.inProgress]) {
    let ExclusiveStartKey: Record<string, AttributeValue> | undefined;
    do {
      const page = await deps.dynamo.send(
        new QueryCommand({
          ...byStatusQuery(deps.table, status),
          ProjectionExpression: 'snapshotIds',
          ExclusiveStartKey,
        }),
      );
      for (const item of page.Items ?? []) for (const id of item.snapshotIds?.SS ?? []) ids.add(id);
      ExclusiveStartKey = page.LastEvaluatedKey;
    } while (ExclusiveStartKey);
  }
  return ids;
}

/**
 * One page of the account's opted-in, completed snapshots. `tag-key`, not `tag:<p>register`
 * with values: EC2's filter values are case-sensitive, and the contract takes `true` in any
 * case; the planner then reads the value (and skips `false`).
 */
async function snapshotPage(deps: ReconcileDeps, options: ReconcileOptions, token: string | undefined) {
  const describe = (NextToken: string | undefined) =>
    deps.ec2.send(
      new DescribeSnapshotsCommand({
        OwnerIds: ['self'],
        Filters: [
          { Name: 'tag-key', Values: [`${deps.settings.prefix}register`] },
          { Name: 'status', Values: ['completed'] },
        ],
        MaxResults: options.pageSize ?? PAGE_SIZE,
        ...(NextToken && { NextToken }),
      }),
    );
  try {
    return await describe(token);
  } catch (error) {
    // A token EC2 no longer takes (expired, or from another filter; EC2 says so with a client
    // error whose code varies: InvalidPaginationToken, InvalidParameterValue, …): start the pass
    // again. Throttling and server errors are not the token's fault: they are thrown.
    const status = (error as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode ?? 0;
    const throttled = /Throttl|RequestLimitExceeded/.test((error as Error).name);
    if (token === undefined || status < 400 || status >= 500 || throttled) throw error;
    deps.log.warn({
      message: 'the saved DescribeSnapshots token was refused; starting a new pass',
      error: String(error),
    });
    return describe(undefined);
  }
}

/** The candidates that an image of ours names as its source (`<p>source-snapshot`), registered but not yet tagged back. */
async function snapshotsWithImages(deps: ReconcileDeps, candidates: Snapshot[]): Promise<Set<string>> {
  if (candidates.length === 0) return new Set();
  const tag = `${deps.settings.prefix}source-snapshot`;
  const { Images = [] } = await deps.ec2.send(
    new DescribeImagesCommand({
      Owners: ['self'],
      Filters: [{ Name: `tag:${tag}`, Values: candidates.map((snapshot) => snapshot.snapshotId) }],
    }),
  );
  return new Set(
    Images.flatMap((image) => image.Tags ?? [])
      .filter((t) => t.Key === tag && t.Value)
      .map((t) => t.Value as string),
  );
}

/** One Register Snapshots request per root (or set: its own message: its own retries, its own DLQ entry), ten per call. */
async function send(
  deps: ReconcileDeps,
  strays: StraySnapshot[],
  now: Date,
  report: ReconcileReport,
): Promise<void> {
  const newId = deps.newId ?? (() => crypto.randomUUID());
  for (let start = 0; start < strays.length; start += 10) {
    const batch = strays.slice(start, start + 10);
    const entries = batch.map((stray, index) => ({
      Id: String(index),
      MessageBody: JSON.stringify(
        registerSnapshotsEvent({
          snapshotIds: stray.snapshotIds ?? [stray.snapshotId],
          multiVolume: (stray.snapshotIds?.length ?? 1) > 1,
          account: deps.settings.account,
          region: deps.settings.region,
          origin: ORIGIN,
          id: newId(),
          time: now,
        }),
      ),
    }));
    try {
      const result = await deps.sqs.send(
        new SendMessageBatchCommand({ QueueUrl: deps.queueUrl, Entries: entries }),
      );
      for (const ok of result.Successful ?? []) {
        const stray = batch[Number(ok.Id)] as StraySnapshot;
        Object.assign(stray, { action: 'sent', detail: `message ${ok.MessageId}` });
        report.strays.sent += 1;
      }
      for (const failed of result.Failed ?? []) {
        const stray = batch[Number(failed.Id)] as StraySnapshot;
        Object.assign(stray, { action: 'failed', detail: `${failed.Code}: ${failed.Message ?? ''}` });
        report.errors.push(`sending ${stray.snapshotId}: ${failed.Code}`);
      }
    } catch (error) {
      for (const stray of batch) Object.assign(stray, { action: 'failed', detail: String(error) });
      report.errors.push(
        `sending ${batch.length} requests: ${(error as Error).name}: ${(error as Error).message}`,
      );
    }
  }
}

// ---------------------------------------------------------------------------------------------
// The cursor

async function readCursor(deps: ReconcileDeps): Promise<Cursor> {
  const { Item } = await deps.dynamo.send(
    new GetItemCommand({ TableName: deps.table, Key: { pk: { S: CURSOR_KEY } }, ConsistentRead: true }),
  );
  const token = str(Item, 'snapshotsToken');
  const startKey = str(Item, 'recordsStartKey');
  return {
    ...(token && { snapshotsToken: token }),
    ...(startKey && { recordsStartKey: JSON.parse(startKey) as Item }),
  };
}

/** Sets (or, at the end of a pass, removes) one part of the cursor; the other part is left as it is. */
async function writeCursor(
  deps: ReconcileDeps,
  part: { snapshotsToken: string | undefined } | { recordsStartKey: Item | undefined },
): Promise<void> {
  const [name, value] = Object.entries(part)[0] as [string, string | Item | undefined];
  const text = typeof value === 'string' || value === undefined ? value : JSON.stringify(value);
  await deps.dynamo.send(
    new UpdateItemCommand({
      TableName: deps.table,
      Key: { pk: { S: CURSOR_KEY } },
      UpdateExpression: text === undefined ? 'REMOVE #part' : 'SET #part = :value',
      ExpressionAttributeNames: { '#part': name },
      ...(text !== undefined && { ExpressionAttributeValues: { ':value': { S: text } } }),
    }),
  );
}
