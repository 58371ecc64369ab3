/**
 * `npm run deploy -- --stage <stage> --region <region> [options]`: builds the handlers,
 * packages the stack (`serverless package`, the artifact the tests lint and inspect) and deploys
 * that package (`serverless deploy --package`), for one stage in one Region. Both are asked for
 * by name: a deploy never lands in a default Region by accident. Credentials are the AWS SDK's
 * usual ones (environment, AWS_PROFILE or --profile, SSO); docs/deploying.md.
 */
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { isKnownRegion } from '#shared/aws/regions.ts';
import { PROJECT_ROOT } from '../local/paths.ts';
import { buildFunctions } from './build.ts';

export const USAGE = `Usage: npm run deploy -- --stage <stage> --region <region> [options]

Builds the functions, packages the stack and deploys it: one stack, snap2ami-<stage>, in one Region.

Options:
  --stage <stage>          the stage (dev, prod, …): names the stack and every resource (required)
  --region <region>        the AWS Region to deploy to, e.g. eu-west-1 (required)
  --profile <name>         the AWS profile to deploy with (default: AWS_PROFILE, or the SDK's default chain)
  --param <name=value>     a deployment parameter (serverless.yml params:), repeatable
  --dry-run                print the commands, run nothing
  -h, --help               print this help

Example:
  npm run deploy -- --stage prod --region eu-west-1 --param "operationsTopicArn=arn:aws:sns:eu-west-1:111122223333:on-call"

The deployer needs the permissions in deploy/deployer-policy.json. After a deploy: docs/deploying.md.`;

export interface DeployOptions {
  stage: string;
  region: string;
  profile?: string;
  params: string[];
  dryRun: boolean;
}

export class UsageError extends Error {
  override readonly name = 'UsageError';
}

/** The options, or a UsageError saying what is wrong; `help` when help was asked for. */
export function parseDeployArgs(argv: string[]): DeployOptions | 'help' {
  let values: Record<string, unknown>;
  try {
    ({ values } = parseArgs({
      args: argv,
      options: {
        stage: { type: 'string' },
        region: { type: 'string' },
        profile: { type: 'string' },
        param: { type: 'string', multiple: true },
        'dry-run': { type: 'boolean' },
        help: { type: 'boolean', short: 'h' },
      },
      strict: true,
      allowPositionals: false,
    }));
  } catch (error) {
    throw new UsageError((error as Error).message);
  }
  if (values.help) return 'help';
  const stage = values.stage as string | undefined;
  const region = values.region as string | undefined;
  if (!stage) throw new UsageError('--stage is required: the stage names the stack (snap2ami-<stage>)');
  if (!/^[a-zA-Z0-9-]+$/.test(stage))
    throw new UsageError(`"${stage}" is not a stage: letters, digits and - only`);
  if (!region) throw new UsageError('--region is required: the Region the stack goes to');
  if (!isKnownRegion(region))
    throw new UsageError(`"${region}" is not an AWS Region the SDK knows (for example us-east-1, eu-west-2)`);
  const params = (values.param as string[] | undefined) ?? [];
  const bad = params.find((param) => !/^[^=]+=.+$/.test(param));
  if (bad !== undefined) throw new UsageError(`--param ${bad}: expected name=value`);
  return {
    stage,
    region,
    ...(values.profile ? { profile: values.profile as string } : {}),
    params,
    dryRun: Boolean(values['dry-run']),
  };
}

/** The two serverless commands: package, then deploy that package. */
export function deployCommands({ stage, region, profile, params }: DeployOptions): string[][] {
  const common = [
    '--stage',
    stage,
    '--region',
    region,
    ...(profile ? ['--aws-profile', profile] : []),
    ...params.map((param) => `--param=${param}`),
  ];
  return [
    ['serverless', 'package', '--package', '.serverless', ...common],
    ['serverless', 'deploy', '--package', '.serverless', '--verbose', ...common],
  ];
}

/** Runs the deploy; returns the exit status. */
export async function main(argv: string[]): Promise<number> {
  let options: DeployOptions | 'help';
  try {
    options = parseDeployArgs(argv);
  } catch (error) {
    if (!(error instanceof UsageError)) throw error;
    process.stderr.write(`deploy: ${error.message} (npm run deploy -- --help for usage)\n`);
    return 2;
  }
  if (options === 'help') {
    process.stdout.write(`${USAGE}\n`);
    return 0;
  }
  const commands = deployCommands(options);
  if (options.dryRun) {
    process.stdout.write(`${['node scripts/build.ts', ...commands.map((c) => c.join(' '))].join('\n')}\n`);
    return 0;
  }
  process.stderr.write('deploy: building the functions ...\n');
  await buildFunctions();
  for (const [step, command] of commands.entries()) {
    process.stderr.write(`deploy: ${step === 0 ? 'packaging' : 'deploying'}: ${command.join(' ')}\n`);
    const [tool = 'serverless', ...args] = command;
    const result = spawnSync(join(PROJECT_ROOT, 'node_modules', '.bin', tool), args, {
      cwd: PROJECT_ROOT,
      stdio: 'inherit',
      // osls's AWS SDK v2 warns of its end of support on every run: not the user's to act on.
      env: { ...process.env, AWS_SDK_JS_SUPPRESS_MAINTENANCE_MODE_MESSAGE: '1' },
    });
    if (result.status !== 0) {
      process.stderr.write(
        `deploy: ${command.slice(0, 2).join(' ')} failed (exit ${result.status ?? result.signal}); see its output above.\n`,
      );
      return result.status ?? 1;
    }
  }
  process.stderr.write(
    `deploy: snap2ami-${options.stage} is deployed in ${options.region}. Next: docs/deploying.md, "After a deploy".\n`,
  );
  return 0;
}

if (import.meta.main) process.exitCode = await main(process.argv.slice(2));
