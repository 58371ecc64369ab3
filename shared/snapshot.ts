/**
 * The snapshot as the planner sees it: the subset of EC2 `DescribeSnapshots` output that the
 * tag contract reads. Accepts both the CLI's JSON (`StartTime` as an ISO string) and the SDK's
 * objects (`StartTime` as a Date), so `plan` and the pipeline share one shape.
 */
import * as z from './zod.ts';

export const TagSchema = z.object({ Key: z.string(), Value: z._default(z.string(), '') });

export const SnapshotSchema = z.looseObject({
  SnapshotId: z.string().check(z.regex(/^snap-[0-9a-f]+$/, 'a snapshot ID (snap-…)')),
  State: z.optional(z.string()),
  OwnerId: z.optional(z.string()),
  VolumeId: z.optional(z.string()),
  VolumeSize: z.optional(z.number().check(z.int(), z.nonnegative())),
  StartTime: z.optional(z.union([z.date(), z.iso.datetime({ offset: true }), z.iso.datetime()])),
  OutpostArn: z.optional(z.string()),
  Encrypted: z.optional(z.boolean()),
  Tags: z.optional(z.array(TagSchema)),
});

export type Tag = z.infer<typeof TagSchema>;
export type SnapshotInput = z.input<typeof SnapshotSchema>;

/** A snapshot after validation, with its tags as a map and its start time as a Date. */
export interface Snapshot {
  snapshotId: string;
  state: string | undefined;
  ownerId: string | undefined;
  volumeId: string | undefined;
  volumeSize: number | undefined;
  startTime: Date | undefined;
  outpostArn: string | undefined;
  tags: ReadonlyMap<string, string>;
}

export const DescribeSnapshotsOutputSchema = z.object({ Snapshots: z.array(SnapshotSchema) });

export function toSnapshot(input: z.output<typeof SnapshotSchema>): Snapshot {
  const tags = new Map<string, string>();
  for (const tag of input.Tags ?? []) tags.set(tag.Key, tag.Value);
  return {
    snapshotId: input.SnapshotId,
    state: input.State,
    ownerId: input.OwnerId,
    volumeId: input.VolumeId,
    volumeSize: input.VolumeSize,
    startTime: input.StartTime === undefined ? undefined : new Date(input.StartTime),
    outpostArn: input.OutpostArn,
    tags,
  };
}

/**
 * Parses `aws ec2 describe-snapshots` output (or the SDK's `DescribeSnapshotsCommandOutput`).
 * Throws a $ZodError, its issues naming the offending path, when the document does not have that shape.
 */
export function parseDescribeSnapshots(document: unknown): Snapshot[] {
  return DescribeSnapshotsOutputSchema.parse(document).Snapshots.map(toSnapshot);
}
