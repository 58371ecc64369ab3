/**
 * The tag contract's "Distribution and lifecycle" table (v2), the planner's part: every tag
 * accepted and rejected at its boundaries, and the plan's `lifecycle` object as
 * `snap2ami plan --json` shows it, with the fields that are set and no others.
 */
import { describe, expect, it } from 'vitest';
import type { Lifecycle } from '#shared/contract/types.ts';
import { errorsFor, expectPlan, p, planOf, root, snapshot } from '../../support/factories.ts';

const lifecycleOf = (tags: Record<string, string>): Lifecycle | undefined =>
  expectPlan(planOf(root(tags))).lifecycle;

const REGIONS_10 = [
  'us-west-2',
  'us-west-1',
  'us-east-2',
  'eu-central-1',
  'eu-west-2',
  'eu-north-1',
  'ap-southeast-2',
  'ap-northeast-1',
  'sa-east-1',
  'ca-central-1',
];
const ORG = 'arn:aws:organizations::123456789012:organization/o-a1b2c3d4e5';
const OU = 'arn:aws:organizations::123456789012:ou/o-a1b2c3d4e5/ou-ab12-cd34ef56';
const KEY_ID = '1234abcd-12ab-34cd-56ef-1234567890ab';

describe('lifecycle: the plan', () => {
  it('has no lifecycle without lifecycle tags, and no note about it', () => {
    const plan = expectPlan(planOf(root()));
    expect(plan).not.toHaveProperty('lifecycle');
    expect(plan.notes.join(' ')).not.toContain('lifecycle');
  });

  it("carries the spec's example as its lifecycle object, in the tag's Region order", () => {
    const plan = expectPlan(
      planOf(
        root({
          'copy-to': 'us-west-2,eu-central-1',
          'copy-kms-key:eu-central-1': 'alias/ami',
          'share-with': `123456789012,${ORG},${OU}`,
          'ssm-parameter': '/golden/web',
          'deprecate-after': '90d',
          'deregistration-protection': 'with-cooldown',
          family: 'web',
          retain: '3',
          'retain-delete-snapshots': 'true',
        }),
      ),
    );
    expect(JSON.parse(JSON.stringify(plan.lifecycle))).toEqual({
      copyTo: [{ region: 'us-west-2' }, { region: 'eu-central-1', kmsKeyId: 'alias/ami' }],
      shareWith: { userIds: ['123456789012'], organizationArns: [ORG], organizationalUnitArns: [OU] },
      ssmParameter: '/golden/web',
      deprecateAfterDays: 90,
      deregistrationProtection: 'with-cooldown',
      family: 'web',
      retain: { count: 3 },
      retainDeleteSnapshots: true,
    });
  });

  it('no longer says the workflow does not carry the lifecycle out (it does: ADR 0008)', () => {
    const plan = expectPlan(planOf(root({ 'ssm-parameter': '/golden/web' })));
    expect(plan.notes.join(' ')).not.toContain('not yet carried out');
  });

  it('has only the fields that are set', () => {
    expect(lifecycleOf({ family: 'web' })).toEqual({ family: 'web' });
    expect(lifecycleOf({ 'share-with': '123456789012' })).toEqual({
      shareWith: { userIds: ['123456789012'] },
    });
  });

  it('ignores lifecycle tags on a set member, and says so', () => {
    const boot = root();
    const member = snapshot({
      tags: p({ 'device-name': '/dev/sdf', 'copy-to': 'us-west-2', 'copy-kms-key:us-west-2': 'alias/x' }),
    });
    const plan = expectPlan(
      planOf(boot, [member], {}, { snapshotIds: [boot.snapshotId, member.snapshotId], multiVolume: true }),
    );
    expect(plan).not.toHaveProperty('lifecycle');
    expect(plan.notes.join(' ')).toContain('snap2ami:copy-to, snap2ami:copy-kms-key:us-west-2 ignored');
  });
});

