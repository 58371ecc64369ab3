/**
 * The grace of disabled images (`<p>retain-grace`, tag contract v3, ADR 0008) on the emulator,
 * with a clock the test moves (the lifecycle's and the reconciler's `now`): an image beyond the
 * rule is disabled at once and deregistered by the reconciler's retention pass once the grace has
 * passed; one a person enabled again, or tagged `<p>keep=true`, stays; a shared image is
 * deregistered no sooner than 7 days after it was disabled, whatever `retain-grace` says.
 */
import {
  DescribeImagesCommand,
  DescribeSnapshotsCommand,
  EC2Client,
  EnableImageCommand,
  type Image,
  ModifyImageAttributeCommand,
} from '@aws-sdk/client-ec2';
import { describe, expect, it } from 'vitest';
import { executionInput } from '#shared/workflow.ts';
import type { RetentionEntry } from '../../functions/reconcile/types.ts';
import { createPipeline, type Pipeline } from '../../local/index.ts';
import { executionArn as arn, familyImage, planFor, retentionPassOn, unique } from '../support/pipeline.ts';

const HOME = 'us-east-1';
const DAY = 86_400_000;
const ec2In = (region: string) => new EC2Client({ region });
const ec2 = ec2In(HOME);

/** A pipeline whose lifecycle reads the test's clock. */
async function clocked(): Promise<{ p: Pipeline; clock: { now: Date } }> {
  const clock = { now: new Date() };
  const p = await createPipeline({ lifecycle: { now: () => clock.now } });
  return { p, clock };
}

async function image(imageId: string): Promise<Image | undefined> {
  const found = await ec2.send(new DescribeImagesCommand({ ImageIds: [imageId], IncludeDisabled: true }));
  return found.Images?.[0];
}

const tag = (found: Image | undefined, key: string) => found?.Tags?.find((t) => t.Key === key)?.Value;

async function register(p: Pipeline, name: string, tags: Record<string, string>) {
  const plan = await planFor(ec2, {
    'snap2ami:name': `${name}-new`,
    'snap2ami:family': name,
    'snap2ami:retain': '1',
    ...tags,
  });
  const execution = await p.workflow.run(executionInput(plan, {}, new Date()), arn(plan.key));
  expect(execution.status, `${execution.error}: ${execution.cause}`).toBe('SUCCEEDED');
  const { retention } = JSON.parse((await p.record(plan.key))?.distribution as string);
  return { imageId: (execution.output as { imageId: string }).imageId, retention };
}

/** One run of the reconciler's retention pass at the clock's time; the family's entry. */
async function pass(p: Pipeline, clock: { now: Date }, family: string): Promise<RetentionEntry | undefined> {
  const report = await retentionPassOn(p.table, HOME, () => clock.now);
  expect(report.errors).toEqual([]);
  return report.retention.families.find((entry) => entry.family === family);
}

const later = (clock: { now: Date }, start: Date, days: number) => {
  clock.now = new Date(start.getTime() + days * DAY);
};

describe('retain-grace', () => {
  it('retain-grace=3d disables at once, and the pass deregisters after 3 days, not before', async () => {
    const { p, clock } = await clocked();
    const start = clock.now;
    const name = unique('grace');
    const old = await familyImage(ec2, name, '2025-01-01T00:00:00Z', undefined, { table: p.table });
    const { retention } = await register(p, name, { 'snap2ami:retain-grace': '3d' });
    const until = new Date(start.getTime() + 3 * DAY).toISOString();
    expect(retention).toMatchObject({
      deregistered: [],
      disabled: [{ region: HOME, imageId: old.imageId, until }],
      pending: true,
    });
    const disabled = await image(old.imageId);
    expect(disabled?.State).toBe('disabled');
    expect(tag(disabled, 'snap2ami:retired-at')).toBe(start.toISOString());
    // As on EC2, a disabled image is left out of DescribeImages unless asked for.
    const plain = await ec2.send(new DescribeImagesCommand({ ImageIds: [old.imageId] }));
    expect(plain.Images ?? []).toEqual([]);

    later(clock, start, 2);
    expect((await pass(p, clock, name))?.kept).toContainEqual({
      region: HOME,
      imageId: old.imageId,
      reason: `disabled by retention; deregistered from ${until}`,
    });
    expect((await image(old.imageId))?.State).toBe('disabled');

    later(clock, start, 3);
    expect((await pass(p, clock, name))?.deregistered).toEqual([{ region: HOME, imageId: old.imageId }]);
    expect(await image(old.imageId)).toBeUndefined();
    // The source snapshot is the user's backup: kept (no retain-delete-snapshots).
    const snapshots = await ec2.send(new DescribeSnapshotsCommand({ SnapshotIds: [old.snapshotId] }));
    expect(snapshots.Snapshots).toHaveLength(1);
  });

  it('an image a person enabled again, or one tagged keep=true, stays, and is reported kept with why', async () => {
    const { p, clock } = await clocked();
    const start = clock.now;
    const name = unique('grace-person');
    const made = { table: p.table };
    const kept = await familyImage(ec2, name, '2025-01-01T00:00:00Z', undefined, {
      ...made,
      tags: { 'snap2ami:keep': 'true' },
    });
    const enabled = await familyImage(ec2, name, '2025-01-02T00:00:00Z', undefined, made);
    const { retention } = await register(p, name, { 'snap2ami:retain-grace': '3d' });
    expect(retention.disabled.map((d: { imageId: string }) => d.imageId)).toEqual([enabled.imageId]);
    expect(retention.kept).toContainEqual({ region: HOME, imageId: kept.imageId, reason: 'keep=true' });
    expect((await image(kept.imageId))?.State).toBe('available');

    // A person needs the image after all.
    await ec2.send(new EnableImageCommand({ ImageId: enabled.imageId }));
    later(clock, start, 4);
    const entry = await pass(p, clock, name);
    expect(entry?.deregistered).toEqual([]);
    expect(entry?.kept).toEqual(
      expect.arrayContaining([
        { region: HOME, imageId: enabled.imageId, reason: 'enabled again after retention disabled it' },
        { region: HOME, imageId: kept.imageId, reason: 'keep=true' },
      ]),
    );
    expect((await image(enabled.imageId))?.State).toBe('available');
    expect((await image(kept.imageId))?.State).toBe('available');
  });

  it('a shared image is disabled, and deregistered no sooner than 7 days later, without retain-grace', async () => {
    const { p, clock } = await clocked();
    const start = clock.now;
    const name = unique('grace-shared');
    const shared = await familyImage(ec2, name, '2025-01-01T00:00:00Z', undefined, { table: p.table });
    await ec2.send(
      new ModifyImageAttributeCommand({
        ImageId: shared.imageId,
        LaunchPermission: { Add: [{ UserId: '210987654321' }] },
      }),
    );
    const { retention } = await register(p, name, {});
    const until = new Date(start.getTime() + 7 * DAY).toISOString();
    expect(retention.disabled).toEqual([{ region: HOME, imageId: shared.imageId, until, shared: true }]);
    expect(retention.deregistered).toEqual([]);

    later(clock, start, 6);
    expect((await pass(p, clock, name))?.deregistered).toEqual([]);
    expect((await image(shared.imageId))?.State).toBe('disabled');

    later(clock, start, 7);
    expect((await pass(p, clock, name))?.deregistered).toEqual([{ region: HOME, imageId: shared.imageId }]);
    expect(await image(shared.imageId)).toBeUndefined();
  });
});
