/**
 * Snapshot references as events carry them: full ARNs (any partition, with or without the
 * account), the documented quirk with the Region in the account's place, and bare IDs.
 */

export interface SnapshotRef {
  snapshotId: string;
  /** The Region named by the ARN, if the reference was an ARN that names one. */
  region: string | undefined;
  /** The account named by the ARN, if any. */
  account: string | undefined;
}

const SNAPSHOT_ID = /^snap-[0-9a-f]{8,17}$/;
const ARN = /^arn:(aws|aws-cn|aws-us-gov):ec2:([a-z0-9-]*):([a-z0-9-]*):snapshot\/(snap-[0-9a-f]{8,17})$/;
const REGION = /^[a-z]{2}(-[a-z]+)+-\d+$/;
const ACCOUNT = /^\d{12}$/;

/** Parses one reference; returns undefined when it is not a snapshot reference at all. */
export function parseSnapshotRef(text: string): SnapshotRef | undefined {
  if (SNAPSHOT_ID.test(text)) return { snapshotId: text, region: undefined, account: undefined };
  const match = ARN.exec(text);
  if (!match) return undefined;
  const [, , regionField = '', accountField = '', snapshotId = ''] = match;
  if (regionField === '' && REGION.test(accountField)) {
    // The documented quirk: arn:aws:ec2::us-west-2:snapshot/snap-…
    return { snapshotId, region: accountField, account: undefined };
  }
  if (regionField !== '' && !REGION.test(regionField)) return undefined;
  if (accountField !== '' && !ACCOUNT.test(accountField)) return undefined;
  return { snapshotId, region: regionField || undefined, account: accountField || undefined };
}

export function isSnapshotId(text: string): boolean {
  return SNAPSHOT_ID.test(text);
}
