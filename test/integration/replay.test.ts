/** `snap2ami replay` against the emulator's SQS, run in-process (the command a user runs, without a process of its own). */
import {
  CreateQueueCommand,
  ReceiveMessageCommand,
  SendMessageCommand,
  SQSClient,
} from '@aws-sdk/client-sqs';
import { describe, expect, inject, it } from 'vitest';
import { DLQ_ATTRIBUTES } from '#shared/dead-letter.ts';
import { startFaultProxy } from '../../local/index.ts';
import { snap2amiInProcess } from '../support/cli-in-process.ts';
import { messagesIn } from '../support/sqs.ts';

const sqs = new SQSClient({});

async function queues() {
  const suffix = `${Date.now()}-${Math.floor(Math.random() * 1e6)}`;
  const queueUrl = (await sqs.send(new CreateQueueCommand({ QueueName: `replay-src-${suffix}` })))
    .QueueUrl as string;
  const dlqUrl = (await sqs.send(new CreateQueueCommand({ QueueName: `replay-dlq-${suffix}` })))
    .QueueUrl as string;
  /** The options that name both queues, as replay takes them. */
  const urls = ['--dlq-url', dlqUrl, '--queue-url', queueUrl];
  return { queueUrl, dlqUrl, urls };
}

async function reject(dlqUrl: string, body: string, snapshotIds: string, reason: string, source?: string) {
  const s = (StringValue: string) => ({ DataType: 'String', StringValue });
  await sqs.send(
    new SendMessageCommand({
      QueueUrl: dlqUrl,
      MessageBody: body,
      MessageAttributes: {
        [DLQ_ATTRIBUTES.reason]: s(reason),
        [DLQ_ATTRIBUTES.category]: s('rejected'),
        ...(snapshotIds ? { [DLQ_ATTRIBUTES.snapshotIds]: s(snapshotIds) } : {}),
        ...(source ? { [DLQ_ATTRIBUTES.sourceMessageId]: s(source) } : {}),
      },
    }),
  );
}

const depth = (url: string) => messagesIn(sqs, url);

