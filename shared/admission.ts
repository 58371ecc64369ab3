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
 * 1, gently at first and faster once no cut came for a while (AIMD, bounded by `floor` and 1).
 * Turns are given in virtual time, so a cut postpones every outstanding turn too, not only the
 * next ones. Each throttled call also takes one call's tokens
 * from the bucket: its retry will need them.
 *
 * EC2 throttles per account and Region, each API with a bucket of its own; the workflow's
 * lifecycle steps call EC2 in the pipeline's Region and in each copy's. So a bucket is an API in
 * a Region (a BucketKey), and a registration's demand is a map from keys to calls, computed from
 * its plan (demand()). State, reservations and refunds are maps over the keys in use: a plan
 * without lifecycle uses the four keys it always did, and costs exactly what it did.
 */
import type { LaunchTest, Lifecycle } from './contract/types.ts';
import * as z from './zod.ts';

/**
 * SSM's Run Command calls of an `ssm:` launch test: not EC2's, budgeted the same way (a bucket
 * per API, account and Region), with assumed buckets (DOCUMENTED_BUCKETS).
 */
export const SSM_APIS = ['SendCommand', 'ListCommands', 'GetCommandInvocation'] as const;

/** The EC2 APIs the workflow calls, each with a request token bucket of its own (per Region), and SSM's (SSM_APIS). */
export const EC2_APIS = [
  'RegisterImage',
  'DescribeSnapshots',
  'DescribeImages',
  'CreateTags',
  'CopyImage',
  'ModifyImageAttribute',
  'EnableImageDeprecation',
  'EnableImageDeregistrationProtection',
  'DescribeImageReferences',
  'DeregisterImage',
  'RunInstances',
  'RunInstances.instances',
  'DescribeInstanceStatus',
  'DescribeInstances',
  'TerminateInstances',
  'GetConsoleOutput',
  ...SSM_APIS,
  'CopySnapshot',
  'CopySnapshot.copies',
] as const;
export type Ec2Api = (typeof EC2_APIS)[number];

/**
 * A bucket: an API in a Region. In the pipeline's own Region the API's name alone (the keys
 * admission control had before the lifecycle steps, so that an item or a ticket written then
 * still reads), in another Region `API@region` (`CopyImage@us-west-2`). Copies never go to the
 * pipeline's own Region (tag contract: `<p>copy-to`), so a copy's calls always carry `@`.
 */
export type BucketKey = string;

/** The key of `api`'s bucket in `region`, for a pipeline in `home`. */
export function bucketKey(api: Ec2Api, region: string, home: string): BucketKey {
  return region === home ? api : `${api}@${region}`;
}

const KEY_PATTERN = new RegExp(`^(${EC2_APIS.join('|')})(@[a-z]{2}(-[a-z]+)+-[0-9]+)?$`);

/** The API of a bucket key. */
export function apiOf(key: BucketKey): Ec2Api {
  return key.split('@')[0] as Ec2Api;
}

/** Whether a string is a bucket key (an item attribute or a ticket may hold anything). */
export const isBucketKey = (key: string): key is BucketKey => KEY_PATTERN.test(key);

/** Calls by bucket: what a registration (or a message of several) takes when it is admitted. */
export type Demand = Record<BucketKey, number>;

export interface Bucket {
  /** Tokens the bucket holds when full. */
  size: number;
  /** Tokens added per second. */
  refill: number;
}

/**
 * EC2's documented request token buckets (per account and Region) for those APIs: "Request
 * throttling for the Amazon EC2 API", EC2 developer guide; docs/adr/0006-emulator-fidelity.md.
 * RegisterImage, EnableImageDeprecation and EnableImageDeregistrationProtection are mutating
 * actions (a bucket each); DescribeSnapshots is filtered here (a filtered request is
 * non-mutating, 100/20), as is DescribeImageReferences; CreateTags, CopyImage,
 * ModifyImageAttribute and DeregisterImage have buckets of their own. The same in every Region.
 */
