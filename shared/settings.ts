/**
 * Deployment settings, read from an environment (the Lambda's, or the CLI's). Pure: the
 * caller passes the environment in. Each setting is a deployment parameter (serverless.yml
 * `params:`) that reaches the functions as an environment variable. What each accepts is
 * defined here once: the functions refuse anything else at INIT, and so, before anything is
 * deployed, do `npm run package` and `serverless deploy` (scripts/serverless-parameters.ts).
 */
import { type Bucket, DEFAULT_RATE_SHARE, EC2_APIS, type Ec2Api } from './admission.ts';
import { KEYS } from './contract/keys.ts';
import {
  DEFAULT_PREFIX,
  type DeploymentBounds,
  type LaunchTestSettings,
  type UefiDataSettings,
} from './contract/types.ts';

export type { DeploymentBounds, LaunchTestSettings, UefiDataSettings };

import { instanceType, isBucketName, kmsKey, MAX_SSM_NAME_LENGTH } from './contract/values.ts';

export interface DeploymentSettings {
  prefix: string;
  allowedSourceAccounts: string[];
  /** The organization whose member accounts may send events to the pipeline's bus (docs/organizations.md), or none. */
  organizationId: string | undefined;
  /** The KMS key the copies of other accounts' encrypted snapshots are encrypted with, or none (EBS's default key). */
  copyKmsKeyId: string | undefined;
  /** The share of EC2's request token buckets the pipeline may use (docs/adr/0009-admission-control.md). */
  ec2RateShare: number;
  /** The account's own buckets where AWS raised them, by API, instead of the documented ones. */
  ec2BucketOverrides: Partial<Record<Ec2Api, Bucket>>;
  /** What a tag may ask of the deployment: the planner rejects a tag outside them (tag contract v3). */
  bounds: DeploymentBounds;
}

/** EC2 tag keys have at most 128 characters: the prefix leaves room for the longest key of the contract. */
export const MAX_PREFIX_LENGTH = 128 - Math.max(...Object.keys(KEYS).map((name) => name.length));

/** The types launch tests may run on when the deployment names none: the contract's defaults and one size up. */
export const DEFAULT_LAUNCH_TEST_INSTANCE_TYPES = ['t3.micro', 't3.small', 't4g.micro', 't4g.small'];

/**
 * How long a registration waits for its images when the deployment names no limit; and the
 * most it may wait: the execution's own timeout (statemachine/register-image.asl.json,
 * 24 hours) leaves room for the other steps.
 */
export const DEFAULT_IMAGE_WAIT_LIMIT_HOURS = 12;
export const MAX_IMAGE_WAIT_LIMIT_HOURS = 20;

