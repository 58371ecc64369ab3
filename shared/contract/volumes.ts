/**
 * EBS volume rules, shared by the root volume (tags), `<p>device:` values (options) and set
 * members (their own tags): volume type, size, IOPS, throughput and delete-on-termination.
 */
import {
  EBS_LIMITS,
  GP3_BASELINE_IOPS,
  grouped,
  maxIops,
  maxThroughput,
  minIopsForThroughput,
  minSizeForIops,
  type VolumeLimits,
} from './ebs-limits.ts';
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

type ErrorFor = (option: VolumeOption, message: string) => void;

/**
 * One EBS mapping's fields from its options: read each value, check the combinations the
 * contract names, then the limits of the volume type; every problem is an error naming the tag.
 */
export function buildEbs(spec: VolumeSpec, context: VolumeContext, errors: ContractError[]): EbsMapping {
  /** Options that already have an error: the limit checks do not pile more onto them. */
  const rejected = new Set<VolumeOption>();
  const error: ErrorFor = (option, message) => {
    rejected.add(option);
    errors.push({ tag: context.tagOf(option), field: `${context.field}.${FIELD[option]}`, message });
  };
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

  if (!rejected.has('type')) {
    const checking: LimitCheck = { type, limits: EBS_LIMITS[type], spec, context, rejected, error };
    const volumeSize = checkSize(checking, size);
    const validIops = checkIops(checking, iops, volumeSize);
    checkThroughput(checking, throughput, validIops, volumeSize);
  }

  const ebs: EbsMapping = { VolumeType: type, DeleteOnTermination: deleteOnTermination };
  if (size !== undefined) ebs.VolumeSize = size;
  if (iops !== undefined) ebs.Iops = iops;
  if (throughput !== undefined) ebs.Throughput = throughput;
  return ebs;
}

/** What the limit checks of one mapping share. */
interface LimitCheck {
  type: VolumeType;
  limits: VolumeLimits;
  spec: VolumeSpec;
  context: VolumeContext;
  /** Options that already have an error. */
  rejected: ReadonlySet<VolumeOption>;
  error: ErrorFor;
}

/** The volume's size for the ratios, and how an error says where it comes from. */
interface VolumeSize {
  gib: number;
  /** "8 GiB, the snapshot's size" or "100 GiB". */
  text: string;
}

/**
 * The type's size range, for the given size (an error on the size option) or, without one, for
 * the snapshot's (an error on the type, whose range it is). Returns the size when it is valid.
 */
function checkSize(
  { type, limits, spec, context, rejected, error }: LimitCheck,
  size: number | undefined,
): VolumeSize | undefined {
  const { min, max } = limits.size;
  const range = `${grouped(min)} to ${grouped(max)} GiB`;
  if (spec.size !== undefined) {
    if (size === undefined || rejected.has('size')) return undefined;
    if (size >= min && size <= max) return { gib: size, text: `${grouped(size)} GiB` };
    const lowest = Math.max(min, context.snapshotSize ?? min);
    error(
      'size',
      `${context.describe('size', String(size))} is ${size < min ? 'below' : 'above'} the ${type} volume size range, ${range}; accepted: ${grouped(lowest)} to ${grouped(max)}.`,
    );
    return undefined;
  }
  const snapshotSize = context.snapshotSize;
  if (snapshotSize === undefined) return undefined;
  if (snapshotSize >= min && snapshotSize <= max)
    return { gib: snapshotSize, text: `${grouped(snapshotSize)} GiB, the snapshot's size` };
  const typeText =
    spec.type === undefined
      ? `the default volume type gp3 (${context.tagOf('type')} not set)`
      : context.describe('type', type);
  const remedy =
    snapshotSize < min
      ? `a size of ${range} (${context.describe('size', String(min))}, for example), or a type whose size range includes ${grouped(snapshotSize)} GiB`
      : `a type whose size range includes ${grouped(snapshotSize)} GiB`;
  error(
    'type',
    `${typeText}: ${type} volumes are ${range}, and without a size this one is the snapshot's ${grouped(snapshotSize)} GiB; accepted: ${remedy}.`,
  );
  return undefined;
}

