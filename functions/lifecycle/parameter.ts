/** The publishParameters step: the family's SSM parameters, under a lock, only forward. */
import { UpdateItemCommand } from '@aws-sdk/client-dynamodb';
import { PutParameterCommand } from '@aws-sdk/client-ssm';
import type { RegisterImageRequest } from '#shared/contract/types.ts';
import { mayReplace } from '#shared/distribution.ts';
import { classified, classify, isConditionFailure, PermanentError, RetryableError } from '#shared/errors.ts';
import { PARAMETER_ITEM_PREFIX } from '#shared/records.ts';
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
 * (shared/distribution.ts mayReplace) than both what the item recorded and the AMI the
 * parameter names now (its own tags), so events out of order, racing registrations of a
 * family and a write whose record failed never move it back. docs/adr/0008, ADR 0005.
 */
export async function publishParameters(
  task: Common & { copies: Copy[]; request: RegisterImageRequest },
  deps: LifecycleDeps,
  sleep: Sleep = pause,
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
    results.push(await publishParameter({ region, name, imageId, snapshotTime }, task, deps, sleep));
  return results;
}

function tagValue(request: RegisterImageRequest, key: string): string | undefined {
  return request.TagSpecifications.flatMap((spec) => spec.Tags).find((tag) => tag.Key === key)?.Value;
}

async function publishParameter(
  target: { region: string; name: string; imageId: string; snapshotTime: string },
  task: Common,
  deps: LifecycleDeps,
  sleep: Sleep,
): Promise<ParameterResult> {
  const { region, name, imageId, snapshotTime } = target;
  const pk = `${PARAMETER_ITEM_PREFIX}${region}#${name}`;
  const held = await lock(pk, task.executionArn, deps, sleep);
  const recorded =
    held.snapshotTime?.S !== undefined
      ? { snapshotTime: held.snapshotTime.S, key: held.imageKey?.S ?? '', imageId: held.imageId?.S ?? '' }
      : undefined;
  // The item says what the last recorded write named; the parameter says what is there. A
  // write whose record failed (its PutParameter landed, the lock's update did not) left the
  // parameter ahead of the item: the newer of the two holds ours back, so the parameter
  // never moves back whatever failed (and a first write, with no record, has the parameter's).
  const current = newer(recorded, await parameterImage(region, name, deps));
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

/** How the lock waits for another holder: the clock's own pause (a test's model clock passes it). */
export type Sleep = (ms: number) => Promise<void>;
const pause: Sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

/** Takes the parameter's lock (free, expired, or ours already), waiting a little for another holder. */
async function lock(pk: string, me: string, deps: LifecycleDeps, sleep: Sleep): Promise<Item> {
  const deadline = deps.now().getTime() + LOCK_WAIT_MS;
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
      if (deps.now().getTime() + wait > deadline)
        throw new RetryableError(
          `${pk} is being written by another registration of the family; trying again`,
        );
      await sleep(wait);
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

interface Named {
  snapshotTime: string;
  key: string;
  imageId: string;
}

/** The newer of two by the parameter's order (mayReplace): snapshot time, then key. */
function newer(a: Named | undefined, b: Named | undefined): Named | undefined {
  if (a === undefined || b === undefined) return a ?? b;
  return mayReplace(a, b) ? b : a;
}

/** The AMI a parameter names now, with its `<p>snapshot-time` and `<p>key`; undefined without one. */
async function parameterImage(region: string, name: string, deps: LifecycleDeps): Promise<Named | undefined> {
  const value = await parameterValue(region, name, deps);
  if (value === undefined) return undefined;
  // Only an image EC2 does not know is "none": a throttled or failed read is retried, never
  // taken for a parameter that holds nothing back.
  const image = await describeImage(deps.ec2In(region), value, region).catch((error: Error) => {
    if (/^InvalidAMIID\./.test(String((error.cause as Error | undefined)?.name))) return undefined;
    throw error;
  });
  const tag = (key: string) => image?.Tags?.find((t) => t.Key === `${deps.prefix}${key}`)?.Value;
  const snapshotTime = tag('snapshot-time');
  // An AMI we cannot order (not ours, or gone) does not hold the parameter back.
  return snapshotTime === undefined ? undefined : { snapshotTime, key: tag('key') ?? '', imageId: value };
}
