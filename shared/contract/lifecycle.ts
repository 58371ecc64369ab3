/**
 * Distribution and lifecycle (tag contract v2): what happens to the AMI once it is available,
 * read from the root snapshot's tags into the plan's `lifecycle`, with the fields that are set
 * and no others. The planner validates them with the rest of the plan; the workflow carries
 * them out (copies, sharing, SSM parameters, deprecation, protection, retention:
 * functions/lifecycle, docs/adr/0008-distribution-and-lifecycle.md).
 */
import { LIFECYCLE_KEYS } from './keys.ts';
import type { TagReader } from './reader.ts';
import type { Lifecycle, PlannerSettings } from './types.ts';
import { kmsKey } from './values.ts';

/**
 * The plan's `lifecycle` when the root uses any lifecycle tag, else undefined. Invalid values
 * and combinations record errors on the reader.
 */
export function readLifecycle(root: TagReader, settings: PlannerSettings): Lifecycle | undefined {
  const copyTo = root.get('copy-to');
  const shareWith = root.get('share-with');
  const ssmParameter = root.get('ssm-parameter');
  const deprecateAfterDays = root.get('deprecate-after');
  const protection = root.get('deregistration-protection');
  const family = root.get('family');
  const retain = root.get('retain');
  const retainDeleteSnapshots = root.get('retain-delete-snapshots');
  const retainGraceDays = root.get('retain-grace');

  if (copyTo?.includes(settings.region)) {
    root.conflict(
      'copy-to',
      `${root.tagKey('copy-to')}="${root.raw('copy-to')}" names ${settings.region}, the pipeline's own Region, where the AMI is registered; accepted: other Regions only.`,
    );
  }
  const kmsKeys = copyKmsKeys(root, copyTo);
  if (retain !== undefined && !root.has('family')) {
    root.conflict(
      'retain',
      `${root.tagKey('retain')}="${root.raw('retain')}" needs ${root.tagKey('family')}: retention keeps the newest AMIs of a family; accepted: set ${root.tagKey('family')}, or remove ${root.tagKey('retain')}.`,
    );
  }

  const used = LIFECYCLE_KEYS.some((name) => root.has(name)) || root.copyKmsKeys.size > 0;
  if (!used) return undefined;
  const lifecycle: Lifecycle = {};
  if (copyTo !== undefined)
    lifecycle.copyTo = copyTo.map((region) => {
      const kmsKeyId = kmsKeys.get(region);
      return kmsKeyId === undefined ? { region } : { region, kmsKeyId };
    });
  if (shareWith !== undefined) lifecycle.shareWith = shareWith;
  if (ssmParameter !== undefined) lifecycle.ssmParameter = ssmParameter;
  if (deprecateAfterDays !== undefined) lifecycle.deprecateAfterDays = deprecateAfterDays;
  if (protection !== undefined && protection !== 'off') lifecycle.deregistrationProtection = protection;
  if (family !== undefined) lifecycle.family = family;
  if (retain !== undefined) lifecycle.retain = retain;
  if (retainDeleteSnapshots !== undefined) lifecycle.retainDeleteSnapshots = retainDeleteSnapshots;
  if (retainGraceDays !== undefined && retainGraceDays > 0) lifecycle.retainGraceDays = retainGraceDays;
  return lifecycle;
}

/** `<p>copy-kms-key:<region>` tags: each a KMS key, for a Region that `<p>copy-to` names. */
function copyKmsKeys(root: TagReader, copyTo: readonly string[] | undefined): Map<string, string> {
  const keys = new Map<string, string>();
  for (const [region, value] of root.copyKmsKeys) {
    const tag = `${root.prefix}copy-kms-key:${region}`;
    const field = 'lifecycle.copyTo[].kmsKeyId';
    if (kmsKey.parse(value) === undefined) {
      root.errors.push({
        tag,
        field,
        message: `${tag}="${value}" is not accepted for ${field}; accepted: ${kmsKey.accepted}.`,
      });
    } else if (copyTo === undefined ? !root.has('copy-to') : !copyTo.includes(region)) {
      root.errors.push({
        tag,
        field,
        message: `${tag} is for ${region}, which ${root.tagKey('copy-to')} does not name; accepted: a copy-kms-key tag for each Region in ${root.tagKey('copy-to')}${copyTo ? ` (${copyTo.join(', ')})` : ''}, or add ${region} to it.`,
      });
    } else keys.set(region, value);
  }
  return keys;
}

/** Notes on a plan's lifecycle: tags without effect. (The workflow carries the lifecycle out: ADR 0008.) */
export function lifecycleNotes(root: TagReader, lifecycle: Lifecycle | undefined): string[] {
  if (lifecycle === undefined) return [];
  const notes: string[] = [];
  if (lifecycle.retainDeleteSnapshots !== undefined && lifecycle.retain === undefined)
    notes.push(`${root.tagKey('retain-delete-snapshots')} has no effect without ${root.tagKey('retain')}.`);
  if (lifecycle.retainGraceDays !== undefined && lifecycle.retain === undefined)
    notes.push(`${root.tagKey('retain-grace')} has no effect without ${root.tagKey('retain')}.`);
  return notes;
}
