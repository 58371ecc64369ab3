/**
 * Parses SQS message bodies into what the pipeline does with them (docs/events.md):
 * snapshots to plan, skipped with a reason, or rejected (malformed, unsupported, untrusted).
 * Events come from outside and are trusted no further than their account.
 */
import type { SnapshotGroup } from './contract/plan.ts';
import {
  REGISTER_SNAPSHOTS_DETAIL_TYPE,
  REGISTER_SNAPSHOTS_SOURCE,
  RegisterSnapshotsDetail,
} from './register-request.ts';
import { isSnapshotId, parseSnapshotRef, type SnapshotRef } from './snapshot-ref.ts';
import * as z from './zod.ts';

export type EventKind =
  | 'createSnapshot'
  | 'copySnapshot'
  | 'shareSnapshot'
  | 'createSnapshots'
  | 'backupJob'
  | 'copyJob'
  | 'recoveryPoint'
  /** v2: a CloudTrail record of EC2 CreateTags that sets `<p>register` (a snapshot tagged after it completed). */
  | 'createTags'
  /** v2: snap2ami's own request (`snap2ami register`, the reconciler). */
  | 'registerSnapshots';

export type RejectionCategory = 'malformed' | 'unsupported' | 'untrusted';

export interface EventSettings {
  /** The pipeline's own account. */
  account: string;
  /** The pipeline's Region. */
  region: string;
  /** Accounts whose events and snapshots are accepted besides the pipeline's own. */
  allowedSourceAccounts: readonly string[];
  /**
   * With an organization (docs/organizations.md), an event of another account may come from a
   * member: it passes here, and ingest accepts it only if that account's reader role can be
   * assumed, which the stack allows in the organization's accounts alone (ADR 0004).
   */
  organizationId?: string | undefined;
  /** The tag prefix: a CreateTags record counts only when it sets `<prefix>register`. */
  prefix: string;
}

export type EventOutcome =
  /**
   * One group for most kinds; several when one event names several roots (a CreateTags record
   * of several snapshots, a Register Snapshots request without multiVolume), each planned on
   * its own under its own key. `eventTime`: the event's `time` (ISO 8601) when it has one, when
   * the snapshot, copy or backup completed: the start of the time-to-AMI metric
   * (functions/image/timing.ts).
   */
  | {
      outcome: 'snapshots';
      kind: EventKind;
      eventId: string | undefined;
      /** The event's `account` when only the organization may vouch for it: ingest checks it before planning. */
      account?: string;
      eventTime?: string;
      groups: SnapshotGroup[];
    }
  | {
      outcome: 'skipped';
      kind: EventKind;
      eventId: string | undefined;
      snapshotIds: string[];
      reason: string;
    }
  | {
      outcome: 'rejected';
      category: RejectionCategory;
      kind?: EventKind;
      eventId?: string | undefined;
      reason: string;
    };

const Envelope = z.looseObject({
  id: z.optional(z.string()),
  source: z.string(),
  'detail-type': z.string(),
  time: z.optional(z.string()),
  account: z.string(),
  region: z.string(),
  resources: z._default(z.array(z.string()), []),
  detail: z.looseObject({}),
});
type Envelope = z.infer<typeof Envelope>;

const SnsNotification = z.looseObject({ Type: z.literal('Notification'), Message: z.string() });

const EbsSnapshotDetail = z.looseObject({
  event: z.string(),
  result: z.string(),
  cause: z.optional(z.string()),
  snapshot_id: z.optional(z.string()),
  source: z.optional(z.string()),
});
const EbsMultiVolumeDetail = z.looseObject({
  event: z.string(),
  result: z.string(),
  cause: z.optional(z.string()),
  snapshots: z.optional(z.array(z.looseObject({ snapshot_id: z.string() }))),
});
// `resourceType` is missing from the documented CREATED examples; a completed job needs it.
const BackupJobDetail = z.looseObject({ state: z.string(), resourceType: z.optional(z.string()) });
const CopyJobDetail = z.looseObject({
  state: z.string(),
  resourceType: z.optional(z.string()),
  // An empty object `{}` until the copy completes (as documented), an ARN string after.
  destinationRecoveryPointArn: z.optional(z.unknown()),
});
const RecoveryPointDetail = z.looseObject({ status: z.string(), resourceType: z.optional(z.string()) });
/** A CloudTrail record, as EventBridge delivers it in `detail`: only what the kind and the outcome need. */
const CloudTrailDetail = z.looseObject({
  eventSource: z.string(),
  eventName: z.string(),
  errorCode: z.nullish(z.string()),
  errorMessage: z.nullish(z.string()),
  requestParameters: z.optional(z.unknown()),
});
/** EC2 CreateTags' request as CloudTrail records EC2's query API: item lists under `…Set`. */
const CreateTagsParameters = z.looseObject({
  resourcesSet: z.looseObject({ items: z.array(z.looseObject({ resourceId: z.string() })) }),
  tagSet: z.looseObject({
    items: z.array(z.looseObject({ key: z.string(), value: z.nullish(z.string()) })),
  }),
});

