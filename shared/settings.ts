/**
 * Deployment settings, read from an environment (the Lambda's, or the CLI's). Pure: the
 * caller passes the environment in. Each setting is a deployment parameter (serverless.yml
 * `params:`) that reaches the functions as an environment variable. What each accepts is
 * defined here once: the functions refuse anything else at INIT, and so, before anything is
 * deployed, do `npm run package` and `serverless deploy` (scripts/serverless-parameters.ts).
 */
import { type Bucket, DEFAULT_RATE_SHARE, EC2_APIS, type Ec2Api } from './admission.ts';
import { KEYS } from './contract/keys.ts';
import { DEFAULT_PREFIX } from './contract/types.ts';

export interface DeploymentSettings {
  prefix: string;
  allowedSourceAccounts: string[];
  /** The share of EC2's request token buckets the pipeline may use (docs/adr/0007-admission-control.md). */
  ec2RateShare: number;
  /** The account's own buckets where AWS raised them, by API, instead of the documented ones. */
  ec2BucketOverrides: Partial<Record<Ec2Api, Bucket>>;
}

/** EC2 tag keys have at most 128 characters: the prefix leaves room for the longest key of the contract. */
export const MAX_PREFIX_LENGTH = 128 - Math.max(...Object.keys(KEYS).map((name) => name.length));

/** The deployment parameters: the environment variable each sets, and what it accepts. */
export const DEPLOYMENT_PARAMETERS = {
  tagPrefix: {
    variable: 'SNAP2AMI_TAG_PREFIX',
    accepted: `a tag key prefix of at most ${MAX_PREFIX_LENGTH} characters that does not start with aws: (default ${DEFAULT_PREFIX})`,
  },
  allowedSourceAccounts: {
    variable: 'SNAP2AMI_ALLOWED_SOURCE_ACCOUNTS',
    accepted: 'AWS account IDs (12 digits) separated by commas, or none (the default)',
  },
  ec2RateShare: {
    variable: 'SNAP2AMI_EC2_RATE_SHARE',
    accepted: `a number greater than 0 and at most 1: the share of EC2's request token buckets the pipeline may use (default ${DEFAULT_RATE_SHARE})`,
  },
  ec2BucketOverrides: {
    variable: 'SNAP2AMI_EC2_BUCKET_OVERRIDES',
    accepted: `<API>=<size>/<refill per second> separated by commas, for APIs among ${EC2_APIS.join(', ')}, where AWS raised the account's limits; or none (the default: EC2's documented buckets)`,
  },
} as const;

export type DeploymentParameter = keyof typeof DEPLOYMENT_PARAMETERS;

export function deploymentSettings(env: Readonly<Record<string, string | undefined>>): DeploymentSettings {
  return {
    prefix: tagPrefix(env[DEPLOYMENT_PARAMETERS.tagPrefix.variable]),
    allowedSourceAccounts: splitAccounts(env[DEPLOYMENT_PARAMETERS.allowedSourceAccounts.variable]),
    ec2RateShare: rateShare(env[DEPLOYMENT_PARAMETERS.ec2RateShare.variable]),
    ec2BucketOverrides: bucketOverrides(env[DEPLOYMENT_PARAMETERS.ec2BucketOverrides.variable]),
  };
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

/** The tag prefix, the default when unset or empty; throws on one EC2 would refuse in a tag key. */
export function tagPrefix(value: string | undefined): string {
  const prefix = value || DEFAULT_PREFIX;
  if (prefix.length > MAX_PREFIX_LENGTH || prefix.toLowerCase().startsWith('aws:'))
    throw new Error(
      `"${prefix}" is not a usable tag prefix; accepted: ${DEPLOYMENT_PARAMETERS.tagPrefix.accepted}`,
    );
  return prefix;
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

const PARSERS: Record<DeploymentParameter, (value: string | undefined) => unknown> = {
  tagPrefix,
  allowedSourceAccounts: splitAccounts,
  ec2RateShare: rateShare,
  ec2BucketOverrides: bucketOverrides,
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
    (value: string | undefined) => unknown,
  ][]) {
    const value = env[DEPLOYMENT_PARAMETERS[parameter].variable];
    try {
      parse(value);
    } catch (error) {
      problems.push({ parameter, value, problem: (error as Error).message });
    }
  }
  return problems;
}
