/**
 * `npm run deploy`: usage on --help, a one-line refusal naming what is missing or wrong (exit
 * 2) before anything is built, and the package-then-deploy commands it runs for a stage and a
 * Region (shown by --dry-run, which runs nothing).
 */
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { PROJECT_ROOT } from '../../../local/index.ts';
import { deployCommands, parseDeployArgs } from '../../../scripts/deploy.ts';

/**
 * `npm run deploy -- <args>` without npm: the script it runs (checked below), so that npm's and
 * the predeploy bootstrap's own output (an install, when the lock changed) stay out of it.
 */
const deploy = (...args: string[]) => {
  const result = spawnSync(process.execPath, [join(PROJECT_ROOT, 'scripts', 'deploy.ts'), ...args], {
    cwd: PROJECT_ROOT,
    encoding: 'utf8',
    timeout: 60_000,
  });
  return { status: result.status, stdout: result.stdout, stderr: result.stderr };
};

describe('npm run deploy', () => {
  it('installs what it needs first, then runs scripts/deploy.ts', () => {
    const { scripts } = JSON.parse(readFileSync(join(PROJECT_ROOT, 'package.json'), 'utf8')) as {
      scripts: Record<string, string>;
    };
    expect(scripts.predeploy).toBe('scripts/bootstrap');
    expect(scripts.deploy).toBe('node scripts/deploy.ts');
  });

  it('prints its usage on --help', () => {
    const { status, stdout } = deploy('--help');
    expect(status).toBe(0);
    expect(stdout).toMatch(/^Usage: npm run deploy -- --stage <stage> --region <region> \[options\]/);
    for (const option of ['--stage', '--region', '--profile', '--param', '--dry-run'])
      expect(stdout).toContain(option);
    expect(stdout).toContain('deploy/deployer-policy.json');
  });

  it('refuses, in one line and with exit 2, a deploy without a Region', () => {
    const { status, stdout, stderr } = deploy('--stage', 'prod');
    expect(status).toBe(2);
    expect(stdout).toBe('');
    expect(stderr).toBe(
      'deploy: --region is required: the Region the stack goes to (npm run deploy -- --help for usage)\n',
    );
  });

  it('shows, with --dry-run, that it builds, packages, then deploys that package', () => {
    const { status, stdout } = deploy(
      '--stage',
      'prod',
      '--region',
      'eu-west-1',
      '--param',
      'alarmLambdaErrors=3',
      '--dry-run',
    );
    expect(status).toBe(0);
    expect(stdout.trim().split('\n')).toEqual([
      'node scripts/build.ts',
      'serverless package --package .serverless --stage prod --region eu-west-1 --param=alarmLambdaErrors=3',
      'serverless deploy --package .serverless --verbose --stage prod --region eu-west-1 --param=alarmLambdaErrors=3',
    ]);
  });
});

describe('parseDeployArgs', () => {
  // [arguments, the refusal]
  const refused: [string[], string][] = [
    [['--region', 'eu-west-1'], '--stage is required'],
    [['--stage', 'prod_1', '--region', 'eu-west-1'], '"prod_1" is not a stage'],
    [['--stage', 'prod', '--region', 'eu-wset-1'], '"eu-wset-1" is not an AWS Region'],
    [
      ['--stage', 'prod', '--region', 'eu-west-1', '--param', 'tagPrefix'],
      '--param tagPrefix: expected name=value',
    ],
    [['--stage', 'prod', '--region', 'eu-west-1', '--force'], "Unknown option '--force'"],
  ];
  it.each(refused)('refuses %j', (argv, why) => {
    expect(() => parseDeployArgs(argv)).toThrow(why);
  });

  it('passes the profile to serverless as --aws-profile', () => {
    const options = parseDeployArgs(['--stage', 'dev', '--region', 'us-east-1', '--profile', 'ops']);
    expect(options).toEqual({ stage: 'dev', region: 'us-east-1', profile: 'ops', params: [], dryRun: false });
    if (options === 'help') return;
    for (const command of deployCommands(options))
      expect(command).toEqual(expect.arrayContaining(['--aws-profile', 'ops']));
  });
});
