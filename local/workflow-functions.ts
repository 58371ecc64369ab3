/**
 * The workflow's Lambda functions, in-process, as the local run, the tests and the bench bind
 * them to the definition: the `lifecycle` function with per-Region clients on the emulator,
 * the `launchTest` function with the emulator's launch-test network (the `image` function's
 * binding is one line, beside each caller's own EC2 client).
 */
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import {
  CreateSecurityGroupCommand,
  CreateSubnetCommand,
  CreateVpcCommand,
  DescribeSecurityGroupsCommand,
  DescribeSubnetsCommand,
  DescribeVpcsCommand,
  EC2Client,
} from '@aws-sdk/client-ec2';
import { SSMClient } from '@aws-sdk/client-ssm';
import { once, perRegion } from '#shared/aws/clients.ts';
import { type LaunchTestDeps, runLaunchTestTask } from '../functions/launchTest/launch-test.ts';
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
  /** Wraps each task, and each step distribute runs (a test's faults by action: `share`, `retain`, …). */
  around?: (task: Record<string, unknown>, next: () => Promise<unknown>) => Promise<unknown>;
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
  const around = options.around ?? ((_, next) => next());
  const run = (task: Record<string, unknown>): Promise<unknown> =>
    around(task, () => runLifecycleTask(task as never, deps, run as never));
  return run;
}

export interface LocalLaunchTestOptions {
  prefix: string;
  /** The deployment's launch-test settings; by default a subnet and a group of the emulator's own (launchTestNetwork). */
  settings?: Partial<LaunchTestDeps['settings']>;
  ec2?: EC2Client;
  ssm?: SSMClient;
  now?: () => Date;
}

/** The workflow's launch-test function, in-process on the emulator. */
export function localLaunchTestFunction(options: LocalLaunchTestOptions) {
  const ec2 = options.ec2 ?? new EC2Client({ maxAttempts: 1 });
  const ssm = options.ssm ?? new SSMClient({ maxAttempts: 1 });
  const network = once(() => launchTestNetwork(ec2));
  return async (task: Record<string, unknown>) => {
    const given = options.settings ?? {};
    const settings = {
      ...(given.subnetIds?.length
        ? { subnetIds: given.subnetIds, securityGroupId: given.securityGroupId }
        : await network()),
      instanceProfile: given.instanceProfile,
    };
    return runLaunchTestTask(task as never, {
      ec2,
      ssm,
      prefix: options.prefix,
      settings,
      ...(options.now && { now: options.now }),
    });
  };
}

/** CIDR of the emulator's launch-test VPC (the local stack's, local/stack-resources.ts). */
export const LAUNCH_TEST_VPC_CIDR = '10.213.0.0/16';

/**
 * The launch-test network on the emulator, as a deployment names it: a VPC, one subnet, and a
 * security group without ingress. Found by its tag when it exists, created otherwise.
 */
export async function launchTestNetwork(
  ec2: EC2Client,
): Promise<{ subnetIds: string[]; securityGroupId: string }> {
  const tag = { Key: 'snap2ami-local', Value: 'launch-test' };
  const { Vpcs = [] } = await ec2.send(
    new DescribeVpcsCommand({ Filters: [{ Name: `tag:${tag.Key}`, Values: [tag.Value] }] }),
  );
  const vpcId =
    Vpcs[0]?.VpcId ??
    (
      await ec2.send(
        new CreateVpcCommand({
          CidrBlock: LAUNCH_TEST_VPC_CIDR,
          TagSpecifications: [{ ResourceType: 'vpc', Tags: [tag] }],
        }),
      )
    ).Vpc?.VpcId;
  if (!vpcId) throw new Error('the emulator made no launch-test VPC');
  const { Subnets = [] } = await ec2.send(
    new DescribeSubnetsCommand({ Filters: [{ Name: 'vpc-id', Values: [vpcId] }] }),
  );
  const subnetId =
    Subnets[0]?.SubnetId ??
    (
      await ec2.send(
        new CreateSubnetCommand({
          VpcId: vpcId,
          CidrBlock: LAUNCH_TEST_VPC_CIDR.replace('0.0/16', '0.0/20'),
          AvailabilityZone: `${await ec2.config.region()}a`,
        }),
      )
    ).Subnet?.SubnetId;
  const { SecurityGroups = [] } = await ec2.send(
    new DescribeSecurityGroupsCommand({
      Filters: [
        { Name: 'vpc-id', Values: [vpcId] },
        { Name: 'group-name', Values: ['snap2ami-launch-test'] },
      ],
    }),
  );
  const securityGroupId =
    SecurityGroups[0]?.GroupId ??
    (
      await ec2.send(
        new CreateSecurityGroupCommand({
          VpcId: vpcId,
          GroupName: 'snap2ami-launch-test',
          Description: 'snap2ami launch-test instances: no ingress',
        }),
      )
    ).GroupId;
  if (!subnetId || !securityGroupId) throw new Error('the emulator made no launch-test subnet or group');
  return { subnetIds: [subnetId], securityGroupId };
}
