/**
 * The image lifecycle APIs the distribution work relies on, which moto 5.2.5 lacks or keeps
 * no state for (docs/adr/0006): deprecation, deregistration protection, DeregisterImage's
 * DeleteAssociatedSnapshots, DescribeImageReferences, and CopyImage's client token and tags.
 */
import {
  CopyImageCommand,
  CreateLaunchTemplateCommand,
  DeregisterImageCommand,
  DescribeImageReferencesCommand,
  DescribeImagesCommand,
  DescribeSnapshotsCommand,
  DisableImageDeprecationCommand,
  DisableImageDeregistrationProtectionCommand,
  EC2Client,
  EnableImageDeprecationCommand,
  EnableImageDeregistrationProtectionCommand,
  type Image,
  RegisterImageCommand,
  RunInstancesCommand,
} from '@aws-sdk/client-ec2';
import { describe, expect, inject, it } from 'vitest';
import {
  createTaggedSnapshot,
  EMULATOR_REGION,
  PLATFORM_DETAILS_TAG,
  requestLog,
} from '../../local/index.ts';
import { describeImage, failure } from '../support/ec2.ts';

const ec2 = new EC2Client({ maxAttempts: 1 });
const TEST_TAG = { purpose: 'emulator-test' };
let counter = 0;
const uniqueName = (label: string) => `lifecycle-${label}-${Date.now()}-${++counter}`;

/** An image on new snapshots (or on the ones given), tagged with TagSpecifications. */
async function image(snapshots?: string[], rootTags: Record<string, string> = {}): Promise<string> {
  const ids = snapshots ?? [await createTaggedSnapshot(ec2, { ...TEST_TAG, ...rootTags })];
  const { ImageId } = await ec2.send(
    new RegisterImageCommand({
      Name: uniqueName('image'),
      RootDeviceName: '/dev/xvda',
      BlockDeviceMappings: ids.map((SnapshotId, i) => ({
        DeviceName: `/dev/xvd${'abcdefgh'[i]}`,
        Ebs: { SnapshotId },
      })),
      TagSpecifications: [{ ResourceType: 'image', Tags: [{ Key: 'family', Value: 'web' }] }],
    }),
  );
  if (!ImageId) throw new Error('no ImageId');
  return ImageId;
}

describe('image deprecation', () => {
  it('keeps DeprecationTime (rounded to the minute) until deprecation is disabled', async () => {
    const imageId = await image();
    await ec2.send(
      new EnableImageDeprecationCommand({ ImageId: imageId, DeprecateAt: new Date('2031-03-04T05:06:40Z') }),
    );
    expect((await describeImage(ec2, imageId)).DeprecationTime).toBe('2031-03-04T05:07:00.000Z');
    await ec2.send(new DisableImageDeprecationCommand({ ImageId: imageId }));
    expect((await describeImage(ec2, imageId)).DeprecationTime).toBeUndefined();
    const missing = ec2.send(
      new EnableImageDeprecationCommand({ ImageId: 'ami-0123456789abcdef0', DeprecateAt: new Date() }),
    );
    expect(await failure(missing)).toMatchObject({ name: 'InvalidAMIID.NotFound', status: 400 });
  });
});

describe('deregistration protection', () => {
  it('refuses DeregisterImage while protection is on, and allows it once it is off', async () => {
    const imageId = await image();
    const enabled = await ec2.send(new EnableImageDeregistrationProtectionCommand({ ImageId: imageId }));
    expect(enabled.Return).toBe('enabled-without-cooldown');
    expect((await describeImage(ec2, imageId)).DeregistrationProtection).toBe('enabled-without-cooldown');
    expect(await failure(ec2.send(new DeregisterImageCommand({ ImageId: imageId })))).toMatchObject({
      name: 'OperationNotPermitted',
      status: 400,
    });
    const disabled = await ec2.send(new DisableImageDeregistrationProtectionCommand({ ImageId: imageId }));
    expect(disabled.Return).toBe('disabled');
    await ec2.send(new DeregisterImageCommand({ ImageId: imageId }));
    expect((await ec2.send(new DescribeImagesCommand({ ImageIds: [imageId] }))).Images).toEqual([]);
  });

  it('with a cooldown, still refuses DeregisterImage for 24 hours after protection is disabled', async () => {
    const imageId = await image();
    await ec2.send(new EnableImageDeregistrationProtectionCommand({ ImageId: imageId, WithCooldown: true }));
    expect((await describeImage(ec2, imageId)).DeregistrationProtection).toBe('enabled-with-cooldown');
    const disabled = await ec2.send(new DisableImageDeregistrationProtectionCommand({ ImageId: imageId }));
    expect(disabled.Return).toMatch(/^disabled-until \d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.000Z$/);
    const until = Date.parse(String(disabled.Return).slice('disabled-until '.length));
    expect(until - Date.now()).toBeGreaterThan(23 * 3600_000);
    expect(await failure(ec2.send(new DeregisterImageCommand({ ImageId: imageId })))).toMatchObject({
      name: 'OperationNotPermitted',
    });
  });
});

describe('the request log (emulator-only)', () => {
  it('lists, in order, each EC2 request that named the image, by Region and action, refused ones too', async () => {
    const imageId = await image();
    await ec2.send(new EnableImageDeregistrationProtectionCommand({ ImageId: imageId }));
    await failure(ec2.send(new DeregisterImageCommand({ ImageId: imageId })));
    await ec2.send(new DescribeImagesCommand({ ImageIds: [imageId, 'ami-0123456789abcdef0'] }));
    const log = requestLog(inject('awsEndpoint'));
    expect(await log.find({ imageId })).toEqual([
      { region: EMULATOR_REGION, action: 'EnableImageDeregistrationProtection', imageIds: [imageId] },
      { region: EMULATOR_REGION, action: 'DeregisterImage', imageIds: [imageId] },
      { region: EMULATOR_REGION, action: 'DescribeImages', imageIds: [imageId, 'ami-0123456789abcdef0'] },
    ]);
    expect(await log.find({ imageId, action: 'DeregisterImage', region: 'us-west-2' })).toEqual([]);
  });
});