/** The type's IOPS range and IOPS-per-GiB ratio. Returns the IOPS when they are given and valid. */
function checkIops(
  { type, limits, context, rejected, error }: LimitCheck,
  iops: number | undefined,
  size: VolumeSize | undefined,
): number | undefined {
  const rule = limits.iops;
  if (rule === undefined || iops === undefined || rejected.has('iops')) return undefined;
  const most = size === undefined ? rule.max : maxIops(rule, size.gib);
  if (iops >= rule.min && iops <= most) return iops;
  const ratio =
    rule.included > 0
      ? `above ${grouped(rule.included)}, at most ${grouped(rule.perGiB)} IOPS per GiB`
      : `at most ${grouped(rule.perGiB)} IOPS per GiB`;
  const why =
    iops < rule.min
      ? `is below the ${type} minimum of ${grouped(rule.min)} IOPS`
      : iops > rule.max
        ? `is above the ${type} maximum of ${grouped(rule.max)} IOPS`
        : `is more than ${type} accepts for ${size?.text} (${ratio})`;
  let accepted = `${span(rule.min, most)}${size === undefined ? '' : ` for ${size.text}`}`;
  if (iops > most && iops <= rule.max) {
    const smallest = minSizeForIops(rule, iops);
    accepted += `, or a size of at least ${grouped(smallest)} GiB for ${grouped(iops)} IOPS (${context.describe('size', String(smallest))})`;
  }
  if (iops > rule.max && most < rule.max) {
    const smallest = minSizeForIops(rule, rule.max);
    accepted += `, or up to ${grouped(rule.max)} with a size of at least ${grouped(smallest)} GiB`;
  }
  if (iops < rule.min && rule.included > 0) accepted += `, or leave it out for ${grouped(rule.included)}`;
  error('iops', `${context.describe('iops', String(iops))} ${why}; accepted: ${accepted}.`);
  return undefined;
}

/** The type's throughput range and throughput-per-IOPS ratio (the given IOPS, else the baseline). */
function checkThroughput(
  { limits, spec, context, rejected, error }: LimitCheck,
  throughput: number | undefined,
  iops: number | undefined,
  size: VolumeSize | undefined,
): void {
  const rule = limits.throughput;
  if (rule === undefined || throughput === undefined || rejected.has('throughput')) return;
  // Against IOPS that were given but rejected, the ratio would say nothing useful.
  const ratioKnown = spec.iops === undefined || iops !== undefined;
  const base = iops ?? GP3_BASELINE_IOPS;
  const most = ratioKnown ? maxThroughput(rule, base) : rule.max;
  if (throughput >= rule.min && throughput <= most) return;
  const baseText =
    iops !== undefined
      ? `${grouped(base)} IOPS`
      : `${grouped(base)} IOPS, the gp3 baseline without ${context.tagOf('iops')}`;
  const why =
    throughput < rule.min
      ? `is below the gp3 minimum of ${grouped(rule.min)} MiB/s`
      : throughput > rule.max
        ? `is above the gp3 maximum of ${grouped(rule.max)} MiB/s`
        : `is more than gp3 accepts for ${baseText} (above ${grouped(rule.included)} MiB/s, at most ${rule.perIops} MiB/s per IOPS)`;
  let accepted = `${span(rule.min, most)} MiB/s${ratioKnown ? ` for ${baseText}` : ''}`;
  if (throughput > most && throughput <= rule.max && ratioKnown) {
    const fewest = minIopsForThroughput(rule, throughput);
    const iopsRule = limits.iops;
    const fits = iopsRule !== undefined && fewest <= (size ? maxIops(iopsRule, size.gib) : iopsRule.max);
    if (fits)
      accepted += `, or at least ${grouped(fewest)} IOPS for ${grouped(throughput)} MiB/s (${context.describe('iops', String(fewest))})`;
  }
  error('throughput', `${context.describe('throughput', String(throughput))} ${why}; accepted: ${accepted}.`);
}

/** "3,000 to 4,000", or "3,000" when the two are one. */
function span(low: number, high: number): string {
  return low === high ? grouped(low) : `${grouped(low)} to ${grouped(high)}`;
}
