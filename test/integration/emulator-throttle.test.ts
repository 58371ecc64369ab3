/**
 * The emulator throttles EC2 as EC2 does (docs/adr/0006): a token bucket per account, Region and
 * API with EC2's documented sizes and refill rates, on by default; a request that finds its
 * bucket empty gets HTTP 503 RequestLimitExceeded. Each test changes the settings of a Region of
 * its own (the other test files use us-east-1 at the documented rates) and resets it afterwards.
 */
import {
  CopyImageCommand,
  CopySnapshotCommand,
  CreateTagsCommand,
  DeregisterImageCommand,
  DescribeImageReferencesCommand,
  DescribeImagesCommand,
  DescribeInstanceStatusCommand,
  DescribeInstancesCommand,
  DescribeSnapshotsCommand,
  EC2Client,
  EnableImageDeprecationCommand,
  EnableImageDeregistrationProtectionCommand,
  GetConsoleOutputCommand,
  ModifyImageAttributeCommand,
  RegisterImageCommand,
  RunInstancesCommand,
  TerminateInstancesCommand,
} from '@aws-sdk/client-ec2';
import { afterEach, describe, expect, inject, it } from 'vitest';
import { DOCUMENTED_BUCKETS, type Ec2Api, SSM_APIS } from '#shared/admission.ts';
import { throttleControl } from '../../local/index.ts';

const control = throttleControl(inject('awsEndpoint'));
const used: string[] = [];
const clientIn = (region: string) => {
  used.push(region);
  return new EC2Client({ region, maxAttempts: 1 });
};
afterEach(async () => {
  for (const region of used.splice(0)) await control.reset(region);
});

/** The outcome of one EC2 call: 'ok', or the error's name and HTTP status. */
async function outcome(call: Promise<unknown>): Promise<string> {
  try {
    await call;
    return 'ok';
  } catch (error) {
    const e = error as Error & { $metadata?: { httpStatusCode?: number } };
    return `${e.name} ${e.$metadata?.httpStatusCode}`;
  }
}

const dryRunRegister = (ec2: EC2Client, i: number) =>
  ec2.send(new RegisterImageCommand({ Name: `throttle-${i}`, RootDeviceName: '/dev/xvda', DryRun: true }));
const describeImages = (ec2: EC2Client) => ec2.send(new DescribeImagesCommand({ Owners: ['self'] }));

