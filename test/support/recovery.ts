/**
 * A whole pipeline on the emulator for the recovery tests (the reconciler, `register`, the
 * CloudTrail rule): queue and DLQ, ingest, the deployed workflow on the local Step Functions
 * endpoint, the records table. Every snapshot a test makes carries a tag prefix of its own:
 * the emulator is shared by every test file, and the reconciler looks at all of the account's
 * opted-in snapshots, so a prefix of their own keeps other files' snapshots out of its sight.
 * The image step can be held (an execution that stays RUNNING) or failed, by AMI name.
 */

import { DynamoDBClient, PutItemCommand } from '@aws-sdk/client-dynamodb';
import { DescribeImagesCommand, EC2Client } from '@aws-sdk/client-ec2';
import { SFNClient } from '@aws-sdk/client-sfn';
import { SQSClient } from '@aws-sdk/client-sqs';
import { SSMClient } from '@aws-sdk/client-ssm';
import { describeSnapshots } from '#shared/aws/snapshots.ts';
import { planGroups } from '#shared/contract/plan.ts';
import type { Plan } from '#shared/contract/types.ts';
import { SQS_MESSAGE_LIMIT_BYTES } from '#shared/dead-letter.ts';
import { PermanentError } from '#shared/errors.ts';
import { CLAIM_LEASE_SECONDS } from '#shared/workflow.ts';
import type { ImageTask } from '../../functions/image/image.ts';
import type { IngestDeps } from '../../functions/ingest/ingest.ts';
import type { ReconcileDeps } from '../../functions/reconcile/reconcile.ts';
import {
  createEventQueues,
  createPipeline,
  createTaggedSnapshot,
  ingestDeps,
  type LocalLifecycleOptions,
  type LocalStepFunctions,
  LocalWorkflow,
  localImageFunction,
  localLaunchTestFunction,
  localLifecycleFunction,
  localResumeFunction,
  type Pipeline,
  pollOnce,
  SETTINGS,
  startStateMachine,
} from '../../local/index.ts';
import { messagesIn } from './sqs.ts';

export interface RecoveryHarness {
  prefix: string;
  pipeline: Pipeline;
  sfn: LocalStepFunctions;
  queueUrl: string;
  dlqUrl: string;
  ec2: EC2Client;
  sqs: SQSClient;
  dynamo: DynamoDBClient;
  ingest: IngestDeps;
  reconcile: ReconcileDeps;
  /** The CLI's environment: this pipeline's table, queue, workflow endpoint and prefix. */
  env: Record<string, string>;
  /** An opted-in (unless `register` says otherwise) snapshot named `name` (its AMI's name too). */
  snapshot(name: string, tags?: Record<string, string>): Promise<string>;
  /** An opted-in snapshot named `name`, planned as ingest plans it under the harness's prefix. */
  planned(name: string, tags?: Record<string, string>): Promise<Plan>;
  /** A record stuck IN_PROGRESS, claimed ten minutes ago by `executionArn`, as the workflow's claim writes it. */
  stuckRecord(plan: Plan, executionArn: string): Promise<void>;
  /** Polls the queue as Lambda does until it is empty, then waits for the executions. */
  deliver(): Promise<void>;
  imagesNamed(name: string): Promise<{ ImageId?: string; State?: string }[]>;
  /** Holds the image step of registrations named `name` until the returned function is called. */
  hold(name: string): () => void;
  /** Fails the dry run of registrations named `name` with a PermanentError. */
  fail(name: string): void;
  close(): Promise<void>;
}

export interface RecoveryOptions {
  /** The lifecycle function's clients (a fault proxy, say). */
  lifecycle?: Partial<Omit<LocalLifecycleOptions, 'table' | 'prefix'>>;
  /** Wraps the lifecycle function, as a test of its crash needs: `next` runs the real one. */
  aroundLifecycle?: (task: Record<string, unknown>, next: () => Promise<unknown>) => Promise<unknown>;
}

