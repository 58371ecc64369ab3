/**
 * The launch test (tag contract v3, docs/adr/0012-launch-test.md), the deployed definition on
 * the emulator: a passing test publishes (parameter, share, copy) and tags the AMI passed; a
 * failing one (ENA off on t3.micro, which EC2 refuses to launch; a failed SSM command) fails the
 * registration at LaunchTest, keeps the AMI tagged failed, publishes nothing and leaves no
 * instance running; the notification and the event carry the outcome (null without a test); a lost answer
 * at each LaunchTest state, then a redrive, leaves at most one instance per attempt and none
 * running; a stopped execution's instance is terminated by the reconciler's sweep.
 */
import {
  DescribeImageAttributeCommand,
  DescribeImagesCommand,
  DescribeInstancesCommand,
  EC2Client,
  type Instance,
} from '@aws-sdk/client-ec2';
import { GetParameterCommand, SSMClient } from '@aws-sdk/client-ssm';
import { beforeAll, describe, expect, it, vi } from 'vitest';
import type { Plan } from '#shared/contract/types.ts';
import { executionInput } from '#shared/workflow.ts';
import { sweepLaunchTestInstances } from '../../functions/launchTest/launch-test.ts';
import { createPipeline, type Pipeline, SSM_COMMAND_TAG } from '../../local/index.ts';
import { executionArn as arn, planFor, unique } from '../support/pipeline.ts';

const ec2 = new EC2Client({});
const ssm = new SSMClient({});
const PREFIX = 'snap2ami:';
// The definition's Wait (15 s) and retry caps, 15 times faster: one look a second.
const TIME_SCALE = 15;
let pipeline: Pipeline;

beforeAll(async () => {
  pipeline = await createPipeline({ timeScale: TIME_SCALE });
});

async function instancesOf(key: string, prefix = PREFIX): Promise<Instance[]> {
  const { Reservations = [] } = await ec2.send(
    new DescribeInstancesCommand({ Filters: [{ Name: `tag:${prefix}key`, Values: [key] }] }),
  );
  return Reservations.flatMap((r) => r.Instances ?? []);
}

const running = (instances: Instance[]) =>
  instances.filter((i) => !['shutting-down', 'terminated'].includes(i.State?.Name ?? ''));

async function imageTags(imageId: string): Promise<Record<string, string>> {
  const [image] = (await ec2.send(new DescribeImagesCommand({ ImageIds: [imageId] }))).Images ?? [];
  return Object.fromEntries((image?.Tags ?? []).map((t) => [t.Key, t.Value]));
}

async function parameterValue(name: string): Promise<string | undefined> {
  try {
    return (await ssm.send(new GetParameterCommand({ Name: name }))).Parameter?.Value;
  } catch {
    return undefined;
  }
}

async function imagesNamed(name: string, region = 'us-east-1') {
  const client = new EC2Client({ region });
  return (
    (await client.send(new DescribeImagesCommand({ Filters: [{ Name: 'name', Values: [name] }] }))).Images ??
    []
  );
}

function run(p: Pipeline, plan: Plan, attempt = '') {
  return p.workflow.run(executionInput(plan, {}, new Date()), arn(`${plan.key}${attempt}`));
}

const publishing = (name: string) => ({
  'snap2ami:name': name,
  'snap2ami:ssm-parameter': `/lt/${name}`,
  'snap2ami:share-with': '111122223333',
  'snap2ami:copy-to': 'us-west-2',
});

