/** `snap2ami status` and `snap2ami redrive`, run as a user runs them, against the emulator and the local workflow. */
import { DescribeImagesCommand, EC2Client } from '@aws-sdk/client-ec2';
import { SFNClient, StartExecutionCommand } from '@aws-sdk/client-sfn';
import { afterAll, beforeAll, describe, expect, inject, it, vi } from 'vitest';
import {
  createPipeline,
  describeImagesBody,
  EMULATOR_ACCOUNT,
  EMULATOR_REGION,
  type FaultProxy,
  type LocalStepFunctions,
  type Pipeline,
  startFaultProxy,
  startLocalStepFunctions,
  unauthorized,
} from '../../local/index.ts';
import type { Plan } from '../../shared/contract/types.ts';
import { executionInput } from '../../shared/workflow.ts';
import { snap2amiAsync } from '../support/cli.ts';
import { planFor } from '../support/pipeline.ts';

const ec2 = new EC2Client({});
let proxy: FaultProxy;
let pipeline: Pipeline;
let sfn: LocalStepFunctions;
let env: Record<string, string>;

beforeAll(async () => {
  proxy = await startFaultProxy(inject('awsEndpoint'));
  pipeline = await createPipeline({ ec2: new EC2Client({ maxAttempts: 1, endpoint: proxy.endpoint }) });
  sfn = await startLocalStepFunctions(
    `arn:aws:states:${EMULATOR_REGION}:${EMULATOR_ACCOUNT}:stateMachine:snap2ami-ops-${Date.now()}`,
    pipeline.workflow,
  );
  env = {
    AWS_ENDPOINT_URL_SFN: sfn.endpoint,
    SNAP2AMI_TABLE: pipeline.table,
    SNAP2AMI_STATE_MACHINE_ARN: sfn.stateMachineArn,
  };
});
afterAll(async () => {
  await sfn.close();
  await proxy.close();
});

/** Starts the registration's execution, named by its key, as ingest does. */
async function start(plan: Plan): Promise<void> {
  await new SFNClient({ endpoint: sfn.endpoint }).send(
    new StartExecutionCommand({
      stateMachineArn: sfn.stateMachineArn,
      name: plan.key,
      input: JSON.stringify(executionInput(plan, {}, new Date())),
    }),
  );
}

