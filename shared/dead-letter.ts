/**
 * The dead-letter queue's message attributes: what ingest attaches when it rejects a message,
 * and what `snap2ami replay` and the local run read back. One definition for all of them.
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
