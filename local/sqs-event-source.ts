/**
 * What Lambda's SQS event source mapping does, for the local run, tests and the bench: one
 * poll of the queue, the batch handed to ingest as Lambda hands it (message attributes, the
 * queue's ARN), and every message that is not reported as a batch item failure deleted
 * (partial batch responses); and a poller that keeps doing so, with a few batches at once
 * (the mapping's maximum concurrency), until the queue and the workflow are idle, or, as a
 * deployed mapping does, until it is stopped.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import {
  DeleteMessageBatchCommand,
  GetQueueAttributesCommand,
  type Message,
  ReceiveMessageCommand,
  type SQSClient,
} from '@aws-sdk/client-sqs';
import type { SQSMessageAttributes, SQSRecord } from 'aws-lambda';
import { type IngestDeps, ingest } from '../functions/ingest/ingest.ts';

const arns = new Map<string, Promise<string>>();

/** The queue's ARN (a record's eventSourceARN), asked once per queue. */
function queueArn(sqs: SQSClient, queueUrl: string): Promise<string> {
  let arn = arns.get(queueUrl);
  if (!arn) {
    arn = sqs
      .send(new GetQueueAttributesCommand({ QueueUrl: queueUrl, AttributeNames: ['QueueArn'] }))
      .then(({ Attributes }) => Attributes?.QueueArn ?? '');
    arn.catch(() => arns.delete(queueUrl));
    arns.set(queueUrl, arn);
  }
  return arn;
}

/** A received message as Lambda's SQS event gives it. */
function lambdaRecord(message: Message, eventSourceARN: string): SQSRecord {
  const messageAttributes: SQSMessageAttributes = {};
  for (const [name, value] of Object.entries(message.MessageAttributes ?? {})) {
    messageAttributes[name] = {
      dataType: value.DataType ?? 'String',
      stringListValues: [],
      binaryListValues: [],
      ...(value.StringValue !== undefined && { stringValue: value.StringValue }),
      ...(value.BinaryValue !== undefined && {
        binaryValue: Buffer.from(value.BinaryValue).toString('base64'),
      }),
    };
  }
  return {
    messageId: message.MessageId,
    receiptHandle: message.ReceiptHandle,
    body: message.Body,
    messageAttributes,
    eventSourceARN,
    eventSource: 'aws:sqs',
    // As Lambda gives them: ingest backs off by the receive count.
    attributes: {
      ApproximateReceiveCount: message.Attributes?.ApproximateReceiveCount ?? '1',
      SentTimestamp: message.Attributes?.SentTimestamp ?? '',
    },
  } as SQSRecord;
}

export async function pollOnce(
  sqs: SQSClient,
  queueUrl: string,
  deps: IngestDeps,
  options: { waitSeconds?: number } = {},
): Promise<{ received: number; failed: string[] }> {
  const messages =
    (
      await sqs.send(
        new ReceiveMessageCommand({
          QueueUrl: queueUrl,
          MaxNumberOfMessages: 10,
          WaitTimeSeconds: options.waitSeconds ?? 0,
          MessageAttributeNames: ['All'],
          MessageSystemAttributeNames: ['ApproximateReceiveCount', 'SentTimestamp'],
        }),
      )
    ).Messages ?? [];
  if (messages.length === 0) return { received: 0, failed: [] };
  const eventSourceARN = await queueArn(sqs, queueUrl);
  const records = messages.map((m) => lambdaRecord(m, eventSourceARN));
  const failed = new Set((await ingest(records, deps)).batchItemFailures.map((f) => f.itemIdentifier));
  const done = messages.filter((m) => !failed.has(m.MessageId as string));
  if (done.length > 0)
    await sqs.send(
      new DeleteMessageBatchCommand({
        QueueUrl: queueUrl,
        Entries: done.map((m, index) => ({ Id: String(index), ReceiptHandle: m.ReceiptHandle })),
      }),
    );
  return { received: messages.length, failed: [...failed] };
}

/** Messages the queue holds: visible, in flight and delayed. */
export async function queueDepth(sqs: SQSClient, queueUrl: string): Promise<number> {
  const { Attributes = {} } = await sqs.send(
    new GetQueueAttributesCommand({
      QueueUrl: queueUrl,
      AttributeNames: [
        'ApproximateNumberOfMessages',
        'ApproximateNumberOfMessagesNotVisible',
        'ApproximateNumberOfMessagesDelayed',
      ],
    }),
  );
  return (
    Number(Attributes.ApproximateNumberOfMessages ?? 0) +
    Number(Attributes.ApproximateNumberOfMessagesNotVisible ?? 0) +
    Number(Attributes.ApproximateNumberOfMessagesDelayed ?? 0)
  );
}

