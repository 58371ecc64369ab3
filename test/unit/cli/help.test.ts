/**
 * Every command has --help describing every option, and refuses malformed IDs before any AWS call.
 * The CLI runs in this process (test/support/cli-in-process.ts), as bin/snap2ami runs it; one test
 * checks that a spawned bin/snap2ami prints the same.
 */
import { describe, expect, it } from 'vitest';
import packageJson from '../../../package.json' with { type: 'json' };
import { snap2ami } from '../../support/cli.ts';
import { snap2amiInProcess as cli } from '../../support/cli-in-process.ts';

const ARN = 'arn:aws:states:us-east-1:123456789012:stateMachine:snap2ami-dev-register-image';

const commands: Record<string, string[]> = {
  replay: [
    '--dlq-url',
    '--queue-url',
    '--dry-run',
    '--max',
    '--snapshot-id',
    '--reason',
    '--rate',
    '--move-task',
    '--json',
    '--region',
    '--profile',
  ],
  redrive: [
    '--table',
    '--state-machine-arn',
    '--prefix',
    'SNAP2AMI_TAG_PREFIX',
    '--allowed-source-accounts',
    'SNAP2AMI_ALLOWED_SOURCE_ACCOUNTS',
    '--key',
    '--snapshot-id',
    '--since',
    '--until',
    '--all',
    '--dry-run',
    '--json',
    '--region',
    '--profile',
    '--admission-table',
    'SNAP2AMI_ADMISSION_TABLE',
    '--ec2-rate-share',
    'SNAP2AMI_EC2_RATE_SHARE',
    'default: 0.5',
    '--ec2-bucket-overrides',
    'SNAP2AMI_EC2_BUCKET_OVERRIDES',
  ],
  status: ['--table', '--json', '<snapshot-id|key>', '--region', '--profile'],
  register: [
    '<snapshot-id...>',
    '--multi-volume',
    '--queue-url',
    'SNAP2AMI_QUEUE_URL',
    '--dry-run',
    '--region',
    '--profile',
  ],
  reconcile: [
    '--table',
    'SNAP2AMI_TABLE',
    '--queue-url',
    'SNAP2AMI_QUEUE_URL',
    '--grace',
    '(default: 1h)',
    '--prefix',
    '--allowed-source-accounts',
    '--dry-run',
    '--json',
    '--region',
    '--profile',
  ],
};

describe('--help', () => {
  it.each(Object.entries(commands))('snap2ami %s --help describes every option', async (command, options) => {
    const result = await cli([command, '--help']);
    expect(result.status).toBe(0);
    for (const option of options) expect(result.stdout).toContain(option);
  });

  it.each([...Object.keys(commands), 'plan', 'local'])(
    "snap2ami %s --help's description is sentences that commander wraps, with no hard line break",
    async (command) => {
      // The description: the paragraph after `Usage: …`. Commander wraps at 80 columns when
      // stdout is no terminal; a break where the next word would have fitted is a hard one.
      const [, description = ''] = (await cli([command, '--help'])).stdout.split('\n\n');
      expect(description.trim(), command).not.toBe('');
      const lines = description.split('\n');
      for (const [i, line] of lines.slice(0, -1).entries()) {
        const nextWord = (lines[i + 1] as string).split(' ')[0] as string;
        expect(`${line} ${nextWord}`.length, `"${line}" then "${nextWord}"`).toBeGreaterThan(80);
      }
    },
  );

  it('status needs no state machine: it reads the record, and the execution the record names', async () => {
    expect((await cli(['status', '--help'])).stdout).not.toContain('--state-machine-arn');
  });

  it('a bad deployment setting in the environment stops only the commands that use it, in one line', async () => {
    // SNAP2AMI_EC2_RATE_SHARE is the functions' setting, and redrive's only.
    expect((await cli(['--help'], { SNAP2AMI_EC2_RATE_SHARE: '2' })).status).toBe(0);
    expect(
      (
        await cli(['reconcile', '--help'], {
          SNAP2AMI_EC2_RATE_SHARE: '2',
          SNAP2AMI_EC2_BUCKET_OVERRIDES: 'x',
        })
      ).status,
    ).toBe(0);
    const redrive = await cli(['redrive', '--all', '--table', 't', '--state-machine-arn', ARN], {
      SNAP2AMI_EC2_RATE_SHARE: '2',
    });
    expect(redrive.status).toBe(1);
    expect(redrive.stderr).toContain('"2" is not a usable share');
    expect(redrive.stderr).not.toMatch(/\n\s+at /);
    const result = await cli(['reconcile', '--table', 't', '--queue-url', 'q'], {
      SNAP2AMI_TAG_PREFIX: 'aws:x',
    });
    expect(result.status).toBe(1);
    expect(result.stderr).toContain('"aws:x" is not a usable tag prefix');
    expect(result.stderr).not.toMatch(/\n\s+at /);
  });

  it('snap2ami --version prints the package version', async () => {
    const result = await cli(['--version']);
    expect(result.status).toBe(0);
    expect(result.stdout.trim()).toBe(packageJson.version);
  });

  it('snap2ami --help lists every command', async () => {
    const result = await cli(['--help']);
    for (const command of ['plan', 'local', 'replay', 'redrive', 'status', 'register', 'reconcile'])
      expect(result.stdout).toContain(command);
  });
});

