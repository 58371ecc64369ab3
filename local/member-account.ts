/**
 * A member account on the local emulator (local/emulator_ext/accounts.py): clients that act as
 * another account (moto's multi-account support, its `x-moto-account-id` header), what the member
 * template (deploy/member-account.yml) gives the pipeline there (its source reader role), and a
 * snapshot the member shares with the pipeline's account. For tests and the local run's samples.
 */
import {
  CreateSnapshotCommand,
  CreateVolumeCommand,
  EC2Client,
  ModifySnapshotAttributeCommand,
} from '@aws-sdk/client-ec2';
import { CreateRoleCommand, IAMClient } from '@aws-sdk/client-iam';
import { SOURCE_READER_ROLE } from '#shared/aws/source-accounts.ts';
import { type Snapshot, SnapshotSchema, toSnapshot } from '#shared/snapshot.ts';
import { EMULATOR_ACCOUNT } from './moto-emulator.ts';

/** The local run's member account: another account of the organization, which shares its snapshots. */
export const MEMBER_ACCOUNT = '111111111111';
/** The organization of the local run and the tests. */
export const LOCAL_ORGANIZATION_ID = 'o-snap2amilocal';

/** A client of `account` on the emulator: every request carries moto's account header. */
export function asAccount<T extends EC2Client | IAMClient>(client: T, account: string): T {
  type Args = { request: { headers?: Record<string, string> } };
  type Handler = (args: Args) => Promise<unknown>;
  const stack = client.middlewareStack as unknown as {
    add(middleware: (next: Handler) => Handler, options: { step: 'build'; name: string }): void;
  };
  stack.add(
    (next) => (args) => {
      if (args.request.headers) args.request.headers['x-moto-account-id'] = account;
      return next(args);
    },
    { step: 'build', name: 'emulatorAccount' },
  );
  return client;
}

/** What deploy/member-account.yml makes in a member: the role the pipeline's account reads its snapshots through. */
export async function deployMemberRole(account: string, central = EMULATOR_ACCOUNT): Promise<void> {
  const iam = asAccount(new IAMClient({}), account);
  try {
    await iam.send(
      new CreateRoleCommand({
        RoleName: SOURCE_READER_ROLE,
        AssumeRolePolicyDocument: JSON.stringify({
          Version: '2012-10-17',
          Statement: [
            { Effect: 'Allow', Principal: { AWS: `arn:aws:iam::${central}:root` }, Action: 'sts:AssumeRole' },
          ],
        }),
      }),
    );
  } catch (error) {
    if ((error as Error).name !== 'EntityAlreadyExistsException') throw error;
  }
}

/**
 * A snapshot in `account` with these tags, shared with the pipeline's account (createVolumePermission),
 * as a member's backup would be; encrypted with the member's default EBS key when asked.
 */
export async function sharedMemberSnapshot(
  account: string,
  tags: Record<string, string>,
  options: { encrypted?: boolean; sizeGiB?: number; shareWith?: string } = {},
): Promise<string> {
  const ec2 = asAccount(new EC2Client({}), account);
  const volume = await ec2.send(
    new CreateVolumeCommand({
      AvailabilityZone: `${await ec2.config.region()}a`,
      Size: options.sizeGiB ?? 8,
      ...(options.encrypted && { Encrypted: true }),
    }),
  );
  const { SnapshotId } = await ec2.send(
    new CreateSnapshotCommand({
      VolumeId: volume.VolumeId,
      Description: 'snap2ami member snapshot',
      TagSpecifications: [
        { ResourceType: 'snapshot', Tags: Object.entries(tags).map(([Key, Value]) => ({ Key, Value })) },
      ],
    }),
  );
  if (!SnapshotId) throw new Error('the emulator returned no SnapshotId');
  await ec2.send(
    new ModifySnapshotAttributeCommand({
      SnapshotId,
      Attribute: 'createVolumePermission',
      OperationType: 'add',
      UserIds: [options.shareWith ?? EMULATOR_ACCOUNT],
    }),
  );
  return SnapshotId;
}

/**
 * The local run's sample from the member account (added to the default samples): opted in,
 * shared with the pipeline's account, its launch permission back to the member. The pipeline
 * copies it in and registers the AMI from the copy (`sourceAccount`, `copiedSnapshotIds`).
 */
export function memberSample(): Snapshot {
  return toSnapshot(
    SnapshotSchema.parse({
      SnapshotId: 'snap-0a1b2c3d4e5f6000a',
      Description: "Root volume of a member account's build server, shared with the central image account",
      VolumeSize: 8,
      State: 'completed',
      OwnerId: MEMBER_ACCOUNT,
      StartTime: '2026-11-20T09:00:00.000Z',
      Tags: [
        { Key: 'snap2ami:register', Value: 'true' },
        { Key: 'snap2ami:name', Value: 'member-build-{date}' },
        { Key: 'snap2ami:share-with', Value: 'source' },
        { Key: 'example:expect', Value: 'planned' },
      ],
    }),
  );
}
