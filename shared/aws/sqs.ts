/** The SQS client (clients.ts), and queue URLs looked up with it once per container. */
import { GetQueueUrlCommand, SQSClient } from '@aws-sdk/client-sqs';
import { clientConfig, once, onceSucceeded } from './clients.ts';
import { parseQueueArn } from './queues.ts';
import { traced } from './tracer.ts';

export const sqsClient = once(() => traced(new SQSClient(clientConfig())));

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
