/**
 * The ingest handler under osls: `serverless invoke local` with a sample SQS event, against
 * the emulator (pipeline resources from the packaged template) and the local workflow.
 */

import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { EC2Client, EC2Client as ImageEc2 } from '@aws-sdk/client-ec2';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EMULATOR_ACCOUNT, EMULATOR_REGION, PROJECT_ROOT } from '../../cli/emulator.ts';
import { type LocalStepFunctions, startLocalStepFunctions } from '../../cli/local-sfn.ts';
import { createResources, packagedTemplate, stateMachineName, withPackageLock } from '../../cli/template.ts';
import { LocalWorkflow } from '../../cli/workflow.ts';
import { runImageTask } from '../../functions/image/image.ts';
import { buildFunctions } from '../../scripts/build.ts';
import { jsonFiles } from '../support/cli.ts';
import { createTaggedSnapshot } from '../support/ec2.ts';

const ec2 = new EC2Client({});
let sfn: LocalStepFunctions;

beforeAll(async () => {
  const template = await packagedTemplate(() => {});
  await withPackageLock(() => buildFunctions());
  const resources = await createResources(template);
  const workflow = new LocalWorkflow({
    refs: resources.refs,
    functions: {
      image: (input) =>
        runImageTask(input as never, { ec2: new ImageEc2({ maxAttempts: 1 }), prefix: 'snap2ami:' }),
    },
  });
  sfn = await startLocalStepFunctions(
    `arn:aws:states:${EMULATOR_REGION}:${EMULATOR_ACCOUNT}:stateMachine:${stateMachineName(template)}`,
    workflow,
  );
}, 180_000);
afterAll(() => sfn.close());

function serverless(
  args: string[],
  env: Record<string, string>,
): Promise<{ status: number | null; output: string }> {
  return new Promise((resolve) => {
    const child = spawn(join(PROJECT_ROOT, 'node_modules', '.bin', 'serverless'), args, {
      cwd: PROJECT_ROOT,
      env: { ...process.env, AWS_SDK_JS_SUPPRESS_MAINTENANCE_MODE_MESSAGE: '1', ...env },
    });
    let output = '';
    child.stdout.on('data', (chunk) => {
      output += chunk;
    });
    child.stderr.on('data', (chunk) => {
      output += chunk;
    });
    child.on('close', (status) => resolve({ status, output }));
  });
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
    );
    expect(result.status, result.output).toBe(0);
    expect(result.output).toContain('"batchItemFailures": []');
    await sfn.idle();
    const executions = [...sfn.executions.values()].filter((e) => e.input.includes(snapshotId));
    expect(executions.map((e) => e.status)).toEqual(['SUCCEEDED']);
  });
});
