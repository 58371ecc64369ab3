/**
 * A central image account for an organization (docs/organizations.md), on the emulator with two
 * accounts (local/emulator_ext/accounts.py): a member's snapshot, shared with the pipeline's
 * account, is copied in and the AMI registered from the copy (docs/adr/0014-copy-then-register.md);
 * an account outside the organization is refused in ingest.
 */
import { DescribeImagesCommand, DescribeSnapshotsCommand, EC2Client } from '@aws-sdk/client-ec2';
import { SFNClient } from '@aws-sdk/client-sfn';
import { SendMessageCommand, SQSClient } from '@aws-sdk/client-sqs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sourceReader } from '#shared/aws/source-accounts.ts';
import { PermanentError } from '#shared/errors.ts';
import { executionInput } from '#shared/workflow.ts';
import {
  createEventQueues,
  createPipeline,
  createSnapshotsEvent,
  deployMemberRole,
  EMULATOR_ACCOUNT,
  EMULATOR_REGION,
  ingestDeps,
  LOCAL_ORGANIZATION_ID,
  type LocalStepFunctions,
  MEMBER_ACCOUNT,
  type Pipeline,
  pollOnce,
  sharedMemberSnapshot,
  createSnapshotEvent as snapshotEvent,
  startStateMachine,
} from '../../local/index.ts';
import { snap2amiInProcess } from '../support/cli-in-process.ts';
import { executionArn, executionsFor } from '../support/pipeline.ts';
import { messagesIn } from '../support/sqs.ts';

const OUTSIDER = '222222222222';
const COPY_KEY = 'arn:aws:kms:us-east-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab';
const ec2 = new EC2Client({});
const sqs = new SQSClient({});
let pipeline: Pipeline;
/** The image name whose dry run fails once (a failure after the copy, for the redrive). */
let failDryRunOf: string | undefined;
let sfn: LocalStepFunctions;
let queueUrl: string;
let dlqUrl: string;

beforeAll(async () => {
  pipeline = await createPipeline({
    image: { organizationId: LOCAL_ORGANIZATION_ID, copyKmsKeyId: COPY_KEY },
    aroundImage: async (task, next) => {
      const name = (task.request as { Name?: string } | undefined)?.Name;
      // Register's dry run fails: its messages start "RegisterImage dry run" (the step is DryRun).
      if (task.action === 'register' && name !== undefined && name === failDryRunOf) {
        failDryRunOf = undefined;
        throw new PermanentError('RegisterImage dry run: injected: the dry run fails once');
      }
      return next();
    },
  });
  sfn = await startStateMachine(`snap2ami-org-${Date.now()}`, pipeline.workflow);
  ({ queueUrl, dlqUrl } = await createEventQueues(sqs, `snap2ami-org-${Date.now()}`));
  await deployMemberRole(MEMBER_ACCOUNT);
});
afterAll(() => sfn.close());

/** A member's event as it arrives through the organization bus: its own account. */
const memberEvent = (snapshotId: string, account: string) =>
  JSON.stringify({ ...snapshotEvent(snapshotId), account });

async function deliver(body: string) {
  await sqs.send(new SendMessageCommand({ QueueUrl: queueUrl, MessageBody: body }));
  const deps = ingestDeps(
    { ec2, sfn: new SFNClient({ endpoint: sfn.endpoint, maxAttempts: 1 }), sqs },
    sfn.stateMachineArn,
    dlqUrl,
  );
  const result = await pollOnce(sqs, queueUrl, {
    ...deps,
    settings: { ...deps.settings, organizationId: LOCAL_ORGANIZATION_ID },
    readSource: sourceReader(EMULATOR_REGION),
  });
  await sfn.idle();
  return result;
}

const copiesOf = async (sourceId: string) =>
  (
    await ec2.send(
      new DescribeSnapshotsCommand({
        OwnerIds: ['self'],
        Filters: [{ Name: 'tag:snap2ami:source-snapshot', Values: [sourceId] }],
      }),
    )
  ).Snapshots ?? [];

