/** Creates real volumes and tagged snapshots on the emulator, as EBS would. */
import { CreateSnapshotCommand, CreateVolumeCommand, type EC2Client } from '@aws-sdk/client-ec2';
import { START_TIME_TAG } from './emulator-controls.ts';

/**
 * A new snapshot of a new volume of `sizeGiB`, with these tags; with `startTime`, the snapshot's
 * StartTime is that time instead of now (the emulator-only request tag START_TIME_TAG).
 */
export async function createTaggedSnapshot(
  ec2: EC2Client,
  tags: Record<string, string>,
  sizeGiB = 8,
  startTime?: Date,
): Promise<string> {
  // The first Availability Zone of the client's Region.
  const volume = await ec2.send(
    new CreateVolumeCommand({ AvailabilityZone: `${await ec2.config.region()}a`, Size: sizeGiB }),
  );
  const requested = startTime ? { ...tags, [START_TIME_TAG]: startTime.toISOString() } : tags;
  const snapshot = await ec2.send(
    new CreateSnapshotCommand({
      VolumeId: volume.VolumeId,
      Description: 'snap2ami test snapshot',
      TagSpecifications: [
        {
          ResourceType: 'snapshot',
          Tags: Object.entries(requested).map(([Key, Value]) => ({ Key, Value })),
        },
      ],
    }),
  );
  if (!snapshot.SnapshotId) throw new Error('the emulator returned no SnapshotId');
  return snapshot.SnapshotId;
}
