/**
 * Retention is the one step that destroys (ADR 0008), so what must always remain is stated
 * here over random families, not one ordering: ties in `<p>snapshot-time` (it is to the
 * second), registrations in any order, concurrent runs that each see any subset of the others'
 * images, retries, and several pipelines in one Region. After every run and the reconciler's
 * pass: at least min(N, registered) of this pipeline's AMIs remain, the newest by the family's
 * order among them, and no other pipeline's image or snapshot is touched.
 *
 * The first property drives the pure decision (shared/distribution.ts); the second runs the
 * real orchestration (functions/lifecycle/retention.ts, applyRetention) against a fake EC2,
 * SSM and DynamoDB whose every awaited call fast-check's scheduler resolves in any order.
 */

import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type { EC2Client } from '@aws-sdk/client-ec2';
import type { SSMClient } from '@aws-sdk/client-ssm';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { type FamilyImage, newestFirst, pipelineId, retentionCandidates } from '#shared/distribution.ts';
import { applyRetention } from '../../../functions/lifecycle/retention.ts';
import type { RetentionDeps } from '../../../functions/lifecycle/types.ts';

const ACCOUNT = '123456789012';
const REGION = 'us-east-1';
const TABLE = 'snap2ami-records';
const OURS = pipelineId(ACCOUNT, REGION, TABLE);
const OTHERS = [pipelineId(ACCOUNT, REGION, 'other-stack-records'), pipelineId(ACCOUNT, 'ca-central-1', 'x')];
const NOW = new Date('2026-06-30T00:00:00Z');
const PREFIX = 'snap2ami:';

/** A family: this pipeline's registrations (in the order their events came) and other pipelines' images. */
const familyArb = fc
  .record({
    // Few distinct instants, so that ties are common.
    ours: fc.uniqueArray(
      fc.record({
        second: fc.integer({ min: 0, max: 4 }),
        key: fc.stringMatching(/^[0-9a-f]{4}$/),
      }),
      { minLength: 1, maxLength: 7, selector: (r) => r.key },
    ),
    others: fc.array(
      fc.record({ second: fc.integer({ min: 0, max: 4 }), pipeline: fc.constantFrom(...OTHERS) }),
      { maxLength: 4 },
    ),
    count: fc.integer({ min: 1, max: 4 }),
  })
  .map(({ ours, others, count }) => ({
    count,
    ours: ours.map(
      ({ second, key }, i): FamilyImage => ({
        imageId: `ami-o${i}`,
        snapshotTime: `2026-06-01T00:00:0${second}Z`,
        key,
        protection: 'disabled',
        pipeline: OURS,
      }),
    ),
    others: others.map(
      ({ second, pipeline }, i): FamilyImage => ({
        imageId: `ami-x${i}`,
        snapshotTime: `2026-06-01T00:00:0${second}Z`,
        key: `k${i}`,
        protection: 'disabled',
        pipeline,
      }),
    ),
  }));

/** The invariants, over what remains of the family after every run. */
function expectSafe(
  family: { count: number; ours: FamilyImage[]; others: FamilyImage[] },
  remaining: ReadonlySet<string>,
  exactly: boolean,
) {
  const newest = [...family.ours].sort(newestFirst).slice(0, family.count);
  for (const image of newest)
    expect(remaining.has(image.imageId), `${image.imageId} is among the newest`).toBe(true);
  const ours = family.ours.filter((image) => remaining.has(image.imageId));
  expect(ours.length).toBeGreaterThanOrEqual(Math.min(family.count, family.ours.length));
  if (exactly) expect(ours.length).toBe(Math.min(family.count, family.ours.length));
  for (const other of family.others) expect(remaining.has(other.imageId)).toBe(true);
}

describe('retention over random families (the pure decision)', () => {
  it('runs that each see any subset, retried, then the pass: the newest N remain, nothing of another pipeline goes', () => {
    fc.assert(
      fc.property(
        familyArb.chain((family) =>
          fc.record({
            family: fc.constant(family),
            // For each registration's run (and each retry): which of the other images it sees.
            views: fc.array(fc.array(fc.boolean(), { minLength: 16, maxLength: 16 }), {
              minLength: family.ours.length,
              maxLength: family.ours.length * 2,
            }),
          }),
        ),
        ({ family, views }) => {
          const all = [...family.ours, ...family.others];
          const remaining = new Set(all.map((image) => image.imageId));
          views.forEach((sees, run) => {
            const own = family.ours[run % family.ours.length] as FamilyImage;
            const visible = all.filter(
              (image, i) => remaining.has(image.imageId) && (image === own || sees[i % sees.length]),
            );
            const decision = retentionCandidates(
              visible,
              { count: family.count },
              {
                thisImageId: own.imageId,
                pipeline: OURS,
                now: NOW,
              },
            );
            for (const candidate of decision.candidates) remaining.delete(candidate.imageId);
            expectSafe(family, remaining, false);
          });
          // The reconciler's pass sees the whole family and exempts no image.
          const pass = retentionCandidates(
            all.filter((image) => remaining.has(image.imageId)),
            { count: family.count },
            { pipeline: OURS, now: NOW },
          );
          for (const candidate of pass.candidates) remaining.delete(candidate.imageId);
          expect(pass.pending).toBe(false);
          expectSafe(family, remaining, true);
        },
      ),
      { numRuns: 1000 },
    );
  });
});

