/**
 * The idempotency key: one key per set of snapshots in one account and Region, so the
 * pipeline registers at most one AMI per key however often, and in whatever order, events
 * for those snapshots arrive. It depends on nothing else (not tags, not time, not order).
 */
import { createHash } from 'node:crypto';

export const KEY_VERSION = 'v1';
/** Hex digits of the digest in a key: 128 bits. */
const KEY_HEX_DIGITS = 32;

export function idempotencyKey(account: string, region: string, snapshotIds: Iterable<string>): string {
  const ids = [...new Set(snapshotIds)].sort();
  const digest = createHash('sha256')
    .update([KEY_VERSION, account, region, ...ids].join('\n'))
    .digest('hex');
  // 128 bits of the digest: collision-free in practice, and short enough to serve as a
  // Step Functions execution name (at most 80 characters of [A-Za-z0-9-_]).
  return `${KEY_VERSION}-${digest.slice(0, KEY_HEX_DIGITS)}`;
}

const KEY = new RegExp(`^${KEY_VERSION}-[0-9a-f]{${KEY_HEX_DIGITS}}$`);

/** Whether `text` has the shape of an idempotency key. */
export function isIdempotencyKey(text: string): boolean {
  return KEY.test(text);
}
