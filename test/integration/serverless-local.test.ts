/**
 * The ingest handler under osls, against the emulator (pipeline resources from the packaged
 * template) and the local workflow: `serverless invoke local` with a sample SQS event, and
 * `serverless offline start` with serverless-offline-sqs polling the emulator's queue.
 */

import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { EC2Client } from '@aws-sdk/client-ec2';
import {
  GetQueueAttributesCommand,
  SendMessageCommand,
  SetQueueAttributesCommand,
  SQSClient,
} from '@aws-sdk/client-sqs';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import {
  createResources,
  createSnapshotEvent,
  createTaggedSnapshot,
  EMULATOR_ACCOUNT,
  EMULATOR_REGION,
  freePort,
  type LocalStepFunctions,
  PROJECT_ROOT,
  packagedTemplate,
  startFaultProxy,
  startLocalStepFunctions,
  stateMachineName,
  templateWorkflow,
  withPackageLock,
} from '../../local/index.ts';
import { buildFunctions } from '../../scripts/build.ts';
import { jsonFiles } from '../support/cli.ts';
import { executionsFor } from '../support/pipeline.ts';
import { queueDepth } from '../support/sqs.ts';

const ec2 = new EC2Client({});
const sqs = new SQSClient({});
let sfn: LocalStepFunctions;
let queueUrl: string;

beforeAll(async () => {
  const template = await packagedTemplate(() => {});
  // serverless-offline and invoke local run the functions from dist/: built here, under the
  // packaging lock, if not current. Later builds in this run find dist/ current and write
  // nothing (scripts/build.ts), so the lock is not held while offline runs: holding it kept
  // every other file that reads the packaged template waiting.
  await withPackageLock(() => buildFunctions());
  const resources = await createResources(template);
  queueUrl = resources.refs.SnapshotEventsQueue as string;
  const workflow = templateWorkflow(template, resources.refs);
  sfn = await startLocalStepFunctions(
    `arn:aws:states:${EMULATOR_REGION}:${EMULATOR_ACCOUNT}:stateMachine:${stateMachineName(template)}`,
    workflow,
  );
}, 180_000);
afterAll(async () => {
  await sfn?.close();
});

/** Runs `serverless <args>` (osls) in the project; `stop()` ends it and its children. */
function serverless(args: string[], env: Record<string, string>) {
  const child = spawn(join(PROJECT_ROOT, 'node_modules', '.bin', 'serverless'), args, {
    cwd: PROJECT_ROOT,
    env: { ...process.env, AWS_SDK_JS_SUPPRESS_MAINTENANCE_MODE_MESSAGE: '1', ...env },
    detached: true,
  });
  let output = '';
  child.stdout.on('data', (chunk) => {
    output += chunk;
  });
  child.stderr.on('data', (chunk) => {
    output += chunk;
  });
  const exited = new Promise<number | null>((resolve) => child.on('close', resolve));
  return {
    output: () => output,
    done: exited.then((status) => ({ status, output })),
    async stop() {
      if (child.exitCode === null && child.pid) process.kill(-child.pid, 'SIGTERM');
      await exited;
    },
  };
}

async function startOffline(env: Record<string, string>) {
  const ports = ['--httpPort', '--lambdaPort', '--websocketPort'];
  const args = ['offline', 'start'];
  for (const flag of ports) args.push(flag, String(await freePort()));
  const offline = serverless(args, env);
  await vi.waitFor(() => expect(offline.output()).toContain('Offline [http for lambda] listening'), {
    timeout: 60_000,
    interval: 250,
  });
  return offline;
}

/**
 * Sends a createSnapshot event for a new tagged snapshot to the pipeline queue, and waits
 * until its one execution has succeeded and the queue is empty (the message deleted).
 */
