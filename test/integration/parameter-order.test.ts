/**
 * The SSM parameter never moves back, whatever fails (issue 18, point 4), on the emulator with
 * the deployed definition: a registration whose PutParameter landed but whose lock-item update
 * failed leaves the item behind the parameter; an older registration after the lease must
 * still not move the parameter back to its own AMI.
 */
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { EC2Client } from '@aws-sdk/client-ec2';
import { GetParameterCommand, SSMClient } from '@aws-sdk/client-ssm';
import { expect, inject, it } from 'vitest';
import type { Plan } from '#shared/contract/types.ts';
import { executionInput } from '#shared/workflow.ts';
import { PARAMETER_LOCK_SECONDS } from '../../functions/lifecycle/parameter.ts';
import { createPipeline, dynamoDbError, startFaultProxy } from '../../local/index.ts';
import { executionArn as arn, at, planFor, unique } from '../support/pipeline.ts';

const ec2 = new EC2Client({});
const ssm = new SSMClient({});

it('a newer registration whose lock write failed after PutParameter is not undone by an older one after the lease', async () => {
  const proxy = await startFaultProxy(inject('awsEndpoint'));
  let clock = Date.now();
  try {
    const p = await createPipeline({
      lifecycle: {
        dynamo: new DynamoDBClient({ endpoint: proxy.endpoint, maxAttempts: 1 }),
        now: () => new Date(clock),
      },
    });
    const family = unique('param-order');
    const parameterName = `/param-order/${family}`;
    const tags = (n: string) => ({
      'snap2ami:name': `${family}-${n}`,
      'snap2ami:ssm-parameter': parameterName,
      'snap2ami:family': family,
    });
    const run = async (plan: Plan) => {
      const execution = await p.workflow.run(executionInput(plan, {}, new Date()), arn(plan.key));
      const record = await p.record(plan.key);
      return { ...execution, record, imageId: record?.imageId as string };
    };
    const value = async () =>
      (await ssm.send(new GetParameterCommand({ Name: parameterName }))).Parameter?.Value;

    const previous = await run(at(await planFor(ec2, tags('p')), '2026-05-01T00:00:00Z'));
    expect(previous.status, `${previous.error}: ${previous.cause}`).toBe('SUCCEEDED');
    expect(await value()).toBe(previous.imageId);

    // N, the newest: its PutParameter lands, then the lock item's update (which records N's
    // snapshot time and releases the lock) fails, and N ends FAILED.
    proxy.inject({
      action: 'DynamoDB.UpdateItem',
      bodyIncludes: 'SET snapshotTime',
      times: 1,
      status: 400,
      body: dynamoDbError('ValidationException', 'injected: the lock item could not be written'),
    });
    const newest = await run(at(await planFor(ec2, tags('n')), '2026-05-03T00:00:00Z'));
    expect(newest.status).toBe('FAILED');
    expect(newest.record).toMatchObject({ status: 'FAILED', failedStep: 'PublishParameters' });
    expect(await value()).toBe(newest.imageId);

    // O, older than N and newer than the item's record, once N's lease has run out.
    clock += (PARAMETER_LOCK_SECONDS + 1) * 1000;
    const older = await run(at(await planFor(ec2, tags('o')), '2026-05-02T00:00:00Z'));
    expect(older.status, `${older.error}: ${older.cause}`).toBe('SUCCEEDED');
    expect(await value()).toBe(newest.imageId);
  } finally {
    await proxy.close();
  }
});