export async function createRecoveryHarness(
  label: string,
  options: RecoveryOptions = {},
): Promise<RecoveryHarness> {
  const prefix = `${label}${Date.now().toString(36)}${Math.floor(Math.random() * 1e6).toString(36)}:`;
  const ec2 = new EC2Client({ maxAttempts: 1 });
  const sqs = new SQSClient({});
  const dynamo = new DynamoDBClient({});
  const pipeline = await createPipeline({ ec2 });
  const settings = { ...SETTINGS, prefix };
  const held = new Map<string, Promise<void>>();
  const failing = new Set<string>();
  const image = localImageFunction({ ec2, settings });
  const lifecycle = localLifecycleFunction({
    parameterPath: '/',
    ...options.lifecycle,
    table: pipeline.table,
    prefix,
    ...(options.aroundLifecycle && { around: options.aroundLifecycle }),
  });
  // The waits end by their looks (the images are available at once here).
  const resume = localResumeFunction({ table: pipeline.table, callbacks: () => workflow.callbacks });
  const workflow: LocalWorkflow = new LocalWorkflow({
    refs: { RecordsTable: pipeline.table, NotificationsTopic: pipeline.topicArn },
    params: { eventBusName: pipeline.eventBusName },
    functions: {
      resume,
      lifecycle,
      launchTest: localLaunchTestFunction({ prefix }),
      image: async (input) => {
        const task = input as ImageTask;
        const name = 'request' in task ? task.request.Name : undefined;
        if (task.action === 'register' && name !== undefined) {
          await held.get(name);
          if (failing.has(name))
            throw new PermanentError(`RegisterImage dry run: refused for the test (${name})`);
        }
        return image(task as never);
      },
    },
  });
  const sfn = await startStateMachine(`snap2ami-${label}-${Date.now()}`, workflow);
  const { queueUrl, dlqUrl } = await createEventQueues(sqs, `snap2ami-events-${label}-${Date.now()}`, {
    maximumMessageSize: SQS_MESSAGE_LIMIT_BYTES,
  });
  const sfnClient = new SFNClient({ endpoint: sfn.endpoint, maxAttempts: 1 });
  const ingest = { ...ingestDeps({ ec2, sfn: sfnClient, sqs }, sfn.stateMachineArn, dlqUrl), settings };
  const snapshot = (name: string, tags: Record<string, string> = {}) =>
    createTaggedSnapshot(ec2, { [`${prefix}register`]: 'true', [`${prefix}name`]: name, ...tags });
  const imagesNamed = async (name: string) =>
    (await ec2.send(new DescribeImagesCommand({ Filters: [{ Name: 'name', Values: [name] }] }))).Images ?? [];
  return {
    prefix,
    pipeline,
    sfn,
    queueUrl,
    dlqUrl,
    ec2,
    sqs,
    dynamo,
    ingest,
    reconcile: {
      dynamo,
      sfn: sfnClient,
      ec2,
      sqs,
      ec2In: (region) => new EC2Client({ region, maxAttempts: 1 }),
      ssmIn: (region) => new SSMClient({ region, maxAttempts: 1 }),
      table: pipeline.table,
      queueUrl,
      settings,
      log: { info: () => {}, warn: () => {}, error: () => {} },
    },
    env: {
      AWS_ENDPOINT_URL_SFN: sfn.endpoint,
      SNAP2AMI_TAG_PREFIX: prefix,
      SNAP2AMI_TABLE: pipeline.table,
      SNAP2AMI_QUEUE_URL: queueUrl,
    },
    snapshot,
    async planned(name, tags = {}) {
      const snapshotId = await snapshot(name, tags);
      const plan = planGroups(
        [{ snapshotIds: [snapshotId], multiVolume: false }],
        await describeSnapshots(ec2, [snapshotId]),
        settings,
      ).plans[0];
      if (!plan) throw new Error(`${snapshotId} was not planned`);
      return plan;
    },
    async stuckRecord(plan, executionArn) {
      const startedAt = new Date(Date.now() - 600_000).toISOString();
      await dynamo.send(
        new PutItemCommand({
          TableName: pipeline.table,
          Item: {
            pk: { S: plan.key },
            status: { S: 'IN_PROGRESS' },
            executionArn: { S: executionArn },
            snapshotIds: { SS: plan.snapshotIds },
            rootSnapshotId: { S: plan.snapshotIds[0] as string },
            imageName: { S: plan.request.Name },
            attempts: { N: '1' },
            startedAt: { S: startedAt },
            createdAt: { S: startedAt },
            claimUntil: { S: new Date(Date.now() + CLAIM_LEASE_SECONDS * 1000).toISOString() },
          },
        }),
      );
    },
    async deliver() {
      for (let polls = 0; polls < 50 && (await messagesIn(sqs, queueUrl)) > 0; polls += 1) {
        await pollOnce(sqs, queueUrl, ingest);
        await sfn.idle();
      }
      await sfn.idle();
    },
    imagesNamed,
    hold(name) {
      let release = () => {};
      held.set(
        name,
        new Promise<void>((resolve) => {
          release = resolve;
        }),
      );
      return () => {
        held.delete(name);
        release();
      };
    },
    fail: (name) => failing.add(name),
    close: () => sfn.close(),
  };
}
