/**
 * Admission control's arithmetic (docs/adr/0009-admission-control.md): how many EC2 calls one
 * AMI's registration makes, the budget a deployment grants the pipeline (a share of EC2's
 * documented request token buckets), and the token buckets that ingest takes from before it
 * starts a registration. Pure: the DynamoDB item that holds the state is shared/aws/admission.ts.
 *
 * Each API has a GCRA (generic cell rate algorithm) token bucket that registrations start from
 * (`tat`, never overdrawn), and a schedule (`due`, into debt) that gives a message that cannot
 * start now its turn, so that a burst comes back spread over the time the budget needs rather
 * than all at once (decide() says how they combine). Ingest starts
 * a registration when its calls are in the bucket now, and otherwise sends the message back to
 * the queue with a delay until its turn. One write per batch.
 *
 * Time runs on a virtual clock per API that advances at `f` (0 < f ≤ 1) virtual milliseconds
 * per real one: the budget's refill rate is `f` × the configured rate. When EC2 throttles a
 * call anyway (another client of the account took more than its share), the image function
 * reports it and `f` is cut multiplicatively; `f` then recovers additively over time back to
 * 1 (AIMD, bounded by `floor` and 1). Turns are given in virtual time, so a cut postpones every
 * outstanding turn too, not only the next ones. Each throttled call also takes one call's tokens
 * from the bucket: its retry will need them.
 */
import { z } from 'zod';

/** The EC2 APIs the workflow calls, each with a request token bucket of its own. */
export const EC2_APIS = ['RegisterImage', 'DescribeSnapshots', 'DescribeImages', 'CreateTags'] as const;
export type Ec2Api = (typeof EC2_APIS)[number];

export interface Bucket {
  /** Tokens the bucket holds when full. */
  size: number;
  /** Tokens added per second. */
  refill: number;
}

/**
 * EC2's documented request token buckets (per account and Region) for those APIs: "Request
 * throttling for the Amazon EC2 API", EC2 developer guide; docs/adr/0006-emulator-fidelity.md.
 * RegisterImage is a mutating action; DescribeSnapshots is filtered here (a filtered request
 * is non-mutating, 100/20); CreateTags has a bucket of its own.
 */
export const DOCUMENTED_BUCKETS: Readonly<Record<Ec2Api, Bucket>> = {
  RegisterImage: { size: 50, refill: 5 },
  DescribeSnapshots: { size: 100, refill: 20 },
  DescribeImages: { size: 100, refill: 20 },
  CreateTags: { size: 100, refill: 10 },
};

/**
 * The calls one registration makes, by API, taken when it is admitted:
 * - RegisterImage: the dry run and the real one;
 * - DescribeSnapshots: the check before each RegisterImage, plus a share of ingest's own
 *   lookup (one call per batch of up to ten messages, once more when a message was deferred);
 * - DescribeImages: WaitUntilAvailable's first look and one poll;
 * - CreateTags: TagSnapshots.
 */
export const CALLS_PER_AMI: Readonly<Record<Ec2Api, number>> = {
  RegisterImage: 2,
  DescribeSnapshots: 2.2,
  DescribeImages: 2,
  CreateTags: 1,
};

/** The pipeline's share of every documented bucket, unless the deployment sets another (ec2RateShare). */
export const DEFAULT_RATE_SHARE = 0.5;

/**
 * Additive increase, multiplicative decrease of the clock's rate `f`:
 * - a throttled call cuts `f` to `decrease` × `f` (not below `floor`), at most once per
 *   `cooldownMs` per API: the calls already under way when EC2 throttled one meet the same
 *   empty bucket, and are one signal, not many;
 * - `f` then grows by `recoveryPerSecond` each second, back to 1 (the configured budget).
 */
export const AIMD = { decrease: 0.7, floor: 0.05, recoveryPerSecond: 0.002, cooldownMs: 5_000 } as const;

/** A reservation counts as due this long (virtual ms) before its time: clocks of two Lambdas differ a little. */
export const DUE_TOLERANCE_MS = 250;

