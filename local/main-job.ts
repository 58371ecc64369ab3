/**
 * `snap2ami local`: the main job on the local emulator. Starts moto, creates the pipeline's
 * queues, table and topic from the template that deploys, creates the sample snapshots
 * (examples/snapshots.json) through the EC2 API, sends their events in the documented
 * formats through the queue, runs the ingest handler and the workflow to completion, and
 * prints snapshot → outcome → AMI or reason. Exits 1 when an outcome differs from the one
 * the sample expects (its `example:expect` tag). Stops what it started, unless --keep: then,
 * once the outcomes are shown, the emulator, the local workflow and a poller of the queue (the
 * event source mapping) keep running until Ctrl-C, SIGTERM or SIGHUP.
 */
import { readFile } from 'node:fs/promises';
import { DynamoDBClient, ScanCommand } from '@aws-sdk/client-dynamodb';
import { CreateSnapshotCommand, CreateVolumeCommand, type EC2Client } from '@aws-sdk/client-ec2';
import { SFNClient } from '@aws-sdk/client-sfn';
import { ChangeMessageVisibilityBatchCommand, SendMessageCommand, SQSClient } from '@aws-sdk/client-sqs';
import { DEFAULT_RATE_SHARE } from '#shared/admission.ts';
import { deployedAdmission } from '#shared/aws/admission.ts';
import { dynamoDbClient } from '#shared/aws/dynamodb.ts';
import { ec2Client, ec2ClientIn } from '#shared/aws/ec2.ts';
import { sourceReader } from '#shared/aws/source-accounts.ts';
import { ssmClientIn } from '#shared/aws/ssm.ts';
import { DLQ_ATTRIBUTES } from '#shared/dead-letter.ts';
import { type DistributionOutcome, distributionOutcome } from '#shared/distribution.ts';
import { type LaunchTestOutcome, launchTestOutcome } from '#shared/launch-test-outcome.ts';
import { distributionLines, failureDetail } from '#shared/outcome-text.ts';
import { isRegistrationKey, RECORD_STATUS } from '#shared/records.ts';
import { parseDescribeSnapshots, type Snapshot } from '#shared/snapshot.ts';
import type { IngestDeps } from '../functions/ingest/ingest.ts';
import { emptyReport } from '../functions/reconcile/reconcile.ts';
import { retentionPass } from '../functions/reconcile/retention-pass.ts';
import { instanceControl, START_TIME_TAG } from './emulator-controls.ts';
import {
  deployMemberRole,
  LOCAL_ORGANIZATION_ID,
  MEMBER_ACCOUNT,
  memberSample,
  sharedMemberSnapshot,
} from './member-account.ts';
import { awsEnvironment, EMULATOR_REGION, startEmulator } from './moto-emulator.ts';
import { DEFAULT_SAMPLES } from './paths.ts';
import { ingestDeps, SETTINGS, startStateMachine, templateWorkflow } from './pipeline-fixture.ts';
import { backupJobEvent, createSnapshotEvent, snsWrapped } from './sample-events.ts';
import { pollUntilIdle, pollUntilStopped, receiveAll } from './sqs-event-source.ts';
import { createResources, packagedTemplate, stateMachineName, type Template } from './stack-resources.ts';
import type { LocalStepFunctions } from './step-functions-endpoint.ts';

export interface LocalOptions {
  snapshots: string;
  keep?: boolean;
  json?: boolean;
}

export interface LocalResult {
  rows: Row[];
  /** Whether every outcome is the one its sample expects. */
  ok: boolean;
}

interface Row extends Partial<DistributionOutcome> {
  sample: string;
  snapshotId: string;
  expected: string;
  outcome: string;
  detail: string;
  /** The registration's idempotency key, for a planned sample. */
  key?: string;
  /** The AMI, for a planned (registered) sample; with its distribution when it had lifecycle tags. */
  imageId?: string;
  /** Its AMI was deregistered afterwards by the reconciler's retention pass (a newer AMI of its family stays). */
  deregisteredByReconciler?: boolean;
  /** The launch test's outcome, when the sample asked for one (docs/adr/0012-launch-test.md). */
  launchTest?: LaunchTestOutcome;
  /** Another account's snapshot: that account, and the copies the AMI was registered from (ADR 0014). */
  sourceAccount?: string;
  copiedSnapshotIds?: string[];
}

