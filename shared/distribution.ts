/**
 * Distribution and lifecycle (tag contract v2), the decisions without I/O: the copy's client
 * token, the deprecation time, which of a family's AMIs retention may remove, and whether an
 * SSM parameter may move to an AMI. The lifecycle function (functions/lifecycle) calls AWS and
 * asks these; they are tested here row by row, with no emulator.
 */
import { createHash } from 'node:crypto';
import type { Retain } from './contract/values.ts';

/**
 * CopyImage's client token for a key's copy into a Region: the same for every retry, redrive
 * and racing execution of the key, so EC2 makes one copy. 64 hex characters (EC2's limit).
 */
export function copyClientToken(key: string, region: string): string {
  return createHash('sha256').update(`snap2ami-copy\n${key}\n${region}`).digest('hex');
}

/**
 * The deprecation time: the AMI's creation time plus N days, to the minute (EC2 rounds to the
 * minute; sending whole minutes makes what EC2 keeps the time we report). From the creation
 * time, not the clock, so a redrive sets the same time.
 */
export function deprecationTime(creationDate: string, days: number): string {
  const at = new Date(Date.parse(creationDate) + days * 86_400_000);
  at.setUTCSeconds(0, 0);
  return at.toISOString();
}

/** One of a family's AMIs in one Region, as retention sees it. */
export interface FamilyImage {
  imageId: string;
  /** `<p>snapshot-time` (ISO 8601, to the second); undefined when the tag is missing. */
  snapshotTime: string | undefined;
  /** DescribeImages' DeregistrationProtection: `disabled`, `enabled-…`, `disabled-until …`. */
  protection: string | undefined;
}

export type RetentionReason = 'newest' | 'this registration' | 'within retention' | 'no snapshot-time';

/**
 * Which AMIs retention may deregister, before the guards that need AWS (protection is known
 * here; parameters and references are asked per candidate): by `<p>snapshot-time`, newest
 * first, the newest N (or those within N days of `now`) are kept, and so are, whatever the
 * rule, the newest of all, the image this registration made, and any without a snapshot time.
 */
export function retentionCandidates(
  images: readonly FamilyImage[],
  retain: Retain,
  thisImageId: string,
  now: Date,
): { candidates: FamilyImage[]; kept: { image: FamilyImage; reason: RetentionReason }[] } {
  const dated = images.filter((image) => image.snapshotTime !== undefined);
  // Newest first. `<p>snapshot-time` is to the second, so two snapshots of a family can tie:
  // then the image this registration made counts as the newer (it is), then the image ID.
  const ours = (image: FamilyImage) => Number(image.imageId === thisImageId);
  const sorted = [...dated].sort(
    (a, b) =>
      (b.snapshotTime as string).localeCompare(a.snapshotTime as string) ||
      ours(b) - ours(a) ||
      b.imageId.localeCompare(a.imageId),
  );
  const kept: { image: FamilyImage; reason: RetentionReason }[] = images
    .filter((image) => image.snapshotTime === undefined)
    .map((image) => ({ image, reason: 'no snapshot-time' }));
  const candidates: FamilyImage[] = [];
  const oldest = 'days' in retain ? now.getTime() - retain.days * 86_400_000 : undefined;
  sorted.forEach((image, index) => {
    if (index === 0) kept.push({ image, reason: 'newest' });
    else if (image.imageId === thisImageId) kept.push({ image, reason: 'this registration' });
    else if (
      'count' in retain ? index < retain.count : Date.parse(image.snapshotTime as string) >= (oldest ?? 0)
    )
      kept.push({ image, reason: 'within retention' });
    else candidates.push(image);
  });
  return { candidates, kept };
}

/** Deregistration protection is on, or its cooldown still runs. */
export function isProtected(protection: string | undefined): boolean {
  return protection !== undefined && protection !== 'disabled';
}

/**
 * Whether a registration may move a parameter that now names an AMI of `current` snapshot
 * time (and key) to one of `ours`: only forward in `<p>snapshot-time`; on equal times, the
 * same registration again (a redrive), or the greater key, so that two registrations of one
 * instant agree on a winner whatever their order.
 */
export function mayReplace(
  current: { snapshotTime: string; key: string } | undefined,
  ours: { snapshotTime: string; key: string },
): boolean {
  if (current === undefined) return true;
  if (ours.snapshotTime !== current.snapshotTime) return ours.snapshotTime > current.snapshotTime;
  return ours.key >= current.key;
}

/** What a registration's distribution did, as `local --json` and `status` show it. */
export interface DistributionOutcome {
  copies: { region: string; imageId: string }[];
  /** The account IDs and organization and OU ARNs granted launch permission. */
  launchPermissions: string[];
  /** Each Region's parameter and the AMI it names after the registration (ours, or a newer one). */
  ssmParameters: { region: string; name: string; value: string }[];
  deprecationTime?: string;
  deregistrationProtection?: 'on' | 'with-cooldown';
  /** The AMI IDs retention deregistered. */
  deregistered: string[];
  /** Why retention did not run to its end (it is applied again on the family's next success). */
  retentionError?: string;
}

/** The outcome from the record's `distribution` (the workflow's JSON); undefined without one or for an empty one. */
export function distributionOutcome(json: string | undefined): DistributionOutcome | undefined {
  if (!json) return undefined;
  const d = JSON.parse(json) as {
    copies?: { region: string; imageId: string }[];
    launchPermissions?: string[];
    ssmParameters?: { region: string; name: string; value: string }[];
    protection?: { deprecationTime?: string; deregistrationProtection?: 'on' | 'with-cooldown' };
    retention?: { deregistered?: { imageId: string }[]; Error?: string; Cause?: string };
  };
  if (d.copies === undefined) return undefined;
  const retentionError = d.retention?.Error ? `${d.retention.Error}: ${d.retention.Cause ?? ''}` : undefined;
  return {
    copies: d.copies,
    launchPermissions: d.launchPermissions ?? [],
    ssmParameters: (d.ssmParameters ?? []).map(({ region, name, value }) => ({ region, name, value })),
    ...(d.protection?.deprecationTime && { deprecationTime: d.protection.deprecationTime }),
    ...(d.protection?.deregistrationProtection && {
      deregistrationProtection: d.protection.deregistrationProtection,
    }),
    deregistered: (d.retention?.deregistered ?? []).map(({ imageId }) => imageId),
    ...(retentionError && { retentionError }),
  };
}
