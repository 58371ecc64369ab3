/**
 * The burst bench's arithmetic and options: the competitor's schedule (--competitor-schedule)
 * and the lower bound on a burst's duration (idealSeconds), which takes the pipeline's own share
 * of each bucket, as admission control does.
 */
import { describe, expect, it } from 'vitest';
import { parseCompetitorSchedule } from '../../bench/burst.ts';
import { competitorAt, idealSeconds } from '../../local/burst.ts';

describe('--competitor-schedule', () => {
  it('reads seconds:share steps, and the share at any time of the burst', () => {
    const schedule = parseCompetitorSchedule('0:0.3,120:0.9, 240 : .3');
    expect(schedule).toEqual([
      { seconds: 0, share: 0.3 },
      { seconds: 120, share: 0.9 },
      { seconds: 240, share: 0.3 },
    ]);
    expect([0, 119.9, 120, 239, 1000].map((s) => competitorAt(schedule, 0.5, s))).toEqual([
      0.3, 0.3, 0.9, 0.9, 0.3,
    ]);
  });

  it.each([
    ['', /step 1 "" is not <seconds>:<share>/],
    ['0:0.3,120', /step 2 "120" is not <seconds>:<share>/],
    ['0:0.3;120:0.9', /step 1 .* is not <seconds>:<share>/],
    ['0:-0.3', /step 1 "0:-0.3" is not <seconds>:<share>/],
    ['0:0.3,120:1', /step 2 "120:1": the share must be from 0 to 0.95/],
    ['60:0.3', /the first step must be at 0 seconds/],
    ['0:0.3,120:0.9,120:0.3', /the times must ascend: step 3 is at 120 s/],
  ])('says what is wrong with %j', (text, message) => {
    expect(() => parseCompetitorSchedule(text)).toThrow(message);
  });
});

describe('idealSeconds', () => {
  it("uses the pipeline's own bucket: its share of the size, and of the refill or what the competitor leaves", () => {
    // 270 AMIs take 540 RegisterImage calls; the pipeline's bucket holds 25 (half of EC2's 50)
    // and refills at 2.5 a second (half of 5, less than the 3.5 a competitor of 0.3 leaves).
    expect(idealSeconds({ amis: 270, share: 0.5, competitor: 0.3, timeScale: 1 })).toMatchObject({
      seconds: 206,
      api: 'RegisterImage',
      calls: 540,
      refillPerSecond: 2.5,
    });
  });

  it("with copies, CopyImage's bucket in each copy Region: 50 of EC2's 100, refilled at 0.5 a second", () => {
    const ideal = idealSeconds({
      amis: 180,
      share: 0.5,
      competitor: 0.5,
      timeScale: 3,
      copyTo: ['us-west-2', 'eu-central-1'],
    });
    expect(ideal.api).toMatch(/^CopyImage@/);
    expect(ideal.seconds).toBeCloseTo((180 - 50) / (0.5 * 3), 6);
  });

  it("follows a competitor's schedule: while it takes 0.9, the pipeline gets 0.1 of the refill", () => {
    // RegisterImage: 515 tokens beyond the bucket; 250 in the first 100 s, 50 in the next 100 s,
    // the last 215 at 2.5 a second.
    const ideal = idealSeconds({
      amis: 270,
      share: 0.5,
      competitor: 0.3,
      competitorSchedule: [
        { seconds: 0, share: 0.3 },
        { seconds: 100, share: 0.9 },
        { seconds: 200, share: 0.3 },
      ],
      timeScale: 1,
    });
    expect(ideal.api).toBe('RegisterImage');
    expect(ideal.seconds).toBeCloseTo(286, 6);
  });
});
