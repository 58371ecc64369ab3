/**
 * The pipeline's resources on the emulator, taken from the template that deploys
 * (`serverless package` output): its queues, table and topic, with their names and shapes.
 * Not a second hand-kept list: change serverless.yml, and the local run follows.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { CreateTableCommand, type CreateTableCommandInput, DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { CreateTopicCommand, SNSClient } from '@aws-sdk/client-sns';
import { CreateQueueCommand, GetQueueAttributesCommand, SQSClient } from '@aws-sdk/client-sqs';
import { PROJECT_ROOT } from './paths.ts';

interface Resource {
  Type: string;
  Properties: Record<string, unknown>;
}
export interface Template {
  Resources: Record<string, Resource>;
}

const TEMPLATE = join(PROJECT_ROOT, '.serverless', 'cloudformation-template-update-stack.json');
const SOURCES = ['serverless.yml', 'statemachine/register-image.asl.json'];

/**
 * Runs `fn` (and waits for it, when it returns a promise) while holding the packaging lock, so
 * that two processes (a test and a local run, say) never build dist/ and .serverless/ at the
 * same time.
 */
export async function withPackageLock<T>(fn: () => T | Promise<T>): Promise<T> {
  const release = await acquirePackageLock();
  try {
    return await fn();
  } finally {
    release();
  }
}

/**
 * Takes the packaging lock (a folder in the project, across processes) and returns what
 * releases it. A lock older than five minutes is taken to be left by a crash.
 */
