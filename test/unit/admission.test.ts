/**
 * Admission control's arithmetic (shared/admission.ts): the budget, the bucket registrations
 * start from and the schedule that spaces those that wait, the AIMD clock that EC2's throttling
 * cuts, and the ticket a deferred message carries. Row by row, then as a property: however
 * messages arrive and however late they come back, what starts in any window never exceeds the
 * bucket plus its refill, and everything starts.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  AIMD,
  bucketKey,
  budgetBuckets,
  budgetedApi,
  CALLS_PER_AMI,
  type Clock,
  COPY_WAIT_LOOKS,
  cutClock,
  type Decision,
  DOCUMENTED_BUCKETS,
  decide,
  delaySeconds,
  demand,
  EC2_APIS,
  emptyState,
  isBucketKey,
  LAUNCH_TEST_COMMAND_LOOKS,
  LAUNCH_TEST_LOOKS,
  parseTicket,
  type Reservation,
  rateAt,
  realTimeOf,
  refundAmounts,
  SET_LOOKS,
  STEADY_CLOCK,
  sumDemands,
  ticketText,
  virtualAt,
  waitFor,
} from '#shared/admission.ts';

const T0 = 1_800_000_000_000;
const half = budgetBuckets(0.5);

describe('the budget', () => {
  it("is the deployment's share of EC2's documented buckets, sizes and refills alike", () => {
    expect(half.RegisterImage).toEqual({ size: 25, refill: 2.5 });
    expect(half.CreateTags).toEqual({ size: 50, refill: 5 });
    expect(budgetBuckets(1)).toEqual(DOCUMENTED_BUCKETS);
  });

  it("takes an account's raised limits instead of the documented ones where it is given them", () => {
    expect(budgetBuckets(0.5, { RegisterImage: { size: 200, refill: 20 } }).RegisterImage).toEqual({
      size: 100,
      refill: 10,
    });
  });

  it('charges a registration its dry run and real RegisterImage, the check before them, the wait’s one look and the tags', () => {
    expect(CALLS_PER_AMI).toEqual({
      RegisterImage: 2,
      DescribeSnapshots: 1.2,
      DescribeImages: 1,
      CreateTags: 1,
    });
  });

  it('charges a set of several snapshots Register’s look for an earlier image (and an AMI of its root alone)', () => {
    const { DescribeImages = 0 } = CALLS_PER_AMI;
    expect(demand({ snapshotIds: ['snap-1'] })).toEqual(CALLS_PER_AMI);
    expect(demand({ snapshotIds: ['snap-1', 'snap-2'] })).toEqual({
      ...CALLS_PER_AMI,
      DescribeImages: DescribeImages + SET_LOOKS,
    });
  });
});

/** One registration without lifecycle, and `n` of them together (one message of n plans). */
const ONE = demand({});
const times = (n: number) => sumDemands(Array.from({ length: n }, () => ONE));
const fresh = (n: number) => Array.from({ length: n }, () => ({ demand: ONE }));