describe('in-process runs', () => {
  it('print what a spawned bin/snap2ami prints, with the same exit status', async () => {
    const usageError = ['redrive', '--since', 'yesterday', '--table', 't', '--state-machine-arn', ARN];
    for (const args of [['redrive', '--help'], usageError]) {
      const spawned = snap2ami(args);
      expect(spawned.status, args.join(' ')).not.toBeNull();
      expect(await cli(args), args.join(' ')).toEqual(spawned);
    }
  }, 60_000);
});

describe('usage errors', () => {
  const context = ['--table', 'records', '--state-machine-arn', ARN, '--queue-url', 'q', '--dlq-url', 'd'];
  it.each([
    [['status', '', ...context.slice(0, 4)], 'expected a snapshot ID (snap-…) or an idempotency key'],
    [['status', 'ami-0123456789abcdef0', ...context.slice(0, 4)], 'expected a snapshot ID'],
    [['redrive', '--key', 'v1-abc', ...context.slice(0, 4)], 'v1-abc is not an idempotency key'],
    [
      ['redrive', '--snapshot-id', 'snap-0123456789abcdef0', 'vol-1', ...context.slice(0, 4)],
      'vol-1 is not a snapshot ID',
    ],
    [['replay', '--snapshot-id', 'snap-XYZ', ...context.slice(4)], 'snap-XYZ is not a snapshot ID'],
    [
      ['status', 'snap-0123456789abcdef0', '--region', 'eu-wset-1', ...context.slice(0, 4)],
      '"eu-wset-1" is not an AWS Region',
    ],
    [
      ['plan', '--snapshots', 'examples/snapshots.json', '--region', 'us-est-1'],
      '"us-est-1" is not an AWS Region',
    ],
    [['redrive', '--since', 'yesterday', ...context.slice(0, 4)], '"yesterday" is neither an ISO 8601 date'],
    [['redrive', '--until', '2026-13-45', ...context.slice(0, 4)], '"2026-13-45" is neither'],
    [['redrive', '--since', '12 hours', ...context.slice(0, 4)], 'nor an age (90m, 12h, 7d, 2w)'],
    [
      ['register', 'snap-0123456789abcdef0', 'ami-0123456789abcdef0', '--queue-url', 'q'],
      'ami-0123456789abcdef0 is not a snapshot ID',
    ],
    [['register', '--queue-url', 'q'], "missing required argument 'snapshot-id'"],
    [['register', 'snap-0123456789abcdef0'], "required option '--queue-url <url>' not specified"],
    [
      ['reconcile', '--table', 't', '--queue-url', 'q', '--grace', 'an hour'],
      '"an hour" is not a length of time',
    ],
    [['reconcile', '--table', 't'], "required option '--queue-url <url>' not specified"],
    [
      ['redrive', '--all', '--ec2-bucket-overrides', 'RegisterImage=fast', ...context.slice(0, 4)],
      '"RegisterImage=fast" is not a bucket override',
    ],
    [
      ['redrive', '--all', '--table', 't', '--state-machine-arn', 'bogus'],
      'bogus is not a state machine ARN (arn:<partition>:states:<region>:<account>:stateMachine:<name>',
    ],
    [
      [
        'redrive',
        '--all',
        '--table',
        't',
        '--state-machine-arn',
        ARN.replace(':stateMachine:', ':execution:'),
      ],
      'is not a state machine ARN',
    ],
    [
      ['redrive', '--all', '--table', 't'],
      'is not a state machine ARN',
      { SNAP2AMI_STATE_MACHINE_ARN: 'arn' },
    ],
  ])('snap2ami %j exits 1 naming what is expected', async (args, message, env?: Record<string, string>) => {
    const result = await cli(args, env);
    expect(result.status).toBe(1);
    expect(result.stderr).toContain(message);
  });
});
