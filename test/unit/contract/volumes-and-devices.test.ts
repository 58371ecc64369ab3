/** The tag contract's "The root volume" and "More block devices" tables. */
import { describe, expect, it } from 'vitest';
import {
  errorsFor,
  expectPlan,
  expectRejected,
  p,
  planOf,
  requestFor,
  root,
  snapshot,
} from '../../support/factories.ts';

const rootEbs = (tags: Record<string, string>, fields = {}) =>
  requestFor(tags, fields).BlockDeviceMappings[0]?.Ebs;

describe('root volume', () => {
  it('maps the root snapshot first, at RootDeviceName, gp3 and delete-on-termination by default', () => {
    const snap = root({ 'root-device-name': '/dev/sda1' });
    const request = expectPlan(planOf(snap)).request;
    expect(request.BlockDeviceMappings).toEqual([
      {
        DeviceName: '/dev/sda1',
        Ebs: { SnapshotId: snap.snapshotId, VolumeType: 'gp3', DeleteOnTermination: true },
      },
    ]);
  });

  it.each(['standard', 'gp2', 'gp3'])('accepts volume-type %s', (type) => {
    expect(rootEbs({ 'volume-type': type })?.VolumeType).toBe(type);
  });

  it.each(['io1', 'io2'])(
    'accepts %s with iops (within 50 per GiB of the 8 GiB snapshot for io1)',
    (type) => {
      expect(rootEbs({ 'volume-type': type, iops: '400' })).toMatchObject({ VolumeType: type, Iops: 400 });
    },
  );

  it.each(['st1', 'sc1'])('rejects %s: not bootable', (type) => {
    const errors = errorsFor({ 'volume-type': type });
    expect(errors).toEqual([
      expect.objectContaining({
        tag: 'snap2ami:volume-type',
        field: 'BlockDeviceMappings[0].Ebs.VolumeType',
      }),
    ]);
    expect(errors[0]?.message).toContain('not bootable');
  });

  it('rejects an unknown volume type, naming the accepted ones', () => {
    expect(errorsFor({ 'volume-type': 'gp4' })[0]?.message).toContain(
      'standard, io1, io2, gp2, sc1, st1, gp3',
    );
  });

  it('sets VolumeSize in whole GiB, not smaller than the snapshot', () => {
    expect(rootEbs({ 'volume-size': '20' }, { VolumeSize: 8 })?.VolumeSize).toBe(20);
    expect(rootEbs({ 'volume-size': '8' }, { VolumeSize: 8 })?.VolumeSize).toBe(8);
    const errors = errorsFor({ 'volume-size': '4' }, { VolumeSize: 8 });
    expect(errors).toEqual([
      expect.objectContaining({
        tag: 'snap2ami:volume-size',
        field: 'BlockDeviceMappings[0].Ebs.VolumeSize',
      }),
    ]);
    expect(errors[0]?.message).toContain('8 or more');
  });

  it.each(['0', '-1', '1.5', '10GiB', ''])('rejects volume-size=%s', (size) => {
    expect(errorsFor({ 'volume-size': size })[0]?.message).toContain('positive whole number');
  });

  it.each(['io1', 'io2'])('rejects %s without iops', (type) => {
    expect(errorsFor({ 'volume-type': type })).toEqual([
      expect.objectContaining({ tag: 'snap2ami:iops', field: 'BlockDeviceMappings[0].Ebs.Iops' }),
    ]);
  });

  it('accepts iops for gp3 and rejects it for gp2 and standard', () => {
    expect(rootEbs({ iops: '4000' })?.Iops).toBe(4000);
    for (const type of ['gp2', 'standard']) {
      expect(errorsFor({ 'volume-type': type, iops: '4000' })[0]).toMatchObject({ tag: 'snap2ami:iops' });
    }
  });

  it('accepts throughput for gp3 only', () => {
    expect(rootEbs({ throughput: '250' })?.Throughput).toBe(250);
    expect(errorsFor({ 'volume-type': 'io2', iops: '100', throughput: '250' })).toEqual([
      expect.objectContaining({ tag: 'snap2ami:throughput', field: 'BlockDeviceMappings[0].Ebs.Throughput' }),
    ]);
  });

  it('sets DeleteOnTermination from delete-on-termination', () => {
    expect(rootEbs({ 'delete-on-termination': 'False' })?.DeleteOnTermination).toBe(false);
    expect(errorsFor({ 'delete-on-termination': 'no' })[0]).toMatchObject({
      tag: 'snap2ami:delete-on-termination',
    });
  });

  it('never sets Encrypted or KmsKeyId, even for an encrypted snapshot', () => {
    const request = requestFor({ 'device:/dev/sdb': 'empty:size=10' }, { Encrypted: true });
    expect(JSON.stringify(request)).not.toMatch(/Encrypted|KmsKeyId/);
  });
});

