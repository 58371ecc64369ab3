/** The contract's conventions, opting in, name templates, tags on the AMI, and checks on snapshots. */
import { describe, expect, it } from 'vitest';
import { idempotencyKey } from '#shared/idempotency.ts';
import {
  ACCOUNT,
  errorsFor,
  expectPlan,
  expectRejected,
  expectSkipped,
  p,
  planOf,
  REGION,
  requestFor,
  root,
  snapshot,
} from '../../support/factories.ts';

const amiTags = (tags: Record<string, string>, fields = {}) =>
  Object.fromEntries(
    (requestFor(tags, fields).TagSpecifications[0]?.Tags ?? []).map((t) => [t.Key, t.Value]),
  );

describe('conventions', () => {
  it('rejects an unknown key under the prefix, suggesting the nearest key', () => {
    const errors = errorsFor({ 'boot-mod': 'uefi' });
    expect(errors).toEqual([expect.objectContaining({ tag: 'snap2ami:boot-mod' })]);
    expect(errors[0]?.message).toContain('did you mean snap2ami:boot-mode?');
  });

  it('rejects a prefix written in another case instead of ignoring it', () => {
    const errors = errorsFor({}, { tags: { 'Snap2AMI:architecture': 'arm64' } });
    expect(errors[0]).toMatchObject({ tag: 'Snap2AMI:architecture' });
    expect(errors[0]?.message).toContain('case-sensitive');
  });

  it('reads booleans in any case', () => {
    expect(expectPlan(planOf(snapshot({ tags: p({ register: 'TRUE' }) }))).request.EnaSupport).toBe(true);
  });

  it('honours another prefix chosen by the deployment', () => {
    const snap = snapshot({ tags: p({ register: 'true', architecture: 'arm64' }, 'acme/ami:') });
    const plan = expectPlan(planOf(snap, [], { prefix: 'acme/ami:' }));
    expect(plan.request.Architecture).toBe('arm64');
    expect(plan.request.TagSpecifications[0]?.Tags.map((t) => t.Key)).toEqual([
      'acme/ami:source-snapshot',
      'acme/ami:key',
      'acme/ami:snapshot-time',
    ]);
  });

  it('never reads aws: tags as configuration nor copies them', () => {
    const tags = amiTags(
      { 'copy-tags': '*' },
      { tags: { 'aws:backup:source-resource': 'arn:x', team: 'web' } },
    );
    expect(tags).not.toHaveProperty('aws:backup:source-resource');
    expect(tags.team).toBe('web');
  });
});

describe('opting in', () => {
  it('skips a snapshot without register=true, which is not an error', () => {
    expect(expectSkipped(planOf(snapshot())).reason).toContain('not opted in');
  });

  it('skips a snapshot with register=false', () => {
    expect(expectSkipped(planOf(snapshot({ tags: p({ register: 'false' }) }))).reason).toContain(
      'snap2ami:register is false',
    );
  });

  it.each(['pending', 'error', 'recoverable'])('skips an opted-in snapshot whose State is %s', (state) => {
    expect(expectSkipped(planOf(root({}, { State: state }))).reason).toContain(state);
  });
});

describe('name template', () => {
  const startTime = '2026-03-04T05:06:07.000Z';

  it('defaults to snap2ami-{snapshotId}', () => {
    const snap = root();
    expect(expectPlan(planOf(snap)).request.Name).toBe(`snap2ami-${snap.snapshotId}`);
  });

  it('fills every placeholder', () => {
    const snap = root(
      { name: '{snapshotId} {volumeId} {region} {account} {date} {datetime} {tag:Name}' },
      { StartTime: startTime, VolumeId: 'vol-0abc', tags: { Name: 'web' } },
    );
    expect(expectPlan(planOf(snap)).request.Name).toBe(
      `${snap.snapshotId} vol-0abc ${REGION} ${ACCOUNT} 2026-03-04 20260304T050607Z web`,
    );
  });

  it.each([
    ['{snapshotid}', 'is not a placeholder'],
    ['web-{tag:Missing}', 'names the tag "Missing"'],
    ['ab', 'is not 3 to 128 characters'],
    ['x'.repeat(129), 'is not 3 to 128 characters'],
    ['web#1', 'is not 3 to 128 characters'],
    ['{date', 'is not 3 to 128 characters'],
  ])('rejects %s', (template, why) => {
    const errors = errorsFor({ name: template }, { StartTime: startTime });
    expect(errors).toEqual([expect.objectContaining({ tag: 'snap2ami:name', field: 'Name' })]);
    expect(errors[0]?.message).toContain(why);
  });

  it('accepts every character RegisterImage allows', () => {
    expect(requestFor({ name: "web (v1) [x] ./-'@_" }).Name).toBe("web (v1) [x] ./-'@_");
  });

  it('rejects {date} for a snapshot without StartTime', () => {
    expect(errorsFor({ name: 'x-{date}' }, { StartTime: undefined })[0]?.message).toContain('no StartTime');
  });
});

