/**
 * Admission control in ingest and the image function (docs/adr/0009-admission-control.md), on
 * the emulator, with the budget's state in a DynamoDB table as deployed and admission's clock
 * set by the test (no wall-clock luck): a batch larger than the budget starts what the bucket
 * holds and sends the rest back to the queue, delayed, as new messages (waiting never counts
 * toward maxReceiveCount); a message back before its turn goes back again without an EC2 call;
 * a duplicate gives its tokens back; EC2 throttling cuts the API's rate, once per cooldown, and
 * takes the retries' tokens from the bucket.
 */
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { CopyImageCommand, EC2Client, RegisterImageCommand } from '@aws-sdk/client-ec2';
import { SFNClient } from '@aws-sdk/client-sfn';
import { ReceiveMessageCommand, SendMessageBatchCommand, SQSClient } from '@aws-sdk/client-sqs';
import { afterAll, beforeAll, describe, expect, inject, it, vi } from 'vitest';
import {
  ADMISSION_ATTRIBUTE,
  AIMD,
  type Bucket,
  bucketKey,
  budgetBuckets,
  EC2_APIS,
  type Ec2Api,
  parseTicket,
} from '#shared/admission.ts';
import { AdmissionStore, reportThrottledCalls } from '#shared/aws/admission.ts';
import { registerSnapshotsEvent } from '#shared/register-request.ts';
import { throttleReports } from '../../functions/throttle-reports.ts';
import {
  backupJobEvent,
  createEventQueues,
  createPipeline,
  createSnapshotEvent,
  createTaggedSnapshot,
  EMULATOR_ACCOUNT,
  EMULATOR_REGION,
  ingestDeps,
  type LocalStepFunctions,
  type Pipeline,
  pollOnce,
  pollUntilIdle,
  queueDepth,
  startStateMachine,
  throttleControl,
} from '../../local/index.ts';

const T0 = 1_800_000_000_000;
/** 30 of EC2's Regions: copies may go to any of them. */
const REGIONS = [
  'us-east-1',
  'us-east-2',
  'us-west-1',
  'us-west-2',
  'ca-central-1',
  'ca-west-1',
  'sa-east-1',
  'mx-central-1',
  'eu-west-1',
  'eu-west-2',
  'eu-west-3',
  'eu-central-1',
  'eu-central-2',
  'eu-north-1',
  'eu-south-1',
  'eu-south-2',
  'me-south-1',
  'me-central-1',
  'il-central-1',
  'af-south-1',
  'ap-south-1',
  'ap-south-2',
  'ap-east-1',
  'ap-northeast-1',
  'ap-northeast-2',
  'ap-northeast-3',
  'ap-southeast-1',
  'ap-southeast-2',
  'ap-southeast-3',
  'ap-southeast-4',
];
const sqs = new SQSClient({});
const dynamo = new DynamoDBClient({});
let pipeline: Pipeline;
let sfn: LocalStepFunctions;

beforeAll(async () => {
  pipeline = await createPipeline();
  sfn = await startStateMachine(`snap2ami-admission-${Date.now()}`, pipeline.workflow);
});
afterAll(() => sfn.close());

/** A budget whose RegisterImage bucket holds two registrations and refills one every half second. */
const SMALL: Partial<Record<Ec2Api, Bucket>> = { RegisterImage: { size: 4, refill: 4 } };

/** One `snap2ami register` request for these snapshots (single-volume), as the CLI sends it. */
const registerRequest = (snapshotIds: string[]) =>
  registerSnapshotsEvent({
    snapshotIds,
    multiVolume: false,
    account: EMULATOR_ACCOUNT,
    region: EMULATOR_REGION,
    origin: 'test',
    id: crypto.randomUUID(),
    time: new Date(),
  });

/** A snapshot opted in whose name tag is misspelt: its plan is rejected. */
const misspeltSnapshot = () =>
  createTaggedSnapshot(new EC2Client({}), { 'snap2ami:register': 'true', 'snap2ami:nmae': 'misspelt' });

