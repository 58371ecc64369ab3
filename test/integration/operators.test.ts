/** `snap2ami status` and `snap2ami redrive`, run as a user runs them, against the emulator and the local workflow. */
import { DynamoDBClient, GetItemCommand } from '@aws-sdk/client-dynamodb';
import { DescribeImagesCommand, EC2Client } from '@aws-sdk/client-ec2';
import { SFNClient, StartExecutionCommand } from '@aws-sdk/client-sfn';
import { afterAll, beforeAll, describe, expect, inject, it, vi } from 'vitest';
import type { Plan } from '#shared/contract/types.ts';
import { executionInput } from '#shared/workflow.ts';
import {
  createPipeline,
  EMULATOR_ACCOUNT,
  EMULATOR_REGION,
  type FaultProxy,
  type LocalStepFunctions,
  type Pipeline,
  startFaultProxy,
  startLocalStepFunctions,
  unauthorized,
} from '../../local/index.ts';
import { createTable, tableProperties } from '../../local/stack-resources.ts';
import { snap2amiInProcess as snap2amiAsync } from '../support/cli-in-process.ts';
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
      disabled: [],
      kept: [],
    });
  });

  it('shows a registration IN_PROGRESS while its image is pending, then COMPLETED with its image', async () => {
    const name = `ops-status-${Date.now()}`;
    const plan = await planFor(ec2, { 'snap2ami:name': name });
    const snapshotId = plan.snapshotIds[0] as string;
    // The workflow's first look at the image (its wait's, after storing the task token) takes
    // 6 s: meanwhile the registration is in progress. Then it finds the image available.
    const before = proxy.calls.get('EC2.DescribeImages') ?? 0;
    proxy.inject({
      action: 'DescribeImages',
      times: 1,
      delayMs: 6_000,
      slowOnly: true,
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

  it("names the step a registration failed at with the error in words, and a completed one's warnings", async () => {
    // The billing check (docs/tag-contract.md, "The billing check"): an image without Windows billing is
    // deregistered and the registration FAILED at CheckBilling, unless the loss is allowed:
    // then it is kept, COMPLETED with a warning.
    const failedPlan = await planFor(ec2, {
      'snap2ami:name': `ops-billing-failed-${Date.now()}`,
      'snap2ami:platform': 'windows',
    });
    const keptPlan = await planFor(ec2, {
      'snap2ami:name': `ops-billing-kept-${Date.now()}`,
      'snap2ami:platform': 'windows',
      'snap2ami:allow-billing-code-loss': 'true',
    });
    await start(failedPlan);
    await start(keptPlan);
    await sfn.idle();

    const failed = await snap2amiAsync(['status', failedPlan.snapshotIds[0] as string], env);
    expect(failed.status, failed.stderr).toBe(0);
    expect(failed.stdout).toMatch(/status\s+FAILED/);
    expect(failed.stdout).toMatch(/\nstep\s+CheckBilling\n/);
    expect(failed.stdout).toMatch(
      /\nerror\s+BillingInformationMissing: Billing check: the image ami-[0-9a-f]+ has PlatformDetails "Linux\/UNIX", not Windows/,
    );
    expect(failed.stdout, 'the Lambda cause unwrapped').not.toContain('errorMessage');
    const [failedEntry] = JSON.parse((await snap2amiAsync(['status', failedPlan.key, '--json'], env)).stdout);
    expect(failedEntry.record).toMatchObject({
      failedStep: 'CheckBilling',
      error: 'BillingInformationMissing',
    });

    const kept = await snap2amiAsync(['status', keptPlan.snapshotIds[0] as string], env);
    expect(kept.status, kept.stderr).toBe(0);
    expect(kept.stdout).toMatch(/status\s+COMPLETED/);
    expect(kept.stdout).toMatch(
      /\nwarnings\s+Billing check: the image ami-[0-9a-f]+ has PlatformDetails "Linux\/UNIX", not Windows/,
    );
    expect(kept.stdout).not.toMatch(/\nstep\s/);
    const [keptEntry] = JSON.parse((await snap2amiAsync(['status', keptPlan.key, '--json'], env)).stdout);
    expect(keptEntry.record).toMatchObject({
      status: 'COMPLETED',
      adopted: false,
      warnings: [expect.stringContaining('has PlatformDetails "Linux/UNIX", not Windows')],
    });
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

/** FAILED registrations of snapshots tagged with these names: each planned, its first attempt refused by EC2. */
async function failedRegistrations(names: string[]): Promise<Plan[]> {
  const plans = await Promise.all(names.map((name) => planFor(ec2, { 'snap2ami:name': name })));
  proxy.inject(unauthorized('RegisterImage', { dryRun: true, times: plans.length }));
  for (const plan of plans) await start(plan);
  await sfn.idle();
  return plans;
}

/** Each registration COMPLETED on its second attempt, with exactly one AMI of its name. */
async function expectOneAmiEach(plans: Plan[], names: string[]): Promise<void> {
  for (const [i, plan] of plans.entries()) {
    const [entry] = JSON.parse((await snap2amiAsync(['status', plan.key, '--json'], env)).stdout);
    expect(entry.record, plan.key).toMatchObject({ status: 'COMPLETED', attempts: 2 });
    const images =
      (
        await ec2.send(
          new DescribeImagesCommand({ Filters: [{ Name: 'name', Values: [names[i] as string] }] }),
        )
      ).Images ?? [];
    expect(images, names[i]).toHaveLength(1);
  }
}

describe('redrive under admission control (docs/adr/0009-admission-control.md)', () => {
  it("takes each start's calls from the pipeline's budget: 2 at once, the rest as it refills, all COMPLETED", async () => {
    const names = [1, 2, 3, 4, 5].map((n) => `ops-admitted-${n}-${Date.now()}`);
    const plans = await failedRegistrations(names);
    const dynamo = new DynamoDBClient({});
    const table = await createTable(
      dynamo,
      await tableProperties('AdmissionTable'),
      `snap2ami-ops-admission-${Date.now()}`,
    );
    // RegisterImage's bucket holds two registrations (2 calls each) and refills one every 2 s.
    const budget = {
      SNAP2AMI_ADMISSION_TABLE: table,
      SNAP2AMI_EC2_RATE_SHARE: '1',
      SNAP2AMI_EC2_BUCKET_OVERRIDES: 'RegisterImage=4/1',
    };
    const selection = plans.flatMap((plan) => ['--snapshot-id', plan.snapshotIds[0] as string]);

    const dryRun = await snap2amiAsync(['redrive', ...selection, '--dry-run'], { ...env, ...budget });
    expect(dryRun.stdout.match(/^would start/gm)).toHaveLength(5);
    const untouched = await dynamo.send(new GetItemCommand({ TableName: table, Key: { pk: { S: 'ec2' } } }));
    expect(untouched.Item, '--dry-run takes no tokens').toBeUndefined();

    const before = Date.now();
    const redriven = await snap2amiAsync(['redrive', ...selection, '--json'], { ...env, ...budget });
    const after = Date.now();
    expect(redriven.status, redriven.stderr).toBe(0);
    expect(JSON.parse(redriven.stdout).map((r: { action: string }) => r.action)).toEqual(
      Array(5).fill('started'),
    );
    expect(redriven.stderr).not.toContain('without admission control');
    // Two started at once; then one more at each turn, the others waiting.
    const progress = [
      ...redriven.stderr.matchAll(/(\d+) started, (\d+) waiting for EC2 request tokens/g),
    ].map(([, started, waiting]) => `${started}+${waiting}`);
    expect([...new Set(progress)]).toEqual(['2+3', '3+2', '4+1']);
    expect(redriven.stderr).toMatch(/next turn in \d+ s/);

    // The admission item holds the tokens taken: 5 registrations × 2 RegisterImage calls, 1 s each,
    // on top of the time the run began; and never more than the bucket's 4 s ahead of its end.
    const { Item } = await dynamo.send(
      new GetItemCommand({ TableName: table, Key: { pk: { S: 'ec2' } }, ConsistentRead: true }),
    );
    const buckets = Item?.buckets?.M ?? {};
    const tat = Number(buckets.RegisterImage?.M?.tat?.N);
    expect(tat).toBeGreaterThanOrEqual(before + 5 * 2 * 1000);
    expect(tat).toBeLessThanOrEqual(after + 4 * 1000 + 1);
    expect(Number(buckets.CreateTags?.M?.tat?.N)).toBeGreaterThan(before);

    await sfn.idle();
    await expectOneAmiEach(plans, names);
  });

  it('without --admission-table, still redrives, and says once how to give the table', async () => {
    const names = [`ops-unbudgeted-${Date.now()}`];
    const plans = await failedRegistrations(names);
    const redriven = await snap2amiAsync(['redrive', '--key', (plans[0] as Plan).key], env);
    expect(redriven.status, redriven.stderr).toBe(0);
    expect(redriven.stdout).toContain('1 started, 1 FAILED records matched.');
    expect(redriven.stderr.match(/starting without admission control/g)).toHaveLength(1);
    expect(redriven.stderr).toContain('AdmissionTableName as --admission-table or SNAP2AMI_ADMISSION_TABLE');
    await sfn.idle();
    await expectOneAmiEach(plans, names);
  });
});
