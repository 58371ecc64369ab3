/**
 * The block device mappings of a plan, built in the contract's order: the root volume first,
 * then the root's `<p>device:` tags, then the members of a multi-volume set; then the checks
 * on the snapshots they name (owners, one Outpost). Each step appends to one `BlockDevices`,
 * which hands out device names once and knows the index of the mapping being built.
 */
import type { Snapshot } from '../snapshot.ts';
import { parseDeviceValue } from './devices.ts';
import { IMAGE_ONLY_KEYS, type KEYS } from './keys.ts';
import type { TagReader } from './reader.ts';
import type { BlockDeviceMapping, ContractError, PlannerSettings } from './types.ts';
import { DEVICE_NAME, WINDOWS_DEVICE_NAME } from './values.ts';
import { buildEbs, type VolumeContext, type VolumeOption, type VolumeSpec } from './volumes.ts';

/** The mappings built so far, the snapshots they name, and the device names taken. */
export class BlockDevices {
  readonly mappings: BlockDeviceMapping[] = [];
  /** Every snapshot the request names, the root first, in mapping order. */
  readonly sources: Snapshot[] = [];
  readonly rootDevice: string;
  readonly errors: ContractError[];
  /** Device name → the tag that claimed it. */
  private readonly used = new Map<string, string>();

  constructor(rootDevice: string, rootDeviceTag: string, errors: ContractError[]) {
    this.rootDevice = rootDevice;
    this.errors = errors;
    this.used.set(rootDevice, rootDeviceTag);
  }

  /** The field path of the mapping about to be added, such as `BlockDeviceMappings[2]`. */
  get next(): string {
    return `BlockDeviceMappings[${this.mappings.length}]`;
  }

  /** Takes `device` for `tag`; false (with an error) when it is not a device name or is taken. */
  claim(device: string, tag: string): boolean {
    const field = `${this.next}.DeviceName`;
    if (!DEVICE_NAME.test(device) && !WINDOWS_DEVICE_NAME.test(device)) {
      this.errors.push({
        tag,
        field,
        message: `${tag} names the device "${device}"; accepted: /dev/ followed by letters and digits (for example /dev/sdb), or xvd<letters>.`,
      });
      return false;
    }
    const previous = this.used.get(device);
    if (previous !== undefined) {
      const what = device === this.rootDevice ? 'the root device' : `the device of ${previous}`;
      this.errors.push({
        tag,
        field,
        message: `${tag} uses ${device}, which is already ${what}; accepted: a device name used once.`,
      });
      return false;
    }
    this.used.set(device, tag);
    return true;
  }
}

/** The root snapshot's volume, at the root device, from the root's volume tags. */
export function rootMapping(devices: BlockDevices, root: TagReader): void {
  const snapshot = root.snapshot;
  const ebs = buildEbs(
    volumeTags(root),
    tagVolumeContext(root, `${devices.next}.Ebs`, true, snapshot.volumeSize),
    devices.errors,
  );
  devices.mappings.push({ DeviceName: devices.rootDevice, Ebs: { SnapshotId: snapshot.snapshotId, ...ebs } });
  devices.sources.push(snapshot);
}

/** One mapping per `<p>device:<device-name>` tag of the root, in key order. */
export function deviceMappings(
  devices: BlockDevices,
  root: TagReader,
  known: ReadonlyMap<string, Snapshot>,
): void {
  const { errors } = devices;
  for (const [device, value] of root.devices) {
    const tag = `${root.prefix}device:${device}`;
    if (!devices.claim(device, tag)) continue;
    const field = devices.next;
    const parsed = parseDeviceValue(value, tag, field, errors);
    if (!parsed) continue;
    if (parsed.kind === 'none') {
      devices.mappings.push({ DeviceName: device, NoDevice: '' });
      continue;
    }
    if (parsed.kind === 'ephemeral') {
      devices.mappings.push({ DeviceName: device, VirtualName: parsed.virtualName });
      continue;
    }
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
      checkReferencedSnapshot(source, root.snapshot, tag, `${field}.Ebs.SnapshotId`, errors);
      devices.sources.push(source);
    }
    const ebs = buildEbs(
      parsed.options,
      optionVolumeContext(tag, `${field}.Ebs`, source?.volumeSize),
      errors,
    );
    devices.mappings.push({
      DeviceName: device,
      Ebs: source ? { SnapshotId: source.snapshotId, ...ebs } : ebs,
    });
  }
}

