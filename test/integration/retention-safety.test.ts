/**
 * Retention's safety (tag contract v3, ADR 0008) on the emulator, one test per way it went
 * wrong (issue 18): two registrations of one instant agree on the newest; another stack's AMIs
 * of the family, and their snapshots, are not this pipeline's to remove; an image whose
 * registration is still running is never removed; DescribeImageReferences is asked at most 10
 * image IDs a call, and only about what no cheaper guard kept. The grace (`<p>retain-grace`)
 * has its own file, retention-grace.test.ts.
 */
import {
  CreateLaunchTemplateCommand,
  DescribeImagesCommand,
  EC2Client,
  EnableImageDeregistrationProtectionCommand,
} from '@aws-sdk/client-ec2';
import { beforeAll, describe, expect, inject, it } from 'vitest';
import type { Plan } from '#shared/contract/types.ts';
import { executionInput } from '#shared/workflow.ts';
import { createPipeline, type Pipeline, requestLog } from '../../local/index.ts';
import {
  executionArn as arn,
  at,
  familyImage,
  planFor,
  retentionPassOn,
  snapshotExists,
  unique,
} from '../support/pipeline.ts';

const HOME = 'us-east-1';
const ec2In = (region: string) => new EC2Client({ region });
const ec2 = ec2In(HOME);
const requests = requestLog(inject('awsEndpoint'));
let pipeline: Pipeline;

beforeAll(async () => {
  pipeline = await createPipeline();
});

async function family(region: string, name: string): Promise<string[]> {
  const found = await ec2In(region).send(
    new DescribeImagesCommand({
      IncludeDisabled: true,
      Filters: [{ Name: 'tag:snap2ami:family', Values: [name] }],
    }),
  );
  return (found.Images ?? []).map((image) => image.ImageId as string).sort();
}

async function register(p: Pipeline, plan: Plan) {
  const execution = await p.workflow.run(executionInput(plan, {}, new Date()), arn(plan.key));
  expect(execution.status, `${execution.error}: ${execution.cause}`).toBe('SUCCEEDED');
  return (execution.output as { imageId: string }).imageId;
}

/** One run of the reconciler's retention pass over the pipeline's pending families, at once (no settle time). */
const retentionRun = (p: Pipeline, now?: () => Date) => retentionPassOn(p.table, HOME, now);

const familyTags = (name: string, suffix: string, extra: Record<string, string> = {}) => ({
  'snap2ami:name': `${name}-${suffix}`,
  'snap2ami:family': name,
  'snap2ami:retain': '1',
  ...extra,
});

describe('retention: one order for every run', () => {
  it('two registrations of one family with the same snapshot-time and retain=1 never remove each other; the greater key stays', async () => {
    const name = unique('tie');
    const time = '2026-03-01T12:00:00Z';
    const plans = [
      at(await planFor(ec2, familyTags(name, 'a')), time),
      at(await planFor(ec2, familyTags(name, 'b')), time),
    ].sort((x, y) => y.key.localeCompare(x.key));
    const [greater, lesser] = plans as [Plan, Plan];
    // The greater key registers first; the lesser one's run, which made its own image, used
    // to rank it first on the tie and deregister the greater key's.
    const kept = await register(pipeline, greater);
    const own = await register(pipeline, lesser);
    expect(await family(HOME, name)).toEqual([kept, own].sort());
    const { retention } = JSON.parse((await pipeline.record(lesser.key))?.distribution as string);
    expect(retention).toMatchObject({ deregistered: [], pending: true });
    expect(retention.kept).toContainEqual({ region: HOME, imageId: own, reason: 'this registration' });
    // The reconciler's pass, which exempts no image, brings the family to 1: the greater key's.
    const report = await retentionRun(pipeline);
    expect(report.retention.families.find((f) => f.family === name)?.deregistered).toEqual([
      { region: HOME, imageId: own },
    ]);
    expect(await family(HOME, name)).toEqual([kept]);
  });

  it('two such registrations at once, then the pass: exactly the greater key remains', async () => {
    const name = unique('tie-race');
    const time = '2026-03-02T12:00:00Z';
    const plans = [
      at(await planFor(ec2, familyTags(name, 'a')), time),
      at(await planFor(ec2, familyTags(name, 'b')), time),
    ];
    const images = await Promise.all(plans.map((plan) => register(pipeline, plan)));
    expect((await family(HOME, name)).length).toBeGreaterThanOrEqual(1);
    await retentionRun(pipeline);
    const greater = (plans[0]?.key ?? '') > (plans[1]?.key ?? '') ? images[0] : images[1];
    expect(await family(HOME, name)).toEqual([greater]);
  });
});

