/**
 * `snap2ami local`: the main job on the local emulator. Starts moto, creates the pipeline's
 * queues, table and topic from the template that deploys, creates the sample snapshots
 * (examples/snapshots.json) through the EC2 API, sends their events in the documented
 * formats through the queue, runs the ingest handler and the workflow to completion, and
 * prints snapshot → outcome → AMI or reason. Exits 1 when an outcome differs from the one
 * the sample expects (its `example:expect` tag). Stops what it started unless --keep.
 */
import { readFile } from 'node:fs/promises';
import { DynamoDBClient, ScanCommand } from '@aws-sdk/client-dynamodb';
import { CreateSnapshotCommand, CreateVolumeCommand, EC2Client } from '@aws-sdk/client-ec2';
import { SFNClient } from '@aws-sdk/client-sfn';
import { ReceiveMessageCommand, SendMessageCommand, SQSClient } from '@aws-sdk/client-sqs';
import { distributionLines } from '../cli/format.ts';
import { runImageTask } from '../functions/image/image.ts';
import type { IngestDeps } from '../functions/ingest/ingest.ts';
import { budgetBuckets, DEFAULT_RATE_SHARE } from '../shared/admission.ts';
import { AdmissionStore } from '../shared/aws/admission.ts';
import { dynamoDbClient, ec2Client, queueUrlOfArn } from '../shared/aws/clients.ts';
import { DLQ_ATTRIBUTES } from '../shared/dead-letter.ts';
import { type DistributionOutcome, distributionOutcome } from '../shared/distribution.ts';
import { isRegistrationKey } from '../shared/records.ts';
import { parseDescribeSnapshots, type Snapshot } from '../shared/snapshot.ts';
import { awsEnvironment, EMULATOR_ACCOUNT, EMULATOR_REGION, startEmulator } from './moto-emulator.ts';
import { localUefiData, SETTINGS } from './pipeline-fixture.ts';
import { backupJobEvent, createSnapshotEvent, snsWrapped } from './sample-events.ts';
import { pollUntilIdle } from './sqs-event-source.ts';
import { createResources, deploymentParams, packagedTemplate, stateMachineName } from './stack-resources.ts';
import { LocalWorkflow } from './state-machine-runner.ts';
import { startLocalStepFunctions } from './step-functions-endpoint.ts';
import { localLifecycleFunction } from './workflow-functions.ts';

export interface LocalOptions {
  snapshots: string;
  keep?: boolean;
  json?: boolean;
}

interface Row extends Partial<DistributionOutcome> {
  sample: string;
  snapshotId: string;
  expected: string;
  outcome: string;
  detail: string;
  /** The AMI, for a planned (registered) sample; with its distribution when it had lifecycle tags. */
  imageId?: string;
}

const settings = SETTINGS;

