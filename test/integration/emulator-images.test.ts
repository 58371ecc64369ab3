/**
 * The emulator makes images as EC2 does where snap2ami depends on it (docs/adr/0006): AMI names
 * unique per account and Region, RegisterImage's tags and block devices kept, and the image's
 * billing (PlatformDetails) chosen by the emulator-only tag on its root snapshot. Real SDK calls.
 */
import {
  CopyImageCommand,
  DeleteSnapshotCommand,
  DeregisterImageCommand,
  DescribeImageAttributeCommand,
  DescribeImagesCommand,
  EC2Client,
  type Image,
  RegisterImageCommand,
  type RegisterImageCommandInput,
} from '@aws-sdk/client-ec2';
import { describe, expect, it } from 'vitest';
import { createTaggedSnapshot, EMULATOR_REGION, PLATFORM_DETAILS_TAG } from '../../local/index.ts';
import { describeImage, failure } from '../support/ec2.ts';

const ec2 = new EC2Client({ maxAttempts: 1 });
const TEST_TAG = { purpose: 'emulator-test' };
let counter = 0;
const uniqueName = (label: string) => `emulator-${label}-${Date.now()}-${++counter}`;

async function register(input: Partial<RegisterImageCommandInput> & { Name: string }): Promise<string> {
  const { ImageId } = await ec2.send(new RegisterImageCommand({ RootDeviceName: '/dev/xvda', ...input }));
  if (!ImageId) throw new Error('no ImageId');
  return ImageId;
}

describe('AMI names are unique per account and Region', () => {
  it('refuses a second RegisterImage with a name in use: InvalidAMIName.Duplicate, HTTP 400, naming the image', async () => {
    const name = uniqueName('duplicate');
    const first = await register({ Name: name });
    expect(await failure(register({ Name: name }))).toEqual({
      name: 'InvalidAMIName.Duplicate',
      status: 400,
      message: `AMI name ${name} is already in use by AMI ${first}`,
    });
    const images = await ec2.send(new DescribeImagesCommand({ Filters: [{ Name: 'name', Values: [name] }] }));
    expect(images.Images?.map((i) => i.ImageId)).toEqual([first]);
  });

  it('lets exactly one of racing registrations of one name succeed', async () => {
    const name = uniqueName('race');
    const outcomes = await Promise.allSettled(Array.from({ length: 6 }, () => register({ Name: name })));
    expect(outcomes.filter((o) => o.status === 'fulfilled')).toHaveLength(1);
    for (const o of outcomes.filter((o) => o.status === 'rejected'))
      expect((o as PromiseRejectedResult).reason.name).toBe('InvalidAMIName.Duplicate');
  });

  it('frees the name when its image is deregistered', async () => {
    const name = uniqueName('freed');
    await ec2.send(new DeregisterImageCommand({ ImageId: await register({ Name: name }) }));
    expect(await register({ Name: name })).toMatch(/^ami-/);
  });

  it('refuses CopyImage into a name in use in the destination Region', async () => {
    const name = uniqueName('copy');
    const source = await register({ Name: name });
    const copy = ec2.send(
      new CopyImageCommand({ SourceImageId: source, SourceRegion: EMULATOR_REGION, Name: name }),
    );
    expect(await failure(copy)).toMatchObject({ name: 'InvalidAMIName.Duplicate', status: 400 });
  });
});

