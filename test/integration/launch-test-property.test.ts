/**
 * The launch test's steps under any order of retries and racing attempts (ADR 0012), on the
 * emulator: whatever order the workflow's tries of launch, check, finish and cleanup of two
 * attempts of one key run in (retries after lost answers, an attempt racing its redrive), each
 * attempt has at most one instance (its client token), and once a finish or cleanup has run
 * after the last launch, no instance of the key is left running, and the AMI's
 * `<p>launch-test` tag is that last step's result.
 */
import {
  DescribeImagesCommand,
  DescribeInstancesCommand,
  EC2Client,
  RegisterImageCommand,
} from '@aws-sdk/client-ec2';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import type { LaunchTest } from '#shared/contract/types.ts';
import { type LaunchTestRun, runLaunchTestTask } from '../../functions/launchTest/launch-test.ts';
import { createTaggedSnapshot, launchTestNetwork, throttleControl } from '../../local/index.ts';

const REGION = 'ap-southeast-3';
const ec2 = new EC2Client({ region: REGION, maxAttempts: 1 });
const PREFIX = 'prop:';
const LAUNCH_TEST: LaunchTest = { mode: 'status-checks', instanceType: 't3.micro', timeoutMinutes: 15 };
const throttle = throttleControl(inject('awsEndpoint'));
let deps: Parameters<typeof runLaunchTestTask>[1];

beforeAll(async () => {
  await throttle.configure({ region: REGION, enabled: false });
  const network = await launchTestNetwork(ec2);
  deps = {
    ec2,
    ssm: undefined as never,
    prefix: PREFIX,
    settings: { ...network, instanceProfile: undefined },
  };
});
afterAll(async () => {
  await throttle.reset(REGION);
});

const step = fc.record({
  attempt: fc.constantFrom(1 as const, 2 as const),
  action: fc.constantFrom('launch' as const, 'check' as const, 'finish' as const, 'cleanup' as const),
});

let counter = 0;

async function image(key: string): Promise<string> {
  const snapshotId = await createTaggedSnapshot(ec2, { purpose: 'launch-test property' });
  const { ImageId } = await ec2.send(
    new RegisterImageCommand({
      Name: `prop-${Date.now()}-${++counter}`,
      RootDeviceName: '/dev/xvda',
      Architecture: 'x86_64',
      EnaSupport: true,
      BlockDeviceMappings: [{ DeviceName: '/dev/xvda', Ebs: { SnapshotId: snapshotId } }],
      TagSpecifications: [{ ResourceType: 'image', Tags: [{ Key: `${PREFIX}key`, Value: key }] }],
    }),
  );
  return ImageId as string;
}

describe('the launch test under retries and racing attempts', () => {
  it('leaves at most one instance per attempt, none running after a final finish or cleanup, and the last result on the AMI', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(step, { minLength: 1, maxLength: 8 }), async (steps) => {
        const key = `prop-${Date.now()}-${++counter}`;
        const imageId = await image(key);
        const runs = new Map<number, LaunchTestRun>();
        let lastEnd: string | undefined;
        let launchedAfterEnd = false;
        // Every sequence ends with a cleanup (the Catch, or the last try of finish).
        for (const { attempt, action } of [...steps, { attempt: 2 as const, action: 'cleanup' as const }]) {
          const run = runs.get(attempt);
          if (action === 'launch') {
            const launched = (await runLaunchTestTask(
              { action, key, executionName: `${key}-${attempt}`, imageId, launchTest: LAUNCH_TEST },
              deps,
            )) as LaunchTestRun;
            if (run?.instanceId) expect(launched.instanceId).toBe(run.instanceId);
            runs.set(attempt, launched);
            launchedAfterEnd = true;
          } else if (action === 'check' && run) {
            runs.set(
              attempt,
              (await runLaunchTestTask({ action, run, launchTest: LAUNCH_TEST }, deps)) as LaunchTestRun,
            );
          } else if (action === 'finish' && run) {
            lastEnd = ((await runLaunchTestTask({ action, key, imageId, run }, deps)) as { result: string })
              .result;
            launchedAfterEnd = false;
          } else if (action === 'cleanup') {
            await runLaunchTestTask(
              { action, key, imageId, launchTest: LAUNCH_TEST, ...(run && { run }) },
              deps,
            );
            lastEnd = 'failed';
            launchedAfterEnd = false;
          }
        }
        expect(launchedAfterEnd).toBe(false);
        const { Reservations = [] } = await ec2.send(
          new DescribeInstancesCommand({ Filters: [{ Name: `tag:${PREFIX}key`, Values: [key] }] }),
        );
        const instances = Reservations.flatMap((r) => r.Instances ?? []);
        expect(instances.length).toBeLessThanOrEqual(2);
        expect(new Set(instances.map((i) => i.InstanceId)).size).toBe(
          runs.size === 0 ? 0 : new Set([...runs.values()].map((r) => r.instanceId)).size,
        );
        expect(
          instances.filter((i) => !['shutting-down', 'terminated'].includes(i.State?.Name ?? '')),
        ).toEqual([]);
        const [described] = (await ec2.send(new DescribeImagesCommand({ ImageIds: [imageId] }))).Images ?? [];
        const tag = described?.Tags?.find((t) => t.Key === `${PREFIX}launch-test`)?.Value;
        expect(tag).toBe(lastEnd);
      }),
      { numRuns: 15 },
    );
  }, 120_000);
});
