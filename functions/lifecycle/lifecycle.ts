/**
 * The workflow's distribution and lifecycle steps (tag contract v2), one small function each,
 * after the AMI is available and its snapshots tagged: copy to other Regions, wait for the
 * copies (and tag their snapshots), share, deprecate and protect, write the SSM parameters,
 * apply retention. Every step is idempotent, so a retry or a redrive finishes only what is
 * missing: copies carry a client token from the key and the Region (and a duplicate name is
 * adopted as Register adopts), grants and protection are set-to-a-value calls, parameters are
 * written under a lock in the records table and only forward in `<p>snapshot-time`. The pure
 * decisions are in shared/distribution.ts; errors are typed (shared/errors.ts).
 * docs/adr/0008-distribution-and-lifecycle.md.
 */

import { type DynamoDBClient, UpdateItemCommand } from '@aws-sdk/client-dynamodb';
import {
  CopyImageCommand,
  CreateTagsCommand,
  DeregisterImageCommand,
  DescribeImageReferencesCommand,
  DescribeImagesCommand,
  type EC2Client,
  EnableImageDeprecationCommand,
  EnableImageDeregistrationProtectionCommand,
  type Image,
  ModifyImageAttributeCommand,
} from '@aws-sdk/client-ec2';
import { GetParameterCommand, PutParameterCommand, type SSMClient } from '@aws-sdk/client-ssm';
import type { Lifecycle, RegisterImageRequest } from '../../shared/contract/types.ts';
import {
  copyClientToken,
  deprecationTime,
  type FamilyImage,
  isProtected,
  mayReplace,
  retentionCandidates,
} from '../../shared/distribution.ts';
import {
  classified,
  classify,
  ImageNotAvailableYet,
  isClassified,
  isConditionFailure,
  PermanentError,
  RetryableError,
} from '../../shared/errors.ts';
import { PARAMETER_ITEM_PREFIX } from '../../shared/records.ts';
import {
  closeRetention,
  noteRetentionFailure,
  openRetention,
  type RetentionWork,
  retentionWork,
} from './retention-item.ts';

export interface Copy {
  region: string;
  imageId: string;
}

interface Common {
  key: string;
  executionArn: string;
  imageId: string;
  lifecycle: Lifecycle;
}

export type LifecycleTask =
  | (Common & { action: 'copyImages'; request: RegisterImageRequest })
  | (Common & { action: 'checkCopies'; copies: Copy[] })
  | (Common & { action: 'share'; copies: Copy[] })
  | (Common & { action: 'protect'; copies: Copy[] })
  | (Common & { action: 'publishParameters'; copies: Copy[]; request: RegisterImageRequest })
  | (Common & { action: 'retain'; copies: Copy[] });

export interface LifecycleDeps {
  /** The workflow's EC2 client in a Region (one attempt per call). */
  ec2In(region: string): EC2Client;
  ssmIn(region: string): SSMClient;
  dynamo: DynamoDBClient;
  /** The records table: it also holds each SSM parameter's lock and newest snapshot time. */
  table: string;
  prefix: string;
  /** The pipeline's own Region, where the AMI is registered. */
  region: string;
  /** SSM parameter names the deployment lets the workflow write start with this path. */
  parameterPath: string;
  now(): Date;
}

export async function runLifecycleTask(task: LifecycleTask, deps: LifecycleDeps): Promise<unknown> {
  switch (task.action) {
    case 'copyImages':
      return { copies: await copyImages(task, deps) };
    case 'checkCopies':
      return checkCopies(task, deps);
    case 'share':
      return share(task, deps);
    case 'protect':
      return protect(task, deps);
    case 'publishParameters':
      return publishParameters(task, deps);
    case 'retain':
      return retain(task, deps);
  }
}

async function describeImage(ec2: EC2Client, imageId: string, where: string): Promise<Image | undefined> {
  const result = await classified(`DescribeImages (${where})`, () =>
    ec2.send(new DescribeImagesCommand({ ImageIds: [imageId] })),
  );
  return result.Images?.[0];
}

