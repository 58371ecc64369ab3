/**
 * Ingest: one SQS batch of snapshot events → Step Functions executions, one per plan, named
 * by the idempotency key. Rejected messages go to the dead-letter queue at once with their
 * reasons (a message that also has plans, once they are started or deferred, so that its return
 * never sends them twice); transient failures come back as batch item failures; nothing is dropped.
 * A registration starts only when admission control has EC2 request tokens for it
 * (docs/adr/0009-admission-control.md); otherwise its message goes back to the queue as a new
 * message, delayed until its tokens are there, so that waiting never counts as a receive.
 */
import type { EC2Client } from '@aws-sdk/client-ec2';
import type { SFNClient } from '@aws-sdk/client-sfn';
import {
  ChangeMessageVisibilityBatchCommand,
  type MessageAttributeValue,
  SendMessageBatchCommand,
  SendMessageCommand,
  type SQSClient,
} from '@aws-sdk/client-sqs';
import type { SQSBatchResponse, SQSRecord } from 'aws-lambda';
import {
  ADMISSION_ATTRIBUTE,
  demand,
  parseTicket,
  type Reservation,
  sumDemands,
  type Ticket,
  ticketText,
} from '#shared/admission.ts';
import type { Admission, AdmissionDecision } from '#shared/aws/admission.ts';
import { startAttempt } from '#shared/aws/executions.ts';
import { describeSnapshots, referencedSnapshotIds } from '#shared/aws/snapshots.ts';
import { isAccessDenied, type SourceReader, withSourceTags } from '#shared/aws/source-accounts.ts';
import { planGroups, type SnapshotGroup } from '#shared/contract/plan.ts';
import type { ContractError, Plan, PlannerSettings, Rejected } from '#shared/contract/types.ts';
import { DLQ_ATTRIBUTES, deadLetterMessage } from '#shared/dead-letter.ts';
import { parseMessageBody } from '#shared/events.ts';
import type { Snapshot } from '#shared/snapshot.ts';

export interface IngestDeps {
  ec2: EC2Client;
  sfn: SFNClient;
  sqs: SQSClient;
  stateMachineArn: string;
  /** The dead-letter queue's URL, looked up when a message is first rejected. */
  deadLetterQueueUrl(): Promise<string>;
  /** The URL of the queue a record came from (its eventSourceARN): a deferred message goes back there. */
  queueUrl(queueArn: string): Promise<string>;
  /** Admission control: whether a registration may start now, or when. */
  admission: Admission;
  settings: PlannerSettings & { organizationId?: string | undefined };
  /** Reads other accounts' snapshots there (their tags; ADR 0004): without it, only the pipeline's view. */
  readSource?: SourceReader;
  log: Pick<Console, 'info' | 'warn' | 'error'>;
  count(
    metric: 'Planned' | 'Started' | 'Duplicate' | 'Skipped' | 'Rejected' | 'Deferred' | 'ReturnedEarly',
    n?: number,
  ): void;
  /** For the jitter of early returns (tests give a fixed one). */
  random?: () => number;
  now?: () => Date;
}

type Disposition = { ok: true; duplicate?: boolean } | { ok: false; error: unknown };

/** A message's plans waiting for admission, with the ticket it came back with, if any, and its rejections still to send. */
interface Admissible {
  record: SQSRecord;
  plans: Plan[];
  eventTime: string | undefined;
  ticket: Ticket | undefined;
  rejected: readonly Rejected[];
}

/** A message going back to the queue to wait: how long, and its turn. */
interface Deferral {
  record: SQSRecord;
  ticket: Ticket | undefined;
  snapshotIds: string[];
  keys?: string[];
  delaySeconds: number;
  reservation: Reservation;
}

export async function ingest(records: readonly SQSRecord[], deps: IngestDeps): Promise<SQSBatchResponse> {
  const failed = await handle(records, deps);
  await returnSoon(
    records.filter((record) => failed.includes(record.messageId)),
    deps,
  );
  return { batchItemFailures: failed.map((itemIdentifier) => ({ itemIdentifier })) };
}

