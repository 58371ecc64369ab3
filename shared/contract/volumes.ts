/**
 * EBS volume rules, shared by the root volume (tags), `<p>device:` values (options) and set
 * members (their own tags): volume type, size, IOPS, throughput and delete-on-termination.
 */
import type { ContractError, EbsMapping } from './types.ts';
import { bool, oneOf, positiveInt, type ValueRule, VOLUME_TYPES, type VolumeType } from './values.ts';

/** Raw option texts, before validation. */
export interface VolumeSpec {
  type?: string | undefined;
  size?: string | undefined;
  iops?: string | undefined;
  throughput?: string | undefined;
  delete?: string | undefined;
}

export type VolumeOption = keyof VolumeSpec;

export interface VolumeContext {
  /** The mapping's field path, such as `BlockDeviceMappings[0].Ebs`. */
  field: string;
  /** Whether the volume is the root volume (st1 and sc1 are not bootable). */
  root: boolean;
  /** The size of the snapshot the volume is made from, if any. */
  snapshotSize?: number | undefined;
  /** The tag that carried the option, for error messages. */
  tagOf(option: VolumeOption): string;
  /** How the option was written, such as `snap2ami:volume-type="io2"` or `type=io2 in snap2ami:device:/dev/sdb`. */
  describe(option: VolumeOption, raw: string): string;
}

const FIELD: Record<VolumeOption, string> = {
  type: 'VolumeType',
  size: 'VolumeSize',
  iops: 'Iops',
  throughput: 'Throughput',
  delete: 'DeleteOnTermination',
};

const IOPS_TYPES: readonly string[] = ['io1', 'io2', 'gp3'];

export function buildEbs(spec: VolumeSpec, context: VolumeContext, errors: ContractError[]): EbsMapping {
  const error = (option: VolumeOption, message: string) =>
    errors.push({ tag: context.tagOf(option), field: `${context.field}.${FIELD[option]}`, message });
  const read = <T>(option: VolumeOption, rule: ValueRule<T>): T | undefined => {
    const raw = spec[option];
    if (raw === undefined) return undefined;
    const value = rule.parse(raw);
    if (value === undefined) {
      error(
        option,
        `${context.describe(option, raw)} is not accepted for ${context.field}.${FIELD[option]}; accepted: ${rule.accepted}.`,
      );
    }
    return value;
  };

  const type: VolumeType = read('type', oneOf(VOLUME_TYPES)) ?? 'gp3';
  const size = read('size', positiveInt);
  const iops = read('iops', positiveInt);
  const throughput = read('throughput', positiveInt);
  const deleteOnTermination = read('delete', bool) ?? true;

  if (context.root && (type === 'st1' || type === 'sc1')) {
    error(
      'type',
      `${context.describe('type', type)}: ${type} volumes are not bootable; the root volume accepts standard, io1, io2, gp2 or gp3.`,
    );
  }
  if (size !== undefined && context.snapshotSize !== undefined && size < context.snapshotSize) {
    error(
      'size',
      `${context.describe('size', String(size))} is smaller than the snapshot (${context.snapshotSize} GiB); accepted: ${context.snapshotSize} or more, or leave it out to use the snapshot's size.`,
    );
  }
  if ((type === 'io1' || type === 'io2') && spec.iops === undefined) {
    error('iops', `${type} volumes need provisioned IOPS: set ${context.describe('iops', '<number>')}.`);
  }
  if (spec.iops !== undefined && !IOPS_TYPES.includes(type)) {
    error(
      'iops',
      `${context.describe('iops', spec.iops)} is only accepted for io1, io2 and gp3 volumes, not ${type}.`,
    );
  }
  if (spec.throughput !== undefined && type !== 'gp3') {
    error(
      'throughput',
      `${context.describe('throughput', spec.throughput)} is only accepted for gp3 volumes, not ${type}.`,
    );
  }

  const ebs: EbsMapping = { VolumeType: type, DeleteOnTermination: deleteOnTermination };
  if (size !== undefined) ebs.VolumeSize = size;
  if (iops !== undefined) ebs.Iops = iops;
  if (throughput !== undefined) ebs.Throughput = throughput;
  return ebs;
}
