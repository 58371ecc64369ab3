/**
 * The workflow's waits for images (WaitUntilAvailable, WaitForCopies) as callbacks
 * (docs/adr/0013-ami-events.md):
 *
 * - `awaitImages`, the waiting task itself (Step Functions' `.waitForTaskToken`): stores the
 *   task token under each image it waits for, then looks once (one DescribeImages per Region),
 *   so that an image that became available before the token was stored still resumes the
 *   workflow. Each time the task's heartbeat runs out (an event lost: they are best effort) the
 *   workflow runs it again: one more look, and a new token. Past the deployment's wait limit,
 *   counted from the execution's start, it fails instead of waiting again.
 * - `onImageEvent`, for EC2's `EC2 AMI State Change` events: finds the token stored under the
 *   image and answers it, SendTaskSuccess once every image of the wait is available,
 *   SendTaskFailure with EC2's message when one failed (or was deregistered or disabled).
 *
 * Answering a token twice, or one whose task has ended, is harmless: Step Functions refuses the
 * second answer (TaskTimedOut, InvalidToken), and that refusal is ignored here.
 */
import {
  BatchGetItemCommand,
  type DynamoDBClient,
  GetItemCommand,
  PutItemCommand,
  UpdateItemCommand,
} from '@aws-sdk/client-dynamodb';
import { DescribeImagesCommand, type EC2Client } from '@aws-sdk/client-ec2';
import {
  type AmiEvent,
  type AwaitedImage,
  amiEventSchema,
  IMAGE_FAILED,
  imageWaitKey,
  type WaitOutcome,
  waitOutcome,
} from '#shared/ami-events.ts';
import { classified, PermanentError } from '#shared/errors.ts';
import { type AvailabilityTimes, availabilityTimes } from '../image/timing.ts';

/** The logger's part the function uses (Powertools' Logger in Lambda). */
interface Log {
  info(entry: { message: string } & Record<string, unknown>): void;
  warn(entry: { message: string } & Record<string, unknown>): void;
}

/** Either input: a waiting task's (action `await`) or an EC2 AMI event; anything else is refused. */
export async function runResume(
  input: AwaitTask | Record<string, unknown>,
  resume: ResumeDeps,
  log: Log = { info: () => {}, warn: () => {} },
  onError: (error: unknown) => void = () => {},
) {
  if (input.action === 'await') {
    const task = input as AwaitTask;
    log.info({ message: 'waiting', key: task.key, executionArn: task.executionArn });
    try {
      return await awaitImages(task, resume);
    } catch (error) {
      onError(error);
      throw error;
    }
  }
  const event = amiEventSchema.safeParse(input);
  if (!event.success) {
    log.warn({ message: 'not an EC2 AMI State Change event: ignored', issues: event.error.issues });
    return { resumed: false };
  }
  const result = await onImageEvent(event.data, resume);
  log.info({ message: 'AMI event', detail: event.data.detail, region: event.data.region, ...result });
  return result;
}

/** Step Functions' callback API (SendTaskSuccess, SendTaskFailure), by task token. */
export interface TaskCallbacks {
  success(token: string, output: unknown): Promise<void>;
  failure(token: string, error?: string, cause?: string): Promise<void>;
}

export interface ResumeDeps {
  dynamo: DynamoDBClient;
  /** The records table: a wait's items are `image-wait#<region>#<imageId>`. */
  table: string;
  ec2In(region: string): EC2Client;
  callbacks: TaskCallbacks;
  /** The pipeline's own Region: an image named without one is there. */
  region: string;
  /** How long a registration may wait for its images, in all (the deployment's imageWaitLimitHours). */
  waitLimitSeconds: number;
  now(): Date;
  /** The AMI's time to available (functions/image/timing.ts), when a wait for it ends: the handler publishes it. */
  measured?(times: AvailabilityTimes): void;
}

export interface AwaitTask {
  action: 'await';
  token: string;
  key: string;
  executionArn: string;
  /** The execution's start: the wait limit counts from it. */
  startedAt: string;
  /** The execution's source (its event's time: the AMI's time to available counts from it). */
  source?: Record<string, unknown>;
  /** One image (the AMI, in the pipeline's Region) … */
  imageId?: string;
  /** … or its copies, each in its Region. */
  copies?: { imageId: string; region: string }[];
}

