/** `snap2ami plan` as the tag contract's last section specifies it, run in-process (the command a user runs, without a process of its own: test/unit/cli/help.test.ts runs bin/snap2ami itself). */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { PROJECT_ROOT } from '../../../local/index.ts';
import { jsonFiles } from '../../support/cli.ts';
import { snap2amiInProcess } from '../../support/cli-in-process.ts';

const EXAMPLES = join(PROJECT_ROOT, 'examples', 'snapshots.json');
const examples = JSON.parse(readFileSync(EXAMPLES, 'utf8')) as {
  Snapshots: { SnapshotId: string; Tags?: unknown[] }[];
};
const only = (...ids: string[]) => ({
  Snapshots: examples.Snapshots.filter((s) => ids.includes(s.SnapshotId)),
});

/** A deployment with a launch-test subnet: the examples' launch-test samples are planned (tag contract v3). */
const WITH_LAUNCH_TEST = {
  SNAP2AMI_LAUNCH_TEST_SUBNET_IDS: 'subnet-0123abcd',
  SNAP2AMI_LAUNCH_TEST_VPC_ID: 'vpc-0123abcd',
};

async function planJson(args: string[], env: Record<string, string> = {}) {
  const result = await snap2amiInProcess(['plan', '--json', ...args], env);
  return { ...result, document: JSON.parse(result.stdout) };
}

/** `plan --json` of these snapshots (describe-snapshots output) and one of the AWS documentation's example events. */
async function planWithEvent(snapshots: unknown[], event: string) {
  const files = jsonFiles({ 'snapshots.json': { Snapshots: snapshots } });
  return planJson([
    '--snapshots',
    files['snapshots.json'] as string,
    '--event',
    join(PROJECT_ROOT, 'test/fixtures/aws-docs-events', `${event}.json`),
  ]);
}

