/**
 * The emulator launches instances as the launch test needs EC2 to (docs/adr/0006): RunInstances
 * keeps its ClientToken and starts from the image's block devices; status checks stay
 * `initializing` for a configurable time, then pass, or fail the instance reachability check when
 * the image cannot boot on the type; an image with ENA off on a type that requires ENA is refused
 * at RunInstances, as EC2 refuses it; a failed instance's console shows the failed boot; an SSM
 * command ends with the status the emulator-only tag chooses. Real SDK calls, in a Region of its
 * own whose delays it sets (and resets afterwards).
 */
import {
  DescribeInstanceStatusCommand,
  DescribeInstancesCommand,
  DescribeVolumesCommand,
  EC2Client,
  GetConsoleOutputCommand,
  type InstanceStatus,
  RegisterImageCommand,
  type RegisterImageCommandInput,
  RunInstancesCommand,
  type RunInstancesCommandInput,
  TerminateInstancesCommand,
} from '@aws-sdk/client-ec2';
import { GetCommandInvocationCommand, SendCommandCommand, SSMClient } from '@aws-sdk/client-ssm';
import { afterAll, beforeAll, describe, expect, inject, it, vi } from 'vitest';
import {
  BOOT_TAG,
  createTaggedSnapshot,
  instanceControl,
  SSM_COMMAND_TAG,
  throttleControl,
} from '../../local/index.ts';
import { failure } from '../support/ec2.ts';

const REGION = 'ap-south-2';
const ec2 = new EC2Client({ region: REGION, maxAttempts: 1 });
const ssm = new SSMClient({ region: REGION, maxAttempts: 1 });
const control = instanceControl(inject('awsEndpoint'));
// Throttling is emulator-tested elsewhere (emulator-throttle.test.ts); here it would only slow the launches.
const throttle = throttleControl(inject('awsEndpoint'));
const DELAY = 1;
let counter = 0;
const snapshotOf = new Map<string, string>();

beforeAll(async () => {
  await control.configure({ region: REGION, statusDelaySeconds: DELAY, commandDelaySeconds: DELAY });
  await throttle.configure({ region: REGION, enabled: false });
});
afterAll(async () => {
  await control.reset(REGION);
  await throttle.reset(REGION);
});

async function image(
  input: Partial<RegisterImageCommandInput> = {},
  snapshotTags: Record<string, string> = {},
): Promise<string> {
  const snapshotId = await createTaggedSnapshot(ec2, { purpose: 'emulator-launch-test', ...snapshotTags });
  const { ImageId } = await ec2.send(
    new RegisterImageCommand({
      Name: `launch-test-${Date.now()}-${++counter}`,
      RootDeviceName: '/dev/xvda',
      Architecture: 'x86_64',
      VirtualizationType: 'hvm',
      BootMode: 'uefi-preferred',
      EnaSupport: true,
      BlockDeviceMappings: [
        { DeviceName: '/dev/xvda', Ebs: { SnapshotId: snapshotId, DeleteOnTermination: false } },
      ],
      ...input,
    }),
  );
  if (!ImageId) throw new Error('no ImageId');
  snapshotOf.set(ImageId, snapshotId);
  return ImageId;
}

async function launch(imageId: string, input: Partial<RunInstancesCommandInput> = {}): Promise<string> {
  const { Instances } = await ec2.send(
    new RunInstancesCommand({
      ImageId: imageId,
      InstanceType: 't3.micro',
      MinCount: 1,
      MaxCount: 1,
      ...input,
    }),
  );
  const id = Instances?.[0]?.InstanceId;
  if (!id) throw new Error('no InstanceId');
  return id;
}

async function status(instanceId: string): Promise<InstanceStatus> {
  const answer = await ec2.send(
    new DescribeInstanceStatusCommand({ InstanceIds: [instanceId], IncludeAllInstances: true }),
  );
  const found = answer.InstanceStatuses?.[0];
  if (!found) throw new Error(`${instanceId}: no status`);
  return found;
}

/** The status once both checks have left `initializing` (polled, with a deadline). */
async function settled(instanceId: string): Promise<InstanceStatus> {
  return vi.waitFor(
    async () => {
      const found = await status(instanceId);
      expect(found.InstanceStatus?.Status).not.toBe('initializing');
      expect(found.SystemStatus?.Status).not.toBe('initializing');
      return found;
    },
    { timeout: 20_000, interval: 200 },
  );
}

describe('RunInstances', () => {
  it('answers the same reservation for the same ClientToken, and a new one for another token', async () => {
    const imageId = await image();
    const token = `token-${Date.now()}`;
    const first = await launch(imageId, { ClientToken: token });
    expect(await launch(imageId, { ClientToken: token })).toBe(first);
    expect(await launch(imageId, { ClientToken: `${token}-other` })).not.toBe(first);
    const tagged = await ec2.send(new DescribeInstancesCommand({ InstanceIds: [first] }));
    expect(tagged.Reservations?.flatMap((r) => r.Instances ?? []).map((i) => i.InstanceId)).toEqual([first]);
  });

  it('refuses an image that does not exist', async () => {
    expect((await failure(launch('ami-0123456789abcdef0'))).name).toBe('InvalidAMIID.NotFound');
  });

  it("starts from the image's snapshots, with the request's DeleteOnTermination over the image's", async () => {
    const imageId = await image();
    const instanceId = await launch(imageId, {
      BlockDeviceMappings: [{ DeviceName: '/dev/xvda', Ebs: { DeleteOnTermination: true } }],
    });
    const described = await ec2.send(new DescribeInstancesCommand({ InstanceIds: [instanceId] }));
    const mappings = described.Reservations?.[0]?.Instances?.[0]?.BlockDeviceMappings ?? [];
    expect(mappings.map((m) => [m.DeviceName, m.Ebs?.DeleteOnTermination])).toEqual([['/dev/xvda', true]]);
    const volumes = await ec2.send(
      new DescribeVolumesCommand({ VolumeIds: [mappings[0]?.Ebs?.VolumeId ?? ''] }),
    );
    expect(volumes.Volumes?.[0]?.SnapshotId).toBe(snapshotOf.get(imageId));
  });
});

