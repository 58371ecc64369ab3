/**
 * Retention (tag contract v2, ADR 0008) on the emulator: a family keeps exactly N (or those
 * within N days); never the newest, a protected AMI, one an SSM parameter names or one a
 * launch template uses; source snapshots deleted only with `<p>retain-delete-snapshots=true`,
 * copies' always; a failed retention never fails the registration, and the family's next
 * success applies it.
 */
import {
  CreateLaunchTemplateCommand,
  DescribeImagesCommand,
  EC2Client,
  EnableImageDeregistrationProtectionCommand,
  type Image,
} from '@aws-sdk/client-ec2';
import { PutParameterCommand, SSMClient } from '@aws-sdk/client-ssm';
import { beforeAll, describe, expect, inject, it } from 'vitest';
import type { Plan } from '#shared/contract/types.ts';
import { RetryableError } from '#shared/errors.ts';
import { executionInput } from '#shared/workflow.ts';
import { createPipeline, type Pipeline, requestLog } from '../../local/index.ts';
import {
  executionArn as arn,
  at,
  familyImage,
  planFor,
  snapshotExists,
  unique,
} from '../support/pipeline.ts';

const HOME = 'us-east-1';
const ec2 = new EC2Client({});
const ec2In = (region: string) => new EC2Client({ region });
const requests = requestLog(inject('awsEndpoint'));
let pipeline: Pipeline;

beforeAll(async () => {
  pipeline = await createPipeline();
});

async function family(region: string, name: string): Promise<Image[]> {
  return (
    (
      await ec2In(region).send(
        new DescribeImagesCommand({ Filters: [{ Name: 'tag:snap2ami:family', Values: [name] }] }),
      )
    ).Images ?? []
  );
}

const daysAgo = (days: number) => `${new Date(Date.now() - days * 86_400_000).toISOString().slice(0, 19)}Z`;

async function register(p: Pipeline, plan: Plan) {
  const execution = await p.workflow.run(executionInput(plan, {}, new Date()), arn(plan.key));
  expect(execution.status, `${execution.error}: ${execution.cause}`).toBe('SUCCEEDED');
  return { imageId: (execution.output as { imageId: string }).imageId, execution };
}