describe('what a registration takes', () => {
  const copies = { copyTo: [{ region: 'us-west-2' }, { region: 'eu-central-1', kmsKeyId: 'alias/ami' }] };

  it('is CALLS_PER_AMI in the pipeline’s Region without lifecycle tags, under the keys it always had', () => {
    expect(demand({})).toEqual(CALLS_PER_AMI);
    expect(demand({ lifecycle: undefined })).toEqual(CALLS_PER_AMI);
  });

  it('adds the billing check’s DescribeImages for a plan that has one', () => {
    const { DescribeImages = 0 } = CALLS_PER_AMI;
    expect(demand({ billingCheck: { platform: 'windows' } })).toEqual({
      ...CALLS_PER_AMI,
      DescribeImages: DescribeImages + 1,
    });
  });

  it('adds each copy’s calls in the copy’s Region: CopyImage, WaitForCopies’ looks and its tags', () => {
    expect(demand({ lifecycle: copies })).toEqual({
      ...CALLS_PER_AMI,
      // CopyImages looks at the AMI once, at home.
      DescribeImages: 2,
      'CopyImage@us-west-2': 1,
      'DescribeImages@us-west-2': 1 + COPY_WAIT_LOOKS,
      'CreateTags@us-west-2': 1,
      'CopyImage@eu-central-1': 1,
      'DescribeImages@eu-central-1': 1 + COPY_WAIT_LOOKS,
      'CreateTags@eu-central-1': 1,
    });
  });

  it('charges sharing, deprecation, protection and retention on the AMI and on each copy, in its Region', () => {
    const all = demand({
      lifecycle: {
        copyTo: [{ region: 'us-west-2' }],
        shareWith: { userIds: ['111122223333'] },
        deprecateAfterDays: 30,
        deregistrationProtection: 'on',
        family: 'web',
        retain: { count: 3 },
        ssmParameter: '/golden/web/latest',
      },
    });
    for (const key of ['', '@us-west-2'])
      for (const api of [
        'ModifyImageAttribute',
        'EnableImageDeprecation',
        'EnableImageDeregistrationProtection',
        'DescribeImageReferences',
        'DeregisterImage',
      ])
        expect(all[`${api}${key}`]).toBe(1);
    // 1 (the image's wait) + CopyImages' look + ProtectImages' CreationDate +
    // the parameter's AMI + retention's family.
    expect(all.DescribeImages).toBe(5);
    expect(all['DescribeImages@us-west-2']).toBe(COPY_WAIT_LOOKS + 3);
    // A family's AMI is tagged <p>pipeline at CopyImages (one look, one CreateTags), with or without copies.
    const family = demand({ lifecycle: { family: 'web' } });
    expect(family.DescribeImages).toBe((CALLS_PER_AMI.DescribeImages ?? 0) + 1);
    expect(family.CreateTags).toBe((CALLS_PER_AMI.CreateTags ?? 0) + 1);
    // A lifecycle of retention alone costs nothing elsewhere.
    expect(Object.keys(demand({ lifecycle: { family: 'web', retain: { count: 3 } } })).sort()).toEqual(
      [...Object.keys(CALLS_PER_AMI), 'DeregisterImage', 'DescribeImageReferences'].sort(),
    );
  });

  it('adds up the plans of a message, key by key', () => {
    expect(sumDemands([demand({}), demand({ lifecycle: copies })])).toMatchObject({
      RegisterImage: 4,
      DescribeImages: 3,
      'CopyImage@us-west-2': 1,
    });
  });

  it('names buckets by API in the pipeline’s Region and API@region elsewhere', () => {
    expect(bucketKey('CopyImage', 'us-west-2', 'us-east-1')).toBe('CopyImage@us-west-2');
    expect(bucketKey('CopyImage', 'us-east-1', 'us-east-1')).toBe('CopyImage');
    expect(['CopyImage@us-gov-west-1', 'RegisterImage'].every(isBucketKey)).toBe(true);
    expect(['StopInstances', 'CopyImage@', 'CopyImage@x', 'tat_CopyImage'].some(isBucketKey)).toBe(false);
  });
});

describe('a launch test', () => {
  it('takes one RunInstances request and one instance of its resource bucket, the looks, and the cleanup', () => {
    const calls = demand({
      launchTest: { mode: 'status-checks', instanceType: 't3.micro', timeoutMinutes: 15 },
    });
    expect(calls).toMatchObject({
      RunInstances: 1,
      'RunInstances.instances': 1,
      DescribeInstanceStatus: LAUNCH_TEST_LOOKS,
      DescribeInstances: 1,
      TerminateInstances: 1,
      GetConsoleOutput: 1,
      DescribeImages: (CALLS_PER_AMI.DescribeImages ?? 0) + 1,
      CreateTags: (CALLS_PER_AMI.CreateTags ?? 0) + 1,
    });
    expect(demand({})).not.toHaveProperty('RunInstances');
    expect(calls).not.toHaveProperty('SendCommand');
  });

  it("with an SSM document also takes ListCommands, one SendCommand and the command's looks (SSM's buckets, per Region)", () => {
    const calls = demand({
      launchTest: { mode: 'ssm', document: 'Smoke', instanceType: 't3.micro', timeoutMinutes: 15 },
    });
    expect(calls).toMatchObject({
      RunInstances: 1,
      ListCommands: 1,
      SendCommand: 1,
      GetCommandInvocation: LAUNCH_TEST_COMMAND_LOOKS,
    });
    expect(isBucketKey('SendCommand@us-west-2')).toBe(true);
    expect(budgetBuckets(0.5).SendCommand).toEqual({ size: 25, refill: 2.5 });
  });
});

