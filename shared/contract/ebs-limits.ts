/**
 * The tag contract's "EBS limits per volume type" table (v2, the values EC2 enforces since
 * 2025), as data, and the arithmetic its ratios need. One place for these numbers: the
 * planner's checks and its error messages read them from here.
 */
import type { VolumeType } from './values.ts';

export interface IopsLimits {
  min: number;
  max: number;
  /** At most this many IOPS per GiB of size… */
  perGiB: number;
  /** …except that this many are always accepted (gp3's baseline), whatever the size. */
  included: number;
}

export interface ThroughputLimits {
  min: number;
  max: number;
  /** At most this many MiB/s per IOPS… */
  perIops: number;
  /** …except that this much is always accepted (gp3's baseline). */
  included: number;
}

export interface VolumeLimits {
  /** Size in GiB. */
  size: { min: number; max: number };
  /** Absent: the type takes no IOPS. */
  iops?: IopsLimits;
  /** Absent: the type takes no throughput. */
  throughput?: ThroughputLimits;
}

/** The IOPS a gp3 volume has when `<p>iops` is not given; the throughput ratio counts them. */
export const GP3_BASELINE_IOPS = 3000;

const HDD: VolumeLimits = { size: { min: 125, max: 16_384 } };

export const EBS_LIMITS: Readonly<Record<VolumeType, VolumeLimits>> = {
  gp3: {
    size: { min: 1, max: 65_536 },
    iops: { min: 3000, max: 80_000, perGiB: 500, included: GP3_BASELINE_IOPS },
    throughput: { min: 125, max: 2000, perIops: 0.25, included: 125 },
  },
  gp2: { size: { min: 1, max: 16_384 } },
  io1: { size: { min: 4, max: 16_384 }, iops: { min: 100, max: 64_000, perGiB: 50, included: 0 } },
  io2: { size: { min: 4, max: 65_536 }, iops: { min: 100, max: 256_000, perGiB: 1000, included: 0 } },
  st1: HDD,
  sc1: HDD,
  standard: { size: { min: 1, max: 1024 } },
};

/** The most IOPS a volume of `size` GiB accepts. */
export function maxIops(limits: IopsLimits, size: number): number {
  return Math.min(limits.max, Math.max(limits.included, limits.perGiB * size));
}

/** The smallest size (GiB) at which `iops` is within the ratio. */
export function minSizeForIops(limits: IopsLimits, iops: number): number {
  return Math.ceil(iops / limits.perGiB);
}

/** The most throughput (MiB/s) a volume with `iops` accepts. */
export function maxThroughput(limits: ThroughputLimits, iops: number): number {
  return Math.min(limits.max, Math.max(limits.included, Math.floor(limits.perIops * iops)));
}

/** The fewest IOPS at which `throughput` is within the ratio. */
export function minIopsForThroughput(limits: ThroughputLimits, throughput: number): number {
  return Math.ceil(throughput / limits.perIops);
}

/** A whole number as the contract writes it: 65,536. */
export function grouped(n: number): string {
  return String(n).replace(/\B(?=(\d{3})+(?!\d))/g, ',');
}