/** The pipeline on the emulator, as the template deploys it. */
interface Harness {
  queueUrl: string;
  dlqUrl: string;
  table: string;
  admissionTable: string;
  stateMachineArn: string;
  sfn: LocalStepFunctions;
}

/**
 * Runs the samples through the pipeline on a fresh emulator. `show` gets the outcomes as soon
 * as they are known: with --keep, before the run waits to be stopped.
 */
export async function runLocal(
  options: LocalOptions,
  progress: (line: string) => void,
  show: (result: LocalResult) => void = () => {},
): Promise<LocalResult> {
  const given = parseDescribeSnapshots(JSON.parse(await readFile(options.snapshots, 'utf8')));
  // The default samples gain one of a member account of the local organization (docs/organizations.md).
  const samples = options.snapshots === DEFAULT_SAMPLES ? [...given, memberSample()] : given;
  // Packaging and the emulator's start take seconds each: side by side.
  progress('starting the local AWS emulator (moto) …');
  const [packaged, started] = await Promise.allSettled([packagedTemplate(progress), startEmulator()]);
  if (started.status === 'rejected') throw started.reason;
  const emulator = started.value;
  if (packaged.status === 'rejected') {
    await emulator.stop();
    throw packaged.reason;
  }
  const template = packaged.value;
  Object.assign(process.env, awsEnvironment(emulator.endpoint));
  // The samples' launch-test instances boot at once: the workflow's first look at them finds
  // their checks final, instead of waiting out its 15-second poll (the tests set their own delays).
  await instanceControl(emulator.endpoint).configure({ statusDelaySeconds: 0, commandDelaySeconds: 0 });
  let harness: Harness | undefined;
  try {
    harness = await startHarness(template);
    progress(`created the pipeline's queues, table and topic from the packaged template`);
    const ids = await sendSamples(samples, harness.queueUrl, progress);
    const skipped = await drainQueue(harness, progress);
    const records = await readRecords(harness.table);
    const rejected = await readDeadLetters(harness.dlqUrl);
    const retired = await reconcilerRetention(harness, progress);
    const rows = samples.map((sample) =>
      retiredBy(
        rowFor(sample, ids.get(sample.snapshotId) as string, { records, rejected, skipped }),
        retired,
      ),
    );
    const result = { rows, ok: rows.every((row) => row.outcome === row.expected) };
    show(result);
    if (options.keep) await keepRunning(emulator.endpoint, harness, progress);
    return result;
  } finally {
    await harness?.sfn.close();
    await emulator.stop();
  }
}

/** The queues, tables and topic from the template; the workflow on a local Step Functions endpoint. */
async function startHarness(template: Template): Promise<Harness> {
  const { refs } = await createResources(template);
  // The local run is a central image account for the local organization: a member's snapshots are copied in.
  const workflow = templateWorkflow(template, refs, { copies: { organizationId: LOCAL_ORGANIZATION_ID } });
  const sfn = await startStateMachine(stateMachineName(template), workflow);
  const { stateMachineArn } = sfn;
  process.env.AWS_ENDPOINT_URL_SFN = sfn.endpoint;
  return {
    queueUrl: refs.SnapshotEventsQueue as string,
    dlqUrl: refs.DeadLetterQueue as string,
    table: refs.RecordsTable as string,
    admissionTable: refs.AdmissionTable as string,
    stateMachineArn,
    sfn,
  };
}

