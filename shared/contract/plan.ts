/**
 * The planner: snapshots (and the groups events put them in) → RegisterImage requests, each
 * with its idempotency key, or the reasons a snapshot is skipped or rejected. Pure: the
 * pipeline and `snap2ami plan` call it with snapshots they looked up.
 */
import { idempotencyKey } from '../idempotency.ts';
import type { Snapshot } from '../snapshot.ts';
import { amiTags } from './ami-tags.ts';
import { checkBounds } from './bounds.ts';
import {
  billingCheck,
  billingCheckNotes,
  checkParameterConflicts,
  type ImageParameters,
  readImageParameters,
} from './image-parameters.ts';
import { launchTestNotes, readLaunchTest } from './launch-test.ts';
import { lifecycleNotes, readLifecycle } from './lifecycle.ts';
import { BlockDevices, checkSources, deviceMappings, memberMappings, rootMapping } from './mappings.ts';
import { DEFAULT_NAME_TEMPLATE, renderName } from './name-template.ts';
import { TagReader } from './reader.ts';
import { resolveShareWithSource, shareWithSourceNotes, sourceAccountOf } from './source-account.ts';
import type {
  BlockDeviceMapping,
  ContractError,
  Plan,
  PlannerSettings,
  PlanReport,
  RegisterImageRequest,
  Rejected,
  Skipped,
} from './types.ts';

/** Snapshots that arrived together: one snapshot, or the members of a multi-volume set. */
export interface SnapshotGroup {
  snapshotIds: string[];
  /** A `createSnapshots` set: the root is the member tagged `<p>register=true`. */
  multiVolume: boolean;
}

type Outcome = { plan: Plan } | { skipped: Skipped } | { rejected: Rejected };

/** Plans every group; `known` holds every snapshot looked up (members and referenced ones). */
export function planGroups(
  groups: readonly SnapshotGroup[],
  known: ReadonlyMap<string, Snapshot>,
  settings: PlannerSettings,
): PlanReport {
  const report: PlanReport = { plans: [], skipped: [], rejected: [] };
  for (const group of groups) {
    const outcome = planGroup(group, known, settings);
    if ('plan' in outcome) report.plans.push(outcome.plan);
    else if ('skipped' in outcome) report.skipped.push(outcome.skipped);
    else report.rejected.push(outcome.rejected);
  }
  return report;
}

/** `snap2ami plan` without an event: every snapshot is a root of its own. */
export function planSnapshots(snapshots: readonly Snapshot[], settings: PlannerSettings): PlanReport {
  const known = new Map(snapshots.map((snapshot) => [snapshot.snapshotId, snapshot]));
  const groups = snapshots.map((snapshot) => ({ snapshotIds: [snapshot.snapshotId], multiVolume: false }));
  return planGroups(groups, known, settings);
}

export function planGroup(
  group: SnapshotGroup,
  known: ReadonlyMap<string, Snapshot>,
  settings: PlannerSettings,
): Outcome {
  const ids = [...new Set(group.snapshotIds)].sort();
  const missing = ids.filter((id) => !known.has(id));
  if (missing.length > 0) {
    return {
      rejected: {
        snapshotIds: ids,
        errors: missing.map((id) => ({
          message: `snapshot ${id} was not found: it does not exist, or this account cannot see it.`,
        })),
      },
    };
  }
  const members = ids.map((id) => known.get(id) as Snapshot);
  const readers = members.map((member) => new TagReader(member, settings.prefix));
  const optIns = readers.map((reader) => reader.get('register'));
  const invalid = readers.flatMap((reader) =>
    reader.errors.filter((error) => error.tag === reader.tagKey('register')),
  );
  if (invalid.length > 0) return { rejected: { snapshotIds: ids, errors: invalid } };

  const rootIndexes = optIns.flatMap((optIn, index) => (optIn === true ? [index] : []));
  const registerTag = `${settings.prefix}register`;
  if (rootIndexes.length === 0) {
    const reason = group.multiVolume
      ? `no member of the multi-volume set is tagged ${registerTag}=true`
      : optIns[0] === false
        ? `${registerTag} is false`
        : `not opted in: no ${registerTag}=true tag`;
    return { skipped: { snapshotIds: ids, reason } };
  }
  if (rootIndexes.length > 1) {
    const roots = rootIndexes.map((index) => ids[index]).join(', ');
    return {
      rejected: {
        snapshotIds: ids,
        errors: [
          {
            tag: registerTag,
            field: '(opt-in)',
            message: `${rootIndexes.length} members of the multi-volume set (${roots}) are tagged ${registerTag}=true; accepted: exactly one, the root snapshot.`,
          },
        ],
      },
    };
  }
  const notCompleted = members.filter((member) => member.state !== 'completed');
  if (notCompleted.length > 0) {
    const states = notCompleted.map(
      (member) => `${member.snapshotId} is ${member.state ?? 'in an unknown state'}`,
    );
    return { skipped: { snapshotIds: ids, reason: `not completed: ${states.join(', ')}` } };
  }
  const rootIndex = rootIndexes[0] as number;
  const others = readers.filter((_, index) => index !== rootIndex);
  return buildPlan(readers[rootIndex] as TagReader, others, known, settings);
}

