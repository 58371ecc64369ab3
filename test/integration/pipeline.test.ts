/**
 * End to end on the emulator: events in the SQS queue → the ingest handler → Step Functions
 * (the local endpoint running the deployed definition) → one AMI, tagged, recorded, announced.
 */
import { CreateTagsCommand, DescribeImagesCommand, EC2Client } from '@aws-sdk/client-ec2';
import { SFNClient } from '@aws-sdk/client-sfn';
import {
  DeleteMessageCommand,
  ReceiveMessageCommand,
  SendMessageCommand,
  SQSClient,
} from '@aws-sdk/client-sqs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DLQ_ATTRIBUTES, SQS_MESSAGE_LIMIT_BYTES } from '#shared/dead-letter.ts';
import { replay } from '../../cli/replay.ts';
import {
  createEventQueues,
  createPipeline,
  createTaggedSnapshot,
  ingestDeps,
  type LocalStepFunctions,
  type Pipeline,
  pollOnce,
  createSnapshotEvent as snapshotEvent,
  startStateMachine,
} from '../../local/index.ts';
import { executionsFor } from '../support/pipeline.ts';
import { messagesIn } from '../support/sqs.ts';

const ec2 = new EC2Client({});
const sqs = new SQSClient({});
let pipeline: Pipeline;
let sfn: LocalStepFunctions;
let queueUrl: string;
let dlqUrl: string;
const counts: Record<string, number> = {};

beforeAll(async () => {
  pipeline = await createPipeline();
  sfn = await startStateMachine(`snap2ami-test-${Date.now()}`, pipeline.workflow);
  // Both queues accept what the deployed ones accept (serverless.yml: MaximumMessageSize).
  ({ queueUrl, dlqUrl } = await createEventQueues(sqs, `snap2ami-events-${Date.now()}`, {
    maximumMessageSize: SQS_MESSAGE_LIMIT_BYTES,
  }));
});
afterAll(() => sfn.close());

function deps(sfnEndpoint = sfn.endpoint) {
  return ingestDeps(
    { ec2, sfn: new SFNClient({ endpoint: sfnEndpoint, maxAttempts: 1 }), sqs },
    sfn.stateMachineArn,
    dlqUrl,
    counts,
  );
}

/** One poll of the queue handled as Lambda's event source mapping does: delete what did not fail. */
async function deliverBatch(sfnEndpoint?: string) {
  const result = await pollOnce(sqs, queueUrl, deps(sfnEndpoint));
  await sfn.idle();
  return result;
}

async function drainQueue(url: string) {
  const out: { body: string; attributes: Record<string, string> }[] = [];
  for (;;) {
    const batch = await sqs.send(
      new ReceiveMessageCommand({
        QueueUrl: url,
        MaxNumberOfMessages: 10,
        MessageAttributeNames: ['All'],
        WaitTimeSeconds: 0,
      }),
    );
    if (!batch.Messages?.length) return out;
    for (const m of batch.Messages) {
      out.push({
        body: m.Body ?? '',
        attributes: Object.fromEntries(
          Object.entries(m.MessageAttributes ?? {}).map(([k, v]) => [k, v.StringValue ?? '']),
        ),
      });
      await sqs.send(new DeleteMessageCommand({ QueueUrl: url, ReceiptHandle: m.ReceiptHandle }));
    }
  }
}

const send = (body: string) => sqs.send(new SendMessageCommand({ QueueUrl: queueUrl, MessageBody: body }));
const createSnapshotEvent = (snapshotId: string) => JSON.stringify(snapshotEvent(snapshotId));
const imagesNamed = async (name: string) =>
  (await ec2.send(new DescribeImagesCommand({ Filters: [{ Name: 'name', Values: [name] }] }))).Images ?? [];

