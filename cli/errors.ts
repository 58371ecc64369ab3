/**
 * The CLI's errors: one line on stderr and a non-zero exit, saying what was wrong and what to
 * do. `explainAwsError` turns an SDK error into that line, the same way for every command.
 */

import { readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import type { SQSClient } from '@aws-sdk/client-sqs';
import { describeQueue, type QueueIdentity } from '#shared/aws/queues.ts';

/** An error the CLI reports as one line on stderr, exiting with `exitCode`. */
export class CliError extends Error {
  readonly exitCode: number;
  constructor(message: string, exitCode = 1) {
    super(message);
    this.name = 'CliError';
    this.exitCode = exitCode;
  }
}

const LOOPBACK = /^https?:\/\/(localhost|127\.\d+\.\d+\.\d+|\[::1\])(:\d+)?/;

/** The endpoint the SDK uses for a service when one is configured (AWS_ENDPOINT_URL_<SERVICE>, AWS_ENDPOINT_URL). */
function configuredEndpoint(service: string, env: NodeJS.ProcessEnv): string | undefined {
  return env[`AWS_ENDPOINT_URL_${service.toUpperCase()}`] ?? env.AWS_ENDPOINT_URL;
}

export interface AwsErrorContext {
  /** The SDK's name for the service, as in AWS_ENDPOINT_URL_<SERVICE>: SQS, DynamoDB, EC2, SFN. */
  service: string;
  /** What was being done, for the start of the line. */
  what: string;
  /** Where the Region came from, when it is the likely culprit (a missing resource). */
  region?: string;
  /** The option that names the missing resource (--table, --dlq-url …), for ResourceNotFound. */
  resourceOption?: string;
}

/**
 * Whether an error came from the AWS SDK or the network under it (a service's answer carries
 * `$metadata`; a refused connection, a code like ECONNREFUSED; no credentials or no Region, the
 * SDK's own names): one to explain in a line. Anything else is a bug, whose stack is wanted.
 */
export function isAwsError(error: unknown): boolean {
  if (typeof error !== 'object' || error === null) return false;
  const { name = '', code = '', message = '' } = error as { name?: string; code?: string; message?: string };
  return (
    '$metadata' in error ||
    /^E[A-Z_]+$/.test(String(code)) ||
    /CredentialsProviderError|TimeoutError/.test(name) ||
    /Region is missing|Could not load credentials/i.test(message)
  );
}

/**
 * Whether an answer came from something that is not the service: a web server, a proxy's error
 * page, another emulator. The SDK could not read it (a deserialization error: HTML where JSON or
 * XML was due), or read no error code in it (the service always names its errors; the SDK then
 * says `Unknown`/`UnknownError`).
 */
function notTheService(error: unknown): boolean {
  if (typeof error !== 'object' || error === null || !('$metadata' in error)) return false;
  const { name = '', message = '' } = error as { name?: string; message?: string };
  return (
    /Deserialization error/.test(message) ||
    name === 'Unknown' ||
    message === 'UnknownError' ||
    message === 'Unknown'
  );
}

/** One line for an AWS SDK error: a missing Region, an unreachable endpoint or one that is not the service, a missing resource, or the service's own words. */
export function explainAwsError(
  error: unknown,
  context: AwsErrorContext,
  env: NodeJS.ProcessEnv = process.env,
): CliError {
  const name = (error as Error).name ?? 'Error';
  const message = (error as Error).message ?? String(error);
  const { service, what } = context;
  if (/Region is missing/i.test(message))
    return new CliError(`${what}: no AWS Region: pass --region, or set AWS_REGION (or a profile's region)`);
  if (/ECONNREFUSED|ENOTFOUND|EAI_AGAIN|ETIMEDOUT|fetch failed|socket hang up/.test(`${name} ${message}`)) {
    const endpoint = configuredEndpoint(service, env);
    if (endpoint && LOOPBACK.test(endpoint))
      return new CliError(
        `${what}: cannot reach ${service} at ${endpoint} (is the local emulator running? start it with snap2ami local --keep)`,
      );
    return new CliError(
      `${what}: cannot reach ${service}${endpoint ? ` at ${endpoint}` : ''}${context.region ? ` in ${context.region}` : ''} (check the network, the endpoint and --region)`,
    );
  }
  if (notTheService(error)) {
    const endpoint = configuredEndpoint(service, env);
    const status = (error as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode;
    const variable = env[`AWS_ENDPOINT_URL_${service.toUpperCase()}`]
      ? `AWS_ENDPOINT_URL_${service.toUpperCase()}`
      : 'AWS_ENDPOINT_URL';
    return new CliError(
      `${what}: ${endpoint ?? `the SDK's ${service} endpoint${context.region ? ` in ${context.region}` : ''}`} did not answer as ${service}${status ? ` (HTTP ${status})` : ''}: check ${variable} and --region`,
    );
  }
  if (/CredentialsProviderError|Could not load credentials/i.test(`${name} ${message}`)) {
    const problem = profileProblem(env);
    if (problem) return new CliError(`${what}: ${problem}`);
    return new CliError(
      `${what}: no AWS credentials: pass --profile, or set AWS_PROFILE or the AWS_ACCESS_KEY_* variables`,
    );
  }
  if (name === 'ResourceNotFoundException' && context.resourceOption)
    return new CliError(
      `${what}: not found${context.region ? ` in ${context.region}` : ''} (check ${context.resourceOption} and --region)`,
    );
  return new CliError(`${what}: ${name}: ${message}`);
}

/**
 * When a profile is in use (AWS_PROFILE: `--profile` sets it, cli/main.ts), why it gave no
 * credentials: it is in neither shared file, or it is and its settings gave none. The SDK's own
 * words are only "Could not load credentials from any providers". The files are the SDK's
 * (AWS_CONFIG_FILE, AWS_SHARED_CREDENTIALS_FILE, else ~/.aws/config and ~/.aws/credentials);
 * the config file names a profile `[profile <name>]` (or `[default]`), the credentials file
 * `[<name>]`.
 */
export function profileProblem(env: NodeJS.ProcessEnv): string | undefined {
  const profile = env.AWS_PROFILE;
  if (!profile) return undefined;
  const home = env.HOME ?? homedir();
  const config = env.AWS_CONFIG_FILE ?? join(home, '.aws', 'config');
  const credentials = env.AWS_SHARED_CREDENTIALS_FILE ?? join(home, '.aws', 'credentials');
  const sections = (file: string) => {
    try {
      return [...readFileSync(file, 'utf8').matchAll(/^[ \t]*\[[ \t]*([^\]]*?)[ \t]*\][ \t]*$/gm)].map(
        ([, name]) => name ?? '',
      );
    } catch {
      return []; // No file: no profile in it.
    }
  };
  const inConfig = sections(config).some(
    (section) =>
      section.replace(/^profile\s+/, '') === profile && (section !== profile || profile === 'default'),
  );
  if (inConfig || sections(credentials).includes(profile))
    return `no AWS credentials from the profile ${profile}: check its settings in ${config} and ${credentials} (an SSO profile: aws sso login --profile ${profile})`;
  return `the profile ${profile} is not found in ${config} or ${credentials}: check --profile (or AWS_PROFILE), or add the profile (aws configure --profile ${profile})`;
}

/** The queue an option names (its account and Region from its ARN), or one line saying why not. */
export async function queueNamedBy(sqs: SQSClient, url: string, option: string): Promise<QueueIdentity> {
  try {
    return await describeQueue(sqs, url);
  } catch (error) {
    const name = (error as Error).name;
    if (name.includes('NonExistentQueue') || name === 'QueueDoesNotExist')
      throw new CliError(`${option} ${url}: no such queue`);
    throw explainAwsError(error, { service: 'SQS', what: `${option} ${url}` });
  }
}
