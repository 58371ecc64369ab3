/**
 * A serverless plugin (serverless.yml `plugins:`) for snap2ami's deployment parameters.
 *
 * It makes `package`, `deploy` and `deploy function` refuse parameters that would break the
 * deployed functions: a value the functions would refuse at INIT (checked with
 * shared/settings.ts, the one definition of what each accepts, on the environment the
 * functions get), a value the operations parameters refuse (alarm thresholds, the operations
 * topic, the state machine's log: scripts/observability-parameters.ts), and a `--param` that
 * serverless.yml does not declare (a typo that would silently leave the default). Each problem
 * is one line naming the parameter and what is accepted.
 *
 * It resolves values for the image role's conditions and resources that serverless variables
 * alone cannot write (a list split from a parameter; a condition key made from one; a
 * parameter's default applied as the functions apply it):
 * - `${snap2ami:sourceAccounts}`: `ec2:Owner` values, this account then allowedSourceAccounts
 *   parsed as the functions parse it;
 * - `${snap2ami:keyTagCondition}`: the condition that the request tags the image with the
 *   pipeline's key, `<tagPrefix>key` (`aws:RequestTag/<tagPrefix>key` present, and among
 *   `aws:TagKeys`);
 * - `${snap2ami:resourceTagCondition.<name>}`: the condition that the resource acted on
 *   carries `<tagPrefix><name>` (`aws:ResourceTag/<tagPrefix><name>` present): the lifecycle
 *   role acts only on AMIs (`key`) and snapshots (`image-id`) snap2ami made or tagged.
 * - `${snap2ami:billingCheckTagCondition}`: the image carries `<tagPrefix>key`, and the
 *   request's tag keys are only `<tagPrefix>billing-check`: the billing check's tag;
 * - `${snap2ami:retentionTagCondition}`: the image carries `<tagPrefix>key`, and the request's
 *   tag keys are only `<tagPrefix>pipeline`, `<tagPrefix>retired-at` and `<tagPrefix>retire-after`
 *   (retention's tags);
 * - `${snap2ami:uefiDataParameterPath}`: the SSM path ReadUefiData may read under, with the
 *   default the image function applies when the parameter is empty (never `parameter*`);
 * - `${snap2ami:ssmParameterPath}`: the same for the path the lifecycle function writes under;
 * - `${snap2ami:launchTest.<name>}`: the launch-test role's values (ADR 0012): `subnetIds`,
 *   `instanceTypes` (parsed as the functions parse them; `none` when there are none),
 *   `roleName` (the instance profile's role: `launchTestInstanceRoleName`, else the profile's
 *   name, as the console names the role it creates with a profile; launchTestRoleName()),
 *   `requestTagCondition` (the new instance and volumes tagged `<prefix>launch-test=true`, with
 *   the launch test's tag keys only), `resourceTagCondition` (the instance is tagged so),
 *   `imageTagCondition` (one of the pipeline's images, given `<prefix>launch-test` only).
 *
 * TypeScript that Node 24 runs as it is; osls loads it through require().
 */
import {
  DEPLOYMENT_PARAMETERS,
  launchTestInstanceTypes,
  launchTestSubnetIds,
  parameterProblems,
  splitAccounts,
  ssmParameterPath,
  uefiDataParameterPath,
} from '#shared/settings.ts';
import { observabilityProblems, resolvedParameters } from './observability-parameters.ts';

/** The parts of osls's Serverless instance this plugin reads. */
export interface Serverless {
  classes: { Error: new (message: string) => Error };
  configurationInput?: { params?: Record<string, Record<string, unknown> | null> };
  processedInput: { commands: string[]; options: { param?: string[]; stage?: string } };
  service: {
    provider: { environment?: Record<string, unknown>; stage?: string; region?: string };
    functions?: Record<string, { environment?: Record<string, unknown> }>;
  };
}

export interface ParameterInput {
  /** Each function's environment, as deployed (the provider's, merged with its own). */
  environments: Record<string, unknown>[];
  /** The parameter names serverless.yml declares, for any stage. */
  declared: string[];
  /** The `--param` options, `name=value` each. */
  cliParams: string[];
}

/** One line per problem; none when the parameters are good. */
export function parameterErrors({ environments, declared, cliParams }: ParameterInput): string[] {
  const lines = new Set<string>();
  for (const option of cliParams) {
    const name = option.split('=')[0] ?? option;
    if (!declared.includes(name))
      lines.add(
        `Parameter ${name} is not one of snap2ami's (serverless.yml params:); accepted: ${declared.join(', ')}.`,
      );
  }
  for (const environment of environments) {
    const env = Object.fromEntries(
      Object.entries(environment).map(([name, value]) => [name, value == null ? undefined : String(value)]),
    );
    for (const { parameter, value, problem } of parameterProblems(env))
      lines.add(`Parameter ${parameter}=${JSON.stringify(value ?? '')} is refused: ${problem}.`);
  }
  return [...lines];
}