/**
 * The buckets the pipeline may use: `share` of each documented (or overridden, for an account
 * whose limits AWS raised) bucket's size and refill.
 */
export function budgetBuckets(
  share: number,
  overrides: Partial<Record<Ec2Api, Bucket>> = {},
): Record<Ec2Api, Bucket> {
  const out = {} as Record<Ec2Api, Bucket>;
  for (const api of EC2_APIS) {
    const base = overrides[api] ?? DOCUMENTED_BUCKETS[api];
    out[api] = { size: base.size * share, refill: base.refill * share };
  }
  return out;
}

/**
 * A virtual clock: V(t) = v0 + ∫ f from t0 to t, with f(t) = min(1, f0 + k·(t − t0)).
 * Milliseconds throughout; `cut` is when `f` was last cut.
 */
export interface Clock {
  v0: number;
  t0: number;
  f0: number;
  cut: number;
}

/** A clock that was never cut: virtual time is real time. */
export const STEADY_CLOCK: Clock = { v0: 0, t0: 0, f0: 1, cut: 0 };

const K = AIMD.recoveryPerSecond / 1000;

/** How long (ms after t0) `f` takes to grow back to 1. */
const recoveryMs = (clock: Clock) => (clock.f0 >= 1 ? 0 : (1 - clock.f0) / K);

/** The clock's rate at real time `t`. */
export function rateAt(clock: Clock, t: number): number {
  return Math.min(1, clock.f0 + K * Math.max(0, t - clock.t0));
}

/** Virtual time at real time `t` (before t0, a clock of another Lambda a little behind: v0). */
export function virtualAt(clock: Clock, t: number): number {
  const d = Math.max(0, t - clock.t0);
  const d1 = recoveryMs(clock);
  if (d <= d1) return clock.v0 + clock.f0 * d + (K * d * d) / 2;
  return clock.v0 + clock.f0 * d1 + (K * d1 * d1) / 2 + (d - d1);
}

/** The real time at which the clock reads `v` (t0 for any time it read before). */
export function realTimeOf(clock: Clock, v: number): number {
  if (v <= clock.v0) return clock.t0;
  const d1 = recoveryMs(clock);
  const v1 = clock.v0 + clock.f0 * d1 + (K * d1 * d1) / 2;
  if (v >= v1) return clock.t0 + d1 + (v - v1);
  // K·d²/2 + f0·d − (v − v0) = 0
  const d = (-clock.f0 + Math.sqrt(clock.f0 * clock.f0 + 2 * K * (v - clock.v0))) / K;
  return clock.t0 + d;
}

/** The clock after a throttled call at real time `t`; undefined within the cooldown of the last cut. */
export function cutClock(clock: Clock, t: number): Clock | undefined {
  if (clock.cut > 0 && t - clock.cut < AIMD.cooldownMs) return undefined;
  return {
    v0: virtualAt(clock, t),
    t0: t,
    f0: Math.max(AIMD.floor, rateAt(clock, t) * AIMD.decrease),
    cut: t,
  };
}

/**
 * One API's share of the admission state, in virtual ms on its clock: `tat`, the bucket calls
 * start from (never in debt: absent, it is full); `due`, the schedule that spaces deferred
 * messages (it runs into debt: every registration asked for is in it, admitted or waiting).
 */
export interface ApiState {
  tat?: number;
  due?: number;
  clock: Clock;
}
export type AdmissionState = Record<Ec2Api, ApiState>;

export function emptyState(): AdmissionState {
  return Object.fromEntries(EC2_APIS.map((api) => [api, { clock: STEADY_CLOCK }])) as AdmissionState;
}

/** When (virtual ms, on each API's clock) a waiting registration's turn comes in the schedule. */
export type Reservation = Record<Ec2Api, number>;

/** Virtual milliseconds per token, and the bucket's burst in virtual milliseconds. */
function cell(bucket: Bucket) {
  const interval = 1000 / bucket.refill;
  return { interval, burst: bucket.size * interval };
}