// [tag, value, the lifecycle it gives]
const accepted: [string, string, Lifecycle][] = [
  ['copy-to', 'us-west-2', { copyTo: [{ region: 'us-west-2' }] }],
  [
    'copy-to',
    ' us-gov-east-1 , ap-southeast-7',
    { copyTo: [{ region: 'us-gov-east-1' }, { region: 'ap-southeast-7' }] },
  ],
  ['copy-to', REGIONS_10.join(','), { copyTo: REGIONS_10.map((region) => ({ region })) }],
  ['share-with', '123456789012', { shareWith: { userIds: ['123456789012'] } }],
  [
    'share-with',
    `${OU}, 210987654321`,
    { shareWith: { userIds: ['210987654321'], organizationalUnitArns: [OU] } },
  ],
  ['share-with', ORG, { shareWith: { organizationArns: [ORG] } }],
  ['ssm-parameter', '/golden/web', { ssmParameter: '/golden/web' }],
  ['ssm-parameter', 'golden.web_1-a', { ssmParameter: 'golden.web_1-a' }],
  ['ssm-parameter', `/${'p'.repeat(1010)}`, { ssmParameter: `/${'p'.repeat(1010)}` }],
  ['ssm-parameter', '/golden/aws', { ssmParameter: '/golden/aws' }],
  ['deprecate-after', '1d', { deprecateAfterDays: 1 }],
  ['deprecate-after', '3650d', { deprecateAfterDays: 3650 }],
  ['deprecate-after', '1w', { deprecateAfterDays: 7 }],
  ['deprecate-after', '521w', { deprecateAfterDays: 3647 }],
  ['deprecate-after', '1y', { deprecateAfterDays: 365 }],
  ['deprecate-after', '10y', { deprecateAfterDays: 3650 }],
  ['deregistration-protection', 'true', { deregistrationProtection: 'on' }],
  ['deregistration-protection', 'TRUE', { deregistrationProtection: 'on' }],
  ['deregistration-protection', 'with-cooldown', { deregistrationProtection: 'with-cooldown' }],
  ['deregistration-protection', 'false', {}],
  ['family', 'w', { family: 'w' }],
  ['family', "web (prod) [x] ./-'@_", { family: "web (prod) [x] ./-'@_" }],
  ['family', 'f'.repeat(128), { family: 'f'.repeat(128) }],
  ['retain-delete-snapshots', 'true', { retainDeleteSnapshots: true }],
  ['retain-delete-snapshots', 'False', { retainDeleteSnapshots: false }],
  ['retain-grace', '0d', {}],
  ['retain-grace', '3d', { retainGraceDays: 3 }],
  ['retain-grace', '365d', { retainGraceDays: 365 }],
];

describe.each(accepted)('lifecycle: %s=%s', (tag, value, lifecycle) => {
  it('is planned', () => {
    expect(lifecycleOf({ [tag]: value })).toEqual(lifecycle);
  });
});

describe('lifecycle: retain', () => {
  it.each([
    ['1', { count: 1 }],
    ['1000', { count: 1000 }],
    ['1d', { days: 1 }],
    ['36500d', { days: 36_500 }],
  ])('plans retain=%s with a family', (value, retain) => {
    expect(lifecycleOf({ family: 'web', retain: value })).toEqual({ family: 'web', retain });
  });

  it('rejects retain without a family, naming both tags', () => {
    const errors = errorsFor({ retain: '3' });
    expect(errors).toEqual([expect.objectContaining({ tag: 'snap2ami:retain', field: 'lifecycle.retain' })]);
    expect(errors[0]?.message).toContain('needs snap2ami:family');
  });

  it('notes retain-delete-snapshots without retain, which has no effect', () => {
    const plan = expectPlan(planOf(root({ 'retain-delete-snapshots': 'true' })));
    expect(plan.notes.join(' ')).toContain(
      'snap2ami:retain-delete-snapshots has no effect without snap2ami:retain',
    );
  });
});

