/**
 * The state machine's input, built by whoever starts an execution (ingest, redrive). The
 * workflow cannot do date arithmetic, so the claim's lease and the record's expiry come in.
 * The contract's v2 workflow steps come in only with the plans that need them
 * (`uefiDataSource`, `billingCheck`, `lifecycle`): every other input stays as it was, so an execution a
 * starter retries with the same name meets the same input (StartExecution's idempotency).
 */
import type { BillingCheck, LaunchTest, Lifecycle, Plan, RegisterImageRequest } from './contract/types.ts';

/** How long a claim holds: longer than the state machine's own timeout (24 hours: a wait for a copy may take up to imageWaitLimitHours). */
export const CLAIM_LEASE_SECONDS = 25 * 3600;
/** How long a record is kept (DynamoDB TTL). */
export const RECORD_RETENTION_DAYS = 400;

export interface ExecutionInput {
  key: string;
  snapshotIds: string[];
  rootSnapshotId: string;
  request: RegisterImageRequest;
  claimUntil: string;
  expiresAt: number;
  source: Record<string, string>;
  /**
   * The execution of the key's earlier attempt, which its starter saw end without success
   * (FAILED, TIMED_OUT, ABORTED): the claim may take over from it. `none` for a first attempt.
   */
  previousExecutionArn: string;
  /** v2: where ReadUefiData reads the request's `UefiData` (`s3://…` or `ssm:…`), right before the dry run. */
  uefiDataSource?: string;
  /** v2: what CheckBilling expects in the image's PlatformDetails once it is available, and what it does without. */
  billingCheck?: BillingCheck;
  /** The account the snapshots came from, only when it is not the pipeline's: CopySourceSnapshots copies them in. */
  sourceAccount?: string;
  /** The plan's distribution and lifecycle (tag contract v2), only when it has one. */
  lifecycle?: Lifecycle;
  /** v3: the launch test (LaunchTest, after CheckBilling), only when the plan asks for one. */
  launchTest?: LaunchTest;
}

/** No earlier attempt: matches no execution ARN. */
export const NO_PREVIOUS_EXECUTION = 'none';

export function executionInput(
  plan: Plan,
  source: Record<string, string>,
  now: Date,
  previousExecutionArn: string = NO_PREVIOUS_EXECUTION,
): ExecutionInput {
  const rootSnapshotId = plan.request.BlockDeviceMappings[0]?.Ebs?.SnapshotId ?? plan.snapshotIds[0] ?? '';
  return {
    key: plan.key,
    snapshotIds: plan.snapshotIds,
    rootSnapshotId,
    request: plan.request,
    claimUntil: new Date(now.getTime() + CLAIM_LEASE_SECONDS * 1000).toISOString(),
    expiresAt: Math.floor(now.getTime() / 1000) + RECORD_RETENTION_DAYS * 86400,
    source,
    previousExecutionArn,
    ...(plan.uefiDataSource !== undefined && { uefiDataSource: plan.uefiDataSource }),
    ...(plan.sourceAccount !== undefined && { sourceAccount: plan.sourceAccount }),
    ...(plan.billingCheck !== undefined && { billingCheck: plan.billingCheck }),
    ...(plan.lifecycle && { lifecycle: plan.lifecycle }),
    ...(plan.launchTest && { launchTest: plan.launchTest }),
  };
}

/** Attempt n's execution name: the key for the first, `<key>-<n>` after it (at most 80 characters). */
export function attemptName(key: string, attempt: number): string {
  return attempt === 1 ? key : `${key}-${attempt}`;
}

/** How many attempts a key may have: past that, an operator looks (the record says why). */
export const MAX_ATTEMPTS = 25;
