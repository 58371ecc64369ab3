/**
 * A family's retention, kept in the records table so that its outstanding work outlives the
 * execution: one item per family, `retention#<family>`, written by the retain step before it
 * works (RETENTION_PENDING, with everything needed to run it again: the rule, the parameter,
 * the newest image and its copies) and marked RETENTION_DONE when it finishes. A failure, or a
 * crash that leaves no answer at all, leaves it pending; the reconciler's retention pass finds
 * it through the byStatus index and runs it again. Each run is an attempt (the execution, or a
 * reconciler run), and only the attempt that holds the item marks it: a newer success of the
 * family overwrites the item and owns it from then on. docs/adr/0008-distribution-and-lifecycle.md.
 */
import { type AttributeValue, QueryCommand, UpdateItemCommand } from '@aws-sdk/client-dynamodb';
import { byStatusQuery } from '#shared/aws/records.ts';
import type { Lifecycle } from '#shared/contract/types.ts';
import { classify, conditionally, isConditionFailure } from '#shared/errors.ts';
import { RECORD_STATUS, RETENTION_ITEM_PREFIX } from '#shared/records.ts';
import * as z from '#shared/zod.ts';
import type { Copy, LifecycleDeps, RetentionResult } from './types.ts';

/** What retention needs of the plan's lifecycle: a family and a rule, with what guards or widens it. */
export type RetentionRule = Required<Pick<Lifecycle, 'family' | 'retain'>> &
  Pick<Lifecycle, 'ssmParameter' | 'retainDeleteSnapshots' | 'retainGraceDays'>;

/** One run of a family's retention: the rule, and the registration whose success asked for it. */
export interface RetentionWork {
  key: string;
  imageId: string;
  copies: Copy[];
  lifecycle: RetentionRule;
}

/** A pending item as the reconciler reads it. */
export interface PendingRetention {
  work: RetentionWork;
  /** Who wrote it last (an execution ARN, or a reconciler run), and when: a claim checks both. */
  attempt: string;
  startedAt: string;
  /** Why its last run failed; absent after a crash. */
  error?: string;
}

export type RetentionItemDeps = Pick<LifecycleDeps, 'dynamo' | 'table' | 'now'>;

const CopySchema = z.object({ region: z.string(), imageId: z.string() });
const RuleSchema = z.object({
  family: z.string(),
  retain: z.union([z.object({ count: z.number() }), z.object({ days: z.number() })]),
  ssmParameter: z.optional(z.string()),
  retainDeleteSnapshots: z.optional(z.boolean()),
  retainGraceDays: z.optional(z.number()),
});
const S = z.object({ S: z.string() });
const ItemSchema = z.object({
  attempt: S,
  startedAt: S,
  imageKey: S,
  imageId: S,
  copies: z.pipe(
    S,
    z.transform(({ S }) => z.array(CopySchema).parse(JSON.parse(S))),
  ),
  lifecycle: z.pipe(
    S,
    z.transform(({ S }) => RuleSchema.parse(JSON.parse(S))),
  ),
  error: z.optional(S),
});

export const retentionItemKey = (family: string) => ({ pk: { S: `${RETENTION_ITEM_PREFIX}${family}` } });

/** The retain step's work, or undefined when the plan asks for no retention (no rule, or no family). */
export function retentionWork(task: {
  key: string;
  imageId: string;
  copies: Copy[];
  lifecycle: Lifecycle;
}): RetentionWork | undefined {
  const { family, retain, ssmParameter, retainDeleteSnapshots, retainGraceDays } = task.lifecycle;
  if (family === undefined || retain === undefined) return undefined;
  return {
    key: task.key,
    imageId: task.imageId,
    copies: task.copies,
    lifecycle: {
      family,
      retain,
      ...(ssmParameter !== undefined && { ssmParameter }),
      ...(retainDeleteSnapshots !== undefined && { retainDeleteSnapshots }),
      ...(retainGraceDays !== undefined && { retainGraceDays }),
    },
  };
}

/** Writes the family's item as pending for this attempt, whoever held it: the newest run owns the family's retention. */
export async function openRetention(
  work: RetentionWork,
  attempt: string,
  deps: RetentionItemDeps,
): Promise<void> {
  const now = deps.now().toISOString();
  await send(deps, `recording the retention of the family ${work.lifecycle.family}`, {
    Key: retentionItemKey(work.lifecycle.family),
    UpdateExpression:
      'SET #status = :pending, startedAt = :now, updatedAt = :now, attempt = :attempt, imageKey = :key, imageId = :image, copies = :copies, lifecycle = :lifecycle REMOVE #error, #result',
    ExpressionAttributeNames: { '#status': 'status', '#error': 'error', '#result': 'result' },
    ExpressionAttributeValues: {
      ':pending': { S: RECORD_STATUS.retentionPending },
      ':now': { S: now },
      ':attempt': { S: attempt },
      ':key': { S: work.key },
      ':image': { S: work.imageId },
      ':copies': { S: JSON.stringify(work.copies) },
      ':lifecycle': { S: JSON.stringify(work.lifecycle) },
    },
  });
}

