/**
 * `<p>device:<device-name>` values: `snap-<id>[:opt=v…]`, `empty:size=<GiB>[:opt=v…]`,
 * `ephemeral<N>` and `none`.
 */
import { isSnapshotId } from '../snapshot-ref.ts';
import type { ContractError } from './types.ts';
import type { VolumeSpec } from './volumes.ts';

export type DeviceValue =
  | { kind: 'snapshot'; snapshotId: string; options: VolumeSpec }
  | { kind: 'empty'; options: VolumeSpec }
  | { kind: 'ephemeral'; virtualName: string }
  | { kind: 'none' };

export const DEVICE_VALUE_ACCEPTED =
  'snap-<id>[:option=value…], empty:size=<GiB>[:option=value…], ephemeral<N> (0 to 23) or none, with options size, type, iops, throughput, delete';

const OPTIONS: Record<string, keyof VolumeSpec> = {
  size: 'size',
  type: 'type',
  iops: 'iops',
  throughput: 'throughput',
  delete: 'delete',
};

/** Parses a device value; on failure pushes errors (naming `tag` and `field`) and returns undefined. */
export function parseDeviceValue(
  value: string,
  tag: string,
  field: string,
  errors: ContractError[],
): DeviceValue | undefined {
  const fail = (why: string) => {
    errors.push({ tag, field, message: `${tag}="${value}" ${why}; accepted: ${DEVICE_VALUE_ACCEPTED}.` });
    return undefined;
  };
  if (value === 'none') return { kind: 'none' };
  const ephemeral = /^ephemeral(\d+)$/.exec(value);
  if (ephemeral) {
    return Number(ephemeral[1]) <= 23
      ? { kind: 'ephemeral', virtualName: value }
      : fail('names an instance store volume beyond ephemeral23');
  }
  const [head = '', ...parts] = value.split(':');
  if (head !== 'empty' && !isSnapshotId(head)) return fail('is not a device value');
  const options: VolumeSpec = {};
  for (const part of parts) {
    const eq = part.indexOf('=');
    const name = eq < 0 ? part : part.slice(0, eq);
    const option = Object.hasOwn(OPTIONS, name) ? OPTIONS[name] : undefined;
    if (eq < 0 || option === undefined)
      return fail(`has "${part}", which is not an option=value pair of a known option`);
    if (options[option] !== undefined) return fail(`gives the option ${name} twice`);
    options[option] = part.slice(eq + 1);
  }
  if (head === 'empty') {
    return options.size === undefined
      ? fail('describes an empty volume without size=<GiB>')
      : { kind: 'empty', options };
  }
  return { kind: 'snapshot', snapshotId: head, options };
}
