/**
 * The state machine's input (shared/workflow.ts): the contract's v2 steps come in with the plans
 * that need them, and only with those, so a plan without them starts the same input as before
 * (a starter that retries StartExecution with the same name must meet the same input).
 */
import { describe, expect, it } from 'vitest';
import { executionInput, NO_PREVIOUS_EXECUTION } from '#shared/workflow.ts';
import { expectPlan, planOf, root } from '../support/factories.ts';

const NOW = new Date('2026-11-30T12:00:00.000Z');
const planFor = (tags: Record<string, string>) => expectPlan(planOf(root(tags)));

describe('executionInput', () => {
  it('is unchanged for a plan with neither uefiDataSource nor billingCheck', () => {
    const plan = planFor({});
    expect(executionInput(plan, { kind: 'test' }, NOW)).toEqual({
      key: plan.key,
      snapshotIds: plan.snapshotIds,
      rootSnapshotId: plan.snapshotIds[0],
      request: plan.request,
      // The lease: 25 hours, longer than the execution's own timeout (24 hours, ADR 0013).
      claimUntil: '2026-12-01T13:00:00.000Z',
      expiresAt: Math.floor(NOW.getTime() / 1000) + 400 * 86400,
      source: { kind: 'test' },
      previousExecutionArn: NO_PREVIOUS_EXECUTION,
    });
  });

  it('carries the plan’s uefiDataSource, unchanged, for ReadUefiData', () => {
    const plan = planFor({ 'boot-mode': 'uefi', 'uefi-data': 's3://uefi-store/web.b64' });
    const input = executionInput(plan, {}, NOW);
    expect(input.uefiDataSource).toBe('s3://uefi-store/web.b64');
    expect(input).not.toHaveProperty('billingCheck');
    expect(input.request).not.toHaveProperty('UefiData');
  });

  it.each([
    [{ platform: 'windows' }, { expect: 'Windows', onMissing: 'deregister' }],
    [
      { platform: 'rhel', 'allow-billing-code-loss': 'true' },
      { expect: 'Red Hat', onMissing: 'keep' },
    ],
  ])('carries the plan’s billingCheck for CheckBilling (%j)', (tags, check) => {
    const input = executionInput(planFor(tags), {}, NOW);
    expect(input.billingCheck).toEqual(check);
    expect(input).not.toHaveProperty('uefiDataSource');
  });
});
