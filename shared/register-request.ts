/**
 * The `Register Snapshots` request (events.md v2): an event of snap2ami's own, in the envelope
 * EventBridge gives every event, asking the pipeline to plan and register snapshots whose
 * completion event came and went (they were tagged later) or never came. `snap2ami register`
 * and the reconciler build it here; the parser (events.ts) reads it with the same schema, so
 * sender and receiver cannot drift apart. It goes through the pipeline's queue like any
 * event: same parser, same planner, same idempotency key. Pure: the caller gives the id and
 * the time.
 */
import { isSnapshotId } from './snapshot-ref.ts';
import * as z from './zod.ts';

export const REGISTER_SNAPSHOTS_SOURCE = 'snap2ami';
export const REGISTER_SNAPSHOTS_DETAIL_TYPE = 'Register Snapshots';

/**
 * At most this many snapshots in one request. Ingest plans every root of a request and starts
 * its execution within one invocation (60 s, shared by a batch of up to 10 messages): 100
 * keeps one message's work to seconds, and its body to a few KiB. A multi-volume set is one
 * instance's volumes, far fewer than 100 in practice; longer lists of single roots are split
 * into several requests (`registerSnapshotsRequests`).
 */
export const MAX_REGISTER_SNAPSHOTS = 100;

/** `detail` of a Register Snapshots request, checked strictly: nothing else is accepted. */
export const RegisterSnapshotsDetail = z.strictObject({
  snapshotIds: z
    .array(z.string().check(z.refine(isSnapshotId, 'not a snapshot ID (snap- and 8 to 17 hex digits)')))
    .check(
      z.minLength(1, 'names no snapshot'),
      z.maxLength(MAX_REGISTER_SNAPSHOTS, `names more than ${MAX_REGISTER_SNAPSHOTS} snapshots`),
      z.refine((ids) => new Set(ids).size === ids.length, 'names a snapshot more than once'),
    ),
  /** One set (the root is the member tagged `<p>register=true`), as from a createSnapshots event. */
  multiVolume: z.optional(z.boolean()),
  /** Who asked (`snap2ami register`, the reconciler): for the logs and the dead-letter queue. */
  origin: z.optional(z.string().check(z.maxLength(128))),
});
export type RegisterSnapshotsDetail = z.infer<typeof RegisterSnapshotsDetail>;

export interface RegisterSnapshotsEvent {
  version: '0';
  id: string;
  'detail-type': typeof REGISTER_SNAPSHOTS_DETAIL_TYPE;
  source: typeof REGISTER_SNAPSHOTS_SOURCE;
  account: string;
  time: string;
  region: string;
  resources: string[];
  detail: RegisterSnapshotsDetail;
}

export interface RegisterSnapshotsInput {
  snapshotIds: readonly string[];
  multiVolume: boolean;
  /** The pipeline's account and Region: ingest trusts an event from its own account only. */
  account: string;
  region: string;
  origin: string;
  /** The event's id (a UUID) and time. */
  id: string;
  time: Date;
}

/** One request. Throws (a $ZodError, its issues naming the problem) when the detail would be rejected. */
export function registerSnapshotsEvent(input: RegisterSnapshotsInput): RegisterSnapshotsEvent {
  const detail = RegisterSnapshotsDetail.parse({
    snapshotIds: [...input.snapshotIds],
    ...(input.multiVolume && { multiVolume: true }),
    origin: input.origin,
  });
  return {
    version: '0',
    id: input.id,
    'detail-type': REGISTER_SNAPSHOTS_DETAIL_TYPE,
    source: REGISTER_SNAPSHOTS_SOURCE,
    account: input.account,
    time: input.time.toISOString(),
    region: input.region,
    resources: [],
    detail,
  };
}

/**
 * The requests for a list of snapshots: one for a multi-volume set (which must fit in one),
 * else as few as hold them, each snapshot once (duplicates dropped, order kept). `newId`
 * gives each request's id.
 */
export function registerSnapshotsRequests(
  input: Omit<RegisterSnapshotsInput, 'id'>,
  newId: () => string,
): RegisterSnapshotsEvent[] {
  const ids = [...new Set(input.snapshotIds)];
  if (input.multiVolume || ids.length <= MAX_REGISTER_SNAPSHOTS)
    return [registerSnapshotsEvent({ ...input, snapshotIds: ids, id: newId() })];
  const requests: RegisterSnapshotsEvent[] = [];
  for (let start = 0; start < ids.length; start += MAX_REGISTER_SNAPSHOTS)
    requests.push(
      registerSnapshotsEvent({
        ...input,
        snapshotIds: ids.slice(start, start + MAX_REGISTER_SNAPSHOTS),
        id: newId(),
      }),
    );
  return requests;
}