describe('snap2ami plan --json', () => {
  it('plans the root snapshot at /dev/sda1 named MyImage (the RegisterImage example)', async () => {
    const files = jsonFiles({ 'snapshots.json': only('snap-1234567890abcdef0') });
    const { status, document } = await planJson(['--snapshots', files['snapshots.json'] as string]);
    expect(status).toBe(0);
    expect(document.skipped).toEqual([]);
    expect(document.rejected).toEqual([]);
    expect(document.plans).toEqual([
      {
        key: expect.stringMatching(/^v1-[0-9a-f]{32}$/),
        snapshotIds: ['snap-1234567890abcdef0'],
        request: {
          Name: 'MyImage',
          Architecture: 'x86_64',
          VirtualizationType: 'hvm',
          EnaSupport: true,
          ImdsSupport: 'v2.0',
          RootDeviceName: '/dev/sda1',
          BlockDeviceMappings: [
            {
              DeviceName: '/dev/sda1',
              Ebs: { SnapshotId: 'snap-1234567890abcdef0', VolumeType: 'gp3', DeleteOnTermination: true },
            },
          ],
          TagSpecifications: [
            {
              ResourceType: 'image',
              Tags: [
                { Key: 'snap2ami:source-snapshot', Value: 'snap-1234567890abcdef0' },
                { Key: 'snap2ami:key', Value: document.plans[0].key },
                { Key: 'snap2ami:snapshot-time', Value: '2026-11-20T08:30:00Z' },
              ],
            },
          ],
        },
        notes: [],
      },
    ]);
  });

  it('plans the three-volume example: a second snapshot at /dev/sdb and an empty 100 GiB volume at /dev/sdc', async () => {
    const files = jsonFiles({ 'snapshots.json': only('snap-0a1b2c3d4e5f60001', 'snap-0a1b2c3d4e5f60002') });
    const { status, document } = await planJson(['--snapshots', files['snapshots.json'] as string]);
    expect(status).toBe(0);
    expect(document.plans).toHaveLength(1);
    const [plan] = document.plans;
    expect(plan.snapshotIds).toEqual(['snap-0a1b2c3d4e5f60001', 'snap-0a1b2c3d4e5f60002']);
    expect(plan.request.Name).toBe('db-db-server-2026-11-20');
    expect(plan.request.BlockDeviceMappings).toEqual([
      {
        DeviceName: '/dev/sda1',
        Ebs: { SnapshotId: 'snap-0a1b2c3d4e5f60001', VolumeType: 'gp3', DeleteOnTermination: true },
      },
      {
        DeviceName: '/dev/sdb',
        Ebs: { SnapshotId: 'snap-0a1b2c3d4e5f60002', VolumeType: 'gp3', DeleteOnTermination: true },
      },
      { DeviceName: '/dev/sdc', Ebs: { VolumeSize: 100, VolumeType: 'gp3', DeleteOnTermination: true } },
    ]);
    expect(document.skipped).toEqual([
      { snapshotIds: ['snap-0a1b2c3d4e5f60002'], reason: expect.stringContaining('not opted in') },
    ]);
  });

  it('exits 2 with the rejection rules, each error naming the tag, the field and what is accepted', async () => {
    const { status, document, stderr } = await planJson(['--snapshots', EXAMPLES], WITH_LAUNCH_TEST);
    expect(status).toBe(2);
    expect(stderr).toBe('');
    expect(document.plans.map((plan: { snapshotIds: string[] }) => plan.snapshotIds[0])).toEqual([
      'snap-1234567890abcdef0',
      'snap-0a1b2c3d4e5f60001',
      'snap-0a1b2c3d4e5f60003',
      'snap-0a1b2c3d4e5f60005',
      'snap-0a1b2c3d4e5f60007',
      'snap-0a1b2c3d4e5f60008',
      'snap-0a1b2c3d4e5f60009',
    ]);
    const rejected = Object.fromEntries(
      document.rejected.map((r: { snapshotIds: string[]; errors: unknown[] }) => [
        r.snapshotIds[0],
        r.errors,
      ]),
    );
    expect(rejected['snap-0a1b2c3d4e5f60004']).toEqual([
      { tag: 'snap2ami:boot-mod', message: expect.stringContaining('did you mean snap2ami:boot-mode') },
      {
        tag: 'snap2ami:architecture',
        field: 'Architecture',
        message: expect.stringContaining('accepted: one of i386'),
      },
      {
        tag: 'snap2ami:volume-type',
        field: 'BlockDeviceMappings[0].Ebs.VolumeType',
        message: expect.stringContaining('not bootable'),
      },
    ]);
    expect(Object.keys(rejected)).toEqual(['snap-0a1b2c3d4e5f60004']);
  });

  it('plans the Windows sample with a billing check (v2), where v1 rejected it', async () => {
    const { document } = await planJson(['--snapshots', EXAMPLES]);
    const windows = document.plans.find(
      (plan: { snapshotIds: string[] }) => plan.snapshotIds[0] === 'snap-0a1b2c3d4e5f60005',
    );
    expect(windows.billingCheck).toEqual({ expect: 'Windows', onMissing: 'deregister' });
    expect(windows.notes.join(' ')).toContain('PlatformDetails contains "Windows"');
  });

  it('plans the snapshots an event delivers: a createSnapshots set becomes one AMI', async () => {
    const boot = {
      SnapshotId: 'snap-01234567',
      State: 'completed',
      OwnerId: '012345678901',
      VolumeSize: 8,
      Tags: [
        { Key: 'snap2ami:register', Value: 'true' },
        { Key: 'snap2ami:root-device-name', Value: '/dev/sda1' },
      ],
    };
    const data = {
      SnapshotId: 'snap-012345678',
      State: 'completed',
      OwnerId: '012345678901',
      VolumeSize: 20,
      Tags: [{ Key: 'snap2ami:device-name', Value: '/dev/sdf' }],
    };
    const { status, document } = await planWithEvent([boot, data], 'ebs-createSnapshots-succeeded');
    expect(status).toBe(0);
    expect(document.plans).toHaveLength(1);
    expect(
      document.plans[0].request.BlockDeviceMappings.map((m: { DeviceName: string }) => m.DeviceName),
    ).toEqual(['/dev/sda1', '/dev/sdf']);
    expect(document.plans[0].request.TagSpecifications[0].Tags[1].Value).toBe(document.plans[0].key);
  });

  it('reports an event that yields nothing as skipped, with exit 0', async () => {
    const { status, document } = await planWithEvent([], 'ebs-createSnapshots-failed');
    expect(status).toBe(0);
    expect(document.skipped[0].reason).toContain('Snapshot snap-01234567 is in status error');
  });

  it('rejects an unsupported event with exit 2', async () => {
    const { status, document } = await planWithEvent([], 'ebs-createVolume-available');
    expect(status).toBe(2);
    expect(document.rejected[0].errors[0].message).toContain('unsupported');
  });

  it.each([
    ['a missing file', ['--snapshots', '/nonexistent/snapshots.json'], /cannot read the file \(ENOENT\)/],
    ['a file that is not JSON', ['--snapshots', 'NOT_JSON'], /not JSON/],
    [
      'JSON that is not describe-snapshots output',
      ['--snapshots', 'WRONG_SHAPE'],
      /not the output of aws ec2 describe-snapshots/,
    ],
    [
      'an event file that is not JSON',
      ['--snapshots', 'EXAMPLES', '--event', 'NOT_JSON'],
      /--event .*not JSON/,
    ],
    [
      'an event file that is JSON but not an event',
      ['--snapshots', 'EXAMPLES', '--event', 'NOT_AN_EVENT'],
      /--event .*not an EventBridge event \(it has no "source" and "detail-type"\)/,
    ],
    [
      'an SNS notification given as the event',
      ['--snapshots', 'EXAMPLES', '--event', 'SNS'],
      /not an EventBridge event \(it is an SNS notification: pass the event in its Message\)/,
    ],
  ])('exits 1 on %s: one line on stderr, nothing on stdout', async (_, args, message) => {
    const files = jsonFiles({
      bad: '{"Snapshots": [',
      shape: { Snapshots: [{ SnapshotId: 'vol-1' }] },
      notAnEvent: { hello: 'world' },
      sns: { Type: 'Notification', Message: '{}' },
    });
    const resolved = args.map(
      (arg) =>
        ({
          NOT_JSON: files.bad,
          WRONG_SHAPE: files.shape,
          NOT_AN_EVENT: files.notAnEvent,
          SNS: files.sns,
          EXAMPLES,
        })[arg] ?? arg,
    ) as string[];
    const result = await snap2amiInProcess(['plan', '--json', ...resolved]);
    expect(result.status).toBe(1);
    expect(result.stdout).toBe('');
    expect(result.stderr).toMatch(message);
    expect(result.stderr.trim().split('\n')).toHaveLength(1);
  });
});

