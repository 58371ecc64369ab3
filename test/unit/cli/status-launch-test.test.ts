/** `snap2ami status` shows a registration's launch test (ADR 0012) as its record keeps it. */
import { describe, expect, it } from 'vitest';
import { launchTestOutcome } from '#shared/launch-test-outcome.ts';
import { formatStatus } from '../../../cli/format.ts';

const failed = {
  instanceId: 'i-0123456789abcdef0',
  instanceType: 't3.micro',
  result: 'failed' as const,
  reason: 'instance reachability check failed (impaired); console: …Kernel panic',
  seconds: 184,
};

describe('the launch test on a record', () => {
  it('is read from the JSON the workflow writes, and not from anything else', () => {
    expect(launchTestOutcome(JSON.stringify(failed))).toEqual(failed);
    for (const bad of [undefined, '', 'not JSON', '{}', JSON.stringify({ ...failed, result: 'maybe' })])
      expect(launchTestOutcome(bad)).toBeUndefined();
  });

  it('is a line of the status, with its result, type, instance, time and reason', () => {
    const text = formatStatus([
      { record: { key: 'k', status: 'FAILED', snapshotIds: ['snap-1'], attempts: 1, launchTest: failed } },
    ]);
    expect(text).toContain(
      'launch test failed on t3.micro (i-0123456789abcdef0) in 184 s: instance reachability check failed (impaired); console: …Kernel panic',
    );
    const without = formatStatus([
      { record: { key: 'k', status: 'COMPLETED', snapshotIds: ['snap-1'], attempts: 1 } },
    ]);
    expect(without).not.toContain('launch test');
  });
});