/** The deployment parameters: the environment variable each sets, and what it accepts. */
export const DEPLOYMENT_PARAMETERS = {
  tagPrefix: {
    variable: 'SNAP2AMI_TAG_PREFIX',
    accepted: `a tag key prefix of 1 to ${MAX_PREFIX_LENGTH} characters that does not start with aws: (default ${DEFAULT_PREFIX})`,
  },
  allowedSourceAccounts: {
    variable: 'SNAP2AMI_ALLOWED_SOURCE_ACCOUNTS',
    accepted: 'AWS account IDs (12 digits) separated by commas, or none (the default)',
  },
  organizationId: {
    variable: 'SNAP2AMI_ORGANIZATION_ID',
    accepted:
      'an AWS Organizations organization ID (o- and 10 to 32 lowercase letters or digits) whose member accounts may send snapshot events to the pipeline; or none (the default: no organization bus)',
  },
  copyKmsKeyId: {
    variable: 'SNAP2AMI_COPY_KMS_KEY_ID',
    accepted:
      "a KMS key ARN (arn:aws:kms:<region>:<account>:key/<key-id>), key ID or alias/<name> in the pipeline's account and Region, that copies of other accounts' encrypted snapshots are encrypted with; or none (the default: the account's default EBS key)",
  },
  ec2RateShare: {
    variable: 'SNAP2AMI_EC2_RATE_SHARE',
    accepted: `a number greater than 0 and at most 1: the share of EC2's request token buckets the pipeline may use (default ${DEFAULT_RATE_SHARE})`,
  },
  ec2BucketOverrides: {
    variable: 'SNAP2AMI_EC2_BUCKET_OVERRIDES',
    accepted: `<API>=<size>/<refill per second> separated by commas, for APIs among ${EC2_APIS.join(', ')}, where AWS raised the account's limits; or none (the default: EC2's documented buckets)`,
  },
  uefiDataBucket: {
    variable: 'SNAP2AMI_UEFI_DATA_BUCKET',
    accepted:
      'the S3 bucket whose objects <prefix>uefi-data=s3://… may name (3 to 63 lowercase letters, digits, dots and hyphens), or none (the default: s3:// sources are refused)',
  },
  uefiDataParameterPath: {
    variable: 'SNAP2AMI_UEFI_DATA_PARAMETER_PATH',
    accepted: `the SSM parameter path under which <prefix>uefi-data=ssm:… may name parameters: / then one or more names of letters, digits, _ . - each followed by /, at most ${MAX_SSM_NAME_LENGTH} characters, not starting with /aws or /ssm in any case (default /snap2ami/uefi-data/)`,
  },
  ssmParameterPath: {
    variable: 'SNAP2AMI_SSM_PARAMETER_PATH',
    accepted: `the SSM parameter path under which <prefix>ssm-parameter may name parameters: / then one or more names of letters, digits, _ . - each followed by /, at most ${MAX_SSM_NAME_LENGTH} characters, not starting with /aws or /ssm in any case (default /snap2ami/)`,
  },
  launchTestSubnetIds: {
    variable: 'SNAP2AMI_LAUNCH_TEST_SUBNET_IDS',
    accepted:
      'subnet IDs (subnet- and 8 or 17 hexadecimal digits) separated by commas, where launch-test instances start; or none (the default: <prefix>launch-test is rejected when planning)',
  },
  launchTestSecurityGroupId: {
    variable: 'SNAP2AMI_LAUNCH_TEST_SECURITY_GROUP_ID',
    accepted:
      'a security group ID (sg- and 8 or 17 hexadecimal digits) for launch-test instances; or none (the default: a group the stack creates, with no ingress, in launchTestVpcId)',
  },
  launchTestVpcId: {
    variable: 'SNAP2AMI_LAUNCH_TEST_VPC_ID',
    accepted:
      "a VPC ID (vpc- and 8 or 17 hexadecimal digits), the launch-test subnets' VPC, where the stack creates the launch-test security group; required when launchTestSubnetIds is set and launchTestSecurityGroupId is not; or none (the default)",
  },
  launchTestInstanceProfile: {
    variable: 'SNAP2AMI_LAUNCH_TEST_INSTANCE_PROFILE',
    accepted:
      'an IAM instance profile name (1 to 128 letters, digits, + = , . @ _ -) or ARN (arn:<partition>:iam::<account>:instance-profile/<name>) for launch-test instances, needed only for <prefix>launch-test=ssm:<document>; or none (the default: ssm: launch tests are rejected when planning)',
  },
  launchTestInstanceTypes: {
    variable: 'SNAP2AMI_LAUNCH_TEST_INSTANCE_TYPES',
    accepted: `instance types (such as t3.micro) separated by commas, each once, no Mac types, that launch tests may run on (default ${DEFAULT_LAUNCH_TEST_INSTANCE_TYPES.join(',')})`,
  },
  reconcileGraceMinutes: {
    variable: 'RECONCILE_GRACE_MINUTES',
    accepted: 'a whole number of minutes from 0 to 10080 (a week); 60 by default',
  },
  imageWaitLimitHours: {
    variable: 'SNAP2AMI_IMAGE_WAIT_LIMIT_HOURS',
    accepted: `a number of hours greater than 0 and at most ${MAX_IMAGE_WAIT_LIMIT_HOURS}: how long a registration waits for its AMI and its copies to become available, in all (default ${DEFAULT_IMAGE_WAIT_LIMIT_HOURS})`,
  },
} as const;

