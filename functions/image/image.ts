/**
 * The workflow's EC2 steps, one small function each: read UefiData (uefi-data.ts), register
 * (a dry run first, then RegisterImage, adopting an earlier attempt's image of the key, found by
 * its `<p>key` tag), check that the image is available, check its billing (billing.ts), tag the
 * source snapshots. Before RegisterImage the request's snapshots are looked up again and checked
 * (sources.ts): the workflow does not trust its input. Errors are typed (shared/errors.ts) so the
 * state machine retries only transient ones.
 */
import {
  CreateTagsCommand,
  DescribeImagesCommand,
  type EC2Client,
  type Image,
  RegisterImageCommand,
} from '@aws-sdk/client-ec2';
import { adoptable, imagesByKey, keyOf } from '#shared/aws/images-by-key.ts';
import { describeSnapshots, registerImageInput } from '#shared/aws/snapshots.ts';
import type { BillingCheck, RegisterImageRequest } from '#shared/contract/types.ts';
import {
  classified,
  classify,
  ImageNotAvailableYet,
  PermanentError,
  RetryableError,
} from '#shared/errors.ts';
import { idempotencyKey } from '#shared/idempotency.ts';
import { checkBilling, type WorkflowImage } from './billing.ts';
import { type CopyDeps, type CopyState, copySourceSnapshots } from './copy-sources.ts';
import { requestSnapshotIds, rootSnapshotId, type SourceSettings, sourceProblems } from './sources.ts';
import { readUefiData, type UefiDataDeps } from './uefi-data.ts';

export type ImageTask =
  /** Another account's snapshots copied in (copy-sources.ts): the state back with the copies. */
  | { action: 'copySourceSnapshots'; state: CopyState }
  | { action: 'uefiData'; source: string; request: RegisterImageRequest }
  /** An execution started before DryRun became part of Register (it still has the state). */
  | { action: 'dryRun'; request: RegisterImageRequest }
  /**
   * attempts: the claim's count (Claim's `attempts`, a DynamoDB number as text). On the first, a
   * set of one snapshot registers without looking for an earlier attempt's image; without it, it looks.
   */
  | { action: 'register'; key: string; request: RegisterImageRequest; attempts?: string | number }
  /**
   * An execution started before the wait followed EC2's events (ADR 0013) polls with it: an
   * execution keeps the definition it started with, redriven too. source and startedAt: for
   * the time-to-available metrics only (timing.ts).
   */
  | { action: 'checkImage'; imageId: string; source?: Record<string, unknown>; startedAt?: string }
  | { action: 'checkBilling'; image: WorkflowImage; billingCheck: BillingCheck }
  | { action: 'tagSnapshots'; imageId: string; snapshotIds: string[] };

export interface ImageDeps extends SourceSettings {
  ec2: EC2Client;
  uefiData: UefiDataDeps;
  /** What CopySourceSnapshots needs besides these: made on first use (only other accounts' snapshots need it). */
  copies?: () => Omit<CopyDeps, 'ec2' | 'prefix' | 'account' | 'allowedSourceAccounts'>;
}

export async function runImageTask(task: ImageTask, deps: ImageDeps): Promise<Record<string, unknown>> {
  switch (task.action) {
    case 'copySourceSnapshots': {
      if (deps.copies === undefined) throw new PermanentError('this function cannot copy snapshots');
      const { ec2, prefix, account, allowedSourceAccounts } = deps;
      return copySourceSnapshots(task.state, {
        ec2,
        prefix,
        account,
        allowedSourceAccounts,
        ...deps.copies(),
      });
    }
    case 'uefiData':
      // The whole request back, UefiData set: the state machine puts it in place of its own.
      return { ...(await readUefiData(task.source, task.request, deps.uefiData)) };
    case 'dryRun':
      await dryRun(task.request, deps);
      return { dryRun: 'passed' };
    case 'register':
      return register(task.key, task.request, deps, task.attempts);
    case 'checkImage':
      return checkImage(task.imageId, deps);
    case 'checkBilling':
      return { ...(await checkBilling(task.image, task.billingCheck, deps)) };
    case 'tagSnapshots':
      return tagSnapshots(task.imageId, task.snapshotIds, deps);
  }
}

/** Refuses, with every reason, a request whose snapshots this pipeline would not have planned. */
async function checkSources(request: RegisterImageRequest, deps: ImageDeps, what: string) {
  const found = await classified(`${what}: DescribeSnapshots`, () =>
    describeSnapshots(deps.ec2, requestSnapshotIds(request)),
  );
  const problems = sourceProblems(request, found, deps);
  if (problems.length > 0) throw new PermanentError(`${what} refused: ${problems.join('; ')}`);
}

/**
 * The dry run's errors say "RegisterImage dry run" first: the state machine names such a failure
 * DryRun (RegisterFailedAt?). The name in use is not the dry run's failure: a retry after a lost
 * answer meets its own image's name, and RegisterImage adopts it.
 */
async function dryRun(request: RegisterImageRequest, deps: ImageDeps) {
  await checkSources(request, deps, 'RegisterImage dry run');
  try {
    await deps.ec2.send(new RegisterImageCommand(registerImageInput(request, true)));
  } catch (error) {
    const name = (error as Error).name;
    if (name === 'DryRunOperation' || name === 'InvalidAMIName.Duplicate') return;
    throw classify(error, 'RegisterImage dry run');
  }
  throw new PermanentError('RegisterImage dry run: EC2 answered without DryRunOperation');
}

