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

/**
 * The pipeline that made an image, as its `<p>pipeline` tag says: the account, the pipeline's
 * Region and its stack, named by the stack's records table (one per stack). Retention acts only
 * on images that carry its own (ADR 0008): another stack's AMIs of the same family, in its own
 * Region or in a copy's, are not its to remove.
 */
export function pipelineId(account: string, region: string, table: string): string {
  return `${account}/${region}/${table}`;
}

/** One of a family's AMIs in one Region, as retention sees it. */
export interface FamilyImage {
  imageId: string;
  /** `<p>snapshot-time` (ISO 8601, to the second); undefined when the tag is missing. */
  snapshotTime: string | undefined;
  /** `<p>key`: the registration that made it; the tie-breaker of the family's order. */
  key?: string | undefined;
  /** DescribeImages' DeregistrationProtection: `disabled`, `enabled-…`, `disabled-until …`. */
  protection: string | undefined;
  /** `<p>pipeline` (pipelineId); undefined on an image no pipeline of v3 tagged. */
  pipeline?: string | undefined;
  /** `<p>keep=true`: a person keeps it, whatever the rule. */
  keep?: boolean;
  /** DescribeImages' State: `available`, `disabled`, `pending`…; undefined when unknown. */
  state?: string | undefined;
  /** `<p>retired-at`: when retention disabled it (ISO 8601); undefined if it never did. */
  retiredAt?: string | undefined;
  /** `<p>retire-after`: the earliest time retention may deregister it, set when it disabled it. */
  retireAfter?: string | undefined;
}

/**
 * The family's one order, newest first, the same for every run and the reconciler: by
 * `<p>snapshot-time`, then by `<p>key`, the greater first (the SSM parameter's rule,
 * mayReplace), then by image ID so that the order is total.
 */
export function newestFirst(a: FamilyImage, b: FamilyImage): number {
  return (
    (b.snapshotTime ?? '').localeCompare(a.snapshotTime ?? '') ||
    (b.key ?? '').localeCompare(a.key ?? '') ||
    b.imageId.localeCompare(a.imageId)
  );
}

export type RetentionReason =
  | 'newest'
  | 'this registration'
  | 'within retention'
  | 'no snapshot-time'
  | 'deregistration protection'
  | 'keep=true'
  | 'enabled again after retention disabled it';

export interface RetentionOptions {
  /** The image the asking registration made: kept whatever the rule (none for the reconciler). */
  thisImageId?: string | undefined;
  /** Only images with this `<p>pipeline` are considered; others are neither counted nor touched. */
  pipeline: string;
  now: Date;
}

/**
 * Which of the pipeline's AMIs of a family retention may retire, before the guards that need
 * AWS (the registration's record, the SSM parameter, EC2's references, sharing). In the
 * family's one order (newestFirst), the newest N (or those within N days of `now`) are kept,
 * and so are, whatever the rule, the newest of all, any without a snapshot time, a protected
 * one, one tagged `<p>keep=true`, one a person enabled again after retention disabled it, and
 * the image this registration made. `pending` is true when that last one is kept beyond the
 * rule: the family is then above N, and the reconciler's retention pass, which asks with no
 * image of its own, brings it down.
 */
export function retentionCandidates(
  images: readonly FamilyImage[],
  retain: Retain,
  options: RetentionOptions,
): { candidates: FamilyImage[]; kept: { image: FamilyImage; reason: RetentionReason }[]; pending: boolean } {
  const own = images.filter((image) => image.pipeline === options.pipeline);
  const sorted = own.filter((image) => image.snapshotTime !== undefined).sort(newestFirst);
  const kept: { image: FamilyImage; reason: RetentionReason }[] = own
    .filter((image) => image.snapshotTime === undefined)
    .map((image) => ({ image, reason: 'no snapshot-time' }));
  const candidates: FamilyImage[] = [];
  let pending = false;
  const oldest = 'days' in retain ? options.now.getTime() - retain.days * 86_400_000 : 0;
  sorted.forEach((image, index) => {
    const withinRule =
      index === 0 ||
      ('count' in retain ? index < retain.count : Date.parse(image.snapshotTime as string) >= oldest);
    const reason: RetentionReason | undefined =
      index === 0
        ? 'newest'
        : withinRule
          ? 'within retention'
          : image.keep
            ? 'keep=true'
            : isProtected(image.protection)
              ? 'deregistration protection'
              : image.retiredAt !== undefined && image.state === 'available'
                ? 'enabled again after retention disabled it'
                : image.imageId === options.thisImageId
                  ? 'this registration'
                  : undefined;
    if (reason === 'this registration') pending = true;
    if (reason === undefined) candidates.push(image);
    else kept.push({ image, reason });
  });
  return { candidates, kept, pending };
}

/** The least grace of an image shared with other accounts, organizations or OUs, or public (v3). */
export const SHARED_GRACE_DAYS = 7;

export type RetireStep = { action: 'deregister' } | { action: 'disable' } | { action: 'wait'; until: string };

/**
 * What retention does next to a candidate that every guard let go: with no grace, deregister
 * it; else disable it first (DisableImage, then `<p>retired-at` and `<p>retire-after`), and
 * deregister it once it has been disabled for the grace: `<p>retain-grace`, at least
 * SHARED_GRACE_DAYS for a shared image, whose users EC2 cannot list. DisableImage removes an
 * image's launch permissions, so a disabled image no longer looks shared: `<p>retire-after`,
 * written when it was disabled, keeps the time its sharing gave it.
 */
export function retireStep(
  image: Pick<FamilyImage, 'state' | 'retiredAt' | 'retireAfter'>,
  graceDays: number,
  shared: boolean,
  now: Date,
): RetireStep {
  const grace = graceFor(graceDays, shared);
  const since = image.retiredAt === undefined ? Number.NaN : Date.parse(image.retiredAt);
  if (image.state !== 'disabled' || Number.isNaN(since))
    return grace === 0 ? { action: 'deregister' } : { action: 'disable' };
  const after = image.retireAfter === undefined ? Number.NaN : Date.parse(image.retireAfter);
  const due = Math.max(since + grace * 86_400_000, Number.isNaN(after) ? 0 : after);
  return now.getTime() >= due
    ? { action: 'deregister' }
    : { action: 'wait', until: new Date(due).toISOString() };
}

/** The days an image stays disabled: `<p>retain-grace`, or SHARED_GRACE_DAYS if it is shared and that is longer. */
export function graceFor(graceDays: number, shared: boolean): number {
  return Math.max(graceDays, shared ? SHARED_GRACE_DAYS : 0);
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
  /** The AMIs retention disabled (a grace), and from when it may deregister each. */
  disabled: { region: string; imageId: string; until: string; shared?: true }[];
  /** The AMIs beyond the rule that retention kept, and why (the rule's own newest N are not listed). */
  kept: { region: string; imageId: string; reason: string }[];
  /** Retention left the family pending for the reconciler's pass. */
  retentionPending?: true;
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
    retention?: {
      deregistered?: { imageId: string }[];
      disabled?: DistributionOutcome['disabled'];
      kept?: DistributionOutcome['kept'];
      pending?: boolean;
      Error?: string;
      Cause?: string;
    };
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
    disabled: d.retention?.disabled ?? [],
    kept: (d.retention?.kept ?? []).filter((k) => k.reason !== 'newest'),
    ...(d.retention?.pending && { retentionPending: true as const }),
    ...(retentionError && { retentionError }),
  };
}
