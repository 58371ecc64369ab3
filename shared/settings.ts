/**
 * Deployment settings, read from an environment (the Lambda's, or the CLI's). Pure: the
 * caller passes the environment in.
 */
import { DEFAULT_PREFIX } from './contract/types.ts';

export interface DeploymentSettings {
  prefix: string;
  allowedSourceAccounts: string[];
}

export function deploymentSettings(env: Readonly<Record<string, string | undefined>>): DeploymentSettings {
  return {
    prefix: env.SNAP2AMI_TAG_PREFIX || DEFAULT_PREFIX,
    allowedSourceAccounts: splitAccounts(env.SNAP2AMI_ALLOWED_SOURCE_ACCOUNTS),
  };
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
  if (bad !== undefined) throw new Error(`"${bad}" is not an AWS account ID (12 digits)`);
  return accounts;
}
