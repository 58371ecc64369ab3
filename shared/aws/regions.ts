/**
 * Region names, checked against the partitions the AWS SDK ships (the same data it resolves
 * endpoints with): a typo such as `us-est-1` would otherwise go unnoticed until a call fails,
 * or, in `plan`, silently change the idempotency key.
 */
import { partition } from '@aws-sdk/core/client';

/** Whether the SDK knows `name` as a Region (a known Region has a description; a guess by pattern does not). */
export function isKnownRegion(name: string): boolean {
  return /^[a-z]{2}(-[a-z]+)+-\d+$/.test(name) && 'description' in partition(name);
}