/** The reconciler's grace period for snapshots when the deployment names none. */
export const DEFAULT_RECONCILE_GRACE_MINUTES = 60;

/** Where `<p>uefi-data` may point when the deployment names nothing else: one path of its own. */
export const DEFAULT_UEFI_DATA_PARAMETER_PATH = '/snap2ami/uefi-data/';

/** Where `<p>ssm-parameter` may name parameters when the deployment names nothing else. */
export const DEFAULT_SSM_PARAMETER_PATH = '/snap2ami/';

export type DeploymentParameter = keyof typeof DEPLOYMENT_PARAMETERS;

export function deploymentSettings(env: Readonly<Record<string, string | undefined>>): DeploymentSettings {
  return {
    prefix: tagPrefix(env[DEPLOYMENT_PARAMETERS.tagPrefix.variable]),
    allowedSourceAccounts: splitAccounts(env[DEPLOYMENT_PARAMETERS.allowedSourceAccounts.variable]),
    organizationId: organizationId(env[DEPLOYMENT_PARAMETERS.organizationId.variable]),
    copyKmsKeyId: copyKmsKeyId(env[DEPLOYMENT_PARAMETERS.copyKmsKeyId.variable]),
    ec2RateShare: rateShare(env[DEPLOYMENT_PARAMETERS.ec2RateShare.variable]),
    ec2BucketOverrides: bucketOverrides(env[DEPLOYMENT_PARAMETERS.ec2BucketOverrides.variable]),
    bounds: deploymentBounds(env),
  };
}

/** The deployment's bounds on what tags may ask; throws, naming the parameter, on a value it refuses. */
export function deploymentBounds(env: Readonly<Record<string, string | undefined>>): DeploymentBounds {
  return {
    ssmParameterPath: ssmParameterPath(env[DEPLOYMENT_PARAMETERS.ssmParameterPath.variable]),
    uefiData: uefiDataSettings(env),
    launchTest: launchTestSettings(env),
  };
}

export function launchTestSettings(env: Readonly<Record<string, string | undefined>>): LaunchTestSettings {
  const value = (parameter: DeploymentParameter) => env[DEPLOYMENT_PARAMETERS[parameter].variable];
  const subnetIds = launchTestSubnetIds(value('launchTestSubnetIds'));
  const securityGroupId = launchTestSecurityGroupId(value('launchTestSecurityGroupId'));
  return {
    subnetIds,
    securityGroupId,
    vpcId: launchTestVpcId(value('launchTestVpcId'), { subnetIds, securityGroupId }),
    instanceProfile: launchTestInstanceProfile(value('launchTestInstanceProfile')),
    instanceTypes: launchTestInstanceTypes(value('launchTestInstanceTypes')),
  };
}

/** A list parameter's entries, trimmed, empty ones dropped. */
function listOf(value: string | undefined): string[] {
  return (value ?? '')
    .split(',')
    .map((entry) => entry.trim())
    .filter(Boolean);
}

/** An EC2 resource ID: the type's prefix and 8 or 17 hexadecimal digits. */
const resourceId = (prefix: string) => new RegExp(`^${prefix}-(?:[0-9a-f]{8}|[0-9a-f]{17})$`);

function refuse(parameter: DeploymentParameter, value: string, what: string): never {
  throw new Error(`"${value}" is not ${what}; accepted: ${DEPLOYMENT_PARAMETERS[parameter].accepted}`);
}

/** The launch-test subnets, none when unset or empty. */
export function launchTestSubnetIds(value: string | undefined): string[] {
  const subnets = listOf(value);
  const bad = subnets.find((subnet) => !resourceId('subnet').test(subnet));
  if (bad !== undefined) refuse('launchTestSubnetIds', bad, 'a subnet ID');
  return [...new Set(subnets)];
}

