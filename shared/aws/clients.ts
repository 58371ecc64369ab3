/**
 * The AWS adapter: one client per service per container, created on first use, configured
 * only through the SDK's standard settings (AWS_REGION, AWS_ENDPOINT_URL,
 * AWS_ENDPOINT_URL_<SERVICE>, AWS_MAX_ATTEMPTS, AWS_RETRY_MODE), with timeouts of our own: a
 * connection that does not open, or a call that hangs, fails as a TimeoutError (retried as
 * transient) instead of holding the function until Lambda's timeout. The only place in
 * shared/ that creates SDK clients (with workflow-clients.ts, which uses its timeouts and
 * tracing); both handlers and the CLI's ingest path use it. In Lambda, each client is traced
 * (X-Ray subsegments per call, tracer.ts); elsewhere it is left as made.
 */
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { EC2Client } from '@aws-sdk/client-ec2';
import { SFNClient } from '@aws-sdk/client-sfn';
import { SNSClient } from '@aws-sdk/client-sns';
import { GetQueueUrlCommand, SQSClient } from '@aws-sdk/client-sqs';
import { SSMClient } from '@aws-sdk/client-ssm';
import { parseQueueArn } from './queues.ts';
import { traced } from './tracer.ts';

/**
 * Milliseconds. EC2's slowest call here (RegisterImage) answers in seconds; 10 s without an
 * answer is a hung call, and the image function (30 s) can still retry within its budget.
 * `throwOnRequestTimeout`: without it, @smithy/node-http-handler 4 only logs a warning when
 * `requestTimeout` passes and goes on waiting, so a hung call would hold the function until
 * Lambda's own timeout (and ingest's whole batch would come back).
 */
export const HTTP_TIMEOUTS = {
  connectionTimeout: 3_000,
  requestTimeout: 10_000,
  throwOnRequestTimeout: true,
} as const;

/** One value per container, made on first use. */
export function once<T>(make: () => T): () => T {
  let value: T | undefined;
  return () => {
    value ??= make();
    return value;
  };
}

/**
 * Memoizes an async lookup for the container's life, but never a failure: a rejected lookup
 * is forgotten, so the next call looks again (a cached rejection would fail every later call).
 */
export function onceSucceeded<T>(lookup: () => Promise<T>): () => Promise<T> {
  let cached: Promise<T> | undefined;
  return () => {
    cached ??= lookup().catch((error: unknown) => {
      cached = undefined;
      throw error;
    });
    return cached;
  };
}

/**
 * One client per Region, created on first use: the lifecycle steps copy, share, protect and
 * retain in other Regions (tag contract v2). Without a Region, the container's own
 * (AWS_REGION). Same settings as the client of the container's Region.
 */
export function perRegion<T>(make: (region: string | undefined) => T): (region?: string) => T {
  const clients = new Map<string, T>();
  return (region) => {
    const name = region ?? '';
    let client = clients.get(name);
    if (client === undefined) {
      client = make(region);
      clients.set(name, client);
    }
    return client;
  };
}

/** The workflow's EC2 client in a Region: one attempt per call, as workflowEc2Client. */
export const workflowEc2ClientIn = perRegion((region) =>
  traced(
    new EC2Client({ requestHandler: HTTP_TIMEOUTS, maxAttempts: 1, ...(region !== undefined && { region }) }),
  ),
);
/** SSM in a Region, for the lifecycle's parameters: one attempt per call, the workflow retries. */
export const workflowSsmClientIn = perRegion((region) =>
  traced(
    new SSMClient({ requestHandler: HTTP_TIMEOUTS, maxAttempts: 1, ...(region !== undefined && { region }) }),
  ),
);
/** EC2 and SSM in a Region with the SDK's own retries: the reconciler's retention pass, which no workflow retries. */
export const ec2ClientIn = perRegion((region) =>
  traced(new EC2Client({ requestHandler: HTTP_TIMEOUTS, ...(region !== undefined && { region }) })),
);
export const ssmClientIn = perRegion((region) =>
  traced(new SSMClient({ requestHandler: HTTP_TIMEOUTS, ...(region !== undefined && { region }) })),
);
/** EC2 in the container's own Region, with the SDK's retries. */
export const ec2Client = () => ec2ClientIn();
/** The workflow's EC2 client: one attempt per call; Step Functions owns the retries, so each shows in the history. */
export const workflowEc2Client = () => workflowEc2ClientIn();
export const sfnClient = once(() => traced(new SFNClient({ requestHandler: HTTP_TIMEOUTS })));
export const sqsClient = once(() => traced(new SQSClient({ requestHandler: HTTP_TIMEOUTS })));
export const dynamoDbClient = once(() => traced(new DynamoDBClient({ requestHandler: HTTP_TIMEOUTS })));
export const snsClient = once(() => traced(new SNSClient({ requestHandler: HTTP_TIMEOUTS })));

/** A queue's URL by name (and owner, when another account's), looked up once it succeeds (GetQueueUrl). */
export function queueUrlOf(name: string, owner?: string): () => Promise<string> {
  return onceSucceeded(async () => {
    const { QueueUrl } = await sqsClient().send(
      new GetQueueUrlCommand({ QueueName: name, ...(owner && { QueueOwnerAWSAccountId: owner }) }),
    );
    if (!QueueUrl) throw new Error(`GetQueueUrl returned no URL for ${name}`);
    return QueueUrl;
  });
}

const byArn = new Map<string, () => Promise<string>>();

/** A queue's URL from its ARN (an SQS record's eventSourceARN), looked up once it succeeds. */
export function queueUrlOfArn(arn: string): Promise<string> {
  let lookup = byArn.get(arn);
  if (!lookup) {
    const queue = parseQueueArn(arn);
    if (!queue) return Promise.reject(new Error(`${arn} is not an SQS queue ARN`));
    lookup = queueUrlOf(queue.name, queue.account);
    byArn.set(arn, lookup);
  }
  return lookup();
}
