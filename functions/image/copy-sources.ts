/**
 * CopySourceSnapshots: another account's snapshots, copied into the pipeline's account before
 * the dry run, so that the AMI is registered from snapshots the pipeline owns
 * (docs/adr/0014-copy-then-register.md). Idempotent per key: each copy carries `<p>key` and
 * `<p>source-snapshot` from its creation (CopySnapshot's TagSpecifications), and a retry or a
 * redrive finds it by them instead of copying again. The key's claim lets one execution at a
 * time run this step, so a lookup that finds nothing is not raced by another copy of the key.
 * Copies of encrypted snapshots are encrypted with the deployment's copyKmsKeyId (or the
 * account's default EBS key); copies of unencrypted ones stay unencrypted. The step returns once every copy is completed (a copy in progress
 * is SnapshotCopyPending, retried by the state's Retry); the register request then names the copies.
 */
import {
  CopySnapshotCommand,
  DescribeSnapshotsCommand,
  type EC2Client,
  type Snapshot as Ec2Snapshot,
} from '@aws-sdk/client-ec2';
import type { SourceReader } from '#shared/aws/source-accounts.ts';
import { TagReader } from '#shared/contract/reader.ts';
import type { RegisterImageRequest } from '#shared/contract/types.ts';
import { classified, classify, PermanentError, RetryableError, SnapshotCopyPending } from '#shared/errors.ts';
import type { Snapshot } from '#shared/snapshot.ts';
import { requestSnapshotIds, rootSnapshotId } from './sources.ts';

export interface CopyDeps {
  ec2: EC2Client;
  prefix: string;
  /** This account: the image function's own, from its ARN. */
  account: string;
  region: string;
  allowedSourceAccounts: readonly string[];
  /** With an organization, any account whose reader role can be assumed is a source (ADR 0004). */
  organizationId: string | undefined;
  copyKmsKeyId: string | undefined;
  readSource: SourceReader;
}

/** The execution's state as CopySourceSnapshots sees it: the fields it reads and replaces. */
export interface CopyState {
  key: string;
  sourceAccount: string;
  snapshotIds: string[];
  request: RegisterImageRequest;
  [field: string]: unknown;
}

export interface Copies {
  sourceAccount: string;
  /** The source snapshots, in the request's order, and each one's copy at the same index. */
  sourceSnapshotIds: string[];
  copiedSnapshotIds: string[];
}

/** The state with the request and the snapshot IDs of the copies, and `copies` for the record. */
export async function copySourceSnapshots(state: CopyState, deps: CopyDeps) {
  const { key, sourceAccount, request } = state;
  checkTrusted(sourceAccount, deps);
  const sources = requestSnapshotIds(request);
  const copies = await copiesOfKey(key, deps);
  const missing = sources.filter((id) => !copies.has(id));
  if (missing.length > 0) {
    const seen = await checkSources(sourceAccount, missing, rootSnapshotId(request), deps);
    for (const id of missing)
      copies.set(id, await copyOne(key, sourceAccount, id, seen.get(id)?.Encrypted === true, deps));
  }
  const pending = sources.filter((id) => copies.get(id)?.State !== 'completed');
  if (pending.length > 0)
    throw new SnapshotCopyPending(
      `copies of ${pending.join(', ')} are ${pending.map((id) => copies.get(id)?.State ?? 'not visible yet').join(', ')}`,
    );
  const copyOf = (id: string) => copies.get(id)?.SnapshotId as string;
  const result: Copies = {
    sourceAccount,
    sourceSnapshotIds: sources,
    copiedSnapshotIds: sources.map(copyOf),
  };
  return {
    ...state,
    request: copiedRequest(request, copyOf, sourceAccount, deps.prefix),
    snapshotIds: [...result.copiedSnapshotIds].sort(),
    copies: result,
  };
}

function checkTrusted(sourceAccount: string, deps: CopyDeps): void {
  if (sourceAccount === deps.account)
    throw new PermanentError(`${sourceAccount} is this account: nothing to copy`);
  if (deps.organizationId === undefined && !deps.allowedSourceAccounts.includes(sourceAccount))
    throw new PermanentError(
      `CopySnapshot refused: account ${sourceAccount} is neither an allowed source account nor, without organizationId, trusted by organization`,
    );
}

/** This account's copies of the key, by source snapshot: one DescribeSnapshots. */
async function copiesOfKey(key: string, { ec2, prefix }: CopyDeps): Promise<Map<string, Ec2Snapshot>> {
  const { Snapshots = [] } = await classified('DescribeSnapshots (copies of the key)', () =>
    ec2.send(
      new DescribeSnapshotsCommand({
        OwnerIds: ['self'],
        Filters: [{ Name: `tag:${prefix}key`, Values: [key] }],
      }),
    ),
  );
  const copies = new Map<string, Ec2Snapshot>();
  for (const snapshot of Snapshots) {
    const source = snapshot.Tags?.find((tag) => tag.Key === `${prefix}source-snapshot`)?.Value;
    // Two copies of one source (a copy whose answer was lost, then EC2's eventual consistency):
    // the first completed one, by ID for a stable choice.
    const held = source === undefined ? undefined : copies.get(source);
    if (source !== undefined && (held === undefined || better(snapshot, held))) copies.set(source, snapshot);
  }
  return copies;
}