export const DOCUMENTED_BUCKETS: Readonly<Record<Ec2Api, Bucket>> = {
  RegisterImage: { size: 50, refill: 5 },
  DescribeSnapshots: { size: 100, refill: 20 },
  DescribeImages: { size: 100, refill: 20 },
  CreateTags: { size: 100, refill: 10 },
  CopyImage: { size: 100, refill: 1 },
  ModifyImageAttribute: { size: 100, refill: 5 },
  EnableImageDeprecation: { size: 50, refill: 5 },
  EnableImageDeregistrationProtection: { size: 50, refill: 5 },
  DescribeImageReferences: { size: 100, refill: 20 },
  DeregisterImage: { size: 100, refill: 5 },
  // The launch test (ADR 0012). RunInstances has a request bucket of its own and a resource
  // bucket (`RunInstances.instances`: one token per instance launched); DescribeInstanceStatus and
  // DescribeInstances are filtered (non-mutating), GetConsoleOutput non-mutating;
  // TerminateInstances has a bucket of its own.
  RunInstances: { size: 5, refill: 2 },
  'RunInstances.instances': { size: 1000, refill: 2 },
  DescribeInstanceStatus: { size: 100, refill: 20 },
  DescribeInstances: { size: 100, refill: 20 },
  TerminateInstances: { size: 100, refill: 5 },
  GetConsoleOutput: { size: 100, refill: 20 },
  // SSM's Run Command (ADR 0009, "the launch test's calls"): neither EC2's page nor SSM's
  // documentation gives these rates; assumed as EC2's mutating (SendCommand) and
  // non-mutating (the looks) buckets.
  SendCommand: { size: 50, refill: 5 },
  ListCommands: { size: 100, refill: 20 },
  GetCommandInvocation: { size: 100, refill: 20 },
  // CopySourceSnapshots (ADR 0014): CopySnapshot has no row of its own among the buckets this
  // project transcribed (local/emulator_ext/throttle.py), so it is a mutating action's (50, 5).
  // `CopySnapshot.copies` stands for the Service Quotas quota "Concurrent snapshot copies per
  // destination Region" (20 by default): a copy holds one of them until it completes, assumed
  // within 10 minutes, so 20 copies per 600 s at most. Both are assumptions: ADR 0009, addendum.
  CopySnapshot: { size: 50, refill: 5 },
  'CopySnapshot.copies': { size: 20, refill: 20 / 600 },
};

/**
 * The calls every registration makes in the pipeline's Region, by API, taken when it is admitted:
 * - RegisterImage: Register's dry run and the real one;
 * - DescribeSnapshots: Register's check before them, plus a share of ingest's own lookup (one
 *   call per batch of up to ten messages, once more when a message was deferred);
 * - DescribeImages: WaitUntilAvailable's one look after storing its task token (the wait then
 *   follows EC2's event: docs/adr/0013-ami-events.md). Register's look for an earlier image is
 *   a set's only (demand() adds it, SET_LOOKS): a first attempt of one snapshot makes none, and
 *   a later attempt's (a redrive) is the rare case, uncharged;
 * - CreateTags: TagSnapshots.
 */
export const CALLS_PER_AMI: Readonly<Partial<Record<Ec2Api, number>>> = {
  RegisterImage: 2,
  DescribeSnapshots: 1.2,
  DescribeImages: 1,
  CreateTags: 1,
};

/**
 * DescribeImages that Register makes for a set of several snapshots: one look for an earlier
 * image of the key and an AMI of its root alone (functions/image/image.ts, earlierImage).
 */
export const SET_LOOKS = 1;

/**
 * DescribeImages per copy after CopyImages' own: WaitForCopies' one look after storing its task
 * token, and TagCopies' one look (its snapshots). The wait follows the copy's EC2 event (ADR
 * 0013); a look at a heartbeat, when an event was lost, is uncharged (EC2's bucket and AIMD
 * absorb it).
 */
