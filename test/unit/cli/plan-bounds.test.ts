/**
 * `snap2ami plan` checks the deployment's bounds as the pipeline does (tag contract v3): with
 * the deployment's settings from flags or from the SNAP2AMI_* variables, and their defaults
 * otherwise. Run as a user runs it.
 */
import { describe, expect, it } from 'vitest';
import { jsonFiles } from '../../support/cli.ts';
import { snap2amiInProcess } from '../../support/cli-in-process.ts';

const SNAPSHOT = 'snap-0b1b2c3d4e5f60001';
const snapshots = (tags: Record<string, string>) =>
  jsonFiles({
    'snapshots.json': {
      Snapshots: [
        {
          SnapshotId: SNAPSHOT,
          OwnerId: '123456789012',
          State: 'completed',
          StartTime: '2026-11-20T08:30:00.000Z',
          VolumeId: 'vol-0123456789abcdef0',
          VolumeSize: 8,
          Tags: Object.entries({ 'snap2ami:register': 'true', ...tags }).map(([Key, Value]) => ({
            Key,
            Value,
          })),
        },
      ],
    },
  })['snapshots.json'] as string;

/** `plan --json` with a clean deployment environment (none of the SNAP2AMI_* variables set) plus `env`. */
async function plan(file: string, args: string[] = [], env: Record<string, string> = {}) {
  const clean = Object.fromEntries(
    Object.keys(process.env)
      .filter((name) => name.startsWith('SNAP2AMI_'))
      .map((name) => [name, '']),
  );
  const result = await snap2amiInProcess(['plan', '--json', '--snapshots', file, ...args], {
    ...clean,
    ...env,
  });
  return { ...result, document: result.stdout ? JSON.parse(result.stdout) : undefined };
}

describe('snap2ami plan: the deployment bounds', () => {
  it('rejects an ssm-parameter outside ssmParameterPath (by default /snap2ami/), naming the --param to deploy with', async () => {
    const { status, document } = await plan(snapshots({ 'snap2ami:ssm-parameter': '/golden/web' }));
    expect(status).toBe(2);
    expect(document.plans).toEqual([]);
    expect(document.rejected).toEqual([
      {
        snapshotIds: [SNAPSHOT],
        errors: [
          {
            tag: 'snap2ami:ssm-parameter',
            field: 'lifecycle.ssmParameter',
            message: expect.stringContaining('deploy with --param="ssmParameterPath=/golden/"'),
          },
        ],
      },
    ]);
  });

  it('plans it for a deployment whose path covers it: from --ssm-parameter-path, or SNAP2AMI_SSM_PARAMETER_PATH', async () => {
    const file = snapshots({ 'snap2ami:ssm-parameter': '/golden/web' });
    for (const { args, env } of [
      { args: ['--ssm-parameter-path', '/golden/'], env: {} },
      { args: [], env: { SNAP2AMI_SSM_PARAMETER_PATH: '/golden/' } },
    ]) {
      const { status, document } = await plan(file, args, env);
      expect(status).toBe(0);
      expect(document.plans[0].lifecycle).toEqual({ ssmParameter: '/golden/web' });
    }
  });

  it('rejects a launch test without a launch-test subnet, and plans it with one', async () => {
    const file = snapshots({ 'snap2ami:launch-test': 'status-checks', 'snap2ami:architecture': 'arm64' });
    const without = await plan(file);
    expect(without.status).toBe(2);
    expect(without.document.rejected[0].errors).toEqual([
      expect.objectContaining({
        tag: 'snap2ami:launch-test',
        message: expect.stringContaining('--param="launchTestSubnetIds=subnet-…"'),
      }),
    ]);
    const planned = await plan(file, [], { SNAP2AMI_LAUNCH_TEST_SUBNET_IDS: 'subnet-12345678' });
    expect(planned.status).toBe(0);
    expect(planned.document.plans[0].launchTest).toEqual({
      mode: 'status-checks',
      instanceType: 't4g.micro',
      timeoutMinutes: 15,
    });
  });

  it('refuses a bad setting in one line, exit 1, nothing on stdout', async () => {
    const { status, stdout, stderr } = await plan(snapshots({}), [], {
      SNAP2AMI_UEFI_DATA_PARAMETER_PATH: '/aws/x/',
    });
    expect(status).toBe(1);
    expect(stdout).toBe('');
    expect(stderr).toContain('"/aws/x/" is not an SSM parameter path; accepted: ');
    expect(stderr.trim().split('\n')[0]).toContain('SNAP2AMI_UEFI_DATA_PARAMETER_PATH');
  });

  it('redrive and reconcile take the same settings', async () => {
    for (const command of ['redrive', 'reconcile']) {
      const { stdout } = await snap2amiInProcess([command, '--help']);
      for (const flag of [
        '--ssm-parameter-path',
        '--uefi-data-bucket',
        '--uefi-data-parameter-path',
        '--launch-test-subnet-ids',
        '--launch-test-security-group-id',
        '--launch-test-vpc-id',
        '--launch-test-instance-profile',
        '--launch-test-instance-types',
      ])
        expect(stdout, `${command} ${flag}`).toContain(flag);
    }
  });
});
