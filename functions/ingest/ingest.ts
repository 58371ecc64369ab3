/**
 * Ingest: one SQS batch of snapshot events → Step Functions executions, one per plan, named
 * by the idempotency key. Rejected messages go to the dead-letter queue at once with their
 * reasons; transient failures come back as batch item failures; nothing is dropped.
 */
import type { EC2Client } from '@aws-sdk/client-ec2';
import type { SFNClient } from '@aws-sdk/client-sfn';
import { SendMessageCommand, type SQSClient } from '@aws-sdk/client-sqs';
import type { SQSBatchResponse, SQSRecord } from 'aws-lambda';
import { startAttempt } from '../../shared/aws/executions.ts';
import { describeSnapshots, referencedSnapshotIds } from '../../shared/aws/snapshots.ts';
import { planGroups, type SnapshotGroup } from '../../shared/contract/plan.ts';
import type { ContractError, Plan, PlannerSettings } from '../../shared/contract/types.ts';
import { DLQ_ATTRIBUTES, deadLetterMessage } from '../../shared/dead-letter.ts';
import { parseMessageBody } from '../../shared/events.ts';
import type { Snapshot } from '../../shared/snapshot.ts';

export interface IngestDeps {
  ec2: EC2Client;
  sfn: SFNClient;
  sqs: SQSClient;
  stateMachineArn: string;
  /** The dead-letter queue's URL, looked up when a message is first rejected. */
  deadLetterQueueUrl(): Promise<string>;
  settings: PlannerSettings;
  log: Pick<Console, 'info' | 'warn' | 'error'>;
  count(metric: 'Planned' | 'Started' | 'Duplicate' | 'Skipped' | 'Rejected', n?: number): void;
  now?: () => Date;
}

type Disposition = { ok: true } | { ok: false; error: unknown };

export async function ingest(records: readonly SQSRecord[], deps: IngestDeps): Promise<SQSBatchResponse> {
  const failures: string[] = [];
  const pending: { record: SQSRecord; groups: SnapshotGroup[] }[] = [];

  for (const record of records) {
    const outcome = parseMessageBody(record.body, deps.settings);
    if (outcome.outcome === 'skipped') {
      deps.count('Skipped');
      deps.log.info({
        message: 'skipped',
        messageId: record.messageId,
        snapshotIds: outcome.snapshotIds,
        reason: outcome.reason,
      });
    } else if (outcome.outcome === 'rejected') {
      const result = await reject(record, outcome.category, [{ message: outcome.reason }], [], deps);
      if (!result.ok) failures.push(record.messageId);
    } else {
      pending.push({ record, groups: outcome.groups });
    }
  }

  let known: Map<string, Snapshot>;
  try {
    known = await lookUp(
      pending.flatMap((item) => item.groups.flatMap((group) => group.snapshotIds)),
      deps,
    );
  } catch (error) {
    deps.log.warn({ message: 'DescribeSnapshots failed; the batch will come back', error: String(error) });
    return {
      batchItemFailures: [...failures, ...pending.map((item) => item.record.messageId)].map(
        (itemIdentifier) => ({ itemIdentifier }),
      ),
    };
  }

  for (const item of pending) {
    const report = planGroups(item.groups, known, deps.settings);
    // One message may hold several plans (a CreateTags record of several snapshots): it comes
    // back if any of them could not be started or rejected, not only the last one.
    let result: Disposition = { ok: true };
    const keep = (next: Disposition) => {
      if (result.ok) result = next;
    };
    for (const skipped of report.skipped) {
      deps.count('Skipped');
      deps.log.info({
        message: 'skipped',
        messageId: item.record.messageId,
        snapshotIds: skipped.snapshotIds,
        reason: skipped.reason,
      });
    }
    for (const rejected of report.rejected) {
      keep(await reject(item.record, 'rejected', rejected.errors, rejected.snapshotIds, deps));
    }
    for (const plan of report.plans) {
      deps.count('Planned');
      keep(await start(plan, item.record, deps));
    }
    if (!result.ok) failures.push(item.record.messageId);
  }
  return { batchItemFailures: failures.map((itemIdentifier) => ({ itemIdentifier })) };
}

/** One DescribeSnapshots pass for the batch, and one more for snapshots that `device:` tags name. */
async function lookUp(snapshotIds: string[], deps: IngestDeps): Promise<Map<string, Snapshot>> {
  if (snapshotIds.length === 0) return new Map();
  const known = await describeSnapshots(deps.ec2, snapshotIds);
  const referenced = referencedSnapshotIds(known.values(), deps.settings.prefix, known);
  if (referenced.size > 0)
    for (const [id, snapshot] of await describeSnapshots(deps.ec2, referenced)) known.set(id, snapshot);
  return known;
}

/** Starts the plan's next attempt; an attempt that is running or succeeded already makes this a duplicate. */
async function start(plan: Plan, record: SQSRecord, deps: IngestDeps): Promise<Disposition> {
  const context = { messageId: record.messageId, key: plan.key, snapshotIds: plan.snapshotIds };
  try {
    const result = await startAttempt(
      deps.sfn,
      deps.stateMachineArn,
      plan,
      { messageId: record.messageId },
      deps.now?.() ?? new Date(),
    );
    if (result.outcome === 'duplicate') {
      deps.count('Duplicate');
      deps.log.info({
        message: `duplicate: an attempt is ${result.status?.toLowerCase()}`,
        ...context,
        ...result,
      });
    } else {
      deps.count('Started');
      deps.log.info({ message: 'execution started', ...context, ...result });
    }
    return { ok: true };
  } catch (error) {
    deps.log.warn({
      message: 'StartExecution failed; the message will come back',
      ...context,
      error: String(error),
    });
    return { ok: false, error };
  }
}

async function reject(
  record: SQSRecord,
  category: string,
  errors: ContractError[],
  snapshotIds: string[],
  deps: IngestDeps,
): Promise<Disposition> {
  deps.count('Rejected');
  const message = deadLetterMessage({
    body: record.body,
    category,
    errors,
    snapshotIds,
    sourceMessageId: record.messageId,
    rejectedAt: deps.now?.() ?? new Date(),
  });
  const reason = message.MessageAttributes[DLQ_ATTRIBUTES.reason]?.StringValue;
  try {
    const QueueUrl = await deps.deadLetterQueueUrl();
    await deps.sqs.send(new SendMessageCommand({ QueueUrl, ...message }));
    deps.log.warn({
      message: 'rejected to the dead-letter queue',
      messageId: record.messageId,
      category,
      snapshotIds,
      reason,
    });
    return { ok: true };
  } catch (error) {
    deps.log.error({
      message: 'could not move a rejected message to the dead-letter queue; it will come back',
      messageId: record.messageId,
      error: String(error),
    });
    return { ok: false, error };
  }
}