export const COPY_WAIT_LOOKS = 2;

/**
 * What one registration of `plan` takes, by bucket: CALLS_PER_AMI in the pipeline's Region, and
 * each lifecycle step's calls (functions/lifecycle/lifecycle.ts, docs/adr/0008) in the Region
 * it makes them in (`@region` keys for copies; `home` is implicit, see BucketKey):
 * - CopyImages: DescribeImages once (the AMI's tags) with copies or a family, CreateTags once
 *   with a family (`<p>pipeline`, retention's owner), and in each copy's Region DescribeImages
 *   (an earlier copy of the key) and CopyImage;
 * - WaitForCopies: per copy, COPY_WAIT_LOOKS DescribeImages and one CreateTags (its snapshots);
 * - ShareImages: ModifyImageAttribute on the AMI and each copy;
 * - ProtectImages: with `deprecateAfterDays` DescribeImages once (CreationDate) and
 *   EnableImageDeprecation on each; with `deregistrationProtection`
 *   EnableImageDeregistrationProtection on each;
 * - ApplyRetention, with `retain` and `family`, per Region: DescribeImages (the family),
 *   DescribeImageReferences (the candidates, up to 10 a call) and DeregisterImage once: in a
 *   family registered steadily, each registration pushes one AMI out per Region, by count or by
 *   age. The first run over a family older than its rule removes more, uncharged; so are a
 *   grace's DescribeImageAttribute, DisableImage and CreateTags (one image per run, v3);
 * - PublishParameters, with `ssmParameter`, per Region: DescribeImages once (the tags of the
 *   AMI the parameter names now, which it never replaces with an older one);
 * - CheckBilling, with a `billingCheck`: DescribeImages once (the image's PlatformDetails). Its
 *   DeregisterImage or CreateTags, when the billing is missing, is the rare case, uncharged;
 * - LaunchTest, with a `launchTest`: see below; an `ssm:` test also ListCommands (a command an
 *   earlier try sent), SendCommand once and LAUNCH_TEST_COMMAND_LOOKS GetCommandInvocation.
 */
/**
 * A launch test's looks at its instance (DescribeInstanceStatus), an estimate: status checks take
 * two to three minutes on EC2, looked at every 15 s (the LaunchTest loop's Wait), and an SSM
 * command a few looks more. A longer test looks more, uncharged (as WaitForCopies).
 */
export const LAUNCH_TEST_LOOKS = 14;

/**
 * An `ssm:` test's looks at its command (GetCommandInvocation), an estimate: a smoke test of a
 * minute, looked at every 15 s. A longer command looks more, uncharged.
 */
export const LAUNCH_TEST_COMMAND_LOOKS = 5;

/**
 * CopySourceSnapshots' looks per snapshot, an estimate: its look for copies of the key and its
 * look at the sources, then the state's retries until every copy is completed (10 s × 1.5: a
 * copy completed within 5 minutes is looked at about 8 times). Charged as DescribeSnapshots.
 */
export const COPY_SNAPSHOT_LOOKS = 10;