class Rejection extends Error {
  readonly category: RejectionCategory;
  constructor(category: RejectionCategory, message: string) {
    super(message);
    this.category = category;
  }
}

const malformed = (message: string) => new Rejection('malformed', message);

/** Parses one SQS message body: the event JSON, or an SNS notification (raw or wrapped) carrying it. */
export function parseMessageBody(body: string, settings: EventSettings): EventOutcome {
  let document: unknown;
  try {
    document = unwrapSns(parseJson(body, 'the message body'));
  } catch (error) {
    if (error instanceof Rejection)
      return { outcome: 'rejected', category: error.category, reason: error.message };
    throw error;
  }
  return parseEvent(document, settings);
}

/** Parses one event as EventBridge delivers it. */
export function parseEvent(document: unknown, settings: EventSettings): EventOutcome {
  const envelope = Envelope.safeParse(document);
  try {
    return classify(parseShape(Envelope, document, 'the event'), settings);
  } catch (error) {
    if (!(error instanceof Rejection)) throw error;
    const eventId = envelope.success ? envelope.data.id : undefined;
    return { outcome: 'rejected', category: error.category, eventId, reason: error.message };
  }
}

/** The pipeline's account, an allowed source account, or (with an organization) any other, checked by ingest. */
function trustedAccount(account: string, settings: EventSettings): boolean {
  return (
    account === settings.account ||
    settings.allowedSourceAccounts.includes(account) ||
    settings.organizationId !== undefined
  );
}

/** An account trusted only as a possible member of the organization: ingest checks it before planning. */
function memberOnly(account: string, settings: EventSettings): boolean {
  return (
    settings.organizationId !== undefined &&
    account !== settings.account &&
    !settings.allowedSourceAccounts.includes(account)
  );
}