/** A fresh admission table, a clock the test moves, and ingest's dependencies using them; EC2 lookups counted. */
async function setup(overrides = SMALL) {
  const suffix = `${Date.now()}-${Math.floor(Math.random() * 1e6)}`;
  const { createTable, tableProperties } = await import('../../local/stack-resources.ts');
  const table = await createTable(
    dynamo,
    await tableProperties('AdmissionTable'),
    `snap2ami-admission-t-${suffix}`,
  );
  const clock = { now: T0 };
  const store = new AdmissionStore({
    client: dynamo,
    table,
    buckets: budgetBuckets(1, overrides),
    clock: () => clock.now,
  });
  const { queueUrl, dlqUrl } = await createEventQueues(sqs, `snap2ami-adm-${suffix}`, { maxReceiveCount: 2 });
  const ec2 = new EC2Client({});
  const lookups = { count: 0 };
  ec2.middlewareStack.add(
    (next, context) => async (args) => {
      if (context.commandName === 'DescribeSnapshotsCommand') lookups.count += 1;
      return next(args);
    },
    { step: 'initialize' },
  );
  const counts: Record<string, number> = {};
  const deps = ingestDeps(
    { ec2, sfn: new SFNClient({ endpoint: sfn.endpoint }), sqs },
    sfn.stateMachineArn,
    dlqUrl,
    counts,
    store,
  );
  const send = async (bodies: unknown[]) => {
    for (let i = 0; i < bodies.length; i += 10)
      await sqs.send(
        new SendMessageBatchCommand({
          QueueUrl: queueUrl,
          Entries: bodies
            .slice(i, i + 10)
            .map((body, j) => ({ Id: String(j), MessageBody: JSON.stringify(body) })),
        }),
      );
  };
  const snapshots = async (n: number) => {
    const ids: string[] = [];
    for (let i = 0; i < n; i++)
      ids.push(
        await createTaggedSnapshot(new EC2Client({}), {
          'snap2ami:register': 'true',
          'snap2ami:name': `admission-${suffix}-${i}`,
        }),
      );
    return ids;
  };
  /** The messages back in the queue once their delays are over (at most `seconds`), received and left in flight. */
  const returned = async (expected: number, seconds = 5) => {
    const out: { body: string; ticket: ReturnType<typeof parseTicket>; receives: number }[] = [];
    const deadline = Date.now() + seconds * 1000;
    while (out.length < expected && Date.now() < deadline) {
      const batch = await sqs.send(
        new ReceiveMessageCommand({
          QueueUrl: queueUrl,
          MaxNumberOfMessages: 10,
          WaitTimeSeconds: 1,
          MessageAttributeNames: ['All'],
          MessageSystemAttributeNames: ['ApproximateReceiveCount'],
          VisibilityTimeout: 60,
        }),
      );
      for (const m of batch.Messages ?? [])
        out.push({
          body: m.Body ?? '',
          ticket: parseTicket(m.MessageAttributes?.[ADMISSION_ATTRIBUTE]?.StringValue),
          receives: Number(m.Attributes?.ApproximateReceiveCount),
        });
    }
    return out;
  };
  return { store, table, clock, queueUrl, dlqUrl, deps, counts, lookups, send, snapshots, returned };
}