describe('pipeline end to end', () => {
  it('turns a snapshot event in the queue into one AMI, tagged, recorded and announced', async () => {
    const name = `e2e-happy-${Date.now()}`;
    const snapshotId = await createTaggedSnapshot(ec2, {
      'snap2ami:register': 'true',
      'snap2ami:name': name,
    });
    await send(createSnapshotEvent(snapshotId));
    expect(await deliverBatch()).toEqual({ received: 1, failed: [] });
    const images = await imagesNamed(name);
    expect(images).toHaveLength(1);
    const [execution] = executionsFor(sfn, snapshotId);
    expect(execution?.status).toBe('SUCCEEDED');
    const key = execution?.name as string;
    expect(await pipeline.record(key)).toMatchObject({ status: 'COMPLETED', imageId: images[0]?.ImageId });
    expect((await pipeline.notifications()).filter((n) => n.message.key === key)).toHaveLength(1);
  });

  it('registers one AMI for the same event delivered three times, in one batch and the next', async () => {
    const name = `e2e-thrice-${Date.now()}`;
    const snapshotId = await createTaggedSnapshot(ec2, {
      'snap2ami:register': 'true',
      'snap2ami:name': name,
    });
    const event = createSnapshotEvent(snapshotId);
    await send(event);
    await send(event);
    await deliverBatch();
    await send(event);
    await deliverBatch();
    expect(await imagesNamed(name)).toHaveLength(1);
    expect(executionsFor(sfn, snapshotId)).toHaveLength(1);
  });

  it('handles a mixed batch: good ones start, skipped ones are acknowledged, rejected and malformed ones go to the DLQ with reasons', async () => {
    const stamp = Date.now();
    const good = await createTaggedSnapshot(ec2, {
      'snap2ami:register': 'true',
      'snap2ami:name': `e2e-mixed-${stamp}`,
    });
    const notOptedIn = await createTaggedSnapshot(ec2, { Name: 'scratch' });
    const badTags = await createTaggedSnapshot(ec2, {
      'snap2ami:register': 'true',
      'snap2ami:architecture': 'amd64',
    });
    await send(createSnapshotEvent(good));
    await send(createSnapshotEvent(notOptedIn));
    await send(createSnapshotEvent(badTags));
    await send(
      JSON.stringify({ ...JSON.parse(createSnapshotEvent(good)), 'detail-type': 'EBS Volume Notification' }),
    );
    await send('this is not JSON');
    const result = await deliverBatch();
    expect(result).toEqual({ received: 5, failed: [] });
    expect(await imagesNamed(`e2e-mixed-${stamp}`)).toHaveLength(1);
    expect(await drainQueue(queueUrl)).toEqual([]);
    const dead = await drainQueue(dlqUrl);
    const byCategory = Object.fromEntries(dead.map((m) => [m.attributes[DLQ_ATTRIBUTES.category], m]));
    expect(Object.keys(byCategory).sort()).toEqual(['malformed', 'rejected', 'unsupported']);
    expect(byCategory.rejected?.attributes[DLQ_ATTRIBUTES.snapshotIds]).toBe(badTags);
    expect(byCategory.rejected?.attributes[DLQ_ATTRIBUTES.reason]).toContain('snap2ami:architecture="amd64"');
    expect(JSON.parse(byCategory.rejected?.attributes[DLQ_ATTRIBUTES.errors] ?? '[]')[0]).toMatchObject({
      tag: 'snap2ami:architecture',
      field: 'Architecture',
    });
    expect(byCategory.malformed?.body).toBe('this is not JSON');
    expect(byCategory.unsupported?.attributes[DLQ_ATTRIBUTES.reason]).toContain('EBS Volume Notification');
  });

  it('moves a rejection to the DLQ with its reason even near SQS limits: long non-BMP tag values, an event near 256 KiB', async () => {
    await drainQueue(dlqUrl);
    // Tag values of emoji (two UTF-16 units each) that the planner quotes in its errors.
    const tags: Record<string, string> = { 'snap2ami:register': 'true' };
    for (let i = 0; i < 40; i++) tags[`snap2ami:unknown-${i}`] = `${'x'.repeat(i)}${'😀'.repeat(120)}`;
    const snapshotId = await createTaggedSnapshot(ec2, tags);
    const event = JSON.parse(createSnapshotEvent(snapshotId));
    const bytes = (text: string) => Buffer.byteLength(text, 'utf8');
    event.detail.padding = '';
    event.detail.padding = 'p'.repeat(SQS_MESSAGE_LIMIT_BYTES - 1_500 - bytes(JSON.stringify(event)));
    const body = JSON.stringify(event);
    await send(body);
    expect(await deliverBatch()).toEqual({ received: 1, failed: [] });
    const [dead, ...more] = await drainQueue(dlqUrl);
    expect(more).toEqual([]);
    expect(dead?.body).toBe(body);
    expect(dead?.attributes[DLQ_ATTRIBUTES.snapshotIds]).toBe(snapshotId);
    const reason = dead?.attributes[DLQ_ATTRIBUTES.reason] ?? '';
    expect(reason).toContain('snap2ami:unknown-0');
    expect(reason.isWellFormed()).toBe(true);
  });

  it('returns a message whose execution could not be started, so that it comes back', async () => {
    const snapshotId = await createTaggedSnapshot(ec2, {
      'snap2ami:register': 'true',
      'snap2ami:name': `e2e-transient-${Date.now()}`,
    });
    await send(createSnapshotEvent(snapshotId));
    const down = await deliverBatch('http://127.0.0.1:9');
    expect(down.failed).toHaveLength(1);
    // The message is still in the queue (invisible until its visibility timeout), not lost.
    expect(await messagesIn(sqs, queueUrl)).toBe(1);
  });

  it('replays a DLQ of good and bad messages: fixed ones register once, bad ones come back with their reasons', async () => {
    await drainQueue(dlqUrl);
    const name = `e2e-replay-${Date.now()}`;
    const snapshotId = await createTaggedSnapshot(ec2, {
      'snap2ami:register': 'true',
      'snap2ami:name': name,
      'snap2ami:architecture': 'amd64',
    });
    await send(createSnapshotEvent(snapshotId));
    await send('{"not": "an event"}');
    await deliverBatch();
    expect(await imagesNamed(name)).toEqual([]);

    // The cause is fixed: the tag is corrected. Then everything in the DLQ is replayed, twice.
    await ec2.send(
      new CreateTagsCommand({
        Resources: [snapshotId],
        Tags: [{ Key: 'snap2ami:architecture', Value: 'arm64' }],
      }),
    );
    for (let round = 0; round < 2; round++) {
      const summary = await replay(sqs, { dlqUrl, queueUrl });
      expect(summary.failed).toBe(0);
      await deliverBatch();
    }
    expect(await imagesNamed(name)).toHaveLength(1);
    const dead = await drainQueue(dlqUrl);
    expect(dead.map((m) => m.attributes[DLQ_ATTRIBUTES.category])).toEqual(['malformed']);
    expect(dead[0]?.attributes[DLQ_ATTRIBUTES.reason]).toContain('the event.source');
    expect(dead[0]?.body).toBe('{"not": "an event"}');
  });
});
