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
 * per API and Region). With `launchTest`, every AMI is booted once before it is published
 * (`snap2ami:launch-test=status-checks`, docs/adr/0012-launch-test.md): its instance's status
 * checks take LAUNCH_TEST_CHECK_SECONDS (at the time scale), and the summary counts the
 * throttled RunInstances calls and the test instances left running at the end.
 */
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DescribeImagesCommand, DescribeInstancesCommand, EC2Client } from '@aws-sdk/client-ec2';
import { SFNClient } from '@aws-sdk/client-sfn';
import { type Message, SendMessageBatchCommand, SQSClient } from '@aws-sdk/client-sqs';
import {
  apiOf,
  type Bucket,
  type BucketKey,
  bucketKey,
  budgetBuckets,
  demand,
  type Ec2Api,
} from '#shared/admission.ts';
import { ADMIT_ALL, AdmissionStore, reportThrottledCalls } from '#shared/aws/admission.ts';
import { deadLetterSource } from '#shared/dead-letter.ts';
import { instanceControl, throttleControl } from './emulator-controls.ts';
import { EMULATOR_REGION } from './moto-emulator.ts';
import { createEventQueues, createPipeline, ingestDeps, startStateMachine } from './pipeline-fixture.ts';
import { backupJobEvent, createSnapshotEvent, createSnapshotsEvent } from './sample-events.ts';
import { createTaggedSnapshot } from './sample-snapshots.ts';
import { pollUntilIdle, queueDepth, receiveAll } from './sqs-event-source.ts';
import { launchTestNetwork } from './workflow-functions.ts';

