/**
 * Admission control's state in DynamoDB (docs/adr/0009-admission-control.md): one item in the
 * admission table holds every bucket's (an EC2 API in a Region: shared/admission.ts BucketKey)
 * token bucket and AIMD clock (shared/admission.ts does the arithmetic), as attributes
 * `tat_<key>`, `due_<key>`, `clock_<key>` for the keys in use only: a pipeline without lifecycle
 * tags keeps the item it had. Ingest reads it and writes it back conditionally on its version,
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
  /** Milliseconds; a time-scaled benchmark runs it faster than the wall clock. */
  clock?: () => number;
  /** How much faster `clock` runs than the wall clock (message delays are in wall seconds). */
  timeScale?: number;
}

const KEY: Record<string, AttributeValue> = { pk: { S: 'ec2' } };
/** Conditional writes lost to another writer, before ingest gives up on the batch (it then comes back). */
const WRITE_ATTEMPTS = 8;

const tatName = (key: BucketKey) => `tat_${key}`;
const dueName = (key: BucketKey) => `due_${key}`;
const clockName = (key: BucketKey) => `clock_${key}`;
const n = (value: number): AttributeValue => ({ N: String(value) });

/** The item's attribute names by bucket key: the keys in use, from the names (`tat_CopyImage@us-west-2`). */
function keysIn(item: Record<string, AttributeValue>): Set<BucketKey> {
  const keys = new Set<BucketKey>();
  for (const name of Object.keys(item)) {
    const key = name.replace(/^(tat|due|clock)_/, '');
    if (key !== name && isBucketKey(key)) keys.add(key);
  }
  return keys;
}

/**
 * An UpdateItem's expression parts with placeholders by position (`#a0`, `:a0`): a bucket key's
 * `@` and `-` may not stand in a placeholder's name.
 */
class Expression {
  readonly names: Record<string, string> = {};
  readonly values: Record<string, AttributeValue> = {};
  private count = 0;
  /** A placeholder for an attribute name and, if given, one for a value. */
  add(name: string, value?: AttributeValue): { name: string; value: string } {
    const i = this.count++;
    this.names[`#a${i}`] = name;
    if (value) this.values[`:a${i}`] = value;
    return { name: `#a${i}`, value: `:a${i}` };
  }
}

function readClock(value: AttributeValue | undefined): Clock {
  const m = value?.M;
  if (!m) return STEADY_CLOCK;
  const num = (name: keyof Clock) => Number(m[name]?.N ?? Number.NaN);
  const clock = { v0: num('v0'), t0: num('t0'), f0: num('f0'), cut: num('cut') };
  return Object.values(clock).every(Number.isFinite) ? clock : STEADY_CLOCK;
}

function writeClock(clock: Clock): AttributeValue {
  return { M: { v0: n(clock.v0), t0: n(clock.t0), f0: n(Number(clock.f0.toFixed(6))), cut: n(clock.cut) } };
}

export class AdmissionStore implements Admission {
  private readonly options: AdmissionStoreOptions;
  private readonly clock: () => number;
  private readonly timeScale: number;

  constructor(options: AdmissionStoreOptions) {
    this.options = options;
    this.clock = options.clock ?? Date.now;
    this.timeScale = options.timeScale ?? 1;
  }

  /** The item's state and version (0 when there is no item yet: every bucket full, every clock steady). */
  async read(): Promise<{ state: AdmissionState; version: number; cutBefore: ReadonlySet<BucketKey> }> {
    const { Item = {} } = await this.options.client.send(
      new GetItemCommand({ TableName: this.options.table, Key: KEY, ConsistentRead: true }),
    );
    const state: AdmissionState = {};
    const cutBefore = new Set<BucketKey>();
    const number = (name: string) => {
      const value = Number(Item[name]?.N ?? Number.NaN);
      return Number.isFinite(value) ? value : undefined;
    };
    for (const key of keysIn(Item)) {
      if (Item[clockName(key)]) cutBefore.add(key);
      const tat = number(tatName(key));
      const due = number(dueName(key));
      state[key] = {
        ...(tat !== undefined && { tat }),
        ...(due !== undefined && { due }),
        clock: readClock(Item[clockName(key)]),
      };
    }
    return { state, version: Number(Item.version?.N ?? 0), cutBefore };
  }