describe("retention: only this pipeline's images", () => {
  it("leaves another stack's AMI of the family in a copy's Region, and its snapshot, alone", async () => {
    const name = unique('other-stack');
    const COPY = 'ca-central-1';
    // The ca-central-1 stack registered the family from its own snapshot.
    const theirs = await familyImage(ec2In(COPY), name, '2026-01-01T00:00:00Z', undefined, {
      table: 'snap2ami-ca-stack-records',
      region: COPY,
    });
    // So did another stack in this pipeline's own Region.
    const neighbour = await familyImage(ec2, name, '2026-01-01T00:00:00Z', undefined, {
      table: 'snap2ami-neighbour-records',
    });
    const imageId = await register(
      pipeline,
      at(await planFor(ec2, familyTags(name, 'ours', { 'snap2ami:copy-to': COPY })), '2026-02-01T00:00:00Z'),
    );
    expect(await family(COPY, name)).toContain(theirs.imageId);
    expect(await snapshotExists(COPY, theirs.snapshotId)).toBe(true);
    expect(await family(HOME, name)).toEqual([imageId, neighbour.imageId].sort());
    expect(await requests.find({ action: 'DeregisterImage', imageId: theirs.imageId })).toEqual([]);
  });
});

describe('retention: never an image still being registered', () => {
  it("keeps an older registration's image while it is at a later step, and the pass removes it once it is done", async () => {
    const name = unique('running');
    let entered = () => {};
    const atProtect = new Promise<void>((resolve) => {
      entered = resolve;
    });
    let release = () => {};
    const gate = new Promise<void>((resolve) => {
      release = resolve;
    });
    const older = at(await planFor(ec2, familyTags(name, 'older')), '2026-01-01T00:00:00Z');
    const p = await createPipeline({
      aroundLifecycle: async (task, next) => {
        if (task.key === older.key && task.action === 'protect') {
          entered();
          await gate;
        }
        return next();
      },
    });
    const olderRun = register(p, older);
    await atProtect;
    const [olderImage] = await family(HOME, name);
    const newerPlan = at(await planFor(ec2, familyTags(name, 'newer')), '2026-02-01T00:00:00Z');
    const newer = await register(p, newerPlan);
    // The older registration is past CopyImages (its image carries the pipeline's tag) and still
    // IN_PROGRESS: the newer one's retention keeps it.
    expect(await family(HOME, name)).toEqual([olderImage, newer].sort());
    const { retention } = JSON.parse((await p.record(newerPlan.key))?.distribution as string);
    expect(retention.kept).toContainEqual({
      region: HOME,
      imageId: olderImage,
      reason: 'its registration is still in progress',
    });
    release();
    expect(await olderRun).toBe(olderImage);
    await retentionRun(p);
    expect(await family(HOME, name)).toEqual([newer]);
  });
});

describe('retention: what it asks EC2', () => {
  it('asks DescribeImageReferences at most 10 image IDs a call, and nothing about a protected image', async () => {
    const name = unique('refs');
    const made = { table: pipeline.table };
    const old: string[] = [];
    for (let day = 1; day <= 12; day += 1)
      old.push(
        (await familyImage(ec2, name, `2025-01-${String(day).padStart(2, '0')}T00:00:00Z`, undefined, made))
          .imageId,
      );
    const protectedImages: string[] = [];
    for (const day of [13, 14]) {
      const { imageId } = await familyImage(ec2, name, `2025-01-${day}T00:00:00Z`, undefined, made);
      await ec2.send(new EnableImageDeregistrationProtectionCommand({ ImageId: imageId }));
      protectedImages.push(imageId);
    }
    // The oldest is in use by a launch template: its reference is on the second call.
    await ec2.send(
      new CreateLaunchTemplateCommand({
        LaunchTemplateName: unique('refs'),
        LaunchTemplateData: { ImageId: old[0] },
      }),
    );
    const plan = await planFor(ec2, familyTags(name, 'new'));
    const imageId = await register(pipeline, plan);
    const { retention } = JSON.parse((await pipeline.record(plan.key))?.distribution as string);
    expect(retention.Error, retention.Cause).toBeUndefined();
    expect(await family(HOME, name)).toEqual([imageId, old[0], ...protectedImages].sort());
    const asked = (await requests.find({ action: 'DescribeImageReferences', region: HOME })).filter((r) =>
      r.imageIds.some((id) => old.includes(id)),
    );
    expect(asked.map((r) => r.imageIds.length)).toEqual([10, 2]);
    for (const id of protectedImages)
      expect(await requests.find({ action: 'DescribeImageReferences', imageId: id })).toEqual([]);
  });
});