/** An IAM condition: the request tags the new resource with `<prefix>key`. */
export function keyTagCondition(prefix: string): Record<string, Record<string, unknown>> {
  return {
    Null: { [`aws:RequestTag/${prefix}key`]: 'false' },
    'ForAnyValue:StringEquals': { 'aws:TagKeys': [`${prefix}key`] },
  };
}

/** An IAM condition: the resource acted on carries `<prefix><name>`. */
export function resourceTagCondition(prefix: string, name: string): Record<string, Record<string, unknown>> {
  return { Null: { [`aws:ResourceTag/${prefix}${name}`]: 'false' } };
}

/** An IAM condition: one of this pipeline's images, tagged with `<prefix>billing-check` and nothing else. */
export function billingCheckTagCondition(prefix: string): Record<string, Record<string, unknown>> {
  return {
    ...resourceTagCondition(prefix, 'key'),
    'ForAllValues:StringEquals': { 'aws:TagKeys': [`${prefix}billing-check`] },
  };
}

/** An IAM condition: one of this pipeline's images, tagged only with retention's own tags (ADR 0008). */
export function retentionTagCondition(prefix: string): Record<string, Record<string, unknown>> {
  return {
    ...resourceTagCondition(prefix, 'key'),
    'ForAllValues:StringEquals': {
      'aws:TagKeys': [`${prefix}pipeline`, `${prefix}retired-at`, `${prefix}retire-after`],
    },
  };
}

/** No role: iam:PassRole then matches none (no profile, or a refused role name). */
const NO_LAUNCH_TEST_ROLE = 'snap2ami-no-launch-test-instance-profile';
const ROLE_PATH_AND_NAME = /^(?:[\w+=,.@-]+\/)*[\w+=,.@-]{1,64}$/;
const ROLE_ARN = /^arn:aws(?:-[a-z]+)*:iam::\d{12}:role\/((?:[\w+=,.@-]+\/)*[\w+=,.@-]{1,64})$/;
export const LAUNCH_TEST_ROLE_ACCEPTED =
  "the IAM role of the launch-test instance profile: a role name (1 to 64 letters, digits, + = , . @ _ -), with its path if it has one (path/name), or a role ARN of this account (arn:<partition>:iam::<account>:role/<path/name>); or none (the default: the role has the instance profile's name, as the IAM console creates them)";

/**
 * The role that launch-test instances run with, as iam:PassRole's resource (`role/<path/name>`):
 * the deployment's launchTestInstanceRoleName, else the instance profile's name (the console
 * creates a role and its profile under one name). An instance profile names no role that a
 * template could read at package time, so a role named otherwise must be given.
 */
export function launchTestRoleName(role: string, profile: string): string {
  const given = role.trim();
  if (given !== '') {
    const fromArn = ROLE_ARN.exec(given)?.[1];
    if (fromArn !== undefined) return fromArn;
    if (ROLE_PATH_AND_NAME.test(given)) return given;
    throw new Error(`"${given}" is not a role name or role ARN; accepted: ${LAUNCH_TEST_ROLE_ACCEPTED}.`);
  }
  const name = profile.trim().split('/').at(-1) ?? '';
  return name === '' ? NO_LAUNCH_TEST_ROLE : name;
}

/** The launch-test role's values (ADR 0012), from the parameters; `none` where a list would be empty (no resource matches). */
export function launchTestValue(name: string, param: (name: string) => string): unknown {
  const prefix = param('tagPrefix');
  const safe = (parse: () => string[]) => {
    try {
      const list = parse();
      return list.length > 0 ? list : ['none'];
    } catch {
      // Refused, naming the parameter, when package or deploy initializes.
      return ['none'];
    }
  };
  switch (name) {
    case 'subnetIds':
      return safe(() => launchTestSubnetIds(param('launchTestSubnetIds')));
    case 'instanceTypes':
      return safe(() => launchTestInstanceTypes(param('launchTestInstanceTypes')));
    case 'roleName':
      try {
        return launchTestRoleName(param('launchTestInstanceRoleName'), param('launchTestInstanceProfile'));
      } catch {
        // Refused, naming the parameter, when package or deploy initializes.
        return NO_LAUNCH_TEST_ROLE;
      }
    case 'requestTagCondition':
      return {
        StringEquals: { [`aws:RequestTag/${prefix}launch-test`]: 'true' },
        'ForAllValues:StringEquals': {
          'aws:TagKeys': [`${prefix}key`, `${prefix}launch-test`, `${prefix}launch-test-timeout`],
        },
      };
    case 'resourceTagCondition':
      return { StringEquals: { [`aws:ResourceTag/${prefix}launch-test`]: 'true' } };
    case 'ssmResourceTagCondition':
      return { StringEquals: { [`ssm:resourceTag/${prefix}launch-test`]: 'true' } };
    case 'imageTagCondition':
      return {
        ...resourceTagCondition(prefix, 'key'),
        'ForAllValues:StringEquals': { 'aws:TagKeys': [`${prefix}launch-test`] },
      };
    default:
      return undefined;
  }
}

