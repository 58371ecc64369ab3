/**
 * Admission control covers the lifecycle's calls (docs/adr/0009-admission-control.md): a burst of
 * snapshot events whose AMIs are each copied to two Regions, through queue → ingest → workflow →
 * EC2 on the emulator, whose throttle enforces EC2's token buckets in every Region of the run
 * (another client taking half of every refill, time-scaled). CopyImage's bucket is set smaller
 * than EC2's 100 (10, refilled 1 a second), in the emulator and in the deployment's overrides
 * alike, so that a burst of a test's size outruns it: admission control must spread the copies
 * over each Region's own CopyImage budget. Counts, not timings: every AMI and every copy made,
 * and EC2 throttled no CopyImage call (the emulator's counters). Regions of the test's own.
 */
import { describe, expect, inject, it } from 'vitest';
import { runBurst } from '../../local/index.ts';

const COPY_REGIONS = ['ap-northeast-3', 'ap-southeast-1'];

describe('a throttled burst with copies to two Regions', () => {
  it('makes every AMI and every copy, and no CopyImage call is throttled', async () => {
    const result = await runBurst({
      endpoint: inject('awsEndpoint'),
      region: 'ap-northeast-2',
      copyTo: COPY_REGIONS,
      buckets: { CopyImage: { size: 10, refill: 1 } },
      events: 30,
      competitor: 0.5,
      timeScale: 4,
    });
    expect(result.expected).toBe(27);
    expect(result.summary).toMatchObject({
      amis: result.expected,
      copies: result.expected * COPY_REGIONS.length,
      failed: 0,
      duplicates: 0,
      deadLettered: 0,
      lost: 0,
    });
    for (const region of COPY_REGIONS)
      expect(result.ec2[`CopyImage@${region}`]).toEqual({ calls: result.expected, throttled: 0 });
    // 27 copies per Region against a budget of 5 CopyImage tokens: admission control deferred.
    expect(result.deferred).toBeGreaterThan(0);
  });
});