export function demand(plan: {
  lifecycle?: Lifecycle | undefined;
  billingCheck?: unknown;
  launchTest?: LaunchTest | undefined;
  sourceAccount?: string | undefined;
  snapshotIds?: readonly string[];
}): Demand {
  const calls: Demand = { ...(CALLS_PER_AMI as Demand) };
  // Calls in the pipeline's Region go without a Region (`home`, implicit); a copy's carry its own.
  const add = (api: Ec2Api, n: number, region?: string) => {
    const key = region === undefined ? api : bucketKey(api, region, '');
    calls[key] = (calls[key] ?? 0) + n;
  };
  if ((plan.snapshotIds?.length ?? 1) > 1) add('DescribeImages', SET_LOOKS);
  if (plan.billingCheck !== undefined) add('DescribeImages', 1);
  if (plan.sourceAccount !== undefined) {
    // CopySourceSnapshots (ADR 0014): one CopySnapshot per snapshot, each holding one of the
    // Region's concurrent copies until it completes, and its looks.
    const snapshots = Math.max(1, plan.snapshotIds?.length ?? 1);
    add('CopySnapshot', snapshots);
    add('CopySnapshot.copies', snapshots);
    add('DescribeSnapshots', COPY_SNAPSHOT_LOOKS);
  }
  if (plan.launchTest !== undefined) {
    // LaunchTest (ADR 0012): DescribeImages (the AMI's mappings), RunInstances (one instance),
    // the looks, then DescribeInstances and TerminateInstances, CreateTags on the AMI;
    // GetConsoleOutput for a failed test (charged: the budget is large).
    add('DescribeImages', 1);
    add('RunInstances', 1);
    add('RunInstances.instances', 1);
    add('DescribeInstanceStatus', LAUNCH_TEST_LOOKS);
    add('DescribeInstances', 1);
    add('TerminateInstances', 1);
    add('CreateTags', 1);
    add('GetConsoleOutput', 1);
    if (plan.launchTest.mode === 'ssm') {
      add('ListCommands', 1);
      add('SendCommand', 1);
      add('GetCommandInvocation', LAUNCH_TEST_COMMAND_LOOKS);
    }
  }
  const lifecycle = plan.lifecycle;
  if (!lifecycle) return calls;
  const copies = (lifecycle.copyTo ?? []).map((copy) => copy.region);
  const everyRegion = [undefined, ...copies];
  if (copies.length > 0 || lifecycle.family !== undefined) add('DescribeImages', 1);
  if (lifecycle.family !== undefined) add('CreateTags', 1);
  for (const region of copies) {
    add('CopyImage', 1, region);
    // CopyImages' look for an earlier copy of the key, then WaitForCopies' looks.
    add('DescribeImages', 1 + COPY_WAIT_LOOKS, region);
    add('CreateTags', 1, region);
  }
  const { shareWith, deprecateAfterDays, deregistrationProtection, retain, family } = lifecycle;
  const sharing = Object.values(shareWith ?? {}).some((list) => list.length > 0);
  if (deprecateAfterDays !== undefined) add('DescribeImages', 1);
  for (const region of everyRegion) {
    if (sharing) add('ModifyImageAttribute', 1, region);
    if (deprecateAfterDays !== undefined) add('EnableImageDeprecation', 1, region);
    if (deregistrationProtection !== undefined) add('EnableImageDeregistrationProtection', 1, region);
    if (lifecycle.ssmParameter !== undefined) add('DescribeImages', 1, region);
    if (retain !== undefined && family !== undefined)
      for (const api of ['DescribeImages', 'DescribeImageReferences', 'DeregisterImage'] as const)
        add(api, 1, region);
  }
  return calls;
}

/** The demands of several registrations together (a message of several plans). */
export function sumDemands(demands: readonly Demand[]): Demand {
  const total: Demand = {};
  for (const one of demands) for (const [key, n] of Object.entries(one)) total[key] = (total[key] ?? 0) + n;
  return total;
}

/** The pipeline's share of every documented bucket, unless the deployment sets another (ec2RateShare). */
export const DEFAULT_RATE_SHARE = 0.5;

/**
 * Additive increase, multiplicative decrease of the clock's rate `f`:
 * - a throttled call cuts `f` to `decrease` × `f` (not below `floor`), at most once per
 *   `cooldownMs` per API: the calls already under way when EC2 throttled one meet the same
 *   empty bucket, and are one signal, not many;
 * - `f` then grows by `recoveryPerSecond` each second, gently, while another client is likely
 *   still there (throttling again soon would cut it again); after `probeAfterMs` without a cut
 *   the other client has likely left, and `f` grows by `probePerSecond` each second, back to 1
 *   (the configured budget) within a minute or so rather than the 8 minutes the gentle slope
 *   alone took from the floor (issue 21: a competitor that takes 0.9 of EC2's refill for two
 *   minutes of a burst, then leaves).
 */