  async turns(reservations: readonly Reservation[]): Promise<number[]> {
    if (reservations.length === 0) return [];
    const { state } = await this.read();
    const now = this.clock();
    return reservations.map((reservation) => delaySeconds(waitFor(state, reservation, now), this.timeScale));
  }

  async admit(requests: readonly AdmissionRequest[]): Promise<AdmissionDecision[]> {
    if (requests.length === 0) return [];
    for (let attempt = 1; ; attempt++) {
      const { state, version } = await this.read();
      const decided = decide(state, this.options.buckets, requests, this.clock());
      const decisions = decided.decisions.map(({ start, waitMs, reservation }) => ({
        // A request that may not start waits at least a second (SQS's delays are whole seconds).
        delaySeconds: start ? 0 : Math.max(1, delaySeconds(waitMs, this.timeScale)),
        reservation,
      }));
      if (!decided.changed) return decisions;
      try {
        await this.write(decided.state, version);
        return decisions;
      } catch (error) {
        if (!isConditionFailure(error) || attempt >= WRITE_ATTEMPTS) throw error;
        // Another batch wrote first: read again, after a short random pause.
        await new Promise((resolve) => setTimeout(resolve, Math.random() * 20 * attempt));
      }
    }
  }

  private async write(state: AdmissionState, version: number): Promise<void> {
    const expression = new Expression();
    const sets = [];
    const versioned = expression.add('version', n(version + 1));
    sets.push(`${versioned.name} = ${versioned.value}`);
    for (const [key, { tat, due }] of Object.entries(state))
      for (const [name, value] of [
        [tatName(key), tat],
        [dueName(key), due],
      ] as const) {
        if (value === undefined) continue;
        const placeholder = expression.add(name, n(Math.ceil(value)));
        sets.push(`${placeholder.name} = ${placeholder.value}`);
      }
    if (version > 0) expression.values[':version'] = n(version);
    await this.options.client.send(
      new UpdateItemCommand({
        TableName: this.options.table,
        Key: KEY,
        UpdateExpression: `SET ${sets.join(', ')}`,
        ConditionExpression:
          version > 0 ? `${versioned.name} = :version` : `attribute_not_exists(${versioned.name})`,
        ExpressionAttributeNames: expression.names,
        ExpressionAttributeValues: expression.values,
      }),
    );
  }

  async refund(demand: Demand): Promise<void> {
    if (Object.keys(demand).length === 0) return;
    const { state } = await this.read();
    const amounts = refundAmounts(this.options.buckets, demand);
    const expression = new Expression();
    const version = expression.add('version', n(1));
    const sets = [`${version.name} = ${version.name} + ${version.value}`];
    const present = [`attribute_exists(${version.name})`];
    // The bucket only: the turn a duplicate waited for has passed.
    for (const [key, amount] of Object.entries(amounts)) {
      if (state[key]?.tat === undefined) continue;
      const tat = expression.add(tatName(key), n(Math.floor(amount)));
      sets.push(`${tat.name} = ${tat.name} - ${tat.value}`);
      present.push(`attribute_exists(${tat.name})`);
    }
    try {
      await this.options.client.send(
        new UpdateItemCommand({
          TableName: this.options.table,
          Key: KEY,
          UpdateExpression: `SET ${sets.join(', ')}`,
          ConditionExpression: present.join(' AND '),
          ExpressionAttributeNames: expression.names,
          ExpressionAttributeValues: expression.values,
        }),
      );
    } catch (error) {
      // Nothing was ever taken: nothing to give back.
      if (!isConditionFailure(error)) throw error;
    }
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
    // The retry's tokens, from the bucket (atomically: admissions may be writing it too).
    await this.options.client.send(
      new UpdateItemCommand({
        TableName: this.options.table,
        Key: KEY,
        UpdateExpression:
          'SET #tat = if_not_exists(#tat, :now) + :call, #version = if_not_exists(#version, :zero) + :one',
        ExpressionAttributeNames: { '#tat': tatName(key), '#version': 'version' },
        ExpressionAttributeValues: {
          ':now': n(Math.ceil(virtualAt(old, now))),
          ':call': n(Math.ceil(throttledCallCharge(this.options.buckets, key))),
          ':zero': n(0),
          ':one': n(1),
        },
      }),
    );
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