/** Creates the sample snapshots and sends each one's event to the queue; the samples' IDs on the emulator. */
async function sendSamples(samples: Snapshot[], queueUrl: string, progress: (line: string) => void) {
  progress(`creating ${samples.length} sample snapshots …`);
  const ids = await createSamples(ec2Client(), samples);
  const sqs = new SQSClient({});
  for (const [index, sample] of samples.entries())
    await sqs.send(
      new SendMessageCommand({
        QueueUrl: queueUrl,
        MessageBody:
          sample.ownerId === MEMBER_ACCOUNT
            ? JSON.stringify({
                ...createSnapshotEvent(ids.get(sample.snapshotId) as string),
                account: MEMBER_ACCOUNT,
              })
            : eventFor(ids.get(sample.snapshotId) as string, index),
      }),
    );
  progress(
    `sent ${samples.length} events (createSnapshot, SNS-wrapped createSnapshot, AWS Backup job) to the queue`,
  );
  return ids;
}

/**
 * Runs the ingest handler on the queue as Lambda's event source mapping would, until the queue
 * (deferred messages too) is empty and every execution has ended; the snapshots ingest skipped,
 * with why (it logs them: a skipped snapshot leaves nothing else behind).
 */
async function drainQueue(harness: Harness, progress: (line: string) => void): Promise<Map<string, string>> {
  const skipped = new Map<string, string>();
  const log = {
    info: (entry: IngestLogEntry) => {
      if (entry.message === 'skipped')
        for (const id of entry.snapshotIds ?? []) skipped.set(id, entry.reason ?? '');
    },
    warn: () => {},
    error: () => {},
  };
  const sqs = new SQSClient({});
  const deps = deployedIngestDeps(harness, sqs, log);
  const { sfn } = harness;
  let batch = 0;
  await pollUntilIdle(sqs, harness.queueUrl, deps, {
    idle: () => [...sfn.executions.values()].every((e) => e.status !== 'RUNNING'),
    onBatch: (received) =>
      progress(
        `  batch ${++batch}: ${received} messages, ${sfn.executions.size} workflow executions started`,
      ),
  });
  await sfn.idle();
  progress(`workflows done: ${executionCounts(sfn)}`);
  return skipped;
}

interface IngestLogEntry {
  message?: string;
  snapshotIds?: string[];
  reason?: string;
  error?: string;
}

/** The ingest handler's dependencies on the emulator, as the deployed function has them: its budget on the template's admission table (docs/adr/0009-admission-control.md). */
function deployedIngestDeps(
  harness: Harness,
  sqs: SQSClient,
  log: Record<'info' | 'warn' | 'error', (entry: IngestLogEntry) => void>,
): IngestDeps {
  const admission = deployedAdmission(dynamoDbClient(), harness.admissionTable, {
    ec2RateShare: DEFAULT_RATE_SHARE,
  });
  const clients = { ec2: ec2Client(), sfn: new SFNClient({}), sqs };
  const deps = ingestDeps(clients, harness.stateMachineArn, harness.dlqUrl, {}, admission);
  return {
    ...deps,
    settings: { ...deps.settings, organizationId: LOCAL_ORGANIZATION_ID },
    readSource: sourceReader(EMULATOR_REGION),
    log: log as IngestDeps['log'],
  };
}

/** How the executions ended, every end that happened: `4 succeeded, 1 failed`. */
function executionCounts(sfn: LocalStepFunctions): string {
  const ends = [
    ['SUCCEEDED', 'succeeded'],
    ['FAILED', 'failed'],
    ['TIMED_OUT', 'timed out'],
    ['ABORTED', 'aborted'],
  ] as const;
  const count = (status: string) => [...sfn.executions.values()].filter((e) => e.status === status).length;
  const parts = ends
    .filter(([status]) => count(status) > 0)
    .map(([status, word]) => `${count(status)} ${word}`);
  return parts.length > 0 ? parts.join(', ') : 'none started';
}

/**
 * The reconciler's retention pass, as its next scheduled run carries it out (here without its
 * settle time: every workflow of the run has ended). Registrations of one family that ran at
 * once each keep their own AMI and leave the family pending; this pass brings it to its N, so
 * that the outcomes show what stays. The AMIs it deregistered.
 */