function classify(event: Envelope, settings: EventSettings): EventOutcome {
  const kind = kindOf(event);
  const eventId = event.id;
  if (!trustedAccount(event.account, settings)) {
    return {
      outcome: 'rejected',
      category: 'untrusted',
      kind,
      eventId,
      reason: `the event comes from account ${event.account}, which is neither this pipeline's account (${settings.account}) nor an allowed source account${settings.organizationId ? '' : ' (and the deployment names no organizationId)'}`,
    };
  }
  const skip = (reason: string, snapshotIds: string[] = []): EventOutcome => ({
    outcome: 'skipped',
    kind,
    eventId,
    snapshotIds,
    reason,
  });
  /** The snapshots as one set (`multiVolume`), as one root, or (`each`) each a root of its own. */
  const yieldRefs = (refs: SnapshotRef[], grouping: 'multiVolume' | 'single' | 'each'): EventOutcome => {
    const snapshotIds = [...new Set(refs.map((ref) => ref.snapshotId))];
    const elsewhere = refs.find((ref) => (ref.region ?? event.region) !== settings.region);
    if (elsewhere) {
      return skip(
        `other Region: ${elsewhere.snapshotId} is in ${elsewhere.region ?? event.region}, this pipeline in ${settings.region}`,
        snapshotIds,
      );
    }
    const groups =
      grouping === 'each'
        ? snapshotIds.map((id) => ({ snapshotIds: [id], multiVolume: false }))
        : [{ snapshotIds, multiVolume: grouping === 'multiVolume' }];
    return {
      outcome: 'snapshots',
      kind,
      eventId,
      ...(memberOnly(event.account, settings) && { account: event.account }),
      ...(event.time !== undefined && { eventTime: event.time }),
      groups,
    };
  };

  switch (kind) {
    case 'createSnapshot':
    case 'copySnapshot':
    case 'shareSnapshot': {
      const detail = parseShape(EbsSnapshotDetail, event.detail, 'detail');
      const ref =
        detail.snapshot_id === undefined ? undefined : snapshotRef(detail.snapshot_id, 'detail.snapshot_id');
      const ids = ref ? [ref.snapshotId] : [];
      if (detail.result !== 'succeeded')
        return skip(`${kind} ${detail.result}${detail.cause ? `: ${detail.cause}` : ''}`, ids);
      if (!ref) throw malformed(`a succeeded ${kind} event has no detail.snapshot_id`);
      if (kind === 'shareSnapshot') {
        const sharer = detail.source;
        if (
          sharer === undefined ||
          !(settings.allowedSourceAccounts.includes(sharer) || memberOnly(sharer, settings))
        ) {
          return skip(
            `shared by account ${sharer ?? '(unknown)'}, which is not an allowed source account`,
            ids,
          );
        }
      }
      return yieldRefs([ref], 'single');
    }
    case 'createSnapshots': {
      const detail = parseShape(EbsMultiVolumeDetail, event.detail, 'detail');
      const refs = (detail.snapshots ?? []).map((member, index) =>
        snapshotRef(member.snapshot_id, `detail.snapshots[${index}].snapshot_id`),
      );
      const ids = refs.map((ref) => ref.snapshotId);
      if (detail.result !== 'succeeded')
        return skip(`createSnapshots ${detail.result}${detail.cause ? `: ${detail.cause}` : ''}`, ids);
      if (refs.length === 0) throw malformed('a succeeded createSnapshots event has no detail.snapshots');
      return yieldRefs(refs, 'multiVolume');
    }
    case 'backupJob':
    case 'recoveryPoint': {
      const { state, resourceType } =
        kind === 'backupJob'
          ? parseShape(BackupJobDetail, event.detail, 'detail')
          : (({ status, resourceType }) => ({ state: status, resourceType }))(
              parseShape(RecoveryPointDetail, event.detail, 'detail'),
            );
      const stateField = kind === 'backupJob' ? 'state' : 'status';
      const skipped = skipBackup(event['detail-type'], stateField, state, resourceType);
      if (skipped) return skip(skipped);
      const refs = event.resources.map((text) => parseSnapshotRef(text)).filter((ref) => ref !== undefined);
      const first = refs[0];
      if (!first)
        throw malformed(
          `a completed ${event['detail-type']} event names no EC2 snapshot ARN among its resources`,
        );
      return yieldRefs([first], 'single');
    }
    case 'copyJob': {
      const detail = parseShape(CopyJobDetail, event.detail, 'detail');
      const skipped = skipBackup(event['detail-type'], 'state', detail.state, detail.resourceType);
      if (skipped) return skip(skipped);
      if (typeof detail.destinationRecoveryPointArn !== 'string') {
        throw malformed('a completed Copy Job State Change event has no detail.destinationRecoveryPointArn');
      }
      return yieldRefs(
        [snapshotRef(detail.destinationRecoveryPointArn, 'detail.destinationRecoveryPointArn')],
        'single',
      );
    }
    case 'createTags': {
      const detail = parseShape(CloudTrailDetail, event.detail, 'detail');
      if (detail.errorCode)
        return skip(
          `CreateTags failed: ${detail.errorCode}${detail.errorMessage ? `: ${detail.errorMessage}` : ''}`,
        );
      const request = parseShape(CreateTagsParameters, detail.requestParameters, 'detail.requestParameters');
      const registerKey = `${settings.prefix}register`;
      const ids = request.resourcesSet.items
        .map((item) => item.resourceId)
        .filter((id) => id.startsWith('snap-'));
      if (!request.tagSet.items.some((tag) => tag.key === registerKey))
        return skip(`CreateTags does not set ${registerKey}`, ids.filter(isSnapshotId));
      const refs = ids.map((id, index) =>
        snapshotRef(id, `detail.requestParameters.resourcesSet.items[${index}]`),
      );
      if (refs.length === 0) {
        const named = request.resourcesSet.items.map((item) => item.resourceId).join(', ');
        return skip(`CreateTags set ${registerKey} on no snapshot (${named || 'no resource'})`);
      }
      // Tagging is what EC2 records; the planner reads the snapshots' current tags, so a
      // `<p>register=false` (or a tag removed since) is skipped there, as from any event.
      return yieldRefs(refs, 'each');
    }
    case 'registerSnapshots': {
      const detail = parseShape(RegisterSnapshotsDetail, event.detail, 'detail');
      const refs = detail.snapshotIds.map((id) => ({
        snapshotId: id,
        region: undefined,
        account: undefined,
      }));
      return yieldRefs(refs, detail.multiVolume ? 'multiVolume' : 'each');
    }
  }
}