// --- the orchestration under the scheduler ---------------------------------------------------

interface FakeImage {
  image: FamilyImage;
  snapshotId: string;
}

/** EC2, SSM and DynamoDB as retention calls them, one Region; every call waits for the scheduler. */
function fakeAws(s: fc.Scheduler, images: FakeImage[]) {
  const live = new Map(images.map((i) => [i.image.imageId, i]));
  const snapshots = new Set(images.map((i) => i.snapshotId));
  const deregistered: string[] = [];
  const tick = (label: string) => s.schedule(Promise.resolve(label), label);
  const ec2 = {
    async send(command: { constructor: { name: string }; input: Record<string, unknown> }) {
      const name = command.constructor.name;
      await tick(name);
      const input = command.input;
      switch (name) {
        case 'DescribeImagesCommand':
          return {
            Images: [...live.values()].map(({ image, snapshotId }) => ({
              ImageId: image.imageId,
              OwnerId: ACCOUNT,
              State: image.state ?? 'available',
              DeregistrationProtection: image.protection,
              BlockDeviceMappings: [{ Ebs: { SnapshotId: snapshotId } }],
              Tags: [
                { Key: `${PREFIX}family`, Value: 'web' },
                { Key: `${PREFIX}key`, Value: image.key },
                { Key: `${PREFIX}snapshot-time`, Value: image.snapshotTime },
                ...(image.pipeline ? [{ Key: `${PREFIX}pipeline`, Value: image.pipeline }] : []),
              ],
            })),
          };
        case 'DescribeImageReferencesCommand':
          expect((input.ImageIds as string[]).length).toBeLessThanOrEqual(10);
          return { ImageReferences: [] };
        case 'DescribeImageAttributeCommand':
          return { LaunchPermissions: [] };
        case 'DeregisterImageCommand': {
          const found = live.get(input.ImageId as string);
          if (!found) throw Object.assign(new Error('gone'), { name: 'InvalidAMIID.NotFound' });
          live.delete(found.image.imageId);
          deregistered.push(found.image.imageId);
          if (input.DeleteAssociatedSnapshots) snapshots.delete(found.snapshotId);
          return {};
        }
        default:
          throw new Error(`retention called ${name}, which the fake does not know`);
      }
    },
  };
  const ssm = {
    async send() {
      await tick('GetParameter');
      throw Object.assign(new Error('none'), { name: 'ParameterNotFound' });
    },
  };
  const dynamo = {
    async send() {
      await tick('GetItem');
      return { Item: { status: { S: 'COMPLETED' } } };
    },
  };
  const deps: RetentionDeps = {
    ec2In: () => ec2 as unknown as EC2Client,
    ssmIn: () => ssm as unknown as SSMClient,
    dynamo: dynamo as unknown as DynamoDBClient,
    table: TABLE,
    prefix: PREFIX,
    region: REGION,
    now: () => NOW,
  };
  return { deps, live, snapshots, deregistered };
}

describe('retention over random families (the real orchestration, calls resolved in any order)', () => {
  it('concurrent and retried runs of the family, then the pass: exactly the newest N of ours remain, nothing else touched', async () => {
    await fc.assert(
      fc.asyncProperty(
        familyArb,
        fc.scheduler(),
        fc.array(fc.nat(), { minLength: 2, maxLength: 4 }),
        async (family, s, runners) => {
          const images = [...family.ours, ...family.others].map((image, i) => ({
            image,
            snapshotId: `snap-${i}`,
          }));
          const aws = fakeAws(s, images);
          const rule = { family: 'web', retain: { count: family.count } };
          // Two to four runs at once (a run of the same image twice is a retry).
          const runs = runners.map((n) => {
            const own = family.ours[n % family.ours.length] as FamilyImage;
            return applyRetention(
              { key: own.key ?? '', imageId: own.imageId, copies: [], lifecycle: rule },
              aws.deps,
              {
                keepOwnImage: true,
              },
            );
          });
          const results = await s.waitFor(Promise.all(runs));
          expectSafe(family, new Set(aws.live.keys()), false);
          // The reconciler's pass, when a run left the family pending.
          if (results.some((r) => r.pending)) {
            const pass = applyRetention(
              { key: '', imageId: family.ours[0]?.imageId ?? '', copies: [], lifecycle: rule },
              aws.deps,
            );
            await s.waitFor(pass);
          }
          expectSafe(family, new Set(aws.live.keys()), true);
          for (const { image, snapshotId } of images)
            if (image.pipeline !== OURS) expect(aws.snapshots.has(snapshotId)).toBe(true);
          // The pipeline's own Region: a source snapshot stays without retain-delete-snapshots.
          expect(aws.snapshots.size).toBe(images.length);
        },
      ),
      { numRuns: 1000 },
    );
  });
});