async function register(
  key: string,
  request: RegisterImageRequest,
  deps: ImageDeps,
  attempts: string | number | undefined,
) {
  await dryRun(request, deps);
  const earlier = await earlierImage(key, request, deps, attempts);
  if (earlier) return earlier;
  try {
    const result = await deps.ec2.send(new RegisterImageCommand(registerImageInput(request)));
    if (!result.ImageId) throw new PermanentError('RegisterImage returned no ImageId');
    return { imageId: result.ImageId, adopted: false };
  } catch (error) {
    if ((error as Error).name !== 'InvalidAMIName.Duplicate') throw classify(error, 'RegisterImage');
    return adoptByName(key, request, deps);
  }
}

/**
 * Before registering: an earlier attempt's image of this key, found by its `<p>key` tag whatever
 * its name (a redrive after `<p>name` changed adopts it: one AMI per key), is adopted. An AMI of
 * the root snapshot alone (the root's own key: the reconciler, or a request, registered the root
 * without the rest of this set) is refused, naming it. One DescribeImages for both.
 *
 * Only a later attempt (a redrive, a new event after a failure: Claim counted more than one)
 * can meet an image of the key under another name: within one attempt a retry registers under
 * the same name, and RegisterImage's unique name (InvalidAMIName.Duplicate, adoptByName) adopts
 * the first try's image. So the first attempt of a request whose root is its only key looks for
 * nothing. Without a count (an execution started before Claim returned it) it looks.
 */
async function earlierImage(
  key: string,
  request: RegisterImageRequest,
  deps: ImageDeps,
  attempts: string | number | undefined,
) {
  const root = rootSnapshotId(request);
  const lone = root && idempotencyKey(deps.account, await deps.ec2.config.region(), [root]);
  const keys = lone && lone !== key ? [key, lone] : [key];
  if (keys.length === 1 && Number(attempts) === 1) return undefined;
  const images = await classified('DescribeImages (by key)', () => imagesByKey(deps.ec2, deps.prefix, keys));
  const ours = adoptable(images.filter((image) => keyOf(image, deps.prefix) === key));
  if (ours?.ImageId) return { imageId: ours.ImageId, adopted: true };
  const alone = images.find((image) => keyOf(image, deps.prefix) === lone);
  if (alone && root) throw rootAlone(alone, root, key, request, deps.prefix);
  return undefined;
}

/** A RegisterImage of a set (or of a root with more devices) that meets an AMI of its root snapshot made without them. */
function rootAlone(
  image: Image,
  root: string,
  key: string,
  request: RegisterImageRequest,
  prefix: string,
): PermanentError {
  const others = requestSnapshotIds(request).filter((id) => id !== root);
  const imageId = image.ImageId ?? 'an image';
  return new PermanentError(
    `RegisterImage refused: ${imageId} is an AMI of the root snapshot ${root} registered without ${others.join(', ')} (${prefix}key=${keyOf(image, prefix) ?? '?'}, not this registration's ${key}); a snapshot has one AMI: deregister ${imageId} (aws ec2 deregister-image --image-id ${imageId}), then redrive this registration (snap2ami redrive --key ${key})`,
  );
}

/**
 * A duplicate name is ours when the image holding it carries our key: a retry or a race already
 * registered it (the look-up by key may not have described it yet: EC2 is eventually consistent).
 */
async function adoptByName(key: string, request: RegisterImageRequest, deps: ImageDeps) {
  const { ec2, prefix } = deps;
  const name = request.Name;
  const { Images: images = [] } = await classified('DescribeImages (duplicate name)', () =>
    ec2.send(new DescribeImagesCommand({ Owners: ['self'], Filters: [{ Name: 'name', Values: [name] }] })),
  );
  const ours = images.find((image) => keyOf(image, prefix) === key);
  if (ours?.ImageId) return { imageId: ours.ImageId, adopted: true };
  // The image that holds the name (ours, from an attempt whose answer was lost) may not be
  // described yet. Look again; the workflow's retries bound it.
  if (images.length === 0)
    throw new RetryableError(
      `RegisterImage: InvalidAMIName.Duplicate: the image named "${name}" is not described yet; looking again`,
    );
  const root = rootSnapshotId(request);
  const sameRoot = images.find((image) =>
    image.Tags?.some((tag) => tag.Key === `${prefix}source-snapshot` && tag.Value === root),
  );
  if (sameRoot && root && requestSnapshotIds(request).length > 1)
    throw rootAlone(sameRoot, root, key, request, prefix);
  const other = images[0]?.ImageId ?? 'another image';
  throw new PermanentError(
    `RegisterImage: InvalidAMIName.Duplicate: the name "${name}" belongs to ${other}, which is not this registration's (no ${prefix}key=${key}); choose another ${prefix}name`,
  );
}

async function checkImage(imageId: string, { ec2 }: ImageDeps) {
  const { Images } = await classified('DescribeImages', () =>
    ec2.send(new DescribeImagesCommand({ ImageIds: [imageId] })),
  );
  const image = Images?.[0];
  const state = image?.State;
  if (state === 'available') return { imageId, state };
  if (state === 'pending' || state === undefined)
    throw new ImageNotAvailableYet(`${imageId} is ${state ?? 'not visible yet'}`);
  const reason = image?.StateReason
    ? `: ${image.StateReason.Code ?? ''} ${image.StateReason.Message ?? ''}`.trimEnd()
    : '';
  throw new PermanentError(`${imageId} is ${state}${reason}`);
}

async function tagSnapshots(imageId: string, snapshotIds: string[], { ec2, prefix }: ImageDeps) {
  await classified('CreateTags', () =>
    ec2.send(
      new CreateTagsCommand({ Resources: snapshotIds, Tags: [{ Key: `${prefix}image-id`, Value: imageId }] }),
    ),
  );
  return { tagged: snapshotIds };
}