export function launchTestSecurityGroupId(value: string | undefined): string | undefined {
  const group = value?.trim();
  if (!group) return undefined;
  if (!resourceId('sg').test(group)) refuse('launchTestSecurityGroupId', group, 'a security group ID');
  return group;
}

/** The VPC of the stack's launch-test group: needed when there are subnets and no group of the deployment's own. */
export function launchTestVpcId(
  value: string | undefined,
  launchTest?: Pick<LaunchTestSettings, 'subnetIds' | 'securityGroupId'>,
): string | undefined {
  const vpc = value?.trim();
  if (vpc && !resourceId('vpc').test(vpc)) refuse('launchTestVpcId', vpc, 'a VPC ID');
  if (!vpc && launchTest && launchTest.subnetIds.length > 0 && launchTest.securityGroupId === undefined)
    throw new Error(
      `no VPC is given, but launchTestSubnetIds is set and launchTestSecurityGroupId is not (the stack creates the launch-test security group in this VPC); accepted: ${DEPLOYMENT_PARAMETERS.launchTestVpcId.accepted}`,
    );
  return vpc || undefined;
}

const INSTANCE_PROFILE_NAME = /^[\w+=,.@-]{1,128}$/;
const INSTANCE_PROFILE_ARN =
  /^arn:aws(?:-[a-z]+)*:iam::\d{12}:instance-profile\/(?:[\w+=,.@-]+\/)*[\w+=,.@-]{1,128}$/;

export function launchTestInstanceProfile(value: string | undefined): string | undefined {
  const profile = value?.trim();
  if (!profile) return undefined;
  if (!INSTANCE_PROFILE_NAME.test(profile) && !INSTANCE_PROFILE_ARN.test(profile))
    refuse('launchTestInstanceProfile', profile, 'an instance profile name or ARN');
  return profile;
}

/** The types launch tests may run on, the defaults when unset or empty; Mac types are refused (they need a dedicated host). */
export function launchTestInstanceTypes(value: string | undefined): string[] {
  const types = listOf(value);
  if (types.length === 0) return [...DEFAULT_LAUNCH_TEST_INSTANCE_TYPES];
  for (const type of types) {
    if (instanceType.parse(type) === undefined) refuse('launchTestInstanceTypes', type, 'an instance type');
    if (type.startsWith('mac')) refuse('launchTestInstanceTypes', type, 'a type a launch test can use');
  }
  const twice = types.find((type, index) => types.indexOf(type) !== index);
  if (twice !== undefined) refuse('launchTestInstanceTypes', twice, 'named once');
  return types;
}

/** The pipeline's share of EC2's buckets, the default when unset or empty; throws on anything outside (0, 1]. */
export function rateShare(value: string | undefined): number {
  if (!value?.trim()) return DEFAULT_RATE_SHARE;
  const share = Number(value);
  if (!Number.isFinite(share) || share <= 0 || share > 1)
    throw new Error(
      `"${value}" is not a usable share; accepted: ${DEPLOYMENT_PARAMETERS.ec2RateShare.accepted}`,
    );
  return share;
}

/** Parses `RegisterImage=100/10,CreateTags=200/20`; throws on an unknown API or a size or refill that is not positive. */
export function bucketOverrides(value: string | undefined): Partial<Record<Ec2Api, Bucket>> {
  const out: Partial<Record<Ec2Api, Bucket>> = {};
  for (const entry of (value ?? '')
    .split(',')
    .map((part) => part.trim())
    .filter(Boolean)) {
    const match = /^([A-Za-z]+)=([0-9.]+)\/([0-9.]+)$/.exec(entry);
    const [api, size, refill] = [match?.[1], Number(match?.[2]), Number(match?.[3])];
    if (!(EC2_APIS as readonly string[]).includes(api ?? '') || !(size > 0) || !(refill > 0))
      throw new Error(
        `"${entry}" is not a bucket override; accepted: ${DEPLOYMENT_PARAMETERS.ec2BucketOverrides.accepted}`,
      );
    out[api as Ec2Api] = { size, refill };
  }
  return out;
}

