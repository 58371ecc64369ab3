/**
 * Other accounts' snapshots, read in their own account (docs/organizations.md): tags do not
 * travel with a share, so the `<p>` tags of a snapshot another account shared with the pipeline
 * are read there, through the role that the member template (deploy/member-account.yml) makes
 * for the pipeline's account, SOURCE_READER_ROLE. Being able to assume it is also the check
 * that an organization's event comes from an account of the deployment (ADR 0004): the stack
 * lets ingest and the image function assume it only in accounts of the organization
 * (`aws:ResourceOrgID`).
 */
import { EC2Client } from '@aws-sdk/client-ec2';
import { AssumeRoleCommand, STSClient } from '@aws-sdk/client-sts';
import { partition } from '@aws-sdk/core/client';
import type { Snapshot } from '../snapshot.ts';
import { clientConfig } from './clients.ts';
import { describeSnapshots } from './snapshots.ts';
import { traced } from './tracer.ts';

/** The role each source account has for the pipeline (deploy/member-account.yml): DescribeSnapshots, and nothing else. */
export const SOURCE_READER_ROLE = 'snap2ami-source-reader';

/** Credentials are assumed again this long before they expire. */
const REFRESH_MS = 5 * 60_000;

/** The source reader role's ARN in `account`, in the partition of `region`. */
export function sourceReaderRoleArn(account: string, region: string): string {
  return `arn:${partition(region).name}:iam::${account}:role/${SOURCE_READER_ROLE}`;
}

/** Reads snapshots in their own account; throws (AccessDenied) when the account's reader role cannot be assumed. */
export type SourceReader = (account: string, snapshotIds: Iterable<string>) => Promise<Map<string, Snapshot>>;

/**
 * A reader for the container's Region: one EC2 client per source account, on the credentials of
 * its reader role, assumed on first use and again shortly before they expire.
 */
export function sourceReader(region: string, options: { workflow?: boolean } = {}): SourceReader {
  const sts = traced(new STSClient(clientConfig({ region, ...options })));
  const clients = new Map<string, EC2Client>();
  const clientFor = (account: string) => {
    let client = clients.get(account);
    if (client === undefined) {
      const credentials = assumed(sts, sourceReaderRoleArn(account, region));
      client = traced(new EC2Client({ ...clientConfig({ region, ...options }), credentials }));
      clients.set(account, client);
    }
    return client;
  };
  return async (account, snapshotIds) => {
    const client = clientFor(account);
    // Fails here, before any EC2 call, when the role cannot be assumed.
    await client.config.credentials();
    return describeSnapshots(client, snapshotIds);
  };
}

/** A credentials provider on `roleArn`, cached until shortly before they expire; a failure is not cached. */
function assumed(sts: STSClient, roleArn: string) {
  let cached: Promise<{
    accessKeyId: string;
    secretAccessKey: string;
    sessionToken?: string;
    expiration?: Date;
  }>;
  let expires = 0;
  return () => {
    if (cached === undefined || Date.now() > expires - REFRESH_MS) {
      cached = sts
        .send(new AssumeRoleCommand({ RoleArn: roleArn, RoleSessionName: 'snap2ami' }))
        .then(({ Credentials: c }) => {
          if (!c?.AccessKeyId || !c.SecretAccessKey)
            throw new Error(`AssumeRole ${roleArn} returned no credentials`);
          expires = c.Expiration?.getTime() ?? Date.now() + 15 * 60_000;
          return {
            accessKeyId: c.AccessKeyId,
            secretAccessKey: c.SecretAccessKey,
            ...(c.SessionToken && { sessionToken: c.SessionToken }),
            ...(c.Expiration && { expiration: c.Expiration }),
          };
        });
      cached.catch(() => {
        expires = 0;
      });
    }
    return cached;
  };
}

/** Whether an error says the reader role could not be assumed (the account is not a source: ADR 0004). */
export function isAccessDenied(error: unknown): boolean {
  return /^AccessDenied/.test((error as { name?: string } | undefined)?.name ?? '');
}

/**
 * Reads, in their owners' accounts, the `<p>` tags of the snapshots in `known` that another
 * account owns (the pipeline's own view of a shared snapshot has none), and puts them in
 * `known`. Returns the owners whose reader role could be assumed. An owner whose role cannot be
 * assumed (AccessDenied) keeps the pipeline's view; any other failure is thrown (the caller
 * tries again later).
 */
export async function withSourceTags(
  known: Map<string, Snapshot>,
  own: string,
  read: SourceReader,
): Promise<Set<string>> {
  const byOwner = new Map<string, string[]>();
  for (const snapshot of known.values()) {
    const owner = snapshot.ownerId;
    if (owner === undefined || owner === own) continue;
    byOwner.set(owner, [...(byOwner.get(owner) ?? []), snapshot.snapshotId]);
  }
  const readable = new Set<string>();
  for (const [owner, ids] of byOwner) {
    let there: Map<string, Snapshot>;
    try {
      there = await read(owner, ids);
    } catch (error) {
      if (isAccessDenied(error)) continue;
      throw error;
    }
    readable.add(owner);
    for (const id of ids) {
      const source = there.get(id);
      const seen = known.get(id);
      if (source !== undefined && seen !== undefined) known.set(id, { ...seen, tags: source.tags });
    }
  }
  return readable;
}
