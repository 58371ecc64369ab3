/**
 * A burst of snapshot events through the whole local pipeline (queue → ingest → workflow → EC2
 * on the emulator, whose throttle enforces EC2's token buckets), for the bench
 * (`npm run bench -- --scenario burst`) and the integration test of admission control
 * (docs/adr/0009-admission-control.md). The events mix single-volume snapshots, multi-volume
 * sets (a third; createSnapshots events) and duplicates (an AWS Backup event for a snapshot that
 * also has an EBS event, a tenth). The run may be time-scaled: the emulator's refill, the
 * workflow's Retry intervals and admission control's clock all run `timeScale` times faster,
 * so every duration it reports is wall time at that scale. With `copyTo`, every AMI is also
 * copied to those Regions (the lifecycle steps run, and admission control budgets their calls
 * per API and Region).
 */
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DescribeImagesCommand, EC2Client } from '@aws-sdk/client-ec2';
import { SFNClient } from '@aws-sdk/client-sfn';
import { SendMessageBatchCommand, SQSClient } from '@aws-sdk/client-sqs';
import {
  apiOf,
  type Bucket,
  type BucketKey,
  bucketKey,
  budgetBuckets,
  DOCUMENTED_BUCKETS,
  type Ec2Api,
} from '#shared/admission.ts';
import { ADMIT_ALL, AdmissionStore, reportThrottledCalls } from '#shared/aws/admission.ts';
import { amiEventControl, throttleControl } from './emulator-controls.ts';
import { EMULATOR_REGION } from './moto-emulator.ts';
import { createEventQueues, createPipeline, ingestDeps, startStateMachine } from './pipeline-fixture.ts';
import { backupJobEvent, createSnapshotEvent, createSnapshotsEvent } from './sample-events.ts';
import { createTaggedSnapshot } from './sample-snapshots.ts';
import { pollUntilIdle, queueDepth, receiveAll } from './sqs-event-source.ts';

export interface BurstOptions {
  /** The emulator's own endpoint (its throttle control). */
  endpoint: string;
  events: number;
  /** Share (0..1) of every bucket's refill another client of the account consumes (the emulator's competitorShare). */
  competitor: number;
  /** The pipeline's budget, a share of EC2's documented buckets (the deployment's ec2RateShare). */
  share?: number;
  /** Everything runs this many times faster than real time. */
  timeScale?: number;
  /** The Region whose EC2 buckets the run uses (tests take one of their own); the other services stay in the default Region. */
  region?: string;
  /** Ingest batches at once (the event source mapping's maximum concurrency). */
  concurrency?: number;
  /** Regions every AMI is copied to (`snap2ami:copy-to`); none by default. */
  copyTo?: string[];
  /**
   * Buckets instead of EC2's documented ones, by API: the emulator's in every Region of the run,
   * and admission control's budget (as the deployment's ec2BucketOverrides says them).
   */
  buckets?: Partial<Record<Ec2Api, Bucket>>;
  /** False: the pipeline without admission control, as it was before (a baseline). */
  admission?: boolean;
  /** Emulated seconds each AMI (and each copy) stays pending before it is available and its event is sent (ADR 0013). */
  pendingSeconds?: number;
  /** Give up after this long (wall ms); what is left counts as lost. */
  timeoutMs?: number;
  onProgress?: (progress: BurstProgress) => void;
  /** Called when the events are in the queue and ingest is about to start on them. */
  onStart?: () => void;
}

export interface BurstProgress {
  seconds: number;
  expected: number;
  started: number;
  deferred: number;
  succeeded: number;
  failed: number;
  running: number;
}

/** The bench's JSON line (issue 11), in this order. */
export interface BurstSummary {
  scenario: 'burst';
  events: number;
  amis: number;
  failed: number;
  duplicates: number;
  deadLettered: number;
  lost: number;
  seconds: number;
  idealSeconds: number;
  throttledCallsPerAmi: number;
  stateTransitionsPerAmi: number;
  /** DescribeImages calls in the pipeline's Region per AMI (the waits look once each: ADR 0013). */
  describeImagesPerAmi: number;
  timeScale: number;
  /** With copies only: the copies made (one per AMI and copy Region), and throttled calls by `API@region`. */
  copies?: number;
  throttled?: Record<string, number>;
}

export interface BurstResult {
  summary: BurstSummary;
  /** How many AMIs the events ask for (each set once). */
  expected: number;
  mix: { single: number; multiVolume: number; duplicate: number };
  /** EC2 calls and throttled calls during the burst, by bucket key (the emulator's counters; `API@region` elsewhere than the run's Region). */
  ec2: Record<string, { calls: number; throttled: number }>;
  /** Messages ingest sent back to wait, and the executions started. */
  deferred: number;
  started: number;
  /** What FAILED registrations failed with: `<step>: <error>` → how many. */
  failures: Record<string, number>;
  /** The slowest API's lower bound, and the refill per second the bound assumes for it. */
  bottleneck: { api: BucketKey; calls: number; refillPerSecond: number };
}