describe('admission control in ingest', () => {
  it('starts what the budget holds, sends the rest back delayed as new messages with their turns, and acknowledges the batch', async () => {
    const t = await setup();
    const ids = await t.snapshots(5);
    await t.send(ids.map((id) => createSnapshotEvent(id)));
    const first = await pollOnce(sqs, t.queueUrl, t.deps);
    expect(first).toEqual({ received: 5, failed: [] });
    expect(t.counts).toMatchObject({ Planned: 5, Started: 2, Deferred: 3 });
    await sfn.idle();

    // Back after their delays (1 to 2 s here), each a new message: one receive, its ticket, its body unchanged.
    const back = await t.returned(3);
    expect(back).toHaveLength(3);
    for (const message of back) {
      expect(message.receives).toBe(1);
      expect(message.ticket).toMatchObject({ deferrals: 1 });
      expect(ids.some((id) => message.body.includes(id))).toBe(true);
    }
  });

  it('registers the whole batch as admission’s clock moves on; nothing reaches the dead-letter queue', async () => {
    const t = await setup();
    const ids = await t.snapshots(5);
    await t.send(ids.map((id) => createSnapshotEvent(id)));
    await pollOnce(sqs, t.queueUrl, t.deps);
    expect(t.counts).toMatchObject({ Started: 2, Deferred: 3 });
    // Each batch, admission's clock moves on 10 s: the bucket is full again.
    await pollUntilIdle(sqs, t.queueUrl, t.deps, {
      idle: () => [...sfn.executions.values()].every((e) => e.status !== 'RUNNING'),
      deadline: Date.now() + 30_000,
      onBatch: () => {
        t.clock.now += 10_000;
      },
    });
    expect(t.counts.Started).toBe(5);
    for (const id of ids) {
      const executions = [...sfn.executions.values()].filter((e) => e.input.includes(id));
      expect(executions.map((e) => e.status)).toEqual(['SUCCEEDED']);
    }
    expect(await queueDepth(sqs, t.dlqUrl)).toBe(0);
  });

  it('sends a message back before its turn again at once, without looking its snapshots up, however often: waiting never reaches maxReceiveCount', async () => {
    const t = await setup();
    const ids = await t.snapshots(3);
    await t.send(ids.map((id) => createSnapshotEvent(id)));
    await pollOnce(sqs, t.queueUrl, t.deps);
    expect(t.counts).toMatchObject({ Started: 2, Deferred: 1 });
    const lookups = t.lookups.count;
    // The clock stays before the turn: three more deliveries, each sent back (the queue's maxReceiveCount is 2).
    for (let round = 2; round <= 4; round++) {
      const deadline = Date.now() + 5_000;
      while (
        (await pollOnce(sqs, t.queueUrl, t.deps, { waitSeconds: 1 })).received === 0 &&
        Date.now() < deadline
      );
      expect(t.counts.Deferred).toBe(round);
    }
    expect(t.lookups.count).toBe(lookups);
    expect(await queueDepth(sqs, t.dlqUrl)).toBe(0);
    const [back] = await t.returned(1);
    expect(back?.ticket).toMatchObject({ deferrals: 4 });
    expect(back?.receives).toBe(1);
    await sfn.idle();
  });

  it('sends a deferred message back with only what is still to do: its rejected snapshot is dead-lettered and counted once', async () => {
    const t = await setup();
    const ids = await t.snapshots(3);
    const typo = await misspeltSnapshot();
    // Two registrations take the whole bucket; then one request names a good snapshot and a bad one.
    await t.send([createSnapshotEvent(ids[0] ?? ''), createSnapshotEvent(ids[1] ?? '')]);
    await pollOnce(sqs, t.queueUrl, t.deps);
    const good = ids[2] ?? '';
    await t.send([registerRequest([good, typo])]);
    await pollOnce(sqs, t.queueUrl, t.deps);
    expect(t.counts).toMatchObject({ Planned: 3, Started: 2, Rejected: 1, Deferred: 1 });
    // It comes back (and back again while its turn has not come), then starts.
    await pollUntilIdle(sqs, t.queueUrl, t.deps, {
      idle: () => t.counts.Started === 3 && [...sfn.executions.values()].every((e) => e.status !== 'RUNNING'),
      deadline: Date.now() + 30_000,
      onBatch: () => {
        t.clock.now += 500;
      },
    });
    expect(t.counts.Started).toBe(3);
    expect(t.counts).toMatchObject({ Planned: 3, Rejected: 1 });
    expect(await queueDepth(sqs, t.dlqUrl)).toBe(1);
  });

  it('dead-letters a rejected snapshot once when its message must come back: the rejection waits until the message’s plans are settled', async () => {
    const t = await setup();
    const [good = ''] = await t.snapshots(1);
    const typo = await misspeltSnapshot();
    // Step Functions fails the first StartExecution: the message must come back.
    const flaky = new SFNClient({ endpoint: sfn.endpoint, maxAttempts: 1 });
    let failures = 1;
    flaky.middlewareStack.add(
      (next, context) => async (args) => {
        if (context.commandName === 'StartExecutionCommand' && failures-- > 0)
          throw Object.assign(new Error('injected: Step Functions unavailable'), {
            name: 'ServiceUnavailable',
          });
        return next(args);
      },
      { step: 'initialize' },
    );
    const deps = { ...t.deps, sfn: flaky, random: () => 0 };
    await t.send([registerRequest([good, typo])]);
    expect((await pollOnce(sqs, t.queueUrl, deps)).failed).toHaveLength(1);
    // Back within a second (ChangeMessageVisibility), then started; its rejection sent once.
    await pollUntilIdle(sqs, t.queueUrl, deps, {
      idle: () => t.counts.Started === 1 && [...sfn.executions.values()].every((e) => e.status !== 'RUNNING'),
      deadline: Date.now() + 30_000,
    });
    expect(t.counts).toMatchObject({ Started: 1, Rejected: 1, ReturnedEarly: 1 });
    expect(await queueDepth(sqs, t.dlqUrl)).toBe(1);
  });

  it('gives back the tokens of a duplicate: an EBS and an AWS Backup event for one snapshot take one registration’s', async () => {
    const t = await setup({});
    const [id = ''] = await t.snapshots(1);
    await t.send([createSnapshotEvent(id), backupJobEvent(id)]);
    await pollOnce(sqs, t.queueUrl, t.deps);
    expect(t.counts).toMatchObject({ Started: 1, Duplicate: 1 });
    // RegisterImage: 2 calls per registration at 5 per second: 400 ms of refill, once.
    expect((await t.store.read()).state.RegisterImage?.tat).toBe(T0 + 400);
    await sfn.idle();
  });
});

