/**
 * EC2's `EC2 AMI State Change` events in the local setup (docs/adr/0013-ami-events.md): the
 * emulator sends them to the default event bus of the image's Region (local/emulator_ext/
 * ami_events.py); here, as the stack deploys it, a rule on the pipeline Region's default bus
 * (the deployed pattern) sends them to a queue, copy Regions forward theirs to that bus, and
 * the workflow's waiting tasks are resumed by the resume function, in-process, with each event
 * the queue holds (what the rule's Lambda target does on AWS).
 */
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { EC2Client } from '@aws-sdk/client-ec2';
import {
  DeleteRuleCommand,
  EventBridgeClient,
  PutRuleCommand,
  PutTargetsCommand,
  RemoveTargetsCommand,
} from '@aws-sdk/client-eventbridge';
import {
  CreateQueueCommand,
  DeleteMessageBatchCommand,
  DeleteQueueCommand,
  GetQueueAttributesCommand,
  ReceiveMessageCommand,
  SQSClient,
} from '@aws-sdk/client-sqs';
import { AMI_EVENT_PATTERN } from '#shared/ami-events.ts';
import { perRegion } from '#shared/aws/clients.ts';
import { DEFAULT_IMAGE_WAIT_LIMIT_HOURS } from '#shared/settings.ts';
import { type ResumeDeps, runResume } from '../functions/resume/resume.ts';
import { EMULATOR_ACCOUNT, EMULATOR_REGION } from './moto-emulator.ts';
import type { TaskCallbacks } from './state-machine-runner.ts';

export interface LocalResumeOptions {
  table: string;
  /** The waiting tasks' answers: the local workflow's (LocalWorkflow.callbacks), or the SDK's. */
  callbacks: () => TaskCallbacks;
  ec2In?: (region: string) => EC2Client;
  dynamo?: DynamoDBClient;
  region?: string;
  /** The wait limit (the deployment's imageWaitLimitHours), in seconds. */
  waitLimitSeconds?: number;
  now?: () => Date;
}

/** The resume function, in-process on the emulator. */
export function localResumeFunction(options: LocalResumeOptions) {
  const deps: ResumeDeps = {
    dynamo: options.dynamo ?? new DynamoDBClient({}),
    table: options.table,
    ec2In: options.ec2In ?? perRegion((region) => new EC2Client({ region, maxAttempts: 1 })),
    callbacks: {
      success: (token, output) => options.callbacks().success(token, output),
      failure: (token, error, cause) => options.callbacks().failure(token, error, cause),
    },
    region: options.region ?? EMULATOR_REGION,
    waitLimitSeconds: options.waitLimitSeconds ?? DEFAULT_IMAGE_WAIT_LIMIT_HOURS * 3600,
    now: options.now ?? (() => new Date()),
  };
  return (input: Record<string, unknown>) => runResume(input, deps);
}

/**
 * The pipeline's AMI events: a queue that the rule on the default bus of `region` fills with
 * EC2's AMI events (the deployed pattern), and in each of `forwardFrom` a rule that forwards
 * them to that bus. Returns one poll: up to ten events, each handed to `resume`, then deleted.
 * The rules and the queue stay until `closeAmiEventQueues()` (a test file's end): every rule on a
 * default bus gets every AMI event of its Region, and a queue nobody reads grows.
 */
const OPEN = new Set<() => Promise<void>>();

/** Removes every AMI-event rule and queue that amiEventQueue made in this process. */
export async function closeAmiEventQueues(): Promise<void> {
  const closing = [...OPEN];
  OPEN.clear();
  await Promise.allSettled(closing.map((close) => close()));
}

export async function amiEventQueue(options: {
  name: string;
  region?: string;
  forwardFrom?: readonly string[];
  /** The emulator's own endpoint: the events are read from it, not through a counting proxy. */
  endpoint?: string;
}): Promise<{
  queueUrl: string;
  poll(resume: (event: Record<string, unknown>) => Promise<unknown>): Promise<void>;
}> {
  const region = options.region ?? EMULATOR_REGION;
  const sqs = new SQSClient({ region, ...(options.endpoint && { endpoint: options.endpoint }) });
  const queueUrl = (await sqs.send(new CreateQueueCommand({ QueueName: options.name }))).QueueUrl as string;
  const queueArn = (
    await sqs.send(new GetQueueAttributesCommand({ QueueUrl: queueUrl, AttributeNames: ['QueueArn'] }))
  ).Attributes?.QueueArn;
  const rules: (() => Promise<unknown>)[] = [];
  const rule = async (inRegion: string, target: { Id: string; Arn: string | undefined }) => {
    const events = new EventBridgeClient({ region: inRegion });
    await events.send(
      new PutRuleCommand({ Name: options.name, EventPattern: JSON.stringify(AMI_EVENT_PATTERN) }),
    );
    await events.send(new PutTargetsCommand({ Rule: options.name, Targets: [target] }));
    rules.push(async () => {
      await events.send(new RemoveTargetsCommand({ Rule: options.name, Ids: [target.Id] }));
      await events.send(new DeleteRuleCommand({ Name: options.name }));
    });
  };
  await rule(region, { Id: 'resume', Arn: queueArn });
  for (const from of options.forwardFrom ?? [])
    if (from !== region)
      await rule(from, {
        Id: 'forward',
        Arn: `arn:aws:events:${region}:${EMULATOR_ACCOUNT}:event-bus/default`,
      });
  OPEN.add(async () => {
    for (const remove of rules) await remove();
    await sqs.send(new DeleteQueueCommand({ QueueUrl: queueUrl }));
  });
  return {
    queueUrl,
    async poll(resume) {
      const { Messages = [] } = await sqs.send(
        new ReceiveMessageCommand({ QueueUrl: queueUrl, MaxNumberOfMessages: 10, WaitTimeSeconds: 1 }),
      );
      if (Messages.length === 0) return;
      for (const message of Messages) await resume(JSON.parse(message.Body ?? '{}'));
      await sqs.send(
        new DeleteMessageBatchCommand({
          QueueUrl: queueUrl,
          Entries: Messages.map((m, i) => ({ Id: String(i), ReceiptHandle: m.ReceiptHandle })),
        }),
      );
    },
  };
}
