/**
 * The workflow's resources on the emulator for tests and the bench: a records table, the
 * notifications topic with a subscribed queue to read them, an event bus of its own with a
 * rule that sends snap2ami's events to a queue, and the deployed definition bound to them
 * (LocalWorkflow); and ingest's dependencies with quiet logs and counted metrics.
 */
import { DynamoDBClient, GetItemCommand } from '@aws-sdk/client-dynamodb';
import { EC2Client } from '@aws-sdk/client-ec2';
import {
  CreateEventBusCommand,
  EventBridgeClient,
  PutRuleCommand,
  PutTargetsCommand,
} from '@aws-sdk/client-eventbridge';
import { S3Client } from '@aws-sdk/client-s3';
import type { SFNClient } from '@aws-sdk/client-sfn';
import { CreateTopicCommand, SNSClient, SubscribeCommand } from '@aws-sdk/client-sns';
import { CreateQueueCommand, GetQueueAttributesCommand, SQSClient } from '@aws-sdk/client-sqs';
import { SSMClient } from '@aws-sdk/client-ssm';
import { ADMIT_ALL, type Admission } from '#shared/aws/admission.ts';
import { once, perRegion } from '#shared/aws/clients.ts';
import { describeSnapshots } from '#shared/aws/snapshots.ts';
import { sourceReader } from '#shared/aws/source-accounts.ts';
import { queueUrlOfArn } from '#shared/aws/sqs.ts';
import { planGroups } from '#shared/contract/plan.ts';
import { DEFAULT_PREFIX, type Plan } from '#shared/contract/types.ts';
import {
  DEFAULT_IMAGE_WAIT_LIMIT_HOURS,
  DEFAULT_UEFI_DATA_PARAMETER_PATH,
  DEPLOYMENT_PARAMETERS,
  imageWaitLimitSeconds,
  type UefiDataSettings,
} from '#shared/settings.ts';
import { runImageTask } from '../functions/image/image.ts';
import type { UefiDataDeps } from '../functions/image/uefi-data.ts';
import type { IngestDeps } from '../functions/ingest/ingest.ts';
import { amiEventQueue, type LocalResumeOptions, localResumeFunction } from './ami-events.ts';
import { EMULATOR_ACCOUNT, EMULATOR_REGION } from './moto-emulator.ts';
import { createTaggedSnapshot } from './sample-snapshots.ts';
import { receiveAll } from './sqs-event-source.ts';
import {
  createTable,
  deploymentParams,
  recordsTableProperties,
  type Template,
  tableProperties,
} from './stack-resources.ts';
import { LocalWorkflow } from './state-machine-runner.ts';
import { type LocalStepFunctions, startLocalStepFunctions } from './step-functions-endpoint.ts';
import {
  type LocalLaunchTestOptions,
  type LocalLifecycleOptions,
  localLaunchTestFunction,
  localLifecycleFunction,
} from './workflow-functions.ts';

export interface Pipeline {
  table: string;
  /** Admission control's table (docs/adr/0009-admission-control.md), as it deploys, under a name of its own. */
  admissionTable: string;
  topicArn: string;
  notificationsQueueUrl: string;
  eventBusName: string;
  workflow: LocalWorkflow;
  record(key: string): Promise<Record<string, unknown> | undefined>;
  notifications(): Promise<{ message: Record<string, unknown>; attributes: Record<string, string> }[]>;
  /** The events the workflow put on the pipeline's bus since the last call. */
  events(): Promise<{ source: string; 'detail-type': string; detail: Record<string, unknown> }[]>;
}

