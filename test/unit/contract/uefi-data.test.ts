/**
 * The tag contract's "UefiData" section (v2), the planner's part: `<p>uefi-data` names an S3
 * object or an SSM parameter; the plan carries it, unchanged, as `uefiDataSource`, and the
 * request has no `UefiData` (the workflow reads it right before the dry run).
 */
import { describe, expect, it } from 'vitest';
import { formatReport } from '../../../cli/format.ts';
import { errorsFor, expectPlan, p, planOf, root, snapshot } from '../../support/factories.ts';

const planFor = (tags: Record<string, string>) => expectPlan(planOf(root(tags)));

describe('uefi-data', () => {
  it.each([
    's3://my-bucket/uefi/web.b64',
    's3://a.b-c/k',
    `s3://${'b'.repeat(63)}/k`,
    'ssm:/golden/uefi',
    'ssm:uefi_vars.v1-a',
    `ssm:/${'p'.repeat(1010)}`,
  ])('plans %s as uefiDataSource, unchanged, with no UefiData in the request', (source) => {
    for (const bootMode of ['uefi', 'uefi-preferred']) {
      const plan = planFor({ 'boot-mode': bootMode, 'uefi-data': source });
      expect(plan.uefiDataSource).toBe(source);
      expect(plan.request).not.toHaveProperty('UefiData');
      expect(plan.request.BootMode).toBe(bootMode);
    }
  });

  it('needs no note: the workflow reads it before the dry run (ReadUefiData)', () => {
    const plan = planFor({ 'boot-mode': 'uefi', 'uefi-data': 'ssm:/golden/uefi' });
    expect(plan.notes.filter((note) => note.includes('uefi-data'))).toEqual([]);
  });

  it('is absent from a plan without the tag', () => {
    expect(planFor({ 'boot-mode': 'uefi' })).not.toHaveProperty('uefiDataSource');
  });

  it('comes before lifecycle in the plan, as plan --json shows it', () => {
    const plan = planFor({ 'boot-mode': 'uefi', 'uefi-data': 'ssm:/u', family: 'web' });
    expect(Object.keys(plan)).toEqual([
      'key',
      'snapshotIds',
      'request',
      'notes',
      'uefiDataSource',
      'lifecycle',
    ]);
  });

  it.each([undefined, 'legacy-bios'])('is rejected when the boot mode is %s', (bootMode) => {
    const tags: Record<string, string> = { 'uefi-data': 's3://my-bucket/uefi.b64' };
    if (bootMode) tags['boot-mode'] = bootMode;
    const errors = errorsFor(tags);
    expect(errors).toEqual([expect.objectContaining({ tag: 'snap2ami:uefi-data', field: 'UefiData' })]);
    expect(errors[0]?.message).toContain(
      `needs snap2ami:boot-mode uefi or uefi-preferred (it is ${bootMode ?? 'not set'})`,
    );
  });

  it.each([
    ['s3://', 'is not an S3 bucket name'],
    ['s3://bucket', 'names no object key'],
    ['s3://bucket/', 'names no object key'],
    ['s3://Bucket/key', '"Bucket" is not an S3 bucket name'],
    ['s3://ab/key', 'is not an S3 bucket name'],
    [`s3://${'b'.repeat(64)}/k`, 'is not an S3 bucket name'],
    ['s3://a..b/key', 'is not an S3 bucket name'],
    ['s3://-bucket/key', 'is not an S3 bucket name'],
    ['S3://bucket/key', 'is neither s3:// nor ssm:'],
    ['https://bucket.s3.amazonaws.com/key', 'is neither s3:// nor ssm:'],
    ['ssm:', 'names no parameter'],
    ['ssm:/bad name', 'a character other than'],
    [`ssm:/${'p'.repeat(1011)}`, 'a parameter of 1012 characters'],
  ])('rejects %s (%s)', (value, why) => {
    const errors = errorsFor({ 'boot-mode': 'uefi', 'uefi-data': value });
    expect(errors).toEqual([expect.objectContaining({ tag: 'snap2ami:uefi-data', field: 'UefiData' })]);
    expect(errors[0]?.message).toContain(why);
    expect(errors[0]?.message).toContain('accepted: s3://<bucket>/<key> or ssm:<parameter-name>');
  });

  it('is an image parameter: on a set member it is ignored, with a note', () => {
    const boot = root({ 'boot-mode': 'uefi' });
    const member = snapshot({ tags: p({ 'device-name': '/dev/sdf', 'uefi-data': 'ssm:/u' }) });
    const plan = expectPlan(
      planOf(boot, [member], {}, { snapshotIds: [boot.snapshotId, member.snapshotId], multiVolume: true }),
    );
    expect(plan).not.toHaveProperty('uefiDataSource');
    expect(plan.notes.join(' ')).toContain('snap2ami:uefi-data ignored');
  });

  it('is shown in the readable summary of snap2ami plan', () => {
    const plan = planFor({ 'boot-mode': 'uefi', 'uefi-data': 's3://my-bucket/uefi/web.b64' });
    expect(formatReport({ plans: [plan], skipped: [], rejected: [] })).toContain(
      '      UEFI data from s3://my-bucket/uefi/web.b64\n',
    );
  });
});
