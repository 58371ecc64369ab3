/**
 * The workflow's Lambda functions, in-process, as the local run, the tests and the bench bind
 * them to the definition: the `lifecycle` function with per-Region clients on the emulator
 * (the `image` function's binding is one line, beside each caller's own EC2 client).
 */
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { EC2Client } from '@aws-sdk/client-ec2';
import { SSMClient } from '@aws-sdk/client-ssm';
import { perRegion } from '#shared/aws/clients.ts';
import { type LifecycleDeps, runLifecycleTask } from '../functions/lifecycle/lifecycle.ts';
import { EMULATOR_REGION } from './moto-emulator.ts';

export interface LocalLifecycleOptions {
  /** The records table (it holds the SSM parameters' locks). */
  table: string;
  prefix: string;
  /** The SSM parameter path the deployment lets the workflow write. */
  parameterPath: string;
  /** EC2 in a Region (by default one attempt per call, on the emulator, as deployed). */
  ec2In?: (region: string) => EC2Client;
  ssmIn?: (region: string) => SSMClient;
  dynamo?: DynamoDBClient;
  now?: () => Date;
  /** The pipeline's own Region, where its AMIs are (by default the emulator's). */
  region?: string;
}

export function localLifecycleFunction(options: LocalLifecycleOptions) {
  const deps: LifecycleDeps = {
    ec2In: options.ec2In ?? perRegion((region) => new EC2Client({ region, maxAttempts: 1 })),
    ssmIn: options.ssmIn ?? perRegion((region) => new SSMClient({ region, maxAttempts: 1 })),
    dynamo: options.dynamo ?? new DynamoDBClient({}),
    table: options.table,
    prefix: options.prefix,
    region: options.region ?? EMULATOR_REGION,
    parameterPath: options.parameterPath,
    now: options.now ?? (() => new Date()),
  };
  return (task: Record<string, unknown>) => runLifecycleTask(task as never, deps);
}
