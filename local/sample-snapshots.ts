/** Creates real volumes and tagged snapshots on the emulator, as EBS would. */
import { CreateSnapshotCommand, CreateVolumeCommand, type EC2Client } from '@aws-sdk/client-ec2';

export async function createTaggedSnapshot(
  ec2: EC2Client,
  tags: Record<string, string>,
  sizeGiB = 8,
): Promise<string> {
  // The first Availability Zone of the client's Region.
  const volume = await ec2.send(
    new CreateVolumeCommand({ AvailabilityZone: `${await ec2.config.region()}a`, Size: sizeGiB }),
  );
  const snapshot = await ec2.send(
    new CreateSnapshotCommand({
      VolumeId: volume.VolumeId,
      Description: 'snap2ami test snapshot',
      TagSpecifications: [
        { ResourceType: 'snapshot', Tags: Object.entries(tags).map(([Key, Value]) => ({ Key, Value })) },
      ],
    }),
  );
  if (!snapshot.SnapshotId) throw new Error('the emulator returned no SnapshotId');
  return snapshot.SnapshotId;
}