describe('retention', () => {
  it('keeps exactly N by count, skips protected and in-use AMIs, and keeps source snapshots by default', async () => {
    const name = unique('ret-count');
    const [t1, t2, t3, t4, t5] = [
      await familyImage(ec2, name, '2025-01-01T00:00:00Z', undefined, { table: pipeline.table }),
      await familyImage(ec2, name, '2025-01-02T00:00:00Z', undefined, { table: pipeline.table }),
      await familyImage(ec2, name, '2025-01-03T00:00:00Z', undefined, { table: pipeline.table }),
      await familyImage(ec2, name, '2025-01-04T00:00:00Z', undefined, { table: pipeline.table }),
      await familyImage(ec2, name, '2025-01-05T00:00:00Z', undefined, { table: pipeline.table }),
    ];
    // t1: another SSM parameter names it; t2: protected; t3: a launch template uses it.
    await new SSMClient({}).send(
      new PutParameterCommand({
        Name: `/other/${name}`,
        Value: t1?.imageId,
        Type: 'String',
        DataType: 'aws:ec2:image',
      }),
    );
    await ec2.send(new EnableImageDeregistrationProtectionCommand({ ImageId: t2?.imageId }));
    await ec2.send(
      new CreateLaunchTemplateCommand({
        LaunchTemplateName: unique('ret'),
        LaunchTemplateData: { ImageId: t3?.imageId },
      }),
    );
    const plan = await planFor(ec2, {
      'snap2ami:name': name,
      'snap2ami:family': name,
      'snap2ami:retain': '2',
    });
    const { imageId } = await register(pipeline, plan);
    // Ours (the newest) and t5 within the 2; t4 alone is free to go.
    const left = (await family(HOME, name)).map((image) => image.ImageId).sort();
    expect(left).toEqual([imageId, t5?.imageId, t3?.imageId, t2?.imageId, t1?.imageId].sort());
    expect(await snapshotExists(HOME, t4?.snapshotId as string)).toBe(true);
    // The protected AMI is kept before any call: EC2 would refuse its deregistration too, but
    // retention must not ask (the emulator's request log; AWS's would be CloudTrail).
    const deregistrations = async (imageId?: string) =>
      (await requests.find({ action: 'DeregisterImage', imageId, region: HOME })).length;
    expect(await deregistrations(t4?.imageId)).toBe(1);
    expect(await deregistrations(t2?.imageId)).toBe(0);
    const { retention } = JSON.parse((await pipeline.record(plan.key))?.distribution as string);
    expect(retention.deregistered).toEqual([{ region: HOME, imageId: t4?.imageId }]);
    expect(retention.kept).toEqual(
      expect.arrayContaining([
        { region: HOME, imageId, reason: 'newest' },
        { region: HOME, imageId: t2?.imageId, reason: 'deregistration protection' },
        {
          region: HOME,
          imageId: t3?.imageId,
          reason: expect.stringMatching(/^in use by arn:aws:ec2:.*launch-template/),
        },
        {
          region: HOME,
          imageId: t1?.imageId,
          reason: expect.stringMatching(/^in use by arn:aws:ssm:.*parameter/),
        },
      ]),
    );
  });

  it('by age keeps those within N days', async () => {
    const name = unique('ret-days');
    const old = await familyImage(ec2, name, daysAgo(40), undefined, { table: pipeline.table });
    const recent = await familyImage(ec2, name, daysAgo(10), undefined, { table: pipeline.table });
    const plan = await planFor(ec2, {
      'snap2ami:name': name,
      'snap2ami:family': name,
      'snap2ami:retain': '30d',
    });
    const { imageId } = await register(pipeline, plan);
    expect((await family(HOME, name)).map((image) => image.ImageId).sort()).toEqual(
      [imageId, recent.imageId].sort(),
    );
    expect(await snapshotExists(HOME, old.snapshotId)).toBe(true);
  });

  it('with retain-delete-snapshots, deletes the source snapshots too; a copy always goes with its snapshots', async () => {
    const name = unique('ret-copies');
    const tags = (n: string) => ({
      'snap2ami:name': `${name}-${n}`,
      'snap2ami:family': name,
      'snap2ami:copy-to': 'ap-southeast-2',
      'snap2ami:retain': '1',
      'snap2ami:retain-delete-snapshots': 'true',
    });
    const olderPlan = at(await planFor(ec2, tags('older')), '2026-02-01T00:00:00Z');
    const older = await register(pipeline, olderPlan);
    const [olderCopy] = await family('ap-southeast-2', name);
    const olderCopySnapshot = olderCopy?.BlockDeviceMappings?.[0]?.Ebs?.SnapshotId as string;
    expect(await snapshotExists('ap-southeast-2', olderCopySnapshot)).toBe(true);

    const newer = await register(pipeline, at(await planFor(ec2, tags('newer')), '2026-02-02T00:00:00Z'));
    expect((await family(HOME, name)).map((image) => image.ImageId)).toEqual([newer.imageId]);
    const copies = await family('ap-southeast-2', name);
    expect(copies).toHaveLength(1);
    expect(copies[0]?.SourceImageId).toBe(newer.imageId);
    expect(await snapshotExists(HOME, olderPlan.snapshotIds[0] as string)).toBe(false);
    expect(await snapshotExists('ap-southeast-2', olderCopySnapshot)).toBe(false);
    expect(older.imageId).not.toBe(newer.imageId);
  });

  it('a failed retention never fails the registration: it is recorded, and the next success of the family applies it', async () => {
    const name = unique('ret-fail');
    let failing = true;
    const p = await createPipeline({
      aroundLifecycle: async (task, next) => {
        if (task.action === 'retain' && failing)
          throw new RetryableError('DescribeImages: RequestLimitExceeded');
        return next();
      },
    });
    const old = await familyImage(ec2, name, '2025-06-01T00:00:00Z', undefined, { table: p.table });
    // Each plan with a snapshot time of its own: two snapshots made in the same second would be
    // ordered by their keys, and the first could then be the family's newest.
    const first = await register(
      p,
      at(
        await planFor(ec2, { 'snap2ami:name': `${name}-a`, 'snap2ami:family': name, 'snap2ami:retain': '1' }),
        '2026-03-01T00:00:00Z',
      ),
    );
    // Retention's error is Distribute's result, not retried: its pending item is the reconciler's.
    expect(first.execution.retries('Distribute')).toBe(0);
    const record = await p.record((first.execution.output as { key: string }).key);
    expect(record).toMatchObject({ status: 'COMPLETED', imageId: first.imageId });
    expect(JSON.parse(record?.distribution as string).retention).toMatchObject({
      Error: 'RetryableError',
      Cause: expect.stringContaining('RequestLimitExceeded'),
    });
    expect((await family(HOME, name)).map((image) => image.ImageId)).toContain(old.imageId);

    failing = false;
    const second = await register(
      p,
      at(
        await planFor(ec2, { 'snap2ami:name': `${name}-b`, 'snap2ami:family': name, 'snap2ami:retain': '1' }),
        '2026-03-02T00:00:00Z',
      ),
    );
    expect((await family(HOME, name)).map((image) => image.ImageId)).toEqual([second.imageId]);
  });
});
