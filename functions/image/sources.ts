/**
 * What a RegisterImage request may be built from, checked right before every RegisterImage
 * (dry run or not). Whoever can start an execution, or invoke the image function, writes the
 * request, so the function does not take ingest's word for it: every snapshot the request
 * names must belong to this account or to an allowed source account, and the root snapshot
 * (the one mapped to RootDeviceName) must be opted in with `<prefix>register=true`, as the
 * planner required. Pure: the caller looks the snapshots up.
 */
import { TagReader } from '#shared/contract/reader.ts';
import type { RegisterImageRequest } from '#shared/contract/types.ts';
import type { Snapshot } from '#shared/snapshot.ts';

export interface SourceSettings {
  /** This account: the image function's own, from its ARN. */
  account: string;
  allowedSourceAccounts: readonly string[];
  prefix: string;
}

/** The snapshots a request names: the root device's first, then the others in mapping order. */
export function requestSnapshotIds(request: RegisterImageRequest): string[] {
  const root = rootSnapshotId(request);
  const all = request.BlockDeviceMappings.flatMap((mapping) => mapping.Ebs?.SnapshotId ?? []);
  return [...new Set(root === undefined ? all : [root, ...all])];
}

/** The snapshot mapped to the request's root device. */
export function rootSnapshotId(request: RegisterImageRequest): string | undefined {
  return request.BlockDeviceMappings.find((mapping) => mapping.DeviceName === request.RootDeviceName)?.Ebs
    ?.SnapshotId;
}

/** Why the request must not be registered, one clause per problem; none when it may be. */
export function sourceProblems(
  request: RegisterImageRequest,
  found: ReadonlyMap<string, Snapshot>,
  { account, allowedSourceAccounts, prefix }: SourceSettings,
): string[] {
  if (!/^\d{12}$/.test(account))
    return [
      `this function's own account is unknown ("${account}"), so no snapshot can be shown to be its own`,
    ];
  const problems: string[] = [];
  const root = rootSnapshotId(request);
  if (root === undefined)
    problems.push(`the request maps no snapshot to its root device ${request.RootDeviceName}`);
  for (const id of requestSnapshotIds(request)) {
    const snapshot = found.get(id);
    if (snapshot === undefined) {
      problems.push(`snapshot ${id} was not found: it does not exist, or this account cannot see it`);
      continue;
    }
    const owner = snapshot.ownerId;
    if (owner !== account && !(owner !== undefined && allowedSourceAccounts.includes(owner)))
      problems.push(
        `snapshot ${id} is owned by ${owner === undefined ? 'an unknown account' : `account ${owner}`}, which is neither this account (${account}) nor an allowed source account`,
      );
    if (id === root) {
      const optIn = new TagReader(snapshot, prefix).get('register');
      // A copy CopySourceSnapshots made of another account's snapshot, whose opt-in it checked there.
      const copied = owner === account && snapshot.tags.has(`${prefix}source-snapshot`);
      if (optIn !== true && !copied)
        problems.push(
          `the root snapshot ${id} is not opted in: ${optIn === false ? `${prefix}register is false` : `it has no ${prefix}register=true tag`}`,
        );
    }
  }
  return problems;
}