/** The batch's messages handled; the IDs of those that must come back. */
async function handle(records: readonly SQSRecord[], deps: IngestDeps): Promise<string[]> {
  const failures: string[] = [];
  let pending: { record: SQSRecord; groups: SnapshotGroup[]; eventTime: string | undefined }[] = [];
  const members = new Map<string, Promise<boolean>>();

  for (const record of records) {
    const outcome = parseMessageBody(record.body, deps.settings);
    const account = outcome.outcome === 'snapshots' ? outcome.account : undefined;
    const member = await memberCheck(account, members, deps);
    if (member !== true) {
      const sent =
        member === false &&
        (await reject(record, 'untrusted', [{ message: notMember(account, deps) }], [], deps, undefined));
      if (!sent) failures.push(record.messageId);
      continue;
    }
    if (outcome.outcome === 'skipped') {
      deps.count('Skipped');
      deps.log.info({
        message: 'skipped',
        messageId: record.messageId,
        snapshotIds: outcome.snapshotIds,
        reason: outcome.reason,
      });
    } else if (outcome.outcome === 'rejected') {
      const sent = await reject(record, outcome.category, [{ message: outcome.reason }], [], deps, undefined);
      if (!sent) failures.push(record.messageId);
    } else {
      pending.push({ record, groups: outcome.groups, eventTime: outcome.eventTime });
    }
  }

  // Messages back from waiting before their turn go back at once, before any lookup: a long
  // wait (in steps of at most 15 minutes) costs no EC2 call.
  const early = await earlyReturns(pending, deps);
  failures.push(...(await defer(early, deps)));
  pending = pending.filter((item) => !early.some((deferral) => deferral.record === item.record));

  let known: Map<string, Snapshot>;
  let planning = deps.settings;
  try {
    known = await lookUp(
      pending.flatMap((item) => item.groups.flatMap((group) => group.snapshotIds)),
      deps,
    );
    planning = await withSources(known, deps);
  } catch (error) {
    deps.log.warn({ message: 'DescribeSnapshots failed; the batch will come back', error: String(error) });
    return [...failures, ...pending.map((item) => item.record.messageId)];
  }

  const admissible: Admissible[] = [];
  for (const item of pending) {
    const ticket = ticketOf(item.record);
    const report = stillToDo(planGroups(item.groups, known, planning), ticket);
    for (const skipped of report.skipped) {
      deps.count('Skipped');
      deps.log.info({
        message: 'skipped',
        messageId: item.record.messageId,
        snapshotIds: skipped.snapshotIds,
        reason: skipped.reason,
      });
    }
    if (report.plans.length > 0 && !report.returning) deps.count('Planned', report.plans.length);
    // The message's plans start together when admission control has the tokens for all of them.
    if (report.plans.length > 0)
      admissible.push({
        record: item.record,
        plans: report.plans,
        eventTime: item.eventTime,
        ticket,
        rejected: report.rejected,
      });
    else if (!(await rejectAll(item.record, report.rejected, ticket, deps)))
      failures.push(item.record.messageId);
  }
  const unsettled = await admitAndStart(admissible, deps);
  failures.push(...unsettled);
  // A message's rejections go to the dead-letter queue once its plans are settled (started, or
  // deferred with a ticket that carries only the plans): a message that must come back (admission
  // failed, a start failed, its deferral could not be sent) has sent none yet, so its return, which
  // does everything again, does not dead-letter them a second time. One whose rejection cannot
  // be sent comes back whole (a DLQ outage, rare): its started plans are then duplicates, their
  // tokens given back, and a deferred one is deferred again (its later copy a duplicate).
  for (const item of admissible)
    if (
      !unsettled.includes(item.record.messageId) &&
      !(await rejectAll(item.record, item.rejected, item.ticket, deps))
    )
      failures.push(item.record.messageId);
  return failures;
}

/** Sends each rejection of the message to the dead-letter queue; whether all got there. */
async function rejectAll(
  record: SQSRecord,
  rejected: readonly Rejected[],
  ticket: Ticket | undefined,
  deps: IngestDeps,
): Promise<boolean> {
  let ok = true;
  for (const rejection of rejected)
    if (!(await reject(record, 'rejected', rejection.errors, rejection.snapshotIds, deps, ticket)))
      ok = false;
  return ok;
}

/** The first early return's longest wait (seconds); each next return of a message waits four times longer. */
const RETURN_BASE_SECONDS = 5;
const RETURN_FACTOR = 4;
/** The queue's visibility timeout (serverless.yml): no early return waits longer than a plain one would. */
const RETURN_CAP_SECONDS = 360;

/**
 * How long (seconds) a message handed back for a transient reason stays invisible, by how often
 * it was received: exponential backoff with full jitter (5 s, 20 s, 80 s, 320 s at most, then
 * the queue's own timeout), so that a passing fault (a lost conflict, a throttled call) costs
 * seconds and not the queue's 6 minutes, while a long outage still spreads the returns out
 * before the message's fifth receive sends it to the dead-letter queue.
 */
