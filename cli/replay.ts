/**
 * `snap2ami replay`: moves messages from the dead-letter queue back to the source queue,
 * after their cause is fixed. Send, then delete: a crash between the two leaves a duplicate
 * (harmless: idempotency), never a lost message. Works on any SQS (the emulator has no
 * StartMessageMoveTask); with --move-task and no filter, real SQS moves the messages itself.
 *
 * A dead-letter queue is at-least-once: when the answer to ingest's send is lost, ingest sends
 * the rejection again, and a message of several rejected snapshots is dead-lettered once per
 * snapshot, each copy with the whole body. Replay, its dry run and its counts therefore take
 * each source message once, by its `snap2ami-source-message-id` (a message SQS dead-lettered
 * itself after 5 receives keeps its own ID): the first copy is moved (or listed), and the others
 * are deleted once it was moved (in a dry run, left as they are), never sent a second time.
 */
import {
  ChangeMessageVisibilityCommand,
  DeleteMessageCommand,
  GetQueueAttributesCommand,
  type Message,
  type MessageAttributeValue,
  ReceiveMessageCommand,
  SendMessageCommand,
  type SQSClient,
  StartMessageMoveTaskCommand,
} from '@aws-sdk/client-sqs';
import { DLQ_ATTRIBUTE_PREFIX, DLQ_ATTRIBUTES, deadLetterSource as sourceOf } from '#shared/dead-letter.ts';
import { SNAPSHOT_ID_PATTERN } from '#shared/snapshot-ref.ts';
import { CliError, queueNamedBy } from './errors.ts';

export interface ReplayOptions {
  dlqUrl: string;
  queueUrl: string;
  dryRun?: boolean;
  max?: number;
  snapshotIds?: string[];
  reason?: string;
  /** Messages per second at most. */
  rate?: number;
  moveTask?: boolean;
}

export interface ReplayedMessage {
  messageId: string;
  snapshotIds: string;
  category: string;
  reason: string;
  action: 'moved' | 'would move' | 'failed';
  error?: string;
}

export interface ReplaySummary {
  moved: number;
  wouldMove: number;
  failed: number;
  leftInDlq: number;
  /** Copies of a source message already moved (deleted) or, in a dry run, already listed (left): not counted above. */
  duplicates: number;
  messages: ReplayedMessage[];
}

const attribute = (message: Message, name: string) => message.MessageAttributes?.[name]?.StringValue ?? '';

const SNAPSHOT_ID_IN_TEXT = new RegExp(`\\b${SNAPSHOT_ID_PATTERN}\\b`, 'g');

/**
 * The snapshots a DLQ message is about: its snapshot-ids attribute, else (a message rejected
 * before any snapshot was known, or from an older version) the snapshot IDs in its body.
 */
export function snapshotIdsOf(message: Message): string[] {
  const listed = attribute(message, DLQ_ATTRIBUTES.snapshotIds);
  if (listed) return listed.split(',');
  return [...new Set((message.Body ?? '').match(SNAPSHOT_ID_IN_TEXT) ?? [])];
}

/** Whether a message is selected by the filters: every given filter must hold. */
export function selects(message: Message, options: Pick<ReplayOptions, 'snapshotIds' | 'reason'>): boolean {
  if (options.snapshotIds?.length) {
    const ids = snapshotIdsOf(message);
    if (!options.snapshotIds.some((id) => ids.includes(id))) return false;
  }
  if (options.reason) {
    const reason = attribute(message, DLQ_ATTRIBUTES.reason).toLowerCase();
    if (!reason.includes(options.reason.toLowerCase())) return false;
  }
  return true;
}