describe('deciding with copies', () => {
  it('spreads 100 AMIs each copied to two Regions at share 0.5: at most 50 + 0.5 CopyImage/s per Region', () => {
    const each = demand({ lifecycle: { copyTo: [{ region: 'us-west-2' }, { region: 'eu-central-1' }] } });
    let state = emptyState();
    let queue = Array.from({ length: 100 }, () => ({
      at: T0,
      reservation: undefined as Reservation | undefined,
    }));
    const starts: number[] = [];
    for (let round = 0; queue.length > 0 && round < 10_000; round++) {
      queue.sort((a, b) => a.at - b.at);
      const now = (queue[0] as { at: number }).at;
      const taken = queue.filter((m) => m.at === now).slice(0, 10);
      queue = queue.filter((m) => !taken.includes(m));
      const decided = decide(
        state,
        half,
        taken.map((m) => ({ demand: each, reservation: m.reservation })),
        now,
      );
      state = decided.state;
      decided.decisions.forEach((d) => {
        if (d.start) starts.push(now);
        else queue.push({ at: now + Math.max(1, Math.ceil(d.waitMs)), reservation: d.reservation });
      });
    }
    expect(starts).toHaveLength(100);
    const { size, refill } = half.CopyImage;
    expect({ size, refill }).toEqual({ size: 50, refill: 0.5 });
    for (let i = 0; i < starts.length; i++)
      for (let j = i; j < starts.length; j++)
        expect(j - i + 1).toBeLessThanOrEqual(
          size + (((starts[j] as number) - (starts[i] as number)) / 1000) * refill + 1e-6,
        );
    // The 50 copies beyond the bucket take 100 s at 0.5 a second, in each Region: RegisterImage
    // alone (200 calls, 25 + 2.5/s) would have let the last start after 70 s.
    expect(((starts.at(-1) as number) - T0) / 1000).toBeGreaterThanOrEqual(100 - 0.5);
    // Each copy spent its own Region's CopyImage bucket, none the pipeline's.
    expect(Object.keys(state).filter((key) => key.startsWith('CopyImage'))).toEqual([
      'CopyImage@us-west-2',
      'CopyImage@eu-central-1',
    ]);
  });

  it('gives back a duplicate’s demand on each of its buckets', () => {
    const amounts = refundAmounts(half, demand({ lifecycle: { copyTo: [{ region: 'us-west-2' }] } }));
    expect(amounts['CopyImage@us-west-2']).toBe(2000);
    expect(amounts.RegisterImage).toBe(800);
  });
});

describe('deciding', () => {
  it('starts a registration at once while the bucket holds its calls: an idle pipeline waits for nothing', () => {
    const { decisions, state } = decide(emptyState(), half, fresh(1), T0);
    expect(decisions[0]).toMatchObject({ start: true, waitMs: 0 });
    // 2 of RegisterImage's 25 tokens, at 2.5 per second: 800 ms of refill taken.
    expect(state.RegisterImage?.tat).toBe(T0 + 800);
  });

  it('starts a full bucket at once (12 registrations of 25 tokens), then gives each next one its turn 0.8 s later', () => {
    const { decisions } = decide(emptyState(), half, fresh(16), T0);
    expect(decisions.slice(0, 12).every((d) => d.start)).toBe(true);
    expect(decisions.slice(12).map((d) => [d.start, Math.round(d.waitMs)])).toEqual([
      [false, 400],
      [false, 1200],
      [false, 2000],
      [false, 2800],
    ]);
  });

  it('starts a message that comes back at its turn, and keeps its turn when it comes back early', () => {
    const first = decide(emptyState(), half, fresh(14), T0);
    const last = first.decisions[13] as Decision;
    const early = decide(first.state, half, [{ demand: ONE, reservation: last.reservation }], T0 + 100);
    expect(early.decisions[0]).toMatchObject({ start: false, reservation: last.reservation });
    expect(early.changed).toBe(false);
    const onTime = decide(
      first.state,
      half,
      [{ demand: ONE, reservation: last.reservation }],
      T0 + last.waitMs,
    );
    expect(onTime.decisions[0]?.start).toBe(true);
  });

  it('never lets late messages start together past the bucket: those beyond it wait one after another', () => {
    const burst = decide(emptyState(), half, fresh(100), T0);
    const waiting = burst.decisions.filter((d) => !d.start);
    expect(waiting).toHaveLength(88);
    // All come back at once, long after their turns (a slow consumer): the bucket is full again.
    const late = decide(
      burst.state,
      half,
      waiting.map((d) => ({ demand: ONE, reservation: d.reservation })),
      T0 + 600_000,
    );
    const started = late.decisions.filter((d) => d.start);
    expect(started).toHaveLength(12);
    const waits = late.decisions.filter((d) => !d.start).map((d) => Math.round(d.waitMs));
    expect(waits.slice(0, 3)).toEqual([400, 1200, 2000]);
  });

  it('gives the bucket to whoever asks when it holds tokens, whatever turns are outstanding (work-conserving)', () => {
    const burst = decide(emptyState(), half, fresh(100), T0);
    // The 88 waiting messages never come back (say they were deleted); a new one an hour later starts at once.
    expect(decide(burst.state, half, fresh(1), T0 + 3_600_000).decisions[0]?.start).toBe(true);
  });

  it('starts a message of more registrations than the bucket holds once the bucket is full, into debt', () => {
    const big = decide(emptyState(), half, [{ demand: times(40) }], T0);
    expect(big.decisions[0]?.start).toBe(true);
    // 80 calls taken from a bucket of 25 at 2.5 a second: the next waits for the debt, 22 s.
    const next = decide(big.state, half, fresh(1), T0);
    expect(next.decisions[0]).toMatchObject({ start: false });
    expect(Math.round(next.decisions[0]?.waitMs ?? 0)).toBe(22_800);
  });

  it('gives tokens back by the same amounts a registration took', () => {
    const amounts = refundAmounts(half, ONE);
    expect(amounts.RegisterImage).toBe(800);
    expect(amounts.CreateTags).toBe(200);
  });
});

