import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  cutToBytes,
  DLQ_ATTRIBUTES,
  deadLetterMessage,
  type Rejection,
  SQS_MESSAGE_LIMIT_BYTES,
  sqsMessageBytes,
  sqsSafe,
} from '#shared/dead-letter.ts';

/** A body at SQS's limit, cut to size in each run. */
const FULL_BODY = 'x'.repeat(SQS_MESSAGE_LIMIT_BYTES);

const rejection = (overrides: Partial<Rejection> = {}): Rejection => ({
  body: '{"source":"aws.ec2"}',
  category: 'rejected',
  errors: [{ message: 'snap2ami:architecture="amd64" is not accepted' }],
  snapshotIds: ['snap-0123456789abcdef0'],
  sourceMessageId: '059f36b4-87a3-44ab-83d2-661975830a7d',
  rejectedAt: new Date('2026-11-30T12:00:00Z'),
  ...overrides,
});

/** What SQS accepts in a string: the body's characters, no lone surrogates, not empty. */
const SQS_STRING = /^[\t\n\r\u0020-\uD7FF\uE000-\uFFFD\u{10000}-\u{10FFFF}]+$/u;

function expectWithinSqsRules(
  message: ReturnType<typeof deadLetterMessage>,
  limit = SQS_MESSAGE_LIMIT_BYTES,
) {
  expect(sqsMessageBytes(message)).toBeLessThanOrEqual(limit);
  expect(Object.keys(message.MessageAttributes).length).toBeLessThanOrEqual(10);
  for (const value of Object.values(message.MessageAttributes)) {
    expect(value.StringValue).toMatch(SQS_STRING);
    expect(value.StringValue.isWellFormed()).toBe(true);
  }
}

describe('dead-letter messages', () => {
  it('keeps the whole reason, the errors and the body when they fit', () => {
    const message = deadLetterMessage(rejection());
    expect(message.MessageBody).toBe('{"source":"aws.ec2"}');
    expect(message.MessageAttributes[DLQ_ATTRIBUTES.reason]?.StringValue).toBe(
      'snap2ami:architecture="amd64" is not accepted',
    );
    expect(JSON.parse(message.MessageAttributes[DLQ_ATTRIBUTES.errors]?.StringValue ?? '')).toEqual(
      rejection().errors,
    );
    expect(message.MessageAttributes[DLQ_ATTRIBUTES.snapshotIds]?.StringValue).toBe('snap-0123456789abcdef0');
  });

  it('keeps a long reason whole (no fixed cut) while the message fits', () => {
    const long = 'x'.repeat(10_000);
    const message = deadLetterMessage(rejection({ errors: [{ message: long }] }));
    expect(message.MessageAttributes[DLQ_ATTRIBUTES.reason]?.StringValue).toBe(long);
  });

  it('never splits a character: an emoji at the cut is left out whole', () => {
    // One ASCII character, then emoji (two UTF-16 units, four bytes each): a cut at any fixed
    // count of units (4,096 before) splits one; the room left here is not a multiple of four.
    const reason = `a${'😀'.repeat(3_000)}`;
    const body = 'b'.repeat(SQS_MESSAGE_LIMIT_BYTES - 5_003);
    const message = deadLetterMessage(rejection({ body, errors: [{ message: reason }] }));
    const kept = message.MessageAttributes[DLQ_ATTRIBUTES.reason]?.StringValue ?? '';
    expect(kept.isWellFormed()).toBe(true);
    expect(kept.endsWith('…')).toBe(true);
    expect(reason.startsWith(kept.slice(0, -1))).toBe(true);
    expectWithinSqsRules(message);
  });

  it('keeps the body whole and drops the errors JSON before cutting the body near the size limit', () => {
    const body = 'e'.repeat(SQS_MESSAGE_LIMIT_BYTES - 300);
    const message = deadLetterMessage(rejection({ body, errors: [{ message: '🙂'.repeat(500) }] }));
    expect(message.MessageBody).toBe(body);
    expect(message.MessageAttributes[DLQ_ATTRIBUTES.errors]).toBeUndefined();
    expect(message.MessageAttributes[DLQ_ATTRIBUTES.category]?.StringValue).toBe('rejected');
    expectWithinSqsRules(message);
  });

  it('replaces characters SQS refuses (lone surrogates, control characters)', () => {
    expect(sqsSafe('a\uD83Db\u0000c\u0007d\u{1F600}')).toBe('a\uFFFDb\uFFFDc\uFFFDd\u{1F600}');
    const message = deadLetterMessage(rejection({ errors: [{ message: 'tag value \uDE00\u0001' }] }));
    expectWithinSqsRules(message);
  });

  it('cuts to a byte budget on code points', () => {
    expect(cutToBytes('héllo', 100)).toBe('héllo');
    expect(cutToBytes('😀😀😀', 9)).toBe('😀…'); // 4 bytes + 3 for the ellipsis
    expect(cutToBytes('😀😀😀', 6)).toBe('');
  });

  it('property: any reason, tags and body near the limit give a message SQS accepts', () => {
    fc.assert(
      fc.property(
        fc.string({ unit: 'binary', maxLength: 3_000 }),
        fc.array(fc.string({ unit: 'grapheme', maxLength: 300 }), { maxLength: 20 }),
        fc.integer({ min: 0, max: 2_000 }),
        fc.array(fc.stringMatching(/^snap-[0-9a-f]{17}$/), { maxLength: 40 }),
        (reason, messages, slack, snapshotIds) => {
          const body = FULL_BODY.slice(0, SQS_MESSAGE_LIMIT_BYTES - slack);
          const errors = [{ message: reason }, ...messages.map((message) => ({ message }))];
          const message = deadLetterMessage(rejection({ body, errors, snapshotIds }));
          expect(message.MessageBody).toBe(body);
          expectWithinSqsRules(message);
        },
      ),
      { numRuns: 300 },
    );
    // Each run measures a body of nearly 256 KiB: seconds on a busy machine, not a hang.
  }, 30_000);
});
