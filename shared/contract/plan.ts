/**
 * The planner: snapshots (and the groups events put them in) → RegisterImage requests, each
 * with its idempotency key, or the reasons a snapshot is skipped or rejected. Pure: the
 * pipeline and `snap2ami plan` call it with snapshots they looked up.
 */
import { idempotencyKey } from '../idempotency.ts';
import type { Snapshot } from '../snapshot.ts';
import { amiTags } from './ami-tags.ts';
import { parseDeviceValue } from './devices.ts';
import { IMAGE_ONLY_KEYS, type KEYS } from './keys.ts';
import { DEFAULT_NAME_TEMPLATE, renderName } from './name-template.ts';
import { TagReader } from './reader.ts';
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
import { DEVICE_NAME, WINDOWS_DEVICE_NAME } from './values.ts';
import { buildEbs, type VolumeContext, type VolumeOption, type VolumeSpec } from './volumes.ts';

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

function buildPlan(
  root: TagReader,
  members: readonly TagReader[],
  known: ReadonlyMap<string, Snapshot>,
  settings: PlannerSettings,
): Outcome {
  const notes: string[] = [];
  const errors: ContractError[] = [];
  const snapshot = root.snapshot;

  const architecture = root.get('architecture') ?? 'x86_64';
  const virtualization = root.get('virtualization-type') ?? 'hvm';
  const bootMode = root.get('boot-mode');
  const ena = root.get('ena-support');
  const sriov = root.get('sriov-net-support');
  const tpm = root.get('tpm-support');
  const imds = root.get('imds-support') ?? 'v2.0';
  const rootDevice = root.get('root-device-name') ?? '/dev/xvda';
  const kernelId = root.get('kernel-id');
  const ramdiskId = root.get('ramdisk-id');
  const billingProducts = root.get('billing-products');
  const platform = root.get('platform') ?? 'linux';
  const allowBillingCodeLoss = root.get('allow-billing-code-loss') ?? false;
  const description = root.get('description');
  const paravirtual = virtualization === 'paravirtual';

  if (bootMode === 'legacy-bios' && (architecture === 'arm64' || architecture === 'arm64_mac')) {
    root.conflict(
      'boot-mode',
      `${root.tagKey('boot-mode')}=legacy-bios is not accepted with architecture ${architecture}; accepted for ${architecture}: uefi or uefi-preferred, or leave it out.`,
    );
  }
  if (ena === true && paravirtual) {
    root.conflict(
      'ena-support',
      `${root.tagKey('ena-support')}=true is not accepted with paravirtual virtualization (an instance could become unreachable); accepted: false, or leave it out.`,
    );
  }
  if (sriov !== undefined && paravirtual) {
    root.conflict(
      'sriov-net-support',
      `${root.tagKey('sriov-net-support')} is not accepted with paravirtual virtualization; accepted: leave it out, or use hvm.`,
    );
  }
  if (tpm !== undefined && bootMode !== 'uefi' && bootMode !== 'uefi-preferred') {
    root.conflict(
      'tpm-support',
      `${root.tagKey('tpm-support')}=v2.0 needs ${root.tagKey('boot-mode')} uefi or uefi-preferred (it is ${bootMode ?? 'not set'}).`,
    );
  }
  for (const [name, value] of [
    ['kernel-id', kernelId],
    ['ramdisk-id', ramdiskId],
  ] as const) {
    if (value !== undefined && !paravirtual) {
      root.conflict(
        name,
        `${root.tagKey(name)} is only accepted with paravirtual virtualization, not hvm; accepted: leave it out for hvm images.`,
      );
    }
  }
  const rootDeviceTag = root.get('device-name');
  if (rootDeviceTag !== undefined && rootDeviceTag !== rootDevice) {
    root.conflict(
      'device-name',
      `${root.tagKey('device-name')}=${rootDeviceTag} on the root snapshot differs from its root device ${rootDevice}; accepted: set ${root.tagKey('root-device-name')}=${rootDeviceTag} (the root's device comes from that tag), or remove ${root.tagKey('device-name')}.`,
      'RootDeviceName',
    );
  }
  if (
    (platform === 'windows' || platform === 'rhel' || platform === 'sles') &&
    !billingProducts &&
    !allowBillingCodeLoss
  ) {
    root.conflict(
      'platform',
      `${root.tagKey('platform')}=${platform}: ${platform} checks its subscription through the billing product code of the AMI it was launched from, and RegisterImage from a snapshot does not carry it over (EC2 recommends CreateImage from an instance); accepted: set ${root.tagKey('billing-products')}, or ${root.tagKey('allow-billing-code-loss')}=true to register anyway.`,
    );
  }

  const template = root.raw('name') ?? DEFAULT_NAME_TEMPLATE;
  const rendered = renderName(template, snapshot, settings.account, settings.region);
  if (!rendered.ok) {
    errors.push({
      tag: root.tagKey('name'),
      field: 'Name',
      message: `${root.tagKey('name')}="${template}": ${rendered.message}.`,
    });
  }

  // Block devices: the root first, then <p>device: tags, then set members.
  const mappings: BlockDeviceMapping[] = [];
  const sources: Snapshot[] = [snapshot];
  const rootField = 'BlockDeviceMappings[0].Ebs';
  const rootSpec: VolumeSpec = {
    type: root.raw('volume-type'),
    size: root.raw('volume-size'),
    iops: root.raw('iops'),
    throughput: root.raw('throughput'),
    delete: root.raw('delete-on-termination'),
  };
  const rootEbs = buildEbs(rootSpec, tagVolumeContext(root, rootField, true, snapshot.volumeSize), errors);
  mappings.push({ DeviceName: rootDevice, Ebs: { SnapshotId: snapshot.snapshotId, ...rootEbs } });

  const used = new Map<string, string>([[rootDevice, root.tagKey('root-device-name')]]);
  const claim = (device: string, tag: string): boolean => {
    const field = `BlockDeviceMappings[${mappings.length}].DeviceName`;
    if (!DEVICE_NAME.test(device) && !WINDOWS_DEVICE_NAME.test(device)) {
      errors.push({
        tag,
        field,
        message: `${tag} names the device "${device}"; accepted: /dev/ followed by letters and digits (for example /dev/sdb), or xvd<letters>.`,
      });
      return false;
    }
    const previous = used.get(device);
    if (previous !== undefined) {
      const what = device === rootDevice ? 'the root device' : `the device of ${previous}`;
      errors.push({
        tag,
        field,
        message: `${tag} uses ${device}, which is already ${what}; accepted: a device name used once.`,
      });
      return false;
    }
    used.set(device, tag);
    return true;
  };

  for (const [device, value] of root.devices) {
    const tag = `${settings.prefix}device:${device}`;
    if (!claim(device, tag)) continue;
    const field = `BlockDeviceMappings[${mappings.length}]`;
    const parsed = parseDeviceValue(value, tag, field, errors);
    if (!parsed) continue;
    if (parsed.kind === 'none') mappings.push({ DeviceName: device, NoDevice: '' });
    else if (parsed.kind === 'ephemeral')
      mappings.push({ DeviceName: device, VirtualName: parsed.virtualName });
    else {
      let source: Snapshot | undefined;
      if (parsed.kind === 'snapshot') {
        source = known.get(parsed.snapshotId);
        if (!source) {
          errors.push({
            tag,
            field: `${field}.Ebs.SnapshotId`,
            message: `${tag} names snapshot ${parsed.snapshotId}, which was not found; accepted: a completed snapshot of the same account.`,
          });
          continue;
        }
        if (source.state !== 'completed') {
          errors.push({
            tag,
            field: `${field}.Ebs.SnapshotId`,
            message: `${tag} names snapshot ${parsed.snapshotId}, which is ${source.state ?? 'in an unknown state'}; accepted: a completed snapshot.`,
          });
        }
        if (source.ownerId !== snapshot.ownerId) {
          errors.push({
            tag,
            field: `${field}.Ebs.SnapshotId`,
            message: `${tag} names snapshot ${parsed.snapshotId} of account ${source.ownerId}, not the root snapshot's account ${snapshot.ownerId}; accepted: a snapshot of the same account.`,
          });
        }
        sources.push(source);
      }
      const ebs = buildEbs(
        parsed.options,
        optionVolumeContext(tag, `${field}.Ebs`, source?.volumeSize),
        errors,
      );
      mappings.push({ DeviceName: device, Ebs: source ? { SnapshotId: source.snapshotId, ...ebs } : ebs });
    }
  }

  for (const member of members) {
    const memberId = member.snapshot.snapshotId;
    const device = member.get('device-name');
    errors.push(...member.errors);
    const ignored = [
      ...IMAGE_ONLY_KEYS.filter((name) => member.has(name)).map((name) => member.tagKey(name)),
      ...[...member.devices.keys()].map((device) => `${settings.prefix}device:${device}`),
      ...[...member.amiTags.keys()].map((tagKey) => `${settings.prefix}tag:${tagKey}`),
    ];
    if (ignored.length > 0)
      notes.push(
        `member ${memberId}: ${ignored.join(', ')} ignored; image parameters are read from the root snapshot ${snapshot.snapshotId}.`,
      );
    if (device === undefined) {
      if (!member.has('device-name'))
        notes.push(
          `member ${memberId} has no ${member.tagKey('device-name')} tag, so it is left out of the image.`,
        );
      continue;
    }
    if (!claim(device, member.tagKey('device-name'))) continue;
    const spec: VolumeSpec = {
      type: member.raw('volume-type'),
      size: member.raw('volume-size'),
      iops: member.raw('iops'),
      throughput: member.raw('throughput'),
      delete: member.raw('delete-on-termination'),
    };
    const ebs = buildEbs(
      spec,
      tagVolumeContext(
        member,
        `BlockDeviceMappings[${mappings.length}].Ebs`,
        false,
        member.snapshot.volumeSize,
      ),
      errors,
    );
    mappings.push({ DeviceName: device, Ebs: { SnapshotId: memberId, ...ebs } });
    sources.push(member.snapshot);
  }

  // The snapshots themselves: owners, and one Outpost (or none) for all of them.
  for (const [index, source] of sources.entries()) {
    const owner = source.ownerId;
    if (
      owner === undefined ||
      (owner !== settings.account && !settings.allowedSourceAccounts.includes(owner))
    ) {
      errors.push({
        field: `BlockDeviceMappings[${mappingIndexOf(mappings, source.snapshotId)}].Ebs.SnapshotId`,
        message: `snapshot ${source.snapshotId} is owned by ${owner === undefined ? 'an unknown account' : `account ${owner}`}, which is neither this pipeline's account (${settings.account}) nor an allowed source account.`,
      });
    }
    if (index > 0 && source.outpostArn !== snapshot.outpostArn) {
      errors.push({
        field: 'BlockDeviceMappings',
        message: `snapshot ${source.snapshotId} is ${where(source.outpostArn)} but the root snapshot ${snapshot.snapshotId} is ${where(snapshot.outpostArn)}; accepted: every snapshot on the same Outpost, or all in the Region.`,
      });
    }
  }
  if (snapshot.outpostArn) {
    for (const mapping of mappings) if (mapping.Ebs?.SnapshotId) mapping.Ebs.OutpostArn = snapshot.outpostArn;
  }

  const snapshotIds = [...new Set(sources.map((source) => source.snapshotId))].sort();
  const key = idempotencyKey(settings.account, settings.region, snapshotIds);
  const tags = amiTags(root, key, notes);
  errors.unshift(...root.errors);
  if (errors.length > 0) return { rejected: { snapshotIds, errors } };

  const existing = root.raw('image-id');
  if (existing)
    notes.push(
      `${snapshot.snapshotId} is already tagged ${root.tagKey('image-id')}=${existing}; the pipeline registers at most one AMI per key.`,
    );

  const request: RegisterImageRequest = {
    Name: rendered.ok ? rendered.name : '',
    ...(description !== undefined && { Description: description }),
    Architecture: architecture,
    VirtualizationType: virtualization,
    ...(bootMode !== undefined && { BootMode: bootMode }),
    ...(paravirtual ? ena !== undefined && { EnaSupport: ena } : { EnaSupport: ena ?? true }),
    ...(sriov !== undefined && { SriovNetSupport: sriov }),
    ...(tpm !== undefined && { TpmSupport: tpm }),
    ...(imds === 'v2.0' && { ImdsSupport: imds }),
    RootDeviceName: rootDevice,
    ...(kernelId !== undefined && { KernelId: kernelId }),
    ...(ramdiskId !== undefined && { RamdiskId: ramdiskId }),
    ...(billingProducts !== undefined && { BillingProducts: billingProducts }),
    BlockDeviceMappings: mappings,
    TagSpecifications: [{ ResourceType: 'image', Tags: tags }],
  };
  return { plan: { key, snapshotIds, request, notes } };
}

