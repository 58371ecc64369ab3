/**
 * The launch test (tag contract v3, docs/adr/0012-launch-test.md): one instance of the new
 * AMI, its status checks, the SSM document when one is named, then terminated. Four actions,
 * each idempotent under the workflow's retries:
 *
 * - launch: RunInstances with a client token from the execution's name (the key and the
 *   attempt), so a retry after a lost answer gets the same instance;
 * - check: one look (DescribeInstanceStatus; SendCommand once both checks pass, adopting a
 *   command an earlier try sent; GetCommandInvocation): `waiting`, `passed` or `failed`, or
 *   `failed` once the deadline has passed;
 * - finish: terminates every test instance of the key, tags the AMI `<p>launch-test=passed` or
 *   `failed`, and returns the outcome the record and the notifications carry;
 * - cleanup: the same after an error anywhere in the block (the Catch), the error as the reason.
 *
 * A failed test returns its outcome (it does not throw): the state machine records it, then
 * fails the registration at LaunchTest. Errors are typed (shared/errors.ts).
 */
import { createHash } from 'node:crypto';
import {
  CreateTagsCommand,
  DescribeImagesCommand,
  DescribeInstanceStatusCommand,
  DescribeInstancesCommand,
  DescribeSecurityGroupsCommand,
  type EC2Client,
  GetConsoleOutputCommand,
  RunInstancesCommand,
  type RunInstancesCommandInput,
  TerminateInstancesCommand,
} from '@aws-sdk/client-ec2';
import {
  GetCommandInvocationCommand,
  ListCommandsCommand,
  SendCommandCommand,
  type SSMClient,
} from '@aws-sdk/client-ssm';
import type { LaunchTest } from '#shared/contract/types.ts';
import { classified, classify, isThrottling, isTransient } from '#shared/errors.ts';
import type { LaunchTestSettings } from '#shared/settings.ts';

export interface LaunchTestDeps {
  ec2: EC2Client;
  ssm: SSMClient;
  prefix: string;
  settings: Pick<LaunchTestSettings, 'subnetIds' | 'securityGroupId' | 'instanceProfile'> & {
    /** The stack's own group, by name, when the deployment names no group (serverless.yml). */
    stackGroupName?: string;
  };
  now?: () => Date;
}

/** Where a test stands between the workflow's steps (the state `$.launchTestRun`). */
export interface LaunchTestRun {
  phase: 'waiting' | 'passed' | 'failed';
  instanceType: string;
  instanceId?: string;
  launchedAt: string;
  deadline: string;
  commandId?: string;
  reason?: string;
}

/** What the record, `status`, the notification and the event carry. */
export interface LaunchTestOutcome {
  instanceId: string;
  instanceType: string;
  result: 'passed' | 'failed';
  reason: string;
  seconds: number;
}

export type LaunchTestTask =
  | { action: 'launch'; key: string; executionName: string; imageId: string; launchTest: LaunchTest }
  | { action: 'check'; run: LaunchTestRun; launchTest: LaunchTest }
  | { action: 'finish'; key: string; imageId: string; run: LaunchTestRun }
  | {
      action: 'cleanup';
      key: string;
      imageId: string;
      run?: LaunchTestRun;
      launchTest: LaunchTest;
      failure?: { Error?: string; Cause?: string };
    };

/** The end of a text kept in a reason: a console or a command's output can be long. */
export const TAIL_CHARACTERS = 600;
/** Final SSM command statuses (GetCommandInvocation); anything else is still going. */
const FINAL = new Set([
  'Success',
  'Failed',
  'TimedOut',
  'Cancelled',
  'Cancelling',
  'Undeliverable',
  'Terminated',
]);
/** Every instance state (DescribeInstanceStatus' filter that keeps the look in the filtered bucket). */
const INSTANCE_STATES = ['pending', 'running', 'shutting-down', 'terminated', 'stopping', 'stopped'];
/** RunInstances errors that say the image cannot run as asked: the test fails, nothing is retried. */
const REFUSED_LAUNCH =
  /^(InvalidParameterCombination|InvalidParameterValue|InvalidParameter|Unsupported|UnsupportedOperation|InvalidBlockDeviceMapping|InvalidAMIID\..*)$/;

export async function runLaunchTestTask(task: LaunchTestTask, deps: LaunchTestDeps): Promise<object> {
  switch (task.action) {
    case 'launch':
      return launch(task.key, task.executionName, task.imageId, task.launchTest, deps);
    case 'check':
      return check(task.run, task.launchTest, deps);
    case 'finish':
      return finish(task.key, task.imageId, task.run, deps);
    case 'cleanup':
      return finish(task.key, task.imageId, cleanupRun(task, deps), deps);
  }
}