describe('a passing launch test', () => {
  it('boots the AMI, terminates the instance, tags the AMI passed, and then publishes (parameter, share, copy)', async () => {
    const name = unique('lt-pass');
    const plan = await planFor(ec2, { ...publishing(name), 'snap2ami:launch-test': 'status-checks' });
    expect(plan.launchTest).toEqual({ mode: 'status-checks', instanceType: 't3.micro', timeoutMinutes: 15 });
    const execution = await run(pipeline, plan);
    expect(execution.status, `${execution.error}: ${execution.cause}`).toBe('SUCCEEDED');
    const { imageId } = execution.output as { imageId: string };

    const instances = await instancesOf(plan.key);
    expect(instances).toHaveLength(1);
    expect(running(instances)).toEqual([]);
    const [instance] = instances as [Instance];
    expect(instance).toMatchObject({ ImageId: imageId, InstanceType: 't3.micro' });
    expect(instance.MetadataOptions?.HttpTokens).toBe('required');
    expect(instance.PublicIpAddress).toBeUndefined();
    expect(instance.Tags).toEqual(expect.arrayContaining([{ Key: `${PREFIX}launch-test`, Value: 'true' }]));

    expect(await imageTags(imageId)).toMatchObject({ [`${PREFIX}launch-test`]: 'passed' });
    expect(await parameterValue(`/lt/${name}`)).toBe(imageId);
    const permissions = await ec2.send(
      new DescribeImageAttributeCommand({ ImageId: imageId, Attribute: 'launchPermission' }),
    );
    expect(permissions.LaunchPermissions).toEqual([{ UserId: '111122223333' }]);
    expect(await imagesNamed(name, 'us-west-2')).toHaveLength(1);

    const record = await pipeline.record(plan.key);
    expect(record?.status).toBe('COMPLETED');
    const outcome = JSON.parse(String(record?.launchTest));
    expect(outcome).toEqual({
      instanceId: instance.InstanceId,
      instanceType: 't3.micro',
      result: 'passed',
      reason: 'status checks passed',
      seconds: expect.any(Number),
    });

    // The notification and the event carry the outcome the record holds.
    const notice = (await pipeline.notifications()).find((n) => n.message.key === plan.key);
    expect(notice?.message).toMatchObject({ outcome: 'REGISTERED', imageId, launchTest: outcome });
    const event = (await pipeline.events()).find((e) => e.detail.key === plan.key);
    expect(event).toMatchObject({
      'detail-type': 'AMI Registered',
      detail: { imageId, launchTest: outcome },
    });
  });
});

describe('without a launch test', () => {
  it('the notification and the event still go out, their launchTest null', async () => {
    const plan = await planFor(ec2, { 'snap2ami:name': unique('lt-none') });
    expect(plan.launchTest).toBeUndefined();
    const execution = await run(pipeline, plan);
    expect(execution.status, `${execution.error}: ${execution.cause}`).toBe('SUCCEEDED');
    const notice = (await pipeline.notifications()).find((n) => n.message.key === plan.key);
    expect(notice?.message).toMatchObject({ outcome: 'REGISTERED', launchTest: null });
    const event = (await pipeline.events()).find((e) => e.detail.key === plan.key);
    expect(event).toMatchObject({ 'detail-type': 'AMI Registered', detail: { launchTest: null } });
    expect(await pipeline.record(plan.key)).not.toHaveProperty('launchTest');
  });
});

describe('a failing launch test', () => {
  it("ENA off on t3.micro: EC2 refuses the launch; fails at LaunchTest naming EC2's error, keeps the AMI tagged failed, publishes nothing, launches no instance; the notification and the event carry the outcome", async () => {
    const name = unique('lt-ena');
    const plan = await planFor(ec2, {
      ...publishing(name),
      'snap2ami:launch-test': 'status-checks',
      'snap2ami:ena-support': 'false',
    });
    const execution = await run(pipeline, plan);
    expect(execution.status).toBe('FAILED');
    const record = await pipeline.record(plan.key);
    expect(record).toMatchObject({ status: 'FAILED', failedStep: 'LaunchTest', error: 'LaunchTestFailed' });
    expect(String(record?.cause)).toBe(
      "RunInstances refused t3.micro: InvalidParameterCombination: Enhanced networking with the Elastic Network Adapter (ENA) is required for the 't3.micro' instance type. Ensure that you are using an AMI that is enabled for ENA.",
    );
    const imageId = String(record?.imageId);
    expect(await imageTags(imageId)).toMatchObject({ [`${PREFIX}launch-test`]: 'failed' });
    const outcome = JSON.parse(String(record?.launchTest));
    expect(outcome).toEqual({
      instanceId: '',
      instanceType: 't3.micro',
      result: 'failed',
      reason: record?.cause,
      seconds: expect.any(Number),
    });

    expect(await parameterValue(`/lt/${name}`)).toBeUndefined();
    const permissions = await ec2.send(
      new DescribeImageAttributeCommand({ ImageId: imageId, Attribute: 'launchPermission' }),
    );
    expect(permissions.LaunchPermissions ?? []).toEqual([]);
    expect(await imagesNamed(name, 'us-west-2')).toEqual([]);
    expect(await imageTags(imageId)).not.toHaveProperty(`${PREFIX}launch-test`, 'passed');
    expect(await instancesOf(plan.key)).toEqual([]);

    const notice = (await pipeline.notifications()).find((n) => n.message.key === plan.key);
    expect(notice?.message).toMatchObject({
      outcome: 'FAILED',
      failedStep: 'LaunchTest',
      imageId,
      launchTest: outcome,
    });
    const event = (await pipeline.events()).find((e) => e.detail.key === plan.key);
    expect(event).toMatchObject({
      'detail-type': 'AMI Registration Failed',
      detail: { failedStep: 'LaunchTest', launchTest: outcome },
    });
  });

  it('a failed SSM command: the error names the document, its status and the end of its output', async () => {
    const name = unique('lt-ssm');
    const plan = await planFor(ec2, {
      'snap2ami:name': name,
      'snap2ami:launch-test': 'ssm:Smoke-Test',
      [SSM_COMMAND_TAG]: 'Failed',
    });
    expect(plan.launchTest?.document).toBe('Smoke-Test');
    const execution = await run(pipeline, plan);
    expect(execution.status).toBe('FAILED');
    const record = await pipeline.record(plan.key);
    expect(record).toMatchObject({ failedStep: 'LaunchTest' });
    expect(String(record?.cause)).toMatch(/^SSM command Smoke-Test ended Failed: …Smoke-Test: step 1 of 1/);
    expect(running(await instancesOf(plan.key))).toEqual([]);
  });
});