function where(outpostArn: string | undefined): string {
  return outpostArn ? `on Outpost ${outpostArn}` : 'in the Region';
}

function mappingIndexOf(mappings: readonly BlockDeviceMapping[], snapshotId: string): number {
  return Math.max(
    0,
    mappings.findIndex((mapping) => mapping.Ebs?.SnapshotId === snapshotId),
  );
}

const TAG_OF_OPTION: Record<VolumeOption, keyof typeof KEYS> = {
  type: 'volume-type',
  size: 'volume-size',
  iops: 'iops',
  throughput: 'throughput',
  delete: 'delete-on-termination',
};

function tagVolumeContext(
  reader: TagReader,
  field: string,
  root: boolean,
  snapshotSize: number | undefined,
): VolumeContext {
  return {
    field,
    root,
    snapshotSize,
    tagOf: (option) => reader.tagKey(TAG_OF_OPTION[option]),
    describe: (option, raw) => `${reader.tagKey(TAG_OF_OPTION[option])}="${raw}"`,
  };
}

function optionVolumeContext(tag: string, field: string, snapshotSize: number | undefined): VolumeContext {
  return {
    field,
    root: false,
    snapshotSize,
    tagOf: () => tag,
    describe: (option, raw) => `${option}=${raw} in ${tag}`,
  };
}