async function registerThroughQueue(offline: { output(): string }, name: string): Promise<void> {
  const snapshotId = await createTaggedSnapshot(ec2, {
    'snap2ami:register': 'true',
    'snap2ami:name': `${name}-${Date.now()}`,
  });
  await sqs.send(
    new SendMessageCommand({
      QueueUrl: queueUrl,
      MessageBody: JSON.stringify(createSnapshotEvent(snapshotId)),
    }),
  );
  await vi.waitFor(
    async () => {
      expect(
        executionsFor(sfn, snapshotId).map((e) => e.status),
        offline.output(),
      ).toEqual(['SUCCEEDED']);
      expect(await queueDepth(sqs, queueUrl), offline.output()).toEqual({ visible: 0, inFlight: 0 });
    },
    { timeout: 90_000, interval: 500 },
  );
}

describe('serverless invoke local', () => {
  it('runs the ingest handler on a sample SQS event, which starts one workflow that registers the AMI', async () => {
    const snapshotId = await createTaggedSnapshot(ec2, {
      'snap2ami:register': 'true',
      'snap2ami:name': `invoke-local-${Date.now()}`,
    });
    const sample = readFileSync(
      join(PROJECT_ROOT, 'examples/events/sqs-createSnapshot.json'),
      'utf8',
    ).replaceAll('snap-1234567890abcdef0', snapshotId);
    const files = jsonFiles({ 'event.json': sample });
    const result = await serverless(
      ['invoke', 'local', '-f', 'ingest', '--path', files['event.json'] as string],
      { AWS_ENDPOINT_URL_SFN: sfn.endpoint },
    ).done;
    expect(result.status, result.output).toBe(0);
    expect(result.output).toContain('"batchItemFailures": []');
    await sfn.idle();
    expect(executionsFor(sfn, snapshotId).map((e) => e.status)).toEqual(['SUCCEEDED']);
  });
});

describe('serverless offline start', () => {
  // A short visibility timeout (the template's is 360 s): a message a handler reports as failed
  // returns after it. Not less than 10 s: the plugin fills a batch with 5 s long polls,
  // and a shorter timeout would put the same message in one batch twice.
  let visibilityTimeout: string | undefined;
  // One offline for both tests, its Step Functions calls through a proxy that fails only when
  // told to, without the SDK's retries (the first test injects nothing).
  let proxy: Awaited<ReturnType<typeof startFaultProxy>>;
  let offline: Awaited<ReturnType<typeof startOffline>>;
  beforeAll(async () => {
    const { Attributes } = await sqs.send(
      new GetQueueAttributesCommand({ QueueUrl: queueUrl, AttributeNames: ['VisibilityTimeout'] }),
    );
    visibilityTimeout = Attributes?.VisibilityTimeout;
    await sqs.send(
      new SetQueueAttributesCommand({ QueueUrl: queueUrl, Attributes: { VisibilityTimeout: '10' } }),
    );
    proxy = await startFaultProxy(sfn.endpoint);
    offline = await startOffline({ AWS_ENDPOINT_URL_SFN: proxy.endpoint, AWS_MAX_ATTEMPTS: '1' });
  }, 120_000);
  afterAll(async () => {
    await offline?.stop();
    await proxy?.close();
    await sqs.send(
      new SetQueueAttributesCommand({
        QueueUrl: queueUrl,
        Attributes: { VisibilityTimeout: String(visibilityTimeout) },
      }),
    );
  });

  it('polls the emulator queue and runs ingest: the event registers one AMI and leaves the queue', async () => {
    await registerThroughQueue(offline, 'offline');
    expect(offline.output()).toContain('execution started');
  });

  it('keeps a message the handler reports as a batch item failure, so it comes back and registers once', async () => {
    // StartExecution fails once with a 500, without the SDK's retries: ingest reports the
    // message as a batch item failure. Lambda (and the patched serverless-offline-sqs) leave
    // it on the queue; it returns after the visibility timeout and registers.
    const before = proxy.calls.get('AWSStepFunctions.StartExecution') ?? 0;
    proxy.inject({
      action: 'AWSStepFunctions.StartExecution',
      times: 1,
      status: 500,
      body: JSON.stringify({ __type: 'ServiceUnavailable', message: 'injected' }),
    });
    await registerThroughQueue(offline, 'offline-retry');
    expect(proxy.calls.get('AWSStepFunctions.StartExecution')).toBe(before + 2);
    expect(offline.output()).toContain('StartExecution failed; the message will come back');
  });
});
