/**
 * Snapshots opted in after they completed (events.md v2), end to end on the emulator: the
 * completion event came first and was skipped; then CloudTrail's record of the CreateTags, or
 * `snap2ami register`, brings the snapshot through the ordinary pipeline to exactly one AMI.
 */
import { CreateTagsCommand } from '@aws-sdk/client-ec2';
import { SFNClient } from '@aws-sdk/client-sfn';
import { CreateQueueCommand, SendMessageCommand } from '@aws-sdk/client-sqs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createSnapshotEvent, createTagsEvent, pollOnce, startFaultProxy } from '../../local/index.ts';
import { snap2amiInProcess as snap2amiAsync } from '../support/cli-in-process.ts';
import { executionsFor } from '../support/pipeline.ts';
import { createRecoveryHarness, type RecoveryHarness } from '../support/recovery.ts';
import { messagesIn } from '../support/sqs.ts';

let h: RecoveryHarness;

beforeAll(async () => {
  h = await createRecoveryHarness('late');
});
afterAll(() => h.close());

const send = (event: Record<string, unknown>) =>
  h.sqs.send(new SendMessageCommand({ QueueUrl: h.queueUrl, MessageBody: JSON.stringify(event) }));

/** A completed snapshot, not opted in, whose completion event has come and been skipped. */
async function skippedSnapshot(name: string): Promise<string> {
  const snapshotId = await h.snapshot(name, { [`${h.prefix}register`]: 'false' });
  await send(createSnapshotEvent(snapshotId));
  await h.deliver();
  expect(await h.imagesNamed(name)).toHaveLength(0);
  expect(executionsFor(h.sfn, snapshotId)).toHaveLength(0);
  return snapshotId;
}

const optIn = (snapshotId: string) =>
  h.ec2.send(
    new CreateTagsCommand({ Resources: [snapshotId], Tags: [{ Key: `${h.prefix}register`, Value: 'true' }] }),
  );

