/**
 * The command line's option parsers: each checks one value and says what is accepted, so a
 * typo is a usage error before any AWS call.
 */
import { type Command, InvalidArgumentError, Option } from 'commander';
import { isKnownRegion } from '../shared/aws/regions.ts';
import { DEFAULT_PREFIX } from '../shared/contract/types.ts';
import { isIdempotencyKey } from '../shared/idempotency.ts';
import {
  bucketOverrides,
  DEFAULT_LAUNCH_TEST_INSTANCE_TYPES,
  DEFAULT_SSM_PARAMETER_PATH,
  DEFAULT_UEFI_DATA_PARAMETER_PATH,
  DEPLOYMENT_PARAMETERS,
  type DeploymentBounds,
  type DeploymentParameter,
  launchTestInstanceProfile,
  launchTestInstanceTypes,
  launchTestSecurityGroupId,
  launchTestSubnetIds,
  launchTestVpcId,
  rateShare,
  splitAccounts,
  ssmParameterPath,
  tagPrefix,
  uefiDataBucket,
  uefiDataParameterPath,
} from '../shared/settings.ts';
import { isSnapshotId, SNAPSHOT_ID_FORM } from '../shared/snapshot-ref.ts';

const SNAPSHOT_ID = `a snapshot ID (${SNAPSHOT_ID_FORM})`;
const KEY = 'an idempotency key (v1- and 32 hex digits)';

/** A repeatable option's parser: each value checked, then collected. */
function listOf(valid: (value: string) => boolean, what: string) {
  return (value: string, previous: string[] = []): string[] => {
    if (!valid(value)) throw new InvalidArgumentError(`${value} is not ${what}.`);
    return [...previous, value];
  };
}
export const snapshotIds = listOf(isSnapshotId, SNAPSHOT_ID);
export const keys = listOf(isIdempotencyKey, KEY);

export function snapshotIdOrKey(value: string): string {
  if (isSnapshotId(value) || isIdempotencyKey(value)) return value;
  throw new InvalidArgumentError(`expected a snapshot ID (snap-…) or ${KEY}.`);
}

export function region(value: string): string {
  if (!isKnownRegion(value))
    throw new InvalidArgumentError(
      `"${value}" is not an AWS Region the SDK knows (for example us-east-1, eu-west-2).`,
    );
  return value;
}

const ISO_8601 = /^\d{4}-\d{2}-\d{2}(T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:?\d{2})?)?$/;
const AGE = /^(\d+)(m|h|d|w)$/;
const AGE_UNITS_MS = { m: 60_000, h: 3_600_000, d: 86_400_000, w: 604_800_000 } as const;

/** An ISO 8601 date or time, or an age (`12h`: twelve hours ago), as an ISO 8601 instant in UTC. */
export function pointInTime(value: string): string {
  const now = new Date();
  const age = AGE.exec(value);
  if (age)
    return new Date(
      now.getTime() - Number(age[1]) * AGE_UNITS_MS[age[2] as keyof typeof AGE_UNITS_MS],
    ).toISOString();
  const time = ISO_8601.test(value) ? new Date(value) : undefined;
  if (!time || Number.isNaN(time.getTime()))
    throw new InvalidArgumentError(
      `"${value}" is neither an ISO 8601 date or time (2026-11-30, 2026-11-30T06:00Z) nor an age (90m, 12h, 7d, 2w).`,
    );
  return time.toISOString();
}

/** A length of time as an age (`0`, `90m`, `1h`, `2d`, `1w`), in seconds. */
export function duration(value: string): number {
  if (value === '0') return 0;
  const age = AGE.exec(value);
  if (!age)
    throw new InvalidArgumentError(
      `"${value}" is not a length of time; accepted: 0, or an age (90m, 12h, 7d, 2w).`,
    );
  return (Number(age[1]) * AGE_UNITS_MS[age[2] as keyof typeof AGE_UNITS_MS]) / 1000;
}

export function positiveNumber(value: string): number {
  const number = Number(value);
  if (!Number.isFinite(number) || number <= 0) throw new InvalidArgumentError('expected a positive number.');
  return number;
}

export function accountId(value: string): string {
  if (!/^\d{12}$/.test(value)) throw new InvalidArgumentError('expected a 12-digit AWS account ID.');
  return value;
}

const STATE_MACHINE_ARN = /^arn:aws[a-z-]*:states:[a-z]{2}(-[a-z]+)+-\d:\d{12}:stateMachine:[\w-]{1,80}$/;

/**
 * A Step Functions state machine's ARN (the stack output StateMachineArn): redrive takes the
 * pipeline's account and Region from it, so anything else is a usage error, not a rejection
 * of every snapshot as another account's.
 */
export function stateMachineArn(value: string): string {
  if (!STATE_MACHINE_ARN.test(value))
    throw new InvalidArgumentError(
      `${value} is not a state machine ARN (arn:<partition>:states:<region>:<account>:stateMachine:<name>, the stack output StateMachineArn).`,
    );
  return value;
}