describe('a central image account for an organization', () => {
  it("registers a member's snapshot from a copy in the central account, tagged with its source; a redrive makes no second copy", async () => {
    const name = `org-member-${Date.now()}`;
    const source = await sharedMemberSnapshot(MEMBER_ACCOUNT, {
      'snap2ami:register': 'true',
      'snap2ami:name': name,
      'snap2ami:share-with': 'source',
    });
    // The first attempt fails after its copy (at the dry run); the redrive finds that copy.
    failDryRunOf = name;
    expect(await deliver(memberEvent(source, MEMBER_ACCOUNT))).toEqual({ received: 1, failed: [] });
    const [first] = executionsFor(sfn, source);
    expect(first?.status).toBe('FAILED');
    const key = first?.name as string;
    expect(await pipeline.record(key)).toMatchObject({ status: 'FAILED', failedStep: 'DryRun' });
    expect(await copiesOf(source)).toHaveLength(1);

    const input = JSON.parse(first?.input ?? '{}');
    const execution = await pipeline.workflow.run(
      { ...input, previousExecutionArn: executionArn(key) },
      executionArn(`${key}-2`),
    );
    expect(execution?.status, `${execution?.error}: ${execution?.cause}`).toBe('SUCCEEDED');
    const copies = await copiesOf(source);
    expect(copies).toHaveLength(1);
    const copy = copies[0];
    expect(copy?.OwnerId).toBe(EMULATOR_ACCOUNT);
    // An unencrypted source's copy stays unencrypted (copyKmsKeyId is for encrypted sources).
    expect(copy?.Encrypted).toBe(false);
    expect(copy?.Tags).toEqual(
      expect.arrayContaining([
        { Key: 'snap2ami:source-account', Value: MEMBER_ACCOUNT },
        { Key: 'snap2ami:source-snapshot', Value: source },
      ]),
    );
    const images = (
      await ec2.send(new DescribeImagesCommand({ Filters: [{ Name: 'name', Values: [name] }] }))
    ).Images;
    expect(images).toHaveLength(1);
    const image = images?.[0];
    expect(image?.BlockDeviceMappings?.[0]?.Ebs?.SnapshotId).toBe(copy?.SnapshotId);
    expect(image?.Tags).toEqual(
      expect.arrayContaining([
        { Key: 'snap2ami:source-account', Value: MEMBER_ACCOUNT },
        { Key: 'snap2ami:source-snapshot', Value: source },
      ]),
    );
    expect(await pipeline.record(key)).toMatchObject({
      status: 'COMPLETED',
      imageId: image?.ImageId,
      sourceAccount: MEMBER_ACCOUNT,
      copiedSnapshotIds: [copy?.SnapshotId],
    });
    // snap2ami status --json names them too.
    const status = await snap2amiInProcess(['status', key, '--json'], {
      SNAP2AMI_TABLE: pipeline.table,
      AWS_ENDPOINT_URL_SFN: sfn.endpoint,
    });
    expect(status.status, status.stderr).toBe(0);
    expect(JSON.parse(status.stdout)[0].record).toMatchObject({
      sourceAccount: MEMBER_ACCOUNT,
      copiedSnapshotIds: [copy?.SnapshotId],
    });
    // The AMI's launch permission goes back to the member (<p>share-with=source).
    expect(input.lifecycle?.shareWith).toEqual({ userIds: [MEMBER_ACCOUNT] });
  });

  it("copies a member's multi-volume set member by member, and registers the AMI from the copies", async () => {
    const name = `org-set-${Date.now()}`;
    const bootId = await sharedMemberSnapshot(MEMBER_ACCOUNT, {
      'snap2ami:register': 'true',
      'snap2ami:name': name,
    });
    const dataId = await sharedMemberSnapshot(
      MEMBER_ACCOUNT,
      { Name: 'data', 'snap2ami:device-name': '/dev/xvdb' },
      { sizeGiB: 20 },
    );
    const event = JSON.stringify({ ...createSnapshotsEvent([bootId, dataId]), account: MEMBER_ACCOUNT });
    expect(await deliver(event)).toEqual({ received: 1, failed: [] });
    const [execution] = executionsFor(sfn, bootId);
    expect(execution?.status, `${execution?.error}: ${execution?.cause}`).toBe('SUCCEEDED');
    const [bootCopy] = await copiesOf(bootId);
    const [dataCopy] = await copiesOf(dataId);
    expect(bootCopy?.VolumeSize).toBe(8);
    expect(dataCopy?.VolumeSize).toBe(20);
    const image = (await ec2.send(new DescribeImagesCommand({ Filters: [{ Name: 'name', Values: [name] }] })))
      .Images?.[0];
    expect(image?.BlockDeviceMappings?.flatMap((m) => m.Ebs?.SnapshotId ?? []).sort()).toEqual(
      [bootCopy?.SnapshotId, dataCopy?.SnapshotId].sort(),
    );
    expect((await pipeline.record(execution?.name as string))?.copiedSnapshotIds).toEqual(
      expect.arrayContaining([bootCopy?.SnapshotId, dataCopy?.SnapshotId]),
    );
  });

  it("copies an encrypted member snapshot with the deployment's KMS key", async () => {
    const name = `org-encrypted-${Date.now()}`;
    const source = await sharedMemberSnapshot(
      MEMBER_ACCOUNT,
      { 'snap2ami:register': 'true', 'snap2ami:name': name },
      { encrypted: true },
    );
    expect(await deliver(memberEvent(source, MEMBER_ACCOUNT))).toEqual({ received: 1, failed: [] });
    expect(executionsFor(sfn, source)[0]?.status).toBe('SUCCEEDED');
    const [copy] = await copiesOf(source);
    expect(copy).toMatchObject({ Encrypted: true, KmsKeyId: COPY_KEY });
  });

  it('refuses in ingest an event of an account outside the organization (no reader role there)', async () => {
    const source = await sharedMemberSnapshot(OUTSIDER, { 'snap2ami:register': 'true' });
    const before = await messagesIn(sqs, dlqUrl);
    expect(await deliver(memberEvent(source, OUTSIDER))).toEqual({ received: 1, failed: [] });
    expect(executionsFor(sfn, source)).toHaveLength(0);
    expect(await messagesIn(sqs, dlqUrl)).toBe(before + 1);
    expect(await copiesOf(source)).toHaveLength(0);
  });

  it('refuses to copy a snapshot that was not shared with the pipeline (as EC2 does)', async () => {
    const notShared = await sharedMemberSnapshot(
      MEMBER_ACCOUNT,
      { 'snap2ami:register': 'true' },
      { shareWith: OUTSIDER },
    );
    const plan = {
      key: `v1-${'0'.repeat(31)}1`,
      snapshotIds: [notShared],
      sourceAccount: MEMBER_ACCOUNT,
      notes: [],
      request: {
        Name: `org-not-shared-${Date.now()}`,
        Architecture: 'x86_64' as const,
        VirtualizationType: 'hvm',
        RootDeviceName: '/dev/xvda',
        BlockDeviceMappings: [{ DeviceName: '/dev/xvda', Ebs: { SnapshotId: notShared } }],
        TagSpecifications: [{ ResourceType: 'image' as const, Tags: [] }],
      },
    };
    const execution = await pipeline.workflow.run(
      executionInput(plan, {}, new Date()),
      executionArn(plan.key),
    );
    expect(execution.status).toBe('FAILED');
    expect(await pipeline.record(plan.key)).toMatchObject({
      status: 'FAILED',
      failedStep: 'CopySourceSnapshots',
      cause: expect.stringContaining(`snapshot ${notShared} is not shared with this account`),
    });
  });
});