export async function replay(
  sqs: SQSClient,
  options: ReplayOptions,
  progress: (done: number, max: number | undefined) => void = () => {},
): Promise<ReplaySummary> {
  if (options.moveTask) checkMoveTask(options);
  await queueNamedBy(sqs, options.dlqUrl, '--dlq-url');
  await queueNamedBy(sqs, options.queueUrl, '--queue-url');
  if (options.moveTask) return moveTask(sqs, options);

  const summary: ReplaySummary = {
    moved: 0,
    wouldMove: 0,
    failed: 0,
    leftInDlq: 0,
    duplicates: 0,
    messages: [],
  };
  const seen = new Set<string>();
  /** Source messages moved (or, in a dry run, listed) in this run: a later copy of one is a duplicate. */
  const done = new Set<string>();
  /** Received but not moved: made visible again at the end. */
  const held: Message[] = [];
  const limit = options.max ?? Number.POSITIVE_INFINITY;
  const interval = options.rate ? 1000 / options.rate : 0;
  let selected = 0;
  try {
    while (selected < limit) {
      const fresh = (await receive(sqs, options.dlqUrl)).filter((m) => !seen.has(m.MessageId as string));
      if (fresh.length === 0) break;
      for (const message of fresh) {
        seen.add(message.MessageId as string);
        if (done.has(sourceOf(message))) {
          summary.duplicates += 1;
          if (options.dryRun) held.push(message);
          else await dropDuplicate(sqs, message, options.dlqUrl, held);
          continue;
        }
        if (selected >= limit || !selects(message, options)) {
          held.push(message);
          continue;
        }
        selected += 1;
        const entry: ReplayedMessage = {
          messageId: message.MessageId as string,
          snapshotIds: snapshotIdsOf(message).join(','),
          category: attribute(message, DLQ_ATTRIBUTES.category),
          reason: attribute(message, DLQ_ATTRIBUTES.reason),
          action: 'would move',
        };
        summary.messages.push(entry);
        if (options.dryRun) {
          summary.wouldMove += 1;
          done.add(sourceOf(message));
          held.push(message);
          continue;
        }
        try {
          await moveOne(sqs, message, options);
          entry.action = 'moved';
          summary.moved += 1;
          done.add(sourceOf(message));
        } catch (error) {
          entry.action = 'failed';
          entry.error = String((error as Error).message ?? error);
          summary.failed += 1;
          held.push(message);
        }
        progress(summary.moved, options.max);
        if (interval) await new Promise((resolve) => setTimeout(resolve, interval));
      }
    }
  } finally {
    // A copy held before its twin was moved (another snapshot of the same message, which the
    // filters did not select) went back to the queue with it: deleted too.
    if (!options.dryRun) {
      const twins = held.filter((m) => done.has(sourceOf(m)));
      held.splice(0, held.length, ...held.filter((m) => !done.has(sourceOf(m))));
      for (const twin of twins) {
        summary.duplicates += 1;
        await dropDuplicate(sqs, twin, options.dlqUrl, held);
      }
    }
    // What was looked at but not moved becomes visible again at once.
    for (const message of held) {
      await sqs
        .send(
          new ChangeMessageVisibilityCommand({
            QueueUrl: options.dlqUrl,
            ReceiptHandle: message.ReceiptHandle,
            VisibilityTimeout: 0,
          }),
        )
        .catch(() => {});
    }
  }
  summary.leftInDlq = held.length;
  return summary;
}

/**
 * One receive. A short wait (1 s) makes SQS ask all of its servers, so an empty answer means
 * the queue has nothing visible left, not that one sampled server had nothing.
 */
async function receive(sqs: SQSClient, url: string): Promise<Message[]> {
  const batch = await sqs.send(
    new ReceiveMessageCommand({
      QueueUrl: url,
      MaxNumberOfMessages: 10,
      MessageAttributeNames: ['All'],
      VisibilityTimeout: 120,
      WaitTimeSeconds: 1,
    }),
  );
  return batch.Messages ?? [];
}

/** Send, then delete. The replay count travels with the message; DLQ reasons are dropped (ingest decides anew). */
async function moveOne(sqs: SQSClient, message: Message, options: ReplayOptions): Promise<void> {
  const attributes: Record<string, MessageAttributeValue> = {};
  for (const [name, value] of Object.entries(message.MessageAttributes ?? {})) {
    if (!name.startsWith(DLQ_ATTRIBUTE_PREFIX)) attributes[name] = value;
  }
  const count = Number(attribute(message, DLQ_ATTRIBUTES.replayCount) || 0) + 1;
  attributes[DLQ_ATTRIBUTES.replayCount] = { DataType: 'Number', StringValue: String(count) };
  await sqs.send(
    new SendMessageCommand({
      QueueUrl: options.queueUrl,
      MessageBody: message.Body,
      MessageAttributes: attributes,
    }),
  );
  try {
    await sqs.send(
      new DeleteMessageCommand({ QueueUrl: options.dlqUrl, ReceiptHandle: message.ReceiptHandle }),
    );
  } catch (error) {
    throw new Error(
      `sent to the queue but not deleted from the DLQ, so it will be replayed again later (harmless): ${(error as Error).message}`,
    );
  }
}

/**
 * A copy of a source message that was just moved: deleted, not sent. When the delete fails it
 * stays in the DLQ (held, visible again at the end); a later replay would send it again, which
 * the pipeline's idempotency absorbs.
 */
async function dropDuplicate(
  sqs: SQSClient,
  message: Message,
  dlqUrl: string,
  held: Message[],
): Promise<void> {
  try {
    await sqs.send(new DeleteMessageCommand({ QueueUrl: dlqUrl, ReceiptHandle: message.ReceiptHandle }));
  } catch {
    held.push(message);
  }
}

/** StartMessageMoveTask moves every message: it cannot honour a filter, a limit or a dry run. */
function checkMoveTask(options: ReplayOptions): void {
  if (options.dryRun || options.snapshotIds?.length || options.reason || options.max !== undefined) {
    throw new CliError(
      '--move-task moves everything: it takes no --dry-run, --max, --snapshot-id or --reason',
      2,
    );
  }
}

async function moveTask(sqs: SQSClient, options: ReplayOptions): Promise<ReplaySummary> {
  const arn = async (url: string) =>
    (await sqs.send(new GetQueueAttributesCommand({ QueueUrl: url, AttributeNames: ['QueueArn'] })))
      .Attributes?.QueueArn;
  await sqs.send(
    new StartMessageMoveTaskCommand({
      SourceArn: await arn(options.dlqUrl),
      DestinationArn: await arn(options.queueUrl),
      ...(options.rate ? { MaxNumberOfMessagesPerSecond: options.rate } : {}),
    }),
  );
  return { moved: 0, wouldMove: 0, failed: 0, leftInDlq: 0, duplicates: 0, messages: [] };
}