/** The AMI and its copies, Region by Region. */
function everyImage(task: { imageId: string; copies: Copy[] }, deps: Pick<LifecycleDeps, 'region'>): Copy[] {
  return [{ region: deps.region, imageId: task.imageId }, ...task.copies];
}

// --- copies ---------------------------------------------------------------------------------

/**
 * CopyImage into each Region of `copyTo`, in order: same name, description and tags as the
 * AMI (TagSpecifications, so an IAM condition on the request's `<p>key` tag holds), the
 * Region's KMS key when given. A duplicate name carrying our key is our earlier copy.
 */
async function copyImages(task: Common & { request: RegisterImageRequest }, deps: LifecycleDeps) {
  const regions = task.lifecycle.copyTo ?? [];
  if (regions.length === 0) return [];
  const source = await describeImage(deps.ec2In(deps.region), task.imageId, deps.region);
  if (!source) throw new RetryableError(`CopyImage: ${task.imageId} is not described yet; looking again`);
  const tags = (source.Tags ?? []).filter((tag) => tag.Key && !tag.Key.startsWith('aws:'));
  const copies: Copy[] = [];
  for (const { region, kmsKeyId } of regions) {
    const ec2 = deps.ec2In(region);
    try {
      const result = await ec2.send(
        new CopyImageCommand({
          SourceImageId: task.imageId,
          SourceRegion: deps.region,
          Name: task.request.Name,
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
      copies.push({
        region,
        imageId: await adoptCopy(ec2, region, task.request.Name, task.key, deps.prefix),
      });
    }
  }
  return copies;
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
async function checkCopies(task: Common & { copies: Copy[] }, deps: LifecycleDeps) {
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

// --- sharing, deprecation, protection -------------------------------------------------------

/** Launch permission for the accounts, organizations and OUs, on the AMI and every copy. */
async function share(task: Common & { copies: Copy[] }, deps: LifecycleDeps) {
  const { userIds = [], organizationArns = [], organizationalUnitArns = [] } = task.lifecycle.shareWith ?? {};
  const add = [
    ...userIds.map((UserId) => ({ UserId })),
    ...organizationArns.map((OrganizationArn) => ({ OrganizationArn })),
    ...organizationalUnitArns.map((OrganizationalUnitArn) => ({ OrganizationalUnitArn })),
  ];
  if (add.length === 0) return [];
  for (const { region, imageId } of everyImage(task, deps)) {
    await classified(`ModifyImageAttribute (launch permission) on ${imageId} in ${region}`, () =>
      deps
        .ec2In(region)
        .send(new ModifyImageAttributeCommand({ ImageId: imageId, LaunchPermission: { Add: add } })),
    );
  }
  return [...userIds, ...organizationArns, ...organizationalUnitArns];
}

/** The deprecation time (creation + N days) and deregistration protection, on the AMI and every copy. */
async function protect(task: Common & { copies: Copy[] }, deps: LifecycleDeps) {
  const { deprecateAfterDays, deregistrationProtection } = task.lifecycle;
  const result: { deprecationTime?: string; deregistrationProtection?: string } = {};
  if (deprecateAfterDays !== undefined) {
    const image = await describeImage(deps.ec2In(deps.region), task.imageId, deps.region);
    if (!image?.CreationDate)
      throw new RetryableError(`${task.imageId} has no CreationDate yet; looking again`);
    result.deprecationTime = deprecationTime(image.CreationDate, deprecateAfterDays);
  }
  for (const { region, imageId } of everyImage(task, deps)) {
    const ec2 = deps.ec2In(region);
    if (result.deprecationTime !== undefined) {
      const DeprecateAt = new Date(result.deprecationTime);
      await classified(`EnableImageDeprecation on ${imageId} in ${region}`, () =>
        ec2.send(new EnableImageDeprecationCommand({ ImageId: imageId, DeprecateAt })),
      );
    }
    if (deregistrationProtection !== undefined) {
      const WithCooldown = deregistrationProtection === 'with-cooldown';
      await classified(`EnableImageDeregistrationProtection on ${imageId} in ${region}`, () =>
        ec2.send(new EnableImageDeregistrationProtectionCommand({ ImageId: imageId, WithCooldown })),
      );
    }
  }
  if (deregistrationProtection !== undefined) result.deregistrationProtection = deregistrationProtection;
  return result;
}

// --- SSM parameters -------------------------------------------------------------------------

/** How long a parameter's lock holds: longer than the function's timeout (60 s), so a holder cannot outlive it. */
export const PARAMETER_LOCK_SECONDS = 180;
/** How long a step waits for another registration's lock before Step Functions retries it. */
const LOCK_WAIT_MS = 5_000;

export interface ParameterResult {
  region: string;
  name: string;
  /** What the parameter names after this step: our image, or a newer one's. */
  value: string;
  written: boolean;
}

/**
 * The parameter in the pipeline's Region and in each copy's Region, each under its own lock
 * (an item of the records table, `ssm-parameter#<region>#<name>`), which also holds the
 * snapshot time and key of the AMI the parameter names: written only when ours is newer
 * (shared/distribution.ts mayReplace), so events out of order and racing registrations of a
 * family never move it back. docs/adr/0008-distribution-and-lifecycle.md.
 */
async function publishParameters(
  task: Common & { copies: Copy[]; request: RegisterImageRequest },
  deps: LifecycleDeps,
): Promise<ParameterResult[]> {
  const name = task.lifecycle.ssmParameter;
  if (name === undefined) return [];
  if (!name.startsWith(deps.parameterPath))
    throw new PermanentError(
      `SSM parameter ${name} is outside the path this deployment may write (${deps.parameterPath}): deploy with --param="ssmParameterPath=…" covering it, or change the ${deps.prefix}ssm-parameter tag`,
    );
  const snapshotTime = tagValue(task.request, `${deps.prefix}snapshot-time`);
  if (snapshotTime === undefined)
    throw new PermanentError(
      `the AMI has no ${deps.prefix}snapshot-time tag: the parameter ${name} cannot be ordered (the root snapshot has no StartTime)`,
    );
  const results: ParameterResult[] = [];
  for (const { region, imageId } of everyImage(task, deps))
    results.push(await publishParameter({ region, name, imageId, snapshotTime }, task, deps));
  return results;
}

function tagValue(request: RegisterImageRequest, key: string): string | undefined {
  return request.TagSpecifications.flatMap((spec) => spec.Tags).find((tag) => tag.Key === key)?.Value;
}

async function publishParameter(
  target: { region: string; name: string; imageId: string; snapshotTime: string },
  task: Common,
  deps: LifecycleDeps,
): Promise<ParameterResult> {
  const { region, name, imageId, snapshotTime } = target;
  const pk = `${PARAMETER_ITEM_PREFIX}${region}#${name}`;
  const held = await lock(pk, task.executionArn, deps);
  let current =
    held.snapshotTime?.S !== undefined
      ? { snapshotTime: held.snapshotTime.S, key: held.imageKey?.S ?? '', imageId: held.imageId?.S ?? '' }
      : undefined;
  // No record yet (the first write, or one made before this table): the parameter's own AMI
  // says how new it is.
  current ??= await parameterImage(region, name, deps);
  if (!mayReplace(current, { snapshotTime, key: task.key })) {
    await unlock(pk, task.executionArn, deps);
    return { region, name, value: current?.imageId ?? '', written: false };
  }
  await classified(`PutParameter ${name} in ${region}`, () =>
    deps.ssmIn(region).send(
      new PutParameterCommand({
        Name: name,
        Value: imageId,
        Type: 'String',
        DataType: 'aws:ec2:image',
        Overwrite: true,
      }),
    ),
  );
  try {
    await deps.dynamo.send(
      new UpdateItemCommand({
        TableName: deps.table,
        Key: { pk: { S: pk } },
        UpdateExpression:
          'SET snapshotTime = :time, imageKey = :key, imageId = :image, updatedAt = :now REMOVE lockedBy, lockUntil',
        ConditionExpression: 'lockedBy = :me',
        ExpressionAttributeValues: {
          ':time': { S: snapshotTime },
          ':key': { S: task.key },
          ':image': { S: imageId },
          ':now': { S: deps.now().toISOString() },
          ':me': { S: task.executionArn },
        },
      }),
    );
  } catch (error) {
    // Only a holder past its lease loses the lock, and none outlives it (PARAMETER_LOCK_SECONDS).
    throw classify(error, `recording the parameter ${name} in ${region}`);
  }
  return { region, name, value: imageId, written: true };
}

type Item = Record<string, { S?: string }>;

/** Takes the parameter's lock (free, expired, or ours already), waiting a little for another holder. */
async function lock(pk: string, me: string, deps: LifecycleDeps): Promise<Item> {
  const deadline = Date.now() + LOCK_WAIT_MS;
  for (let wait = 50; ; wait = Math.min(wait * 2, 800)) {
    const now = deps.now();
    try {
      const result = await deps.dynamo.send(
        new UpdateItemCommand({
          TableName: deps.table,
          Key: { pk: { S: pk } },
          UpdateExpression: 'SET lockedBy = :me, lockUntil = :until',
          ConditionExpression: 'attribute_not_exists(lockedBy) OR lockUntil < :now OR lockedBy = :me',
          ExpressionAttributeValues: {
            ':me': { S: me },
            ':until': { S: new Date(now.getTime() + PARAMETER_LOCK_SECONDS * 1000).toISOString() },
            ':now': { S: now.toISOString() },
          },
          ReturnValues: 'ALL_NEW',
        }),
      );
      return (result.Attributes ?? {}) as Item;
    } catch (error) {
      if (!isConditionFailure(error)) throw classify(error, `locking ${pk}`);
      if (Date.now() + wait > deadline)
        throw new RetryableError(
          `${pk} is being written by another registration of the family; trying again`,
        );
      await new Promise((resolve) => setTimeout(resolve, wait));
    }
  }
}

async function unlock(pk: string, me: string, deps: LifecycleDeps): Promise<void> {
  try {
    await deps.dynamo.send(
      new UpdateItemCommand({
        TableName: deps.table,
        Key: { pk: { S: pk } },
        UpdateExpression: 'REMOVE lockedBy, lockUntil',
        ConditionExpression: 'lockedBy = :me',
        ExpressionAttributeValues: { ':me': { S: me } },
      }),
    );
  } catch (error) {
    // A lock we no longer hold needs no release.
    if (!isConditionFailure(error)) throw classify(error, `unlocking ${pk}`);
  }
}

/** The AMI a parameter names now, with its `<p>snapshot-time` and `<p>key`; undefined without one. */
async function parameterImage(region: string, name: string, deps: LifecycleDeps) {
  const value = await parameterValue(region, name, deps);
  if (value === undefined) return undefined;
  const image = await describeImage(deps.ec2In(region), value, region).catch(() => undefined);
  const tag = (key: string) => image?.Tags?.find((t) => t.Key === `${deps.prefix}${key}`)?.Value;
  const snapshotTime = tag('snapshot-time');
  // An AMI we cannot order (not ours, or gone) does not hold the parameter back.
  return snapshotTime === undefined ? undefined : { snapshotTime, key: tag('key') ?? '', imageId: value };
}

async function parameterValue(
  region: string,
  name: string,
  deps: Pick<LifecycleDeps, 'ssmIn'>,
): Promise<string | undefined> {
  try {
    return (await deps.ssmIn(region).send(new GetParameterCommand({ Name: name }))).Parameter?.Value;
  } catch (error) {
    if ((error as Error).name === 'ParameterNotFound') return undefined;
    throw classify(error, `GetParameter ${name} in ${region}`);
  }
}

// --- retention ------------------------------------------------------------------------------

export interface RetentionResult {
  deregistered: Copy[];
  kept: { region: string; imageId: string; reason: string }[];
}

/**
 * The retain step: the family's retention item records the work as pending first
 * (retention-item.ts), so that a failure, or a crash that leaves no trace in the execution,
 * is found and run again by the reconciler's retention pass; done once it finishes.
 */
async function retain(task: Common & { copies: Copy[] }, deps: LifecycleDeps): Promise<RetentionResult> {
  const work = retentionWork(task);
  if (work === undefined) return { deregistered: [], kept: [] };
  const { family } = work.lifecycle;
  await openRetention(work, task.executionArn, deps);
  try {
    const result = await applyRetention(work, deps);
    await closeRetention(family, task.executionArn, result, deps);
    return result;
  } catch (error) {
    await noteRetentionFailure(family, task.executionArn, error, deps);
    throw error;
  }
}

/** What retention needs: EC2 and SSM in each Region, the tag prefix, the pipeline's Region, the clock. */
export type RetentionDeps = Pick<LifecycleDeps, 'ec2In' | 'ssmIn' | 'prefix' | 'region' | 'now'>;

/**
 * In the pipeline's Region and each copy's, the family's AMIs that snap2ami registered here
 * (`<p>key` and `<p>family`), older than the rule keeps, are deregistered, except the newest,
 * a protected one, the one the family's SSM parameter names, and one EC2 reports in use
 * (DescribeImageReferences: instances, launch templates, any SSM parameter). Snapshots go with
 * a copy always, with the source AMI only under `<p>retain-delete-snapshots=true`. With
 * `dryRun`, nothing is deregistered: `deregistered` lists what would be.
 */
export async function applyRetention(
  work: RetentionWork,
  deps: RetentionDeps,
  options: { dryRun?: boolean } = {},
): Promise<RetentionResult> {
  const { retain: rule, family, ssmParameter } = work.lifecycle;
  const result: RetentionResult = { deregistered: [], kept: [] };
  for (const { region, imageId } of everyImage(work, deps)) {
    const ec2 = deps.ec2In(region);
    const images = await familyImages(ec2, region, family, deps.prefix);
    const { candidates, kept } = retentionCandidates(images, rule, imageId, deps.now());
    for (const k of kept)
      if (k.reason !== 'within retention')
        result.kept.push({ region, imageId: k.image.imageId, reason: k.reason });
    if (candidates.length === 0) continue;
    const named = ssmParameter && (await parameterValue(region, ssmParameter, deps));
    const inUse = await referenced(
      ec2,
      region,
      candidates.map((c) => c.imageId),
    );
    for (const candidate of candidates) {
      const reason = isProtected(candidate.protection)
        ? 'deregistration protection'
        : candidate.imageId === named
          ? `named by ${ssmParameter}`
          : inUse.get(candidate.imageId);
      if (reason !== undefined) {
        result.kept.push({ region, imageId: candidate.imageId, reason });
        continue;
      }
      if (options.dryRun) {
        result.deregistered.push({ region, imageId: candidate.imageId });
        continue;
      }
      const deleteSnapshots = region !== deps.region || work.lifecycle.retainDeleteSnapshots === true;
      try {
        await ec2.send(
          new DeregisterImageCommand({
            ImageId: candidate.imageId,
            DeleteAssociatedSnapshots: deleteSnapshots,
          }),
        );
        result.deregistered.push({ region, imageId: candidate.imageId });
      } catch (error) {
        const name = (error as Error).name;
        // Protected since we looked (OperationNotPermitted), or already gone (a retry): keep going.
        if (name === 'OperationNotPermitted')
          result.kept.push({ region, imageId: candidate.imageId, reason: 'deregistration protection' });
        else if (!/^InvalidAMIID\./.test(name))
          throw classify(error, `DeregisterImage ${candidate.imageId} in ${region}`);
      }
    }
  }
  return result;
}

async function familyImages(
  ec2: EC2Client,
  region: string,
  family: string,
  prefix: string,
): Promise<FamilyImage[]> {
  const images: FamilyImage[] = [];
  let NextToken: string | undefined;
  do {
    const page = await classified(`DescribeImages (family ${family}) in ${region}`, () =>
      ec2.send(
        new DescribeImagesCommand({
          Owners: ['self'],
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
      images.push({
        imageId: image.ImageId,
        snapshotTime: image.Tags?.find((t) => t.Key === `${prefix}snapshot-time`)?.Value,
        protection: image.DeregistrationProtection,
      });
    }
    NextToken = page.NextToken;
  } while (NextToken);
  return images;
}

/** The candidates EC2 reports in use, with what uses each. */
async function referenced(ec2: EC2Client, region: string, imageIds: string[]): Promise<Map<string, string>> {
  const inUse = new Map<string, string>();
  for (let i = 0; i < imageIds.length; i += 50) {
    const ImageIds = imageIds.slice(i, i + 50);
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
