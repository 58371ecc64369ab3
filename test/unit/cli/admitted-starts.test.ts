/**
 * Redrive's starts under admission control (cli/admitted-starts.ts), against admission control's
 * own arithmetic (shared/admission.ts decide) kept in memory, on a clock the test moves: the
 * command's sleeps move it. Never more started than the bucket holds; duplicates give their tokens
 * back; Ctrl-C between starts leaves the rest not started, their tokens given back.
 */
import { describe, expect, it } from 'vitest';
import {
  type AdmissionState,
  type Budget,
  budgetBuckets,
  CALLS_PER_AMI,
  type Demand,
  decide,
  delaySeconds,
  refundAmounts,
  waitFor,
} from '#shared/admission.ts';
import type { Admission } from '#shared/aws/admission.ts';
import { startAdmitted, waitLine } from '../../../cli/admitted-starts.ts';

const T0 = 1_800_000_000_000;
/** RegisterImage holds two registrations (2 calls each) and refills one every 2 s. */
const BUDGET: Budget = budgetBuckets(1, { RegisterImage: { size: 4, refill: 1 } });
const DEMAND = CALLS_PER_AMI as Demand;

/** AdmissionStore's logic without DynamoDB: decide() on an item held here, delays in whole seconds. */
function memoryAdmission(clock: { now: number }) {
  const item: { state: AdmissionState; refunded: Demand[] } = { state: {}, refunded: [] };
  const admission: Admission = {
    async admit(requests) {
      const decided = decide(item.state, BUDGET, requests, clock.now);
      item.state = decided.state;
      return decided.decisions.map(({ start, waitMs, reservation }) => ({
        delaySeconds: start ? 0 : Math.max(1, delaySeconds(waitMs)),
        reservation,
      }));
    },
    async turns(reservations) {
      return reservations.map((reservation) => delaySeconds(waitFor(item.state, reservation, clock.now)));
    },
    async refund(demand) {
      item.refunded.push(demand);
      for (const [key, amount] of Object.entries(refundAmounts(BUDGET, demand))) {
        const bucket = item.state[key];
        if (bucket?.tat !== undefined) bucket.tat -= amount;
      }
    },
  };
  return { admission, item };
}

function run(count: number, outcome: (n: number) => 'started' | 'duplicate' | 'failed' = () => 'started') {
  const clock = { now: T0 };
  const { admission, item } = memoryAdmission(clock);
  const startedAt: number[] = [];
  const waits: string[] = [];
  const controller = new AbortController();
  const items = Array.from({ length: count }, (_, n) => n);
  const options = {
    admission,
    signal: controller.signal,
    now: () => clock.now,
    sleep: async (ms: number) => {
      clock.now += ms;
    },
    onWait: (progress: Parameters<typeof waitLine>[0]) => waits.push(waitLine(progress)),
  };
  const started: number[] = [];
  /** Starts `n` as redrive would: noted, with the time, and answered with `outcome(n)`. */
  const start = async (n: number) => {
    started.push(n);
    startedAt.push(clock.now);
    return outcome(n);
  };
  return { clock, item, started, startedAt, waits, controller, items, options, start };
}

describe('redrive under admission control', () => {
  it('starts what the bucket holds at once, then one per refill, in order, never more', async () => {
    const r = run(5);
    const notStarted = await startAdmitted(r.items, () => DEMAND, r.start, r.options);
    expect(notStarted).toEqual([]);
    expect(r.started).toEqual([0, 1, 2, 3, 4]);
    // Two at once (the bucket's 4 RegisterImage tokens), then one per 2 s (1 token a second, 2 calls each).
    expect(r.startedAt.map((t) => (t - T0) / 1000)).toEqual([0, 0, 2, 4, 6]);
    // At any time, RegisterImage calls started ≤ the bucket + its refill since the first.
    for (const [i, t] of r.startedAt.entries()) expect(2 * (i + 1)).toBeLessThanOrEqual(4 + (t - T0) / 1000);
    expect(r.waits[0]).toBe(
      'redrive: 2 started, 3 waiting for EC2 request tokens (admission control); next turn in 2 s',
    );
  });

  it('a duplicate gives back its tokens, so the next starts on them', async () => {
    const r = run(3, (n) => (n === 0 ? 'duplicate' : 'started'));
    await startAdmitted(r.items, () => DEMAND, r.start, r.options);
    expect(r.item.refunded).toEqual([DEMAND]);
    expect(r.started).toEqual([0, 1, 2]);
    // The third was asked in the same batch, before the refund: it waits its turn; after it, the bucket holds it.
    expect(r.startedAt.slice(0, 2)).toEqual([T0, T0]);
  });

  it('Ctrl-C between starts: the one under way finishes, the rest are not started, the admitted ones give their tokens back', async () => {
    const r = run(5);
    const started: number[] = [];
    const notStarted = await startAdmitted(
      r.items,
      () => DEMAND,
      async (n) => {
        started.push(n);
        r.controller.abort();
        return 'started';
      },
      r.options,
    );
    expect(started).toEqual([0]);
    expect(notStarted.map(({ item }) => item).sort()).toEqual([1, 2, 3, 4]);
    expect(new Set(notStarted.map(({ why }) => why))).toEqual(new Set(['interrupted before its start']));
    // The second was admitted with the first: its tokens went back.
    expect(r.item.refunded).toEqual([DEMAND]);
  });

  it('when admission control fails, nothing more starts and each says why', async () => {
    const r = run(3);
    const failing: Admission = {
      ...r.options.admission,
      admit: async () => Promise.reject(new Error('AccessDenied')),
    };
    let starts = 0;
    const notStarted = await startAdmitted(
      r.items,
      () => DEMAND,
      async () => {
        starts += 1;
        return 'started';
      },
      { ...r.options, admission: failing },
    );
    expect(starts).toBe(0);
    expect(notStarted.map(({ why }) => why)).toEqual(Array(3).fill('admission control failed: AccessDenied'));
  });
});