export interface PipelineOptions {
  /** The image function's EC2 client (by default one attempt per call, as deployed). */
  ec2?: EC2Client;
  /**
   * The image function's own account (as its ARN would name it) and allowed source accounts;
   * by default the emulator's account, whose snapshots it then registers, and none.
   */
  image?: {
    account?: string;
    allowedSourceAccounts?: string[];
    organizationId?: string;
    copyKmsKeyId?: string;
  };
  /** Where ReadUefiData may read; by default LOCAL_UEFI_DATA_BUCKET and the deployed default path. */
  uefiData?: Partial<UefiDataSettings>;
  /** The workflow's DynamoDB and SNS integrations' clients (a fault proxy, say). */
  dynamodb?: DynamoDBClient;
  sns?: SNSClient;
  /** Wraps the image function, as a test of a crash around it needs: `next` runs the real one. */
  aroundImage?: (task: Record<string, unknown>, next: () => Promise<unknown>) => Promise<unknown>;
  /** The lifecycle function's clients and settings (by default on the emulator, any parameter path). */
  lifecycle?: Partial<Omit<LocalLifecycleOptions, 'table' | 'prefix'>>;
  /** Wraps the lifecycle function, and each step distribute runs, as a test of a fault in one of its steps needs. */
  aroundLifecycle?: (task: Record<string, unknown>, next: () => Promise<unknown>) => Promise<unknown>;
  /** The launch-test function's clients and settings (by default on the emulator, in its launch-test network). */
  launchTest?: Partial<LocalLaunchTestOptions>;
  /** Wraps the launch-test function, as a test of a fault in one of its steps needs. */
  aroundLaunchTest?: (task: Record<string, unknown>, next: () => Promise<unknown>) => Promise<unknown>;
  executionTimeoutSeconds?: number;
  /** Executions wait the definition's retry intervals (by default: none), divided by `timeScale`. */
  realRetryIntervals?: boolean;
  timeScale?: number;
  /** Wraps the resume function (the waits), as a test of what the workflow gives it needs. */
  aroundResume?: (task: Record<string, unknown>, next: () => Promise<unknown>) => Promise<unknown>;
  /** The resume function's clients and settings (its wait limit: `waitLimitSeconds`, before `timeScale`). */
  resume?: Partial<Omit<LocalResumeOptions, 'table' | 'callbacks'>>;
  /**
   * False: EC2's AMI events never reach the resume function (all lost), so waits end only by
   * their looks: a test that fakes what DescribeImages answers (a fault proxy) decides them.
   */
  amiEvents?: boolean;
  /** Regions whose AMI events are forwarded to the pipeline's (its copies' Regions, as ADR 0013 deploys them). */
  copyRegions?: readonly string[];
}