describe('tags on the AMI', () => {
  it('always carries the source snapshot, the idempotency key and the snapshot time, in one image TagSpecification', () => {
    const snap = root({}, { StartTime: '2026-11-20T08:30:05.789Z' });
    const request = expectPlan(planOf(snap)).request;
    expect(request.TagSpecifications).toEqual([
      {
        ResourceType: 'image',
        Tags: [
          { Key: 'snap2ami:source-snapshot', Value: snap.snapshotId },
          { Key: 'snap2ami:key', Value: idempotencyKey(ACCOUNT, REGION, [snap.snapshotId]) },
          { Key: 'snap2ami:snapshot-time', Value: '2026-11-20T08:30:05Z' },
        ],
      },
    ]);
  });

  it('writes the snapshot time in UTC, whatever offset the StartTime was given in', () => {
    expect(amiTags({}, { StartTime: '2026-11-20T23:30:05-02:00' })['snap2ami:snapshot-time']).toBe(
      '2026-11-21T01:30:05Z',
    );
  });

  it('tags the family when the snapshot sets it', () => {
    expect(amiTags({ family: 'web' })).toMatchObject({ 'snap2ami:family': 'web' });
    expect(amiTags({})).not.toHaveProperty('snap2ami:family');
  });

  it('omits the snapshot time of a snapshot without StartTime, and says so', () => {
    const plan = expectPlan(planOf(root({}, { StartTime: undefined })));
    expect(plan.request.TagSpecifications[0]?.Tags.map((t) => t.Key)).not.toContain('snap2ami:snapshot-time');
    expect(plan.notes.join(' ')).toContain('no StartTime, so the AMI gets no snap2ami:snapshot-time tag');
  });

  it('copies the listed tags, or all but aws: and snap2ami: ones with *', () => {
    const fields = { tags: { team: 'web', env: 'prod', other: 'x' } };
    expect(amiTags({ 'copy-tags': 'team, env' }, fields)).toMatchObject({ team: 'web', env: 'prod' });
    expect(amiTags({ 'copy-tags': 'team, env' }, fields)).not.toHaveProperty('other');
    const all = amiTags({ 'copy-tags': '*' }, fields);
    expect(Object.keys(all).sort()).toEqual([
      'env',
      'other',
      'snap2ami:key',
      'snap2ami:snapshot-time',
      'snap2ami:source-snapshot',
      'team',
    ]);
  });

  it.each([
    ['Missing', 'which the snapshot does not have'],
    ['aws:createdBy', 'never copied'],
    ['snap2ami:name', 'never copied'],
    ['team,,env', 'empty key'],
  ])('rejects copy-tags naming %s', (list, why) => {
    const errors = errorsFor({ 'copy-tags': list }, { tags: { team: 'a', env: 'b', 'aws:createdBy': 'c' } });
    expect(errors[0]).toMatchObject({ tag: 'snap2ami:copy-tags', field: 'TagSpecifications' });
    expect(errors[0]?.message).toContain(why);
  });

  it('adds tag:<Key>=<value>, which wins over a copied value with a note', () => {
    const snap = root(
      { 'copy-tags': 'team', 'tag:team': 'platform', 'tag:os': 'al2023' },
      { tags: { team: 'web' } },
    );
    const plan = expectPlan(planOf(snap));
    const tags = Object.fromEntries(
      (plan.request.TagSpecifications[0]?.Tags ?? []).map((t) => [t.Key, t.Value]),
    );
    expect(tags).toMatchObject({ team: 'platform', os: 'al2023' });
    expect(plan.notes.join(' ')).toContain('replaces the value copied');
  });

  it.each(['aws:foo', 'snap2ami:key', ''])('rejects tag:%s', (key) => {
    expect(errorsFor({ [`tag:${key}`]: 'v' })[0]).toMatchObject({
      tag: `snap2ami:tag:${key}`,
      field: 'TagSpecifications',
    });
  });

  it("rejects more than 50 tags in all, snap2ami's own included", () => {
    const many = Object.fromEntries(Array.from({ length: 48 }, (_, i) => [`tag:k${i}`, 'v']));
    const errors = errorsFor(many);
    expect(errors[0]?.message).toContain("51 tags (3 of them snap2ami's own)");
    expect(errorsFor({ ...many, family: 'web' })[0]?.message).toContain("52 tags (4 of them snap2ami's own)");
    expect(
      requestFor(Object.fromEntries(Object.entries(many).slice(0, 47))).TagSpecifications[0]?.Tags,
    ).toHaveLength(50);
  });
});

