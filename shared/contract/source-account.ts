/**
 * Snapshots of another account (an allowed source account, or a member of the deployment's
 * organization): the pipeline does not register them as they are. EC2 documents RegisterImage
 * for snapshots the caller owns, and a shared snapshot's path as a copy the recipient owns
 * (docs/adr/0014-copy-then-register.md): the workflow's CopySourceSnapshots step copies each
 * one into the pipeline's account and registers the copies. The planner says which account the
 * snapshots came from (`plan.sourceAccount`), and resolves `<p>share-with=source` to it.
 */
import type { Snapshot } from '../snapshot.ts';
import type { Lifecycle, PlannerSettings } from './types.ts';

/**
 * The account the plan's snapshots came from when it is not the pipeline's own, else undefined.
 * Every snapshot of a plan has the root's owner (mappings.ts refuses a `<p>device:` snapshot of
 * another account), so the root's owner says it.
 */
export function sourceAccountOf(root: Snapshot, settings: PlannerSettings): string | undefined {
  const owner = root.ownerId;
  return owner !== undefined && owner !== settings.account ? owner : undefined;
}

/**
 * `<p>share-with=source` as launch permission for the account the snapshot came from; none for
 * the pipeline's own snapshot (the AMI is already its own). `source` never stays in a plan.
 */
export function resolveShareWithSource(
  lifecycle: Lifecycle | undefined,
  sourceAccount: string | undefined,
): void {
  const shareWith = lifecycle?.shareWith;
  if (lifecycle === undefined || shareWith?.source === undefined) return;
  const { source: _source, ...rest } = shareWith;
  const userIds = [...(rest.userIds ?? [])];
  if (sourceAccount !== undefined && !userIds.includes(sourceAccount)) userIds.push(sourceAccount);
  const resolved = { ...rest, ...(userIds.length > 0 && { userIds }) };
  if (Object.keys(resolved).length > 0) lifecycle.shareWith = resolved;
  else delete lifecycle.shareWith;
}

/** A note when `<p>share-with=source` names nobody: the snapshot is the pipeline's own. */
export function shareWithSourceNotes(
  lifecycle: Lifecycle | undefined,
  sourceAccount: string | undefined,
  tagKey: string,
): string[] {
  return lifecycle?.shareWith?.source && sourceAccount === undefined
    ? [`${tagKey}=source names nobody here: the snapshot is this pipeline's account's own.`]
    : [];
}
