/**
 * A message that ingest hands back for a transient reason (here: StartExecution cannot reach
 * Step Functions) comes back within seconds, by ChangeMessageVisibility with a jittered backoff,
 * not after the queue's visibility timeout: a passing fault must not add minutes to a burst.
 */
import { EC2Client } from '@aws-sdk/client-ec2';
import { SFNClient } from '@aws-sdk/client-sfn';
import { ReceiveMessageCommand, SendMessageCommand, SQSClient } from '@aws-sdk/client-sqs';
import { describe, expect, it } from 'vitest';
import { returnDelaySeconds } from '../../functions/ingest/ingest.ts';
import {
  createEventQueues,
  createSnapshotEvent,
  createTaggedSnapshot,
  EMULATOR_ACCOUNT,
  EMULATOR_REGION,
  ingestDeps,
  pollOnce,
} from '../../local/index.ts';

const sqs = new SQSClient({});

describe('a message handed back for a transient reason', () => {
  it('is back within seconds, not after the queue’s visibility timeout, and is counted', async () => {
    const suffix = `${Date.now()}-${Math.floor(Math.random() * 1e6)}`;
    // The queue's visibility timeout: 30 s, as the local pipeline's queue.
    const { queueUrl, dlqUrl } = await createEventQueues(sqs, `snap2ami-returns-${suffix}`, {});
    const counts: Record<string, number> = {};
    // Step Functions that nobody answers at: every StartExecution fails as a network error.
    const unreachable = new SFNClient({ endpoint: 'http://127.0.0.1:9', maxAttempts: 1 });
    const deps = ingestDeps(
      { ec2: new EC2Client({}), sfn: unreachable, sqs },
      `arn:aws:states:${EMULATOR_REGION}:${EMULATOR_ACCOUNT}:stateMachine:nowhere`,
      dlqUrl,
      counts,
    );
    const id = await createTaggedSnapshot(new EC2Client({}), {
      'snap2ami:register': 'true',
      'snap2ami:name': `returns-${suffix}`,
    });
    await sqs.send(
      new SendMessageCommand({ QueueUrl: queueUrl, MessageBody: JSON.stringify(createSnapshotEvent(id)) }),
    );
    const polled = await pollOnce(sqs, queueUrl, deps);
    expect(polled.failed).toHaveLength(1);
    expect(counts.ReturnedEarly).toBe(1);

    // Back well before the queue's 30 s: the first return waits at most 5 s.
    const deadline = Date.now() + 15_000;
    let back: string | undefined;
    while (back === undefined && Date.now() < deadline) {
      const { Messages = [] } = await sqs.send(
        new ReceiveMessageCommand({
          QueueUrl: queueUrl,
          WaitTimeSeconds: 1,
          MessageSystemAttributeNames: ['All'],
        }),
      );
      back = Messages[0]?.Attributes?.ApproximateReceiveCount;
    }
    expect(back, 'the message was not back within 15 s').toBe('2');
  });

  it('waits longer each time it comes back, never longer than the queue’s own timeout', () => {
    const longest = (receives: number) => returnDelaySeconds(receives, () => 1);
    expect([1, 2, 3, 4, 5, 9].map(longest)).toEqual([5, 20, 80, 320, 360, 360]);
    expect(returnDelaySeconds(1, () => 0)).toBe(1);
  });
});