/** Why an AWS Backup event yields nothing, or undefined when it is a completed EBS job. */
function skipBackup(
  type: string,
  stateField: string,
  state: string,
  resourceType: string | undefined,
): string | undefined {
  if (resourceType !== undefined && resourceType !== 'EBS') return resourceTypeReason(resourceType);
  if (state !== 'COMPLETED') return `${type}: ${stateField} is ${state}, not COMPLETED`;
  if (resourceType === undefined) throw malformed(`a completed ${type} event has no detail.resourceType`);
  return undefined;
}

function kindOf(event: Envelope): EventKind {
  const type = event['detail-type'];
  if (event.source === 'aws.ec2' && type === 'AWS API Call via CloudTrail') {
    const { eventSource, eventName } = event.detail;
    if (eventSource === 'ec2.amazonaws.com' && eventName === 'CreateTags') return 'createTags';
    throw new Rejection(
      'unsupported',
      `a CloudTrail record of ${typeof eventSource === 'string' ? eventSource : '(no eventSource)'} ${typeof eventName === 'string' ? eventName : '(no eventName)'} is not supported; supported: ec2.amazonaws.com CreateTags`,
    );
  }
  if (event.source === REGISTER_SNAPSHOTS_SOURCE && type === REGISTER_SNAPSHOTS_DETAIL_TYPE)
    return 'registerSnapshots';
  if (event.source === 'aws.ec2') {
    const name = typeof event.detail.event === 'string' ? event.detail.event : undefined;
    if (
      type === 'EBS Snapshot Notification' &&
      (name === 'createSnapshot' || name === 'copySnapshot' || name === 'shareSnapshot')
    ) {
      return name;
    }
    if (type === 'EBS Multi-Volume Snapshots Completion Status' && name === 'createSnapshots')
      return 'createSnapshots';
    if (type === 'EBS Snapshot Notification' || type === 'EBS Multi-Volume Snapshots Completion Status') {
      throw new Rejection(
        'unsupported',
        `${type} for the event ${name === undefined ? '(none)' : `"${name}"`} is not supported; supported: createSnapshot, copySnapshot, shareSnapshot, createSnapshots`,
      );
    }
  }
  if (event.source === 'aws.backup') {
    if (type === 'Backup Job State Change') return 'backupJob';
    if (type === 'Copy Job State Change') return 'copyJob';
    if (type === 'Recovery Point State Change') return 'recoveryPoint';
  }
  throw new Rejection(
    'unsupported',
    `source "${event.source}" with detail-type "${type}" is not supported; see the accepted events in docs/events.md`,
  );
}

function resourceTypeReason(resourceType: string): string {
  return resourceType === 'EC2'
    ? 'resourceType is EC2: backups of EC2 instances are AMIs already'
    : `resourceType is ${resourceType}, not EBS`;
}

function snapshotRef(text: string, where: string): SnapshotRef {
  const ref = parseSnapshotRef(text);
  if (!ref) throw malformed(`${where} is "${text}", which is not a snapshot ARN or ID`);
  return ref;
}

function parseJson(text: string, what: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    throw malformed(`${what} is not JSON`);
  }
}

function unwrapSns(document: unknown): unknown {
  const notification = SnsNotification.safeParse(document);
  return notification.success
    ? parseJson(notification.data.Message, "the SNS notification's Message")
    : document;
}

function parseShape<T extends z.ZodMiniType>(schema: T, value: unknown, what: string): z.output<T> {
  const result = schema.safeParse(value);
  if (result.success) return result.data;
  const issue = result.error.issues[0];
  const path = issue?.path.length ? `${what}.${issue.path.join('.')}` : what;
  throw malformed(`${path}: ${issue?.message ?? 'unexpected shape'}`);
}