describe('lifecycle: copy-kms-key:<region>', () => {
  it.each([
    'alias/ami',
    'alias/aws/ebs',
    KEY_ID,
    'mrk-1234abcd12ab34cd56ef1234567890ab',
    `arn:aws:kms:eu-central-1:123456789012:key/${KEY_ID}`,
  ])('encrypts the copy with %s', (key) => {
    expect(
      lifecycleOf({ 'copy-to': 'us-west-2,eu-central-1', 'copy-kms-key:eu-central-1': key })?.copyTo,
    ).toEqual([{ region: 'us-west-2' }, { region: 'eu-central-1', kmsKeyId: key }]);
  });

  it.each([
    [
      'a Region that copy-to does not name',
      { 'copy-to': 'us-west-2', 'copy-kms-key:eu-central-1': 'alias/ami' },
    ],
    ['no copy-to at all', { 'copy-kms-key:eu-central-1': 'alias/ami' }],
  ])('is rejected for %s', (_, tags) => {
    const errors = errorsFor(tags);
    expect(errors).toEqual([
      expect.objectContaining({
        tag: 'snap2ami:copy-kms-key:eu-central-1',
        field: 'lifecycle.copyTo[].kmsKeyId',
      }),
    ]);
    expect(errors[0]?.message).toContain('eu-central-1, which snap2ami:copy-to does not name');
  });

  it.each([
    'ami',
    'alias/',
    'key/1234',
    'arn:aws:kms:us-west-2:123:key/x',
    `arn:aws:kms:eu-central-1:123456789012:alias/ami`,
  ])('rejects the key %s', (key) => {
    const errors = errorsFor({ 'copy-to': 'eu-central-1', 'copy-kms-key:eu-central-1': key });
    expect(errors).toEqual([expect.objectContaining({ tag: 'snap2ami:copy-kms-key:eu-central-1' })]);
    expect(errors[0]?.message).toContain('accepted: a KMS key ARN');
  });

  it('is a family of keys the reader knows: a near miss is an unknown key, with a suggestion', () => {
    expect(errorsFor({ 'copy-kms-keys': 'alias/ami' })[0]?.message).toContain(
      'did you mean snap2ami:copy-kms-key:',
    );
  });
});

