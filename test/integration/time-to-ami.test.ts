/**
 * The time to AMI end to end on the emulator: an event's time rides from the queue through
 * ingest (the execution's source) and the deployed definition (WaitUntilAvailable's input) to
 * the resume function's wait, which measures from it once the image is available (the
 * measures themselves, row by row: test/unit/image/timing.test.ts).
 */
import { EC2Client } from '@aws-sdk/client-ec2';
import { SFNClient } from '@aws-sdk/client-sfn';
import { SendMessageCommand, SQSClient } from '@aws-sdk/client-sqs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { availabilityTimes } from '../../functions/image/timing.ts';
import {
  createEventQueues,
  createPipeline,
  createTaggedSnapshot,
  ingestDeps,
  type LocalStepFunctions,
  pollOnce,
  createSnapshotEvent as snapshotEvent,
  startStateMachine,
} from '../../local/index.ts';
import { executionsFor } from '../support/pipeline.ts';

const ec2 = new EC2Client({});
const sqs = new SQSClient({});
/** The waits (WaitUntilAvailable's await tasks) the workflow gave the resume function, as it gave them. */
const checks: Record<string, unknown>[] = [];
let sfn: LocalStepFunctions;
let queueUrl: string;
let dlqUrl: string;

beforeAll(async () => {
  const pipeline = await createPipeline({
    aroundResume: async (task, next) => {
      if (task.action === 'await' && task.imageId) checks.push(task);
      return next();
    },
  });
  sfn = await startStateMachine(`snap2ami-timing-${Date.now()}`, pipeline.workflow);
  ({ queueUrl, dlqUrl } = await createEventQueues(sqs, `snap2ami-timing-${Date.now()}`));
});
afterAll(() => sfn.close());

describe('time to AMI', () => {
  it("measures from the event's time, carried from the queue to the wait for the image", async () => {
    const snapshotId = await createTaggedSnapshot(ec2, {
      'snap2ami:register': 'true',
      'snap2ami:name': `timing-${Date.now()}`,
    });
    // The snapshot completed ten minutes before its event reached the queue.
    const completed = new Date(Date.now() - 600_000).toISOString();
    const event = { ...snapshotEvent(snapshotId), time: completed };
    await sqs.send(new SendMessageCommand({ QueueUrl: queueUrl, MessageBody: JSON.stringify(event) }));
    const deps = ingestDeps(
      { ec2, sfn: new SFNClient({ endpoint: sfn.endpoint, maxAttempts: 1 }), sqs },
      sfn.stateMachineArn,
      dlqUrl,
    );
    expect(await pollOnce(sqs, queueUrl, deps)).toEqual({ received: 1, failed: [] });
    await sfn.idle();
    const [execution] = executionsFor(sfn, snapshotId);
    expect(execution?.status).toBe('SUCCEEDED');

    const check = checks.find((task) => JSON.stringify(task).includes(String(execution?.name)));
    expect(check).toMatchObject({
      source: { messageId: expect.any(String), eventTime: completed },
      startedAt: expect.stringMatching(/^\d{4}-\d{2}-\d{2}T/),
    });
    const times = availabilityTimes(check as never, new Date());
    expect(times.TimeToAvailable).toBeGreaterThanOrEqual(600_000);
    expect(times.ExecutionTimeToAvailable).toBeGreaterThanOrEqual(0);
    expect(times.ExecutionTimeToAvailable).toBeLessThan(times.TimeToAvailable as number);
  });
});