/** A registration asking to start: fresh, or back from the queue with its turn in the schedule. */
export interface Request {
  amis: number;
  reservation?: Reservation | undefined;
}

/** Start now, or wait `waitMs` (real ms) and ask again with `reservation`. */
export interface Decision {
  start: boolean;
  waitMs: number;
  reservation: Reservation;
}

/**
 * Decides a batch of requests at real time `now`, in order; returns the new state (unchanged
 * when nothing was taken or scheduled) and one decision per request.
 *
 * A registration starts when every API's bucket holds its calls now. The bucket is never
 * overdrawn, so calls start at most at the budget's rate, whatever the order in which messages
 * come back; and it is work-conserving: whichever message asks while there are tokens gets
 * them. A request that finds the bucket empty takes the next turn in the schedule (after what
 * the bucket has committed and after every request already waiting, at the bucket's rate) and
 * waits until then: a burst comes back spread over the time the budget needs, each message
 * deferred about once. One that comes back before its turn (admission's clock was cut since,
 * or its wait was longer than SQS's longest delay) keeps its turn and waits again.
 */
export function decide(
  state: AdmissionState,
  buckets: Record<Ec2Api, Bucket>,
  requests: readonly Request[],
  now: number,
): { state: AdmissionState; decisions: Decision[]; changed: boolean } {
  let current = state;
  let changed = false;
  const decisions = requests.map((request): Decision => {
    if (bucketWait(current, buckets, request.amis, now) === 0) {
      current = fromBucket(current, buckets, request.amis, now);
      changed = true;
      return { start: true, waitMs: 0, reservation: request.reservation ?? nowReservation(current, now) };
    }
    if (request.reservation) {
      const turnMs = waitFor(current, request.reservation, now);
      if (turnMs > 0) return { start: false, waitMs: turnMs, reservation: request.reservation };
    }
    const scheduled = schedule(current, buckets, request.amis, now);
    current = scheduled.state;
    changed = true;
    return { start: false, waitMs: scheduled.waitMs, reservation: scheduled.reservation };
  });
  return { state: current, decisions, changed };
}

/** Every API's virtual time now: the turn of a request that needs none. */
function nowReservation(state: AdmissionState, now: number): Reservation {
  return Object.fromEntries(EC2_APIS.map((api) => [api, virtualAt(state[api].clock, now)])) as Reservation;
}

/**
 * A turn in the schedule, after what the bucket has committed (`tat`) and after every request
 * already waiting (`due`); the turn is when the bucket will hold the request's calls.
 */
function schedule(
  state: AdmissionState,
  buckets: Record<Ec2Api, Bucket>,
  amis: number,
  now: number,
): { state: AdmissionState; reservation: Reservation; waitMs: number } {
  const next = { ...state };
  const reservation = {} as Reservation;
  let waitMs = 0;
  for (const api of EC2_APIS) {
    const { interval, burst } = cell(buckets[api]);
    const { tat, due, clock } = state[api];
    const v = virtualAt(clock, now);
    const after = Math.max(due ?? v, tat ?? v, v) + amis * CALLS_PER_AMI[api] * interval;
    const turn = after - burst;
    next[api] = { ...state[api], due: after };
    reservation[api] = turn;
    if (turn > v) waitMs = Math.max(waitMs, realTimeOf(clock, turn) - now);
  }
  return { state: next, reservation, waitMs };
}

/**
 * How long (real ms) until every API's bucket holds the calls of `amis` registrations (or is
 * full, for more than it holds): 0 when it does now.
 */
function bucketWait(
  state: AdmissionState,
  buckets: Record<Ec2Api, Bucket>,
  amis: number,
  now: number,
): number {
  let waitMs = 0;
  for (const api of EC2_APIS) {
    const { interval, burst } = cell(buckets[api]);
    const { tat, clock } = state[api];
    const v = virtualAt(clock, now);
    // A request larger than the bucket (a message of many plans) starts once the bucket is full.
    const need = Math.min(amis * CALLS_PER_AMI[api] * interval, burst);
    const ready = Math.max(tat ?? v, v) + need - burst;
    if (ready > v) waitMs = Math.max(waitMs, realTimeOf(clock, ready) - now);
  }
  return waitMs;
}

