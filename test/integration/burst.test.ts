/**
 * Admission control (docs/adr/0009-admission-control.md) end to end: a burst of snapshot events
 * through queue → ingest → workflow → EC2 on the emulator, whose throttle enforces EC2's token
 * buckets with another client taking half of every refill, time-scaled. The events mix
 * single-volume snapshots, multi-volume sets and duplicate events. The test asserts counts, not
 * timings: every registration ends with one AMI, none FAILED, none duplicated, nothing lost or
 * dead-lettered, and admission control did defer (the burst was larger than the budget's bucket).
 * EC2 calls go to a Region of the test's own, so its throttle settings touch no other test.
 */
import { describe, expect, inject, it } from 'vitest';
import { runBurst } from '../../local/index.ts';

describe('a throttled burst', () => {
  it('registers every snapshot set once: no FAILED registration, no duplicate AMI, nothing lost', async () => {
    const result = await runBurst({
      endpoint: inject('awsEndpoint'),
      region: 'ap-southeast-2',
      events: 50,
      competitor: 0.5,
      timeScale: 4,
    });
    expect(result.summary).toMatchObject({
      events: 50,
      amis: result.expected,
      failed: 0,
      duplicates: 0,
      deadLettered: 0,
      lost: 0,
    });
    expect(result.expected).toBe(45);
    // 45 registrations need 90 RegisterImage tokens; the budget's bucket holds 25.
    expect(result.deferred).toBeGreaterThan(0);
    expect(result.started).toBe(45);
  });
});