/** RunInstances' client token (at most 64 ASCII characters): the attempt's execution name, hashed. */
export function clientToken(executionName: string): string {
  return `snap2ami-${createHash('sha256').update(executionName).digest('hex').slice(0, 48)}`;
}

/** The request: no public address, IMDSv2, every EBS volume deleted on termination, tagged, terminated on shutdown. */
export function runInstancesInput(
  key: string,
  executionName: string,
  image: { ImageId: string; BlockDeviceMappings?: { DeviceName?: string; Ebs?: unknown }[] },
  launchTest: LaunchTest,
  { prefix, settings }: Pick<LaunchTestDeps, 'prefix' | 'settings'>,
  subnetIndex: number,
): RunInstancesCommandInput {
  const subnetId = settings.subnetIds[subnetIndex % Math.max(settings.subnetIds.length, 1)];
  const tags = [
    { Key: `${prefix}key`, Value: key },
    { Key: `${prefix}launch-test`, Value: 'true' },
    { Key: `${prefix}launch-test-timeout`, Value: `${launchTest.timeoutMinutes}m` },
  ];
  return {
    ImageId: image.ImageId,
    InstanceType: launchTest.instanceType as RunInstancesCommandInput['InstanceType'],
    MinCount: 1,
    MaxCount: 1,
    ClientToken: clientToken(executionName),
    MetadataOptions: { HttpTokens: 'required', HttpEndpoint: 'enabled' },
    NetworkInterfaces: [
      {
        DeviceIndex: 0,
        AssociatePublicIpAddress: false,
        ...(subnetId !== undefined && { SubnetId: subnetId }),
        ...(settings.securityGroupId !== undefined && { Groups: [settings.securityGroupId] }),
      },
    ],
    BlockDeviceMappings: (image.BlockDeviceMappings ?? [])
      .filter((mapping) => mapping.Ebs !== undefined && mapping.DeviceName !== undefined)
      .map((mapping) => ({ DeviceName: mapping.DeviceName as string, Ebs: { DeleteOnTermination: true } })),
    InstanceInitiatedShutdownBehavior: 'terminate',
    ...(launchTest.mode === 'ssm' &&
      settings.instanceProfile !== undefined && {
        IamInstanceProfile: settings.instanceProfile.startsWith('arn:')
          ? { Arn: settings.instanceProfile }
          : { Name: settings.instanceProfile },
      }),
    TagSpecifications: [
      { ResourceType: 'instance', Tags: tags },
      { ResourceType: 'volume', Tags: tags },
    ],
  };
}

