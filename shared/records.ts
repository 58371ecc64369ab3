/**
 * The records table's facts, in one place for everyone who reads it (redrive and status, the
 * reconciler): the index by status that serverless.yml declares (a package test holds them
 * equal), and the statuses the workflow writes (statemachine/register-image.asl.json).
 */
export const RECORDS_BY_STATUS_INDEX = 'byStatus';

export const RECORD_STATUS = {
  inProgress: 'IN_PROGRESS',
  completed: 'COMPLETED',
  failed: 'FAILED',
} as const;