describe('status checks', () => {
  it('are initializing right after launch, then pass', async () => {
    const instanceId = await launch(await image());
    expect((await status(instanceId)).InstanceStatus?.Status).toBe('initializing');
    const final = await settled(instanceId);
    expect(final.SystemStatus?.Status).toBe('ok');
    expect(final.InstanceStatus).toEqual({
      Status: 'ok',
      Details: [{ Name: 'reachability', Status: 'passed' }],
    });
  });

  it("refuse an image with ENA off on a type that requires ENA at RunInstances, with EC2's error, launching nothing", async () => {
    const imageId = await image({ EnaSupport: false });
    expect(await failure(launch(imageId, { InstanceType: 't3.micro' }))).toEqual({
      name: 'InvalidParameterCombination',
      status: 400,
      message:
        "Enhanced networking with the Elastic Network Adapter (ENA) is required for the 't3.micro' instance type. Ensure that you are using an AMI that is enabled for ENA.",
    });
    const { Reservations = [] } = await ec2.send(
      new DescribeInstancesCommand({ Filters: [{ Name: 'image-id', Values: [imageId] }] }),
    );
    expect(Reservations.flatMap((r) => r.Instances ?? [])).toEqual([]);
  });

  it.each([
    [
      'a boot mode the type does not support',
      { Architecture: 'arm64', BootMode: 'legacy-bios' },
      {},
      't4g.micro',
    ],
    ["an architecture other than the type's", { Architecture: 'x86_64' }, {}, 't4g.micro'],
    ['the root snapshot tagged emulator:boot=fail', {}, { [BOOT_TAG]: 'fail' }, 't3.micro'],
  ] as const)(
    'fail the instance reachability check for %s; the system check passes',
    async (_, input, tags, type) => {
      const instanceId = await launch(await image(input, tags), { InstanceType: type });
      const final = await settled(instanceId);
      expect(final.SystemStatus?.Status).toBe('ok');
      expect(final.InstanceStatus?.Status).toBe('impaired');
      expect(final.InstanceStatus?.Details?.[0]).toMatchObject({ Name: 'reachability', Status: 'failed' });
      const console = await ec2.send(new GetConsoleOutputCommand({ InstanceId: instanceId }));
      const text = Buffer.from(console.Output ?? '', 'base64').toString();
      expect(text).toContain('Kernel panic');
    },
  );

  it('pass with ENA off on a type that does not need ENA (t2.micro)', async () => {
    const instanceId = await launch(await image({ EnaSupport: false }), { InstanceType: 't2.micro' });
    expect((await settled(instanceId)).InstanceStatus?.Status).toBe('ok');
    const console = await ec2.send(new GetConsoleOutputCommand({ InstanceId: instanceId }));
    expect(Buffer.from(console.Output ?? '', 'base64').toString()).not.toContain('Kernel panic');
  });

  it('are not applicable once the instance is terminated', async () => {
    const instanceId = await launch(await image());
    const answer = await ec2.send(new TerminateInstancesCommand({ InstanceIds: [instanceId] }));
    expect(answer.TerminatingInstances?.[0]?.InstanceId).toBe(instanceId);
    const after = await status(instanceId);
    expect(after.InstanceState?.Name).toMatch(/shutting-down|terminated/);
    expect(after.InstanceStatus?.Status).toBe('not-applicable');
  });
});

describe('SSM commands', () => {
  async function run(instanceId: string) {
    const sent = await ssm.send(
      new SendCommandCommand({
        DocumentName: 'AWS-RunShellScript',
        InstanceIds: [instanceId],
        Parameters: { commands: ['true'] },
      }),
    );
    const commandId = sent.Command?.CommandId;
    if (!commandId) throw new Error('no CommandId');
    const invocation = () =>
      ssm.send(new GetCommandInvocationCommand({ CommandId: commandId, InstanceId: instanceId }));
    const first = await invocation();
    const final = await vi.waitFor(
      async () => {
        const answer = await invocation();
        expect(['Pending', 'InProgress', 'Delayed']).not.toContain(answer.Status);
        return answer;
      },
      { timeout: 20_000, interval: 200 },
    );
    return { first, final };
  }

  it('run in progress, then Success, on an instance whose checks passed', async () => {
    const instanceId = await launch(await image());
    await settled(instanceId);
    const { first, final } = await run(instanceId);
    expect(first.Status).toBe('InProgress');
    expect(final).toMatchObject({ Status: 'Success', ResponseCode: 0 });
  });

  it('end with the status the emulator:ssm-command tag names, and say so in the output', async () => {
    const instanceId = await launch(await image({}, { [SSM_COMMAND_TAG]: 'Failed' }));
    await settled(instanceId);
    const { final } = await run(instanceId);
    expect(final.Status).toBe('Failed');
    expect(final.StandardErrorContent).toContain('Failed');
  });

  it('are refused on an instance that did not boot (no SSM agent answers): InvalidInstanceId', async () => {
    const instanceId = await launch(await image({}, { [BOOT_TAG]: 'fail' }));
    await settled(instanceId);
    expect((await failure(run(instanceId))).name).toBe('InvalidInstanceId');
  });
});
