/**
 * The command line's option parsers: each checks one value and says what is accepted, so a
 * typo is a usage error before any AWS call.
 */
import { InvalidArgumentError } from 'commander';
import { isKnownRegion } from '../shared/aws/regions.ts';
import { isIdempotencyKey } from '../shared/idempotency.ts';
import { bucketOverrides, rateShare, splitAccounts, tagPrefix } from '../shared/settings.ts';
import { isSnapshotId, SNAPSHOT_ID_FORM } from '../shared/snapshot-ref.ts';

const SNAPSHOT_ID = `a snapshot ID (${SNAPSHOT_ID_FORM})`;
const KEY = 'an idempotency key (v1- and 32 hex digits)';

/** A repeatable option's parser: each value checked, then collected. */
function listOf(valid: (value: string) => boolean, what: string) {
  return (value: string, previous: string[] = []): string[] => {
    if (!valid(value)) throw new InvalidArgumentError(`${value} is not ${what}.`);
    return [...previous, value];
  };
}
export const snapshotIds = listOf(isSnapshotId, SNAPSHOT_ID);
export const keys = listOf(isIdempotencyKey, KEY);

export function snapshotIdOrKey(value: string): string {
  if (isSnapshotId(value) || isIdempotencyKey(value)) return value;
  throw new InvalidArgumentError(`expected a snapshot ID (snap-…) or ${KEY}.`);
}

export function region(value: string): string {
  if (!isKnownRegion(value))
    throw new InvalidArgumentError(
      `"${value}" is not an AWS Region the SDK knows (for example us-east-1, eu-west-2).`,
    );
  return value;
}

const ISO_8601 = /^\d{4}-\d{2}-\d{2}(T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:?\d{2})?)?$/;
const AGE = /^(\d+)(m|h|d|w)$/;
const AGE_UNITS_MS = { m: 60_000, h: 3_600_000, d: 86_400_000, w: 604_800_000 } as const;

/** An ISO 8601 date or time, or an age (`12h`: twelve hours ago), as an ISO 8601 instant in UTC. */
export function pointInTime(value: string): string {
  const now = new Date();
  const age = AGE.exec(value);
  if (age)
    return new Date(
      now.getTime() - Number(age[1]) * AGE_UNITS_MS[age[2] as keyof typeof AGE_UNITS_MS],
    ).toISOString();
  const time = ISO_8601.test(value) ? new Date(value) : undefined;
  if (!time || Number.isNaN(time.getTime()))
    throw new InvalidArgumentError(
      `"${value}" is neither an ISO 8601 date or time (2026-11-30, 2026-11-30T06:00Z) nor an age (90m, 12h, 7d, 2w).`,
    );
  return time.toISOString();
}

/** A length of time as an age (`0`, `90m`, `1h`, `2d`, `1w`), in seconds. */
export function duration(value: string): number {
  if (value === '0') return 0;
  const age = AGE.exec(value);
  if (!age)
    throw new InvalidArgumentError(
      `"${value}" is not a length of time; accepted: 0, or an age (90m, 12h, 7d, 2w).`,
    );
  return (Number(age[1]) * AGE_UNITS_MS[age[2] as keyof typeof AGE_UNITS_MS]) / 1000;
}

export function positiveNumber(value: string): number {
  const number = Number(value);
  if (!Number.isFinite(number) || number <= 0) throw new InvalidArgumentError('expected a positive number.');
  return number;
}

export function accountId(value: string): string {
  if (!/^\d{12}$/.test(value)) throw new InvalidArgumentError('expected a 12-digit AWS account ID.');
  return value;
}

const STATE_MACHINE_ARN = /^arn:aws[a-z-]*:states:[a-z]{2}(-[a-z]+)+-\d:\d{12}:stateMachine:[\w-]{1,80}$/;

/**
 * A Step Functions state machine's ARN (the stack output StateMachineArn): redrive takes the
 * pipeline's account and Region from it, so anything else is a usage error, not a rejection
 * of every snapshot as another account's.
 */
export function stateMachineArn(value: string): string {
  if (!STATE_MACHINE_ARN.test(value))
    throw new InvalidArgumentError(
      `${value} is not a state machine ARN (arn:<partition>:states:<region>:<account>:stateMachine:<name>, the stack output StateMachineArn).`,
    );
  return value;
}

/** A deployment setting's parser (shared/settings.ts) as an option's: its refusal is a usage error. */
function usage<T>(parse: (value: string) => T) {
  return (value: string): T => {
    try {
      return parse(value);
    } catch (error) {
      throw new InvalidArgumentError(`${(error as Error).message}.`);
    }
  };
}

export const accountList = usage(splitAccounts);
export const tagPrefixOption = usage(tagPrefix);
export const rateShareOption = usage(rateShare);
export const bucketOverridesOption = usage(bucketOverrides);
