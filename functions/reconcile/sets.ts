/**
 * Which multi-volume set a stray root belongs to, when its `createSnapshots` event never came.
 * EC2's `createSnapshots` stamps every snapshot of a set with one StartTime; the contract's
 * members carry `<p>device-name` (tag contract, "Multi-volume snapshot sets"). So a root's set is
 * the snapshots started at the root's instant that name a device and are not roots themselves.
 * The reconciler never sends a set's root alone: when that cannot be told for sure (another root
 * started at the same instant, two members naming one device, or more tagged snapshots than one
 * run looks at), the root is reported for `snap2ami register --multi-volume` and not sent.
 */
import { DescribeSnapshotsCommand, type EC2Client } from '@aws-sdk/client-ec2';
import { TagReader } from '#shared/contract/reader.ts';
import { type Snapshot, SnapshotSchema, toSnapshot } from '#shared/snapshot.ts';

/** Pages of snapshots one run looks at per tag key (1,000 each). */
export const MAX_SET_PAGES = 10;

export interface InstantSnapshots {
  /** The account's roots and set members (tagged `<p>register` or `<p>device-name`), by StartTime (ms). */
  byInstant: ReadonlyMap<number, readonly Snapshot[]>;
  /** Whether they are all there (false: more pages than MAX_SET_PAGES). */
  complete: boolean;
}

/**
 * Every snapshot of this account tagged `<p>register` or `<p>device-name`, grouped by StartTime.
 * By tag keys rather than by the `start-time` filter: a set is told by its instant, compared
 * here. One listing per key (moto 5.2.5 matches a `tag-key` filter of several values only when
 * a snapshot's keys are a subset or a superset of them; EC2 matches any).
 */
export async function snapshotsByInstant(ec2: EC2Client, prefix: string): Promise<InstantSnapshots> {
  const byInstant = new Map<number, Snapshot[]>();
  let complete = true;
  for (const key of [`${prefix}register`, `${prefix}device-name`]) {
    let NextToken: string | undefined;
    let pages = 0;
    do {
      const page = await ec2.send(
        new DescribeSnapshotsCommand({
          OwnerIds: ['self'],
          Filters: [{ Name: 'tag-key', Values: [key] }],
          MaxResults: 1000,
          ...(NextToken && { NextToken }),
        }),
      );
      for (const raw of page.Snapshots ?? []) {
        const snapshot = toSnapshot(SnapshotSchema.parse(raw));
        const instant = snapshot.startTime?.getTime();
        const at = instant === undefined ? undefined : (byInstant.get(instant) ?? []);
        if (instant === undefined || at?.some((s) => s.snapshotId === snapshot.snapshotId)) continue;
        byInstant.set(instant, [...(at ?? []), snapshot]);
      }
      NextToken = page.NextToken;
      pages += 1;
    } while (NextToken && pages < MAX_SET_PAGES);
    if (NextToken) complete = false;
  }
  return { byInstant, complete };
}

/** The root's set members (none: a root of its own), or why its set cannot be told for sure. */
export function setOf(
  root: Snapshot,
  { byInstant, complete }: InstantSnapshots,
  prefix: string,
): { members: Snapshot[] } | { unsure: string } {
  const instant = root.startTime?.getTime();
  const others = (instant === undefined ? [] : (byInstant.get(instant) ?? [])).filter(
    (snapshot) => snapshot.snapshotId !== root.snapshotId,
  );
  const isRoot = (snapshot: Snapshot) => new TagReader(snapshot, prefix).get('register') === true;
  const deviceOf = (snapshot: Snapshot) => snapshot.tags.get(`${prefix}device-name`);
  const members = others
    .filter((snapshot) => !isRoot(snapshot) && deviceOf(snapshot) !== undefined)
    .sort((a, b) => (deviceOf(a) ?? '').localeCompare(deviceOf(b) ?? ''));
  const register = (ids: string[]) =>
    `register the set with snap2ami register --multi-volume ${ids.join(' ')}, or the root alone with snap2ami register ${root.snapshotId}`;
  const memberIds = members.map((member) => member.snapshotId);
  if (!complete)
    return {
      unsure: `more snapshots are tagged ${prefix}register or ${prefix}device-name than one run looks at (${MAX_SET_PAGES * 1000} of each), so its set members cannot all be seen; ${register([root.snapshotId, '<members…>'])}`,
    };
  if (members.length === 0) return { members: [] };
  const when = root.startTime?.toISOString();
  const roots = others.filter(isRoot).map((snapshot) => snapshot.snapshotId);
  if (roots.length > 0)
    return {
      unsure: `${[root.snapshotId, ...roots].join(', ')} are roots started at ${when}, and ${memberIds.join(', ')} name devices: which set each belongs to cannot be told; ${register([root.snapshotId, '<its members…>'])}`,
    };
  const devices = members.map(deviceOf);
  const twice = devices.find((device, index) => devices.indexOf(device) !== index);
  if (twice !== undefined)
    return {
      unsure: `members started at ${when} name ${twice} more than once (${memberIds.join(', ')}): which of them is this root's cannot be told; ${register([root.snapshotId, '<its members…>'])}`,
    };
  return { members };
}
