/**
 * One EBS volume, planned at each place the contract lets a user describe one: the root
 * snapshot's volume tags, a `<p>device:` value naming a snapshot or an empty volume, and a
 * member of a multi-volume set. Shared by the limits' unit tests and their property test.
 */
import type { SnapshotGroup } from '#shared/contract/plan.ts';
import { planGroup } from '#shared/contract/plan.ts';
import type { ContractError, EbsMapping, PlannerSettings } from '#shared/contract/types.ts';
import type { Snapshot } from '#shared/snapshot.ts';
import { type Outcome, p, root, SETTINGS, snapshot } from '../../support/factories.ts';

export type Place = 'root' | 'device' | 'empty' | 'member';
export type Option = 'type' | 'size' | 'iops' | 'throughput';
export type Volume = Partial<Record<Option, string>>;

export const PLACES: readonly Place[] = ['root', 'device', 'empty', 'member'];

const TAG: Record<Option, string> = {
  type: 'volume-type',
  size: 'volume-size',
  iops: 'iops',
  throughput: 'throughput',
};
export const FIELD: Record<Option, string> = {
  type: 'VolumeType',
  size: 'VolumeSize',
  iops: 'Iops',
  throughput: 'Throughput',
};

export interface Planned {
  outcome: Outcome;
  group: SnapshotGroup;
  known: Map<string, Snapshot>;
  settings: PlannerSettings;
  /** The index of the mapping under test. */
  index: number;
  /** The tag an error about `option` must name. */
  tagOf(option: Option): string;
}

/**
 * Plans `volume` at `place`, made from a snapshot of `snapshotSize` GiB (unknown when undefined;
 * an empty volume has no snapshot, and its size option is required).
 */
export function planVolume(place: Place, volume: Volume, snapshotSize: number | undefined): Planned {
  const volumeTags = Object.fromEntries(
    Object.entries(volume).map(([option, value]) => [TAG[option as Option], value]),
  );
  const options = Object.entries(volume)
    .filter(([option]) => place !== 'empty' || option !== 'size')
    .map(([option, value]) => `:${option}=${value}`)
    .join('');
  const device = 'snap2ami:device:/dev/sdb';
  const byTag = (option: Option) => `snap2ami:${TAG[option]}`;
  const sized = { VolumeSize: snapshotSize };
  switch (place) {
    case 'root':
      return plan([root(volumeTags, sized)], 0, byTag);
    case 'device': {
      const data = snapshot(sized);
      return plan([root({ 'device:/dev/sdb': `${data.snapshotId}${options}` }), data], 1, () => device);
    }
    case 'empty':
      return plan([root({ 'device:/dev/sdb': `empty:size=${volume.size}${options}` })], 1, () => device);
    case 'member': {
      const member = snapshot({ ...sized, tags: p({ 'device-name': '/dev/sdf', ...volumeTags }) });
      return plan([root(), member], 1, byTag, true);
    }
  }
}

/** Plans the first snapshot (with the others known, or the whole set when `multiVolume`). */
function plan(
  snapshots: Snapshot[],
  index: number,
  tagOf: (option: Option) => string,
  multiVolume = false,
): Planned {
  const [first] = snapshots as [Snapshot];
  const known = new Map(snapshots.map((s) => [s.snapshotId, s]));
  const group = {
    snapshotIds: multiVolume ? snapshots.map((s) => s.snapshotId) : [first.snapshotId],
    multiVolume,
  };
  return { outcome: planGroup(group, known, SETTINGS), group, known, settings: SETTINGS, index, tagOf };
}

export function mappingOf({ outcome, index }: Planned): EbsMapping | undefined {
  if (!('plan' in outcome)) throw new Error(`expected a plan, got ${JSON.stringify(outcome)}`);
  return outcome.plan.request.BlockDeviceMappings[index]?.Ebs;
}

export function errorsOf({ outcome }: Planned): ContractError[] {
  if (!('rejected' in outcome)) throw new Error(`expected a rejection, got ${JSON.stringify(outcome)}`);
  return outcome.rejected.errors;
}
