/**
 * The copy steps: CopyImage into each Region of `copyTo`, then wait for the copies and tag
 * their snapshots. docs/adr/0008-distribution-and-lifecycle.md.
 */
import {
  CopyImageCommand,
  CreateTagsCommand,
  DescribeImagesCommand,
  type EC2Client,
  type Image,
  type Tag,
} from '@aws-sdk/client-ec2';
import { adoptable, imagesByKey } from '#shared/aws/images-by-key.ts';
import type { RegisterImageRequest } from '#shared/contract/types.ts';
import { copyClientToken, pipelineId } from '#shared/distribution.ts';
import {
  classified,
  classify,
  ImageNotAvailableYet,
  isClassified,
  PermanentError,
  RetryableError,
} from '#shared/errors.ts';
import { describeImage } from './reads.ts';
import type { Common, Copy, LifecycleDeps } from './types.ts';

/**
 * CopyImage into each Region of `copyTo`, in order: same name, description and tags as the
 * AMI (TagSpecifications, so an IAM condition on the request's `<p>key` tag holds), the
 * Region's KMS key when given. An image of our key in the Region (found by its `<p>key` tag,
 * whatever its name) is our earlier copy; so is one that holds the name and carries our key.
 */
export async function copyImages(task: Common & { request: RegisterImageRequest }, deps: LifecycleDeps) {
  const regions = task.lifecycle.copyTo ?? [];
  if (regions.length === 0 && task.lifecycle.family === undefined) return [];
  const source = await describeImage(deps.ec2In(deps.region), task.imageId, deps.region);
  if (!source) throw new RetryableError(`CopyImage: ${task.imageId} is not described yet; looking again`);
  const tags = (source.Tags ?? []).filter((tag) => tag.Key && !tag.Key.startsWith('aws:'));
  if (task.lifecycle.family !== undefined) await tagPipeline(source, tags, deps);
  if (regions.length === 0) return [];
  const copies: Copy[] = [];
  for (const { region, kmsKeyId } of regions) {
    const ec2 = deps.ec2In(region);
    // An earlier attempt's copy, found by its key whatever its name: adopted, never copied again.
    const earlier = await copyOfKey(ec2, region, task.key, deps.prefix);
    if (earlier) {
      copies.push({ region, imageId: earlier });
      continue;
    }
    // The AMI's own name (an adopted AMI keeps the name it was registered with, though the
    // tags now say another): the copy is the same as the AMI, and the request the same for
    // every attempt, as CopyImage's client token requires.
    const name = source.Name ?? task.request.Name;
    try {
      const result = await ec2.send(
        new CopyImageCommand({
          SourceImageId: task.imageId,
          SourceRegion: deps.region,
          Name: name,
          ...(source.Description && { Description: source.Description }),
          ClientToken: copyClientToken(task.key, region),
          ...(kmsKeyId !== undefined && { Encrypted: true, KmsKeyId: kmsKeyId }),
          TagSpecifications: [{ ResourceType: 'image', Tags: tags }],
        }),
      );
      if (!result.ImageId) throw new PermanentError(`CopyImage to ${region} returned no ImageId`);
      copies.push({ region, imageId: result.ImageId });
    } catch (error) {
      if ((error as Error).name !== 'InvalidAMIName.Duplicate')
        throw rethrow(error, `CopyImage to ${region}`);
      copies.push({ region, imageId: await adoptCopy(ec2, region, name, task.key, deps.prefix) });
    }
  }
  return copies;
}

/** Our copy of the key in `region` (adoption by key, shared/aws/images-by-key.ts), if there is one. */
async function copyOfKey(ec2: EC2Client, region: string, key: string, prefix: string) {
  const images = await classified(`DescribeImages in ${region} (by key)`, () =>
    imagesByKey(ec2, prefix, [key]),
  );
  return adoptable(images)?.ImageId;
}