describe('checks on the snapshots themselves', () => {
  it('rejects a snapshot of another account', () => {
    const errors = expectRejected(planOf(root({}, { OwnerId: '210987654321' }))).errors;
    expect(errors[0]?.message).toContain('owned by account 210987654321');
    expect(errors[0]?.field).toBe('BlockDeviceMappings[0].Ebs.SnapshotId');
  });

  it('accepts a snapshot of an allowed source account', () => {
    expectPlan(
      planOf(root({}, { OwnerId: '210987654321' }), [], { allowedSourceAccounts: ['210987654321'] }),
    );
  });

  it('rejects a group naming a snapshot that was not found, naming it', () => {
    const known = root();
    const outcome = planOf(
      known,
      [],
      {},
      { snapshotIds: [known.snapshotId, 'snap-0fffffffffffffff0'], multiVolume: true },
    );
    expect(expectRejected(outcome).errors).toEqual([
      expect.objectContaining({ message: expect.stringContaining('snap-0fffffffffffffff0 was not found') }),
    ]);
  });

  it('notes a snapshot that is already tagged with an image ID', () => {
    const plan = expectPlan(planOf(root({ 'image-id': 'ami-0123456789abcdef0' })));
    expect(plan.notes.join(' ')).toContain('already tagged snap2ami:image-id=ami-0123456789abcdef0');
  });
});

describe('idempotency key', () => {
  it('depends on the account, the Region and the sorted snapshot IDs only', () => {
    const key = idempotencyKey(ACCOUNT, REGION, ['snap-b', 'snap-a']);
    expect(key).toBe(idempotencyKey(ACCOUNT, REGION, ['snap-a', 'snap-b', 'snap-a']));
    expect(key).not.toBe(idempotencyKey('210987654321', REGION, ['snap-a', 'snap-b']));
    expect(key).not.toBe(idempotencyKey(ACCOUNT, 'eu-west-1', ['snap-a', 'snap-b']));
    expect(key).not.toBe(idempotencyKey(ACCOUNT, REGION, ['snap-a']));
  });

  it('is a valid Step Functions execution name', () => {
    expect(idempotencyKey(ACCOUNT, REGION, ['snap-a'])).toMatch(/^[A-Za-z0-9_-]{1,80}$/);
  });

  it('is the same for a plan whatever the tag values', () => {
    const a = root({ name: 'one', architecture: 'arm64' }, { SnapshotId: 'snap-0aaaaaaaaaaaaaaaa' });
    const b = root({ name: 'two' }, { SnapshotId: 'snap-0aaaaaaaaaaaaaaaa' });
    expect(expectPlan(planOf(a)).key).toBe(expectPlan(planOf(b)).key);
  });
});
