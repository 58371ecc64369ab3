/** Looks snapshots up for the planner, with as few DescribeSnapshots calls as possible. */
import {
  type EC2Client,
  paginateDescribeSnapshots,
  type RegisterImageCommandInput,
} from '@aws-sdk/client-ec2';
import type { RegisterImageRequest } from '../contract/types.ts';
import { type Snapshot, SnapshotSchema, toSnapshot } from '../snapshot.ts';
import { isSnapshotId } from '../snapshot-ref.ts';

/** EC2 accepts at most 200 values in one filter. */
const FILTER_VALUES = 200;

/**
 * Describes the given snapshots: one call per 200 IDs (and per result page). A `snapshot-id`
 * filter, not `SnapshotIds`, so that one missing or foreign snapshot does not fail the call
 * for the whole batch (InvalidSnapshot.NotFound); the planner reports what is missing.
 */
export async function describeSnapshots(
  client: EC2Client,
  snapshotIds: Iterable<string>,
): Promise<Map<string, Snapshot>> {
  const ids = [...new Set(snapshotIds)];
  const found = new Map<string, Snapshot>();
  for (let start = 0; start < ids.length; start += FILTER_VALUES) {
    const Values = ids.slice(start, start + FILTER_VALUES);
    const pages = paginateDescribeSnapshots({ client }, { Filters: [{ Name: 'snapshot-id', Values }] });
    for await (const page of pages) {
      for (const raw of page.Snapshots ?? []) {
        const snapshot = toSnapshot(SnapshotSchema.parse(raw));
        found.set(snapshot.snapshotId, snapshot);
      }
    }
  }
  return found;
}

/**
 * The snapshots that `<prefix>device:` tags of `snapshots` name and that `known` lacks: the
 * planner needs them too (to size and check those mappings), and they are part of the key.
 */
export function referencedSnapshotIds(
  snapshots: Iterable<Snapshot>,
  prefix: string,
  known: ReadonlyMap<string, Snapshot>,
): Set<string> {
  const referenced = new Set<string>();
  for (const snapshot of snapshots) {
    for (const [key, value] of snapshot.tags) {
      const id = value.split(':')[0] ?? '';
      if (key.startsWith(`${prefix}device:`) && isSnapshotId(id) && !known.has(id)) referenced.add(id);
    }
  }
  return referenced;
}

/** The planner's request as the SDK's input; the assignment is the compile-time check that they agree. */
export function registerImageInput(request: RegisterImageRequest, dryRun = false): RegisterImageCommandInput {
  const input: RegisterImageCommandInput = { ...request, DryRun: dryRun };
  return input;
}