describe('faults', () => {
  it.each(['launch', 'check', 'finish'])(
    'a lost answer at the %s step, retried past its limit, then a redrive: at most one instance per attempt, none running, the AMI adopted and published',
    async (action) => {
      let lose = true;
      const faulty = await createPipeline({
        timeScale: TIME_SCALE,
        aroundLaunchTest: async (task, next) => {
          const result = await next();
          // The work was done, the answer lost: as a Lambda timed out after its last call.
          if (lose && task.action === action)
            throw Object.assign(new Error(`the answer of ${action} was lost (test)`), {
              name: 'Sandbox.Timedout',
            });
          return result;
        },
      });
      const name = unique(`lt-lost-${action}`);
      const plan = await planFor(ec2, {
        'snap2ami:name': name,
        'snap2ami:ssm-parameter': `/lt/${name}`,
        'snap2ami:launch-test': 'status-checks',
      });
      const first = await run(faulty, plan);
      expect(first.status).toBe('FAILED');
      expect(await faulty.record(plan.key)).toMatchObject({ status: 'FAILED', failedStep: 'LaunchTest' });
      const afterFirst = await instancesOf(plan.key);
      expect(afterFirst.length).toBeLessThanOrEqual(1);
      expect(running(afterFirst)).toEqual([]);

      lose = false;
      const second = await run(faulty, plan, '-2');
      const secondRecord = await faulty.record(plan.key);
      expect(
        second.status,
        `${secondRecord?.failedStep}: ${secondRecord?.error}: ${secondRecord?.cause}`,
      ).toBe('SUCCEEDED');
      const { imageId } = second.output as { imageId: string };
      expect(await imagesNamed(name)).toHaveLength(1);
      expect(await faulty.record(plan.key)).toMatchObject({ status: 'COMPLETED', adopted: true, imageId });
      expect(await parameterValue(`/lt/${name}`)).toBe(imageId);
      const afterBoth = await instancesOf(plan.key);
      expect(afterBoth.length).toBeLessThanOrEqual(2);
      expect(running(afterBoth)).toEqual([]);
    },
  );

  it("a stopped execution leaves its instance running; the reconciler's sweep terminates it once it is older than its timeout plus 15 minutes", async () => {
    // A prefix of its own: the sweep's clock is moved 31 minutes on, and must not reach other tests' instances.
    const prefix = 'snap2ami-sweep-test:';
    const own = await createPipeline({ timeScale: TIME_SCALE, launchTest: { prefix } });
    const name = unique('lt-stopped');
    const plan = await planFor(ec2, { 'snap2ami:name': name, 'snap2ami:launch-test': 'status-checks' });
    const started = own.workflow.start(executionInput(plan, {}, new Date()), arn(plan.key));
    await vi.waitFor(async () => expect(await instancesOf(plan.key, prefix)).toHaveLength(1), {
      timeout: 30_000,
      interval: 200,
    });
    started.abort();
    expect((await started.result).status).toBe('ABORTED');
    expect(running(await instancesOf(plan.key, prefix))).toHaveLength(1);

    const [instance] = (await instancesOf(plan.key, prefix)) as [Instance];
    const launched = instance.LaunchTime?.getTime() ?? 0;
    // Within its timeout (15 minutes) plus 15 minutes: kept; a dry run only says it would go.
    expect(await sweepLaunchTestInstances(ec2, prefix, new Date(launched + 29 * 60_000))).toEqual([]);
    expect(await sweepLaunchTestInstances(ec2, prefix, new Date(launched + 31 * 60_000), true)).toEqual([
      instance.InstanceId,
    ]);
    expect(running(await instancesOf(plan.key, prefix))).toHaveLength(1);
    // Past it: terminated.
    expect(await sweepLaunchTestInstances(ec2, prefix, new Date(launched + 31 * 60_000))).toEqual([
      instance.InstanceId,
    ]);
    expect(running(await instancesOf(plan.key, prefix))).toEqual([]);
  });
});
