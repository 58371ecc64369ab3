/** The README's main-job command: `snap2ami local` on a fresh emulator of its own. */
import { readFileSync } from 'node:fs';
import { CreateTagsCommand, EC2Client } from '@aws-sdk/client-ec2';
import { afterAll, describe, expect, it, vi } from 'vitest';
import { DEFAULT_SAMPLES } from '../../local/index.ts';
import { jsonFiles, type RunningCli, snap2ami, snap2amiRunning } from '../support/cli.ts';
import { snap2amiInProcess } from '../support/cli-in-process.ts';

/** The environment `local --keep` prints for the other commands (its `export …` line). */
function keptEnvironment(stderr: string): Record<string, string> {
  const line = /^ {2}export (.+)$/m.exec(stderr)?.[1];
  if (!line) throw new Error(`local --keep printed no export line:\n${stderr}`);
  return Object.fromEntries(
    line.split(' ').map((pair) => [pair.slice(0, pair.indexOf('=')), pair.slice(pair.indexOf('=') + 1)]),
  );
}

/** Whether anything answers on the endpoint. */
const answers = (endpoint: string) =>
  fetch(`${endpoint}/moto-api/config`, { signal: AbortSignal.timeout(2_000) }).then(
    () => true,
    () => false,
  );

/**
 * One run of the default sample set, kept (`local --keep --json`): the first test reads its
 * outcomes, the last uses what it keeps and stops it. A whole run of the samples is the costly
 * part of these tests, so they share it.
 */
const kept: { run?: RunningCli } = {};

async function keptRun(): Promise<RunningCli> {
  if (kept.run) return kept.run;
  const run = snap2amiRunning(['local', '--keep', '--json']);
  kept.run = run;
  await vi.waitFor(
    () => {
      if (run.child.exitCode !== null) throw new Error(`exited early:\n${run.output().stderr}`);
      expect(run.output().stderr).toContain('press Ctrl-C to stop');
    },
    { timeout: 90_000, interval: 200 },
  );
  return run;
}

