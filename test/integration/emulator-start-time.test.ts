/**
 * A snapshot's StartTime chosen by the caller (docs/adr/0006): the emulator-only request tag
 * START_TIME_TAG stands in for the time EBS started the snapshot, which moto stamps "now". The
 * local run gives each sample its own StartTime through it, so names with `{datetime}` and a
 * family's order come from the samples, as they would on AWS.
 */
import {
  CreateSnapshotCommand,
  CreateVolumeCommand,
  DescribeSnapshotsCommand,
  EC2Client,
} from '@aws-sdk/client-ec2';
import { describe, expect, it } from 'vitest';
import { createTaggedSnapshot, START_TIME_TAG } from '../../local/index.ts';
import { jsonFiles, snap2amiAsync } from '../support/cli.ts';
import { failure } from '../support/ec2.ts';

const ec2 = new EC2Client({ maxAttempts: 1 });

describe('the emulator-only start-time tag', () => {
  it('gives the new snapshot that StartTime, and the snapshot does not keep the tag', async () => {
    const startTime = new Date('2026-03-01T10:20:30.000Z');
    const snapshotId = await createTaggedSnapshot(ec2, { purpose: 'emulator-test' }, 8, startTime);
    const [snapshot] =
      (await ec2.send(new DescribeSnapshotsCommand({ SnapshotIds: [snapshotId] }))).Snapshots ?? [];
    expect(snapshot?.StartTime?.toISOString()).toBe(startTime.toISOString());
    expect(snapshot?.Tags).toEqual([{ Key: 'purpose', Value: 'emulator-test' }]);
  });

  it('refuses a value that is not an ISO 8601 time instead of stamping now', async () => {
    const volume = await ec2.send(new CreateVolumeCommand({ AvailabilityZone: 'us-east-1a', Size: 8 }));
    const refused = await failure(
      ec2.send(
        new CreateSnapshotCommand({
          VolumeId: volume.VolumeId,
          TagSpecifications: [
            { ResourceType: 'snapshot', Tags: [{ Key: START_TIME_TAG, Value: 'yesterday' }] },
          ],
        }),
      ),
    );
    expect(refused).toMatchObject({ name: 'InvalidParameterValue', status: 400 });
  });
});

describe('snap2ami local --snapshots FILE', () => {
  it("names each sample's AMI by the sample's own StartTime ({datetime}): two of one family do not collide", async () => {
    const sample = (id: string, startTime: string) => ({
      SnapshotId: id,
      VolumeSize: 8,
      State: 'completed',
      StartTime: startTime,
      Tags: [
        { Key: 'snap2ami:register', Value: 'true' },
        { Key: 'snap2ami:name', Value: 'app-{datetime}' },
        { Key: 'snap2ami:root-device-name', Value: '/dev/xvda' },
        { Key: 'snap2ami:family', Value: 'app' },
        { Key: 'snap2ami:retain', Value: '2' },
        { Key: 'example:expect', Value: 'planned' },
      ],
    });
    const files = jsonFiles({
      'snapshots.json': {
        Snapshots: [
          sample('snap-0a0000000000000a1', '2026-11-20T08:30:00.000Z'),
          sample('snap-0a0000000000000a2', '2026-11-21T09:45:10.000Z'),
        ],
      },
    });
    const result = await snap2amiAsync(['local', '--snapshots', files['snapshots.json'] as string, '--json']);
    const rows = JSON.parse(result.stdout) as { outcome: string; detail: string }[];
    expect(rows.map((row) => `${row.outcome} ${row.detail}`)).toEqual([
      expect.stringMatching(/^planned ami-[0-9a-f]+ "app-20261120T083000Z"$/),
      expect.stringMatching(/^planned ami-[0-9a-f]+ "app-20261121T094510Z"$/),
    ]);
    expect(result.status, result.stderr).toBe(0);
  });
});