describe('operators: status and redrive', () => {
  it('shows a FAILED registration, redrives it once its cause is fixed, and registers exactly one AMI', async () => {
    const name = `ops-redrive-${Date.now()}`;
    const plan = await planFor(ec2, { 'snap2ami:name': name });
    const snapshotId = plan.snapshotIds[0] as string;
    proxy.inject(unauthorized('RegisterImage', { dryRun: true }));
    await start(plan);
    await sfn.idle();

    const failed = await snap2amiAsync(['status', snapshotId], env);
    expect(failed.status, failed.stderr).toBe(0);
    expect(failed.stdout).toMatch(/status\s+FAILED/);
    expect(failed.stdout).toContain('UnauthorizedOperation');

    const dryRun = await snap2amiAsync(['redrive', '--key', plan.key, '--dry-run'], env);
    expect(dryRun.stdout).toContain(`would start    ${plan.key}`);
    expect(sfn.executions.size).toBe(1);

    // The cause is fixed (the permission granted): the fault is gone.
    const redriven = await snap2amiAsync(['redrive', '--snapshot-id', snapshotId, '--json'], env);
    expect(redriven.status, redriven.stderr).toBe(0);
    expect(JSON.parse(redriven.stdout)).toEqual([
      expect.objectContaining({ key: plan.key, action: 'started' }),
    ]);
    await sfn.idle();

    const done = await snap2amiAsync(['status', plan.key, '--json'], env);
    const [entry] = JSON.parse(done.stdout);
    expect(entry.record).toMatchObject({ status: 'COMPLETED', attempts: 2 });
    expect(entry.execution).toMatchObject({ status: 'SUCCEEDED' });
    expect(entry.image).toMatchObject({ state: 'available', name });
    const images =
      (await ec2.send(new DescribeImagesCommand({ Filters: [{ Name: 'name', Values: [name] }] }))).Images ??
      [];
    expect(images).toHaveLength(1);

    const again = await snap2amiAsync(['redrive', '--key', plan.key], env);
    expect(again.stdout).toContain('0 started, 0 FAILED records matched.');
  });

  it("shows a registration's copies, grants, parameters, deprecation and protection (ADR 0008)", async () => {
    const name = `ops-lifecycle-${Date.now()}`;
    const plan = await planFor(ec2, {
      'snap2ami:name': name,
      'snap2ami:copy-to': 'us-west-2',
      'snap2ami:share-with': '210987654321',
      'snap2ami:ssm-parameter': `/ops/${name}`,
      'snap2ami:deprecate-after': '1w',
      'snap2ami:deregistration-protection': 'true',
      'snap2ami:family': name,
    });
    await start(plan);
    await sfn.idle();
    const done = await snap2amiAsync(['status', plan.snapshotIds[0] as string], env);
    expect(done.status, done.stderr).toBe(0);
    expect(done.stdout).toMatch(/copies\s+us-west-2 ami-[0-9a-f]+\n/);
    expect(done.stdout).toMatch(/shared\s+210987654321\n/);
    expect(done.stdout).toMatch(new RegExp(`parameter\\s+/ops/${name} \\(us-east-1\\) → ami-`));
    expect(done.stdout).toMatch(/protection\s+on\n/);
    const [entry] = JSON.parse((await snap2amiAsync(['status', plan.key, '--json'], env)).stdout);
    expect(entry.record.distribution).toMatchObject({
      copies: [{ region: 'us-west-2', imageId: expect.stringMatching(/^ami-/) }],
      launchPermissions: ['210987654321'],
      ssmParameters: [
        { region: 'us-east-1', name: `/ops/${name}`, value: entry.record.imageId },
        { region: 'us-west-2', name: `/ops/${name}`, value: entry.record.distribution.copies[0].imageId },
      ],
      deprecationTime: expect.stringMatching(/:00\.000Z$/),
      deregistrationProtection: 'on',
      deregistered: [],
    });
  });

  it('shows a registration IN_PROGRESS while its image is pending, then COMPLETED with its image', async () => {
    const name = `ops-status-${Date.now()}`;
    const plan = await planFor(ec2, { 'snap2ami:name': name });
    const snapshotId = plan.snapshotIds[0] as string;
    // The workflow's first look at the image takes 6 s and finds it pending: meanwhile the
    // registration is in progress. The retry (at once: the local workflow skips retry waits)
    // finds it available.
    const before = proxy.calls.get('EC2.DescribeImages') ?? 0;
    proxy.inject({
      action: 'DescribeImages',
      times: 1,
      delayMs: 6_000,
      status: 200,
      body: describeImagesBody('ami-0123456789abcdef0', 'pending'),
    });
    await start(plan);
    await vi.waitFor(() => expect(proxy.calls.get('EC2.DescribeImages') ?? 0).toBeGreaterThan(before), {
      timeout: 30_000,
    });

    const running = await snap2amiAsync(['status', snapshotId], env);
    expect(running.status, running.stderr).toBe(0);
    expect(running.stdout).toMatch(/status\s+IN_PROGRESS/);
    expect(running.stdout).toMatch(/execution\s+\S+ \(RUNNING\)/);
    expect(running.stdout).toContain(`name       ${name}`);

    await sfn.idle();
    const done = await snap2amiAsync(['status', snapshotId], env);
    expect(done.status, done.stderr).toBe(0);
    expect(done.stdout).toMatch(/status\s+COMPLETED\n/);
    expect(done.stdout).toMatch(/image\s+ami-[0-9a-f]+ \(available\)/);
    expect(done.stdout).toMatch(/execution\s+\S+ \(SUCCEEDED\)/);
  });

  it('says clearly when there is no record, and when no filter is given', async () => {
    const none = await snap2amiAsync(['status', 'snap-0000000000000cafe'], env);
    expect(none.status).toBe(1);
    expect(none.stderr).toContain('no record for snap-0000000000000cafe');
    const unfiltered = await snap2amiAsync(['redrive'], env);
    expect(unfiltered.status).toBe(1);
    expect(unfiltered.stderr).toContain('say which records to redrive');
  });

  it('names the Region too when the table is not found there, instead of blaming --table alone', async () => {
    const elsewhere = await snap2amiAsync(['status', 'snap-0000000000000cafe', '--region', 'us-west-2'], env);
    expect(elsewhere.status).toBe(1);
    expect(elsewhere.stderr).toContain('not found in us-west-2 (check --table and --region)');
  });
});