/**
 * The EC2 calls one registration needs at least (happy path), by bucket: without copies, and per
 * copy Region (CopyImages' look at the AMI, the copy, WaitForCopies' one look and its tags).
 * Ingest's lookups come on top: one per batch of ten.
 */
function neededPerAmi(copyTo: readonly string[]): Record<BucketKey, number> {
  const needed: Record<BucketKey, number> = {
    RegisterImage: 2,
    DescribeSnapshots: 2,
    DescribeImages: copyTo.length > 0 ? 2 : 1,
    CreateTags: 1,
  };
  for (const region of copyTo)
    for (const api of ['CopyImage', 'DescribeImages', 'CreateTags'] as const) needed[`${api}@${region}`] = 1;
  return needed;
}

/** A small deterministic generator (mulberry32): the same mix and order for a given size. */
function random(seed: number): () => number {
  let a = seed;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

async function inParallel<T>(items: T[], width: number, fn: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  const worker = async () => {
    while (next < items.length) await fn(items[next++] as T);
  };
  await Promise.all(Array.from({ length: width }, worker));
}

interface ImageSet {
  name: string;
  snapshotIds: string[];
  multiVolume: boolean;
  /** Also announced by an AWS Backup event. */
  twin: boolean;
}

/**
 * The lower bound on the burst's duration that the budget allows: for each API, the calls it
 * needs beyond its full bucket over the refill left for the pipeline (its share, or what
 * another client leaves, whichever is less), at the run's time scale; the slowest API's.
 */
export function idealSeconds(
  amis: number,
  events: number,
  share: number,
  competitor: number,
  timeScale: number,
  copyTo: readonly string[] = [],
  buckets: Partial<Record<Ec2Api, Bucket>> = {},
): { seconds: number; api: BucketKey; calls: number; refillPerSecond: number } {
  let worst = { seconds: 0, api: 'RegisterImage' as BucketKey, calls: 0, refillPerSecond: 0 };
  for (const [api, perAmi] of Object.entries(neededPerAmi(copyTo))) {
    const calls = perAmi * amis + (api === 'DescribeSnapshots' ? Math.ceil(events / 10) : 0);
    const { size, refill } = buckets[apiOf(api)] ?? DOCUMENTED_BUCKETS[apiOf(api)];
    const refillPerSecond = refill * Math.min(share, 1 - competitor) * timeScale;
    const seconds = Math.max(0, calls - size) / refillPerSecond;
    if (seconds >= worst.seconds) worst = { seconds, api, calls, refillPerSecond };
  }
  return worst;
}

export async function runBurst(options: BurstOptions): Promise<BurstResult> {
  const region = options.region ?? EMULATOR_REGION;
  const timeScale = options.timeScale ?? 1;
  const share = options.share ?? 0.5;
  const copyTo = options.copyTo ?? [];
  const regions = [region, ...copyTo];
  const control = throttleControl(options.endpoint);
  // Setting up (volumes, snapshots) is not the burst: EC2 does not throttle it.
  for (const r of regions) await control.configure({ region: r, enabled: false });

  const ec2 = new EC2Client({ region });
  // The workflow's EC2 clients, by Region (one attempt per call, as deployed).
  const workflowEc2 = new Map(regions.map((r) => [r, new EC2Client({ region: r, maxAttempts: 1 })]));
  const workflowEc2In = (r: string) => workflowEc2.get(r) ?? new EC2Client({ region: r, maxAttempts: 1 });
  // Queue URLs name the emulator; calls go where AWS_ENDPOINT_URL says (a counting proxy, say).
  const sqs = new SQSClient({ useQueueUrlAsEndpoint: false });
  const pipeline = await createPipeline({
    ec2: workflowEc2In(region),
    lifecycle: { region, ec2In: workflowEc2In },
    realRetryIntervals: true,
    timeScale,
  });
  const started = Date.now();
  const admission = new AdmissionStore({
    client: new DynamoDBClient({}),
    table: pipeline.admissionTable,
    buckets: budgetBuckets(share, options.buckets),
    clock: () => started + (Date.now() - started) * timeScale,
    timeScale,
  });
  // The image and lifecycle functions report throttled calls, each to its API's bucket in its Region.
  if (options.admission !== false)
    for (const [r, client] of workflowEc2)
      reportThrottledCalls(client, (api) => admission.reportThrottled(bucketKey(api, r, region)));
  const sfn = await startStateMachine(`snap2ami-burst-${Date.now()}`, pipeline.workflow);
  try {
    const suffix = `${Date.now()}-${Math.floor(Math.random() * 1e6)}`;
    // As deployed (serverless.yml): after 5 receives a message goes to the DLQ.
    const { queueUrl, dlqUrl } = await createEventQueues(sqs, `snap2ami-burst-${suffix}`, {
      visibilityTimeout: Math.max(30, Math.ceil(360 / timeScale)),
    });

    // The mix: a third multi-volume sets, a tenth duplicates (a Backup event for a single-volume snapshot).
    const multiVolume = Math.round(options.events / 3);
    const duplicate = Math.round(options.events / 10);
    const single = options.events - multiVolume - duplicate;
    if (single < duplicate) throw new Error(`a burst of ${options.events} events is too small for the mix`);
    const prefix = `burst-${suffix}`;
    const sets: ImageSet[] = Array.from({ length: single + multiVolume }, (_, i) => ({
      name: `${prefix}-${i}`,
      snapshotIds: [],
      multiVolume: i >= single,
      twin: i < duplicate,
    }));
    await inParallel(sets, 6, async (set) => {
      const root = await createTaggedSnapshot(ec2, {
        'snap2ami:register': 'true',
        'snap2ami:name': set.name,
        ...(copyTo.length > 0 && { 'snap2ami:copy-to': copyTo.join(',') }),
      });
      set.snapshotIds.push(root);
      if (set.multiVolume)
        set.snapshotIds.push(await createTaggedSnapshot(ec2, { 'snap2ami:device-name': '/dev/sdb' }));
    });
    const bodies: string[] = [];
    for (const set of sets) {
      const [root = ''] = set.snapshotIds;
      bodies.push(
        JSON.stringify(set.multiVolume ? createSnapshotsEvent(set.snapshotIds) : createSnapshotEvent(root)),
      );
      if (set.twin) bodies.push(JSON.stringify(backupJobEvent(root)));
    }
    const next = random(options.events);
    for (let i = bodies.length - 1; i > 0; i--) {
      const j = Math.floor(next() * (i + 1));
      [bodies[i], bodies[j]] = [bodies[j] as string, bodies[i] as string];
    }

    // The burst: EC2's buckets start full, at the time scale, with another client taking its share.
    for (const r of regions) {
      if (options.pendingSeconds)
        await amiEventControl(options.endpoint).configure({
          region: r,
          registerSeconds: options.pendingSeconds,
          copySeconds: options.pendingSeconds,
          timeScale,
        });
      await control.reset(r);
      await control.configure({
        region: r,
        enabled: true,
        timeScale,
        competitorShare: options.competitor,
        ...(options.buckets && { buckets: options.buckets }),
      });
    }
    for (let i = 0; i < bodies.length; i += 10)
      await sqs.send(
        new SendMessageBatchCommand({
          QueueUrl: queueUrl,
          Entries: bodies.slice(i, i + 10).map((MessageBody, j) => ({ Id: String(j), MessageBody })),
        }),
      );
    const counts: Record<string, number> = {};
    const deps = ingestDeps(
      { ec2: new EC2Client({ region }), sfn: new SFNClient({ endpoint: sfn.endpoint }), sqs },
      sfn.stateMachineArn,
      dlqUrl,
      counts,
      options.admission === false ? ADMIT_ALL : admission,
    );
    options.onStart?.();
    const burstStart = Date.now();
    const executions = () => [...sfn.executions.values()];
    const progress = (): BurstProgress => {
      const all = executions();
      return {
        seconds: (Date.now() - burstStart) / 1000,
        expected: sets.length,
        started: counts.Started ?? 0,
        deferred: counts.Deferred ?? 0,
        succeeded: all.filter((e) => e.status === 'SUCCEEDED').length,
        failed: all.filter((e) => e.status === 'FAILED').length,
        running: all.filter((e) => e.status === 'RUNNING').length,
      };
    };
    const ticker = options.onProgress && setInterval(() => options.onProgress?.(progress()), 1000);
    try {
      await pollUntilIdle(sqs, queueUrl, deps, {
        concurrency: options.concurrency ?? 5,
        idle: () => executions().every((e) => e.status !== 'RUNNING'),
        deadline: burstStart + (options.timeoutMs ?? 600_000),
      });
      await sfn.idle();
    } finally {
      if (ticker) clearInterval(ticker);
    }
    const seconds = (Date.now() - burstStart) / 1000;
    options.onProgress?.(progress());

    // Counted before anything else calls EC2; then the throttle is off for the counting.
    const counters = (await control.state()).counters;
    for (const r of regions) await control.configure({ region: r, enabled: false });
    const ec2Calls = Object.fromEntries(
      regions.flatMap((r) =>
        Object.entries(counters[r] ?? {}).map(([api, c]) => [
          bucketKey(api as Ec2Api, r, region),
          { calls: c.calls, throttled: c.throttled },
        ]),
      ),
    );
    const throttled = Object.values(ec2Calls).reduce((n, c) => n + c.throttled, 0);

    const names = await imagesByName(ec2, sets);
    const duplicates = [...names.values()].reduce((n, count) => n + count - 1, 0);
    // Copies: one per AMI and Region at most counts (a second would be a duplicate copy).
    let copies = 0;
    for (const r of copyTo) {
      const copied = await imagesByName(new EC2Client({ region: r }), sets);
      copies += [...copied.keys()].filter((name) => names.has(name)).length;
    }
    // Each set's executions by status, and what failed ones failed with (their records say).
    const nameOf = (e: { input: string }) =>
      (JSON.parse(e.input) as { request: { Name: string } }).request.Name;
    const succeededNames = new Set(
      executions()
        .filter((e) => e.status === 'SUCCEEDED')
        .map(nameOf),
    );
    const failedExecutions = executions().filter(
      (e) => e.status === 'FAILED' || e.status === 'TIMED_OUT' || e.status === 'ABORTED',
    );
    const failedNames = new Set(failedExecutions.map(nameOf));
    const failures: Record<string, number> = {};
    for (const e of failedExecutions) {
      const record = await pipeline.record((JSON.parse(e.input) as { key: string }).key);
      const reason = `${String(record?.failedStep ?? e.status)}: ${String(record?.error ?? e.error)}`;
      failures[reason] = (failures[reason] ?? 0) + 1;
    }
    const deadBodies = (await receiveAll(sqs, dlqUrl, { visibilityTimeout: 300 })).map((m) => m.Body ?? '');
    // A set counts as an AMI when its registration succeeded and the image is there; as failed
    // when a registration of it ended otherwise and none succeeded; as lost when neither, and
    // no message of it is in the dead-letter queue.
    let amis = 0;
    let lost = 0;
    let failed = 0;
    for (const set of sets) {
      if (succeededNames.has(set.name) && names.has(set.name)) amis += 1;
      else if (failedNames.has(set.name)) failed += 1;
      else if (!deadBodies.some((body) => set.snapshotIds.some((id) => body.includes(id)))) lost += 1;
    }
    const transitions = executions().reduce(
      (n, e) =>
        n +
        (e.result?.events.filter((ev) => ev.type === 'StateEntered' || ev.type === 'StateRetried').length ??
          0),
      0,
    );
    const ideal = idealSeconds(
      sets.length,
      options.events,
      share,
      options.competitor,
      timeScale,
      copyTo,
      options.buckets,
    );
    const round = (value: number, digits: number) => Number(value.toFixed(digits));
    return {
      summary: {
        scenario: 'burst',
        events: options.events,
        amis,
        failed,
        duplicates,
        deadLettered: deadBodies.length,
        lost: lost + (await queueDepth(sqs, queueUrl)),
        seconds: round(seconds, 1),
        idealSeconds: round(ideal.seconds, 1),
        throttledCallsPerAmi: round(throttled / Math.max(1, amis), 3),
        stateTransitionsPerAmi: round(transitions / Math.max(1, amis), 2),
        describeImagesPerAmi: round((ec2Calls.DescribeImages?.calls ?? 0) / Math.max(1, amis), 2),
        timeScale,
        ...(copyTo.length > 0 && {
          copies,
          throttled: Object.fromEntries(
            Object.entries(ec2Calls).map(([key, c]) => [
              key.includes('@') ? key : `${key}@${region}`,
              c.throttled,
            ]),
          ),
        }),
      },
      expected: sets.length,
      mix: { single, multiVolume, duplicate },
      ec2: ec2Calls,
      deferred: counts.Deferred ?? 0,
      started: counts.Started ?? 0,
      failures,
      bottleneck: { api: ideal.api, calls: ideal.calls, refillPerSecond: ideal.refillPerSecond },
    };
  } finally {
    await sfn.close();
    for (const r of regions) await control.reset(r);
    if (options.pendingSeconds) for (const r of regions) await amiEventControl(options.endpoint).reset(r);
  }
}

/** How many images of the account in the client's Region carry each set's name. */
async function imagesByName(ec2: EC2Client, sets: readonly ImageSet[]): Promise<Map<string, number>> {
  const names = new Map<string, number>();
  for (let i = 0; i < sets.length; i += 200) {
    const Values = sets.slice(i, i + 200).map((set) => set.name);
    const images =
      (await ec2.send(new DescribeImagesCommand({ Owners: ['self'], Filters: [{ Name: 'name', Values }] })))
        .Images ?? [];
    for (const image of images) names.set(image.Name ?? '', (names.get(image.Name ?? '') ?? 0) + 1);
  }
  return names;
}
