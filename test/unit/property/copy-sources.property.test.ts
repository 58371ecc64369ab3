/**
 * CopySourceSnapshots (functions/image/copy-sources.ts, ADR 0014) over retries, lost answers,
 * copies that take a while, redrives, and two keys' executions at once (a set and one of its
 * snapshots alone, both from the same member snapshot), every awaited EC2 call resolved in an
 * order fast-check's scheduler chooses. EC2 is a model: DescribeSnapshots with the key's tag or
 * snapshot IDs, CopySnapshot that may fail before it copies or lose its answer after, copies
 * that complete after a few looks.
 *
 * What must always remain: each key has exactly one copy of each of its source snapshots, made
 * by this account and tagged with that key and source; every run that returns names those
 * copies; and a key never takes another key's copy. The precondition is the workflow's: the
 * key's claim lets one execution of a key run at a time (the steps of one key are sequential),
 * and EC2 shows a copy's creation tags to the next DescribeSnapshots.
 */
import type { EC2Client } from '@aws-sdk/client-ec2';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { RegisterImageRequest } from '#shared/contract/types.ts';
import { type CopyDeps, copySourceSnapshots } from '../../../functions/image/copy-sources.ts';

const ACCOUNT = '123456789012';
const MEMBER = '111111111111';
const PREFIX = 'snap2ami:';
const SOURCES = ['snap-0000000000000000a', 'snap-0000000000000000b'];

interface ModelSnapshot {
  SnapshotId: string;
  OwnerId: string;
  State: string;
  Tags: { Key: string; Value: string }[];
  /** Looks left before a copy is completed. */
  pendingLooks: number;
}

type Fault = 'none' | 'throttled' | 'lost';

/** EC2 as the copy step sees it, with the faults a run draws and a copy's time to complete. */
class ModelEc2 {
  readonly snapshots: ModelSnapshot[] = SOURCES.map((id) => ({
    SnapshotId: id,
    OwnerId: MEMBER,
    State: 'completed',
    Tags: [],
    pendingLooks: 0,
  }));
  private next = 0;
  private readonly faults: Fault[];
  private readonly looksToComplete: number;
  private readonly schedule: <T>(call: () => Promise<T>) => Promise<T>;
  constructor(faults: Fault[], looksToComplete: number, schedule: <T>(call: () => Promise<T>) => Promise<T>) {
    this.faults = faults;
    this.looksToComplete = looksToComplete;
    this.schedule = schedule;
  }

  readonly config = { region: async () => 'us-east-1' };

  send(command: { constructor: { name: string }; input: Record<string, unknown> }): Promise<unknown> {
    return this.schedule(async () => this.answer(command.constructor.name, command.input));
  }

  private answer(name: string, input: Record<string, unknown>): unknown {
    if (name === 'DescribeSnapshotsCommand') {
      const filters = (input.Filters ?? []) as { Name: string; Values: string[] }[];
      const own = (input.OwnerIds as string[] | undefined)?.includes('self');
      const found = this.snapshots.filter(
        (s) =>
          (!own || s.OwnerId === ACCOUNT) &&
          filters.every((f) =>
            f.Name === 'snapshot-id'
              ? f.Values.includes(s.SnapshotId)
              : s.Tags.some((t) => `tag:${t.Key}` === f.Name && f.Values.includes(t.Value)),
          ),
      );
      for (const s of found) if (s.State === 'pending' && --s.pendingLooks <= 0) s.State = 'completed';
      return { Snapshots: found.map(({ pendingLooks: _, ...s }) => structuredClone(s)) };
    }
    if (name === 'CopySnapshotCommand') {
      const fault = this.faults[this.next++ % this.faults.length] ?? 'none';
      if (fault === 'throttled')
        throw Object.assign(new Error('throttled'), { name: 'RequestLimitExceeded' });
      const spec = (input.TagSpecifications as { Tags: { Key: string; Value: string }[] }[])[0];
      const copy: ModelSnapshot = {
        SnapshotId: `snap-copy${String(this.snapshots.length).padStart(12, '0')}`,
        OwnerId: ACCOUNT,
        State: this.looksToComplete === 0 ? 'completed' : 'pending',
        Tags: [...(spec?.Tags ?? [])],
        pendingLooks: this.looksToComplete,
      };
      this.snapshots.push(copy);
      if (fault === 'lost') throw Object.assign(new Error('socket hang up'), { name: 'TimeoutError' });
      return { SnapshotId: copy.SnapshotId };
    }
    throw new Error(`the model has no ${name}`);
  }
}