describe('the admission item', () => {
  it('stays within DynamoDB’s 4 KB expression limit with every budgeted API busy in 30 Regions, and keeps only live buckets', async () => {
    const t = await setup({});
    const expressions: number[] = [];
    const client = new DynamoDBClient({});
    client.middlewareStack.add(
      (next, context) => async (args) => {
        const input = args.input as { UpdateExpression?: string; ConditionExpression?: string };
        if (context.commandName === 'UpdateItemCommand')
          for (const text of [input.UpdateExpression, input.ConditionExpression])
            if (text) expressions.push(Buffer.byteLength(text));
        return next(args);
      },
      { step: 'initialize' },
    );
    const store = new AdmissionStore({
      client,
      table: t.table,
      buckets: budgetBuckets(1),
      clock: () => t.clock.now,
    });
    const everything = Object.fromEntries(
      REGIONS.flatMap((region) => EC2_APIS.map((api) => [bucketKey(api, region, EMULATOR_REGION), 1])),
    );
    expect(Object.keys(everything)).toHaveLength(30 * EC2_APIS.length);
    // Two families copying everywhere, back to back: every bucket in use at once, then again.
    await store.admit([{ demand: everything }, { demand: everything }]);
    t.clock.now += 1_000;
    await store.admit([{ demand: everything }]);
    await store.refund(everything);
    expect(Math.max(...expressions)).toBeLessThanOrEqual(4096);
    // Once every bucket has refilled and nobody waits, the item keeps none of them.
    t.clock.now += 24 * 3600 * 1000;
    await store.admit([{ demand: { RegisterImage: 1 } }]);
    expect(Object.keys((await store.read()).state)).toEqual(['RegisterImage']);
  });
});

describe('the budget’s clock', () => {
  it('is the service’s: a client whose clock runs a minute fast does not push the schedule a minute on', async () => {
    const t = await setup({});
    const wall = Date.now.bind(Date);
    const fast = vi.spyOn(Date, 'now').mockImplementation(() => wall() + 60_000);
    try {
      const store = new AdmissionStore({
        client: new DynamoDBClient({}),
        table: t.table,
        buckets: budgetBuckets(1),
      });
      const before = wall();
      await store.admit([{ demand: { RegisterImage: 2 } }]);
      const tat = (await store.read()).state.RegisterImage?.tat ?? Number.NaN;
      // Two RegisterImage calls at 5 per second: 400 ms after the service's time, give or take its Date header's second.
      expect(tat).toBeGreaterThanOrEqual(before - 2_000);
      expect(tat).toBeLessThanOrEqual(wall() + 400 + 2_000);
    } finally {
      fast.mockRestore();
    }
  });
});