describe('Outposts', () => {
  const outpost = 'arn:aws:outposts:us-east-1:123456789012:outpost/op-0123456789abcdef0';

  it('carries the OutpostArn in every mapping that names a snapshot', () => {
    const data = snapshot({ OutpostArn: outpost });
    const snap = root({ 'device:/dev/sdb': data.snapshotId }, { OutpostArn: outpost });
    const mappings = expectPlan(planOf(snap, [data])).request.BlockDeviceMappings;
    expect(mappings.map((m) => m.Ebs?.OutpostArn)).toEqual([outpost, outpost]);
  });

  it('rejects snapshots split between an Outpost and the Region', () => {
    const data = snapshot();
    const snap = root({ 'device:/dev/sdb': data.snapshotId }, { OutpostArn: outpost });
    expect(expectRejected(planOf(snap, [data])).errors[0]?.message).toContain('same Outpost');
  });
});

describe('more block devices', () => {
  it('adds the three-volume example: a second snapshot at /dev/sdb and an empty 100 GiB volume at /dev/sdc', () => {
    const data = snapshot({ VolumeSize: 50 });
    const snap = root({
      'root-device-name': '/dev/sda1',
      'device:/dev/sdb': data.snapshotId,
      'device:/dev/sdc': 'empty:size=100',
    });
    const plan = expectPlan(planOf(snap, [data]));
    expect(plan.request.BlockDeviceMappings).toEqual([
      {
        DeviceName: '/dev/sda1',
        Ebs: { SnapshotId: snap.snapshotId, VolumeType: 'gp3', DeleteOnTermination: true },
      },
      {
        DeviceName: '/dev/sdb',
        Ebs: { SnapshotId: data.snapshotId, VolumeType: 'gp3', DeleteOnTermination: true },
      },
      { DeviceName: '/dev/sdc', Ebs: { VolumeType: 'gp3', DeleteOnTermination: true, VolumeSize: 100 } },
    ]);
    expect(plan.snapshotIds).toEqual([snap.snapshotId, data.snapshotId].sort());
  });

  it('applies snapshot options size, type, iops, throughput and delete', () => {
    const data = snapshot({ VolumeSize: 50 });
    const mapping = expectPlan(
      planOf(root({ 'device:/dev/sdb': `${data.snapshotId}:size=200:type=io2:iops=5000:delete=false` }), [
        data,
      ]),
    ).request.BlockDeviceMappings[1];
    expect(mapping).toEqual({
      DeviceName: '/dev/sdb',
      Ebs: {
        SnapshotId: data.snapshotId,
        VolumeType: 'io2',
        VolumeSize: 200,
        Iops: 5000,
        DeleteOnTermination: false,
      },
    });
  });

  it('accepts st1 and sc1 for data volumes', () => {
    const request = requestFor({
      'device:/dev/sdb': 'empty:size=500:type=st1',
      'device:/dev/sdc': 'empty:size=500:type=sc1',
    });
    expect(request.BlockDeviceMappings.map((m) => m.Ebs?.VolumeType)).toEqual(['gp3', 'st1', 'sc1']);
  });

  it('maps ephemeral<N> to VirtualName and none to an empty NoDevice', () => {
    const request = requestFor({ 'device:/dev/sdb': 'ephemeral0', 'device:/dev/sdc': 'none' });
    expect(request.BlockDeviceMappings.slice(1)).toEqual([
      { DeviceName: '/dev/sdb', VirtualName: 'ephemeral0' },
      { DeviceName: '/dev/sdc', NoDevice: '' },
    ]);
  });

  it.each([
    ['empty', 'without size'],
    ['empty:type=gp3', 'without size'],
    ['ephemeral24', 'beyond ephemeral23'],
    ['volume', 'not a device value'],
    ['snap-XYZ', 'not a device value'],
    ['empty:size=10:colour=red', 'not an option=value pair'],
    ['empty:size=10:size=20', 'twice'],
    ['empty:size=10:iops', 'not an option=value pair'],
  ])('rejects %s (%s)', (value, why) => {
    const errors = errorsFor({ 'device:/dev/sdb': value });
    expect(errors).toEqual([
      expect.objectContaining({ tag: 'snap2ami:device:/dev/sdb', field: 'BlockDeviceMappings[1]' }),
    ]);
    expect(errors[0]?.message).toContain(why);
    expect(errors[0]?.message).toContain('accepted: snap-<id>');
  });

  it('applies the root rules to options: iops for io1, throughput for gp3 only, size of the snapshot', () => {
    const data = snapshot({ VolumeSize: 50 });
    const errors = expectRejected(
      planOf(
        root({
          'device:/dev/sdb': 'empty:size=10:type=io1',
          'device:/dev/sdc': `${data.snapshotId}:size=10:type=gp2:throughput=200`,
        }),
        [data],
      ),
    ).errors;
    expect(errors.map((e) => e.field)).toEqual([
      'BlockDeviceMappings[1].Ebs.Iops',
      'BlockDeviceMappings[2].Ebs.VolumeSize',
      'BlockDeviceMappings[2].Ebs.Throughput',
    ]);
    expect(errors.every((e) => e.tag?.startsWith('snap2ami:device:/dev/sd'))).toBe(true);
  });

  it('rejects a device equal to the root device', () => {
    const errors = errorsFor({ 'root-device-name': '/dev/sda1', 'device:/dev/sda1': 'empty:size=10' });
    expect(errors[0]).toMatchObject({ tag: 'snap2ami:device:/dev/sda1' });
    expect(errors[0]?.message).toContain('root device');
  });

  it('rejects a device name that is not one', () => {
    expect(errorsFor({ 'device:sdb': 'empty:size=10' })[0]?.message).toContain(
      '/dev/ followed by letters and digits',
    );
  });

  it('accepts Windows-style device names', () => {
    expect(requestFor({ 'device:xvdf': 'empty:size=10' }).BlockDeviceMappings[1]?.DeviceName).toBe('xvdf');
  });

  it('rejects a referenced snapshot that is missing, not completed, or of another account', () => {
    const pending = snapshot({ State: 'pending' });
    const foreign = snapshot({ OwnerId: '210987654321' });
    const snap = root({
      'device:/dev/sdb': 'snap-0123456789abcdef0',
      'device:/dev/sdc': pending.snapshotId,
      'device:/dev/sdd': foreign.snapshotId,
    });
    const messages = expectRejected(planOf(snap, [pending, foreign])).errors.map((e) => e.message);
    expect(messages.some((m) => m.includes('snap-0123456789abcdef0') && m.includes('not found'))).toBe(true);
    expect(messages.some((m) => m.includes(pending.snapshotId) && m.includes('pending'))).toBe(true);
    expect(messages.some((m) => m.includes(foreign.snapshotId) && m.includes('210987654321'))).toBe(true);
  });
});