async function acquirePackageLock(): Promise<() => void> {
  const lock = join(PROJECT_ROOT, '.serverless.lock');
  for (;;) {
    try {
      mkdirSync(lock);
      return () => rmSync(lock, { recursive: true, force: true });
    } catch {
      // The holder may release it at any moment, between two looks too: gone is not an error.
      const heldSince = statSync(lock, { throwIfNoEntry: false })?.mtimeMs;
      if (heldSince !== undefined && Date.now() - heldSince > 300_000)
        rmSync(lock, { recursive: true, force: true });
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
  }
}

/** The packaged template, packaging first when it is missing or older than its sources. */
export async function packagedTemplate(progress: (line: string) => void): Promise<Template> {
  return withPackageLock(() => {
    const stale =
      !existsSync(TEMPLATE) ||
      SOURCES.some((file) => statSync(join(PROJECT_ROOT, file)).mtimeMs > statSync(TEMPLATE).mtimeMs);
    if (stale) {
      progress('packaging the pipeline (npm run package) …');
      const result = spawnSync('npm', ['run', 'package'], {
        cwd: PROJECT_ROOT,
        encoding: 'utf8',
      });
      if (result.status !== 0) throw new Error(`npm run package failed:\n${result.stdout}${result.stderr}`);
    }
    return JSON.parse(readFileSync(TEMPLATE, 'utf8')) as Template;
  });
}

export interface LocalResources {
  /** Logical ID → physical ID (queue URL, table name, topic ARN), as `Ref` gives it. */
  refs: Record<string, string>;
  arns: Record<string, string>;
}

/** Creates the template's queues, tables and topics on the emulator, dead-letter queues first. */
export async function createResources(template: Template): Promise<LocalResources> {
  const sqs = new SQSClient({});
  const dynamo = new DynamoDBClient({});
  const sns = new SNSClient({});
  const refs: Record<string, string> = {};
  const arns: Record<string, string> = {};
  const resolve = (value: unknown): unknown => {
    if (Array.isArray(value)) return value.map(resolve);
    if (value && typeof value === 'object') {
      const node = value as Record<string, unknown>;
      const getAtt = node['Fn::GetAtt'] as string[] | undefined;
      if (getAtt) return arns[getAtt[0] as string];
      if (typeof node.Ref === 'string') return refs[node.Ref];
      return Object.fromEntries(Object.entries(node).map(([k, v]) => [k, resolve(v)]));
    }
    return value;
  };
  const entries = Object.entries(template.Resources);
  const queues = entries.filter(([, r]) => r.Type === 'AWS::SQS::Queue');
  // Queues without a redrive policy first: the others name them.
  queues.sort(
    ([, a], [, b]) =>
      Number(Boolean(a.Properties.RedrivePolicy)) - Number(Boolean(b.Properties.RedrivePolicy)),
  );
  for (const [id, resource] of queues) {
    const { QueueName, ...properties } = resolve(resource.Properties) as Record<string, unknown>;
    const Attributes: Record<string, string> = {};
    for (const name of [
      'VisibilityTimeout',
      'MessageRetentionPeriod',
      'MaximumMessageSize',
      'RedrivePolicy',
    ]) {
      const value = properties[name];
      if (value !== undefined)
        Attributes[name] = typeof value === 'object' ? JSON.stringify(value) : String(value);
    }
    const url = (await sqs.send(new CreateQueueCommand({ QueueName: String(QueueName), Attributes })))
      .QueueUrl as string;
    refs[id] = url;
    arns[id] = (
      await sqs.send(new GetQueueAttributesCommand({ QueueUrl: url, AttributeNames: ['QueueArn'] }))
    ).Attributes?.QueueArn as string;
  }
  for (const [id, resource] of entries.filter(([, r]) => r.Type === 'AWS::DynamoDB::Table')) {
    refs[id] = await createTable(dynamo, resource.Properties);
  }
  for (const [id, resource] of entries.filter(([, r]) => r.Type === 'AWS::SNS::Topic')) {
    refs[id] = (await sns.send(new CreateTopicCommand({ Name: String(resource.Properties.TopicName) })))
      .TopicArn as string;
  }
  return { refs, arns };
}

/** Creates a table as the template declares it (keys, indexes, billing), under another name if given. */
export async function createTable(
  dynamo: DynamoDBClient,
  properties: Record<string, unknown>,
  name = String(properties.TableName),
): Promise<string> {
  const { AttributeDefinitions, KeySchema, BillingMode, GlobalSecondaryIndexes } = properties as Pick<
    CreateTableCommandInput,
    'AttributeDefinitions' | 'KeySchema' | 'BillingMode' | 'GlobalSecondaryIndexes'
  >;
  await dynamo.send(
    new CreateTableCommand({
      TableName: name,
      AttributeDefinitions,
      KeySchema,
      BillingMode,
      ...(GlobalSecondaryIndexes && { GlobalSecondaryIndexes }),
    }),
  );
  return name;
}

/** The records table's declaration in the packaged template. */
export function recordsTableProperties(): Promise<Record<string, unknown>> {
  return tableProperties('RecordsTable');
}

/** A table's declaration in the packaged template, by logical ID. */
export async function tableProperties(logicalId: string): Promise<Record<string, unknown>> {
  const table = (await packagedTemplate(() => {})).Resources[logicalId];
  if (table?.Type !== 'AWS::DynamoDB::Table')
    throw new Error(`the packaged template has no table ${logicalId}`);
  return table.Properties;
}

/** The state machine's name as deployed. */
export function stateMachineName(template: Template): string {
  const machine = Object.values(template.Resources).find(
    (r) => r.Type === 'AWS::StepFunctions::StateMachine',
  );
  const name = machine?.Properties.StateMachineName;
  if (typeof name !== 'string') throw new Error('the template has no state machine with a name');
  return name;
}

/**
 * The deployment parameters the workflow's local run needs, as the packaged template resolved
 * them: the event bus the definition's putEvents names, and the SSM parameter path the
 * lifecycle function is given. Not a second list of defaults: serverless.yml's `params:`.
 */
export function deploymentParams(template: Template): { eventBusName: string; ssmParameterPath: string } {
  const machine = Object.values(template.Resources).find(
    (r) => r.Type === 'AWS::StepFunctions::StateMachine',
  );
  const definition = JSON.stringify(machine?.Properties.DefinitionString ?? '');
  const eventBusName = /EventBusName\\+"\s*:\s*\\+"([^"\\]+)\\+"/.exec(definition)?.[1];
  const environment = template.Resources.LifecycleLambdaFunction?.Properties.Environment as
    | { Variables?: Record<string, string> }
    | undefined;
  const ssmParameterPath = environment?.Variables?.SNAP2AMI_SSM_PARAMETER_PATH;
  if (eventBusName === undefined || ssmParameterPath === undefined)
    throw new Error(
      'the packaged template names no event bus or SSM parameter path (serverless.yml params:)',
    );
  return { eventBusName, ssmParameterPath };
}
