/**
 * Which account and Region a queue belongs to, from its ARN. `snap2ami register` and
 * `snap2ami reconcile` put the pipeline's account and Region in the Register Snapshots
 * requests they send: taking them from the queue itself (GetQueueAttributes QueueArn) makes
 * the request one that the pipeline's ingest trusts, whatever profile or Region the operator's
 * shell has.
 */

import { GetQueueAttributesCommand, type SQSClient } from '@aws-sdk/client-sqs';
import { partition } from '@aws-sdk/core/client';

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

/**
 * An SQS endpoint's queue URL: `https://sqs.<region>.amazonaws.com/<account>/<name>` (and
 * `.amazonaws.com.cn`, the dual-stack `sqs.<region>.api.aws`, the legacy
 * `<region>.queue.amazonaws.com` and `queue.amazonaws.com`, us-east-1).
 */
const QUEUE_URL =
  /^https:\/\/(?:sqs\.([a-z0-9-]+)\.(?:amazonaws\.com(?:\.cn)?|api\.aws)|(?:([a-z0-9-]+)\.)?queue\.amazonaws\.com(?:\.cn)?)\/(\d{12})\/([\w-]{1,80}(?:\.fifo)?)\/?$/;

/**
 * The queue's identity read from its URL alone, when the URL is an SQS endpoint's (which names
 * the Region and the account); undefined for any other form (an emulator's
 * `http://127.0.0.1:<port>/<account>/<name>` does not name its Region): ask SQS then.
 */
export function parseQueueUrl(url: string): QueueIdentity | undefined {
  const match = QUEUE_URL.exec(url);
  if (!match) return undefined;
  const [, sqsRegion, legacyRegion, account = '', name = ''] = match;
  const region = sqsRegion ?? legacyRegion ?? 'us-east-1';
  const partitionName = partition(region).name;
  return {
    arn: `arn:${partitionName}:sqs:${region}:${account}:${name}`,
    partition: partitionName,
    region,
    account,
    name,
  };
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