// [tag, rejected value, the RegisterImage-like field, fragments of the message]
const rejected: [string, string, string, string[]][] = [
  [
    'copy-to',
    'us-wset-2',
    'lifecycle.copyTo',
    ['"us-wset-2" is not a Region name', 'accepted: comma-separated Region names'],
  ],
  ['copy-to', 'US-WEST-2', 'lifecycle.copyTo', ['not a Region name']],
  ['copy-to', 'us-west-2,', 'lifecycle.copyTo', ['"" is not a Region name']],
  ['copy-to', 'eu-central', 'lifecycle.copyTo', ['not a Region name']],
  ['copy-to', 'us-west-2,eu-central-1,us-west-2', 'lifecycle.copyTo', ['us-west-2 is named twice']],
  ['copy-to', [...REGIONS_10, 'eu-west-3'].join(','), 'lifecycle.copyTo', ['11 Regions are more than 10']],
  ['copy-to', 'us-west-2,us-east-1', 'lifecycle.copyTo', ["us-east-1, the pipeline's own Region"]],
  [
    'share-with',
    '12345678901',
    'lifecycle.shareWith',
    ['"12345678901" is none of these', '12-digit account IDs'],
  ],
  ['share-with', '1234567890123', 'lifecycle.shareWith', ['none of these']],
  ['share-with', '123456789012,', 'lifecycle.shareWith', ['"" is none of these']],
  ['share-with', 'o-a1b2c3d4e5', 'lifecycle.shareWith', ['none of these']],
  ['share-with', `${ORG}/ou-ab12-cd34ef56`, 'lifecycle.shareWith', ['none of these']],
  [
    'share-with',
    'arn:aws:organizations::123456789012:ou/ou-ab12-cd34ef56',
    'lifecycle.shareWith',
    ['none of these'],
  ],
  [
    'ssm-parameter',
    `/${'p'.repeat(1011)}`,
    'lifecycle.ssmParameter',
    ['has 1012 characters', 'at most 1011'],
  ],
  ['ssm-parameter', '', 'lifecycle.ssmParameter', ['is empty']],
  ['ssm-parameter', 'aws-golden', 'lifecycle.ssmParameter', ['prefix SSM reserves']],
  ['ssm-parameter', 'Awsome', 'lifecycle.ssmParameter', ['prefix SSM reserves']],
  ['ssm-parameter', '/aws/golden', 'lifecycle.ssmParameter', ['prefix SSM reserves']],
  ['ssm-parameter', 'SSM-golden', 'lifecycle.ssmParameter', ['prefix SSM reserves']],
  ['ssm-parameter', '/golden web', 'lifecycle.ssmParameter', ['a character other than']],
  ['ssm-parameter', '/golden:web', 'lifecycle.ssmParameter', ['a character other than']],
  ['deprecate-after', '0d', 'lifecycle.deprecateAfterDays', ['from 1 day to 10 years']],
  ['deprecate-after', '3651d', 'lifecycle.deprecateAfterDays', ['3650 days']],
  ['deprecate-after', '522w', 'lifecycle.deprecateAfterDays', ['<N>w']],
  ['deprecate-after', '11y', 'lifecycle.deprecateAfterDays', ['<N>y']],
  ['deprecate-after', '90', 'lifecycle.deprecateAfterDays', ['<N>d']],
  ['deprecate-after', '90D', 'lifecycle.deprecateAfterDays', ['<N>d']],
  ['deprecate-after', '3m', 'lifecycle.deprecateAfterDays', ['<N>d']],
  [
    'deregistration-protection',
    'yes',
    'lifecycle.deregistrationProtection',
    ['true, with-cooldown or false'],
  ],
  ['deregistration-protection', 'With-Cooldown', 'lifecycle.deregistrationProtection', ['with-cooldown']],
  ['family', '', 'lifecycle.family', ['1 to 128 characters']],
  ['family', 'f'.repeat(129), 'lifecycle.family', ['1 to 128 characters']],
  ['family', 'web#1', 'lifecycle.family', ['letters, digits']],
  ['family', 'web,app', 'lifecycle.family', ['letters, digits']],
  ['retain', '0', 'lifecycle.retain', ['1 to 1000']],
  ['retain', '1001', 'lifecycle.retain', ['1 to 1000']],
  ['retain', '0d', 'lifecycle.retain', ['1 to 36500']],
  ['retain', '36501d', 'lifecycle.retain', ['1 to 36500']],
  ['retain', '3w', 'lifecycle.retain', ['<N>d']],
  ['retain', '03', 'lifecycle.retain', ['<N>']],
  ['retain-delete-snapshots', 'yes', 'lifecycle.retainDeleteSnapshots', ['true or false']],
  ['retain-grace', '366d', 'lifecycle.retainGraceDays', ['0d to 365d']],
  ['retain-grace', '3', 'lifecycle.retainGraceDays', ['<N>d']],
  ['retain-grace', '1w', 'lifecycle.retainGraceDays', ['<N>d']],
  ['retain-grace', '-1d', 'lifecycle.retainGraceDays', ['<N>d']],
  ['retain-grace', '03d', 'lifecycle.retainGraceDays', ['<N>d']],
];

describe.each(rejected)('lifecycle: %s=%s', (tag, value, field, fragments) => {
  it(`is rejected with an error naming snap2ami:${tag}, ${field} and what is accepted`, () => {
    // retain is checked with a family, so that the value alone is at fault.
    const errors = errorsFor({ [tag]: value, ...(tag === 'retain' && { family: 'web' }) });
    expect(errors).toEqual([{ tag: `snap2ami:${tag}`, field, message: expect.any(String) }]);
    expect(errors[0]?.message).toContain(`snap2ami:${tag}="${value}"`);
    for (const fragment of fragments) expect(errors[0]?.message).toContain(fragment);
  });
});