async function reconcilerRetention(harness: Harness, progress: (line: string) => void): Promise<Set<string>> {
  const report = emptyReport();
  const deps = {
    dynamo: dynamoDbClient(),
    sfn: new SFNClient({}),
    ec2: ec2Client(),
    sqs: new SQSClient({}),
    ec2In: ec2ClientIn,
    ssmIn: ssmClientIn,
    table: harness.table,
    queueUrl: harness.queueUrl,
    settings: SETTINGS,
    log: { info: () => {}, warn: () => {}, error: () => {} },
  };
  await retentionPass(deps, { graceSeconds: 0, retentionSettleSeconds: 0 }, report);
  const retired = new Set<string>();
  for (const family of report.retention.families) {
    const removed = (family.deregistered ?? []).map(({ imageId, region }) => `${imageId} (${region})`);
    for (const { imageId } of family.deregistered ?? []) retired.add(imageId);
    progress(
      `the reconciler's retention pass: family ${family.family} ${family.action}` +
        (removed.length > 0 ? `, deregistered ${removed.join(', ')}` : '') +
        (family.error ? `: ${family.error}` : ''),
    );
  }
  for (const error of report.errors) progress(`the reconciler's retention pass: ${error}`);
  return retired;
}

/** A row whose AMI the reconciler's pass deregistered says so. */
function retiredBy(row: Row, retired: Set<string>): Row {
  if (row.imageId === undefined || !retired.has(row.imageId)) return row;
  return {
    ...row,
    detail: `${row.detail}, deregistered afterwards by the reconciler's retention pass`,
    deregisteredByReconciler: true,
  };
}

/** The registrations' records, by root snapshot, each attribute as a string (not the parameters' or families' items). */
async function readRecords(table: string): Promise<Map<string, Record<string, string>>> {
  const records = new Map<string, Record<string, string>>();
  const { Items = [] } = await new DynamoDBClient({}).send(
    new ScanCommand({ TableName: table, ConsistentRead: true }),
  );
  for (const item of Items) {
    if (!isRegistrationKey(item.pk?.S ?? '')) continue;
    const flat = Object.fromEntries(Object.entries(item).map(([k, v]) => [k, String(Object.values(v)[0])]));
    records.set(flat.rootSnapshotId as string, flat);
  }
  return records;
}

/**
 * The rejected snapshots, with their reasons, from the dead-letter queue. Each message is read
 * once (hidden while the rest are read, so the loop ends) and then made visible again, so that
 * `snap2ami replay` with --keep finds them at once, not after a visibility timeout.
 */
async function readDeadLetters(dlqUrl: string): Promise<Map<string, string>> {
  const sqs = new SQSClient({});
  const messages = await receiveAll(sqs, dlqUrl, { visibilityTimeout: 30, attributes: true });
  const rejected = new Map<string, string>();
  for (const { MessageAttributes: attributes = {} } of messages)
    for (const id of (attributes[DLQ_ATTRIBUTES.snapshotIds]?.StringValue ?? '').split(','))
      rejected.set(id, attributes[DLQ_ATTRIBUTES.reason]?.StringValue ?? '');
  // Visible again at once: `replay` after `--keep` sees them.
  const read = messages.flatMap(({ ReceiptHandle }, i) =>
    ReceiptHandle ? [{ Id: String(i), ReceiptHandle }] : [],
  );
  for (let start = 0; start < read.length; start += 10)
    await sqs.send(
      new ChangeMessageVisibilityBatchCommand({
        QueueUrl: dlqUrl,
        Entries: read.slice(start, start + 10).map((entry) => ({ ...entry, VisibilityTimeout: 0 })),
      }),
    );
  return rejected;
}