/**
 * Marks the family's retention done, if this attempt still holds it; false when a newer one
 * took it over (it marks it itself). A result still `pending` (the family above its rule, or an
 * image in its grace) is recorded and the item stays pending, with a new `startedAt`, so that
 * the reconciler's retention pass runs it again after its settle time.
 */
export async function closeRetention(
  family: string,
  attempt: string,
  result: RetentionResult,
  deps: RetentionItemDeps,
): Promise<boolean> {
  return conditionally(() =>
    send(deps, `recording the retention of the family ${family} as done`, {
      Key: retentionItemKey(family),
      UpdateExpression:
        'SET #status = :status, startedAt = :now, updatedAt = :now, #result = :result REMOVE #error',
      ConditionExpression: 'attempt = :attempt',
      ExpressionAttributeNames: { '#status': 'status', '#error': 'error', '#result': 'result' },
      ExpressionAttributeValues: {
        ':status': { S: result.pending ? RECORD_STATUS.retentionPending : RECORD_STATUS.retentionDone },
        ':now': { S: deps.now().toISOString() },
        ':result': { S: JSON.stringify(result) },
        ':attempt': { S: attempt },
      },
    }),
  );
}

/**
 * Notes why this attempt failed on the item, which stays pending. Never throws: the item is
 * pending already, so a lost note loses only the reason, and the step's own error matters more.
 */
export async function noteRetentionFailure(
  family: string,
  attempt: string,
  error: unknown,
  deps: RetentionItemDeps,
): Promise<void> {
  await conditionally(() =>
    send(deps, `noting the failed retention of the family ${family}`, {
      Key: retentionItemKey(family),
      UpdateExpression: 'SET #error = :error, updatedAt = :now',
      ConditionExpression: 'attempt = :attempt AND #status = :pending',
      ExpressionAttributeNames: { '#status': 'status', '#error': 'error' },
      ExpressionAttributeValues: {
        ':error': { S: `${(error as Error).name}: ${(error as Error).message}` },
        ':now': { S: deps.now().toISOString() },
        ':attempt': { S: attempt },
        ':pending': { S: RECORD_STATUS.retentionPending },
      },
    }),
  ).catch(() => false);
}

/** Pending items whose last run started at or before `settled` (ISO 8601), oldest first. */
export async function pendingRetention(
  deps: RetentionItemDeps,
  settled: string,
  limit: number,
): Promise<PendingRetention[]> {
  const page = await deps.dynamo.send(
    new QueryCommand({
      ...byStatusQuery(deps.table, RECORD_STATUS.retentionPending, { until: settled }),
      Limit: limit,
    }),
  );
  return (page.Items ?? []).map(toPending);
}

function toPending(item: Record<string, AttributeValue>): PendingRetention {
  const { attempt, startedAt, imageKey, imageId, copies, lifecycle, error } = ItemSchema.parse(item);
  return {
    work: { key: imageKey.S, imageId: imageId.S, copies, lifecycle },
    attempt: attempt.S,
    startedAt: startedAt.S,
    ...(error && { error: error.S }),
  };
}

/**
 * Takes a pending item over for a new attempt, if no one has touched it since it was read (a
 * newer execution of the family, or another reconciler run): false otherwise. The claim sets
 * `startedAt`, so an attempt that dies leaves the item for a run after the settle time.
 */
export async function claimRetention(
  item: PendingRetention,
  attempt: string,
  deps: RetentionItemDeps,
): Promise<boolean> {
  const now = deps.now().toISOString();
  return conditionally(() =>
    send(deps, `claiming the retention of the family ${item.work.lifecycle.family}`, {
      Key: retentionItemKey(item.work.lifecycle.family),
      UpdateExpression: 'SET attempt = :attempt, startedAt = :now, updatedAt = :now',
      ConditionExpression: 'attempt = :was AND startedAt = :started AND #status = :pending',
      ExpressionAttributeNames: { '#status': 'status' },
      ExpressionAttributeValues: {
        ':attempt': { S: attempt },
        ':now': { S: now },
        ':was': { S: item.attempt },
        ':started': { S: item.startedAt },
        ':pending': { S: RECORD_STATUS.retentionPending },
      },
    }),
  );
}

type Update = Omit<ConstructorParameters<typeof UpdateItemCommand>[0], 'TableName'>;

async function send(deps: RetentionItemDeps, what: string, update: Update): Promise<void> {
  try {
    await deps.dynamo.send(new UpdateItemCommand({ TableName: deps.table, ...update }));
  } catch (error) {
    if (isConditionFailure(error)) throw error;
    throw classify(error, what);
  }
}