/** A snapshot named by a `<p>device:` value must be completed and of the root's account. */
function checkReferencedSnapshot(
  source: Snapshot,
  root: Snapshot,
  tag: string,
  field: string,
  errors: ContractError[],
): void {
  if (source.state !== 'completed') {
    errors.push({
      tag,
      field,
      message: `${tag} names snapshot ${source.snapshotId}, which is ${source.state ?? 'in an unknown state'}; accepted: a completed snapshot.`,
    });
  }
  if (source.ownerId !== root.ownerId) {
    errors.push({
      tag,
      field,
      message: `${tag} names snapshot ${source.snapshotId} of account ${source.ownerId}, not the root snapshot's account ${root.ownerId}; accepted: a snapshot of the same account.`,
    });
  }
}

/**
 * The other members of a multi-volume set: each joins at its own `<p>device-name`, with its own
 * volume tags; a member without that tag is left out, and a note says so, as it does for image
 * parameters on a member (read from the root only).
 */
export function memberMappings(
  devices: BlockDevices,
  members: readonly TagReader[],
  rootId: string,
  notes: string[],
): void {
  for (const member of members) {
    const memberId = member.snapshot.snapshotId;
    const device = member.get('device-name');
    devices.errors.push(...member.errors);
    const ignored = [
      ...IMAGE_ONLY_KEYS.filter((name) => member.has(name)).map((name) => member.tagKey(name)),
      ...[...member.devices.keys()].map((name) => `${member.prefix}device:${name}`),
      ...[...member.amiTags.keys()].map((tagKey) => `${member.prefix}tag:${tagKey}`),
      ...[...member.copyKmsKeys.keys()].map((region) => `${member.prefix}copy-kms-key:${region}`),
    ];
    if (ignored.length > 0)
      notes.push(
        `member ${memberId}: ${ignored.join(', ')} ignored; image parameters are read from the root snapshot ${rootId}.`,
      );
    if (device === undefined) {
      if (!member.has('device-name'))
        notes.push(
          `member ${memberId} has no ${member.tagKey('device-name')} tag, so it is left out of the image.`,
        );
      continue;
    }
    if (!devices.claim(device, member.tagKey('device-name'))) continue;
    const ebs = buildEbs(
      volumeTags(member),
      tagVolumeContext(member, `${devices.next}.Ebs`, false, member.snapshot.volumeSize),
      devices.errors,
    );
    devices.mappings.push({ DeviceName: device, Ebs: { SnapshotId: memberId, ...ebs } });
    devices.sources.push(member.snapshot);
  }
}

/**
 * The snapshots themselves: each owned by the pipeline's account or an allowed one, and all on
 * the root's Outpost (or all in the Region), whose ARN every snapshot mapping then carries.
 */
export function checkSources(devices: BlockDevices, root: Snapshot, settings: PlannerSettings): void {
  const { errors, mappings } = devices;
  for (const [index, source] of devices.sources.entries()) {
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
    if (index > 0 && source.outpostArn !== root.outpostArn) {
      errors.push({
        field: 'BlockDeviceMappings',
        message: `snapshot ${source.snapshotId} is ${where(source.outpostArn)} but the root snapshot ${root.snapshotId} is ${where(root.outpostArn)}; accepted: every snapshot on the same Outpost, or all in the Region.`,
      });
    }
  }
  if (root.outpostArn) {
    for (const mapping of mappings) if (mapping.Ebs?.SnapshotId) mapping.Ebs.OutpostArn = root.outpostArn;
  }
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

/** A snapshot's own volume tags (the root's, or a member's), as raw option texts. */
function volumeTags(reader: TagReader): VolumeSpec {
  return {
    type: reader.raw('volume-type'),
    size: reader.raw('volume-size'),
    iops: reader.raw('iops'),
    throughput: reader.raw('throughput'),
    delete: reader.raw('delete-on-termination'),
  };
}

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