export async function createPipeline(options: PipelineOptions = {}): Promise<Pipeline> {
  const suffix = `${Date.now()}-${Math.floor(Math.random() * 1e6)}`;
  const dynamo = new DynamoDBClient({});
  const sns = new SNSClient({});
  const sqs = new SQSClient({});
  const table = `snap2ami-records-${suffix}`;
  // The table as it deploys (the packaged template's RecordsTable), under a name of its own.
  await createTable(dynamo, await recordsTableProperties(), table);
  const admissionTable = await createTable(
    dynamo,
    await tableProperties('AdmissionTable'),
    `snap2ami-admission-${suffix}`,
  );
  const topic = await sns.send(new CreateTopicCommand({ Name: `snap2ami-notifications-${suffix}` }));
  const queue = await sqs.send(new CreateQueueCommand({ QueueName: `snap2ami-notifications-${suffix}` }));
  // The notifications are read from the emulator itself (its queue URL's host), not through
  // a counting proxy that AWS_ENDPOINT_URL may name: reading them is not the pipeline's work.
  const reader = new SQSClient({ endpoint: new URL(queue.QueueUrl as string).origin });
  const queueArn = (
    await reader.send(
      new GetQueueAttributesCommand({ QueueUrl: queue.QueueUrl, AttributeNames: ['QueueArn'] }),
    )
  ).Attributes?.QueueArn;
  await sns.send(new SubscribeCommand({ TopicArn: topic.TopicArn, Protocol: 'sqs', Endpoint: queueArn }));
  // The workflow's events go to a bus of this pipeline's own; a rule sends snap2ami's to a queue.
  const eventBridge = new EventBridgeClient({});
  const eventBusName = `snap2ami-events-${suffix}`;
  await eventBridge.send(new CreateEventBusCommand({ Name: eventBusName }));
  const eventsQueue = await sqs.send(new CreateQueueCommand({ QueueName: `snap2ami-events-${suffix}` }));
  const eventsQueueArn = (
    await reader.send(
      new GetQueueAttributesCommand({ QueueUrl: eventsQueue.QueueUrl, AttributeNames: ['QueueArn'] }),
    )
  ).Attributes?.QueueArn;
  await eventBridge.send(
    new PutRuleCommand({
      Name: `snap2ami-events-${suffix}`,
      EventBusName: eventBusName,
      EventPattern: JSON.stringify({ source: ['snap2ami'] }),
    }),
  );
  await eventBridge.send(
    new PutTargetsCommand({
      Rule: `snap2ami-events-${suffix}`,
      EventBusName: eventBusName,
      Targets: [{ Id: 'queue', Arn: eventsQueueArn }],
    }),
  );
  const image = localImageFunction({
    ...(options.ec2 && { ec2: options.ec2 }),
    settings: {
      ...(options.image?.account && { account: options.image.account }),
      ...(options.image?.allowedSourceAccounts && {
        allowedSourceAccounts: options.image.allowedSourceAccounts,
      }),
    },
    ...(options.uefiData && { uefiData: options.uefiData }),
    copies: { organizationId: options.image?.organizationId, copyKmsKeyId: options.image?.copyKmsKeyId },
  });
  const around = options.aroundImage;
  const lifecycle = localLifecycleFunction({
    table,
    prefix: SETTINGS.prefix,
    parameterPath: '/',
    ...options.lifecycle,
    ...(options.aroundLifecycle && { around: options.aroundLifecycle }),
  });
  const launchTest = localLaunchTestFunction({ prefix: SETTINGS.prefix, ...options.launchTest });
  const aroundLaunchTest = options.aroundLaunchTest;
  // EC2's AMI events, as the stack routes them: the default bus's rule, then the resume function.
  const amiEvents = await amiEventQueue({
    name: `snap2ami-ami-events-${suffix}`,
    region: options.lifecycle?.region ?? EMULATOR_REGION,
    forwardFrom: options.copyRegions ?? [],
    endpoint: new URL(queue.QueueUrl as string).origin,
  });
  const timeScale = options.timeScale ?? 1;
  const home = options.lifecycle?.region ?? EMULATOR_REGION;
  const copiesIn =
    options.lifecycle?.ec2In ?? perRegion((region) => new EC2Client({ region, maxAttempts: 1 }));
  const aroundResume = options.aroundResume;
  const resume = localResumeFunction({
    table,
    callbacks: () => workflow.callbacks,
    ...options.resume,
    // The image function's EC2 (a fault proxy, say) in the pipeline's Region; the lifecycle's elsewhere.
    ...(!options.resume?.ec2In && {
      ec2In: (region: string) => (region === home && options.ec2) || copiesIn(region),
    }),
    region: home,
    waitLimitSeconds: (options.resume?.waitLimitSeconds ?? DEFAULT_IMAGE_WAIT_LIMIT_HOURS * 3600) / timeScale,
  });
  const workflow: LocalWorkflow = new LocalWorkflow({
    refs: { RecordsTable: table, NotificationsTopic: topic.TopicArn as string },
    params: { eventBusName },
    functions: {
      image: around ? (task) => around(task, () => image(task)) : image,
      lifecycle,
      launchTest: aroundLaunchTest ? (task) => aroundLaunchTest(task, () => launchTest(task)) : launchTest,
      resume: aroundResume ? (task) => aroundResume(task, () => resume(task)) : resume,
    },
    whileWaiting: () =>
      options.amiEvents === false
        ? new Promise((resolve) => setTimeout(resolve, 100))
        : amiEvents.poll(resume),
    clients: {
      ...(options.dynamodb && { dynamodb: options.dynamodb }),
      ...(options.sns && { sns: options.sns }),
    },
    ...(options.executionTimeoutSeconds !== undefined && {
      executionTimeoutSeconds: options.executionTimeoutSeconds,
    }),
    ...(options.realRetryIntervals !== undefined && { realRetryIntervals: options.realRetryIntervals }),
    ...(options.timeScale !== undefined && { timeScale: options.timeScale }),
  });
  return {
    table,
    admissionTable,
    topicArn: topic.TopicArn as string,
    notificationsQueueUrl: queue.QueueUrl as string,
    eventBusName,
    workflow,
    async record(key) {
      const item = (
        await dynamo.send(
          new GetItemCommand({ TableName: table, Key: { pk: { S: key } }, ConsistentRead: true }),
        )
      ).Item;
      if (!item) return undefined;
      return Object.fromEntries(Object.entries(item).map(([name, value]) => [name, Object.values(value)[0]]));
    },
    async notifications() {
      return (await receiveAll(reader, queue.QueueUrl as string)).map((message) => {
        const envelope = JSON.parse(message.Body ?? '{}') as {
          Message: string;
          MessageAttributes?: Record<string, { Value: string }>;
        };
        const attributes = Object.fromEntries(
          Object.entries(envelope.MessageAttributes ?? {}).map(([k, v]) => [k, v.Value]),
        );
        return { message: JSON.parse(envelope.Message) as Record<string, unknown>, attributes };
      });
    },
    async events() {
      return (await receiveAll(reader, eventsQueue.QueueUrl as string)).map(
        (message) =>
          JSON.parse(message.Body ?? '{}') as {
            source: string;
            'detail-type': string;
            detail: Record<string, unknown>;
          },
      );
    },
  };
}