describe('DeregisterImage with DeleteAssociatedSnapshots', () => {
  it("deletes the image's snapshots, skipping one another image still uses", async () => {
    const own = await createTaggedSnapshot(ec2, TEST_TAG);
    const shared = await createTaggedSnapshot(ec2, TEST_TAG);
    const imageId = await image([own, shared]);
    await image([shared]);
    const result = await ec2.send(
      new DeregisterImageCommand({ ImageId: imageId, DeleteAssociatedSnapshots: true }),
    );
    expect(result.DeleteSnapshotResults).toEqual(
      expect.arrayContaining([
        { SnapshotId: own, ReturnCode: 'success' },
        { SnapshotId: shared, ReturnCode: 'skipped' },
      ]),
    );
    const left = await ec2.send(
      new DescribeSnapshotsCommand({ Filters: [{ Name: 'snapshot-id', Values: [own, shared] }] }),
    );
    expect(left.Snapshots?.map((s) => s.SnapshotId)).toEqual([shared]);
  });

  it('keeps the snapshots without it', async () => {
    const own = await createTaggedSnapshot(ec2, TEST_TAG);
    const result = await ec2.send(new DeregisterImageCommand({ ImageId: await image([own]) }));
    expect(result.DeleteSnapshotResults).toBeUndefined();
    const left = await ec2.send(
      new DescribeSnapshotsCommand({ Filters: [{ Name: 'snapshot-id', Values: [own] }] }),
    );
    expect(left.Snapshots).toHaveLength(1);
  });
});

describe('DescribeImageReferences', () => {
  it('reports the instances and launch templates that use an image, and nothing for an unused one', async () => {
    const used = await image();
    const unused = await image();
    const run = await ec2.send(new RunInstancesCommand({ ImageId: used, MinCount: 1, MaxCount: 1 }));
    const template = await ec2.send(
      new CreateLaunchTemplateCommand({
        LaunchTemplateName: uniqueName('lt'),
        LaunchTemplateData: { ImageId: used },
      }),
    );
    const references = await ec2.send(
      new DescribeImageReferencesCommand({ ImageIds: [used, unused], IncludeAllResourceTypes: true }),
    );
    expect(references.ImageReferences).toEqual(
      expect.arrayContaining([
        {
          ImageId: used,
          ResourceType: 'ec2:Instance',
          Arn: expect.stringContaining(`instance/${run.Instances?.[0]?.InstanceId}`),
        },
        {
          ImageId: used,
          ResourceType: 'ec2:LaunchTemplate',
          Arn: expect.stringContaining(`launch-template/${template.LaunchTemplate?.LaunchTemplateId}`),
        },
      ]),
    );
    expect(references.ImageReferences?.filter((r) => r.ImageId === unused)).toEqual([]);
    const untyped = ec2.send(new DescribeImageReferencesCommand({ ImageIds: [used] }));
    expect(await failure(untyped)).toMatchObject({ name: 'MissingParameter', status: 400 });
  });
});

describe('CopyImage', () => {
  const west = new EC2Client({ region: 'us-west-2', maxAttempts: 1 });

  it('is idempotent by ClientToken, copies tags as asked, and makes its own snapshots', async () => {
    const source = await image(undefined, { [PLATFORM_DETAILS_TAG]: 'Windows' });
    const name = uniqueName('copy');
    const copy = () =>
      west.send(
        new CopyImageCommand({
          SourceImageId: source,
          SourceRegion: EMULATOR_REGION,
          Name: name,
          ClientToken: `token-${name}`,
          CopyImageTags: true,
          TagSpecifications: [{ ResourceType: 'image', Tags: [{ Key: 'copy-of', Value: source }] }],
        }),
      );
    const first = await copy();
    const again = await copy();
    expect(again.ImageId).toBe(first.ImageId);
    const copied = await describeImage(west, String(first.ImageId));
    const original = await describeImage(ec2, source);
    expect(copied).toMatchObject({
      Name: name,
      SourceImageId: source,
      SourceImageRegion: EMULATOR_REGION,
      PlatformDetails: 'Windows',
      Platform: 'windows',
      Tags: expect.arrayContaining([
        { Key: 'family', Value: 'web' },
        { Key: 'copy-of', Value: source },
      ]),
    });
    const snapshotOf = (i: Image) => i.BlockDeviceMappings?.[0]?.Ebs?.SnapshotId;
    expect(snapshotOf(copied)).toMatch(/^snap-/);
    expect(snapshotOf(copied)).not.toBe(snapshotOf(original));
    const images = await west.send(
      new DescribeImagesCommand({ Filters: [{ Name: 'name', Values: [name] }] }),
    );
    expect(images.Images).toHaveLength(1);
  });

  it('refuses a reused ClientToken with other parameters (IdempotentParameterMismatch), as EC2 does', async () => {
    const source = await image();
    const name = uniqueName('copy-mismatch');
    const copy = (Name: string) =>
      west.send(
        new CopyImageCommand({
          SourceImageId: source,
          SourceRegion: EMULATOR_REGION,
          Name,
          ClientToken: `token-${name}`,
        }),
      );
    await copy(name);
    await expect(copy(`${name}-renamed`)).rejects.toMatchObject({ name: 'IdempotentParameterMismatch' });
  });
});