describe('multi-volume snapshot sets', () => {
  const set = (...members: ReturnType<typeof snapshot>[]) => {
    const [first, ...rest] = members;
    if (!first) throw new Error('empty set');
    return planOf(first, rest, {}, { snapshotIds: members.map((m) => m.snapshotId), multiVolume: true });
  };

  it('builds one image from the member tagged register=true and the members tagged device-name', () => {
    const data = snapshot({ tags: p({ 'device-name': '/dev/sdf' }), VolumeSize: 100 });
    const logs = snapshot({
      tags: p({ 'device-name': '/dev/sdg', 'volume-type': 'st1', 'volume-size': '500' }),
    });
    const boot = root({ 'root-device-name': '/dev/sda1' });
    const plan = expectPlan(set(data, boot, logs));
    expect(
      plan.request.BlockDeviceMappings.map((m) => [m.DeviceName, m.Ebs?.SnapshotId, m.Ebs?.VolumeType]),
    ).toEqual([
      ['/dev/sda1', boot.snapshotId, 'gp3'],
      ['/dev/sdf', data.snapshotId, 'gp3'],
      ['/dev/sdg', logs.snapshotId, 'st1'],
    ]);
    expect(plan.snapshotIds).toEqual([boot.snapshotId, data.snapshotId, logs.snapshotId].sort());
  });

  it('skips a set with no member opted in', () => {
    const outcome = set(snapshot(), snapshot());
    expect('skipped' in outcome && outcome.skipped.reason).toContain('no member of the multi-volume set');
  });

  it('rejects a set with more than one member opted in', () => {
    const errors = expectRejected(set(root(), root())).errors;
    expect(errors[0]).toMatchObject({ tag: 'snap2ami:register', field: '(opt-in)' });
    expect(errors[0]?.message).toContain('exactly one');
  });

  it('leaves out a member without device-name, and says so', () => {
    const loose = snapshot();
    const boot = root();
    const plan = expectPlan(set(boot, loose));
    expect(plan.snapshotIds).toEqual([boot.snapshotId]);
    expect(plan.notes.join(' ')).toContain(`member ${loose.snapshotId} has no snap2ami:device-name tag`);
  });

  it('rejects a member device that collides with another device', () => {
    const member = snapshot({ tags: p({ 'device-name': '/dev/sdb' }) });
    const errors = expectRejected(set(root({ 'device:/dev/sdb': 'empty:size=1' }), member)).errors;
    expect(errors[0]).toMatchObject({ tag: 'snap2ami:device-name' });
  });

  it('rejects a root whose device-name differs from its root device', () => {
    const errors = expectRejected(set(root({ 'device-name': '/dev/sda1' }), snapshot())).errors;
    expect(errors[0]).toMatchObject({ tag: 'snap2ami:device-name', field: 'RootDeviceName' });
    expect(errors[0]?.message).toContain('snap2ami:root-device-name=/dev/sda1');
  });

  it('notes image parameters on a member, which are read from the root only', () => {
    const member = snapshot({ tags: p({ 'device-name': '/dev/sdb', architecture: 'arm64' }) });
    const plan = expectPlan(set(root(), member));
    expect(plan.request.Architecture).toBe('x86_64');
    expect(plan.notes.join(' ')).toContain('snap2ami:architecture ignored');
  });

  it('skips a set whose members are not all completed', () => {
    const outcome = set(root(), snapshot({ State: 'pending', tags: p({ 'device-name': '/dev/sdb' }) }));
    expect('skipped' in outcome && outcome.skipped.reason).toContain('pending');
  });
});
