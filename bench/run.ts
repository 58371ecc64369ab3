/**
 * `npm run bench`: prints, as tables,
 *   1. each function's bundle size and the median time to load it in a fresh Node process
 *      (a cold-start proxy);
 *   2. a burst of 200 snapshot events through the pipeline on the emulator: wall time,
 *      registrations per second, AWS API calls per registered AMI by API, state
 *      transitions per AMI, and duplicates (must be 0).
 * Not part of the tests: numbers, not assertions.
 */
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { DescribeImagesCommand, EC2Client } from '@aws-sdk/client-ec2';
import { SFNClient } from '@aws-sdk/client-sfn';
import { CreateQueueCommand, SendMessageBatchCommand, SQSClient } from '@aws-sdk/client-sqs';
import {
  awsEnvironment,
  createPipeline,
  createSnapshotEvent,
  createTaggedSnapshot,
  EMULATOR_ACCOUNT,
  EMULATOR_REGION,
  ingestDeps,
  PROJECT_ROOT,
  pollOnce,
  startEmulator,
  startFaultProxy,
  startLocalStepFunctions,
} from '../local/index.ts';
import { buildFunctions } from '../scripts/build.ts';

const EVENTS = Number(process.env.BENCH_EVENTS ?? 200);
const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)] ?? 0;
const table = (rows: (string | number)[][]) => {
  const widths = rows[0]?.map((_, i) => Math.max(...rows.map((row) => String(row[i]).length))) ?? [];
  return rows.map((row) => row.map((cell, i) => String(cell).padEnd(widths[i] ?? 0)).join('  ')).join('\n');
};

// 1. Bundles: size and load time in a fresh process.
const sizes = await buildFunctions();
const bundleRows: (string | number)[][] = [['function', 'bundle KiB', 'median load ms (7 fresh processes)']];
for (const [name, size] of Object.entries(sizes)) {
  const file = join(PROJECT_ROOT, 'dist', name, 'index.js');
  const times: number[] = [];
  for (let i = 0; i < 7; i++) {
    const script = `const t = performance.now(); await import(${JSON.stringify(file)}); console.log(performance.now() - t);`;
    const run = spawnSync(process.execPath, ['--input-type=module', '-e', script], {
      encoding: 'utf8',
      env: { ...process.env, AWS_REGION: 'us-east-1' },
    });
    times.push(Number(run.stdout.trim()));
  }
  bundleRows.push([name, (size / 1024).toFixed(0), median(times).toFixed(1)]);
}
console.log(`\nBundles (esbuild, minified ESM, Node ${process.versions.node})\n${table(bundleRows)}`);

// 2. The burst.
const emulator = await startEmulator();
const proxy = await startFaultProxy(emulator.endpoint);
Object.assign(process.env, awsEnvironment(proxy.endpoint));
try {
  const pipeline = await createPipeline({ ec2: new EC2Client({ maxAttempts: 1 }) });
  const sfn = await startLocalStepFunctions(
    `arn:aws:states:${EMULATOR_REGION}:${EMULATOR_ACCOUNT}:stateMachine:snap2ami-bench`,
    pipeline.workflow,
  );
  const ec2 = new EC2Client({});
  const sqs = new SQSClient({ useQueueUrlAsEndpoint: false });
  const queueUrl = (await sqs.send(new CreateQueueCommand({ QueueName: `snap2ami-bench-${Date.now()}` })))
    .QueueUrl as string;
  const dlqUrl = (await sqs.send(new CreateQueueCommand({ QueueName: `snap2ami-bench-dlq-${Date.now()}` })))
    .QueueUrl as string;
  const prefix = `bench-${Date.now()}`;
  process.stderr.write(`creating ${EVENTS} tagged snapshots …\n`);
  const snapshots: string[] = [];
  for (let i = 0; i < EVENTS; i++)
    snapshots.push(
      await createTaggedSnapshot(ec2, { 'snap2ami:register': 'true', 'snap2ami:name': `${prefix}-${i}` }),
    );
  for (let i = 0; i < snapshots.length; i += 10) {
    const entries = snapshots.slice(i, i + 10).map((id, j) => ({
      Id: String(j),
      MessageBody: JSON.stringify(createSnapshotEvent(id)),
    }));
    await sqs.send(new SendMessageBatchCommand({ QueueUrl: queueUrl, Entries: entries }));
  }
  proxy.calls.clear();
  const started = performance.now();
  let batches = 0;
  const deps = ingestDeps(
    { ec2, sfn: new SFNClient({ endpoint: sfn.endpoint }), sqs },
    sfn.stateMachineArn,
    dlqUrl,
  );
  for (;;) {
    const { received } = await pollOnce(sqs, queueUrl, deps);
    if (received === 0) break;
    batches += 1;
    process.stderr.write(`\r  batch ${batches}: ${sfn.executions.size} executions started`);
  }
  await sfn.idle();
  const seconds = (performance.now() - started) / 1000;
  const calls = [...proxy.calls].sort();
  process.stderr.write('\n');
  const executions = [...sfn.executions.values()];
  const succeeded = executions.filter((e) => e.status === 'SUCCEEDED').length;
  const transitions = executions.reduce(
    (n, e) =>
      n +
      (e.result?.events.filter((ev) => ev.type === 'StateEntered' || ev.type === 'StateRetried').length ?? 0),
    0,
  );
  let duplicates = 0;
  for (let i = 0; i < EVENTS; i += 50) {
    const names = Array.from({ length: Math.min(50, EVENTS - i) }, (_, j) => `${prefix}-${i + j}`);
    const images =
      (await ec2.send(new DescribeImagesCommand({ Filters: [{ Name: 'name', Values: names }] }))).Images ??
      [];
    duplicates += images.length - new Set(images.map((image) => image.Name)).size;
  }
  const apiRows: (string | number)[][] = [['AWS API', 'calls', 'per AMI']];
  for (const [api, n] of calls) {
    apiRows.push([api, n, (n / Math.max(1, succeeded)).toFixed(2)]);
  }
  console.log(
    `\nBurst of ${EVENTS} snapshot events through the pipeline (emulator, ${batches} SQS batches)\n${table([
      ['wall time s', 'AMIs registered', 'registrations/s', 'state transitions per AMI', 'duplicates'],
      [
        seconds.toFixed(1),
        succeeded,
        (succeeded / seconds).toFixed(1),
        (transitions / Math.max(1, succeeded)).toFixed(1),
        duplicates,
      ],
    ])}\n\nAWS API calls during the burst (SQS receive/delete stand in for Lambda's event source mapping)\n${table(apiRows)}`,
  );
  await sfn.close();
} finally {
  await proxy.close();
  await emulator.stop();
}