/** A wait's item keeps the token and the images of the whole wait, and whether this one is available. */
interface WaitItem {
  token: string;
  images: string[];
  available: boolean;
  /** The AMI's own wait (not its copies'): the times to measure from. */
  eventTime?: string;
  startedAt?: string;
}

/** Seconds a wait's item outlives the wait limit (DynamoDB's TTL removes it after that). */
const ITEM_GRACE_SECONDS = 24 * 3600;

/** Refusals of an answer for a task that has already ended or been answered. */
const ENDED = /^(TaskTimedOut|InvalidToken|TaskDoesNotExist)$/;

export async function awaitImages(task: AwaitTask, deps: ResumeDeps) {
  const images: AwaitedImage[] = task.copies
    ? task.copies.map(({ imageId, region }) => ({ imageId, region }))
    : [{ imageId: String(task.imageId), region: deps.region }];
  const waited = deps.now().getTime() - Date.parse(task.startedAt);
  if (waited > deps.waitLimitSeconds * 1000)
    throw new PermanentError(
      `${describe(images)} not available after ${Math.round(waited / 1000)} s: the deployment's wait limit is ${deps.waitLimitSeconds} s (imageWaitLimitHours)`,
    );
  const keys = images.map((image) => imageWaitKey(image.region, image.imageId));
  const expiresAt =
    Math.floor(Date.parse(task.startedAt) / 1000) + deps.waitLimitSeconds + ITEM_GRACE_SECONDS;
  for (const key of keys)
    await classified('PutItem (the wait)', () =>
      deps.dynamo.send(
        new PutItemCommand({
          TableName: deps.table,
          Item: {
            pk: { S: key },
            token: { S: task.token },
            images: { SS: keys },
            available: { BOOL: false },
            key: { S: task.key },
            executionArn: { S: task.executionArn },
            expiresAt: { N: String(expiresAt) },
            startedAt: { S: task.startedAt },
            ...(!task.copies &&
              typeof task.source?.eventTime === 'string' && { eventTime: { S: task.source.eventTime } }),
          },
        }),
      ),
    );
  // The look after storing the token: an image that became available (or failed) before it was
  // stored, whose event found no token, still ends the wait.
  const outcomes = await look(images, deps);
  const failed = outcomes.flatMap(({ outcome }) => (outcome.kind === 'failed' ? [outcome.cause] : []))[0];
  if (failed !== undefined) {
    await answer(() => deps.callbacks.failure(task.token, IMAGE_FAILED, failed));
    return { waiting: 0 };
  }
  const available = outcomes.filter((o) => o.outcome.kind === 'available');
  for (const { image } of available)
    await markAvailable(imageWaitKey(image.region, image.imageId), task.token, deps);
  if (available.length === images.length) {
    await answer(() => deps.callbacks.success(task.token, { images }));
    if (!task.copies) measure(deps, task.startedAt, task.source?.eventTime);
    return { waiting: 0 };
  }
  return { waiting: images.length - available.length };
}

export async function onImageEvent(event: AmiEvent, deps: ResumeDeps) {
  const image = { imageId: event.detail.ImageId, region: event.region };
  const key = imageWaitKey(image.region, image.imageId);
  const item = await readWait(key, deps);
  if (!item) return { resumed: false };
  const outcome: WaitOutcome = waitOutcome(image, event.detail.State, event.detail.ErrorMessage);
  if (outcome.kind === 'pending') return { resumed: false };
  if (outcome.kind === 'failed') {
    await answer(() => deps.callbacks.failure(item.token, IMAGE_FAILED, outcome.cause));
    return { resumed: true };
  }
  if (item.images.length > 1) {
    // One of several copies: this one is marked, then all are read (consistently). Of two last
    // copies' events at once, each reads after its own mark, so the later read sees both.
    if (!(await markAvailable(key, item.token, deps))) return { resumed: false };
    const others = await readWaits(item.images, deps);
    if (!others.every((other) => other?.token === item.token && other.available)) return { resumed: false };
  }
  await answer(() =>
    deps.callbacks.success(item.token, {
      images: item.images.map((k) => {
        const [, region = '', imageId = ''] = k.split('#');
        return { imageId, region };
      }),
    }),
  );
  if (item.images.length === 1 && item.startedAt) measure(deps, item.startedAt, item.eventTime);
  return { resumed: true };
}

