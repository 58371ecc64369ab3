/**
 * One AMI per key, always, and never a set's root alone (issue 18, point 5), on the emulator
 * with the deployed definition: a redrive after a tag change adopts the first attempt's image
 * (found by its `<p>key` tag, whatever its name) and its copies; the reconciler sends a
 * `createSnapshots` set whose event never arrived as the set, or reports it when the set cannot
 * be told for sure; a set registration that meets an AMI of its root alone fails naming it.
 */
import {
  CreateTagsCommand,
  DeleteTagsCommand,
  DescribeImagesCommand,
  DescribeSnapshotsCommand,
  EC2Client,
  type Image,
} from '@aws-sdk/client-ec2';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { describeSnapshots } from '#shared/aws/snapshots.ts';
import { planGroups } from '#shared/contract/plan.ts';
import type { Plan, PlannerSettings } from '#shared/contract/types.ts';
import { PermanentError } from '#shared/errors.ts';
import { executionInput } from '#shared/workflow.ts';
import { type ReconcileReport, reconcile } from '../../functions/reconcile/reconcile.ts';
import { createPipeline, createTaggedSnapshot, type Pipeline, SETTINGS } from '../../local/index.ts';
import { executionArn as arn, planFor, unique } from '../support/pipeline.ts';
import { createRecoveryHarness, type RecoveryHarness } from '../support/recovery.ts';
import { messagesIn } from '../support/sqs.ts';

const HOME = 'us-east-1';
const COPY = 'us-west-2';
const ec2 = new EC2Client({});
const ec2In = (region: string) => new EC2Client({ region });

/** This account's images in `region` that carry `<p>key=key`, whatever their name. */
async function imagesOfKey(region: string, key: string, prefix = SETTINGS.prefix): Promise<Image[]> {
  const { Images = [] } = await ec2In(region).send(
    new DescribeImagesCommand({ Owners: ['self'], Filters: [{ Name: `tag:${prefix}key`, Values: [key] }] }),
  );
  return Images;
}

/** The plan of `snapshotIds` as ingest makes it (a set when there are several). */
async function planOf(snapshotIds: string[], settings: PlannerSettings = SETTINGS): Promise<Plan> {
  const report = planGroups(
    [{ snapshotIds, multiVolume: snapshotIds.length > 1 }],
    await describeSnapshots(ec2, snapshotIds),
    settings,
  );
  const plan = report.plans[0];
  if (!plan) throw new Error(`not planned: ${JSON.stringify(report)}`);
  return plan;
}

const run = (p: Pipeline, plan: Plan, attempt = '') =>
  p.workflow.run(executionInput(plan, {}, new Date()), arn(`${plan.key}${attempt}`));

/**
 * Snapshots as one `createSnapshots` leaves them: one StartTime. The emulator stamps each
 * snapshot when it makes it, to the second: they are made again until they share one second
 * (those that did not have their tags taken off, out of the reconciler's sight).
 */
async function atOneInstant(...tagged: Record<string, string>[]): Promise<string[]> {
  for (let tries = 0; tries < 5; tries += 1) {
    const ids: string[] = [];
    for (const tags of tagged) ids.push(await createTaggedSnapshot(ec2, tags));
    const { Snapshots = [] } = await ec2.send(new DescribeSnapshotsCommand({ SnapshotIds: ids }));
    if (new Set(Snapshots.map((snapshot) => snapshot.StartTime?.getTime())).size === 1) return ids;
    const keys = [...new Set(tagged.flatMap((tags) => Object.keys(tags)))];
    await ec2.send(new DeleteTagsCommand({ Resources: ids, Tags: keys.map((Key) => ({ Key })) }));
  }
  throw new Error('could not make the snapshots in one second');
}

/** A root and a member as `createSnapshots` leaves them: one instant, the member tagged with its device. */
async function createSet(rootTags: Record<string, string>, memberTags: Record<string, string>) {
  const [root, member] = (await atOneInstant(rootTags, memberTags)) as [string, string];
  return { root, member };
}

describe('adoption by key', () => {
  it('a redrive after ShareImages failed and snap2ami:name changed makes no second AMI; its copies are of the first', async () => {
    let failed = false;
    const p = await createPipeline({
      aroundLifecycle: async (task, next) => {
        if (task.action === 'share' && !failed) {
          failed = true;
          throw new PermanentError('injected: ShareImages refused');
        }
        return next();
      },
    });
    const name = unique('key-rename');
    const plan = await planFor(ec2, {
      'snap2ami:name': name,
      'snap2ami:copy-to': COPY,
      'snap2ami:share-with': '111122223333',
    });
    const first = await run(p, plan);
    expect(first.status).toBe('FAILED');
    const failedRecord = await p.record(plan.key);
    expect(failedRecord).toMatchObject({ status: 'FAILED', failedStep: 'ShareImages' });
    const imageId = failedRecord?.imageId as string;
    expect(imageId).toMatch(/^ami-/);

    // The operator fixes the cause, renames the AMI-to-be, and redrives: the same snapshot, the same key.
    const renamed = `${name}-renamed`;
    await ec2.send(
      new CreateTagsCommand({
        Resources: plan.snapshotIds,
        Tags: [{ Key: 'snap2ami:name', Value: renamed }],
      }),
    );
    const again = await planOf(plan.snapshotIds);
    expect(again.key).toBe(plan.key);
    expect(again.request.Name).toBe(renamed);
    const second = await run(p, again, '-2');
    expect(second.status, `${second.error}: ${second.cause}`).toBe('SUCCEEDED');

    expect(await p.record(plan.key)).toMatchObject({ status: 'COMPLETED', imageId, adopted: true });
    expect((await imagesOfKey(HOME, plan.key)).map((image) => image.ImageId)).toEqual([imageId]);
    const copies = await imagesOfKey(COPY, plan.key);
    expect(copies).toHaveLength(1);
    expect(copies[0]).toMatchObject({ SourceImageId: imageId, Name: name });
  });
});