describe('snap2ami plan: distribution and lifecycle (v2)', () => {
  const web = {
    Snapshots: [
      {
        SnapshotId: 'snap-0a1b2c3d4e5f60010',
        State: 'completed',
        OwnerId: '123456789012',
        VolumeSize: 8,
        StartTime: '2026-11-20T08:30:00.000Z',
        Tags: [
          { Key: 'snap2ami:register', Value: 'true' },
          { Key: 'snap2ami:copy-to', Value: 'us-west-2,eu-central-1' },
          { Key: 'snap2ami:copy-kms-key:eu-central-1', Value: 'alias/ami' },
          { Key: 'snap2ami:share-with', Value: '210987654321' },
          { Key: 'snap2ami:deprecate-after', Value: '2w' },
          { Key: 'snap2ami:deregistration-protection', Value: 'with-cooldown' },
          { Key: 'snap2ami:family', Value: 'web' },
          { Key: 'snap2ami:retain', Value: '30d' },
        ],
      },
    ],
  };

  it('puts the lifecycle object in the plan, and the family on the AMI', async () => {
    const files = jsonFiles({ 'snapshots.json': web });
    const { status, document } = await planJson(['--snapshots', files['snapshots.json'] as string]);
    expect(status).toBe(0);
    const [plan] = document.plans;
    expect(plan.lifecycle).toEqual({
      copyTo: [{ region: 'us-west-2' }, { region: 'eu-central-1', kmsKeyId: 'alias/ami' }],
      shareWith: { userIds: ['210987654321'] },
      deprecateAfterDays: 14,
      deregistrationProtection: 'with-cooldown',
      family: 'web',
      retain: { days: 30 },
    });
    expect(plan.request.TagSpecifications[0].Tags).toContainEqual({ Key: 'snap2ami:family', Value: 'web' });
    expect(plan.notes.join(' ')).not.toContain('not yet carried out');
  });

  it('shows the lifecycle in the readable summary', async () => {
    const files = jsonFiles({ 'snapshots.json': web });
    const result = await snap2amiInProcess(['plan', '--snapshots', files['snapshots.json'] as string]);
    expect(result.status).toBe(0);
    for (const line of [
      'lifecycle: copy to us-west-2, eu-central-1 (KMS alias/ami)',
      'lifecycle: share with 210987654321',
      'lifecycle: deprecate 14 days after registration',
      'lifecycle: deregistration protection on, with the 24-hour cooldown',
      'lifecycle: family web',
      'lifecycle: retain those within 30 days',
    ])
      expect(result.stdout).toContain(line);
    expect(result.stdout).not.toContain('not yet carried out');
  });
});

describe('snap2ami plan (readable)', () => {
  it('summarises plans, skips and rejections', async () => {
    const result = await snap2amiInProcess(['plan', '--snapshots', EXAMPLES], WITH_LAUNCH_TEST);
    expect(result.status).toBe(2);
    expect(result.stdout).toContain('PLAN  snap-1234567890abcdef0  →  "MyImage"');
    expect(result.stdout).toContain('/dev/sdc   empty volume, gp3, 100 GiB');
    expect(result.stdout).toContain('SKIP  snap-0a1b2c3d4e5f60006: not opted in');
    expect(result.stdout).toContain('REJECT snap-0a1b2c3d4e5f60004');
    expect(result.stdout).toContain('PLAN  snap-0a1b2c3d4e5f60005');
    expect(result.stdout).toContain('billing check: PlatformDetails must contain "Windows", else deregister');
    expect(result.stdout.trim().split('\n').at(-1)).toBe('7 planned, 2 skipped, 1 rejected.');
  });

  it('has --help describing every option', async () => {
    const result = await snap2amiInProcess(['plan', '--help']);
    expect(result.status).toBe(0);
    for (const option of [
      '--snapshots',
      '--event',
      '--account',
      '--region',
      '--prefix',
      '--allowed-source-accounts',
      '--json',
    ]) {
      expect(result.stdout).toContain(option);
    }
  });

  it('rejects a malformed --account with a usage error', async () => {
    const result = await snap2amiInProcess(['plan', '--snapshots', EXAMPLES, '--account', '42']);
    expect(result.status).toBe(1);
    expect(result.stderr).toContain('12-digit');
  });
});
