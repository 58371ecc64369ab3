/**
 * The emulator applies SQS's message rules as SQS does (local/emulator_ext/sqs_rules.py): the size in
 * UTF-8 bytes of the body and every attribute against the queue's MaximumMessageSize, and
 * the characters SQS allows. The dead-letter path depends on both.
 */
import { CreateQueueCommand, SendMessageCommand, SQSClient } from '@aws-sdk/client-sqs';
import { beforeAll, describe, expect, it } from 'vitest';

const sqs = new SQSClient({});
let QueueUrl: string;

beforeAll(async () => {
  QueueUrl = (
    await sqs.send(
      new CreateQueueCommand({
        QueueName: `snap2ami-sqs-rules-${Date.now()}`,
        Attributes: { MaximumMessageSize: '1024' },
      }),
    )
  ).QueueUrl as string;
});

const attribute = (StringValue: string) => ({ DataType: 'String', StringValue });

describe('the emulator keeps SQS message rules', () => {
  it('counts the body in UTF-8 bytes: 300 emoji (600 UTF-16 units, 1,200 bytes) exceed 1,024', async () => {
    await expect(
      sqs.send(new SendMessageCommand({ QueueUrl, MessageBody: '😀'.repeat(300) })),
    ).rejects.toThrow(/shorter than 1024 bytes/);
  });

  it('counts every attribute name, type and value toward the size', async () => {
    const MessageBody = 'b'.repeat(900);
    await sqs.send(new SendMessageCommand({ QueueUrl, MessageBody }));
    await expect(
      sqs.send(
        new SendMessageCommand({
          QueueUrl,
          MessageBody,
          MessageAttributes: { reason: attribute('r'.repeat(120)) },
        }),
      ),
    ).rejects.toThrow(/shorter than 1024 bytes/);
  });

  it('refuses a lone surrogate or a control character, in the body or an attribute', async () => {
    const refused = { name: 'InvalidMessageContents' };
    await expect(
      sqs.send(new SendMessageCommand({ QueueUrl, MessageBody: 'a\uD83D' })),
    ).rejects.toMatchObject(refused);
    await expect(
      sqs.send(
        new SendMessageCommand({
          QueueUrl,
          MessageBody: 'ok',
          MessageAttributes: { reason: attribute('\u0001') },
        }),
      ),
    ).rejects.toMatchObject(refused);
    await sqs.send(new SendMessageCommand({ QueueUrl, MessageBody: 'tab\tand 😀 are fine' }));
  });
});