/** A workflow on a local Step Functions endpoint, as a state machine named `name` of the emulator's account and Region. */
export function startStateMachine(name: string, workflow: LocalWorkflow): Promise<LocalStepFunctions> {
  return startLocalStepFunctions(
    `arn:aws:states:${EMULATOR_REGION}:${EMULATOR_ACCOUNT}:stateMachine:${name}`,
    workflow,
  );
}

export interface EventQueueOptions {
  /** Receives before a message goes to the dead-letter queue (as deployed: 5). */
  maxReceiveCount?: number;
  /** Seconds (default 30). */
  visibilityTimeout?: number;
  /** Both queues' largest message, in bytes (as deployed: SQS_MESSAGE_LIMIT_BYTES); SQS's default otherwise. */
  maximumMessageSize?: number;
}

/** An event queue named `name` and its dead-letter queue (`<name>-dlq`), shaped as serverless.yml deploys them. */
export async function createEventQueues(
  sqs: SQSClient,
  name: string,
  options: EventQueueOptions = {},
): Promise<{ queueUrl: string; dlqUrl: string }> {
  const size = options.maximumMessageSize;
  const sized = size === undefined ? {} : { MaximumMessageSize: String(size) };
  const dlqUrl = (await sqs.send(new CreateQueueCommand({ QueueName: `${name}-dlq`, Attributes: sized })))
    .QueueUrl as string;
  const dlqArn = (
    await sqs.send(new GetQueueAttributesCommand({ QueueUrl: dlqUrl, AttributeNames: ['QueueArn'] }))
  ).Attributes?.QueueArn;
  const queueUrl = (
    await sqs.send(
      new CreateQueueCommand({
        QueueName: name,
        Attributes: {
          RedrivePolicy: JSON.stringify({
            deadLetterTargetArn: dlqArn,
            maxReceiveCount: options.maxReceiveCount ?? 5,
          }),
          VisibilityTimeout: String(options.visibilityTimeout ?? 30),
          ...sized,
        },
      }),
    )
  ).QueueUrl as string;
  return { queueUrl, dlqUrl };
}

/** The planner's settings on the emulator: its account and Region, the default prefix, no other accounts. */
export const SETTINGS = {
  account: EMULATOR_ACCOUNT,
  region: EMULATOR_REGION,
  prefix: DEFAULT_PREFIX,
  allowedSourceAccounts: [] as string[],
};

/** A real opted-in snapshot on the emulator with the given tags, planned as ingest plans it. */
export async function planFor(ec2: EC2Client, tags: Record<string, string>): Promise<Plan> {
  const root = await createTaggedSnapshot(ec2, { 'snap2ami:register': 'true', ...tags });
  const plan = planGroups(
    [{ snapshotIds: [root], multiVolume: false }],
    await describeSnapshots(ec2, [root]),
    SETTINGS,
  ).plans[0];
  if (!plan) throw new Error('no plan');
  return plan;
}