/**
 * Every message the queue holds now, each received once (it stays hidden for
 * `visibilityTimeout` seconds): for reading what a run left behind, not for handling events.
 */
export async function receiveAll(
  sqs: SQSClient,
  queueUrl: string,
  options: { visibilityTimeout?: number; attributes?: boolean } = {},
): Promise<Message[]> {
  const all: Message[] = [];
  for (;;) {
    const { Messages = [] } = await sqs.send(
      new ReceiveMessageCommand({
        QueueUrl: queueUrl,
        MaxNumberOfMessages: 10,
        WaitTimeSeconds: 0,
        ...(options.visibilityTimeout !== undefined && { VisibilityTimeout: options.visibilityTimeout }),
        ...(options.attributes && { MessageAttributeNames: ['All'] }),
      }),
    );
    if (Messages.length === 0) return all;
    all.push(...Messages);
  }
}

export interface PollerOptions {
  /** Batches handled at once (the mapping's maximum concurrency; serverless.yml sets 5). */
  concurrency?: number;
  /** Whether everything else is done too (no execution running, say): the poller then stops once the queue is empty. */
  idle?: () => boolean;
  /** Called after each batch. */
  onBatch?: (received: number) => void;
  /** Stop polling at this time (ms since the epoch) even if the queue is not empty. */
  deadline?: number;
}

/**
 * Polls as the event source mapping does (long polls of a second, `concurrency` batches at once)
 * until the queue holds nothing, delayed or in flight, and `idle()` says the rest is done.
 */
export async function pollUntilIdle(
  sqs: SQSClient,
  queueUrl: string,
  deps: IngestDeps,
  options: PollerOptions = {},
): Promise<{ batches: number; received: number }> {
  let batches = 0;
  let received = 0;
  const worker = async () => {
    for (;;) {
      if (options.deadline !== undefined && Date.now() > options.deadline) return;
      const polled = await pollOnce(sqs, queueUrl, deps, { waitSeconds: 1 });
      if (polled.received > 0) {
        batches += 1;
        received += polled.received;
        options.onBatch?.(polled.received);
        continue;
      }
      if ((options.idle?.() ?? true) && (await queueDepth(sqs, queueUrl)) === 0) return;
    }
  };
  await Promise.all(Array.from({ length: options.concurrency ?? 5 }, worker));
  return { batches, received };
}

export interface StoppablePollerOptions {
  /** Stops the poller: each batch in hand is finished, and no new poll starts. */
  signal: AbortSignal;
  /** Batches handled at once (the mapping's maximum concurrency; serverless.yml sets 5). */
  concurrency?: number;
  /** Called after each batch, with the IDs of the messages that went back to the queue. */
  onBatch?: (received: number, failed: string[]) => void;
  /** Called when a poll fails (the emulator not answering, say); polling goes on after a pause. */
  onError?: (error: unknown) => void;
  /** The pause after a failed poll, in ms. */
  retryDelayMs?: number;
}

/**
 * Polls as a deployed event source mapping does, for as long as it runs: whatever reaches the
 * queue later (`snap2ami register`, `replay`, the reconciler, a message sent by hand) is handled
 * too. Resolves once `signal` aborts and the batches in hand are done (within a long poll of a
 * second). A failed poll does not stop it.
 */
export async function pollUntilStopped(
  sqs: SQSClient,
  queueUrl: string,
  deps: IngestDeps,
  options: StoppablePollerOptions,
): Promise<{ batches: number; received: number }> {
  const { signal } = options;
  let batches = 0;
  let received = 0;
  const worker = async () => {
    while (!signal.aborted) {
      try {
        const polled = await pollOnce(sqs, queueUrl, deps, { waitSeconds: 1 });
        if (polled.received === 0) continue;
        batches += 1;
        received += polled.received;
        options.onBatch?.(polled.received, polled.failed);
      } catch (error) {
        if (signal.aborted) return;
        options.onError?.(error);
        await sleep(options.retryDelayMs ?? 1_000, undefined, { signal }).catch(() => {});
      }
    }
  };
  await Promise.all(Array.from({ length: options.concurrency ?? 5 }, worker));
  return { batches, received };
}
