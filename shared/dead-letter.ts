/**
 * The dead-letter queue's messages: the rejected body, unchanged, with the reason attached as
 * message attributes that ingest writes and `snap2ami replay` and the local run read back.
 * One definition of the attribute names, and one builder that keeps every message within
 * SQS's rules, so that a rejection can never fail to reach the DLQ:
 *   - the body and every attribute's name, type and value count toward the size limit;
 *   - attribute values must not be empty, and strings may hold only the characters SQS
 *     allows in a body (#x9 #xA #xD, #x20–#xD7FF, #xE000–#xFFFD, #x10000–#x10FFFF);
 *   - at most 10 attributes.
 * Pure: no AWS SDK, no I/O.
 */

export const DLQ_ATTRIBUTES = {
  reason: 'snap2ami-reason',
  category: 'snap2ami-category',
  errors: 'snap2ami-errors',
  snapshotIds: 'snap2ami-snapshot-ids',
  sourceMessageId: 'snap2ami-source-message-id',
  rejectedAt: 'snap2ami-rejected-at',
  /** How often an operator replayed the message; travels with it back to the queue. */
  replayCount: 'snap2ami-replay-count',
} as const;

/** Every attribute snap2ami itself sets starts with this; replay drops them (ingest decides anew). */
export const DLQ_ATTRIBUTE_PREFIX = 'snap2ami-';

/**
 * The size the pipeline's queues accept (their MaximumMessageSize in serverless.yml): SQS's
 * long-standing 256 KiB, which every queue accepts whatever its age, and the most an
 * EventBridge event (the source queue's input) can be.
 */
export const SQS_MESSAGE_LIMIT_BYTES = 262_144;

/** Marks a value cut to fit. */
const ELLIPSIS = '…';

export interface StringAttribute {
  DataType: 'String';
  StringValue: string;
}

export interface Rejection {
  body: string;
  category: string;
  /** Each error's message; joined with " | " as the reason. */
  errors: readonly { message: string }[];
  snapshotIds: readonly string[];
  sourceMessageId: string;
  rejectedAt: Date;
}

export interface DeadLetterMessage {
  MessageBody: string;
  MessageAttributes: Record<string, StringAttribute>;
}

const NOT_ALLOWED = /[^\t\n\r\u0020-\uD7FF\uE000-\uFFFD\u{10000}-\u{10FFFF}]/gu;

/** The text with every character SQS refuses (lone surrogates, control characters) as U+FFFD. */
export function sqsSafe(text: string): string {
  return text.toWellFormed().replace(NOT_ALLOWED, '\uFFFD');
}

export const utf8Bytes = (text: string): number => Buffer.byteLength(text, 'utf8');

/** The longest prefix of `text` (whole code points) that fits in `bytes` UTF-8 bytes, marked when cut. */
export function cutToBytes(text: string, bytes: number): string {
  if (utf8Bytes(text) <= bytes) return text;
  const room = bytes - utf8Bytes(ELLIPSIS);
  let used = 0;
  let end = 0;
  for (const char of text) {
    const size = utf8Bytes(char);
    if (used + size > room) break;
    used += size;
    end += char.length;
  }
  return end > 0 ? `${text.slice(0, end)}${ELLIPSIS}` : '';
}

/**
 * The DLQ message for a rejection. The body is kept whole (replay sends it back as it came);
 * the attributes take what room is left, the short identifying ones first, then the reason
 * (cut on a character boundary when it must be), then the errors' JSON (whole, or left out:
 * cut JSON would not parse). SQS's own rules for the body held when it first arrived.
 */
export function deadLetterMessage(rejection: Rejection, limit = SQS_MESSAGE_LIMIT_BYTES): DeadLetterMessage {
  const attributes: Record<string, StringAttribute> = {};
  let room = limit - utf8Bytes(rejection.body);
  /** Adds the attribute if it fits (cut to fit when `cut`); returns whether it was added. */
  const add = (name: string, value: string, cut = false): boolean => {
    const overhead = utf8Bytes(name) + utf8Bytes('String');
    const safe = sqsSafe(value);
    const fitted = cut ? cutToBytes(safe, room - overhead) : safe;
    const size = overhead + utf8Bytes(fitted);
    if (fitted === '' || size > room || (!cut && fitted !== safe)) return false;
    attributes[name] = { DataType: 'String', StringValue: fitted };
    room -= size;
    return true;
  };
  const reason = rejection.errors.map((error) => error.message).join(' | ') || rejection.category;
  add(DLQ_ATTRIBUTES.category, rejection.category);
  add(DLQ_ATTRIBUTES.sourceMessageId, rejection.sourceMessageId);
  add(DLQ_ATTRIBUTES.rejectedAt, rejection.rejectedAt.toISOString());
  if (rejection.snapshotIds.length > 0)
    add(DLQ_ATTRIBUTES.snapshotIds, rejection.snapshotIds.join(','), true);
  add(DLQ_ATTRIBUTES.reason, reason, true);
  add(DLQ_ATTRIBUTES.errors, JSON.stringify(rejection.errors));
  return { MessageBody: rejection.body, MessageAttributes: attributes };
}

/** The bytes SQS counts for a message: the body, and each attribute's name, type and value. */
export function sqsMessageBytes(message: DeadLetterMessage): number {
  return Object.entries(message.MessageAttributes).reduce(
    (total, [name, value]) =>
      total + utf8Bytes(name) + utf8Bytes(value.DataType) + utf8Bytes(value.StringValue),
    utf8Bytes(message.MessageBody),
  );
}

/**
 * The source message a dead-letter message stands for. A DLQ is at-least-once: ingest sends a
 * rejection again when the answer to its send is lost, and dead-letters a message of several
 * rejected snapshots once per snapshot (each with the whole body); all carry the source's ID
 * (`snap2ami-source-message-id`). A message SQS dead-lettered itself (after its receives) keeps
 * its own ID. Replay and every count of dead letters take each source once.
 */
export function deadLetterSource(message: {
  MessageId?: string | undefined;
  MessageAttributes?: Record<string, { StringValue?: string | undefined }> | undefined;
}): string {
  return (
    message.MessageAttributes?.[DLQ_ATTRIBUTES.sourceMessageId]?.StringValue || (message.MessageId ?? '')
  );
}