/**
 * One root (and the other members of its set) → a plan, or every reason it is rejected. The
 * errors come in this order: the root's tags (unknown keys, values, combinations, lifecycle,
 * launch test, the deployment's bounds, AMI tags), the name, then the mappings in device order,
 * then the snapshots' owners and Outposts.
 */
function buildPlan(
  root: TagReader,
  members: readonly TagReader[],
  known: ReadonlyMap<string, Snapshot>,
  settings: PlannerSettings,
): Outcome {
  const errors: ContractError[] = [];
  const notes: string[] = [];
  const image = readImageParameters(root);
  checkParameterConflicts(root, image);
  const lifecycle = readLifecycle(root, settings);
  const launchTest = readLaunchTest(root, image, settings.bounds?.launchTest);
  if (settings.bounds) checkBounds(root, image.uefiData, lifecycle, settings.bounds);
  const name = imageName(root, settings, errors);

  const devices = new BlockDevices(image.rootDevice, root.tagKey('root-device-name'), errors);
  rootMapping(devices, root);
  deviceMappings(devices, root, known);
  memberMappings(devices, members, root.snapshot.snapshotId, notes);
  checkSources(devices, root.snapshot, settings);

  const snapshotIds = [...new Set(devices.sources.map((source) => source.snapshotId))].sort();
  const key = idempotencyKey(settings.account, settings.region, snapshotIds);
  const tags = amiTags(root, key, lifecycle?.family, notes);
  errors.unshift(...root.errors);
  if (errors.length > 0 || name === undefined) return { rejected: { snapshotIds, errors } };

  const uefiDataSource = image.uefiData;
  const check = billingCheck(image);
  const sourceAccount = sourceAccountOf(root.snapshot, settings);
  notes.push(...shareWithSourceNotes(lifecycle, sourceAccount, root.tagKey('share-with')));
  resolveShareWithSource(lifecycle, sourceAccount);
  notes.push(
    ...alreadyRegisteredNotes(root),
    ...billingCheckNotes(root, check),
    ...lifecycleNotes(root, lifecycle),
    ...launchTestNotes(root, launchTest),
  );
  const request = registerImageRequest(image, name, devices.mappings, tags);
  return {
    plan: {
      key,
      snapshotIds,
      request,
      notes,
      ...(uefiDataSource !== undefined && { uefiDataSource }),
      ...(sourceAccount !== undefined && { sourceAccount }),
      ...(lifecycle && { lifecycle }),
      ...(check && { billingCheck: check }),
      ...(launchTest && { launchTest }),
    },
  };
}

/** The AMI name from the `<p>name` template; undefined (with an error) when it cannot be rendered. */
function imageName(root: TagReader, settings: PlannerSettings, errors: ContractError[]): string | undefined {
  const template = root.raw('name') ?? DEFAULT_NAME_TEMPLATE;
  const rendered = renderName(template, root.snapshot, settings.account, settings.region);
  if (rendered.ok) return rendered.name;
  errors.push({
    tag: root.tagKey('name'),
    field: 'Name',
    message: `${root.tagKey('name')}="${template}": ${rendered.message}.`,
  });
  return undefined;
}

/** A root already tagged `<p>image-id` was registered before: say that the key guards against a second AMI. */
function alreadyRegisteredNotes(root: TagReader): string[] {
  const existing = root.raw('image-id');
  return existing
    ? [
        `${root.snapshot.snapshotId} is already tagged ${root.tagKey('image-id')}=${existing}; the pipeline registers at most one AMI per key.`,
      ]
    : [];
}

/** The RegisterImage input: defaults that avoid EC2's traps, everything unset left out (never null). */
function registerImageRequest(
  image: ImageParameters,
  name: string,
  mappings: BlockDeviceMapping[],
  tags: { Key: string; Value: string }[],
): RegisterImageRequest {
  const paravirtual = image.virtualization === 'paravirtual';
  const { description, bootMode, ena, sriov, tpm, imds, kernelId, ramdiskId, billingProducts } = image;
  return {
    Name: name,
    ...(description !== undefined && { Description: description }),
    Architecture: image.architecture,
    VirtualizationType: image.virtualization,
    ...(bootMode !== undefined && { BootMode: bootMode }),
    ...(paravirtual ? ena !== undefined && { EnaSupport: ena } : { EnaSupport: ena ?? true }),
    ...(sriov !== undefined && { SriovNetSupport: sriov }),
    ...(tpm !== undefined && { TpmSupport: tpm }),
    ...(imds === 'v2.0' && { ImdsSupport: imds }),
    RootDeviceName: image.rootDevice,
    ...(kernelId !== undefined && { KernelId: kernelId }),
    ...(ramdiskId !== undefined && { RamdiskId: ramdiskId }),
    ...(billingProducts !== undefined && { BillingProducts: billingProducts }),
    BlockDeviceMappings: mappings,
    TagSpecifications: [{ ResourceType: 'image', Tags: tags }],
  };
}