/**
 * The tag prefix, the default when unset; throws on one EC2 would refuse in a tag key, and on
 * an empty one (the template's IAM conditions and CloudTrail rule would then name keys without
 * a prefix while the functions fell back to the default).
 */
export function tagPrefix(value: string | undefined): string {
  const prefix = value ?? DEFAULT_PREFIX;
  if (prefix === '' || prefix.length > MAX_PREFIX_LENGTH || prefix.toLowerCase().startsWith('aws:'))
    throw new Error(
      `"${prefix}" is not a usable tag prefix; accepted: ${DEPLOYMENT_PARAMETERS.tagPrefix.accepted}`,
    );
  return prefix;
}

export function uefiDataSettings(env: Readonly<Record<string, string | undefined>>): UefiDataSettings {
  return {
    bucket: uefiDataBucket(env[DEPLOYMENT_PARAMETERS.uefiDataBucket.variable]),
    parameterPath: uefiDataParameterPath(env[DEPLOYMENT_PARAMETERS.uefiDataParameterPath.variable]),
  };
}

/** The bucket `<p>uefi-data` may name, none when unset or empty; throws on a name S3 would refuse. */
export function uefiDataBucket(value: string | undefined): string | undefined {
  if (!value) return undefined;
  if (!isBucketName(value))
    throw new Error(
      `"${value}" is not an S3 bucket name; accepted: ${DEPLOYMENT_PARAMETERS.uefiDataBucket.accepted}`,
    );
  return value;
}

/**
 * An SSM path the deployment lets the workflow read or write under, `fallback` when unset or
 * empty. At least one name deep, so that IAM never grants every parameter of the account
 * (`/`), and never AWS's reserved /aws and /ssm trees.
 */
function parameterPath(
  value: string | undefined,
  fallback: string,
  parameter: 'uefiDataParameterPath' | 'ssmParameterPath',
): string {
  const path = value || fallback;
  if (
    path.length > MAX_SSM_NAME_LENGTH ||
    !/^\/([A-Za-z0-9_.-]+\/)+$/.test(path) ||
    /^\/(aws|ssm)/i.test(path)
  )
    throw new Error(
      `"${path}" is not an SSM parameter path; accepted: ${DEPLOYMENT_PARAMETERS[parameter].accepted}`,
    );
  return path;
}

/** The SSM path `<p>uefi-data` may name parameters under (the image function reads them). */
export function uefiDataParameterPath(value: string | undefined): string {
  return parameterPath(value, DEFAULT_UEFI_DATA_PARAMETER_PATH, 'uefiDataParameterPath');
}

/** The SSM path `<p>ssm-parameter` may name parameters under (the lifecycle function writes them). */
export function ssmParameterPath(value: string | undefined): string {
  return parameterPath(value, DEFAULT_SSM_PARAMETER_PATH, 'ssmParameterPath');
}

/** A setting the deployment must give (serverless.yml sets it); its absence is a deployment error, said by name. */
export function requiredSetting(env: Readonly<Record<string, string | undefined>>, name: string): string {
  const value = env[name];
  if (!value) throw new Error(`${name} is not set: the function's environment (serverless.yml) must name it`);
  return value;
}

/** Splits a comma-separated account list; throws on anything that is not a 12-digit account ID. */
export function splitAccounts(list: string | undefined): string[] {
  const accounts = (list ?? '')
    .split(',')
    .map((account) => account.trim())
    .filter(Boolean);
  const bad = accounts.find((account) => !/^\d{12}$/.test(account));
  if (bad !== undefined)
    throw new Error(
      `"${bad}" is not an AWS account ID; accepted: ${DEPLOYMENT_PARAMETERS.allowedSourceAccounts.accepted}`,
    );
  return accounts;
}

/** The organization ID, or undefined for none; throws on anything else. */
export function organizationId(value: string | undefined): string | undefined {
  if (value === undefined || value === '') return undefined;
  if (!/^o-[a-z0-9]{10,32}$/.test(value))
    throw new Error(
      `"${value}" is not an organization ID; accepted: ${DEPLOYMENT_PARAMETERS.organizationId.accepted}`,
    );
  return value;
}

