/**
 * The workflow does not trust its input. Anyone who may start an execution writes its
 * request; started directly (not by ingest) with a snapshot that is not opted in, or with
 * snapshots of an account the pipeline does not trust, it registers nothing, and the FAILED
 * record and the failure notification say why. The deployed definition runs on the emulator.
 */
import { DescribeImagesCommand, EC2Client } from '@aws-sdk/client-ec2';
import { beforeAll, describe, expect, it } from 'vitest';
import { type ExecutionInput, executionInput } from '#shared/workflow.ts';
import { createPipeline, createTaggedSnapshot, EMULATOR_ACCOUNT, type Pipeline } from '../../local/index.ts';
import { executionArn as arn, planFor } from '../support/pipeline.ts';

const ec2 = new EC2Client({});
/** The account the pipeline runs in for the second pipeline: not the emulator's, which owns every snapshot. */
const PIPELINE_ACCOUNT = '210987654321';
let pipeline: Pipeline;

beforeAll(async () => {
  pipeline = await createPipeline();
});

const imagesNamed = async (name: string) =>
  (await ec2.send(new DescribeImagesCommand({ Filters: [{ Name: 'name', Values: [name] }] }))).Images ?? [];

/** Runs an execution that must be refused before RegisterImage, and checks what it leaves. */
async function expectRefused(on: Pipeline, input: ExecutionInput, reason: string) {
  const execution = await on.workflow.run(input, arn(input.key));
  expect(execution.status).toBe('FAILED');
  expect(execution.error).toBe('RegistrationFailed');
  // Refused at Register's dry run, and not retried: a permanent error.
  expect(execution.retries('Register')).toBe(0);
  expect(await on.record(input.key)).toMatchObject({
    status: 'FAILED',
    failedStep: 'DryRun',
    error: 'PermanentError',
    cause: expect.stringContaining(reason),
  });
  const notifications = (await on.notifications()).filter((n) => n.message.key === input.key);
  expect(notifications).toEqual([
    expect.objectContaining({
      message: expect.objectContaining({ outcome: 'FAILED', cause: expect.stringContaining(reason) }),
    }),
  ]);
  expect(await imagesNamed(input.request.Name)).toEqual([]);
}

describe('an execution started directly', () => {
  it('registers nothing from a root snapshot that is not opted in', async () => {
    const name = `untrusted-optin-${Date.now()}`;
    const plan = await planFor(ec2, { 'snap2ami:name': name });
    // The request of a real plan, its root swapped for a snapshot that never opted in.
    const stranger = await createTaggedSnapshot(ec2, { Name: 'not for an AMI' });
    const input = executionInput(plan, {}, new Date());
    input.request.BlockDeviceMappings[0] = {
      DeviceName: input.request.RootDeviceName,
      Ebs: { SnapshotId: stranger },
    };
    input.snapshotIds = [stranger];
    input.rootSnapshotId = stranger;
    await expectRefused(
      pipeline,
      input,
      `the root snapshot ${stranger} is not opted in: it has no snap2ami:register=true tag`,
    );
  });

  it('registers nothing from snapshots of another account, unless that account is an allowed source', async () => {
    // The snapshots belong to the emulator's account; this pipeline runs in another one.
    const elsewhere = await createPipeline({ image: { account: PIPELINE_ACCOUNT } });
    const refused = await planFor(ec2, { 'snap2ami:name': `untrusted-owner-${Date.now()}` });
    const [root] = refused.snapshotIds;
    await expectRefused(
      elsewhere,
      executionInput(refused, {}, new Date()),
      `snapshot ${root} is owned by account ${EMULATOR_ACCOUNT}, which is neither this account (${PIPELINE_ACCOUNT}) nor an allowed source account`,
    );

    const allowing = await createPipeline({
      image: { account: PIPELINE_ACCOUNT, allowedSourceAccounts: [EMULATOR_ACCOUNT] },
    });
    const name = `allowed-owner-${Date.now()}`;
    const allowed = await planFor(ec2, { 'snap2ami:name': name });
    const execution = await allowing.workflow.run(executionInput(allowed, {}, new Date()), arn(allowed.key));
    expect(execution.status, execution.cause).toBe('SUCCEEDED');
    expect(await imagesNamed(name)).toHaveLength(1);
  });
});