export interface BurstOptions {
  /** The emulator's own endpoint (its throttle control). */
  endpoint: string;
  events: number;
  /** Share (0..1) of every bucket's refill another client of the account consumes (the emulator's competitorShare). */
  competitor: number;
  /**
   * A competitor that changes during the burst: from each step's `seconds` (since the burst
   * began, wall seconds of the run) on, it takes `share`. Overrides `competitor` when given;
   * before its first step the competitor takes `competitor`.
   */
  competitorSchedule?: readonly CompetitorStep[];
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
  /** Every AMI goes through a status-checks launch test (`snap2ami:launch-test=status-checks`). */
  launchTest?: boolean;
  /**
   * Buckets instead of EC2's documented ones, by API: the emulator's in every Region of the run,
   * and admission control's budget (as the deployment's ec2BucketOverrides says them).
   */
  buckets?: Partial<Record<Ec2Api, Bucket>>;
  /** False: the pipeline without admission control, as it was before (a baseline). */
  admission?: boolean;
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

/** From `seconds` into the burst on, another client takes `share` of every refill. */
export interface CompetitorStep {
  seconds: number;
  share: number;
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
  timeScale: number;
  /** Messages ingest handed back for a transient reason with a short delay (ChangeMessageVisibility: its ReturnedEarly metric). */
  returnedEarly: number;
  /**
   * The longest a message took to come back to ingest after a receive that did not finish it
   * (handed back early, or left to wait out the queue's visibility timeout), in wall seconds;
   * deferred messages are new messages and do not count.
   */
  longestReturnSeconds: number;
  /** EC2 DescribeImages calls in the pipeline's Region per AMI. */
  describeImagesPerAmi: number;
  /** With a competitor schedule: the steps. */
  competitorSchedule?: CompetitorStep[];
  /** With copies only: the copies made (one per AMI and copy Region), and throttled calls by `API@region`. */
  copies?: number;
  throttled?: Record<string, number>;
  /** With launch tests only (ADR 0012). */
  launchTest?: LaunchTestSummary;
}

/** What a burst's launch tests did: every AMI booted once before anything published it. */
export interface LaunchTestSummary {
  /** RunInstances calls EC2 throttled (its request bucket, and its resource bucket of instances). */
  runInstancesThrottled: number;
  /** Instances launched (one per test and attempt, at most). */
  instances: number;
  /** Test instances not terminated when the burst is over: every test terminates its own. */
  instancesLeftRunning: number;
  /** The records' outcomes. */
  passed: number;
  failed: number;
}

/**
 * How long an instance's status checks take before they pass, in real seconds: about two
 * minutes on EC2 (ADR 0012); the emulator's delay is this over the time scale.
 */
export const LAUNCH_TEST_CHECK_SECONDS = 120;

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
  /** Every return of a message to ingest (see BurstSummary.longestReturnSeconds), longest first. */
  returns: MessageReturn[];
  /** What ingest warned about (a message handed back, a call that failed): its log message → how often. */
  warnings: Record<string, number>;
  /** The slowest API's lower bound, and the refill per second the bound assumes for it. */
  bottleneck: { api: BucketKey; calls: number; refillPerSecond: number };
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

/** The competitor's share at `seconds` into the burst: the last step begun, else `initial`. */
export function competitorAt(schedule: readonly CompetitorStep[], initial: number, seconds: number): number {
  let share = initial;
  for (const step of schedule) if (step.seconds <= seconds) share = step.share;
  return share;
}

/**
 * How long (wall seconds) until `tokens` have been added at `perSecond(share)` tokens a second,
 * where another client takes the schedule's share from each step on; Infinity when never.
 */
function secondsToRefill(
  tokens: number,
  perSecond: (competitor: number) => number,
  competitor: number,
  schedule: readonly CompetitorStep[],
): number {
  if (tokens <= 0) return 0;
  const changes = [...new Set(schedule.map((step) => step.seconds).filter((s) => s > 0))].sort(
    (a, b) => a - b,
  );
  let left = tokens;
  let from = 0;
  for (const to of [...changes, Number.POSITIVE_INFINITY]) {
    const rate = perSecond(competitorAt(schedule, competitor, from));
    if (rate > 0 && left <= rate * (to - from)) return from + left / rate;
    left -= rate * (to - from);
    from = to;
  }
  return Number.POSITIVE_INFINITY;
}

export interface IdealOptions {
  amis: number;
  share: number;
  competitor: number;
  competitorSchedule?: readonly CompetitorStep[];
  timeScale: number;
  copyTo?: readonly string[];
  buckets?: Partial<Record<Ec2Api, Bucket>>;
  /** Every AMI launch-tested once (--launch-test): the test's demand too. */
  launchTest?: boolean;
}

/**
 * The lower bound on the burst's duration that the pipeline's own budget allows, as admission
 * control computes it: each registration takes its demand (shared/admission.ts: demand(), with
 * the run's copies and launch tests) from buckets of `share` × EC2's size, refilled at the pipeline's share of EC2's
 * refill or what another client leaves, whichever is less (at each moment of a competitor's
 * schedule), at the run's time scale. For each bucket, the calls beyond its full bucket over that
 * refill; the slowest bucket's. EC2's own bucket is larger than the pipeline's: a bound computed
 * from it (as before) could not be reached with admission control on.
 */
export function idealSeconds(options: IdealOptions): {
  seconds: number;
  api: BucketKey;
  calls: number;
  refillPerSecond: number;
} {
  const copyTo = options.copyTo ?? [];
  const budget = budgetBuckets(options.share, options.buckets);
  const perAmi = demand({
    ...(copyTo.length > 0 && { lifecycle: { copyTo: copyTo.map((region) => ({ region })) } }),
    // The bench's tests are status checks (snap2ami:launch-test=status-checks): no SSM command.
    ...(options.launchTest && {
      launchTest: { mode: 'status-checks' as const, instanceType: 't3.micro', timeoutMinutes: 15 },
    }),
  });
  let worst = { seconds: 0, api: 'RegisterImage' as BucketKey, calls: 0, refillPerSecond: 0 };
  for (const [key, n] of Object.entries(perAmi)) {
    const calls = n * options.amis;
    const { size, refill } = budget[apiOf(key)];
    // budget's refill is share × EC2's: what the pipeline may take while the competitor leaves it.
    const ec2Refill = refill / options.share;
    const perSecond = (competitor: number) =>
      ec2Refill * Math.min(options.share, 1 - competitor) * options.timeScale;
    const seconds = secondsToRefill(
      calls - size,
      perSecond,
      options.competitor,
      options.competitorSchedule ?? [],
    );
    if (seconds >= worst.seconds)
      worst = { seconds, api: key, calls, refillPerSecond: perSecond(options.competitor) };
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
  const returns = watchReturns(sqs);
  const launchTest = options.launchTest === true;
  const instances = instanceControl(options.endpoint);
  const pipeline = await createPipeline({
    ec2: workflowEc2In(region),
    lifecycle: { region, ec2In: workflowEc2In },
    // The launch test's EC2 calls report throttling as the image function's do; its network is made before the burst.
    ...(launchTest && {
      launchTest: { ec2: workflowEc2In(region), settings: await launchTestNetwork(ec2) },
    }),
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
        ...(launchTest && { 'snap2ami:launch-test': 'status-checks' }),
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
    const schedule = options.competitorSchedule ?? [];
    if (launchTest)
      await instances.configure({ region, statusDelaySeconds: LAUNCH_TEST_CHECK_SECONDS / timeScale });
    for (const r of regions) {
      await control.reset(r);
      await control.configure({
        region: r,
        enabled: true,
        timeScale,
        competitorShare: competitorAt(schedule, options.competitor, 0),
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
    const warnings: Record<string, number> = {};
    const warn = (entry: unknown) => {
      const message = String((entry as { message?: unknown }).message ?? entry);
      warnings[message] = (warnings[message] ?? 0) + 1;
    };
    const deps = {
      ...ingestDeps(
        { ec2: new EC2Client({ region }), sfn: new SFNClient({ endpoint: sfn.endpoint }), sqs },
        sfn.stateMachineArn,
        dlqUrl,
        counts,
        options.admission === false ? ADMIT_ALL : admission,
      ),
      log: { info: () => {}, warn, error: warn },
    };
    options.onStart?.();
    returns.watch(queueUrl);
    const burstStart = Date.now();
    // The competitor's later steps, each at its time into the burst, in every Region of the run.
    const steps = schedule
      .filter((step) => step.seconds > 0)
      .map((step) =>
        setTimeout(() => {
          for (const r of regions)
            control.configure({ region: r, competitorShare: step.share }).catch((error: unknown) => {
              process.stderr.write(`could not change the competitor's share: ${String(error)}\n`);
            });
        }, step.seconds * 1000),
      );
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
      for (const step of steps) clearTimeout(step);
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
    const deadLetters = await receiveAll(sqs, dlqUrl, { visibilityTimeout: 300, attributes: true });
    const deadBodies = deadLetters.map((m) => m.Body ?? '');
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
    const ideal = idealSeconds({
      amis: sets.length,
      share,
      competitor: options.competitor,
      competitorSchedule: schedule,
      timeScale,
      copyTo,
      ...(options.buckets && { buckets: options.buckets }),
      launchTest,
    });
    const waits = returns.all();
    const launchTests = launchTest
      ? await launchTestSummary(ec2, ec2Calls, pipeline, executions().map(keyOf))
      : undefined;
    const round = (value: number, digits: number) => Number(value.toFixed(digits));
    return {
      summary: {
        scenario: 'burst',
        events: options.events,
        amis,
        failed,
        duplicates,
        // Each source message once (a DLQ is at-least-once: shared/dead-letter.ts).
        deadLettered: new Set(deadLetters.map(deadLetterSource)).size,
        lost: lost + (await queueDepth(sqs, queueUrl)),
        seconds: round(seconds, 1),
        idealSeconds: round(ideal.seconds, 1),
        throttledCallsPerAmi: round(throttled / Math.max(1, amis), 3),
        stateTransitionsPerAmi: round(transitions / Math.max(1, amis), 2),
        timeScale,
        returnedEarly: counts.ReturnedEarly ?? 0,
        longestReturnSeconds: round(waits[0]?.seconds ?? 0, 1),
        describeImagesPerAmi: round((ec2Calls.DescribeImages?.calls ?? 0) / Math.max(1, amis), 2),
        ...(schedule.length > 0 && { competitorSchedule: [...schedule] }),
        ...(copyTo.length > 0 && {
          copies,
          throttled: Object.fromEntries(
            Object.entries(ec2Calls).map(([key, c]) => [
              key.includes('@') ? key : `${key}@${region}`,
              c.throttled,
            ]),
          ),
        }),
        ...(launchTests && { launchTest: launchTests }),
      },
      expected: sets.length,
      mix: { single, multiVolume, duplicate },
      ec2: ec2Calls,
      deferred: counts.Deferred ?? 0,
      started: counts.Started ?? 0,
      failures,
      returns: waits,
      warnings,
      bottleneck: { api: ideal.api, calls: ideal.calls, refillPerSecond: ideal.refillPerSecond },
    };
  } finally {
    await sfn.close();
    for (const r of regions) await control.reset(r);
    if (launchTest) await instances.reset(region);
  }
}

/** A message received again: how long after its previous receive, and which receive it was. */
export interface MessageReturn {
  messageId: string;
  seconds: number;
  receiveCount: number;
}

/**
 * Watches one queue's receives through the SQS client (a middleware): each message received
 * again, how long after its previous receive. A message ingest finished is deleted and never
 * comes back; one it handed back comes back after its ChangeMessageVisibility delay, or after
 * the queue's visibility timeout when nothing shortened it (a message whose batch failed as a
 * whole, whose delete failed, …). A deferred message is sent as a new message: not a return.
 */
function watchReturns(sqs: SQSClient): { watch(queueUrl: string): void; all(): MessageReturn[] } {
  let watched: string | undefined;
  const lastReceived = new Map<string, number>();
  const returns: MessageReturn[] = [];
  sqs.middlewareStack.add(
    (next, context) => async (args) => {
      const result = await next(args);
      const input = args.input as { QueueUrl?: string };
      if (
        context.commandName === 'ReceiveMessageCommand' &&
        watched !== undefined &&
        input.QueueUrl === watched
      ) {
        const now = Date.now();
        for (const message of (result.output as { Messages?: Message[] }).Messages ?? []) {
          const id = message.MessageId ?? '';
          const previous = lastReceived.get(id);
          if (previous !== undefined)
            returns.push({
              messageId: id,
              seconds: (now - previous) / 1000,
              receiveCount: Number(message.Attributes?.ApproximateReceiveCount ?? 0),
            });
          lastReceived.set(id, now);
        }
      }
      return result;
    },
    { step: 'initialize', name: 'snap2amiBurstReturns' },
  );
  return {
    watch: (queueUrl) => {
      watched = queueUrl;
    },
    all: () => [...returns].sort((a, b) => b.seconds - a.seconds),
  };
}

const keyOf = (e: { input: string }) => (JSON.parse(e.input) as { key: string }).key;

/** The burst's launch tests: throttled RunInstances (the emulator's counters), the instances, the records' outcomes. */
async function launchTestSummary(
  ec2: EC2Client,
  calls: Record<string, { calls: number; throttled: number }>,
  pipeline: { record(key: string): Promise<Record<string, unknown> | undefined> },
  keys: readonly string[],
): Promise<LaunchTestSummary> {
  const runInstancesThrottled =
    (calls.RunInstances?.throttled ?? 0) + (calls['RunInstances.instances']?.throttled ?? 0);
  const described = [];
  for (let token: string | undefined, first = true; first || token; first = false) {
    const page = await ec2.send(
      new DescribeInstancesCommand({
        Filters: [{ Name: 'tag:snap2ami:launch-test', Values: ['true'] }],
        ...(token && { NextToken: token }),
      }),
    );
    described.push(...(page.Reservations ?? []).flatMap((r) => r.Instances ?? []));
    token = page.NextToken;
  }
  const instancesLeftRunning = described.filter(
    (i) => !['shutting-down', 'terminated'].includes(i.State?.Name ?? ''),
  ).length;
  let passed = 0;
  let failed = 0;
  for (const key of new Set(keys)) {
    const json = (await pipeline.record(key))?.launchTest;
    const result = typeof json === 'string' ? (JSON.parse(json) as { result?: string }).result : undefined;
    if (result === 'passed') passed += 1;
    else if (result === 'failed') failed += 1;
  }
  return { runInstancesThrottled, instances: described.length, instancesLeftRunning, passed, failed };
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
