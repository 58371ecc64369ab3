/**
 * The records table's facts, in one place for everyone who reads it (redrive and status, the
 * reconciler): the index by status that serverless.yml declares (a package test holds them
 * equal), the statuses written to it (the workflow's, statemachine/register-image.asl.json,
 * and the retention step's), and the keys of the items that are not registrations.
 */
export const RECORDS_BY_STATUS_INDEX = 'byStatus';

export const RECORD_STATUS = {
  inProgress: 'IN_PROGRESS',
  completed: 'COMPLETED',
  failed: 'FAILED',
  /**
   * A family's retention item (not a registration: functions/lifecycle/retention-item.ts) whose
   * last run has not finished, by failure or crash: the reconciler's retention pass runs it again.
   */
  retentionPending: 'RETENTION_PENDING',
  /** A family's retention item whose last run finished. */
  retentionDone: 'RETENTION_DONE',
} as const;

/** Each SSM parameter's lock and newest AMI (docs/adr/0008): `ssm-parameter#<region>#<name>`. */
export const PARAMETER_ITEM_PREFIX = 'ssm-parameter#';
/** Each family's retention, as its last run left it (docs/adr/0008): `retention#<family>`. */
export const RETENTION_ITEM_PREFIX = 'retention#';

/** A waiting task's token, under the image it waits for (shared/ami-events.ts): `image-wait#<region>#<imageId>`. */
export const IMAGE_WAIT_ITEM_PREFIX = 'image-wait#';

/** Whether a records table item is a registration, not a parameter's lock, a family's retention or a wait. */
export function isRegistrationKey(pk: string): boolean {
  return (
    !pk.startsWith(PARAMETER_ITEM_PREFIX) &&
    !pk.startsWith(RETENTION_ITEM_PREFIX) &&
    !pk.startsWith(IMAGE_WAIT_ITEM_PREFIX)
  );
}
