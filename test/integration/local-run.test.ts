/** The README's main-job command: `snap2ami local` on a fresh emulator of its own. */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { DEFAULT_SAMPLES } from '../../local/index.ts';
import { jsonFiles, snap2ami } from '../support/cli.ts';

describe('snap2ami local', () => {
  it('runs the sample set through the whole pipeline on the emulator, and every outcome is the expected one', () => {
    const result = snap2ami(['local', '--json']);
    expect(result.status, result.stderr).toBe(0);
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
    ]);
    expect(rows.every((row) => row.outcome === row.expected)).toBe(true);
    expect(rows[0]?.detail).toMatch(/^ami-[0-9a-f]+ "MyImage"$/);
    expect(result.stderr).toContain(
      "created the pipeline's queues, table and topic from the packaged template",
    );
    expect(result.stderr).toContain('sent 8 events');
    expect(result.stderr).toContain('workflows done: 4 succeeded, 1 failed\n');
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
    });
    const copies = web?.copies as { region: string; imageId: string }[];
    expect(web?.ssmParameters).toEqual([
      { region: 'us-east-1', name: '/snap2ami/web/latest', value: web?.imageId },
      ...copies.map(({ region, imageId: value }) => ({ region, name: '/snap2ami/web/latest', value })),
    ]);
    // A sample without lifecycle tags has its image and nothing else.
    expect(rows[0]).toMatchObject({ imageId });
    expect(rows[0]).not.toHaveProperty('copies');
  });

  it("shows the lifecycle sample's copies and parameter in the table", () => {
    const result = snap2ami(['local']);
    expect(result.status, result.stderr).toBe(0);
    expect(result.stdout).toMatch(/copies\s+us-west-2 ami-[0-9a-f]+, eu-central-1 ami-[0-9a-f]+/);
    expect(result.stdout).toMatch(/parameter\s+\/snap2ami\/web\/latest \(us-east-1\) → ami-[0-9a-f]+/);
  });

  it('exits 1 and marks the row when an outcome differs from what its sample expects', () => {
    // The first sample (MyImage) registers; say it should be rejected instead.
    const samples = JSON.parse(readFileSync(DEFAULT_SAMPLES, 'utf8')) as {
      Snapshots: { Tags: { Key: string; Value: string }[] }[];
    };
    const expectTag = samples.Snapshots[0]?.Tags.find((tag) => tag.Key === 'example:expect');
    if (!expectTag) throw new Error('the first sample has no example:expect tag');
    expectTag.Value = 'rejected';
    const files = jsonFiles({ 'snapshots.json': samples });
    const result = snap2ami(['local', '--snapshots', files['snapshots.json'] as string]);
    expect(result.status).toBe(1);
    expect(result.stdout).toMatch(/planned\s+ami-[0-9a-f]+ "MyImage"\s+✗ expected rejected/);
    expect(result.stderr).toContain('some outcomes differ from what the samples expect');
  });

  it('has --help', () => {
    const result = snap2ami(['local', '--help']);
    expect(result.status).toBe(0);
    for (const option of ['--snapshots', '--keep', '--json']) expect(result.stdout).toContain(option);
  });
});