/** A sample's outcome: its record (COMPLETED, FAILED, in progress), else its rejection, else why it was skipped. */
function rowFor(
  sample: Snapshot,
  snapshotId: string,
  found: {
    records: Map<string, Record<string, string>>;
    rejected: Map<string, string>;
    skipped: Map<string, string>;
  },
): Row {
  const row: Row = {
    sample: sample.snapshotId,
    snapshotId,
    expected: sample.tags.get('example:expect') ?? '?',
    outcome: 'lost',
    detail: 'no outcome found',
  };
  const record = found.records.get(snapshotId);
  const launchTest = launchTestOutcome(record?.launchTest);
  if (record?.status === RECORD_STATUS.completed)
    return {
      ...row,
      ...(launchTest && { launchTest }),
      outcome: 'planned',
      detail: `${record.imageId} "${record.imageName}"`,
      ...(record.pk && { key: record.pk }),
      ...(record.imageId && { imageId: record.imageId }),
      // Another account's snapshot: registered from its copies (ADR 0014).
      ...(record.sourceAccount && { sourceAccount: record.sourceAccount }),
      ...(record.copiedSnapshotIds && { copiedSnapshotIds: record.copiedSnapshotIds.split(',') }),
      ...distributionOutcome(record.distribution),
    };
  if (record)
    return {
      ...row,
      outcome: record.status === RECORD_STATUS.failed ? 'failed' : 'in progress',
      detail: failureDetail(record),
      ...(launchTest && { launchTest }),
    };
  const rejected = found.rejected.get(snapshotId);
  if (rejected !== undefined) return { ...row, outcome: 'rejected', detail: rejected };
  const skipped = found.skipped.get(snapshotId);
  if (skipped !== undefined) return { ...row, outcome: 'skipped', detail: skipped };
  return row;
}

/** The signals that stop a kept run, as Ctrl-C does: `kill`'s default, and a closed terminal. */
const STOP_SIGNALS = ['SIGINT', 'SIGTERM', 'SIGHUP'] as const;

/**
 * With --keep: keeps the ingest handler polling the queue, as the deployed event source mapping
 * does (so that what `register`, `replay` or the reconciler send there is handled), prints the
 * environment that points the other commands at the emulator, and waits for Ctrl-C, SIGTERM or
 * SIGHUP; then stops the poller and the running executions, for the caller to stop the rest.
 */
async function keepRunning(endpoint: string, harness: Harness, progress: (line: string) => void) {
  const stop = new AbortController();
  const sqs = new SQSClient({});
  const note = (entry: IngestLogEntry) => {
    if (entry.message === 'skipped')
      progress(`  skipped ${(entry.snapshotIds ?? []).join(', ')}: ${entry.reason ?? ''}`);
  };
  const trouble = (entry: IngestLogEntry) =>
    progress(`  ingest: ${entry.message ?? ''}${entry.error ? `: ${entry.error}` : ''}`);
  const poller = pollUntilStopped(
    sqs,
    harness.queueUrl,
    deployedIngestDeps(harness, sqs, { info: note, warn: trouble, error: trouble }),
    {
      signal: stop.signal,
      onBatch: (received, failed) =>
        progress(
          `  queue: ${received} message${received === 1 ? '' : 's'}${failed.length ? ` (${failed.length} back on the queue)` : ''}, ${harness.sfn.executions.size} workflow executions started in all`,
        ),
      onError: (error) => progress(`  queue: polling failed (${(error as Error).message}); polling again`),
    },
  );
  const environment = {
    ...awsEnvironment(endpoint),
    AWS_ENDPOINT_URL_SFN: harness.sfn.endpoint,
    SNAP2AMI_QUEUE_URL: harness.queueUrl,
    SNAP2AMI_DLQ_URL: harness.dlqUrl,
    SNAP2AMI_TABLE: harness.table,
    SNAP2AMI_STATE_MACHINE_ARN: harness.stateMachineArn,
  };
  const exports = Object.entries(environment)
    .map(([k, v]) => `${k}=${v}`)
    .join(' ');
  progress(
    'the emulator and the local workflow keep running, and the ingest handler keeps polling the queue\n' +
      '(what `snap2ami register`, `replay` or a message sent to it puts there is registered); in another shell:\n' +
      `  export ${exports}\n` +
      'press Ctrl-C to stop',
  );
  const signal = await new Promise<string>((resolve) => {
    const stopOn = (name: string) => {
      for (const other of STOP_SIGNALS) process.off(other, stopOn);
      resolve(name);
    };
    for (const name of STOP_SIGNALS) process.on(name, stopOn);
  });
  progress(`${signal}: stopping the queue poller, the local workflow and the emulator …`);
  stop.abort();
  await poller;
  for (const execution of harness.sfn.executions.values())
    if (execution.status === 'RUNNING') execution.abort?.();
  await harness.sfn.idle();
}

