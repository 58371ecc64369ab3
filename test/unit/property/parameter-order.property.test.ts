/**
 * The SSM parameter never moves back, whatever fails (issue 18, point 4): the publishParameters
 * step (functions/lifecycle/parameter.ts, the real code) run by several registrations of one
 * family at once, against a model of DynamoDB's conditional updates, SSM and EC2 whose calls
 * fast-check's scheduler orders, with faults (PutParameter refused, PutParameter landed but its
 * answer lost, the lock item's update failing after PutParameter), retries, and leases running
 * out behind a registration that died holding the lock.
 *
 * What must always remain: every PutParameter that lands names an AMI at least as new, by the
 * parameter's order (`<p>snapshot-time`, then `<p>key`, greater first), as the one it replaces;
 * so at the end the parameter names the greatest AMI among those whose PutParameter landed.
 */
import type { UpdateItemCommand } from '@aws-sdk/client-dynamodb';
import type { DescribeImagesCommand } from '@aws-sdk/client-ec2';
import { GetParameterCommand, type PutParameterCommand } from '@aws-sdk/client-ssm';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { RegisterImageRequest } from '#shared/contract/types.ts';
import { mayReplace } from '#shared/distribution.ts';
import { PARAMETER_LOCK_SECONDS, publishParameters } from '../../../functions/lifecycle/parameter.ts';
import type { LifecycleDeps } from '../../../functions/lifecycle/types.ts';

const PREFIX = 'snap2ami:';
const REGION = 'us-east-1';
const NAME = '/golden/web';

type Fault = 'none' | 'put refused' | 'put answer lost' | 'record fails';

interface Writer {
  key: string;
  snapshotTime: string;
  imageId: string;
  /** Its first attempt's fault; later attempts (Step Functions' retries, a redrive) have none. */
  fault: Fault;
  attempts: number;
  /** When it ends failed while holding the lock: whether the others wait for its lease to run out. */
  leaseRunsOut: boolean;
}

const awsError = (name: string, status: number) =>
  Object.assign(new Error(`model: ${name}`), { name, $metadata: { httpStatusCode: status } });

type Value = { S?: string };
type Item = Record<string, Value>;

/** DynamoDB, SSM and EC2 as the step uses them; every call waits for the scheduler's turn. */
class World {
  now = Date.parse('2026-06-01T00:00:00Z');
  readonly items = new Map<string, Item>();
  parameter: string | undefined;
  /** Every value PutParameter wrote, in order. */
  readonly history: string[] = [];
  readonly images = new Map<string, { snapshotTime: string; key: string }>();
  /** Faults still to happen, by execution (its first attempt only). */
  readonly faults = new Map<string, Fault>();

  private readonly s: fc.Scheduler;

  constructor(scheduler: fc.Scheduler) {
    this.s = scheduler;
  }

  private turn(label: string) {
    return this.s.schedule(Promise.resolve(label), label);
  }

  deps(): LifecycleDeps {
    return {
      dynamo: { send: async (command: UpdateItemCommand) => this.update(command) } as never,
      ssmIn: () => ({ send: async (command: unknown) => this.ssm(command) }) as never,
      ec2In: () => ({ send: async (command: DescribeImagesCommand) => this.ec2(command) }) as never,
      table: 'records',
      prefix: PREFIX,
      region: REGION,
      parameterPath: '/',
      now: () => new Date(this.now),
    };
  }

  /** The lock's wait: the model's clock moves on, and the others get their turns. */
  readonly sleep = async (ms: number) => {
    await this.turn('sleep');
    this.now += ms;
  };

  private async update(command: UpdateItemCommand) {
    const input = command.input;
    const pk = input.Key?.pk?.S as string;
    const values = (input.ExpressionAttributeValues ?? {}) as Record<string, Value>;
    const me = values[':me']?.S;
    await this.turn(`UpdateItem ${me}`);
    const item = this.items.get(pk) ?? {};
    const expression = input.UpdateExpression ?? '';
    if (expression.startsWith('SET lockedBy')) {
      const free =
        item.lockedBy === undefined ||
        (item.lockUntil?.S ?? '') < (values[':now']?.S ?? '') ||
        item.lockedBy.S === me;
      if (!free) throw awsError('ConditionalCheckFailedException', 400);
      const next = { ...item, lockedBy: { S: me }, lockUntil: values[':until'] as Value };
      this.items.set(pk, next);
      return { Attributes: structuredClone(next) };
    }
    if (expression.startsWith('SET snapshotTime') && this.faults.get(me ?? '') === 'record fails') {
      this.faults.delete(me ?? '');
      throw awsError('ValidationException', 400);
    }
    if (item.lockedBy?.S !== me) throw awsError('ConditionalCheckFailedException', 400);
    const { lockedBy: _, lockUntil: __, ...rest } = item;
    this.items.set(
      pk,
      expression.startsWith('SET snapshotTime')
        ? {
            ...rest,
            snapshotTime: values[':time'] as Value,
            imageKey: values[':key'] as Value,
            imageId: values[':image'] as Value,
          }
        : rest,
    );
    return {};
  }