export async function runLocal(
  options: LocalOptions,
  progress: (line: string) => void,
): Promise<{ rows: Row[]; ok: boolean }> {
  const samples = parseDescribeSnapshots(JSON.parse(await readFile(options.snapshots, 'utf8')));
  const template = await packagedTemplate(progress);
  progress('starting the local AWS emulator (moto) …');
  const emulator = await startEmulator();
  Object.assign(process.env, awsEnvironment(emulator.endpoint));
  let stopSfn = async () => {};
  try {
    const resources = await createResources(template);
    const queueUrl = resources.refs.SnapshotEventsQueue as string;
    const dlqUrl = resources.refs.DeadLetterQueue as string;
    progress(`created the pipeline's queues, table and topic from the packaged template`);
    const params = deploymentParams(template);
    const workflow = new LocalWorkflow({
      refs: resources.refs,
      params,
      functions: {
        image: (input) =>
          runImageTask(input as never, {
            ec2: new EC2Client({ maxAttempts: 1 }),
            uefiData: localUefiData(),
            ...settings,
          }),
        lifecycle: localLifecycleFunction({
          table: resources.refs.RecordsTable as string,
          prefix: settings.prefix,
          parameterPath: params.ssmParameterPath,
        }),
      },
    });
    const stateMachineArn = `arn:aws:states:${EMULATOR_REGION}:${EMULATOR_ACCOUNT}:stateMachine:${stateMachineName(template)}`;
    const sfn = await startLocalStepFunctions(stateMachineArn, workflow);
    stopSfn = () => sfn.close();
    process.env.AWS_ENDPOINT_URL_SFN = sfn.endpoint;

    const ec2 = ec2Client();
    const sqs = new SQSClient({});
    progress(`creating ${samples.length} sample snapshots …`);
    const ids = await createSamples(ec2, samples);
    for (const [index, sample] of samples.entries()) {
      await sqs.send(
        new SendMessageCommand({
          QueueUrl: queueUrl,
          MessageBody: eventFor(ids.get(sample.snapshotId) as string, index),
        }),
      );
    }
    progress(
      `sent ${samples.length} events (createSnapshot, SNS-wrapped createSnapshot, AWS Backup job) to the queue`,
    );

    const skipped = new Map<string, string>();
    const log = {
      info: (entry: { message?: string; snapshotIds?: string[]; reason?: string }) => {
        if (entry.message === 'skipped')
          for (const id of entry.snapshotIds ?? []) skipped.set(id, entry.reason ?? '');
      },
      warn: () => {},
      error: () => {},
    };
    const deps: IngestDeps = {
      ec2,
      sfn: new SFNClient({}),
      sqs,
      stateMachineArn,
      deadLetterQueueUrl: async () => dlqUrl,
      queueUrl: queueUrlOfArn,
      // The deployed budget, on the template's admission table (docs/adr/0009-admission-control.md).
      admission: new AdmissionStore({
        client: dynamoDbClient(),
        table: resources.refs.AdmissionTable as string,
        buckets: budgetBuckets(DEFAULT_RATE_SHARE),
      }),
      settings,
      log: log as IngestDeps['log'],
      count: () => {},
    };
    // As Lambda's event source mapping would, until the queue (deferred messages too) is empty.
    let batch = 0;
    await pollUntilIdle(sqs, queueUrl, deps, {
      idle: () => [...sfn.executions.values()].every((e) => e.status !== 'RUNNING'),
      onBatch: (received) =>
        progress(
          `  batch ${++batch}: ${received} messages, ${sfn.executions.size} workflow executions started`,
        ),
    });
    await sfn.idle();
    progress(
      `workflows done: ${[...sfn.executions.values()].filter((e) => e.status === 'SUCCEEDED').length} succeeded`,
    );

    const records = new Map<string, Record<string, string>>();
    const items =
      (
        await new DynamoDBClient({}).send(
          new ScanCommand({ TableName: resources.refs.RecordsTable, ConsistentRead: true }),
        )
      ).Items ?? [];
    for (const item of items) {
      if (!isRegistrationKey(item.pk?.S ?? '')) continue;
      const flat = Object.fromEntries(Object.entries(item).map(([k, v]) => [k, String(Object.values(v)[0])]));
      records.set(flat.rootSnapshotId as string, flat);
    }
    const rejected = new Map<string, string>();
    for (;;) {
      const dead =
        (
          await sqs.send(
            new ReceiveMessageCommand({
              QueueUrl: dlqUrl,
              MaxNumberOfMessages: 10,
              MessageAttributeNames: ['All'],
              VisibilityTimeout: 30,
            }),
          )
        ).Messages ?? [];
      if (dead.length === 0) break;
      for (const m of dead) {
        const attributes = m.MessageAttributes ?? {};
        for (const id of (attributes[DLQ_ATTRIBUTES.snapshotIds]?.StringValue ?? '').split(','))
          rejected.set(id, attributes[DLQ_ATTRIBUTES.reason]?.StringValue ?? '');
      }
    }

    const rows: Row[] = samples.map((sample) => {
      const snapshotId = ids.get(sample.snapshotId) as string;
      const row: Row = {
        sample: sample.snapshotId,
        snapshotId,
        expected: sample.tags.get('example:expect') ?? '?',
        outcome: 'lost',
        detail: 'no outcome found',
      };
      const record = records.get(snapshotId);
      if (record?.status === 'COMPLETED')
        Object.assign(row, {
          outcome: 'planned',
          detail: `${record.imageId} "${record.imageName}"`,
          imageId: record.imageId,
          ...distributionOutcome(record.distribution),
        });
      else if (record)
        Object.assign(row, {
          outcome: record.status === 'FAILED' ? 'failed' : 'in progress',
          detail: failureDetail(record),
        });
      else if (rejected.has(snapshotId))
        Object.assign(row, { outcome: 'rejected', detail: rejected.get(snapshotId) });
      else if (skipped.has(snapshotId))
        Object.assign(row, { outcome: 'skipped', detail: skipped.get(snapshotId) });
      return row;
    });
    if (options.keep) {
      progress(
        `the emulator keeps running; in another shell:\n  export ${Object.entries({
          ...awsEnvironment(emulator.endpoint),
          AWS_ENDPOINT_URL_SFN: sfn.endpoint,
          SNAP2AMI_QUEUE_URL: queueUrl,
          SNAP2AMI_DLQ_URL: dlqUrl,
          SNAP2AMI_TABLE: resources.refs.RecordsTable as string,
          SNAP2AMI_STATE_MACHINE_ARN: stateMachineArn,
        })
          .map(([k, v]) => `${k}=${v}`)
          .join(' ')}\npress Ctrl-C to stop`,
      );
      await new Promise<void>((resolve) => process.once('SIGINT', () => resolve()));
    }
    return { rows, ok: rows.every((row) => row.outcome === row.expected) };
  } finally {
    await stopSfn();
    await emulator.stop();
  }
}

/**
 * A record's failure as one line: the step, the error, and the cause; a Lambda error's cause
 * is JSON (`{"errorType", "errorMessage"}`), of which its message says it all.
 */
function failureDetail(record: Record<string, string>): string {
  let cause = record.cause ?? '';
  try {
    const message = (JSON.parse(cause) as { errorMessage?: unknown }).errorMessage;
    if (typeof message === 'string') cause = message;
  } catch {
    // Not JSON: a DynamoDB or SNS error's cause, shown as it is.
  }
  const error = [record.error, cause].filter(Boolean).join(': ');
  return record.failedStep ? `at ${record.failedStep}: ${error}` : error;
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