describe('RegisterImage keeps its request, and DescribeImages returns it', () => {
  it('keeps the tags of TagSpecifications (filterable by tag), the block devices and the image attributes', async () => {
    const name = uniqueName('kept');
    const root = await createTaggedSnapshot(ec2, TEST_TAG, 10);
    const data = await createTaggedSnapshot(ec2, TEST_TAG, 20);
    // Every attribute RegisterImage takes, and DescribeImages gives back as it was given.
    const attributes = {
      Description: 'kept by the emulator',
      Architecture: 'arm64',
      VirtualizationType: 'hvm',
      BootMode: 'uefi',
      EnaSupport: true,
      SriovNetSupport: 'simple',
      TpmSupport: 'v2.0',
      ImdsSupport: 'v2.0',
      RootDeviceName: '/dev/xvda',
    } as const;
    const imageId = await register({
      Name: name,
      ...attributes,
      BlockDeviceMappings: [
        {
          DeviceName: '/dev/xvda',
          Ebs: { SnapshotId: root, VolumeType: 'gp3', Iops: 4000, Throughput: 250 },
        },
        { DeviceName: '/dev/xvdb', Ebs: { SnapshotId: data, VolumeSize: 30, DeleteOnTermination: false } },
        { DeviceName: '/dev/xvdc', VirtualName: 'ephemeral0' },
      ],
      TagSpecifications: [{ ResourceType: 'image', Tags: [{ Key: 'snap2ami:key', Value: `key-${name}` }] }],
    });
    expect(await describeImage(ec2, imageId)).toMatchObject({
      Name: name,
      ...attributes,
      RootDeviceType: 'ebs',
      Tags: [{ Key: 'snap2ami:key', Value: `key-${name}` }],
      BlockDeviceMappings: [
        {
          DeviceName: '/dev/xvda',
          Ebs: { SnapshotId: root, VolumeSize: 10, VolumeType: 'gp3', Iops: 4000, Throughput: 250 },
        },
        { DeviceName: '/dev/xvdb', Ebs: { SnapshotId: data, VolumeSize: 30, DeleteOnTermination: false } },
        { DeviceName: '/dev/xvdc', VirtualName: 'ephemeral0' },
      ],
    });
    const tagged = await ec2.send(
      new DescribeImagesCommand({ Filters: [{ Name: 'tag:snap2ami:key', Values: [`key-${name}`] }] }),
    );
    expect(tagged.Images?.map((i) => i.ImageId)).toEqual([imageId]);
  });

  it('keeps UefiData and returns it as EC2 does: by DescribeImageAttribute uefiData, not by DescribeImages', async () => {
    const root = await createTaggedSnapshot(ec2, TEST_TAG);
    const imageId = await register({
      Name: uniqueName('uefi-data'),
      BootMode: 'uefi',
      UefiData: 'QUJDRA==',
      BlockDeviceMappings: [{ DeviceName: '/dev/xvda', Ebs: { SnapshotId: root } }],
    });
    const attribute = await ec2.send(
      new DescribeImageAttributeCommand({ ImageId: imageId, Attribute: 'uefiData' }),
    );
    expect(attribute.UefiData).toEqual({ Value: 'QUJDRA==' });
    // EC2's Image has no UefiData member: DescribeImages never returns it.
    expect(await describeImage(ec2, imageId)).not.toHaveProperty('UefiData');
  });

  it('refuses a snapshot that does not exist, and the deletion of a snapshot an image uses', async () => {
    const missing = register({
      Name: uniqueName('missing-snapshot'),
      BlockDeviceMappings: [{ DeviceName: '/dev/xvda', Ebs: { SnapshotId: 'snap-0123456789abcdef0' } }],
    });
    expect(await failure(missing)).toMatchObject({ name: 'InvalidSnapshot.NotFound', status: 400 });
    const root = await createTaggedSnapshot(ec2, TEST_TAG);
    const imageId = await register({
      Name: uniqueName('in-use'),
      BlockDeviceMappings: [{ DeviceName: '/dev/xvda', Ebs: { SnapshotId: root } }],
    });
    expect(await failure(ec2.send(new DeleteSnapshotCommand({ SnapshotId: root })))).toMatchObject({
      name: 'InvalidSnapshot.InUse',
      message: expect.stringContaining(imageId),
    });
  });
});

describe('PlatformDetails: Linux/UNIX unless the root snapshot carries the emulator-only billing tag', () => {
  async function imageFrom(rootTags: Record<string, string>): Promise<Image> {
    const root = await createTaggedSnapshot(ec2, { ...TEST_TAG, ...rootTags });
    const data = await createTaggedSnapshot(ec2, { ...TEST_TAG, [PLATFORM_DETAILS_TAG]: 'SUSE Linux' });
    return describeImage(
      ec2,
      await register({
        Name: uniqueName('billing'),
        BlockDeviceMappings: [
          { DeviceName: '/dev/xvda', Ebs: { SnapshotId: root } },
          // Only the root snapshot decides.
          { DeviceName: '/dev/xvdb', Ebs: { SnapshotId: data } },
        ],
      }),
    );
  }

  it('gives an image from an untagged root Linux/UNIX billing', async () => {
    const image = await imageFrom({});
    expect(image).toMatchObject({ PlatformDetails: 'Linux/UNIX', UsageOperation: 'RunInstances' });
    expect(image.Platform).toBeUndefined();
  });

  it('gives the tagged billing: Windows (Platform windows) and Red Hat, with their usage operations', async () => {
    expect(await imageFrom({ [PLATFORM_DETAILS_TAG]: 'Windows' })).toMatchObject({
      PlatformDetails: 'Windows',
      UsageOperation: 'RunInstances:0002',
      Platform: 'windows',
    });
    const rhel = await imageFrom({ [PLATFORM_DETAILS_TAG]: 'Red Hat Enterprise Linux' });
    expect(rhel).toMatchObject({
      PlatformDetails: 'Red Hat Enterprise Linux',
      UsageOperation: 'RunInstances:0010',
    });
    expect(rhel.Platform).toBeUndefined();
  });

  it('leaves PlatformDetails empty when the tag is empty (billing EC2 could not derive)', async () => {
    const image = await imageFrom({ [PLATFORM_DETAILS_TAG]: '' });
    expect(image.PlatformDetails).toBeUndefined();
    expect(image.UsageOperation).toBeUndefined();
  });
});
