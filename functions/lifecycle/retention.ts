/**
 * The retain step, and the family's retention, which the reconciler's retention pass runs too
 * (functions/reconcile/retention-pass.ts). The decisions are pure (shared/distribution.ts:
 * retentionCandidates, retireStep); this file asks AWS what they need, cheapest first, and
 * carries them out. docs/adr/0008-distribution-and-lifecycle.md.
 */
import { GetItemCommand } from '@aws-sdk/client-dynamodb';
import {
  CreateTagsCommand,
  DeregisterImageCommand,
  DescribeImageAttributeCommand,
  DescribeImageReferencesCommand,
  DescribeImagesCommand,
  DisableImageCommand,
  type EC2Client,
} from '@aws-sdk/client-ec2';
import {
  type FamilyImage,
  graceFor,
  pipelineId,
  type RetireStep,
  retentionCandidates,
  retireStep,
  SHARED_GRACE_DAYS,
} from '#shared/distribution.ts';
import { classified, classify } from '#shared/errors.ts';
import { RECORD_STATUS } from '#shared/records.ts';
import { parameterValue } from './reads.ts';
import {
  closeRetention,
  noteRetentionFailure,
  openRetention,
  type RetentionWork,
  retentionWork,
} from './retention-item.ts';
import {
  type Common,
  type Copy,
  everyImage,
  type LifecycleDeps,
  type RetentionDeps,
  type RetentionResult,
} from './types.ts';

/** EC2's limit on DescribeImageReferences' ImageIds (API reference; the SDK's model). */
export const MAX_REFERENCE_IMAGE_IDS = 10;

export const emptyRetentionResult = (): RetentionResult => ({
  deregistered: [],
  disabled: [],
  kept: [],
  pending: false,
});

/**
 * The retain step: the family's retention item records the work as pending first
 * (retention-item.ts), so that a failure, or a crash that leaves no trace in the execution,
 * is found and run again by the reconciler's retention pass. It is marked done when retention
 * finishes with the family at its rule; it stays pending when this registration's own image
 * was kept beyond the rule, or an image waits out its grace (the pass carries those out).
 */
export async function retain(
  task: Common & { copies: Copy[] },
  deps: LifecycleDeps,
): Promise<RetentionResult> {
  const work = retentionWork(task);
  if (work === undefined) return emptyRetentionResult();
  const { family } = work.lifecycle;
  await openRetention(work, task.executionArn, deps);
  try {
    const result = await applyRetention(work, deps, { keepOwnImage: true });
    await closeRetention(family, task.executionArn, result, deps);
    return result;
  } catch (error) {
    await noteRetentionFailure(family, task.executionArn, error, deps);
    throw error;
  }
}

/**
 * In the pipeline's Region and each copy's, the family's AMIs that this pipeline made (their
 * `<p>pipeline` tag: pipelineId), ordered one way for every run (newestFirst), beyond the rule
 * and past every guard, are retired: deregistered, or under a grace (`<p>retain-grace`, at
 * least 7 days for a shared image) disabled first and deregistered once it has passed. The
 * guards, cheapest first: the rule's newest, protection, `<p>keep=true`, re-enabled by a person,
 * and (with `keepOwnImage`, the retain step) the registration's own image; then a registration
 * still IN_PROGRESS (its record), the family's SSM parameter, and EC2's references (at most 10
 * image IDs a call). Snapshots go with a copy (this pipeline made them), and with an image in
 * the pipeline's Region only under `<p>retain-delete-snapshots=true`. With `dryRun`, nothing
 * changes: `deregistered` and `disabled` list what would be.
 */
export async function applyRetention(
  work: RetentionWork,
  deps: RetentionDeps,
  options: { dryRun?: boolean; keepOwnImage?: boolean } = {},
): Promise<RetentionResult> {
  const result = emptyRetentionResult();
  for (const { region, imageId } of everyImage(work, deps)) {
    const images = await familyImages(deps.ec2In(region), region, work.lifecycle.family, deps.prefix);
    const account = images.find((image) => image.owner !== undefined)?.owner;
    if (account === undefined) continue;
    const { candidates, kept, pending } = retentionCandidates(images, work.lifecycle.retain, {
      pipeline: pipelineId(account, deps.region, deps.table),
      thisImageId: options.keepOwnImage ? imageId : undefined,
      now: deps.now(),
    });
    result.pending ||= pending;
    for (const k of kept)
      if (k.reason !== 'within retention')
        result.kept.push({ region, imageId: k.image.imageId, reason: k.reason });
    const free = await guarded(candidates, region, work, deps, result);
    for (const image of free) await retire(image, region, work, deps, options.dryRun === true, result);
  }
  return result;
}

