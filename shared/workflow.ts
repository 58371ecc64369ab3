/**
 * The state machine's input, built by whoever starts an execution (ingest, redrive). The
 * workflow cannot do date arithmetic, so the claim's lease and the record's expiry come in.
 */
import type { Plan, RegisterImageRequest } from './contract/types.ts';

/** How long a claim holds: longer than the state machine's own timeout (2 hours). */
export const CLAIM_LEASE_SECONDS = 3 * 3600;
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
}

export function executionInput(plan: Plan, source: Record<string, string>, now: Date): ExecutionInput {
  const rootSnapshotId = plan.request.BlockDeviceMappings[0]?.Ebs?.SnapshotId ?? plan.snapshotIds[0] ?? '';
  return {
    key: plan.key,
    snapshotIds: plan.snapshotIds,
    rootSnapshotId,
    request: plan.request,
    claimUntil: new Date(now.getTime() + CLAIM_LEASE_SECONDS * 1000).toISOString(),
    expiresAt: Math.floor(now.getTime() / 1000) + RECORD_RETENTION_DAYS * 86400,
    source,
  };
}