/** The state after the calls of `amis` registrations are taken from every API's bucket. */
function fromBucket(
  state: AdmissionState,
  buckets: Record<Ec2Api, Bucket>,
  amis: number,
  now: number,
): AdmissionState {
  const next = { ...state };
  for (const api of EC2_APIS) {
    const { interval } = cell(buckets[api]);
    const { tat, clock } = state[api];
    const v = virtualAt(clock, now);
    next[api] = { ...state[api], tat: Math.max(tat ?? v, v) + amis * CALLS_PER_AMI[api] * interval };
  }
  return next;
}

/** How long (real ms) until a reservation's turn has come on every API's clock: 0 when it has. */
export function waitFor(state: AdmissionState, reservation: Reservation, now: number): number {
  let waitMs = 0;
  for (const api of EC2_APIS) {
    const { clock } = state[api];
    const ready = reservation[api] - DUE_TOLERANCE_MS;
    if (ready > virtualAt(clock, now)) waitMs = Math.max(waitMs, realTimeOf(clock, ready) - now);
  }
  return waitMs;
}

/** What giving back the tokens of `amis` registrations takes off each bucket's `tat` (virtual ms). */
export function refundAmounts(buckets: Record<Ec2Api, Bucket>, amis: number): Record<Ec2Api, number> {
  return Object.fromEntries(
    EC2_APIS.map((api) => [api, amis * CALLS_PER_AMI[api] * cell(buckets[api]).interval]),
  ) as Record<Ec2Api, number>;
}

/**
 * What a throttled call takes from its API's bucket (virtual ms): one call's tokens. Its retry
 * will need a token that admission did not count on; the bucket pays for it, so that what
 * admission lets start next leaves room for the retries of what it let start before.
 */
export function throttledCallCharge(buckets: Record<Ec2Api, Bucket>, api: Ec2Api): number {
  return cell(buckets[api]).interval;
}

/** The API a throttled SDK command belongs to, when it is one admission control budgets. */
export function budgetedApi(commandName: string): Ec2Api | undefined {
  const api = commandName.replace(/Command$/, '');
  return (EC2_APIS as readonly string[]).includes(api) ? (api as Ec2Api) : undefined;
}

/** SQS's longest message delay, in seconds. */
export const MAX_DELAY_SECONDS = 900;

/** A wait (real ms, at time scale `timeScale`) as SQS DelaySeconds: whole seconds, rounded up, at most 900. */
export function delaySeconds(waitMs: number, timeScale = 1): number {
  return Math.min(MAX_DELAY_SECONDS, Math.max(0, Math.ceil(waitMs / timeScale / 1000)));
}

/**
 * The message attribute a deferred message carries back to the queue: its reservation, so that
 * it is not charged twice. Named with the prefix of every attribute snap2ami sets (replay drops
 * them, so a replayed message is admitted anew).
 */
export const ADMISSION_ATTRIBUTE = 'snap2ami-admission';

export interface Ticket {
  reservation: Reservation;
  /** How often the message was sent back to wait. */
  deferrals: number;
  /** The ID of the message as it first arrived, for the logs. */
  firstMessageId: string;
}

const TicketSchema = z.object({
  reservation: z.object(
    Object.fromEntries(EC2_APIS.map((api) => [api, z.number()])) as Record<Ec2Api, z.ZodNumber>,
  ),
  deferrals: z.number().int().nonnegative(),
  firstMessageId: z.string().max(200),
});

/** The ticket a message carries; undefined when it carries none, or one that does not parse (it is then admitted anew). */
export function parseTicket(text: string | undefined): Ticket | undefined {
  if (text === undefined) return undefined;
  try {
    const parsed = TicketSchema.safeParse(JSON.parse(text));
    return parsed.success ? parsed.data : undefined;
  } catch {
    return undefined;
  }
}

export function ticketText(ticket: Ticket): string {
  return JSON.stringify(ticket);
}