export function returnDelaySeconds(receiveCount: number, random: () => number = Math.random): number {
  const ceiling = Math.min(
    RETURN_CAP_SECONDS,
    RETURN_BASE_SECONDS * RETURN_FACTOR ** Math.max(0, receiveCount - 1),
  );
  return Math.max(1, Math.ceil(random() * ceiling));
}

/**
 * Makes the messages that must come back visible again after a short jittered delay
 * (ChangeMessageVisibility), instead of after the queue's visibility timeout. A failure here
 * costs only time: the message still comes back, after the queue's timeout.
 */
async function returnSoon(records: readonly SQSRecord[], deps: IngestDeps): Promise<void> {
  if (records.length === 0) return;
  const delays = records.map((record) =>
    returnDelaySeconds(Number(record.attributes?.ApproximateReceiveCount ?? 1), deps.random),
  );
  for (let start = 0; start < records.length; start += 10) {
    const chunk = records.slice(start, start + 10);
    try {
      const QueueUrl = await deps.queueUrl(chunk[0]?.eventSourceARN ?? '');
      const changed = await deps.sqs.send(
        new ChangeMessageVisibilityBatchCommand({
          QueueUrl,
          Entries: chunk.map((record, index) => ({
            Id: String(index),
            ReceiptHandle: record.receiptHandle,
            VisibilityTimeout: delays[start + index],
          })),
        }),
      );
      deps.count('ReturnedEarly', chunk.length - (changed.Failed?.length ?? 0));
    } catch (error) {
      deps.log.warn({
        message: 'could not make messages visible early; they come back after the queue’s timeout',
        messageIds: chunk.map((record) => record.messageId),
        error: String(error),
      });
    }
  }
  deps.log.info({
    message: 'messages handed back to return soon',
    messageIds: records.map((record) => record.messageId),
    longestReturnSeconds: Math.max(...delays),
  });
}

const ticketOf = (record: SQSRecord) =>
  parseTicket(record.messageAttributes?.[ADMISSION_ATTRIBUTE]?.stringValue);

/**
 * What is left to do of a message that comes back from waiting: the plans its ticket names, and
 * nothing else. Its rejections are the first receipt's to send (right after the deferral, or
 * again when that receipt comes back whole) and its skips were counted then, so they are neither
 * sent nor counted again, and `Planned` counts a plan once. A message without such a ticket does it all.
 */
function stillToDo(report: ReturnType<typeof planGroups>, ticket: Ticket | undefined) {
  if (ticket?.keys === undefined) return { ...report, returning: false };
  const keys = new Set(ticket.keys);
  return {
    plans: report.plans.filter((plan) => keys.has(plan.key)),
    skipped: [],
    rejected: [],
    returning: true,
  };
}

/** The messages of the batch that came back with a ticket whose turn has not come. */
async function earlyReturns(
  items: { record: SQSRecord; groups: SnapshotGroup[] }[],
  deps: IngestDeps,
): Promise<Deferral[]> {
  const ticketed = items.flatMap(({ record, groups }) => {
    const ticket = ticketOf(record);
    const snapshotIds = groups.flatMap((group) => group.snapshotIds);
    return ticket ? [{ record, snapshotIds, ticket }] : [];
  });
  if (ticketed.length === 0) return [];
  let delays: number[];
  try {
    delays = await deps.admission.turns(ticketed.map(({ ticket }) => ticket.reservation));
  } catch (error) {
    // Admission decides again below, after the lookup.
    deps.log.warn({
      message: 'could not read admission control; deciding after the lookup',
      error: String(error),
    });
    return [];
  }
  return ticketed.flatMap((item, index) => {
    const delaySeconds = delays[index] ?? 0;
    return delaySeconds > 0 ? [{ ...item, delaySeconds, reservation: item.ticket.reservation }] : [];
  });
}

/**
 * Asks admission control about every plan of the batch at once; starts those admitted, gives
 * back the tokens of those that turn out to be duplicates, and defers the rest. Returns the
 * IDs of messages that must come back (admission or a start failed, or a deferral was not sent).
 */
