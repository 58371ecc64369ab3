/** The publishParameters step: the family's SSM parameters, under a lock, only forward. */
import { UpdateItemCommand } from '@aws-sdk/client-dynamodb';
import { PutParameterCommand } from '@aws-sdk/client-ssm';
import type { RegisterImageRequest } from '../../shared/contract/types.ts';
import { mayReplace } from '../../shared/distribution.ts';
import {
  classified,
  classify,
  isConditionFailure,
  PermanentError,
  RetryableError,
} from '../../shared/errors.ts';
import { PARAMETER_ITEM_PREFIX } from '../../shared/records.ts';
import { describeImage, parameterValue } from './reads.ts';
import { type Common, type Copy, everyImage, type LifecycleDeps } from './types.ts';

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
export async function publishParameters(
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
