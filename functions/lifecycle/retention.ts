/** The retain step and the family's retention, which the reconciler's retention pass runs too. */
import {
  DeregisterImageCommand,
  DescribeImageReferencesCommand,
  DescribeImagesCommand,
  type EC2Client,
} from '@aws-sdk/client-ec2';
import { type FamilyImage, isProtected, retentionCandidates } from '../../shared/distribution.ts';
import { classified, classify } from '../../shared/errors.ts';
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

/**
 * The retain step: the family's retention item records the work as pending first
 * (retention-item.ts), so that a failure, or a crash that leaves no trace in the execution,
 * is found and run again by the reconciler's retention pass; done once it finishes.
 */
export async function retain(
  task: Common & { copies: Copy[] },
  deps: LifecycleDeps,
): Promise<RetentionResult> {
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