  /** Whose PutParameter this is: the image names its writer (`ami-<key>`). */
  private async ssm(command: unknown) {
    if (command instanceof GetParameterCommand) {
      await this.turn('GetParameter');
      if (this.parameter === undefined) throw awsError('ParameterNotFound', 400);
      return { Parameter: { Value: this.parameter } };
    }
    const input = (command as PutParameterCommand).input;
    const me = `execution-${input.Value?.slice(4)}`;
    await this.turn(`PutParameter ${me}`);
    const fault = this.faults.get(me);
    if (fault === 'put refused') {
      this.faults.delete(me);
      throw awsError('InternalServerError', 500);
    }
    this.parameter = input.Value;
    this.history.push(input.Value as string);
    if (fault === 'put answer lost') {
      this.faults.delete(me);
      throw awsError('InternalServerError', 500);
    }
    return {};
  }

  private async ec2(command: DescribeImagesCommand) {
    const imageId = command.input.ImageIds?.[0] as string;
    await this.turn(`DescribeImages ${imageId}`);
    const image = this.images.get(imageId);
    if (!image) throw awsError('InvalidAMIID.NotFound', 400);
    const Tags = [
      { Key: `${PREFIX}snapshot-time`, Value: image.snapshotTime },
      { Key: `${PREFIX}key`, Value: image.key },
    ];
    return { Images: [{ ImageId: imageId, State: 'available', Tags }] };
  }
}

/** A registration's publishParameters attempts: one, then its retries, each after a pause. */
async function registration(world: World, writer: Writer): Promise<void> {
  const me = `execution-${writer.key}`;
  const request = {
    Name: writer.key,
    TagSpecifications: [
      { ResourceType: 'image', Tags: [{ Key: `${PREFIX}snapshot-time`, Value: writer.snapshotTime }] },
    ],
  } as unknown as RegisterImageRequest;
  const task = {
    key: writer.key,
    executionArn: me,
    imageId: writer.imageId,
    lifecycle: { ssmParameter: NAME },
    copies: [],
    request,
  };
  for (let attempt = 1; attempt <= writer.attempts; attempt += 1) {
    try {
      await publishParameters(task, world.deps(), world.sleep);
      return;
    } catch {
      world.faults.delete(me);
      await world.sleep(2_000);
    }
  }
  // Failed for good. Holding the lock, it holds it until its lease runs out.
  const item = world.items.get(`ssm-parameter#${REGION}#${NAME}`);
  if (writer.leaseRunsOut && item?.lockedBy?.S === me)
    world.now = Math.max(world.now, Date.parse(item.lockUntil?.S ?? '') + 1);
}

const order = (a: { snapshotTime: string; key: string }, b: { snapshotTime: string; key: string }) =>
  mayReplace(a, b) && !(a.snapshotTime === b.snapshotTime && a.key === b.key);

const writers = fc
  .uniqueArray(
    fc.record({
      key: fc.stringMatching(/^v1-[0-9a-f]{4}$/),
      snapshotTime: fc.constantFrom('2026-01-01T00:00:00Z', '2026-01-02T00:00:00Z', '2026-01-03T00:00:00Z'),
      fault: fc.constantFrom<Fault>('none', 'none', 'put refused', 'put answer lost', 'record fails'),
      attempts: fc.integer({ min: 1, max: 3 }),
      leaseRunsOut: fc.boolean(),
    }),
    { minLength: 1, maxLength: 4, selector: (w) => w.key },
  )
  .map((list) => list.map((w) => ({ ...w, imageId: `ami-${w.key}` })));

describe('the SSM parameter under failures, retries and racing registrations', () => {
  it('never moves back: each write is at least as new as what it replaces, and the last names the newest that landed', async () => {
    expect(PARAMETER_LOCK_SECONDS * 1000).toBeGreaterThan(4 * 3 * 7_000);
    await fc.assert(
      fc.asyncProperty(fc.scheduler(), writers, async (s, list) => {
        const world = new World(s);
        for (const w of list) {
          world.images.set(w.imageId, { snapshotTime: w.snapshotTime, key: w.key });
          if (w.fault !== 'none') world.faults.set(`execution-${w.key}`, w.fault);
        }
        const done = Promise.all(list.map((w) => registration(world, w)));
        await s.waitFor(done);

        const landed = world.history.map((id) => ({
          ...(world.images.get(id) as { snapshotTime: string; key: string }),
          id,
        }));
        for (let i = 1; i < landed.length; i += 1)
          expect(
            order(landed[i] as never, landed[i - 1] as never),
            `${landed[i]?.id} after ${landed[i - 1]?.id}`,
          ).toBe(false);
        if (landed.length === 0) expect(world.parameter).toBeUndefined();
        else {
          const newest = landed.reduce((a, b) => (mayReplace(a, b) ? b : a));
          expect(world.parameter).toBe(newest.id);
        }
      }),
      { numRuns: 1000 },
    );
  }, 120_000);
});
