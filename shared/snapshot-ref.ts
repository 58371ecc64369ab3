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

/**
 * A snapshot ID: snap- and 17 hexadecimal digits as EC2 makes them now, 8 for the oldest, and
 * anything between, as AWS's own sample events have (snap-012345678): one definition for the
 * events, the CLI's options and the DLQ scan.
 */
export const SNAPSHOT_ID_PATTERN = 'snap-[0-9a-f]{8,17}';
/** The same, in words, for messages. */
export const SNAPSHOT_ID_FORM = 'snap- and 8 to 17 hexadecimal digits';

const SNAPSHOT_ID = new RegExp(`^${SNAPSHOT_ID_PATTERN}$`);
const ARN = new RegExp(
  `^arn:(aws|aws-cn|aws-us-gov):ec2:([a-z0-9-]*):([a-z0-9-]*):snapshot\\/(${SNAPSHOT_ID_PATTERN})$`,
);
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
