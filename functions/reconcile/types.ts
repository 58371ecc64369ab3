/**
 * The reconciler's types, which reconcile.ts and its retention pass (retention-pass.ts) both
 * need: here, so that neither imports the other in a circle.
 */
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type { EC2Client } from '@aws-sdk/client-ec2';
import type { SFNClient } from '@aws-sdk/client-sfn';
import type { SQSClient } from '@aws-sdk/client-sqs';
import type { SSMClient } from '@aws-sdk/client-ssm';
import type { PlannerSettings } from '#shared/contract/types.ts';
import type { Copy } from '../lifecycle/types.ts';

export interface ReconcileDeps {
  dynamo: DynamoDBClient;
  sfn: SFNClient;
  ec2: EC2Client;
  sqs: SQSClient;
  /** EC2 and SSM in a Region: retention works in the pipeline's Region and each copy's. */
  ec2In(region: string): EC2Client;
  ssmIn(region: string): SSMClient;
  /** The records table. */
  table: string;
  /** The pipeline's queue, where Register Snapshots requests go. */
  queueUrl: string;
  /** The pipeline's account, Region, prefix and allowed source accounts. */
  settings: PlannerSettings;
  log: Pick<Console, 'info' | 'warn' | 'error'>;
  now?: () => Date;
  newId?: () => string;
}

export interface ReconcileOptions {
  /** Change nothing: report what would be done. */
  dryRun?: boolean;
  /** Strays: only snapshots started at least this long ago (the event path normally takes minutes). */
  graceSeconds: number;
  /** Stuck records: only claims at least this old (default SETTLE_SECONDS). */
  settleSeconds?: number;
  maxRecords?: number;
  pageSize?: number;
  /** Retention: only items whose last run started at least this long ago (default RETENTION_SETTLE_SECONDS). */
  retentionSettleSeconds?: number;
  /** Retention: families per run (default MAX_RETENTION_FAMILIES). */
  maxFamilies?: number;
}

export type StuckAction =
  | 'completed'
  | 'failed'
  | 'would complete'
  | 'would fail'
  | 'running'
  | 'image pending'
  | 'changed meanwhile'
  | 'error';

export interface StuckRecord {
  key: string;
  executionArn: string;
  /** The execution's status, or NOT_FOUND. */
  execution: string;
  action: StuckAction;
  imageId?: string;
  error?: string;
  cause?: string;
}

/** `unsure`: a root whose multi-volume set cannot be told for sure; reported, not sent. */
export type StrayAction = 'sent' | 'would send' | 'rejected' | 'failed' | 'unsure';

export interface StraySnapshot {
  snapshotId: string;
  /** What is (or would be) sent: the root first, then the members of its set, if any. */
  snapshotIds?: string[];
  key?: string;
  action: StrayAction;
  detail: string;
}

export interface ReconcileReport {
  dryRun: boolean;
  /** Launch-test instances past their timeout plus 15 minutes, terminated (or, dry, that would be). */
  launchTestInstances?: string[];
  stuck: {
    /** IN_PROGRESS records looked at. */
    examined: number;
    /** Those whose execution is not running. */
    found: number;
    /** Those finished (COMPLETED or FAILED) by this run. */
    finished: number;
    records: StuckRecord[];
  };
  strays: {
    /** Opted-in completed snapshots on this run's page. */
    examined: number;
    /** Those with no AMI and no record, and planned. */
    found: number;
    sent: number;
    /** Those the planner rejects: counted and logged, not sent (the DLQ would fill every run). */
    rejected: number;
    /** Roots whose multi-volume set cannot be told for sure: reported, not sent. */
    unsure: number;
    snapshots: StraySnapshot[];
    /** Whether this run's page was the last of a pass over the account's snapshots. */
    passComplete: boolean;
  };
  /** Families whose retention had not finished (retention-pass.ts). */
  retention: RetentionReport;
  /** What failed in this run (the rest was done): the next run tries again. */
  errors: string[];
}

export type RetentionAction = 'applied' | 'would apply' | 'failed' | 'changed meanwhile';

export interface RetentionEntry {
  family: string;
  /** The registration whose success left the work, and its image (kept whatever the rule). */
  key: string;
  imageId: string;
  action: RetentionAction;
  /** What was deregistered (with --dry-run: what would be). */
  deregistered?: Copy[];
  /** What was disabled under a grace, and from when it may go (with --dry-run: what would be). */
  disabled?: (Copy & { until: string; shared?: true })[];
  /** What was kept beyond the rule, and why. */
  kept?: (Copy & { reason: string })[];
  /** The family is still above its rule or in a grace: a later run goes on. */
  pending?: true;
  /** Why the last run before this one failed, as the item recorded it (absent after a crash). */
  previousError?: string;
  error?: string;
}

export interface RetentionReport {
  /** Pending items older than the settle time, on this run's page. */
  found: number;
  applied: number;
  failed: number;
  families: RetentionEntry[];
}