/** A deployment setting's parser (shared/settings.ts) as an option's: its refusal is a usage error. */
function usage<T>(parse: (value: string) => T) {
  return (value: string): T => {
    try {
      return parse(value);
    } catch (error) {
      throw new InvalidArgumentError(`${(error as Error).message}.`);
    }
  };
}

export const rateShareOption = usage(rateShare);
export const bucketOverridesOption = usage(bucketOverrides);

/** The tag contract's deployment settings as the commands that plan have them (contractOptions). */
export interface ContractOptions {
  prefix: string;
  allowedSourceAccounts: string[];
  ssmParameterPath: string;
  uefiDataBucket?: string;
  uefiDataParameterPath: string;
  launchTestSubnetIds: string[];
  launchTestSecurityGroupId?: string;
  launchTestVpcId?: string;
  launchTestInstanceProfile?: string;
  launchTestInstanceTypes: string[];
}

/**
 * An option for a deployment parameter: `--<kebab-case name>`, from the same environment
 * variable as the functions', parsed by the same function (its refusal is a usage error).
 */
function parameterOption<T>(
  parameter: DeploymentParameter,
  argument: string,
  description: string,
  parse: (value: string) => T,
  fallback?: { value: T; shown: string },
  flag = parameter.replace(/[A-Z]/g, (letter) => `-${letter.toLowerCase()}`),
): Option {
  const option = new Option(`--${flag} <${argument}>`, `${description} (the stack's ${parameter} parameter)`)
    .env(DEPLOYMENT_PARAMETERS[parameter].variable)
    .argParser(usage(parse));
  return fallback === undefined ? option : option.default(fallback.value, fallback.shown);
}

/**
 * The tag contract's deployment settings, for the commands that plan (plan, redrive,
 * reconcile): the same parameters as the functions', from flags or from the same SNAP2AMI_*
 * variables, read (and checked) only by the commands that use them, so that a bad value
 * elsewhere never stops `--help` or another command.
 */
export function contractOptions(command: Command): Command {
  const options = [
    parameterOption(
      'tagPrefix',
      'prefix',
      'tag key prefix',
      tagPrefix,
      { value: DEFAULT_PREFIX, shown: DEFAULT_PREFIX },
      'prefix',
    ),
    parameterOption(
      'allowedSourceAccounts',
      'ids',
      'comma-separated accounts whose snapshots may be registered too',
      splitAccounts,
      { value: [], shown: 'none' },
    ),
    parameterOption(
      'ssmParameterPath',
      'path',
      'the path <prefix>ssm-parameter may name parameters under',
      ssmParameterPath,
      {
        value: DEFAULT_SSM_PARAMETER_PATH,
        shown: DEFAULT_SSM_PARAMETER_PATH,
      },
    ),
    parameterOption(
      'uefiDataBucket',
      'bucket',
      'the S3 bucket <prefix>uefi-data=s3://… may name',
      uefiDataBucket,
    ),
    parameterOption(
      'uefiDataParameterPath',
      'path',
      'the SSM path <prefix>uefi-data=ssm:… may name parameters under',
      uefiDataParameterPath,
      { value: DEFAULT_UEFI_DATA_PARAMETER_PATH, shown: DEFAULT_UEFI_DATA_PARAMETER_PATH },
    ),
    parameterOption(
      'launchTestSubnetIds',
      'ids',
      'comma-separated subnets launch tests run in; none: <prefix>launch-test is rejected',
      launchTestSubnetIds,
      { value: [], shown: 'none' },
    ),
    parameterOption(
      'launchTestSecurityGroupId',
      'id',
      "launch-test instances' security group",
      launchTestSecurityGroupId,
    ),
    parameterOption('launchTestVpcId', 'id', "the launch-test subnets' VPC", (value) =>
      launchTestVpcId(value),
    ),
    parameterOption(
      'launchTestInstanceProfile',
      'profile',
      'the instance profile of launch-test instances; none: ssm: launch tests are rejected',
      launchTestInstanceProfile,
    ),
    parameterOption(
      'launchTestInstanceTypes',
      'types',
      'comma-separated instance types launch tests may run on',
      launchTestInstanceTypes,
      { value: [...DEFAULT_LAUNCH_TEST_INSTANCE_TYPES], shown: DEFAULT_LAUNCH_TEST_INSTANCE_TYPES.join(',') },
    ),
  ];
  for (const option of options) command.addOption(option);
  return command;
}

/** The planner's deployment settings from contractOptions' values: the prefix, the accounts and the bounds. */
export function contractSettings(options: ContractOptions): {
  prefix: string;
  allowedSourceAccounts: string[];
  bounds: DeploymentBounds;
} {
  return {
    prefix: options.prefix,
    allowedSourceAccounts: options.allowedSourceAccounts,
    bounds: {
      ssmParameterPath: options.ssmParameterPath,
      uefiData: { bucket: options.uefiDataBucket, parameterPath: options.uefiDataParameterPath },
      launchTest: {
        subnetIds: options.launchTestSubnetIds,
        securityGroupId: options.launchTestSecurityGroupId,
        vpcId: options.launchTestVpcId,
        instanceProfile: options.launchTestInstanceProfile,
        instanceTypes: options.launchTestInstanceTypes,
      },
    },
  };
}
