/**
 * Bad deployment parameters fail `npm run package` and `serverless deploy` with one line
 * naming the parameter and what is accepted, instead of packaging functions that then fail
 * at INIT.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { PROJECT_ROOT, packagedTemplate } from '../../../local/index.ts';
import { EC2_APIS } from '../../../shared/admission.ts';
import {
  DEPLOYMENT_PARAMETERS,
  deploymentBounds,
  deploymentSettings,
  MAX_PREFIX_LENGTH,
} from '../../../shared/settings.ts';
import { runPackaging } from '../../support/package.ts';

const BAD = 'allowedSourceAccounts=1234,abc';
const REFUSAL =
  'Parameter allowedSourceAccounts="1234,abc" is refused: "1234" is not an AWS account ID; accepted: AWS account IDs (12 digits) separated by commas, or none (the default).';

/** The lines of the output that mention the parameter, but for npm's echo of the command. */
const naming = (output: string) =>
  output.split('\n').filter((line) => line.includes('allowedSourceAccounts') && !line.startsWith('> '));

describe('deployment parameters', () => {
  it('npm run package refuses allowedSourceAccounts=1234,abc in one line', async () => {
    const { status, output } = await runPackaging(['npm', 'run', 'package', '--', `--param=${BAD}`]);
    expect(status, output).not.toBe(0);
    expect(naming(output)).toEqual([REFUSAL]);
    expect(output).not.toContain('Service packaged');
  }, 180_000);

  it('serverless deploy refuses it before reaching AWS', async () => {
    const serverless = join(PROJECT_ROOT, 'node_modules', '.bin', 'serverless');
    const { status, output } = await runPackaging([
      serverless,
      'deploy',
      '--stage',
      'test',
      `--param=${BAD}`,
    ]);
    expect(status, output).not.toBe(0);
    expect(naming(output)).toEqual([REFUSAL]);
  }, 180_000);
});

describe('the Parameters table (docs/deploying.md)', () => {
  const readme = readFileSync(join(PROJECT_ROOT, 'docs', 'deploying.md'), 'utf8');
  /** The table row of a parameter: `| \`name\` | default | what it accepts |`. */
  const row = (name: string) => readme.split('\n').find((line) => line.startsWith(`| \`${name}\` |`)) ?? '';

  it('has a row for every parameter the functions read', () => {
    for (const name of Object.keys(DEPLOYMENT_PARAMETERS)) expect(row(name), name).not.toBe('');
  });

  it('says what the functions accept: the prefix length, and every API whose bucket may be overridden', () => {
    expect(row('tagPrefix')).toContain(`at most ${MAX_PREFIX_LENGTH} characters`);
    for (const api of EC2_APIS) expect(row('ec2BucketOverrides'), api).toContain(`\`${api}\``);
  });
});

describe("the deployment's bounds and the launch test's parameters", () => {
  it('npm run package refuses launch-test subnets without a security group or a VPC, naming launchTestVpcId', async () => {
    const { status, output } = await runPackaging([
      'npm',
      'run',
      'package',
      '--',
      '--param=launchTestSubnetIds=subnet-0123456789abcdef0',
    ]);
    expect(status, output).not.toBe(0);
    expect(output.split('\n').filter((line) => line.startsWith('Parameter '))).toEqual([
      `Parameter launchTestVpcId="" is refused: no VPC is given, but launchTestSubnetIds is set and launchTestSecurityGroupId is not (the stack creates the launch-test security group in this VPC); accepted: ${DEPLOYMENT_PARAMETERS.launchTestVpcId.accepted}.`,
    ]);
    expect(output).not.toContain('Service packaged');
  }, 180_000);

  it('every function gets the bounds, with the defaults the planner and the workflow apply', async () => {
    const template = await packagedTemplate(() => {});
    const functions = Object.entries(template.Resources).filter(
      ([, r]) => r.Type === 'AWS::Lambda::Function',
    );
    expect(functions.length).toBeGreaterThanOrEqual(4);
    for (const [name, resource] of functions) {
      const env = (resource.Properties.Environment as { Variables: Record<string, string> }).Variables;
      expect(deploymentSettings(env).bounds, name).toEqual(deploymentBounds({}));
      for (const parameter of [
        'ssmParameterPath',
        'uefiDataBucket',
        'uefiDataParameterPath',
        'launchTestSubnetIds',
        'launchTestSecurityGroupId',
        'launchTestVpcId',
        'launchTestInstanceProfile',
        'launchTestInstanceTypes',
      ] as const)
        expect(env, `${name} ${parameter}`).toHaveProperty(DEPLOYMENT_PARAMETERS[parameter].variable);
    }
  });
});