/** The documented event formats, in turn: createSnapshot, the same wrapped in SNS, an AWS Backup job. */
function eventFor(snapshotId: string, index: number): string {
  const formats = [
    () => createSnapshotEvent(snapshotId),
    () => snsWrapped(createSnapshotEvent(snapshotId)),
    () => backupJobEvent(snapshotId),
  ];
  return JSON.stringify((formats[index % formats.length] as () => unknown)());
}

/** Creates the samples on the emulator, referenced ones first, rewriting references to the new IDs. */
async function createSamples(ec2: EC2Client, samples: Snapshot[]): Promise<Map<string, string>> {
  const ids = new Map<string, string>();
  const references = (s: Snapshot) =>
    [...s.tags.values()].some((v) => samples.some((o) => o !== s && v.startsWith(o.snapshotId)));
  const ordered = [...samples.filter((s) => !references(s)), ...samples.filter(references)];
  for (const sample of ordered) {
    const volume = await ec2.send(
      new CreateVolumeCommand({ AvailabilityZone: `${EMULATOR_REGION}a`, Size: sample.volumeSize ?? 8 }),
    );
    const tags = [...sample.tags].map(([Key, value]) => {
      let Value = value;
      for (const [from, to] of ids) Value = Value.replaceAll(from, to);
      return { Key, Value };
    });
    // The sample's own StartTime, not the emulator's "now" (names with {datetime}, a family's order).
    if (sample.startTime) tags.push({ Key: START_TIME_TAG, Value: sample.startTime.toISOString() });
    if (sample.ownerId === MEMBER_ACCOUNT) {
      // The member's snapshot, in its own account, shared with the pipeline's; its reader role there.
      await deployMemberRole(MEMBER_ACCOUNT);
      const tagMap = Object.fromEntries(tags.map(({ Key, Value }) => [Key, Value]));
      ids.set(
        sample.snapshotId,
        await sharedMemberSnapshot(MEMBER_ACCOUNT, tagMap, { sizeGiB: sample.volumeSize ?? 8 }),
      );
      continue;
    }
    const created = await ec2.send(
      new CreateSnapshotCommand({
        VolumeId: volume.VolumeId,
        TagSpecifications: [{ ResourceType: 'snapshot', Tags: tags }],
      }),
    );
    if (!created.SnapshotId) throw new Error('the emulator returned no snapshot ID');
    ids.set(sample.snapshotId, created.SnapshotId);
  }
  return ids;
}

export function formatRows(rows: Row[]): string {
  const width = (pick: (row: Row) => string, title: string) =>
    Math.max(title.length, ...rows.map((row) => pick(row).length));
  const w1 = width((r) => r.snapshotId, 'snapshot');
  const w2 = width((r) => r.outcome, 'outcome');
  const lines = [`${'snapshot'.padEnd(w1)}  ${'outcome'.padEnd(w2)}  AMI or reason`];
  for (const row of rows) {
    const mark = row.outcome === row.expected ? '' : `   ✗ expected ${row.expected}`;
    lines.push(`${row.snapshotId.padEnd(w1)}  ${row.outcome.padEnd(w2)}  ${row.detail}${mark}`);
    const distribution = row.copies && (row as DistributionOutcome);
    lines.push(...distributionLines(distribution, ' '.repeat(w1 + w2 + 4)));
  }
  return `${lines.join('\n')}\n`;
}