async function admitAndStart(items: Admissible[], deps: IngestDeps): Promise<string[]> {
  if (items.length === 0) return [];
  let decisions: AdmissionDecision[];
  try {
    decisions = await deps.admission.admit(
      items.map((item) => ({
        demand: sumDemands(item.plans.map(demand)),
        reservation: item.ticket?.reservation,
      })),
    );
  } catch (error) {
    deps.log.warn({ message: 'admission control failed; the messages will come back', error: String(error) });
    return items.map((item) => item.record.messageId);
  }
  const failed: string[] = [];
  const deferred: Deferral[] = [];
  const duplicates: Plan[] = [];
  for (const [index, item] of items.entries()) {
    const decision = decisions[index] as AdmissionDecision;
    if (decision.delaySeconds > 0) {
      deferred.push({
        record: item.record,
        ticket: item.ticket,
        snapshotIds: item.plans.flatMap((plan) => plan.snapshotIds),
        keys: item.plans.map((plan) => plan.key),
        ...decision,
      });
      continue;
    }
    // Every plan is started; the message comes back if any of them could not be.
    let ok = true;
    for (const plan of item.plans) {
      const result = await start(plan, item.record, item.eventTime, deps);
      if (!result.ok) ok = false;
      else if (result.duplicate) duplicates.push(plan);
    }
    if (!ok) failed.push(item.record.messageId);
  }
  // A duplicate gives back what it took: its own plan's demand.
  if (duplicates.length > 0)
    await deps.admission.refund(sumDemands(duplicates.map(demand))).catch((error: unknown) => {
      deps.log.warn({ message: 'could not give back the tokens of duplicates', error: String(error) });
    });
  failed.push(...(await defer(deferred, deps)));
  return failed;
}

/**
 * Sends each deferred message back to its queue as a new message, delayed until its tokens are
 * there, with its reservation; the original is then acknowledged (it is not among the IDs
 * returned). A new message starts with no receives: waiting never brings one nearer the DLQ.
 * Returns the IDs of messages that could not be sent back: they return as they are.
 */
async function defer(deferred: Deferral[], deps: IngestDeps): Promise<string[]> {
  const failed: string[] = [];
  for (let start = 0; start < deferred.length; start += 10) {
    const chunk = deferred.slice(start, start + 10);
    const ids = chunk.map(({ record }) => record.messageId);
    try {
      const QueueUrl = await deps.queueUrl(chunk[0]?.record.eventSourceARN ?? '');
      const sent = await deps.sqs.send(
        new SendMessageBatchCommand({
          QueueUrl,
          Entries: chunk.map((deferral, index) => ({
            Id: String(index),
            MessageBody: deferral.record.body,
            DelaySeconds: deferral.delaySeconds,
            MessageAttributes: deferredAttributes(deferral),
          })),
        }),
      );
      const unsent = new Set((sent.Failed ?? []).map((entry) => Number(entry.Id)));
      for (const [index, deferral] of chunk.entries()) {
        if (unsent.has(index)) {
          failed.push(deferral.record.messageId);
          continue;
        }
        deps.count('Deferred');
        deps.log.info({
          message: 'deferred: waiting for EC2 request tokens',
          messageId: deferral.record.messageId,
          firstMessageId: deferral.ticket?.firstMessageId ?? deferral.record.messageId,
          keys: deferral.keys,
          snapshotIds: deferral.snapshotIds,
          delaySeconds: deferral.delaySeconds,
          deferrals: (deferral.ticket?.deferrals ?? 0) + 1,
        });
      }
    } catch (error) {
      deps.log.warn({
        message: 'could not defer messages; they will come back',
        messageIds: ids,
        error: String(error),
      });
      failed.push(...ids);
    }
  }
  return failed;
}

