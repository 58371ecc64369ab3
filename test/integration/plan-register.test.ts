/**
 * The planner against the emulator's EC2: DescribeSnapshots output for real snapshots goes
 * through the planner, and the request is accepted by RegisterImage, with DryRun and without.
 */
import { DescribeImagesCommand, RegisterImageCommand } from '@aws-sdk/client-ec2';
import { describe, expect, it } from 'vitest';
import { ec2Client } from '#shared/aws/ec2.ts';
import { describeSnapshots, registerImageInput } from '#shared/aws/snapshots.ts';
import { planGroups } from '#shared/contract/plan.ts';
import { createTaggedSnapshot, EMULATOR_ACCOUNT, EMULATOR_REGION } from '../../local/index.ts';

const settings = {
  account: EMULATOR_ACCOUNT,
  region: EMULATOR_REGION,
  prefix: 'snap2ami:',
  allowedSourceAccounts: [],
};

describe('plan → RegisterImage on the emulator', () => {
  it('plans real snapshots and registers the request, after a dry run', async () => {
    const ec2 = ec2Client();
    const name = `it-three-volume-${Date.now()}`;
    const data = await createTaggedSnapshot(ec2, { Name: 'data' }, 50);
    const root = await createTaggedSnapshot(ec2, {
      Name: 'web',
      'snap2ami:register': 'true',
      'snap2ami:name': `${name}-{tag:Name}`,
      'snap2ami:root-device-name': '/dev/sda1',
      'snap2ami:device:/dev/sdb': data,
      'snap2ami:device:/dev/sdc': 'empty:size=100',
      'snap2ami:copy-tags': 'Name',
    });

    const known = await describeSnapshots(ec2, [root, data, 'snap-0000000000000dead']);
    expect([...known.keys()].sort()).toEqual([root, data].sort());
    expect(known.get(root)).toMatchObject({ state: 'completed', ownerId: EMULATOR_ACCOUNT, volumeSize: 8 });

    const report = planGroups([{ snapshotIds: [root], multiVolume: false }], known, settings);
    expect(report.rejected).toEqual([]);
    const [plan] = report.plans;
    if (!plan) throw new Error('no plan');
    expect(plan.snapshotIds).toEqual([root, data].sort());
    expect(plan.request.BlockDeviceMappings.map((m) => m.DeviceName)).toEqual([
      '/dev/sda1',
      '/dev/sdb',
      '/dev/sdc',
    ]);

    await expect(
      ec2.send(new RegisterImageCommand(registerImageInput(plan.request, true))),
    ).rejects.toMatchObject({
      name: 'DryRunOperation',
    });
    const before = await ec2.send(
      new DescribeImagesCommand({ Filters: [{ Name: 'name', Values: [`${name}-web`] }] }),
    );
    expect(before.Images).toEqual([]);

    const registered = await ec2.send(new RegisterImageCommand(registerImageInput(plan.request)));
    expect(registered.ImageId).toMatch(/^ami-[0-9a-f]+$/);
    const after = await ec2.send(new DescribeImagesCommand({ ImageIds: [registered.ImageId as string] }));
    // The emulator keeps only Name and Description of RegisterImage (docs/adr/0001-local-aws.md).
    expect(after.Images?.[0]).toMatchObject({
      ImageId: registered.ImageId,
      Name: `${name}-web`,
      State: 'available',
    });
  });

  it('reports a snapshot that does not exist as missing, without failing the lookup of the others', async () => {
    const ec2 = ec2Client();
    const root = await createTaggedSnapshot(ec2, {
      'snap2ami:register': 'true',
      'snap2ami:device:/dev/sdb': 'snap-0000000000000beef',
    });
    const known = await describeSnapshots(ec2, [root]);
    const report = planGroups([{ snapshotIds: [root], multiVolume: false }], known, settings);
    expect(report.rejected[0]?.errors[0]).toMatchObject({
      tag: 'snap2ami:device:/dev/sdb',
      message: expect.stringContaining('snap-0000000000000beef, which was not found'),
    });
  });
});
