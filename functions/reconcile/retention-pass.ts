/**
 * The reconciler's retention pass: a family whose retention did not finish (the retain step
 * failed after its retries, or crashed and left no answer) keeps a pending item in the records
 * table (functions/lifecycle/retention-item.ts). Without this pass only the family's next
 * success would apply its retention, and a family that never registers again would keep its
 * old AMIs forever. Each run takes the oldest few pending items that have settled (no retain
 * step can still be running them), claims each (a conditional write: another run, or a newer
 * success of the family, wins), runs the lifecycle's own retention with the stored rule and
 * images, and marks it done. A failure leaves the item pending with its reason, for a later run.
 * docs/adr/0008-distribution-and-lifecycle.md.
 */
import { applyRetention } from '../lifecycle/retention.ts';
import {
  claimRetention,
  closeRetention,
  noteRetentionFailure,
  type PendingRetention,
  pendingRetention,
  type RetentionItemDeps,
} from '../lifecycle/retention-item.ts';
import type { RetentionDeps } from '../lifecycle/types.ts';
import type {
  ReconcileDeps,
  ReconcileOptions,
  ReconcileReport,
  RetentionEntry,
  RetentionReport,
} from './types.ts';

export type { RetentionAction, RetentionEntry, RetentionReport } from './types.ts';

/** Families whose retention one run applies: each is a few calls per Region, within the function's 120 s. */
export const MAX_RETENTION_FAMILIES = 10;
/**
 * A pending item younger than this may belong to a retain step still at work: the lifecycle
 * function's timeout (60 s) plus ApplyRetention's longest wait between retries (120 s), with
 * room to spare. Each retry writes the item again, so its age counts from the latest attempt.
 */
export const RETENTION_SETTLE_SECONDS = 300;

export const emptyRetentionReport = (): RetentionReport => ({
  found: 0,
  applied: 0,
  failed: 0,
  families: [],
});

export async function retentionPass(
  deps: ReconcileDeps,
  options: ReconcileOptions,
  report: ReconcileReport,
): Promise<void> {
  const now = () => deps.now?.() ?? new Date();
  const { dynamo, table, ec2In, ssmIn } = deps;
  const { prefix, region } = deps.settings;
  const retentionDeps = { dynamo, table, ec2In, ssmIn, prefix, region, now };
  const settleSeconds = options.retentionSettleSeconds ?? RETENTION_SETTLE_SECONDS;
  const settled = new Date(now().getTime() - settleSeconds * 1000).toISOString();
  const limit = options.maxFamilies ?? MAX_RETENTION_FAMILIES;
  const items = await pendingRetention(retentionDeps, settled, limit);
  const attempt = `reconciler:${deps.newId?.() ?? crypto.randomUUID()}`;
  for (const item of items) {
    report.retention.found += 1;
    const entry = await retainAgain(item, attempt, options.dryRun === true, retentionDeps);
    if (entry.action === 'applied') report.retention.applied += 1;
    if (entry.action === 'failed') {
      report.retention.failed += 1;
      report.errors.push(`retention of the family ${entry.family}: ${entry.error}`);
    }
    report.retention.families.push(entry);
    deps.log.info({ message: `retention: ${entry.action}`, ...entry });
  }
}

async function retainAgain(
  item: PendingRetention,
  attempt: string,
  dryRun: boolean,
  deps: RetentionDeps & RetentionItemDeps,
): Promise<RetentionEntry> {
  const { family } = item.work.lifecycle;
  const entry = {
    family,
    key: item.work.key,
    imageId: item.work.imageId,
    ...(item.error && { previousError: item.error }),
  };
  if (!dryRun && !(await claimRetention(item, attempt, deps)))
    return { ...entry, action: 'changed meanwhile' };
  try {
    // No image of its own: a registration that kept its image beyond the rule left it to this pass.
    const result = await applyRetention(item.work, deps, { dryRun });
    const beyond = result.kept.filter((k) => k.reason !== 'newest');
    const outcome = {
      deregistered: result.deregistered,
      ...(result.disabled.length > 0 && { disabled: result.disabled }),
      ...(beyond.length > 0 && { kept: beyond }),
      ...(result.pending && { pending: true as const }),
    };
    if (dryRun) return { ...entry, action: 'would apply', ...outcome };
    await closeRetention(family, attempt, result, deps);
    return { ...entry, action: 'applied', ...outcome };
  } catch (error) {
    if (!dryRun) await noteRetentionFailure(family, attempt, error, deps);
    return { ...entry, action: 'failed', error: `${(error as Error).name}: ${(error as Error).message}` };
  }
}