/** The message's own attributes (at most nine: SQS allows ten), and its ticket. */
function deferredAttributes(deferral: Deferral): Record<string, MessageAttributeValue> {
  const own = Object.entries(deferral.record.messageAttributes ?? {})
    .filter(([name]) => name !== ADMISSION_ATTRIBUTE)
    .slice(0, 9)
    .map(([name, value]): [string, MessageAttributeValue] => [
      name,
      {
        DataType: value.dataType,
        ...(value.stringValue !== undefined && { StringValue: value.stringValue }),
        ...(value.binaryValue !== undefined && { BinaryValue: Buffer.from(value.binaryValue, 'base64') }),
      },
    ]);
  const keys = deferral.keys ?? deferral.ticket?.keys;
  const ticket: Ticket = {
    reservation: deferral.reservation,
    deferrals: (deferral.ticket?.deferrals ?? 0) + 1,
    firstMessageId: deferral.ticket?.firstMessageId ?? deferral.record.messageId,
    ...(keys !== undefined && { keys }),
  };
  return {
    ...Object.fromEntries(own),
    [ADMISSION_ATTRIBUTE]: { DataType: 'String', StringValue: ticketText(ticket) },
  };
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

/**
 * Whether an event of another account may be planned: the pipeline's own, an allowed source
 * account's, or, with an organization, one whose reader role can be assumed (true); one whose
 * role cannot (false: a rejection); any other failure is returned (the message comes back).
 */
async function memberCheck(
  account: string | undefined,
  checked: Map<string, Promise<boolean>>,
  deps: IngestDeps,
): Promise<boolean | { error: unknown }> {
  const { settings, readSource } = deps;
  if (
    account === undefined ||
    account === settings.account ||
    settings.allowedSourceAccounts.includes(account)
  )
    return true;
  if (readSource === undefined) return false;
  let check = checked.get(account);
  if (check === undefined) {
    check = readSource(account, []).then(
      () => true,
      (error: unknown) => {
        if (isAccessDenied(error)) return false;
        throw error;
      },
    );
    checked.set(account, check);
  }
  return check.catch((error: unknown) => ({ error }));
}

function notMember(account: string | undefined, deps: IngestDeps): string {
  return `the event comes from account ${account}, which is not this pipeline's account nor an allowed source account, and whose snap2ami source reader role cannot be assumed: it is not an account of organization ${deps.settings.organizationId} with deploy/member-account.yml deployed`;
}

/**
 * Other accounts' snapshots with their tags read there, and the planner's settings with the
 * accounts read that way trusted as sources (with an organization; ADR 0004).
 */
async function withSources(known: Map<string, Snapshot>, deps: IngestDeps): Promise<IngestDeps['settings']> {
  if (deps.readSource === undefined) return deps.settings;
  const readable = await withSourceTags(known, deps.settings.account, deps.readSource);
  if (deps.settings.organizationId === undefined) return deps.settings;
  const allowed = new Set([...deps.settings.allowedSourceAccounts, ...readable]);
  return { ...deps.settings, allowedSourceAccounts: [...allowed] };
}

/**
 * Starts the plan's next attempt; an attempt that is running or succeeded already makes this a
 * duplicate. The execution's source names the message and, when the event has one, its time:
 * the image function measures the time to AMI from it.
 */
async function start(
  plan: Plan,
  record: SQSRecord,
  eventTime: string | undefined,
  deps: IngestDeps,
): Promise<Disposition> {
  const context = { messageId: record.messageId, key: plan.key, snapshotIds: plan.snapshotIds };
  try {
    const result = await startAttempt(
      deps.sfn,
      deps.stateMachineArn,
      plan,
      { messageId: record.messageId, ...(eventTime !== undefined && { eventTime }) },
      deps.now?.() ?? new Date(),
    );
    if (result.outcome === 'duplicate') {
      deps.count('Duplicate');
      deps.log.info({
        message: `duplicate: an attempt is ${result.status?.toLowerCase()}`,
        ...context,
        ...result,
      });
      return { ok: true, duplicate: true };
    }
    deps.count('Started');
    deps.log.info({ message: 'execution started', ...context, ...result });
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

/**
 * One rejection to the dead-letter queue, counted (Rejected) once it is there; whether it got
 * there. Its source is the message as it first arrived: a deferred message is sent back as a new
 * one, and its ticket names the first.
 */
async function reject(
  record: SQSRecord,
  category: string,
  errors: ContractError[],
  snapshotIds: string[],
  deps: IngestDeps,
  ticket: Ticket | undefined,
): Promise<boolean> {
  const message = deadLetterMessage({
    body: record.body,
    category,
    errors,
    snapshotIds,
    sourceMessageId: ticket?.firstMessageId ?? record.messageId,
    rejectedAt: deps.now?.() ?? new Date(),
  });
  const reason = message.MessageAttributes[DLQ_ATTRIBUTES.reason]?.StringValue;
  try {
    const QueueUrl = await deps.deadLetterQueueUrl();
    await deps.sqs.send(new SendMessageCommand({ QueueUrl, ...message }));
    deps.count('Rejected');
    deps.log.warn({
      message: 'rejected to the dead-letter queue',
      messageId: record.messageId,
      category,
      snapshotIds,
      reason,
    });
    return true;
  } catch (error) {
    deps.log.error({
      message: 'could not move a rejected message to the dead-letter queue; it will come back',
      messageId: record.messageId,
      error: String(error),
    });
    return false;
  }
}