describe('admission control in the image function', () => {
  it("cuts a throttled API's rate by its decrease factor, once per cooldown, and takes each throttled call's retry from its bucket", async () => {
    const t = await setup({});
    const region = 'sa-east-1';
    const control = throttleControl(inject('awsEndpoint'));
    await control.configure({ region, buckets: { RegisterImage: { size: 1, refill: 0.001 } } });
    try {
      const ec2 = new EC2Client({ region, maxAttempts: 1 });
      reportThrottledCalls(ec2, (api) => t.store.reportThrottled(api));
      const dryRun = () =>
        ec2
          .send(new RegisterImageCommand({ Name: 'throttled', RootDeviceName: '/dev/xvda', DryRun: true }))
          .catch((error: Error) => error.name);
      expect(await dryRun()).toBe('DryRunOperation');
      expect(await dryRun()).toBe('RequestLimitExceeded');
      const rate = async () => (await t.store.read()).state.RegisterImage?.clock.f0;
      expect(await rate()).toBeCloseTo(AIMD.decrease);
      expect(await dryRun()).toBe('RequestLimitExceeded');
      expect(await rate()).toBeCloseTo(AIMD.decrease);
      t.clock.now = T0 + AIMD.cooldownMs;
      expect(await dryRun()).toBe('RequestLimitExceeded');
      // Recovered for 5 s before the second cut.
      expect(await rate()).toBeCloseTo((AIMD.decrease + 5 * AIMD.recoveryPerSecond) * AIMD.decrease);
      // Each throttled call takes one call's tokens, 200 ms of RegisterImage's refill (5 per second),
      // from the bucket as it is then: the first two from a full bucket at T0; the third, 5 s later,
      // from the bucket refilled meanwhile (its clock's time then, where the cut clock starts).
      const after = (await t.store.read()).state.RegisterImage;
      expect(after?.tat).toBe(Math.ceil((after?.clock.v0 ?? Number.NaN) + 200));
      expect(after?.clock.t0).toBe(T0 + AIMD.cooldownMs);
      // Only the buckets in use are in the item: no other API's, no other Region's.
      expect(Object.keys((await t.store.read()).state)).toEqual(['RegisterImage']);
    } finally {
      await control.reset(region);
    }
  });
});

describe('admission control in the lifecycle function', () => {
  it('reports a throttled call in a copy’s Region to that Region’s bucket of the API, not the pipeline’s', async () => {
    const t = await setup({});
    const region = 'me-south-1';
    const control = throttleControl(inject('awsEndpoint'));
    await control.configure({ region, buckets: { CopyImage: { size: 1, refill: 0.001 } } });
    try {
      const ec2 = new EC2Client({ region, maxAttempts: 1 });
      const metrics = { addMetric: () => {}, publishStoredMetrics: () => {} } as never;
      const env = { ADMISSION_TABLE_NAME: t.table, AWS_REGION: EMULATOR_REGION };
      throttleReports(env, { warn: () => {} }, metrics)(ec2, region);
      const copy = () =>
        ec2
          .send(
            new CopyImageCommand({
              Name: 'admission-copy',
              SourceImageId: 'ami-12345678',
              SourceRegion: EMULATOR_REGION,
            }),
          )
          .catch((error: Error) => error.name);
      await copy();
      expect(await copy()).toBe('RequestLimitExceeded');
      const { state } = await new AdmissionStore({
        client: dynamo,
        table: t.table,
        buckets: budgetBuckets(1),
      }).read();
      expect(Object.keys(state)).toEqual([`CopyImage@${region}`]);
      expect(state[`CopyImage@${region}`]?.clock.f0).toBeCloseTo(AIMD.decrease);
    } finally {
      await control.reset(region);
    }
  });
});