function measure(deps: ResumeDeps, startedAt: string, eventTime: unknown): void {
  deps.measured?.(availabilityTimes({ source: { eventTime }, startedAt }, deps.now()));
}

/** One DescribeImages per Region for the images of a wait, each image's outcome. */
async function look(images: AwaitedImage[], deps: ResumeDeps) {
  const regions = [...new Set(images.map((image) => image.region))];
  const described = new Map<string, { State?: string; StateReason?: { Message?: string } }>();
  for (const region of regions) {
    const ids = images.filter((image) => image.region === region).map((image) => image.imageId);
    const { Images } = await classified(`DescribeImages in ${region}`, () =>
      deps.ec2In(region).send(new DescribeImagesCommand({ ImageIds: ids, IncludeDisabled: true })),
    );
    // An answer for one image ID is that image's.
    const answered = Images ?? [];
    if (ids.length === 1 && answered.length === 1 && answered[0])
      described.set(`${region}#${ids[0]}`, answered[0]);
    else for (const image of answered) described.set(`${region}#${image.ImageId}`, image);
  }
  return images.map((image) => {
    const found = described.get(`${image.region}#${image.imageId}`);
    return { image, outcome: waitOutcome(image, found?.State, found?.StateReason?.Message) };
  });
}

async function markAvailable(key: string, token: string, deps: ResumeDeps): Promise<boolean> {
  try {
    await deps.dynamo.send(
      new UpdateItemCommand({
        TableName: deps.table,
        Key: { pk: { S: key } },
        UpdateExpression: 'SET available = :yes',
        ConditionExpression: '#token = :token',
        ExpressionAttributeNames: { '#token': 'token' },
        ExpressionAttributeValues: { ':yes': { BOOL: true }, ':token': { S: token } },
      }),
    );
    return true;
  } catch (error) {
    // A newer attempt of the wait stored its own token: that attempt looks for itself.
    if ((error as Error).name === 'ConditionalCheckFailedException') return false;
    throw error;
  }
}

function waitItem(
  item: Record<string, { S?: string; SS?: string[]; BOOL?: boolean }> | undefined,
): WaitItem | undefined {
  if (!item?.token?.S) return undefined;
  return {
    token: item.token.S,
    images: item.images?.SS ?? [],
    available: item.available?.BOOL === true,
    ...(item.startedAt?.S && { startedAt: item.startedAt.S }),
    ...(item.eventTime?.S && { eventTime: item.eventTime.S }),
  };
}

async function readWait(key: string, deps: ResumeDeps): Promise<WaitItem | undefined> {
  const { Item } = await deps.dynamo.send(
    new GetItemCommand({ TableName: deps.table, Key: { pk: { S: key } }, ConsistentRead: true }),
  );
  return waitItem(Item as never);
}

async function readWaits(keys: string[], deps: ResumeDeps): Promise<(WaitItem | undefined)[]> {
  const { Responses, UnprocessedKeys } = await deps.dynamo.send(
    new BatchGetItemCommand({
      RequestItems: {
        [deps.table]: { Keys: keys.map((pk) => ({ pk: { S: pk } })), ConsistentRead: true },
      },
    }),
  );
  // Whatever DynamoDB left unread counts as not available: the look on the next heartbeat decides.
  if (Object.keys(UnprocessedKeys ?? {}).length > 0) return [undefined];
  const found = new Map(
    (Responses?.[deps.table] ?? []).map((item) => [item.pk?.S ?? '', waitItem(item as never)]),
  );
  return keys.map((key) => found.get(key));
}

async function answer(send: () => Promise<void>): Promise<void> {
  try {
    await send();
  } catch (error) {
    if (!ENDED.test((error as Error).name)) throw error;
  }
}

function describe(images: AwaitedImage[]): string {
  return images.map((image) => `${image.imageId} in ${image.region}`).join(', ');
}