describe('the AIMD clock', () => {
  it('runs at real time until EC2 throttles a call', () => {
    expect(virtualAt(STEADY_CLOCK, T0)).toBe(T0);
    expect(realTimeOf(STEADY_CLOCK, T0 + 5)).toBe(T0 + 5);
  });

  it('is cut to 0.7 of its rate by a throttled call, at most once per 5 s, and recovers by 0.002 a second, then after 30 s without a cut by 0.02', () => {
    expect(AIMD).toMatchObject({
      decrease: 0.7,
      recoveryPerSecond: 0.002,
      probeAfterMs: 30_000,
      probePerSecond: 0.02,
      cooldownMs: 5_000,
    });
    const cut = cutClock(STEADY_CLOCK, T0) as Clock;
    expect(rateAt(cut, T0)).toBeCloseTo(0.7);
    expect(cutClock(cut, T0 + 4_999)).toBeUndefined();
    expect(rateAt(cut, T0 + 20_000)).toBeCloseTo(0.74);
    expect(rateAt(cut, T0 + 30_000)).toBeCloseTo(0.76);
    expect(rateAt(cut, T0 + 40_000)).toBeCloseTo(0.96);
    expect(rateAt(cut, T0 + 42_000)).toBe(1);
    const again = cutClock(cut, T0 + 20_000) as Clock;
    expect(rateAt(again, T0 + 20_000)).toBeCloseTo(0.518);
  });

  it('from its floor, is back to the whole budget about a minute and a half after its last cut', () => {
    const floor = { v0: T0, t0: T0, f0: AIMD.floor, cut: T0 };
    expect(rateAt(floor, T0 + 30_000)).toBeCloseTo(0.11);
    expect(rateAt(floor, T0 + 74_000)).toBeCloseTo(0.99);
    expect(rateAt(floor, T0 + 75_000)).toBe(1);
    // Virtual time: the area under the rate, 0.05→0.11 over 30 s, 0.11→1 over 44.5 s, then 1.
    expect(virtualAt(floor, T0 + 100_000) - T0).toBeCloseTo(2_400 + 24_697.5 + 25_500, 0);
  });

  it('never cuts below its floor', () => {
    const clock = cutClock({ v0: T0, t0: T0, f0: AIMD.floor + 0.01, cut: T0 - AIMD.cooldownMs }, T0) as Clock;
    expect(rateAt(clock, T0)).toBe(AIMD.floor);
  });

  it('postpones outstanding turns when it is cut: they were given in its time', () => {
    const { state, decisions } = decide(emptyState(), half, fresh(21), T0);
    const { reservation, waitMs } = decisions[20] as Decision;
    const slowed = {
      ...state,
      RegisterImage: { ...state.RegisterImage, clock: cutClock(STEADY_CLOCK, T0) as Clock },
    };
    expect(waitFor(slowed, reservation, T0)).toBeGreaterThan(waitMs);
  });

  it('maps virtual time back to real time exactly, through recovery and after it', () => {
    fc.assert(
      fc.property(
        fc.double({ min: AIMD.floor, max: 1, noNaN: true }),
        fc.double({ min: 0, max: 3_600_000, noNaN: true }),
        (f0, d) => {
          const clock: Clock = { v0: 0, t0: 0, f0, cut: 0 };
          expect(realTimeOf(clock, virtualAt(clock, d))).toBeCloseTo(d, 3);
        },
      ),
    );
  });
});