const VARIABLES = [
  'sourceAccounts',
  'keyTagCondition',
  'resourceTagCondition.key',
  'resourceTagCondition.image-id',
  'billingCheckTagCondition',
  'retentionTagCondition',
  'uefiDataParameterPath',
  'ssmParameterPath',
  'launchTest.subnetIds',
  'launchTest.instanceTypes',
  'launchTest.roleName',
  'launchTest.requestTagCondition',
  'launchTest.resourceTagCondition',
  'launchTest.ssmResourceTagCondition',
  'launchTest.imageTagCondition',
];

/** The commands that build or deploy what the parameters configure. */
const CHECKED_COMMANDS = new Set(['package', 'deploy', 'deploy function']);

interface VariableSource {
  resolve(input: { address?: string; resolveVariable(variable: string): Promise<unknown> }): Promise<{
    value: unknown;
  }>;
}

export default class Snap2amiParameters {
  readonly hooks: Record<string, () => void>;
  readonly configurationVariablesSources: Record<string, VariableSource>;

  constructor(serverless: Serverless) {
    this.configurationVariablesSources = {
      snap2ami: {
        async resolve({ address, resolveVariable }) {
          const param = async (name: string) => String((await resolveVariable(`param:${name}`)) ?? '');
          switch (address) {
            case 'sourceAccounts': {
              let allowed: string[] = [];
              try {
                allowed = splitAccounts(await param('allowedSourceAccounts'));
              } catch {
                // A bad list is refused, naming the parameter, when package or deploy initializes.
              }
              return { value: [{ Ref: 'AWS::AccountId' }, ...allowed] };
            }
            case 'keyTagCondition':
              return { value: keyTagCondition(await param('tagPrefix')) };
            case 'resourceTagCondition.key':
            case 'resourceTagCondition.image-id':
              return {
                value: resourceTagCondition(
                  await param('tagPrefix'),
                  address.slice('resourceTagCondition.'.length),
                ),
              };
            case 'billingCheckTagCondition':
              return { value: billingCheckTagCondition(await param('tagPrefix')) };
            case 'retentionTagCondition':
              return { value: retentionTagCondition(await param('tagPrefix')) };
            case 'uefiDataParameterPath':
            case 'ssmParameterPath': {
              const raw = await param(address);
              const parse = address === 'ssmParameterPath' ? ssmParameterPath : uefiDataParameterPath;
              try {
                return { value: parse(raw) };
              } catch {
                // A bad path is refused, naming the parameter, when package or deploy initializes.
                return { value: raw };
              }
            }
            default: {
              if (address?.startsWith('launchTest.')) {
                const names = [
                  'tagPrefix',
                  'launchTestSubnetIds',
                  'launchTestInstanceTypes',
                  'launchTestInstanceProfile',
                  'launchTestInstanceRoleName',
                ];
                const values = Object.fromEntries(
                  await Promise.all(names.map(async (n) => [n, await param(n)])),
                );
                const value = launchTestValue(address.slice('launchTest.'.length), (n) => values[n] ?? '');
                if (value !== undefined) return { value };
              }
              throw new serverless.classes.Error(
                `\${snap2ami:${address ?? ''}} is not a snap2ami variable; accepted: ${VARIABLES.join(', ')}.`,
              );
            }
          }
        },
      },
    };
    // `initialize` runs before any command's own steps (and after every variable is
    // resolved): deploy fails here, before it reads or changes anything in AWS.
    this.hooks = {
      initialize: () => {
        if (!CHECKED_COMMANDS.has(serverless.processedInput.commands.join(' '))) return;
        const { provider, functions = {} } = serverless.service;
        const stages = Object.values(serverless.configurationInput?.params ?? {});
        const errors = parameterErrors({
          environments: Object.values(functions).map((fn) => ({
            ...provider.environment,
            ...fn.environment,
          })),
          declared: [
            ...new Set([
              ...Object.keys(DEPLOYMENT_PARAMETERS),
              ...stages.flatMap((params) => Object.keys(params ?? {})),
            ]),
          ],
          cliParams: serverless.processedInput.options.param ?? [],
        });
        // The operations parameters (alarms, dashboard, logs), which reach no function.
        const { stage = 'dev', region = '' } = provider;
        const values = resolvedParameters(
          serverless.configurationInput?.params ?? {},
          serverless.processedInput.options.stage ?? stage,
          serverless.processedInput.options.param ?? [],
        );
        for (const { parameter, value, problem } of observabilityProblems(values, { region }))
          errors.push(
            `Parameter ${parameter}=${JSON.stringify(String(value ?? ''))} is refused: ${problem}.`,
          );
        // The launch-test role's name reaches IAM only (iam:PassRole), no function.
        const role = String(values.launchTestInstanceRoleName ?? '');
        try {
          launchTestRoleName(role, '');
        } catch (error) {
          errors.push(
            `Parameter launchTestInstanceRoleName=${JSON.stringify(role)} is refused: ${(error as Error).message}`,
          );
        }
        if (errors.length > 0) throw new serverless.classes.Error(errors.join('\n'));
      },
    };
  }
}