type Found = FamilyImage & { owner?: string | undefined };

/**
 * The candidates that the guards needing AWS let go, in order of cost: a registration still
 * running (its record: the image may be at CopyImages), the family's SSM parameter, then EC2's
 * references for what is left. Each kept one goes in `result.kept` with its reason.
 */
async function guarded(
  candidates: Found[],
  region: string,
  work: RetentionWork,
  deps: RetentionDeps,
  result: RetentionResult,
): Promise<Found[]> {
  const keep = (image: Found, reason: string) => result.kept.push({ region, imageId: image.imageId, reason });
  const left: Found[] = [];
  for (const image of candidates) {
    if (await stillRegistering(image.key, deps)) {
      // Its own retention runs when it finishes; if it fails instead, the pass looks again.
      keep(image, 'its registration is still in progress');
      result.pending = true;
    } else left.push(image);
  }
  const { ssmParameter } = work.lifecycle;
  const named =
    left.length > 0 && ssmParameter ? await parameterValue(region, ssmParameter, deps) : undefined;
  const unnamed = left.filter((image) => {
    if (image.imageId !== named) return true;
    keep(image, `named by ${ssmParameter}`);
    return false;
  });
  const inUse = await referenced(
    deps.ec2In(region),
    region,
    unnamed.map((image) => image.imageId),
  );
  return unnamed.filter((image) => {
    const use = inUse.get(image.imageId);
    if (use === undefined) return true;
    keep(image, use);
    return false;
  });
}

/** Whether the registration that made an image (its `<p>key`) has a record still IN_PROGRESS. */
async function stillRegistering(key: string | undefined, deps: RetentionDeps): Promise<boolean> {
  if (key === undefined) return false;
  const { Item } = await classified(`GetItem ${key} (is its registration running?)`, () =>
    deps.dynamo.send(
      new GetItemCommand({
        TableName: deps.table,
        Key: { pk: { S: key } },
        ProjectionExpression: '#status',
        ExpressionAttributeNames: { '#status': 'status' },
        ConsistentRead: true,
      }),
    ),
  );
  return Item?.status?.S === RECORD_STATUS.inProgress;
}

/** One image that every guard let go: the next step of retireStep, carried out. */
async function retire(
  image: Found,
  region: string,
  work: RetentionWork,
  deps: RetentionDeps,
  dryRun: boolean,
  result: RetentionResult,
): Promise<void> {
  const ec2 = deps.ec2In(region);
  const grace = work.lifecycle.retainGraceDays ?? 0;
  const now = deps.now();
  // Only an image not yet disabled can be shared (DisableImage removes launch permissions).
  const shared =
    grace < SHARED_GRACE_DAYS && image.state !== 'disabled' && (await isShared(ec2, region, image));
  const step: RetireStep = retireStep(image, grace, shared, now);
  const where = { region, imageId: image.imageId };
  if (step.action === 'wait') {
    result.pending = true;
    result.kept.push({ ...where, reason: `disabled by retention; deregistered from ${step.until}` });
    return;
  }
  if (step.action === 'disable') {
    result.pending = true;
    const computed = new Date(now.getTime() + graceFor(grace, shared) * 86_400_000).toISOString();
    const until =
      image.retireAfter !== undefined && image.retireAfter > computed ? image.retireAfter : computed;
    result.disabled.push({ ...where, until, ...(shared && { shared: true }) });
    if (dryRun) return;
    // In this order, so that a crash between two calls loses nothing: `retire-after` first
    // (while a shared image still shows its launch permissions, which DisableImage removes),
    // then DisableImage, then `retired-at`, which marks the image as disabled by retention (an
    // enabled image with it was enabled again by a person).
    const tag = (Key: string, Value: string) =>
      classified(`CreateTags ${Key} on ${image.imageId} in ${region}`, () =>
        ec2.send(new CreateTagsCommand({ Resources: [image.imageId], Tags: [{ Key, Value }] })),
      );
    await tag(`${deps.prefix}retire-after`, until);
    if (image.state !== 'disabled')
      await classified(`DisableImage ${image.imageId} in ${region}`, () =>
        ec2.send(new DisableImageCommand({ ImageId: image.imageId })),
      );
    await tag(`${deps.prefix}retired-at`, now.toISOString());
    return;
  }
  if (dryRun) {
    result.deregistered.push(where);
    return;
  }
  // A copy's snapshots are this pipeline's (CopyImage made them); the source's are the user's.
  const deleteSnapshots = region !== deps.region || work.lifecycle.retainDeleteSnapshots === true;
  try {
    await ec2.send(
      new DeregisterImageCommand({ ImageId: image.imageId, DeleteAssociatedSnapshots: deleteSnapshots }),
    );
    result.deregistered.push(where);
  } catch (error) {
    const name = (error as Error).name;
    // Protected since we looked (OperationNotPermitted), or already gone (a retry): keep going.
    if (name === 'OperationNotPermitted') result.kept.push({ ...where, reason: 'deregistration protection' });
    else if (!/^InvalidAMIID\./.test(name))
      throw classify(error, `DeregisterImage ${image.imageId} in ${region}`);
  }
}

