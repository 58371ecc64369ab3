/**
 * Admission control's state in DynamoDB (docs/adr/0009-admission-control.md): one item in the
 * admission table holds every bucket's (an EC2 API in a Region: shared/admission.ts BucketKey)
 * token bucket and AIMD clock (shared/admission.ts does the arithmetic), as attributes
 * one `buckets` map of the live buckets' times and `clock_<key>` for the clocks ever cut (see
 * BUCKETS below). Ingest reads it and writes it back conditionally on its version,
 * once per batch; the image and lifecycle functions cut a bucket's clock when EC2 throttled a
 * call anyway. Every Lambda container, execution and batch shares the one item, so the budget
 * holds for the whole pipeline, not per container.
 */
import {
  type AttributeValue,
  type DynamoDBClient,
  GetItemCommand,
  UpdateItemCommand,
} from '@aws-sdk/client-dynamodb';
import type { EC2Client } from '@aws-sdk/client-ec2';
import {
  type AdmissionState,
  type Bucket,
  type BucketKey,
  type Budget,
  budgetBuckets,
  budgetedApi,
  type Clock,
  cutClock,
  type Demand,
  decide,
  delaySeconds,
  type Ec2Api,
  isBucketKey,
  type Reservation,
  refundAmounts,
  STEADY_CLOCK,
  stateOf,
  throttledCallCharge,
  virtualAt,
  waitFor,
} from '../admission.ts';
import { isConditionFailure, isThrottling } from '../errors.ts';

/** What a message's registrations take (shared/admission.ts demand), and the reservation it came back with, if any. */
export interface AdmissionRequest {
  demand: Demand;
  reservation?: Reservation | undefined;
}

/** Start now (`delaySeconds` 0), or send the message back with this delay and reservation. */
export interface AdmissionDecision {
  delaySeconds: number;
  reservation: Reservation;
}

/** What ingest asks of admission control. */
export interface Admission {
  /** One decision per request, in order (shared/admission.ts: decide). */
  admit(requests: readonly AdmissionRequest[]): Promise<AdmissionDecision[]>;
  /** For messages back from waiting: how long (delay seconds) until each turn comes; 0 once it has. Reads only. */
  turns(reservations: readonly Reservation[]): Promise<number[]>;
  /** Gives back the buckets' tokens of registrations that were admitted but not started (duplicates): their demand. */
  refund(demand: Demand): Promise<void>;
}

/**
 * Admission control that admits everything at once: the pipeline as it was before admission
 * control, for a redrive without the admission table, dry runs, tests of other things and the
 * bench's baseline. Ingest reads a reservation only for a message it defers, and this defers none.
 */
export const ADMIT_ALL: Admission = {
  admit: async (requests) => requests.map(() => ({ delaySeconds: 0, reservation: {} })),
  turns: async (reservations) => reservations.map(() => 0),
  refund: async () => {},
};

/**
 * The deployment's store: its admission table, and the budget its settings give
 * (`ec2RateShare` of EC2's buckets, or of those `ec2BucketOverrides` raises).
 */
export function deployedAdmission(
  client: DynamoDBClient,
  table: string,
  budget: { ec2RateShare: number; ec2BucketOverrides?: Partial<Record<Ec2Api, Bucket>> },
): AdmissionStore {
  return new AdmissionStore({
    client,
    table,
    buckets: budgetBuckets(budget.ec2RateShare, budget.ec2BucketOverrides),
  });
}

export interface AdmissionStoreOptions {
  client: DynamoDBClient;
  table: string;
  /** The budget: each API's bucket (size and refill per second), in every Region. */
  buckets: Budget;
  /**
   * Milliseconds; a time-scaled benchmark runs it faster than the wall clock. By default the
   * wall clock corrected by DynamoDB's (serviceSkew).
   */
  clock?: () => number;
  /** How much faster `clock` runs than the wall clock (message delays are in wall seconds). */
  timeScale?: number;
}

const KEY: Record<string, AttributeValue> = { pk: { S: 'ec2' } };
/**
 * Conditional writes lost to another writer, before ingest gives up on the batch (it then comes
 * back), and the pause before each next try: exponential backoff with full jitter, from up to
 * 50 ms to at most 1 s (about 12 s in all at worst, well within ingest's timeout). Five batches
 * writing the item back to back on the emulator, 300 admissions each way (issue 21): 8 tries with
 * pauses of up to 20 ms × the try lost all of them 5 to 14 times; 16 with this backoff, none of 500.
 * A batch that gave up came back after the queue's 360 s visibility timeout: the stalled tail
 * of the real-time bench (docs/adr/0009-admission-control.md).
 */
export const WRITE_ATTEMPTS = 16;
const writePauseMs = (attempt: number, random: () => number) => random() * Math.min(1000, 25 * 2 ** attempt);