describe('a snapshot tagged <prefix>register after it completed', () => {
  it("is registered once from CloudTrail's CreateTags record, however often the record comes", async () => {
    const name = `late-cloudtrail-${Date.now()}`;
    const snapshotId = await skippedSnapshot(name);
    await optIn(snapshotId);
    const record = createTagsEvent([snapshotId, 'i-0217f7eb3d0123456'], { [`${h.prefix}register`]: 'true' });
    await send(record);
    await h.deliver();

    const images = await h.imagesNamed(name);
    expect(images).toHaveLength(1);
    const [execution] = executionsFor(h.sfn, snapshotId);
    expect(execution?.status).toBe('SUCCEEDED');
    expect(await h.pipeline.record(execution?.name as string)).toMatchObject({
      status: 'COMPLETED',
      imageId: images[0]?.ImageId,
    });

    // CloudTrail delivers at least once: the same record again makes no second AMI.
    await send(record);
    await h.deliver();
    expect(await h.imagesNamed(name)).toHaveLength(1);
    expect(await messagesIn(h.sqs, h.dlqUrl)).toBe(0);
  });

  it('registers each snapshot of one CreateTags record, each as a root of its own', async () => {
    const names = [`late-ct-a-${Date.now()}`, `late-ct-b-${Date.now()}`];
    const ids = [await skippedSnapshot(names[0] as string), await skippedSnapshot(names[1] as string)];
    for (const id of ids) await optIn(id);
    await send(createTagsEvent(ids, { [`${h.prefix}register`]: 'true' }));
    await h.deliver();
    for (const name of names) expect(await h.imagesNamed(name)).toHaveLength(1);
  });

  it('one record naming two snapshots comes back whole when one of them could not be started', async () => {
    const names = [`late-retry-a-${Date.now()}`, `late-retry-b-${Date.now()}`];
    const ids = [await h.snapshot(names[0] as string), await h.snapshot(names[1] as string)];
    // A queue of its own, so the message that comes back does not wait in the others' way.
    const queueUrl = (
      await h.sqs.send(
        new CreateQueueCommand({
          QueueName: `snap2ami-late-retry-${Date.now()}`,
          Attributes: { VisibilityTimeout: '0' },
        }),
      )
    ).QueueUrl as string;
    await h.sqs.send(
      new SendMessageCommand({
        QueueUrl: queueUrl,
        MessageBody: JSON.stringify(createTagsEvent(ids, { [`${h.prefix}register`]: 'true' })),
      }),
    );
    const proxy = await startFaultProxy(h.sfn.endpoint);
    try {
      // The first StartExecution of the batch fails (a throttle past the SDK's retries); the second succeeds.
      proxy.inject({
        action: 'AWSStepFunctions.StartExecution',
        times: 1,
        status: 400,
        body: '{"__type":"com.amazon.coral.availability#ThrottlingException","message":"injected: Rate exceeded"}',
      });
      const sfn = new SFNClient({ endpoint: proxy.endpoint, maxAttempts: 1 });
      const first = await pollOnce(h.sqs, queueUrl, { ...h.ingest, sfn });
      expect(first.failed).toHaveLength(1);
      await h.sfn.idle();
      expect(
        executionsFor(h.sfn, ids[0] as string).length + executionsFor(h.sfn, ids[1] as string).length,
      ).toBe(1);

      // Lambda gives the message again (ingest made it visible again within seconds): both
      // snapshots end with one AMI each.
      const second = await pollOnce(h.sqs, queueUrl, { ...h.ingest, sfn }, { waitSeconds: 10 });
      expect(second).toEqual({ received: 1, failed: [] });
      await h.sfn.idle();
      for (const name of names) expect(await h.imagesNamed(name)).toHaveLength(1);
      expect(await messagesIn(h.sqs, queueUrl)).toBe(0);
    } finally {
      await proxy.close();
    }
  });

  it('is registered once with `snap2ami register`, which --dry-run only prints', async () => {
    const name = `late-register-${Date.now()}`;
    const snapshotId = await skippedSnapshot(name);
    await optIn(snapshotId);

    const dryRun = await snap2amiAsync(['register', snapshotId, '--dry-run'], h.env);
    expect(dryRun.status, dryRun.stderr).toBe(0);
    const request = JSON.parse(dryRun.stdout);
    expect(request).toMatchObject({
      source: 'snap2ami',
      'detail-type': 'Register Snapshots',
      account: '123456789012',
      region: 'us-east-1',
      resources: [],
      detail: { snapshotIds: [snapshotId] },
    });
    expect(await messagesIn(h.sqs, h.queueUrl)).toBe(0);

    const sent = await snap2amiAsync(['register', snapshotId], h.env);
    expect(sent.status, sent.stderr).toBe(0);
    expect(sent.stdout).toMatch(new RegExp(`sent Register Snapshots for ${snapshotId}: message \\S+`));
    await h.deliver();
    expect(await h.imagesNamed(name)).toHaveLength(1);
    const [execution] = executionsFor(h.sfn, snapshotId);
    expect(await h.pipeline.record(execution?.name as string)).toMatchObject({ status: 'COMPLETED' });

    // Asked again: the same key, no second AMI.
    expect((await snap2amiAsync(['register', snapshotId], h.env)).status).toBe(0);
    await h.deliver();
    expect(await h.imagesNamed(name)).toHaveLength(1);
    expect(await messagesIn(h.sqs, h.dlqUrl)).toBe(0);
  });

  it('registers a multi-volume set as one AMI with `snap2ami register --multi-volume`', async () => {
    const name = `late-set-${Date.now()}`;
    const root = await h.snapshot(name);
    const member = await h.snapshot(`${name}-member`, {
      [`${h.prefix}register`]: 'false',
      [`${h.prefix}device-name`]: '/dev/xvdf',
    });
    const sent = await snap2amiAsync(['register', root, member, '--multi-volume'], h.env);
    expect(sent.status, sent.stderr).toBe(0);
    expect(sent.stdout).toContain('(one multi-volume set)');
    await h.deliver();
    expect(await h.imagesNamed(name)).toHaveLength(1);
    const [execution] = executionsFor(h.sfn, root);
    expect(await h.pipeline.record(execution?.name as string)).toMatchObject({
      status: 'COMPLETED',
      snapshotIds: expect.arrayContaining([root, member]),
    });
  });

  it('says which queue is wrong, and sends nothing for a malformed ID', async () => {
    const missing = await snap2amiAsync(['register', 'snap-0123456789abcdef0'], {
      ...h.env,
      SNAP2AMI_QUEUE_URL: `${h.queueUrl}-missing`,
    });
    expect(missing.status).toBe(1);
    expect(missing.stderr).toContain('no such queue');
    const malformed = await snap2amiAsync(['register', 'snap-0123456789abcdef0', 'snap-XYZ'], h.env);
    expect(malformed.status).toBe(1);
    expect(malformed.stderr).toContain('snap-XYZ is not a snapshot ID');
    expect(await messagesIn(h.sqs, h.queueUrl)).toBe(0);
  });
});