/** The copies' KMS key, or undefined for none; throws on anything else. */
export function copyKmsKeyId(value: string | undefined): string | undefined {
  if (value === undefined || value === '') return undefined;
  if (kmsKey.parse(value) === undefined)
    throw new Error(`"${value}" is not a KMS key; accepted: ${DEPLOYMENT_PARAMETERS.copyKmsKeyId.accepted}`);
  return value;
}

/**
 * The reconciler's grace period (only its function has the variable: unset is the default).
 * At most a week: a longer one would leave a snapshot whose event was lost without its AMI
 * for longer than anyone waits for one.
 */
export function reconcileGraceMinutes(value: string | undefined): number {
  if (value === undefined || value === '') return DEFAULT_RECONCILE_GRACE_MINUTES;
  if (!/^\d+$/.test(value) || Number(value) > 10_080)
    throw new Error(
      `"${value}" is not a grace period; accepted: ${DEPLOYMENT_PARAMETERS.reconcileGraceMinutes.accepted}`,
    );
  return Number(value);
}

/** The wait limit (imageWaitLimitHours), in seconds. */
export function imageWaitLimitSeconds(value: string | undefined): number {
  if (value === undefined || value === '') return DEFAULT_IMAGE_WAIT_LIMIT_HOURS * 3600;
  const hours = Number(value);
  if (!/^\d+(\.\d+)?$/.test(value) || hours <= 0 || hours > MAX_IMAGE_WAIT_LIMIT_HOURS)
    throw new Error(
      `"${value}" is not a wait limit; accepted: ${DEPLOYMENT_PARAMETERS.imageWaitLimitHours.accepted}`,
    );
  return Math.round(hours * 3600);
}

type Env = Readonly<Record<string, string | undefined>>;

const PARSERS: Record<DeploymentParameter, (value: string | undefined, env: Env) => unknown> = {
  tagPrefix,
  allowedSourceAccounts: splitAccounts,
  organizationId,
  copyKmsKeyId,
  ec2RateShare: rateShare,
  ec2BucketOverrides: bucketOverrides,
  uefiDataBucket,
  uefiDataParameterPath,
  ssmParameterPath,
  launchTestSubnetIds,
  launchTestSecurityGroupId,
  // Checked with the two it depends on; their own faults are reported under their names.
  launchTestVpcId: (value, env) => {
    const variable = (parameter: DeploymentParameter) => env[DEPLOYMENT_PARAMETERS[parameter].variable];
    let launchTest: Pick<LaunchTestSettings, 'subnetIds' | 'securityGroupId'> | undefined;
    try {
      launchTest = {
        subnetIds: launchTestSubnetIds(variable('launchTestSubnetIds')),
        securityGroupId: launchTestSecurityGroupId(variable('launchTestSecurityGroupId')),
      };
    } catch {
      launchTest = undefined;
    }
    return launchTestVpcId(value, launchTest);
  },
  launchTestInstanceProfile,
  launchTestInstanceTypes,
  reconcileGraceMinutes,
  imageWaitLimitHours: imageWaitLimitSeconds,
};

/**
 * Every parameter whose value in `env` `deploymentSettings` would refuse, with the value and
 * why (what is accepted): for a check that names the parameter rather than failing at INIT.
 */
export function parameterProblems(
  env: Readonly<Record<string, string | undefined>>,
): { parameter: DeploymentParameter; value: string | undefined; problem: string }[] {
  const problems: { parameter: DeploymentParameter; value: string | undefined; problem: string }[] = [];
  for (const [parameter, parse] of Object.entries(PARSERS) as [
    DeploymentParameter,
    (value: string | undefined, env: Env) => unknown,
  ][]) {
    const value = env[DEPLOYMENT_PARAMETERS[parameter].variable];
    try {
      parse(value, env);
    } catch (error) {
      problems.push({ parameter, value, problem: (error as Error).message });
    }
  }
  return problems;
}