/**
 * The item's attributes: `version`, a counter every write of `buckets` bumps and is conditional
 * on; `buckets`, one map of every live bucket's `tat` and `due` (virtual ms), written whole as one
 * value, so that the UpdateExpression stays a few dozen bytes however many APIs and Regions are in
 * use (DynamoDB refuses an expression over 4 KB; one attribute per bucket grew past it); and
 * `clock_<key>`, each bucket's AIMD clock, cut rarely and on its own condition.
 */
const BUCKETS = 'buckets';
const clockName = (key: BucketKey) => `clock_${key}`;
const n = (value: number): AttributeValue => ({ N: String(value) });
const num = (value: AttributeValue | undefined) => {
  const parsed = Number(value?.N ?? Number.NaN);
  return Number.isFinite(parsed) ? parsed : undefined;
};

/** The bucket keys of the item's clocks (`clock_CopyImage@us-west-2`). */
function clockKeys(item: Record<string, AttributeValue>): BucketKey[] {
  return Object.keys(item)
    .filter((name) => name.startsWith('clock_'))
    .map((name) => name.slice('clock_'.length))
    .filter(isBucketKey);
}

function readClock(value: AttributeValue | undefined): Clock {
  const m = value?.M;
  if (!m) return STEADY_CLOCK;
  const field = (name: keyof Clock) => num(m[name]) ?? Number.NaN;
  const clock = { v0: field('v0'), t0: field('t0'), f0: field('f0'), cut: field('cut') };
  return Object.values(clock).every(Number.isFinite) ? clock : STEADY_CLOCK;
}

function writeClock(clock: Clock): AttributeValue {
  return { M: { v0: n(clock.v0), t0: n(clock.t0), f0: n(Number(clock.f0.toFixed(6))), cut: n(clock.cut) } };
}

/**
 * The `buckets` map to write: only the live buckets, those whose `tat` or `due` is still ahead
 * of their clock's time now. A bucket whose times have passed is full and has nobody waiting,
 * which is what an absent bucket means, so the item never keeps a key it no longer needs.
 */
export function liveBuckets(state: AdmissionState, now: number): Record<string, AttributeValue> {
  const live: Record<string, AttributeValue> = {};
  for (const [key, { tat, due, clock }] of Object.entries(state)) {
    const v = virtualAt(clock, now);
    const times: Record<string, AttributeValue> = {};
    if (tat !== undefined && tat > v) times.tat = n(Math.ceil(tat));
    if (due !== undefined && due > v) times.due = n(Math.ceil(due));
    if (Object.keys(times).length > 0) live[key] = { M: times };
  }
  return live;
}

/** The Date header's resolution (ms): a skew within it is no skew. */
const DATE_HEADER_RESOLUTION_MS = 1_000;

/**
 * How far DynamoDB's clock is from this machine's (ms), as the SDK measured it from the Date
 * header of the last answer (`systemClockOffset`, which it updates on every signed response);
 * 0 within the header's resolution. The budget's times are the service's, so a client whose
 * clock runs a minute fast (an operator's laptop running `redrive`) cannot push every later
 * registration a minute back. The header is whole seconds: the service's time is within the
 * second after it, so half a second is added.
 */
function serviceSkew(client: DynamoDBClient): number {
  const offset = client.config.systemClockOffset ?? 0;
  return Math.abs(offset) <= 2 * DATE_HEADER_RESOLUTION_MS ? 0 : offset + DATE_HEADER_RESOLUTION_MS / 2;
}

export class AdmissionStore implements Admission {
  private readonly options: AdmissionStoreOptions;
  private readonly clock: () => number;
  private readonly timeScale: number;

  constructor(options: AdmissionStoreOptions) {
    this.options = options;
    this.clock = options.clock ?? (() => Date.now() + serviceSkew(options.client));
    this.timeScale = options.timeScale ?? 1;
  }

  /** The item's state and version (0 when there is no item yet: every bucket full, every clock steady). */
  async read(): Promise<{ state: AdmissionState; version: number; cutBefore: ReadonlySet<BucketKey> }> {
    const { Item = {} } = await this.options.client.send(
      new GetItemCommand({ TableName: this.options.table, Key: KEY, ConsistentRead: true }),
    );
    const buckets = Item[BUCKETS]?.M ?? {};
    const cutBefore = new Set(clockKeys(Item));
    const state: AdmissionState = {};
    for (const key of new Set([...Object.keys(buckets).filter(isBucketKey), ...cutBefore])) {
      const times = buckets[key]?.M ?? {};
      const tat = num(times.tat);
      const due = num(times.due);
      state[key] = {
        ...(tat !== undefined && { tat }),
        ...(due !== undefined && { due }),
        clock: readClock(Item[clockName(key)]),
      };
    }
    return { state, version: num(Item.version) ?? 0, cutBefore };
  }

  async turns(reservations: readonly Reservation[]): Promise<number[]> {
    if (reservations.length === 0) return [];
    const { state } = await this.read();
    const now = this.clock();
    return reservations.map((reservation) => delaySeconds(waitFor(state, reservation, now), this.timeScale));
  }