const better = (a: Ec2Snapshot, b: Ec2Snapshot) =>
  (a.State === 'completed') !== (b.State === 'completed')
    ? a.State === 'completed'
    : (a.SnapshotId ?? '') < (b.SnapshotId ?? '');

/**
 * The sources as this account sees them (shared with it, owned by the source account) and the
 * root as the source account sees it (opted in with `<p>register=true`: the workflow does not
 * take ingest's word for it; reading it there is also the organization check).
 */
async function checkSources(
  sourceAccount: string,
  ids: string[],
  root: string | undefined,
  deps: CopyDeps,
): Promise<Map<string | undefined, Ec2Snapshot>> {
  const { Snapshots = [] } = await classified('DescribeSnapshots (sources)', () =>
    deps.ec2.send(new DescribeSnapshotsCommand({ Filters: [{ Name: 'snapshot-id', Values: ids }] })),
  );
  const seen = new Map(Snapshots.map((snapshot) => [snapshot.SnapshotId, snapshot]));
  const problems: string[] = [];
  for (const id of ids) {
    const snapshot = seen.get(id);
    if (snapshot === undefined)
      problems.push(`snapshot ${id} is not shared with this account (${deps.account})`);
    else if (snapshot.OwnerId !== sourceAccount)
      problems.push(
        `snapshot ${id} is owned by ${snapshot.OwnerId ?? 'an unknown account'}, not ${sourceAccount}`,
      );
    else if (snapshot.State !== 'completed')
      problems.push(`snapshot ${id} is ${snapshot.State}, not completed`);
  }
  if (root !== undefined && ids.includes(root)) {
    let there: Map<string, Snapshot>;
    try {
      there = await deps.readSource(sourceAccount, [root]);
    } catch (error) {
      throw new PermanentError(
        `CopySnapshot refused: the source account ${sourceAccount}'s snapshots cannot be read (${(error as Error).name}: ${(error as Error).message}); deploy deploy/member-account.yml there`,
        { cause: error },
      );
    }
    const source = there.get(root);
    const optIn = source && new TagReader(source, deps.prefix).get('register');
    if (optIn !== true)
      problems.push(
        `the root snapshot ${root} is not opted in with ${deps.prefix}register=true in ${sourceAccount}`,
      );
  }
  if (problems.length > 0) throw new PermanentError(`CopySnapshot refused: ${problems.join('; ')}`);
  return seen;
}

/**
 * One CopySnapshot, tagged so that a retry finds it; an encrypted source's copy under the
 * deployment's copyKmsKeyId when it names one (else EBS's rule: the account's default EBS key; an
 * unencrypted source's copy stays unencrypted). ResourceLimitExceeded (the concurrent-copy quota)
 * is transient.
 */
async function copyOne(
  key: string,
  sourceAccount: string,
  id: string,
  encrypted: boolean,
  deps: CopyDeps,
): Promise<Ec2Snapshot> {
  const { ec2, prefix, region, copyKmsKeyId } = deps;
  try {
    const { SnapshotId } = await ec2.send(
      new CopySnapshotCommand({
        SourceRegion: region,
        SourceSnapshotId: id,
        Description: `snap2ami: copy of ${id} from ${sourceAccount} (${key})`,
        ...(encrypted && copyKmsKeyId !== undefined && { Encrypted: true, KmsKeyId: copyKmsKeyId }),
        TagSpecifications: [
          {
            ResourceType: 'snapshot',
            Tags: [
              { Key: `${prefix}key`, Value: key },
              { Key: `${prefix}source-account`, Value: sourceAccount },
              { Key: `${prefix}source-snapshot`, Value: id },
            ],
          },
        ],
      }),
    );
    if (!SnapshotId) throw new PermanentError(`CopySnapshot of ${id} returned no SnapshotId`);
    return { SnapshotId, State: 'pending' };
  } catch (error) {
    if ((error as Error).name === 'ResourceLimitExceeded')
      throw new RetryableError(
        `CopySnapshot of ${id}: ResourceLimitExceeded: the Region's concurrent snapshot copies are all in use; trying again`,
        { cause: error },
      );
    throw error instanceof PermanentError ? error : classify(error, `CopySnapshot of ${id}`);
  }
}

/** The request with each source snapshot replaced by its copy, the AMI tagged with the source account. */
function copiedRequest(
  request: RegisterImageRequest,
  copyOf: (id: string) => string,
  sourceAccount: string,
  prefix: string,
): RegisterImageRequest {
  return {
    ...request,
    BlockDeviceMappings: request.BlockDeviceMappings.map((mapping) =>
      mapping.Ebs?.SnapshotId === undefined
        ? mapping
        : { ...mapping, Ebs: { ...mapping.Ebs, SnapshotId: copyOf(mapping.Ebs.SnapshotId) } },
    ),
    TagSpecifications: request.TagSpecifications.map((spec) => ({
      ...spec,
      Tags: [
        ...spec.Tags.filter((tag) => tag.Key !== `${prefix}source-account`),
        { Key: `${prefix}source-account`, Value: sourceAccount },
      ],
    })),
  };
}