/**
 * `<p>pipeline` on a family's AMI (and so on its copies, which carry the AMI's tags): the
 * pipeline that made it, the only one whose retention may retire it (pipelineId, ADR 0008).
 * Set here, the family's first lifecycle step, so that an image whose registration has not
 * reached its lifecycle is not yet any retention's to count or remove.
 */
async function tagPipeline(source: Image, tags: Tag[], deps: LifecycleDeps): Promise<void> {
  const Key = `${deps.prefix}pipeline`;
  const Value = pipelineId(source.OwnerId ?? '', deps.region, deps.table);
  if (tags.some((tag) => tag.Key === Key && tag.Value === Value)) return;
  await classified(`CreateTags ${Key} on ${source.ImageId} in ${deps.region}`, () =>
    deps
      .ec2In(deps.region)
      .send(new CreateTagsCommand({ Resources: [source.ImageId ?? ''], Tags: [{ Key, Value }] })),
  );
  const index = tags.findIndex((tag) => tag.Key === Key);
  if (index >= 0) tags.splice(index, 1);
  tags.push({ Key, Value });
}

function rethrow(error: unknown, what: string): Error {
  return isClassified(error) ? error : classify(error, what);
}

async function adoptCopy(ec2: EC2Client, region: string, name: string, key: string, prefix: string) {
  const images =
    (
      await classified(`DescribeImages in ${region} (duplicate name)`, () =>
        ec2.send(
          new DescribeImagesCommand({ Owners: ['self'], Filters: [{ Name: 'name', Values: [name] }] }),
        ),
      )
    ).Images ?? [];
  const ours = images.find((image) => image.Tags?.some((t) => t.Key === `${prefix}key` && t.Value === key));
  if (ours?.ImageId) return ours.ImageId;
  if (images.length === 0)
    throw new RetryableError(
      `CopyImage to ${region}: the image named "${name}" is not described yet; looking again`,
    );
  throw new PermanentError(
    `CopyImage to ${region}: InvalidAMIName.Duplicate: the name "${name}" belongs to ${images[0]?.ImageId ?? 'another image'}, which is not this registration's (no ${prefix}key=${key})`,
  );
}

/**
 * Until every copy is available: ImageNotAvailableYet (the state's bounded Retry waits). Then
 * the copies' snapshots get `<p>image-id` (their copy) and `<p>key`: retention and IAM find them.
 */
export async function checkCopies(task: Common & { copies: Copy[] }, deps: LifecycleDeps) {
  const snapshots: { region: string; imageId: string; snapshotIds: string[] }[] = [];
  const waiting: string[] = [];
  for (const { region, imageId } of task.copies) {
    const image = await describeImage(deps.ec2In(region), imageId, region);
    const state = image?.State;
    if (state === 'pending' || state === undefined) {
      waiting.push(`${imageId} in ${region} is ${state ?? 'not visible yet'}`);
      continue;
    }
    if (state !== 'available') {
      const reason = image?.StateReason?.Message ? `: ${image.StateReason.Message}` : '';
      throw new PermanentError(`the copy ${imageId} in ${region} is ${state}${reason}`);
    }
    const snapshotIds = (image?.BlockDeviceMappings ?? []).flatMap((m) =>
      m.Ebs?.SnapshotId ? [m.Ebs.SnapshotId] : [],
    );
    snapshots.push({ region, imageId, snapshotIds });
  }
  if (waiting.length > 0) throw new ImageNotAvailableYet(waiting.join('; '));
  for (const { region, imageId, snapshotIds } of snapshots) {
    if (snapshotIds.length === 0) continue;
    await classified(`CreateTags on the snapshots of ${imageId} in ${region}`, () =>
      deps.ec2In(region).send(
        new CreateTagsCommand({
          Resources: snapshotIds,
          Tags: [
            { Key: `${deps.prefix}image-id`, Value: imageId },
            { Key: `${deps.prefix}key`, Value: task.key },
          ],
        }),
      ),
    );
  }
  return { copies: snapshots };
}