  async admit(requests: readonly AdmissionRequest[]): Promise<AdmissionDecision[]> {
    if (requests.length === 0) return [];
    return this.update((state, now) => {
      const decided = decide(state, this.options.buckets, requests, now);
      const decisions = decided.decisions.map(({ start, waitMs, reservation }) => ({
        // A request that may not start waits at least a second (SQS's delays are whole seconds).
        delaySeconds: start ? 0 : Math.max(1, delaySeconds(waitMs, this.timeScale)),
        reservation,
      }));
      return { result: decisions, ...(decided.changed && { state: decided.state }) };
    });
  }

  /**
   * Reads the item, lets `change` decide, and writes the state it returns (if any) conditionally
   * on the version read; when another writer came first, reads again after a short random pause.
   */
  private async update<T>(
    change: (state: AdmissionState, now: number) => { result: T; state?: AdmissionState },
  ): Promise<T> {
    for (let attempt = 1; ; attempt++) {
      const { state, version } = await this.read();
      const now = this.clock();
      const changed = change(state, now);
      if (!changed.state) return changed.result;
      try {
        await this.write(changed.state, version, now);
        return changed.result;
      } catch (error) {
        if (!isConditionFailure(error) || attempt >= WRITE_ATTEMPTS) throw error;
        await new Promise((resolve) => setTimeout(resolve, writePauseMs(attempt, Math.random)));
      }
    }
  }

  private async write(state: AdmissionState, version: number, now: number): Promise<void> {
    await this.options.client.send(
      new UpdateItemCommand({
        TableName: this.options.table,
        Key: KEY,
        UpdateExpression: 'SET #version = :next, #buckets = :buckets',
        ConditionExpression: version > 0 ? '#version = :version' : 'attribute_not_exists(#version)',
        ExpressionAttributeNames: { '#version': 'version', '#buckets': BUCKETS },
        ExpressionAttributeValues: {
          ':next': n(version + 1),
          ':buckets': { M: liveBuckets(state, now) },
          ...(version > 0 && { ':version': n(version) }),
        },
      }),
    );
  }

  async refund(demand: Demand): Promise<void> {
    if (Object.keys(demand).length === 0) return;
    const amounts = refundAmounts(this.options.buckets, demand);
    await this.update((state) => {
      // The bucket only: the turn a duplicate waited for has passed. Nothing taken, nothing to give back.
      const given = Object.entries(amounts).filter(([key]) => state[key]?.tat !== undefined);
      if (given.length === 0) return { result: undefined };
      const next = { ...state };
      for (const [key, amount] of given) {
        const bucket = stateOf(state, key);
        next[key] = { ...bucket, tat: (bucket.tat ?? 0) - Math.floor(amount) };
      }
      return { result: undefined, state: next };
    });
  }

  /**
   * EC2 throttled a call of bucket `key` (an API in a Region) although admission had let it
   * through: another client took more than its share. Takes the call's retry's tokens from the
   * bucket, and cuts its clock (at most once per cooldown); true when it cut.
   */
  async reportThrottled(key: BucketKey): Promise<boolean> {
    const { state, cutBefore } = await this.read();
    const now = this.clock();
    const old = stateOf(state, key).clock;
    // The retry's tokens, from the bucket (conditionally: admissions may be writing it too).
    await this.update((current, at) => {
      const bucket = stateOf(current, key);
      const tat =
        Math.max(bucket.tat ?? 0, virtualAt(bucket.clock, at)) +
        throttledCallCharge(this.options.buckets, key);
      return { result: undefined, state: { ...current, [key]: { ...bucket, tat } } };
    });
    const cut = cutClock(old, now);
    if (!cut) return false;
    const first = !cutBefore.has(key);
    try {
      await this.options.client.send(
        new UpdateItemCommand({
          TableName: this.options.table,
          Key: KEY,
          UpdateExpression: 'SET #clock = :clock',
          ConditionExpression: first ? 'attribute_not_exists(#clock)' : '#clock.#cut = :previousCut',
          ExpressionAttributeNames: { '#clock': clockName(key), ...(!first && { '#cut': 'cut' }) },
          ExpressionAttributeValues: {
            ':clock': writeClock(cut),
            ...(!first && { ':previousCut': n(old.cut) }),
          },
        }),
      );
      return true;
    } catch (error) {
      // Another report cut it first.
      if (isConditionFailure(error)) return false;
      throw error;
    }
  }
}

/**
 * Makes an EC2 client tell `report` about each of its calls EC2 throttled, for the APIs admission
 * control budgets. The call's own error is unchanged; a failed report is `onReportError`'s, not the call's.
 */
export function reportThrottledCalls(
  ec2: EC2Client,
  report: (api: Ec2Api) => Promise<unknown>,
  onReportError: (error: unknown) => void = () => {},
): void {
  ec2.middlewareStack.add(
    (next, context) => async (args) => {
      try {
        return await next(args);
      } catch (error) {
        const api = budgetedApi(context.commandName ?? '');
        if (api && isThrottling((error as Error).name)) await report(api).catch(onReportError);
        throw error;
      }
    },
    { step: 'initialize', name: 'snap2amiThrottleReports', override: true },
  );
}