async function launch(
  key: string,
  executionName: string,
  imageId: string,
  launchTest: LaunchTest,
  deps: LaunchTestDeps,
): Promise<LaunchTestRun> {
  const now = (deps.now ?? (() => new Date()))();
  const base = {
    instanceType: launchTest.instanceType,
    launchedAt: now.toISOString(),
    deadline: new Date(now.getTime() + launchTest.timeoutMinutes * 60_000).toISOString(),
  };
  const { Images = [] } = await classified('LaunchTest: DescribeImages', () =>
    deps.ec2.send(new DescribeImagesCommand({ ImageIds: [imageId] })),
  );
  const image = Images[0];
  if (!image?.ImageId) return { ...base, phase: 'failed', reason: `${imageId} is not described` };
  // The same subnet for every try of an attempt (the token's request must not change).
  const subnetIndex = Number.parseInt(clientToken(executionName).slice(-4), 16);
  const securityGroupId = deps.settings.securityGroupId ?? (await stackGroup(deps));
  const input = runInstancesInput(
    key,
    executionName,
    { ...image, ImageId: image.ImageId },
    launchTest,
    { prefix: deps.prefix, settings: { ...deps.settings, securityGroupId } },
    subnetIndex,
  );
  try {
    const { Instances = [] } = await deps.ec2.send(new RunInstancesCommand(input));
    const instanceId = Instances[0]?.InstanceId;
    if (!instanceId) return { ...base, phase: 'failed', reason: 'RunInstances returned no instance' };
    return { ...base, phase: 'waiting', instanceId };
  } catch (error) {
    const name = (error as Error).name ?? '';
    const status = (error as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode;
    if (isThrottling(name) || isTransient(name, status) || !REFUSED_LAUNCH.test(name))
      throw classify(error, 'LaunchTest: RunInstances');
    return {
      ...base,
      phase: 'failed',
      reason: `RunInstances refused ${launchTest.instanceType}: ${name}: ${(error as Error).message}`,
    };
  }
}

/** The ID of the group the stack made for test instances (named in the settings), when there is one. */
async function stackGroup({ ec2, settings }: LaunchTestDeps): Promise<string | undefined> {
  if (!settings.stackGroupName) return undefined;
  const { SecurityGroups = [] } = await classified('LaunchTest: DescribeSecurityGroups', () =>
    ec2.send(
      new DescribeSecurityGroupsCommand({
        Filters: [{ Name: 'group-name', Values: [settings.stackGroupName as string] }],
      }),
    ),
  );
  return SecurityGroups[0]?.GroupId;
}

async function check(
  run: LaunchTestRun,
  launchTest: LaunchTest,
  deps: LaunchTestDeps,
): Promise<LaunchTestRun> {
  if (run.phase !== 'waiting' || !run.instanceId) return run;
  const instanceId = run.instanceId;
  const now = (deps.now ?? (() => new Date()))();
  const late = now.getTime() > Date.parse(run.deadline);
  const { InstanceStatuses = [] } = await classified('LaunchTest: DescribeInstanceStatus', () =>
    // With a filter that every state passes: EC2 budgets a filtered request as non-mutating
    // (100 / 20 a second, what admission control charges); one without filter or pagination in
    // the unfiltered bucket (50 / 10). DescribeInstanceStatus has no instance-id filter, and
    // MaxResults cannot go with InstanceIds.
    deps.ec2.send(
      new DescribeInstanceStatusCommand({
        InstanceIds: [instanceId],
        IncludeAllInstances: true,
        Filters: [{ Name: 'instance-state-name', Values: INSTANCE_STATES }],
      }),
    ),
  );
  const status = InstanceStatuses[0];
  const state = status?.InstanceState?.Name ?? 'pending';
  const system = status?.SystemStatus?.Status ?? 'initializing';
  const instance = status?.InstanceStatus?.Status ?? 'initializing';
  if (state !== 'pending' && state !== 'running')
    return failed(run, `the instance is ${state} before its checks passed`, deps);
  if (system === 'impaired' || (system === 'insufficient-data' && late))
    return failed(run, `system reachability check failed (${system})`, deps);
  if (instance === 'impaired') return failed(run, `instance reachability check failed (${instance})`, deps);
  if (system !== 'ok' || instance !== 'ok') {
    if (!late) return run;
    return failed(
      run,
      `timed out after ${launchTest.timeoutMinutes} minutes waiting for the status checks (system ${system}, instance ${instance})`,
      deps,
    );
  }
  if (launchTest.mode !== 'ssm' || !launchTest.document) return { ...run, phase: 'passed' };
  const commandId = run.commandId ?? (await sendCommand(instanceId, launchTest.document, deps));
  const invocation = await classified('LaunchTest: GetCommandInvocation', () =>
    deps.ssm.send(new GetCommandInvocationCommand({ CommandId: commandId, InstanceId: instanceId })),
  ).catch((error: Error) => {
    // Just sent: SSM may not know the invocation yet.
    if (/InvocationDoesNotExist/.test(error.message)) return { Status: 'Pending' } as const;
    throw error;
  });
  const commandStatus = invocation.Status ?? 'Pending';
  if (commandStatus === 'Success') return { ...run, commandId, phase: 'passed' };
  if (FINAL.has(commandStatus)) {
    const output = 'StandardErrorContent' in invocation ? invocation : undefined;
    const text = `${output?.StandardOutputContent ?? ''}${output?.StandardErrorContent ?? ''}`.trim();
    return failed(
      { ...run, commandId },
      `SSM command ${launchTest.document} ended ${commandStatus}${text ? `: …${tail(text)}` : ''}`,
      deps,
    );
  }
  if (!late) return { ...run, commandId };
  return failed(
    { ...run, commandId },
    `timed out after ${launchTest.timeoutMinutes} minutes waiting for SSM command ${launchTest.document} (${commandStatus})`,
    deps,
  );
}

/** SendCommand once: a command an earlier try sent to this instance (its answer lost) is adopted. */
async function sendCommand(instanceId: string, document: string, deps: LaunchTestDeps): Promise<string> {
  const { Commands = [] } = await classified('LaunchTest: ListCommands', () =>
    deps.ssm.send(new ListCommandsCommand({ InstanceId: instanceId })),
  );
  const sent = Commands.find((command) => command.DocumentName === document)?.CommandId;
  if (sent) return sent;
  const { Command } = await classified('LaunchTest: SendCommand', () =>
    deps.ssm.send(new SendCommandCommand({ DocumentName: document, InstanceIds: [instanceId] })),
  );
  if (!Command?.CommandId) throw classify(new Error('SendCommand returned no CommandId'), 'LaunchTest');
  return Command.CommandId;
}

/** A failed check, with the end of the instance's console output. */
async function failed(run: LaunchTestRun, what: string, deps: LaunchTestDeps): Promise<LaunchTestRun> {
  let console = '';
  if (run.instanceId) {
    const { Output } = await classified('LaunchTest: GetConsoleOutput', () =>
      deps.ec2.send(new GetConsoleOutputCommand({ InstanceId: run.instanceId, Latest: true })),
    ).catch(() => ({ Output: undefined }));
    const text = Output ? Buffer.from(Output, 'base64').toString('utf8').trim() : '';
    if (text) console = `; console: …${tail(text)}`;
  }
  return { ...run, phase: 'failed', reason: `${what}${console}` };
}

function tail(text: string): string {
  return text.slice(-TAIL_CHARACTERS).replace(/\s+/g, ' ').trim();
}

function cleanupRun(
  task: Extract<LaunchTestTask, { action: 'cleanup' }>,
  deps: LaunchTestDeps,
): LaunchTestRun {
  const now = (deps.now ?? (() => new Date()))().toISOString();
  const error = task.failure
    ? `${task.failure.Error ?? 'Error'}: ${task.failure.Cause ?? ''}`.trim()
    : 'an error';
  return {
    instanceType: task.launchTest.instanceType,
    launchedAt: now,
    deadline: now,
    ...task.run,
    phase: 'failed',
    reason: `the launch test stopped on ${error}`,
  };
}

/** Terminates every test instance of the key (any try's), tags the AMI, and returns the outcome. */
async function finish(
  key: string,
  imageId: string,
  run: LaunchTestRun,
  deps: LaunchTestDeps,
): Promise<LaunchTestOutcome> {
  await terminateAll(key, deps);
  const result = run.phase === 'passed' ? 'passed' : 'failed';
  await classified('LaunchTest: CreateTags', () =>
    deps.ec2.send(
      new CreateTagsCommand({
        Resources: [imageId],
        Tags: [{ Key: `${deps.prefix}launch-test`, Value: result }],
      }),
    ),
  );
  const now = (deps.now ?? (() => new Date()))();
  return {
    instanceId: run.instanceId ?? '',
    instanceType: run.instanceType,
    result,
    reason: run.reason ?? (result === 'passed' ? 'status checks passed' : 'failed'),
    seconds: Math.max(0, Math.round((now.getTime() - Date.parse(run.launchedAt)) / 1000)),
  };
}

async function terminateAll(key: string, { ec2, prefix }: LaunchTestDeps): Promise<string[]> {
  const { Reservations = [] } = await classified('LaunchTest: DescribeInstances', () =>
    ec2.send(
      new DescribeInstancesCommand({
        Filters: [
          { Name: `tag:${prefix}key`, Values: [key] },
          { Name: `tag:${prefix}launch-test`, Values: ['true'] },
          { Name: 'instance-state-name', Values: ['pending', 'running', 'stopping', 'stopped'] },
        ],
      }),
    ),
  );
  const ids = Reservations.flatMap((r) => r.Instances ?? []).flatMap((i) =>
    i.InstanceId ? [i.InstanceId] : [],
  );
  if (ids.length > 0)
    await classified('LaunchTest: TerminateInstances', () =>
      ec2.send(new TerminateInstancesCommand({ InstanceIds: ids })),
    );
  return ids;
}

/**
 * The reconciler's sweep: every test instance older than its timeout plus 15 minutes is
 * terminated (a stopped execution's, or one whose cleanup failed). Returns the IDs terminated.
 */
export async function sweepLaunchTestInstances(
  ec2: EC2Client,
  prefix: string,
  now: Date,
  dryRun = false,
): Promise<string[]> {
  const { Reservations = [] } = await ec2.send(
    new DescribeInstancesCommand({
      Filters: [
        { Name: `tag:${prefix}launch-test`, Values: ['true'] },
        { Name: 'instance-state-name', Values: ['pending', 'running', 'stopping', 'stopped'] },
      ],
    }),
  );
  const stale = Reservations.flatMap((r) => r.Instances ?? []).filter((instance) => {
    const timeout = instance.Tags?.find((t) => t.Key === `${prefix}launch-test-timeout`)?.Value;
    const minutes = Number.parseInt(timeout ?? '', 10);
    const limit = ((Number.isFinite(minutes) ? minutes : 120) + SWEEP_GRACE_MINUTES) * 60_000;
    return instance.LaunchTime !== undefined && now.getTime() - instance.LaunchTime.getTime() > limit;
  });
  const ids = stale.flatMap((i) => (i.InstanceId ? [i.InstanceId] : []));
  if (ids.length > 0 && !dryRun) await ec2.send(new TerminateInstancesCommand({ InstanceIds: ids }));
  return ids;
}

/** How long past its timeout a test instance may live before the reconciler terminates it. */
export const SWEEP_GRACE_MINUTES = 15;
