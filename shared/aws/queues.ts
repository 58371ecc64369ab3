/**
 * Which account and Region a queue belongs to, from its ARN. `snap2ami register` and
 * `snap2ami reconcile` put the pipeline's account and Region in the Register Snapshots
 * requests they send: taking them from the queue itself (GetQueueAttributes QueueArn) makes
 * the request one that the pipeline's ingest trusts, whatever profile or Region the operator's
 * shell has.
 */
import { GetQueueAttributesCommand, type SQSClient } from '@aws-sdk/client-sqs';

export interface QueueIdentity {
  arn: string;
  partition: string;
  region: string;
  account: string;
  name: string;
}

const QUEUE_ARN = /^arn:(aws[a-z-]*):sqs:([a-z0-9-]+):(\d{12}):([\w-]+(?:\.fifo)?)$/;

/** The parts of an SQS queue ARN; undefined when `arn` is not one. */
export function parseQueueArn(arn: string): QueueIdentity | undefined {
  const match = QUEUE_ARN.exec(arn);
  if (!match) return undefined;
  const [, partition = '', region = '', account = '', name = ''] = match;
  return { arn, partition, region, account, name };
}

/** The queue's account and Region, from its ARN. */
export async function describeQueue(sqs: SQSClient, queueUrl: string): Promise<QueueIdentity> {
  const { Attributes } = await sqs.send(
    new GetQueueAttributesCommand({ QueueUrl: queueUrl, AttributeNames: ['QueueArn'] }),
  );
  const arn = Attributes?.QueueArn ?? '';
  const identity = parseQueueArn(arn);
  if (!identity) throw new Error(`${queueUrl}: GetQueueAttributes gave no queue ARN ("${arn}")`);
  return identity;
}