export interface LocalImageOptions {
  /** EC2 (by default one attempt per call, on the emulator, as deployed). */
  ec2?: EC2Client;
  /** The deployment's settings, over the local ones (SETTINGS). */
  settings?: Partial<typeof SETTINGS>;
  uefiData?: Partial<UefiDataSettings>;
  /** CopySourceSnapshots' settings: the deployment's organization and copies' KMS key (by default none). */
  copies?: { organizationId?: string | undefined; copyKmsKeyId?: string | undefined };
}

/** The workflow's image function, in-process on the emulator, with the local settings. */
export function localImageFunction(options: LocalImageOptions = {}) {
  const ec2 = options.ec2 ?? new EC2Client({ maxAttempts: 1 });
  const uefiData = localUefiData(options.uefiData);
  const copies = once(() => ({
    region: EMULATOR_REGION,
    organizationId: options.copies?.organizationId,
    copyKmsKeyId: options.copies?.copyKmsKeyId,
    readSource: sourceReader(EMULATOR_REGION, { workflow: true }),
  }));
  return (task: Record<string, unknown>) =>
    runImageTask(task as never, { ec2, uefiData, copies, ...SETTINGS, ...options.settings });
}

/**
 * The workflow as the packaged template deploys it: its definition bound to the resources
 * made from the template (`refs`) and to its parameters, its functions in-process on the
 * emulator (`snap2ami local`, the serverless-offline test).
 */
export function templateWorkflow(
  template: Template,
  refs: Record<string, string>,
  image: LocalImageOptions = {},
): LocalWorkflow {
  const params = deploymentParams(template);
  const table = refs.RecordsTable as string;
  const environment = template.Resources.ResumeLambdaFunction?.Properties.Environment as
    | { Variables?: Record<string, string> }
    | undefined;
  const resume = localResumeFunction({
    table,
    callbacks: () => workflow.callbacks,
    waitLimitSeconds: imageWaitLimitSeconds(
      environment?.Variables?.[DEPLOYMENT_PARAMETERS.imageWaitLimitHours.variable],
    ),
  });
  // The rule and its queue, made at once: an event is lost only until they exist.
  const amiEvents = amiEventQueue({ name: `${table}-ami-events` });
  amiEvents.catch(() => {});
  const workflow: LocalWorkflow = new LocalWorkflow({
    refs,
    params,
    whileWaiting: async () => (await amiEvents).poll(resume),
    functions: {
      resume,
      image: localImageFunction(image),
      lifecycle: localLifecycleFunction({
        table: refs.RecordsTable as string,
        prefix: SETTINGS.prefix,
        parameterPath: params.ssmParameterPath,
      }),
      launchTest: localLaunchTestFunction({ prefix: SETTINGS.prefix }),
    },
  });
  return workflow;
}

/** The S3 bucket the local pipeline reads UefiData from (the deployed default names none; tests create it). */
export const LOCAL_UEFI_DATA_BUCKET = 'snap2ami-uefi-data';

/** ReadUefiData's clients on the emulator (one attempt per call, as deployed) and where it may read. */
export function localUefiData(settings: Partial<UefiDataSettings> = {}): UefiDataDeps {
  return {
    s3: new S3Client({ maxAttempts: 1 }),
    ssm: new SSMClient({ maxAttempts: 1 }),
    settings: {
      bucket: LOCAL_UEFI_DATA_BUCKET,
      parameterPath: DEFAULT_UEFI_DATA_PARAMETER_PATH,
      ...settings,
    },
  };
}

/** Ingest's dependencies on the emulator, with quiet logs and counted metrics. */
export function ingestDeps(
  clients: { ec2: EC2Client; sfn: SFNClient; sqs: SQSClient },
  stateMachineArn: string,
  deadLetterQueueUrl: string,
  counts: Record<string, number> = {},
  admission: Admission = ADMIT_ALL,
): IngestDeps {
  return {
    ...clients,
    stateMachineArn,
    deadLetterQueueUrl: async () => deadLetterQueueUrl,
    queueUrl: queueUrlOfArn,
    admission,
    settings: SETTINGS,
    log: { info: () => {}, warn: () => {}, error: () => {} },
    count: (metric, n = 1) => {
      counts[metric] = (counts[metric] ?? 0) + n;
    },
  };
}
