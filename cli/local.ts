/**
 * `snap2ami local`: the main job on the local emulator. Starts moto, creates the sample
 * snapshots (examples/snapshots.json) through the EC2 API, looks them up as the pipeline
 * does, plans them by the tag contract, and registers each plan (a dry run first), then
 * prints snapshot → outcome → AMI or reason. Exits 1 when an outcome differs from the one
 * the sample expects (its `example:expect` tag).
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import {
  CreateSnapshotCommand,
  CreateVolumeCommand,
  type EC2Client,
  RegisterImageCommand,
} from '@aws-sdk/client-ec2';
import { ec2Client } from '../shared/aws/clients.ts';
import { describeSnapshots, registerImageInput } from '../shared/aws/snapshots.ts';
import { planGroups } from '../shared/contract/plan.ts';
import type { PlannerSettings } from '../shared/contract/types.ts';
import { parseDescribeSnapshots, type Snapshot } from '../shared/snapshot.ts';
import {
  awsEnvironment,
  EMULATOR_ACCOUNT,
  EMULATOR_REGION,
  PROJECT_ROOT,
  startEmulator,
} from './emulator.ts';
import { CliError } from './errors.ts';

export interface LocalOptions {
  snapshots: string;
  keep?: boolean;
  json?: boolean;
}

interface Row {
  sample: string;
  snapshotId: string;
  expected: string;
  outcome: string;
  detail: string;
}

export async function runLocal(
  options: LocalOptions,
  progress: (line: string) => void,
): Promise<{ rows: Row[]; ok: boolean }> {
  const samples = parseDescribeSnapshots(JSON.parse(await readFile(options.snapshots, 'utf8')));
  progress('starting the local AWS emulator (moto) …');
  const emulator = await startEmulator();
  Object.assign(process.env, awsEnvironment(emulator.endpoint));
  try {
    const ec2 = ec2Client();
    progress(`creating ${samples.length} sample snapshots …`);
    const ids = await createSamples(ec2, samples);
    const known = await describeSnapshots(ec2, ids.values());
    progress(`looked up ${known.size} snapshots with one DescribeSnapshots call; planning …`);
    const settings: PlannerSettings = {
      account: EMULATOR_ACCOUNT,
      region: EMULATOR_REGION,
      prefix: 'snap2ami:',
      allowedSourceAccounts: [],
    };
    const rows: Row[] = [];
    for (const sample of samples) {
      const snapshotId = ids.get(sample.snapshotId) as string;
      const report = planGroups([{ snapshotIds: [snapshotId], multiVolume: false }], known, settings);
      const row: Row = {
        sample: sample.snapshotId,
        snapshotId,
        expected: sample.tags.get('example:expect') ?? '?',
        outcome: '',
        detail: '',
      };
      const plan = report.plans[0];
      if (plan) {
        await ec2
          .send(new RegisterImageCommand(registerImageInput(plan.request, true)))
          .catch((error: Error) => {
            if (error.name !== 'DryRunOperation') throw error;
          });
        const image = await ec2.send(new RegisterImageCommand(registerImageInput(plan.request)));
        Object.assign(row, { outcome: 'planned', detail: `${image.ImageId} "${plan.request.Name}"` });
      } else if (report.skipped[0])
        Object.assign(row, { outcome: 'skipped', detail: report.skipped[0].reason });
      else
        Object.assign(row, {
          outcome: 'rejected',
          detail: report.rejected[0]?.errors.map((e) => e.message).join(' | ') ?? '',
        });
      progress(`  ${rows.length + 1}/${samples.length} ${snapshotId}: ${row.outcome}`);
      rows.push(row);
    }
    if (options.keep) {
      progress(
        `the emulator keeps running at ${emulator.endpoint} (AWS_ENDPOINT_URL=${emulator.endpoint}); press Ctrl-C to stop it`,
      );
      await new Promise<void>((resolve) => process.once('SIGINT', () => resolve()));
    }
    return { rows, ok: rows.every((row) => row.outcome === row.expected) };
  } finally {
    await emulator.stop();
  }
}

/** Creates the samples on the emulator, referenced ones first, rewriting references to the new IDs. */
async function createSamples(ec2: EC2Client, samples: Snapshot[]): Promise<Map<string, string>> {
  const ids = new Map<string, string>();
  const references = (s: Snapshot) =>
    [...s.tags.values()].some((v) => samples.some((o) => o !== s && v.startsWith(o.snapshotId)));
  const ordered = [...samples.filter((s) => !references(s)), ...samples.filter(references)];
  for (const sample of ordered) {
    const volume = await ec2.send(
      new CreateVolumeCommand({ AvailabilityZone: `${EMULATOR_REGION}a`, Size: sample.volumeSize ?? 8 }),
    );
    const tags = [...sample.tags].map(([Key, value]) => {
      let Value = value;
      for (const [from, to] of ids) Value = Value.replaceAll(from, to);
      return { Key, Value };
    });
    const created = await ec2.send(
      new CreateSnapshotCommand({
        VolumeId: volume.VolumeId,
        TagSpecifications: [{ ResourceType: 'snapshot', Tags: tags }],
      }),
    );
    if (!created.SnapshotId) throw new CliError('the emulator returned no snapshot ID');
    ids.set(sample.snapshotId, created.SnapshotId);
  }
  return ids;
}

export function formatRows(rows: Row[]): string {
  const width = (pick: (row: Row) => string, title: string) =>
    Math.max(title.length, ...rows.map((row) => pick(row).length));
  const w1 = width((r) => r.snapshotId, 'snapshot');
  const w2 = width((r) => r.outcome, 'outcome');
  const lines = [`${'snapshot'.padEnd(w1)}  ${'outcome'.padEnd(w2)}  AMI or reason`];
  for (const row of rows) {
    const mark = row.outcome === row.expected ? '' : `   ✗ expected ${row.expected}`;
    lines.push(`${row.snapshotId.padEnd(w1)}  ${row.outcome.padEnd(w2)}  ${row.detail}${mark}`);
  }
  return `${lines.join('\n')}\n`;
}

export const DEFAULT_SAMPLES = join(PROJECT_ROOT, 'examples', 'snapshots.json');