/** Whether other accounts, organizations or OUs may launch the image, or anyone (public). */
async function isShared(ec2: EC2Client, region: string, image: Found): Promise<boolean> {
  const { LaunchPermissions = [] } = await classified(
    `DescribeImageAttribute launchPermission of ${image.imageId} in ${region}`,
    () =>
      ec2.send(new DescribeImageAttributeCommand({ ImageId: image.imageId, Attribute: 'launchPermission' })),
  );
  return LaunchPermissions.length > 0;
}

/** The family's images in a Region, disabled ones too, as retention sees them. */
async function familyImages(
  ec2: EC2Client,
  region: string,
  family: string,
  prefix: string,
): Promise<Found[]> {
  const images: Found[] = [];
  let NextToken: string | undefined;
  do {
    const page = await classified(`DescribeImages (family ${family}) in ${region}`, () =>
      ec2.send(
        new DescribeImagesCommand({
          Owners: ['self'],
          IncludeDisabled: true,
          Filters: [
            { Name: `tag:${prefix}family`, Values: [family] },
            { Name: 'tag-key', Values: [`${prefix}key`] },
          ],
          ...(NextToken && { NextToken }),
        }),
      ),
    );
    for (const image of page.Images ?? []) {
      if (!image.ImageId) continue;
      const tag = (name: string) => image.Tags?.find((t) => t.Key === `${prefix}${name}`)?.Value;
      images.push({
        imageId: image.ImageId,
        snapshotTime: tag('snapshot-time'),
        key: tag('key'),
        protection: image.DeregistrationProtection,
        pipeline: tag('pipeline'),
        keep: tag('keep') === 'true',
        state: image.State,
        retiredAt: tag('retired-at'),
        retireAfter: tag('retire-after'),
        owner: image.OwnerId,
      });
    }
    NextToken = page.NextToken;
  } while (NextToken);
  return images;
}

/** The images EC2 reports in use, with what uses each: MAX_REFERENCE_IMAGE_IDS a call, every page. */
async function referenced(ec2: EC2Client, region: string, imageIds: string[]): Promise<Map<string, string>> {
  const inUse = new Map<string, string>();
  for (let i = 0; i < imageIds.length; i += MAX_REFERENCE_IMAGE_IDS) {
    const ImageIds = imageIds.slice(i, i + MAX_REFERENCE_IMAGE_IDS);
    // Every page: a reference missed on a later page would let retention remove an AMI in use.
    let NextToken: string | undefined;
    do {
      const token = NextToken;
      const page = await classified(`DescribeImageReferences in ${region}`, () =>
        ec2.send(
          new DescribeImageReferencesCommand({
            ImageIds,
            IncludeAllResourceTypes: true,
            ...(token && { NextToken: token }),
          }),
        ),
      );
      for (const reference of page.ImageReferences ?? [])
        if (reference.ImageId && !inUse.has(reference.ImageId))
          inUse.set(
            reference.ImageId,
            `in use by ${reference.Arn ?? reference.ResourceType ?? 'a resource'}`,
          );
      NextToken = page.NextToken;
    } while (NextToken);
  }
  return inUse;
}