describe('the reconciler and multi-volume sets', () => {
  let h: RecoveryHarness;
  beforeAll(async () => {
    h = await createRecoveryHarness('set');
  });
  afterAll(() => h.close());

  const strayEntry = (report: ReconcileReport, snapshotId: string) =>
    report.strays.snapshots.find((s) => s.snapshotId === snapshotId);

  it('sends a createSnapshots set whose event never arrived as the set: one AMI with both devices, under the set’s key', async () => {
    const name = unique('set-stray');
    const { root, member } = await createSet(
      { [`${h.prefix}register`]: 'true', [`${h.prefix}name`]: name },
      { [`${h.prefix}device-name`]: '/dev/sdb' },
    );
    const setKey = (await planOf([root, member], h.reconcile.settings)).key;

    const report = await reconcile(h.reconcile, { graceSeconds: 0, settleSeconds: 0 });
    expect(strayEntry(report, root)).toMatchObject({
      action: 'sent',
      key: setKey,
      snapshotIds: [root, member],
    });
    expect(strayEntry(report, member)).toBeUndefined();
    await h.deliver();

    const images = await h.imagesNamed(name);
    expect(images).toHaveLength(1);
    const [image] = await imagesOfKey(HOME, setKey, h.prefix);
    expect(image?.ImageId).toBe(images[0]?.ImageId);
    expect(image?.BlockDeviceMappings?.map((m) => [m.DeviceName, m.Ebs?.SnapshotId])).toEqual([
      ['/dev/xvda', root],
      ['/dev/sdb', member],
    ]);
    expect(await h.pipeline.record(setKey)).toMatchObject({ status: 'COMPLETED' });
  });

  it('reports, and does not send, roots whose set cannot be told for sure (two roots and a member of one instant)', async () => {
    const name = unique('set-unsure');
    const root = (n: string) => ({ [`${h.prefix}register`]: 'true', [`${h.prefix}name`]: `${name}-${n}` });
    const [a, b, member] = (await atOneInstant(root('a'), root('b'), {
      [`${h.prefix}device-name`]: '/dev/sdb',
    })) as [string, string, string];

    const report = await reconcile(h.reconcile, { graceSeconds: 0, settleSeconds: 0 });
    for (const id of [a, b])
      expect(strayEntry(report, id), id).toMatchObject({
        action: 'unsure',
        detail: expect.stringContaining(`snap2ami register --multi-volume ${id}`),
      });
    expect(strayEntry(report, a)?.detail).toContain(member);
    expect(report.strays.unsure).toBe(2);
    expect(await messagesIn(h.sqs, h.queueUrl)).toBe(0);
    for (const n of ['a', 'b']) expect(await h.imagesNamed(`${name}-${n}`)).toHaveLength(0);
  });
});

describe('a set that meets an AMI of its root alone', () => {
  it('fails at Register naming that AMI and what to do, whether or not the names collide', async () => {
    const p = await createPipeline();
    for (const rename of [false, true]) {
      const name = unique(`set-lone-${rename}`);
      const { root, member } = await createSet(
        { 'snap2ami:register': 'true', 'snap2ami:name': name },
        { 'snap2ami:device-name': '/dev/sdb' },
      );
      // What the reconciler did before: the root registered alone, under the root's own key.
      const alone = await run(p, await planOf([root]));
      expect(alone.status, `${alone.error}: ${alone.cause}`).toBe('SUCCEEDED');
      const loneImage = (alone.output as { imageId: string }).imageId;
      if (rename)
        await ec2.send(
          new CreateTagsCommand({
            Resources: [root],
            Tags: [{ Key: 'snap2ami:name', Value: `${name}-set` }],
          }),
        );

      const set = await planOf([root, member]);
      const execution = await run(p, set);
      expect(execution.status).toBe('FAILED');
      const record = await p.record(set.key);
      expect(record).toMatchObject({ status: 'FAILED', failedStep: 'Register' });
      expect(record?.cause).toContain(`${loneImage} is an AMI of the root snapshot ${root}`);
      expect(record?.cause).toContain(`deregister ${loneImage}`);
      expect(record?.cause).toContain(`snap2ami redrive --key ${set.key}`);
      expect(await imagesOfKey(HOME, set.key)).toHaveLength(0);
    }
  });
});
