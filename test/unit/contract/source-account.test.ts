/**
 * Another account's snapshots (ADR 0014): the plan names the account (the workflow copies them
 * in), `<p>share-with=source` is launch permission for it; and an event of another account is
 * trusted only as far as the deployment says (allowedSourceAccounts, or with an organization,
 * for ingest to check; ADR 0004).
 */
import { describe, expect, it } from 'vitest';
import { parseEvent } from '#shared/events.ts';
import { ACCOUNT, expectPlan, expectRejected, planOf, REGION, root } from '../../support/factories.ts';

const MEMBER = '111111111111';

describe('a plan of another account’s snapshot', () => {
  it('names the source account, and grants launch permission back to it for share-with=source', () => {
    const plan = expectPlan(
      planOf(root({ 'share-with': 'source,222222222222' }, { OwnerId: MEMBER }), [], {
        allowedSourceAccounts: [MEMBER],
      }),
    );
    expect(plan.sourceAccount).toBe(MEMBER);
    expect(plan.lifecycle?.shareWith).toEqual({ userIds: ['222222222222', MEMBER] });
    // The key stays the source snapshots' (one AMI per source set, however many copies).
    expect(plan.snapshotIds).toEqual([plan.request.BlockDeviceMappings[0]?.Ebs?.SnapshotId]);
  });

  it('names no source account for the pipeline’s own snapshot, and share-with=source names nobody (with a note)', () => {
    const plan = expectPlan(planOf(root({ 'share-with': 'source' })));
    expect(plan).not.toHaveProperty('sourceAccount');
    expect(plan.lifecycle).not.toHaveProperty('shareWith');
    expect(plan.notes.join(' ')).toContain('snap2ami:share-with=source names nobody here');
  });

  it('is rejected when its account is neither allowed nor vouched for', () => {
    const rejected = expectRejected(planOf(root({}, { OwnerId: MEMBER })));
    expect(rejected.errors[0]?.message).toContain(`owned by account ${MEMBER}`);
  });

  it('refuses share-with entries of none of the accepted forms, naming source among them', () => {
    const rejected = expectRejected(planOf(root({ 'share-with': 'sauce' })));
    expect(rejected.errors[0]?.message).toContain('source (the account the snapshot came from)');
  });
});

describe('an event of another account', () => {
  const event = (account: string) => ({
    version: '0',
    id: 'e-1',
    'detail-type': 'EBS Snapshot Notification',
    source: 'aws.ec2',
    account,
    time: '2026-12-07T10:00:00Z',
    region: REGION,
    resources: [],
    detail: {
      event: 'createSnapshot',
      result: 'succeeded',
      snapshot_id: `arn:aws:ec2::${REGION}:snapshot/snap-0123456789abcdef0`,
    },
  });
  const settings = { account: ACCOUNT, region: REGION, allowedSourceAccounts: [], prefix: 'snap2ami:' };

  it('is untrusted without an organization', () => {
    expect(parseEvent(event(MEMBER), settings)).toMatchObject({ outcome: 'rejected', category: 'untrusted' });
  });

  it('passes with an organization, naming its account for ingest to check', () => {
    expect(parseEvent(event(MEMBER), { ...settings, organizationId: 'o-abcdefghij' })).toMatchObject({
      outcome: 'snapshots',
      account: MEMBER,
    });
  });

  it('names no account for the pipeline’s own events or an allowed account’s: nothing to check', () => {
    const own = parseEvent(event(ACCOUNT), { ...settings, organizationId: 'o-abcdefghij' });
    expect(own).toMatchObject({ outcome: 'snapshots' });
    expect(own).not.toHaveProperty('account');
    const allowed = parseEvent(event(MEMBER), {
      ...settings,
      allowedSourceAccounts: [MEMBER],
      organizationId: 'o-abcdefghij',
    });
    expect(allowed).not.toHaveProperty('account');
  });
});