describe('snap2ami replay', () => {
  it('--dry-run lists each message with its reason and moves nothing', async () => {
    const { queueUrl, dlqUrl, urls } = await queues();
    await reject(
      dlqUrl,
      '{"a":1}',
      'snap-0000000000000000a',
      'snap2ami:architecture="amd64" is not accepted',
    );
    await reject(dlqUrl, '{"b":2}', 'snap-0000000000000000b', 'snapshot is owned by account 210987654321');
    const result = await snap2amiInProcess(['replay', ...urls, '--dry-run']);
    expect(result.status, result.stderr).toBe(0);
    expect(result.stdout).toContain('would move');
    expect(result.stdout).toContain('snap2ami:architecture="amd64"');
    expect(result.stdout).toContain('0 moved, 2 would move, 0 failed, 2 left in the DLQ.');
    expect(await depth(queueUrl)).toBe(0);
    // Released at once: a real run right after sees both.
    const moved = await snap2amiInProcess(['replay', '--dlq-url', dlqUrl, '--queue-url', queueUrl, '--json']);
    expect(JSON.parse(moved.stdout).moved).toBe(2);
  });

  it('moves only what the filters and --max select; the rest stays with its reason', async () => {
    const { queueUrl, dlqUrl, urls } = await queues();
    await reject(dlqUrl, '{"n":1}', 'snap-0000000000000000a', 'tag error');
    await reject(dlqUrl, '{"n":2}', 'snap-0000000000000000a', 'tag error');
    await reject(dlqUrl, '{"n":3}', 'snap-0000000000000000b', 'owner');
    await reject(dlqUrl, '{"n":4}', 'snap-0000000000000000c', 'TAG ERROR again');
    const bySnapshot = await snap2amiInProcess([
      'replay',
      ...urls,
      '--snapshot-id',
      'snap-0000000000000000a',
      '--max',
      '1',
      '--json',
    ]);
    expect(JSON.parse(bySnapshot.stdout)).toMatchObject({ moved: 1, failed: 0 });
    const byReason = await snap2amiInProcess(['replay', ...urls, '--reason', 'tag error', '--json']);
    expect(JSON.parse(byReason.stdout)).toMatchObject({ moved: 2, failed: 0, leftInDlq: 1 });
    expect(await depth(queueUrl)).toBe(3);
    const left = await sqs.send(
      new ReceiveMessageCommand({ QueueUrl: dlqUrl, MessageAttributeNames: ['All'] }),
    );
    expect(left.Messages?.map((m) => m.MessageAttributes?.[DLQ_ATTRIBUTES.reason]?.StringValue)).toEqual([
      'owner',
    ]);
    const moved = await sqs.send(
      new ReceiveMessageCommand({
        QueueUrl: queueUrl,
        MaxNumberOfMessages: 10,
        MessageAttributeNames: ['All'],
      }),
    );
    expect(
      moved.Messages?.every((m) => m.MessageAttributes?.[DLQ_ATTRIBUTES.replayCount]?.StringValue === '1'),
    ).toBe(true);
    expect(moved.Messages?.some((m) => m.MessageAttributes?.[DLQ_ATTRIBUTES.reason])).toBe(false);
  });

  describe('selects exactly what the filters name', () => {
    const A = 'snap-0000000000000000a';
    const B = 'snap-0000000000000000b';
    /** The bodies in a queue, left in it (visible again at once). */
    const bodiesIn = async (QueueUrl: string) =>
      (
        (
          await sqs.send(
            new ReceiveMessageCommand({ QueueUrl, MaxNumberOfMessages: 10, VisibilityTimeout: 0 }),
          )
        ).Messages ?? []
      )
        .map((m) => m.Body)
        .sort();
    async function dlqOfAAndB() {
      const { queueUrl, dlqUrl, urls } = await queues();
      await reject(dlqUrl, `{"about":"${A}"}`, A, 'tag error');
      await reject(dlqUrl, `{"about":"${B}"}`, B, 'tag error');
      return { queueUrl, dlqUrl, urls };
    }

    it.each([
      ['without --max', []],
      ['with --max 5', ['--max', '5']],
    ])('--snapshot-id A moves A only, %s; B stays in the DLQ', async (_, max) => {
      const { queueUrl, dlqUrl, urls } = await dlqOfAAndB();
      const result = await snap2amiInProcess(['replay', ...urls, '--snapshot-id', A, ...max, '--json']);
      expect(result.status, result.stderr).toBe(0);
      expect(JSON.parse(result.stdout)).toMatchObject({ moved: 1, failed: 0, leftInDlq: 1 });
      expect(await bodiesIn(queueUrl)).toEqual([`{"about":"${A}"}`]);
      expect(await bodiesIn(dlqUrl)).toEqual([`{"about":"${B}"}`]);
    });

    it('--dry-run --snapshot-id A lists A only and moves nothing', async () => {
      const { queueUrl, dlqUrl, urls } = await dlqOfAAndB();
      const result = await snap2amiInProcess(['replay', ...urls, '--snapshot-id', A, '--dry-run', '--json']);
      const summary = JSON.parse(result.stdout);
      expect(summary).toMatchObject({ moved: 0, wouldMove: 1, leftInDlq: 2 });
      expect(summary.messages.map((m: { snapshotIds: string }) => m.snapshotIds)).toEqual([A]);
      expect(await bodiesIn(queueUrl)).toEqual([]);
      expect(await bodiesIn(dlqUrl)).toHaveLength(2);
    });

    it('--snapshot-id matches whole IDs: a short ID is not a prefix match for a long one', async () => {
      const { queueUrl, dlqUrl } = await queues();
      await reject(dlqUrl, '{"n":1}', '', 'malformed');
      await reject(dlqUrl, '{"snapshot":"snap-0123456789abcdef0"}', '', 'no attribute: ID from the body');
      const urls = ['--dlq-url', dlqUrl, '--queue-url', queueUrl];
      const short = await snap2amiInProcess(['replay', ...urls, '--snapshot-id', 'snap-01234567', '--json']);
      expect(JSON.parse(short.stdout)).toMatchObject({ moved: 0 });
      const long = await snap2amiInProcess([
        'replay',
        ...urls,
        '--snapshot-id',
        'snap-0123456789abcdef0',
        '--json',
      ]);
      expect(JSON.parse(long.stdout)).toMatchObject({ moved: 1 });
    });

    it.each([['--snapshot-id', A], ['--reason', 'tag'], ['--max', '1'], ['--dry-run']])(
      'refuses --move-task with %s, as a usage error, before touching a queue',
      async (...filter) => {
        const result = await snap2amiInProcess([
          'replay',
          '--dlq-url',
          'http://127.0.0.1:9/123456789012/none',
          '--queue-url',
          'http://127.0.0.1:9/123456789012/none',
          '--move-task',
          ...filter,
        ]);
        expect(result.status).not.toBe(0);
        expect(result.stderr).toMatch(/option '--move-task' cannot be used with option '--/);
      },
    );
  });

  it('never drops a message: a failure between send and delete leaves a duplicate, and says so', async () => {
    const { queueUrl, dlqUrl } = await queues();
    await reject(dlqUrl, '{"crash":1}', 'snap-0000000000000000d', 'tag error');
    const moto = inject('awsEndpoint');
    const proxy = await startFaultProxy(moto);
    try {
      proxy.inject({
        action: 'SQS.DeleteMessage',
        times: 10,
        status: 500,
        body: '{"__type":"InternalError","message":"injected fault"}',
      });
      const via = (url: string) => url.replace(moto, proxy.endpoint);
      const result = await snap2amiInProcess(
        ['replay', '--dlq-url', via(dlqUrl), '--queue-url', via(queueUrl)],
        {
          AWS_ENDPOINT_URL: proxy.endpoint,
          AWS_MAX_ATTEMPTS: '1',
        },
      );
      expect(result.status, `${result.stdout}\n${result.stderr}\n${JSON.stringify([...proxy.calls])}`).toBe(
        1,
      );
      expect(result.stdout).toContain('sent to the queue but not deleted from the DLQ');
      expect(result.stdout).toContain('0 moved, 0 would move, 1 failed, 1 left in the DLQ.');
    } finally {
      await proxy.close();
    }
    expect(await depth(queueUrl)).toBe(1);
    expect(await depth(dlqUrl)).toBe(1);
  });

  describe('a dead-letter queue is at-least-once: each source message counts and moves once', () => {
    /** The bodies in the queue now (received and left in flight). */
    const bodiesIn = async (url: string) => {
      const bodies: string[] = [];
      for (;;) {
        const { Messages = [] } = await sqs.send(
          new ReceiveMessageCommand({ QueueUrl: url, MaxNumberOfMessages: 10, VisibilityTimeout: 60 }),
        );
        if (Messages.length === 0) return bodies.sort();
        bodies.push(...Messages.map((m) => m.Body ?? ''));
      }
    };

    it('a rejection sent twice (its first answer lost) is listed, moved and counted once; the copy is deleted', async () => {
      const { queueUrl, dlqUrl } = await queues();
      await reject(dlqUrl, '{"n":1}', 'snap-0000000000000000a', 'tag error', 'source-1');
      await reject(dlqUrl, '{"n":1}', 'snap-0000000000000000a', 'tag error', 'source-1');
      await reject(dlqUrl, '{"n":2}', 'snap-0000000000000000b', 'owner', 'source-2');
      // Dead-lettered by SQS itself after 5 receives: no attribute, its own ID.
      await reject(dlqUrl, '{"n":3}', '', 'x');
      const args = ['replay', '--dlq-url', dlqUrl, '--queue-url', queueUrl];
      const dry = await snap2amiInProcess([...args, '--dry-run']);
      expect(dry.status, dry.stderr).toBe(0);
      expect(dry.stdout).toContain(
        '0 moved, 3 would move, 0 failed, 4 left in the DLQ; 1 copies of a listed message not counted.',
      );
      const moved = await snap2amiInProcess([...args, '--json']);
      expect(moved.status, moved.stderr).toBe(0);
      expect(JSON.parse(moved.stdout)).toMatchObject({ moved: 3, duplicates: 1, leftInDlq: 0 });
      expect(await bodiesIn(queueUrl)).toEqual(['{"n":1}', '{"n":2}', '{"n":3}']);
      expect(await depth(dlqUrl)).toBe(0);
    });

    it('one message of two rejected snapshots: replaying it for one snapshot sends it once and deletes the other’s copy', async () => {
      const { queueUrl, dlqUrl, urls } = await queues();
      const body = '{"snapshots":["snap-0000000000000000a","snap-0000000000000000b"]}';
      await reject(dlqUrl, body, 'snap-0000000000000000b', 'tag error on b', 'source-ab');
      await reject(dlqUrl, body, 'snap-0000000000000000a', 'tag error on a', 'source-ab');
      const moved = await snap2amiInProcess([
        'replay',
        ...urls,
        '--snapshot-id',
        'snap-0000000000000000a',
        '--json',
      ]);
      expect(moved.status, moved.stderr).toBe(0);
      expect(JSON.parse(moved.stdout)).toMatchObject({ moved: 1, duplicates: 1, leftInDlq: 0 });
      expect(await bodiesIn(queueUrl)).toEqual([body]);
      expect(await depth(dlqUrl)).toBe(0);
    });
  });

  it('says clearly when a queue does not exist', async () => {
    const moto = inject('awsEndpoint');
    const result = await snap2amiInProcess([
      'replay',
      '--dlq-url',
      `${moto}/123456789012/no-such-queue`,
      '--queue-url',
      `${moto}/123456789012/nor-this`,
    ]);
    expect(result.status).toBe(1);
    expect(result.stderr).toMatch(/--dlq-url .*no such queue/);
  });
});
