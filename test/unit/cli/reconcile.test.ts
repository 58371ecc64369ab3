/** `snap2ami reconcile`'s summary line: its counts add up (a rejected stray is a stray found). */
import { describe, expect, it } from 'vitest';
import { formatReconcile } from '../../../cli/reconcile.ts';
import type { ReconcileReport, StraySnapshot } from '../../../functions/reconcile/reconcile.ts';
import { emptyRetentionReport } from '../../../functions/reconcile/retention-pass.ts';

const stray = (snapshotId: string, action: StraySnapshot['action']): StraySnapshot => ({
  snapshotId,
  action,
  detail: action,
});

function report(strays: Partial<ReconcileReport['strays']>, dryRun = false): ReconcileReport {
  return {
    dryRun,
    stuck: { examined: 0, found: 0, finished: 0, records: [] },
    strays: {
      examined: 5,
      found: 0,
      sent: 0,
      rejected: 0,
      unsure: 0,
      snapshots: [],
      passComplete: true,
      ...strays,
    },
    retention: emptyRetentionReport(),
    errors: [],
  };
}

describe('the strays in the summary', () => {
  it('counts a rejected stray among the strays found', () => {
    const text = formatReconcile(
      report({ rejected: 1, snapshots: [stray('snap-0123456789abcdef0', 'rejected')] }),
    );
    expect(text).toContain('1 strays found: 0 sent, 1 rejected by the tag contract');
  });

  it('adds up sent, failed and rejected', () => {
    const text = formatReconcile(
      report({
        found: 3,
        sent: 2,
        rejected: 1,
        snapshots: [
          stray('snap-00000000000000001', 'sent'),
          stray('snap-00000000000000002', 'sent'),
          stray('snap-00000000000000003', 'failed'),
          stray('snap-00000000000000004', 'rejected'),
        ],
      }),
    );
    expect(text).toContain('4 strays found: 2 sent, 1 failed to send, 1 rejected by the tag contract');
  });

  it('in a dry run, says what would be sent', () => {
    const text = formatReconcile(report({ found: 2, rejected: 1 }, true));
    expect(text).toContain('dry run, nothing changed: ');
    expect(text).toContain('3 strays found: 2 would be sent, 1 rejected by the tag contract');
  });
});
