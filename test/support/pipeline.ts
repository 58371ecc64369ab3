/** Test helpers over the pipeline fixture (local/pipeline-fixture.ts): plans of real snapshots, executions by snapshot. */
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DescribeSnapshotsCommand, EC2Client, RegisterImageCommand } from '@aws-sdk/client-ec2';
import { SSMClient } from '@aws-sdk/client-ssm';
import type { Plan } from '#shared/contract/types.ts';
import { pipelineId } from '#shared/distribution.ts';
import { emptyReport } from '../../functions/reconcile/reconcile.ts';
import { retentionPass } from '../../functions/reconcile/retention-pass.ts';
import type { ReconcileDeps, ReconcileReport } from '../../functions/reconcile/types.ts';
import {
  createTaggedSnapshot,
  EMULATOR_ACCOUNT,
  EMULATOR_REGION,
  type LocalStepFunctions,
  SETTINGS,
} from '../../local/index.ts';

/** A real opted-in snapshot on the emulator, planned as ingest plans it (local/pipeline-fixture.ts). */
export { planFor } from '../../local/index.ts';

/** The local workflow's executions for a snapshot (its ID is in their input). */
export const executionsFor = (sfn: LocalStepFunctions, snapshotId: string) =>
  [...sfn.executions.values()].filter((e) => e.input.includes(snapshotId));

/** An execution ARN of the test state machine. */
export const executionArn = (name: string) =>
  `arn:aws:states:${EMULATOR_REGION}:${EMULATOR_ACCOUNT}:execution:snap2ami-register-image:${name}`;

/** A name no other test run uses. */
export const unique = (name: string) => `${name}-${Date.now()}-${Math.floor(Math.random() * 1e6)}`;

/**
 * An AMI of a family as an earlier registration left it (key, family, snapshot time, and the
 * pipeline that made it: the records table's, in the emulator's account and Region), from a
 * snapshot of its own: what retention finds of the family's past.
 */
export async function familyImage(
  ec2: EC2Client,
  family: string,
  snapshotTime: string,
  prefix = SETTINGS.prefix,
  made: { table: string; region?: string; key?: string; tags?: Record<string, string> },
): Promise<{ imageId: string; snapshotId: string; key: string }> {
  const key = made.key ?? unique('key');
  const pipeline = pipelineId(EMULATOR_ACCOUNT, made.region ?? EMULATOR_REGION, made.table);
  const snapshotId = await createTaggedSnapshot(ec2, { purpose: 'retention test' });
  const { ImageId } = await ec2.send(
    new RegisterImageCommand({
      Name: unique(`${family}-old`),
      RootDeviceName: '/dev/sda1',
      BlockDeviceMappings: [{ DeviceName: '/dev/sda1', Ebs: { SnapshotId: snapshotId } }],
      TagSpecifications: [
        {
          ResourceType: 'image',
          Tags: [
            { Key: `${prefix}key`, Value: key },
            { Key: `${prefix}family`, Value: family },
            { Key: `${prefix}snapshot-time`, Value: snapshotTime },
            { Key: `${prefix}pipeline`, Value: pipeline },
            ...Object.entries(made.tags ?? {}).map(([Key, Value]) => ({ Key, Value })),
          ],
        },
      ],
    }),
  );
  return { imageId: ImageId as string, snapshotId, key };
}

/** The plan with its AMI's `<p>snapshot-time` set: registrations of a family at chosen instants. */
export function at(plan: Plan, snapshotTime: string): Plan {
  const request = structuredClone(plan.request);
  for (const spec of request.TagSpecifications)
    for (const tag of spec.Tags) if (tag.Key === 'snap2ami:snapshot-time') tag.Value = snapshotTime;
  return { ...plan, request };
}

/** Whether the snapshot still exists in `region`. */
export async function snapshotExists(region: string, snapshotId: string): Promise<boolean> {
  try {
    const found = await new EC2Client({ region }).send(
      new DescribeSnapshotsCommand({ SnapshotIds: [snapshotId] }),
    );
    return (found.Snapshots ?? []).length > 0;
  } catch (error) {
    if ((error as Error).name === 'InvalidSnapshot.NotFound') return false;
    throw error;
  }
}

/** One run of the reconciler's retention pass over a pipeline's pending families, at once (no settle time). */
export async function retentionPassOn(
  table: string,
  region: string,
  now: () => Date = () => new Date(),
): Promise<ReconcileReport> {
  const report = emptyReport();
  const deps = {
    dynamo: new DynamoDBClient({}),
    table,
    ec2In: (where: string) => new EC2Client({ region: where }),
    ssmIn: (where: string) => new SSMClient({ region: where }),
    settings: { ...SETTINGS, region },
    log: { info: () => {}, warn: () => {}, error: () => {} },
    now,
  } as unknown as ReconcileDeps;
  await retentionPass(deps, { graceSeconds: 0, retentionSettleSeconds: 0, maxFamilies: 50 }, report);
  return report;
}