describe('the budget as a property', () => {
  it('starts at most the bucket plus the refill of any window, however messages arrive and however late they come back; and starts them all', () => {
    fc.assert(
      fc.property(
        fc.array(fc.integer({ min: 0, max: 2_000 }), { minLength: 1, maxLength: 80 }),
        fc.array(fc.integer({ min: 0, max: 5_000 }), { minLength: 1, maxLength: 50 }),
        fc.integer({ min: 1, max: 10 }),
        (gaps, lateness, batch) => {
          // Messages in flight: when they are next received, and their turn if they have one.
          let arrival = T0;
          let queue = gaps.map((gap) => {
            arrival += gap;
            return { at: arrival, reservation: undefined as Decision['reservation'] | undefined };
          });
          let state = emptyState();
          const starts: number[] = [];
          for (let round = 0; queue.length > 0 && round < 10_000; round++) {
            queue.sort((a, b) => a.at - b.at);
            const now = (queue[0] as { at: number }).at;
            const taken = queue.filter((m) => m.at === now).slice(0, batch);
            queue = queue.filter((m) => !taken.includes(m));
            const decided = decide(
              state,
              half,
              taken.map((m) => ({ demand: ONE, reservation: m.reservation })),
              now,
            );
            state = decided.state;
            decided.decisions.forEach((d, i) => {
              if (d.start) starts.push(now);
              else
                queue.push({
                  at: now + Math.max(1, d.waitMs) + (lateness[(round + i) % lateness.length] as number),
                  reservation: d.reservation,
                });
            });
          }
          expect(starts).toHaveLength(gaps.length);
          starts.sort((a, b) => a - b);
          const { size, refill } = half.RegisterImage;
          for (let i = 0; i < starts.length; i++)
            for (let j = i; j < starts.length; j++) {
              const windowSeconds = ((starts[j] as number) - (starts[i] as number)) / 1000;
              expect((j - i + 1) * (CALLS_PER_AMI.RegisterImage ?? 0)).toBeLessThanOrEqual(
                size + windowSeconds * refill + 1e-6,
              );
            }
        },
      ),
      { numRuns: 200 },
    );
  });
});

describe('delays and tickets', () => {
  it('says a wait in whole seconds of wall time, rounded up, at most SQS’s 900', () => {
    expect(delaySeconds(0)).toBe(0);
    expect(delaySeconds(1)).toBe(1);
    expect(delaySeconds(5_001, 5)).toBe(2);
    expect(delaySeconds(86_400_000)).toBe(900);
  });

  it('names the budgeted API of an SDK command, and no other', () => {
    expect(budgetedApi('RegisterImageCommand')).toBe('RegisterImage');
    expect(budgetedApi('RunInstancesCommand')).toBe('RunInstances');
    expect(budgetedApi('DescribeVolumesCommand')).toBeUndefined();
  });

  it('reads back the ticket it wrote, and ignores one that does not parse (the message is admitted anew)', () => {
    const reservation = Object.fromEntries(EC2_APIS.map((api, i) => [api, T0 + i])) as never;
    const ticket = { reservation, deferrals: 2, firstMessageId: 'm-1' };
    expect(parseTicket(ticketText(ticket))).toEqual(ticket);
    // The keys it reserved, a copy's Region's among them.
    const copied = { ...ticket, reservation: { RegisterImage: T0, 'CopyImage@us-west-2': T0 + 5 } };
    expect(parseTicket(ticketText(copied))).toEqual(copied);
    for (const bad of [
      undefined,
      '',
      'not JSON',
      '{}',
      '{"reservation":{},"deferrals":1,"firstMessageId":"m"}',
      '{"reservation":{"StopInstances":1},"deferrals":1,"firstMessageId":"m"}',
    ])
      expect(parseTicket(bad)).toBeUndefined();
  });
});