describe('snap2ami local', () => {
  afterAll(() => {
    if (kept.run?.child.exitCode === null) kept.run.child.kill('SIGTERM');
  });

  it('runs the sample set through the whole pipeline on the emulator, and every outcome is the expected one', async () => {
    const result = (await keptRun()).output();
    const rows = JSON.parse(result.stdout) as ({ outcome: string; expected: string; detail: string } & Record<
      string,
      unknown
    >)[];
    expect(rows.map((row) => row.outcome)).toEqual([
      'planned',
      'planned',
      'skipped',
      'planned',
      'rejected',
      // Windows: planned with the billing check (contract v2); its image comes back Linux/UNIX
      // (the emulator's billing for a snapshot without billing metadata), so it is deregistered.
      'failed',
      'skipped',
      'planned',
      // The launch test (contract v3, ADR 0012): one that passes, one whose AMI has ENA off (EC2 refuses to launch it).
      'planned',
      'failed',
      // A member account's snapshot, shared with the central account: registered from a copy (ADR 0014).
      'planned',
    ]);
    expect(rows.every((row) => row.outcome === row.expected)).toBe(true);
    expect(rows[0]?.detail).toMatch(/^ami-[0-9a-f]+ "MyImage"$/);
    expect(result.stderr).toContain(
      "created the pipeline's queues, table and topic from the packaged template",
    );
    expect(result.stderr).toContain('sent 11 events');
    expect(result.stderr).toContain('workflows done: 6 succeeded, 2 failed\n');
    expect(rows[4]?.detail).toContain('snap2ami:architecture="amd64"');
    expect(rows[5]?.detail).toMatch(
      /^at CheckBilling: BillingInformationMissing: Billing check: the image ami-[0-9a-f]+ has PlatformDetails "Linux\/UNIX", not Windows: .* The image was deregistered\. Create the AMI from an instance instead/,
    );
    // The sample with every lifecycle tag: its planned outcome, copy by copy (ADR 0008).
    const web = rows[7];
    const imageId = expect.stringMatching(/^ami-[0-9a-f]+$/);
    expect(web).toMatchObject({
      imageId,
      copies: [
        { region: 'us-west-2', imageId },
        { region: 'eu-central-1', imageId },
      ],
      launchPermissions: [
        '210987654321',
        'arn:aws:organizations::123456789012:ou/o-a1b2c3d4e5/ou-a1b2-c3d4e5f6',
      ],
      deprecationTime: expect.stringMatching(/^\d{4}-\d\d-\d\dT\d\d:\d\d:00\.000Z$/),
      deregistrationProtection: 'with-cooldown',
      deregistered: [],
      disabled: [],
      kept: [],
    });
    const copies = web?.copies as { region: string; imageId: string }[];
    expect(web?.ssmParameters).toEqual([
      { region: 'us-east-1', name: '/snap2ami/web/latest', value: web?.imageId },
      ...copies.map(({ region, imageId: value }) => ({ region, name: '/snap2ami/web/latest', value })),
    ]);
    // The launch tests: --json carries each one's outcome; the failed one names EC2's refusal.
    expect(rows[8]?.launchTest).toMatchObject({ instanceType: 't3.micro', result: 'passed' });
    expect(rows[9]?.launchTest).toMatchObject({ instanceType: 't3.micro', result: 'failed' });
    expect(rows[9]?.detail).toMatch(
      /^at LaunchTest: LaunchTestFailed: RunInstances refused t3\.micro: InvalidParameterCombination: Enhanced networking with the Elastic Network Adapter \(ENA\) is required for the 't3\.micro' instance type\./,
    );
    expect(rows[0]).not.toHaveProperty('launchTest');
    // A sample without lifecycle tags has its image and nothing else.
    expect(rows[0]).toMatchObject({ imageId });
    expect(rows[0]).not.toHaveProperty('copies');
    expect(rows[0]).not.toHaveProperty('sourceAccount');
    // The member's sample: its AMI registered from the copy, which the record names.
    expect(rows[10]).toMatchObject({
      sourceAccount: '111111111111',
      copiedSnapshotIds: [expect.stringMatching(/^snap-/)],
      detail: expect.stringMatching(/^ami-[0-9a-f]+ "member-build-2026-11-20"$/),
    });
    expect((rows[10]?.copiedSnapshotIds as string[] | undefined)?.[0]).not.toBe(rows[10]?.snapshotId);
  });

  it('two samples of one family with retain=1 and the same StartTime: one AMI stays, the greater key’s, named by its own time', () => {
    const sample = (id: string, letter: string) => ({
      SnapshotId: id,
      VolumeSize: 8,
      State: 'completed',
      OwnerId: '123456789012',
      StartTime: '2026-12-01T02:00:00.000Z',
      Encrypted: false,
      Tags: [
        { Key: 'snap2ami:register', Value: 'true' },
        { Key: 'snap2ami:name', Value: `web-${letter}-{datetime}` },
        { Key: 'snap2ami:family', Value: 'web' },
        { Key: 'snap2ami:retain', Value: '1' },
        { Key: 'example:expect', Value: 'planned' },
      ],
    });
    const files = jsonFiles({
      'family.json': {
        Snapshots: [sample('snap-0aaaaaaaaaaaaaaa1', 'a'), sample('snap-0aaaaaaaaaaaaaaa2', 'b')],
      },
    });
    const result = snap2ami(['local', '--snapshots', files['family.json'] as string, '--json']);
    expect(result.status, result.stderr).toBe(0);
    const rows = JSON.parse(result.stdout) as {
      key: string;
      imageId: string;
      detail: string;
      /** The AMI IDs this registration's retention deregistered. */
      deregistered: string[];
      deregisteredByReconciler?: boolean;
    }[];
    expect(rows.map((row) => row.detail.match(/"(.*)"/)?.[1])).toEqual([
      'web-a-20261201T020000Z',
      'web-b-20261201T020000Z',
    ]);
    // Whichever run removed the other's AMI (the other registration, or the reconciler's pass
    // afterwards, when both ran at once), exactly one stays: the greater key's.
    const gone = new Set([
      ...rows.flatMap((row) => row.deregistered),
      ...rows.filter((row) => row.deregisteredByReconciler).map((row) => row.imageId),
    ]);
    const stays = rows.filter((row) => !gone.has(row.imageId));
    expect(stays, result.stdout).toHaveLength(1);
    expect(stays[0]?.key).toBe([...rows.map((row) => row.key)].sort().at(-1));
  });

  it("prints the table, with the lifecycle sample's copies and parameter; exits 1 and marks the row when an outcome differs from what its sample expects", () => {
    // The first sample (MyImage) registers; say it should be rejected instead.
    const samples = JSON.parse(readFileSync(DEFAULT_SAMPLES, 'utf8')) as {
      Snapshots: { Tags: { Key: string; Value: string }[] }[];
    };
    const expectTag = samples.Snapshots[0]?.Tags.find((tag) => tag.Key === 'example:expect');
    if (!expectTag) throw new Error('the first sample has no example:expect tag');
    expectTag.Value = 'rejected';
    // That sample and the lifecycle one (copies, a parameter) are all the table needs here: the
    // whole set's outcomes are the first test's.
    const lifecycle = samples.Snapshots.find((sample) =>
      sample.Tags.some((tag) => tag.Key === 'snap2ami:ssm-parameter'),
    );
    if (!lifecycle) throw new Error('no sample has a snap2ami:ssm-parameter tag');
    samples.Snapshots = [samples.Snapshots[0] as (typeof samples.Snapshots)[number], lifecycle];
    const files = jsonFiles({ 'snapshots.json': samples });
    const result = snap2ami(['local', '--snapshots', files['snapshots.json'] as string]);
    expect(result.status).toBe(1);
    expect(result.stdout).toMatch(/planned\s+ami-[0-9a-f]+ "MyImage"\s+✗ expected rejected/);
    expect(result.stderr).toContain('some outcomes differ from what the samples expect');
    expect(result.stdout).toMatch(/copies\s+us-west-2 ami-[0-9a-f]+, eu-central-1 ami-[0-9a-f]+/);
    expect(result.stdout).toMatch(/parameter\s+\/snap2ami\/web\/latest \(us-east-1\) → ami-[0-9a-f]+/);
  });

  it('--keep shows the outcomes, then keeps the queue read for the other commands until SIGTERM stops everything', async () => {
    const run = await keptRun();
    let env: Record<string, string> = {};
    try {
      const { stdout, stderr } = run.output();
      expect(stderr).toContain('the ingest handler keeps polling the queue');
      // The outcomes come first, while it keeps running, not after it is stopped.
      const rows = JSON.parse(stdout) as { snapshotId: string; outcome: string }[];
      expect(rows.map((row) => row.outcome)).toContain('rejected');
      env = keptEnvironment(stderr);

      // The rejected sample is in the dead-letter queue for replay at once, not after a visibility timeout.
      const replay = await snap2amiInProcess(['replay', '--dry-run'], env);
      expect(replay.status, replay.stderr).toBe(0);
      expect(replay.stdout).toContain(rows[4]?.snapshotId);
      expect(replay.stdout).toContain('1 would move');

      // A sample that was not opted in, tagged now and sent by `snap2ami register`: the kept
      // poller hands the request to ingest, and the workflow registers it.
      const scratch = rows[6]?.snapshotId as string;
      expect(rows[6]?.outcome).toBe('skipped');
      const ec2 = new EC2Client({
        endpoint: env.AWS_ENDPOINT_URL,
        region: env.AWS_REGION,
        credentials: { accessKeyId: 'testing', secretAccessKey: 'testing' },
      });
      await ec2.send(
        new CreateTagsCommand({ Resources: [scratch], Tags: [{ Key: 'snap2ami:register', Value: 'true' }] }),
      );
      const registered = await snap2amiInProcess(['register', scratch], env);
      expect(registered.status, registered.stderr).toBe(0);
      await vi.waitFor(
        async () => {
          const status = await snap2amiInProcess(['status', scratch], env);
          expect(status.stdout).toMatch(/status\s+COMPLETED/);
          expect(status.stdout).toMatch(/image\s+ami-[0-9a-f]+ \(available\)/);
        },
        { timeout: 30_000, interval: 500 },
      );
    } finally {
      run.child.kill('SIGTERM');
    }
    const ended = await run.exited;
    // SIGTERM stops it as Ctrl-C does: it stops the emulator and exits, not killed by the signal.
    expect(ended.signal, ended.stderr).toBeNull();
    expect(ended.status, ended.stderr).toBe(0);
    expect(ended.stderr).toContain('SIGTERM: stopping the queue poller, the local workflow and the emulator');
    expect(await answers(env.AWS_ENDPOINT_URL as string)).toBe(false);
  });

  it('has --help', async () => {
    const result = await snap2amiInProcess(['local', '--help']);
    expect(result.status).toBe(0);
    for (const option of ['--snapshots', '--keep', '--json']) expect(result.stdout).toContain(option);
  });
});