const request = (ids: string[]): RegisterImageRequest => ({
  Name: 'org-model',
  Architecture: 'x86_64',
  VirtualizationType: 'hvm',
  RootDeviceName: '/dev/xvda',
  BlockDeviceMappings: ids.map((id, index) => ({
    DeviceName: index === 0 ? '/dev/xvda' : `/dev/xvd${String.fromCharCode(98 + index)}`,
    Ebs: { SnapshotId: id },
  })),
  TagSpecifications: [{ ResourceType: 'image', Tags: [] }],
});

/** Two keys: the set of both member snapshots, and the first alone. */
const KEYS = [
  { key: 'v1-0000000000000000000000000000000a', ids: SOURCES },
  { key: 'v1-0000000000000000000000000000000b', ids: [SOURCES[0] as string] },
];

/** One key's executions: each retries the step as its state does; an execution that gives up is redriven. */
async function executions(key: string, ids: string[], deps: CopyDeps, attemptsPerExecution: number) {
  const results: string[][] = [];
  for (let execution = 0; execution < 6; execution++) {
    for (let attempt = 0; attempt < attemptsPerExecution; attempt++) {
      try {
        const out = await copySourceSnapshots(
          { key, sourceAccount: MEMBER, snapshotIds: [...ids], request: request(ids) },
          deps,
        );
        results.push(out.copies.copiedSnapshotIds);
        return results;
      } catch (error) {
        const name = (error as Error).name;
        if (!['SnapshotCopyPending', 'RetryableError', 'ThrottledError'].includes(name)) throw error;
      }
    }
  }
  return results;
}

describe('CopySourceSnapshots', () => {
  it('keeps exactly one copy of each source per key, whatever the retries, lost answers, redrives and interleavings', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.scheduler(),
        fc.array(fc.constantFrom<Fault>('none', 'none', 'throttled', 'lost'), { minLength: 1, maxLength: 8 }),
        fc.integer({ min: 0, max: 4 }),
        fc.integer({ min: 1, max: 4 }),
        async (s, faults, looksToComplete, attemptsPerExecution) => {
          const ec2 = new ModelEc2(faults, looksToComplete, (call) => s.schedule(call()));
          const deps: CopyDeps = {
            ec2: ec2 as unknown as EC2Client,
            prefix: PREFIX,
            account: ACCOUNT,
            region: 'us-east-1',
            allowedSourceAccounts: [MEMBER],
            organizationId: undefined,
            copyKmsKeyId: undefined,
            readSource: async (_account, wanted) =>
              new Map(
                [...wanted].map((id) => [
                  id,
                  {
                    snapshotId: id,
                    state: 'completed',
                    ownerId: MEMBER,
                    volumeId: undefined,
                    volumeSize: 8,
                    startTime: undefined,
                    outpostArn: undefined,
                    tags: new Map([[`${PREFIX}register`, 'true']]),
                  },
                ]),
              ),
          };
          const runs = Promise.all(
            KEYS.map(({ key, ids }) => executions(key, ids, deps, attemptsPerExecution)),
          );
          const results = await s.waitFor(runs);
          // Then a redrive of each key with EC2 well again: it finds its copies.
          const quiet = new ModelEc2(['none'], 0, (call) => call());
          quiet.snapshots.splice(0, quiet.snapshots.length, ...ec2.snapshots);
          const final = await Promise.all(
            KEYS.map(({ key, ids }) =>
              executions(key, ids, { ...deps, ec2: quiet as unknown as EC2Client }, 50),
            ),
          );

          for (const [index, { key, ids }] of KEYS.entries()) {
            const copies = quiet.snapshots.filter((c) =>
              c.Tags.some((t) => t.Key === `${PREFIX}key` && t.Value === key),
            );
            for (const id of ids) {
              const ofSource = copies.filter((c) =>
                c.Tags.some((t) => t.Key === `${PREFIX}source-snapshot` && t.Value === id),
              );
              expect(ofSource, `${key} ${id}`).toHaveLength(1);
              expect(ofSource[0]?.OwnerId).toBe(ACCOUNT);
            }
            const expected = ids.map(
              (id) =>
                copies.find((c) => c.Tags.some((t) => t.Key === `${PREFIX}source-snapshot` && t.Value === id))
                  ?.SnapshotId,
            );
            for (const names of [...(results[index] ?? []), ...(final[index] ?? [])])
              expect(names).toEqual(expected);
            expect(final[index]).toHaveLength(1);
          }
        },
      ),
      { numRuns: 150 },
    );
  });
});
