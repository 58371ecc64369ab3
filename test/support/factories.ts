/** Test factories: snapshots, settings and planning shortcuts, instead of copied fixtures. */
import { planGroup, type SnapshotGroup } from '#shared/contract/plan.ts';
import type { Plan, PlannerSettings, Rejected, Skipped } from '#shared/contract/types.ts';
import { type Snapshot, type SnapshotInput, SnapshotSchema, toSnapshot } from '#shared/snapshot.ts';

export const ACCOUNT = '123456789012';
export const REGION = 'us-east-1';

export const SETTINGS: PlannerSettings = {
  account: ACCOUNT,
  region: REGION,
  prefix: 'snap2ami:',
  allowedSourceAccounts: [],
};

let counter = 0;

/** A fresh snapshot ID (17 hex digits, as EC2 makes them). */
export function snapshotId(): string {
  counter += 1;
  return `snap-${counter.toString(16).padStart(17, '0')}`;
}

export interface SnapshotSpec extends Partial<Omit<SnapshotInput, 'Tags'>> {
  /** Tags as a record; keys without a prefix are taken as they are. */
  tags?: Record<string, string>;
}

/** A completed snapshot of ACCOUNT, 8 GiB, with the given tags. */
export function snapshot(spec: SnapshotSpec = {}): Snapshot {
  const { tags = {}, ...fields } = spec;
  return toSnapshot(
    SnapshotSchema.parse({
      SnapshotId: snapshotId(),
      State: 'completed',
      OwnerId: ACCOUNT,
      VolumeId: 'vol-0123456789abcdef0',
      VolumeSize: 8,
      StartTime: '2026-11-20T08:30:05.000Z',
      ...fields,
      Tags: Object.entries(tags).map(([Key, Value]) => ({ Key, Value })),
    }),
  );
}

/** `snap2ami:`-prefixed tags from short keys: `{ register: 'true' }` → `{ 'snap2ami:register': 'true' }`. */
export function p(tags: Record<string, string>, prefix = 'snap2ami:'): Record<string, string> {
  return Object.fromEntries(Object.entries(tags).map(([key, value]) => [`${prefix}${key}`, value]));
}

/** An opted-in root snapshot with the given contract tags (short keys). */
export function root(tags: Record<string, string> = {}, fields: SnapshotSpec = {}): Snapshot {
  return snapshot({ ...fields, tags: { ...p({ register: 'true', ...tags }), ...fields.tags } });
}

export type Outcome = ReturnType<typeof planGroup>;

export function planOf(
  main: Snapshot,
  others: Snapshot[] = [],
  settings: Partial<PlannerSettings> = {},
  group: Partial<SnapshotGroup> = {},
): Outcome {
  const known = new Map([main, ...others].map((s) => [s.snapshotId, s]));
  return planGroup({ snapshotIds: [main.snapshotId], multiVolume: false, ...group }, known, {
    ...SETTINGS,
    ...settings,
  });
}

export function expectPlan(outcome: Outcome): Plan {
  if (!('plan' in outcome)) throw new Error(`expected a plan, got ${JSON.stringify(outcome)}`);
  return outcome.plan;
}

export function expectRejected(outcome: Outcome): Rejected {
  if (!('rejected' in outcome)) throw new Error(`expected a rejection, got ${JSON.stringify(outcome)}`);
  return outcome.rejected;
}

export function expectSkipped(outcome: Outcome): Skipped {
  if (!('skipped' in outcome)) throw new Error(`expected a skip, got ${JSON.stringify(outcome)}`);
  return outcome.skipped;
}

/** The request of the plan of a root with the given tags. */
export function requestFor(tags: Record<string, string>, fields: SnapshotSpec = {}) {
  return expectPlan(planOf(root(tags, fields))).request;
}

/** The errors of the rejection of a root with the given tags. */
export function errorsFor(tags: Record<string, string>, fields: SnapshotSpec = {}) {
  return expectRejected(planOf(root(tags, fields))).errors;
}