export const AIMD = {
  decrease: 0.7,
  floor: 0.05,
  recoveryPerSecond: 0.002,
  probeAfterMs: 30_000,
  probePerSecond: 0.02,
  cooldownMs: 5_000,
} as const;

/** A reservation counts as due this long (virtual ms) before its time: clocks of two Lambdas differ a little. */
export const DUE_TOLERANCE_MS = 250;

/**
 * The buckets the pipeline may use: `share` of each documented (or overridden, for an account
 * whose limits AWS raised) bucket's size and refill.
 */
export function budgetBuckets(share: number, overrides: Partial<Record<Ec2Api, Bucket>> = {}): Budget {
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

/** A stretch of the clock's rate: from `from` ms after t0, `f` growing by `slope` per ms (0: steady). */
interface Stretch {
  from: number;
  f: number;
  slope: number;
}

/**
 * The clock's rate after t0, as stretches: the gentle recovery until `probeAfterMs`, then the
 * faster one, each only until `f` reaches 1, then steady at 1 for ever.
 */
function stretches(clock: Clock): Stretch[] {
  const out: Stretch[] = [];
  let from = 0;
  let f = Math.min(1, clock.f0);
  for (const [perSecond, until] of [
    [AIMD.recoveryPerSecond, AIMD.probeAfterMs],
    [AIMD.probePerSecond, Number.POSITIVE_INFINITY],
  ] as const) {
    if (f >= 1) break;
    const slope = perSecond / 1000;
    const length = Math.min(until - from, (1 - f) / slope);
    out.push({ from, f, slope });
    from += length;
    f = Math.min(1, f + slope * length);
  }
  out.push({ from, f: 1, slope: 0 });
  return out;
}

/** Where stretch `i` ends (ms after t0). */
const endOf = (all: readonly Stretch[], i: number) => all[i + 1]?.from ?? Number.POSITIVE_INFINITY;

/** The clock's rate at real time `t`. */
export function rateAt(clock: Clock, t: number): number {
  const d = Math.max(0, t - clock.t0);
  const all = stretches(clock);
  const i = all.findIndex((_, index) => d < endOf(all, index));
  const { from, f, slope } = all[i] as Stretch;
  return Math.min(1, f + slope * (d - from));
}

/** Virtual time at real time `t` (before t0, a clock of another Lambda a little behind: v0). */
export function virtualAt(clock: Clock, t: number): number {
  const d = Math.max(0, t - clock.t0);
  const all = stretches(clock);
  let v = clock.v0;
  for (const [i, { from, f, slope }] of all.entries()) {
    const length = Math.min(d, endOf(all, i)) - from;
    if (length <= 0) break;
    v += f * length + (slope * length * length) / 2;
  }
  return v;
}

/** The real time at which the clock reads `v` (t0 for any time it read before). */
export function realTimeOf(clock: Clock, v: number): number {
  if (v <= clock.v0) return clock.t0;
  const all = stretches(clock);
  let left = v - clock.v0;
  for (const [i, { from, f, slope }] of all.entries()) {
    const length = endOf(all, i) - from;
    const gained = slope === 0 ? f * length : f * length + (slope * length * length) / 2;
    if (left <= gained) {
      // slope·x²/2 + f·x − left = 0
      const x = slope === 0 ? left / f : (-f + Math.sqrt(f * f + 2 * slope * left)) / slope;
      return clock.t0 + from + x;
    }
    left -= gained;
  }
  return Number.POSITIVE_INFINITY;
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
 * One bucket's share of the admission state, in virtual ms on its clock: `tat`, the bucket calls
 * start from (never in debt: absent, it is full); `due`, the schedule that spaces deferred
 * messages (it runs into debt: every registration asked for is in it, admitted or waiting).
 */
export interface ApiState {
  tat?: number;
  due?: number;
  clock: Clock;
}
/** By bucket key; a key absent is a full bucket with a steady clock (no registration used it yet). */
export type AdmissionState = Record<BucketKey, ApiState>;

export function emptyState(): AdmissionState {
  return {};
}

/** A bucket's state, full and steady when it has none. */
export const stateOf = (state: AdmissionState, key: BucketKey): ApiState =>
  state[key] ?? { clock: STEADY_CLOCK };

/** When (virtual ms, on each bucket's clock) a waiting registration's turn comes in the schedule: the keys it asked for. */
export type Reservation = Record<BucketKey, number>;

/** The budget's buckets, by API: the same in every Region. */
export type Budget = Readonly<Record<Ec2Api, Bucket>>;

/** Virtual milliseconds per token, and the bucket's burst in virtual milliseconds. */
function cell(buckets: Budget, key: BucketKey) {
  const bucket = buckets[apiOf(key)];
  const interval = 1000 / bucket.refill;
  return { interval, burst: bucket.size * interval };
}

/** A registration (or a message of several) asking to start: fresh, or back from the queue with its turn in the schedule. */
export interface Request {
  demand: Demand;
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
 * A registration starts when every bucket of its demand holds its calls now. The bucket is never
 * overdrawn, so calls start at most at the budget's rate, whatever the order in which messages
 * come back; and it is work-conserving: whichever message asks while there are tokens gets
 * them. A request that finds a bucket empty takes the next turn in the schedule (after what
 * the bucket has committed and after every request already waiting, at the bucket's rate) and
 * waits until then: a burst comes back spread over the time the budget needs, each message
 * deferred about once. One that comes back before its turn (admission's clock was cut since,
 * or its wait was longer than SQS's longest delay) keeps its turn and waits again.
 */
export function decide(
  state: AdmissionState,
  buckets: Budget,
  requests: readonly Request[],
  now: number,
): { state: AdmissionState; decisions: Decision[]; changed: boolean } {
  let current = state;
  let changed = false;
  const decisions = requests.map((request): Decision => {
    if (bucketWait(current, buckets, request.demand, now) === 0) {
      current = fromBucket(current, buckets, request.demand, now);
      changed = true;
      return {
        start: true,
        waitMs: 0,
        reservation: request.reservation ?? nowReservation(current, request.demand, now),
      };
    }
    if (request.reservation) {
      const turnMs = waitFor(current, request.reservation, now);
      if (turnMs > 0) return { start: false, waitMs: turnMs, reservation: request.reservation };
    }
    const scheduled = schedule(current, buckets, request.demand, now);
    current = scheduled.state;
    changed = true;
    return { start: false, waitMs: scheduled.waitMs, reservation: scheduled.reservation };
  });
  return { state: current, decisions, changed };
}

/** Each bucket's virtual time now: the turn of a request that needs none. */
function nowReservation(state: AdmissionState, demand: Demand, now: number): Reservation {
  return Object.fromEntries(
    Object.keys(demand).map((key) => [key, virtualAt(stateOf(state, key).clock, now)]),
  );
}

/**
 * A turn in the schedule, after what the bucket has committed (`tat`) and after every request
 * already waiting (`due`); the turn is when the bucket will hold the request's calls.
 */
function schedule(
  state: AdmissionState,
  buckets: Budget,
  demand: Demand,
  now: number,
): { state: AdmissionState; reservation: Reservation; waitMs: number } {
  const next = { ...state };
  const reservation: Reservation = {};
  let waitMs = 0;
  for (const [key, calls] of Object.entries(demand)) {
    const { interval, burst } = cell(buckets, key);
    const current = stateOf(state, key);
    const v = virtualAt(current.clock, now);
    const after = Math.max(current.due ?? v, current.tat ?? v, v) + calls * interval;
    const turn = after - burst;
    next[key] = { ...current, due: after };
    reservation[key] = turn;
    if (turn > v) waitMs = Math.max(waitMs, realTimeOf(current.clock, turn) - now);
  }
  return { state: next, reservation, waitMs };
}

/**
 * How long (real ms) until every bucket of the demand holds its calls (or is full, for more
 * than it holds): 0 when it does now.
 */
function bucketWait(state: AdmissionState, buckets: Budget, demand: Demand, now: number): number {
  let waitMs = 0;
  for (const [key, calls] of Object.entries(demand)) {
    const { interval, burst } = cell(buckets, key);
    const { tat, clock } = stateOf(state, key);
    const v = virtualAt(clock, now);
    // A request larger than the bucket (a message of many plans) starts once the bucket is full.
    const need = Math.min(calls * interval, burst);
    const ready = Math.max(tat ?? v, v) + need - burst;
    if (ready > v) waitMs = Math.max(waitMs, realTimeOf(clock, ready) - now);
  }
  return waitMs;
}

/** The state after the demand's calls are taken from each of its buckets. */
function fromBucket(state: AdmissionState, buckets: Budget, demand: Demand, now: number): AdmissionState {
  const next = { ...state };
  for (const [key, calls] of Object.entries(demand)) {
    const { interval } = cell(buckets, key);
    const current = stateOf(state, key);
    const v = virtualAt(current.clock, now);
    next[key] = { ...current, tat: Math.max(current.tat ?? v, v) + calls * interval };
  }
  return next;
}

/** How long (real ms) until a reservation's turn has come on each of its buckets' clocks: 0 when it has. */
export function waitFor(state: AdmissionState, reservation: Reservation, now: number): number {
  let waitMs = 0;
  for (const [key, turn] of Object.entries(reservation)) {
    const { clock } = stateOf(state, key);
    const ready = turn - DUE_TOLERANCE_MS;
    if (ready > virtualAt(clock, now)) waitMs = Math.max(waitMs, realTimeOf(clock, ready) - now);
  }
  return waitMs;
}

/** What giving back a demand's tokens takes off each of its buckets' `tat` (virtual ms). */
export function refundAmounts(buckets: Budget, demand: Demand): Record<BucketKey, number> {
  return Object.fromEntries(
    Object.entries(demand).map(([key, calls]) => [key, calls * cell(buckets, key).interval]),
  );
}

/**
 * What a throttled call takes from its bucket (virtual ms): one call's tokens. Its retry
 * will need a token that admission did not count on; the bucket pays for it, so that what
 * admission lets start next leaves room for the retries of what it let start before.
 */
export function throttledCallCharge(buckets: Budget, key: BucketKey): number {
  return cell(buckets, key).interval;
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
  /**
   * The idempotency keys of the message's plans still to start. What its first receipt decided
   * otherwise (a rejection sent to the dead-letter queue, a skip) stands: a message that comes
   * back carries only what is still to do. Absent in a ticket written before it: all is done again.
   */
  keys?: string[] | undefined;
}

const TicketSchema = z.object({
  // The buckets it reserved a turn in (a ticket written before the lifecycle's keys has the four
  // base APIs, which are still keys).
  reservation: z
    .record(z.string().check(z.refine(isBucketKey)), z.number())
    .check(z.refine((reservation) => Object.keys(reservation).length > 0)),
  deferrals: z.number().check(z.int(), z.nonnegative()),
  firstMessageId: z.string().check(z.maxLength(200)),
  keys: z.optional(z.array(z.string().check(z.maxLength(200)))),
});

/** The ticket a message carries; undefined when it carries none, or one that does not parse (it is then admitted anew). */
export function parseTicket(text: string | undefined): Ticket | undefined {
  return z.parseJson(TicketSchema, text);
}

export function ticketText(ticket: Ticket): string {
  return JSON.stringify(ticket);
}
