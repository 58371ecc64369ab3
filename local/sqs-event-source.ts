/**
 * What Lambda's SQS event source mapping does, for the local run, tests and the bench: one
 * poll of the queue, the batch handed to ingest, and every message that is not reported as
 * a batch item failure deleted (partial batch responses).
 */
import { DeleteMessageCommand, ReceiveMessageCommand, type SQSClient } from '@aws-sdk/client-sqs';
import type { SQSRecord } from 'aws-lambda';
import { type IngestDeps, ingest } from '../functions/ingest/ingest.ts';

export async function pollOnce(
  sqs: SQSClient,
  queueUrl: string,
  deps: IngestDeps,
): Promise<{ received: number; failed: string[] }> {
  const messages =
    (
      await sqs.send(
        new ReceiveMessageCommand({ QueueUrl: queueUrl, MaxNumberOfMessages: 10, WaitTimeSeconds: 0 }),
      )
    ).Messages ?? [];
  if (messages.length === 0) return { received: 0, failed: [] };
  const records = messages.map(
    (m) => ({ messageId: m.MessageId, receiptHandle: m.ReceiptHandle, body: m.Body }) as SQSRecord,
  );
  const failed = new Set((await ingest(records, deps)).batchItemFailures.map((f) => f.itemIdentifier));
  for (const m of messages) {
    if (!failed.has(m.MessageId as string))
      await sqs.send(new DeleteMessageCommand({ QueueUrl: queueUrl, ReceiptHandle: m.ReceiptHandle }));
  }
  return { received: messages.length, failed: [...failed] };
}