describe('EC2 request throttling', () => {
  it("is on by default, at time scale 1 with no competitor, with EC2's documented buckets", async () => {
    const state = await control.state();
    expect(state).toMatchObject({ enabled: true, timeScale: 1, competitorShare: 0 });
    expect(state.documented).toMatchObject({
      nonMutating: { size: 100, refill: 20 },
      unfilteredNonMutating: { size: 50, refill: 10 },
      mutating: { size: 50, refill: 5 },
      uncategorized: {
        CreateTags: { size: 100, refill: 10 },
        CopyImage: { size: 100, refill: 1 },
        ModifyImageAttribute: { size: 100, refill: 5 },
        DeregisterImage: { size: 100, refill: 5 },
      },
    });
    // The bucket each call of the pipeline takes a token from, as the counters report it.
    const region = 'ca-central-1';
    const ec2 = clientIn(region);
    // Counted from zero: another file may have used this Region on the same emulator before.
    await control.reset(region);
    await outcome(dryRunRegister(ec2, 0));
    await describeImages(ec2);
    await ec2.send(new DescribeSnapshotsCommand({ Filters: [{ Name: 'snapshot-id', Values: ['snap-0'] }] }));
    await ec2.send(new DescribeSnapshotsCommand({ OwnerIds: ['self'] }));
    await outcome(
      ec2.send(new CreateTagsCommand({ Resources: ['ami-0'], Tags: [{ Key: 'k', Value: 'v' }] })),
    );
    const counters = (await control.state()).counters[region];
    expect(counters).toMatchObject({
      RegisterImage: { calls: 1, throttled: 0, size: 50, refill: 5 },
      DescribeImages: { calls: 1, throttled: 0, size: 100, refill: 20 },
      DescribeSnapshots: { calls: 1, size: 100, refill: 20 },
      'DescribeSnapshots (unfiltered)': { calls: 1, size: 50, refill: 10 },
      CreateTags: { calls: 1, size: 100, refill: 10 },
    });
  });

  it("gives every API admission control budgets the bucket admission control counts on (one table of EC2's limits, checked against the other)", async () => {
    const region = 'sa-east-1';
    const ec2 = clientIn(region);
    const image = 'ami-00000000000000000';
    // One call of each: the outcome does not matter (no such image), the token it takes does.
    const calls: Record<Exclude<Ec2Api, (typeof SSM_APIS)[number]>, () => Promise<unknown>> = {
      RegisterImage: () => dryRunRegister(ec2, 1),
      DescribeSnapshots: () =>
        ec2.send(new DescribeSnapshotsCommand({ Filters: [{ Name: 'snapshot-id', Values: ['snap-0'] }] })),
      DescribeImages: () => describeImages(ec2),
      CreateTags: () =>
        ec2.send(new CreateTagsCommand({ Resources: [image], Tags: [{ Key: 'k', Value: 'v' }] })),
      CopyImage: () =>
        ec2.send(new CopyImageCommand({ Name: 'c', SourceImageId: image, SourceRegion: 'us-east-1' })),
      ModifyImageAttribute: () =>
        ec2.send(new ModifyImageAttributeCommand({ ImageId: image, LaunchPermission: { Add: [] } })),
      EnableImageDeprecation: () =>
        ec2.send(
          new EnableImageDeprecationCommand({
            ImageId: image,
            DeprecateAt: new Date(Date.now() + 86_400_000),
          }),
        ),
      EnableImageDeregistrationProtection: () =>
        ec2.send(new EnableImageDeregistrationProtectionCommand({ ImageId: image })),
      DescribeImageReferences: () => ec2.send(new DescribeImageReferencesCommand({ ImageIds: [image] })),
      DeregisterImage: () => ec2.send(new DeregisterImageCommand({ ImageId: image })),
      // The launch test's (ADR 0012). RunInstances takes one token of its resource bucket too.
      RunInstances: () =>
        ec2.send(
          new RunInstancesCommand({ ImageId: image, InstanceType: 't3.micro', MinCount: 1, MaxCount: 1 }),
        ),
      'RunInstances.instances': async () => undefined,
      DescribeInstanceStatus: () =>
        ec2.send(new DescribeInstanceStatusCommand({ Filters: [{ Name: 'instance-id', Values: ['i-0'] }] })),
      DescribeInstances: () =>
        ec2.send(new DescribeInstancesCommand({ Filters: [{ Name: 'instance-id', Values: ['i-0'] }] })),
      TerminateInstances: () => ec2.send(new TerminateInstancesCommand({ InstanceIds: ['i-0'] })),
      GetConsoleOutput: () => ec2.send(new GetConsoleOutputCommand({ InstanceId: 'i-0' })),
      // CopySourceSnapshots' (ADR 0014). CopySnapshot takes one of the concurrent copies too.
      CopySnapshot: () =>
        ec2.send(new CopySnapshotCommand({ SourceSnapshotId: 'snap-0', SourceRegion: region })),
      'CopySnapshot.copies': async () => undefined,
    };
    for (const call of Object.values(calls)) await outcome(call());
    const counters = (await control.state()).counters[region];
    // SSM's buckets (an `ssm:` launch test's) are admission control's alone: the emulator throttles EC2.
    const ssm = new Set<string>(SSM_APIS);
    for (const [api, { size, refill }] of Object.entries(DOCUMENTED_BUCKETS).filter(([api]) => !ssm.has(api)))
      expect({ api, ...counters?.[api] }).toMatchObject({ api, calls: 1, size, refill });
  });

  it('answers the request past a full bucket with HTTP 503 RequestLimitExceeded; dry runs take tokens too', async () => {
    const region = 'eu-west-3';
    const ec2 = clientIn(region);
    // A refill too slow to matter during the test: the bucket's size alone decides.
    await control.configure({ region, timeScale: 1e-9 });
    const outcomes: string[] = [];
    for (let i = 0; i < 51; i++) outcomes.push(await outcome(dryRunRegister(ec2, i)));
    expect(outcomes.slice(0, 50)).toEqual(Array(50).fill('DryRunOperation 412'));
    expect(outcomes[50]).toBe('RequestLimitExceeded 503');
    const error = await dryRunRegister(ec2, 51).catch((e: Error) => e);
    expect((error as Error).message).toMatch(
      /^Request limit exceeded\. Account \d{12} has been throttled on ec2:RegisterImage/,
    );
    // Per API and per Region: other APIs and Regions still have their tokens.
    expect(await outcome(describeImages(ec2))).toBe('ok');
    expect(await outcome(dryRunRegister(clientIn('eu-west-2'), 0))).toBe('DryRunOperation 412');
    expect(await control.counter(region, 'RegisterImage')).toMatchObject({ calls: 52, throttled: 2 });
  });

  it('refills at the bucket rate × timeScale × (1 − competitorShare)', async () => {
    const region = 'eu-north-1';
    const ec2 = clientIn(region);
    await describeImages(ec2); // moto's first call in a Region loads its catalogue (about a second)
    await control.configure({
      region,
      buckets: { DescribeImages: { size: 2, refill: 0.4 } },
      timeScale: 10,
      competitorShare: 0.5,
    });
    expect(await outcome(describeImages(ec2))).toBe('ok');
    expect(await outcome(describeImages(ec2))).toBe('ok');
    expect(await outcome(describeImages(ec2))).toBe('RequestLimitExceeded 503');
    expect(await control.counter(region, 'DescribeImages')).toMatchObject({
      size: 2,
      refill: 2,
      throttled: 1,
    });
    // Two tokens a second: one is back within half a second.
    const deadline = Date.now() + 5_000;
    let last = await outcome(describeImages(ec2));
    while (last !== 'ok' && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 50));
      last = await outcome(describeImages(ec2));
    }
    expect(last).toBe('ok');
    // A competitor that takes the whole refill leaves none for this client.
    await control.configure({ region, competitorShare: 1 });
    expect(await control.counter(region, 'DescribeImages')).toMatchObject({ refill: 0 });
  });

  it("keeps a bucket's tokens when only its rate changes: a competitor that arrives mid-burst refills nothing", async () => {
    const region = 'eu-south-1';
    const ec2 = clientIn(region);
    await describeImages(ec2); // moto's first call in a Region loads its catalogue
    // A refill too slow to matter during the test.
    await control.configure({ region, buckets: { DescribeImages: { size: 2, refill: 0.0001 } } });
    expect([await outcome(describeImages(ec2)), await outcome(describeImages(ec2))]).toEqual(['ok', 'ok']);
    await control.configure({ region, competitorShare: 0.9 });
    expect(await outcome(describeImages(ec2))).toBe('RequestLimitExceeded 503');
    await control.configure({ region, competitorShare: 0, timeScale: 2 });
    expect(await outcome(describeImages(ec2))).toBe('RequestLimitExceeded 503');
    // A change of size starts the bucket full.
    await control.configure({ region, buckets: { DescribeImages: { size: 1, refill: 0.0001 } } });
    expect(await outcome(describeImages(ec2))).toBe('ok');
  });

  it('can be switched off (per Region here), and reset to the defaults', async () => {
    const region = 'ap-northeast-1';
    const ec2 = clientIn(region);
    await control.configure({ region, enabled: false, buckets: { DescribeImages: { size: 1, refill: 0 } } });
    const outcomes = await Promise.all(Array.from({ length: 5 }, () => outcome(describeImages(ec2))));
    expect(outcomes).toEqual(Array(5).fill('ok'));
    expect(await control.counter(region, 'DescribeImages')).toMatchObject({ calls: 5, throttled: 0 });
    const reset = await control.reset(region);
    expect(reset.regions[region]).toBeUndefined();
    expect(reset.counters[region]).toBeUndefined();
  });
});
