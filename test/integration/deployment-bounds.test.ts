/**
 * Deployment bounds are checked when planning (tag contract v3), end to end on the emulator: a
 * snapshot whose `<p>ssm-parameter` lies outside the deployment's ssmParameterPath is rejected
 * by ingest, to the dead-letter queue with a reason that names the tag, the parameter and the
 * --param to deploy with, and EC2 never gets a RegisterImage (nor its dry run) for it: the
 * emulator's request log says which requests reached EC2. A snapshot inside the bounds, in the
 * same batch, is registered (and its RegisterImage is in the log).
 */
import { EC2Client } from '@aws-sdk/client-ec2';
import { SFNClient } from '@aws-sdk/client-sfn';
import {
  DeleteMessageCommand,
  ReceiveMessageCommand,
  SendMessageCommand,
  SQSClient,
} from '@aws-sdk/client-sqs';
import type { Context, SQSRecord } from 'aws-lambda';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { DLQ_ATTRIBUTES } from '#shared/dead-letter.ts';
import { deploymentSettings } from '#shared/settings.ts';
import type { ReconcileReport } from '../../functions/reconcile/reconcile.ts';
import {
  createEventQueues,
  createPipeline,
  createTaggedSnapshot,
  EMULATOR_ACCOUNT,
  EMULATOR_REGION,
  ingestDeps,
  type LocalStepFunctions,
  pollOnce,
  requestLog,
  SETTINGS,
  createSnapshotEvent as snapshotEvent,
  startStateMachine,
} from '../../local/index.ts';
import { snap2amiInProcess as snap2amiAsync } from '../support/cli-in-process.ts';
import { executionsFor } from '../support/pipeline.ts';
import { createRecoveryHarness } from '../support/recovery.ts';

const ec2 = new EC2Client({});
const sqs = new SQSClient({});
const requests = requestLog(inject('awsEndpoint'));
let sfn: LocalStepFunctions;
let queueUrl: string;
let dlqUrl: string;

beforeAll(async () => {
  const pipeline = await createPipeline();
  sfn = await startStateMachine(`snap2ami-bounds-${Date.now()}`, pipeline.workflow);
  ({ queueUrl, dlqUrl } = await createEventQueues(sqs, `snap2ami-bounds-${Date.now()}`));
});
afterAll(() => sfn.close());

/** The dead-letter queue's messages, as their attributes, taken off the queue. */
async function deadLetters(): Promise<Record<string, string>[]> {
  const batch = await sqs.send(
    new ReceiveMessageCommand({ QueueUrl: dlqUrl, MaxNumberOfMessages: 10, MessageAttributeNames: ['All'] }),
  );
  for (const m of batch.Messages ?? [])
    await sqs.send(new DeleteMessageCommand({ QueueUrl: dlqUrl, ReceiptHandle: m.ReceiptHandle }));
  return (batch.Messages ?? []).map((m) =>
    Object.fromEntries(Object.entries(m.MessageAttributes ?? {}).map(([k, v]) => [k, v.StringValue ?? ''])),
  );
}

describe('deployment bounds, in the pipeline', () => {
  it('rejects an ssm-parameter outside ssmParameterPath at ingest, and EC2 never sees a RegisterImage for it', async () => {
    const stamp = Date.now();
    const outside = await createTaggedSnapshot(ec2, {
      'snap2ami:register': 'true',
      'snap2ami:name': `bounds-outside-${stamp}`,
      'snap2ami:ssm-parameter': `/golden/bounds-${stamp}`,
    });
    const inside = await createTaggedSnapshot(ec2, {
      'snap2ami:register': 'true',
      'snap2ami:name': `bounds-inside-${stamp}`,
      'snap2ami:ssm-parameter': `/snap2ami/bounds-${stamp}`,
    });
    for (const id of [outside, inside])
      await sqs.send(
        new SendMessageCommand({ QueueUrl: queueUrl, MessageBody: JSON.stringify(snapshotEvent(id)) }),
      );

    // Ingest with the settings a deployment with the default parameters gives its functions.
    const deps = {
      ...ingestDeps(
        { ec2, sfn: new SFNClient({ endpoint: sfn.endpoint, maxAttempts: 1 }), sqs },
        sfn.stateMachineArn,
        dlqUrl,
      ),
      settings: { ...SETTINGS, ...deploymentSettings({}) },
    };
    expect(await pollOnce(sqs, queueUrl, deps)).toEqual({ received: 2, failed: [] });
    await sfn.idle();

    const [dead, ...more] = await deadLetters();
    expect(more).toEqual([]);
    expect(dead?.[DLQ_ATTRIBUTES.category]).toBe('rejected');
    expect(dead?.[DLQ_ATTRIBUTES.snapshotIds]).toBe(outside);
    expect(JSON.parse(dead?.[DLQ_ATTRIBUTES.errors] ?? '[]')).toEqual([
      {
        tag: 'snap2ami:ssm-parameter',
        field: 'lifecycle.ssmParameter',
        message: `snap2ami:ssm-parameter=/golden/bounds-${stamp} is outside the path this deployment may write SSM parameters under (/snap2ami/, its ssmParameterPath parameter); deploy with --param="ssmParameterPath=/golden/", or name a parameter under /snap2ami/.`,
      },
    ]);
    expect(executionsFor(sfn, outside)).toEqual([]);
    expect(await requests.find({ action: 'RegisterImage', snapshotId: outside })).toEqual([]);

    // The snapshot inside the bounds went all the way: its dry run and its RegisterImage reached EC2.
    expect(executionsFor(sfn, inside).map((execution) => execution.status)).toEqual(['SUCCEEDED']);
    expect(await requests.find({ action: 'RegisterImage', snapshotId: inside })).toEqual([
      { region: EMULATOR_REGION, action: 'RegisterImage', imageIds: [], snapshotIds: [inside] },
      { region: EMULATOR_REGION, action: 'RegisterImage', imageIds: [], snapshotIds: [inside] },
    ]);
  });

  it('the ingest Lambda takes the bounds from its environment (SNAP2AMI_SSM_PARAMETER_PATH)', async () => {
    const stamp = Date.now();
    const snapshotId = await createTaggedSnapshot(ec2, {
      'snap2ami:register': 'true',
      'snap2ami:ssm-parameter': `/snap2ami/bounds-${stamp}`,
    });
    const dlqName = dlqUrl.split('/').pop() as string;
    // The function's environment, as serverless.yml gives it, with ssmParameterPath=/golden/.
    // Set before the handler module loads: it reads them once per container.
    const saved = { ...process.env };
    Object.assign(process.env, {
      DEAD_LETTER_QUEUE_NAME: dlqName,
      STATE_MACHINE_NAME: 'snap2ami-bounds-unused',
      ADMISSION_TABLE_NAME: 'snap2ami-bounds-unused',
      SNAP2AMI_SSM_PARAMETER_PATH: '/golden/',
    });
    try {
      const { ingestHandler } = await import('../../functions/ingest/handler.ts');
      const record = {
        messageId: `bounds-${stamp}`,
        body: JSON.stringify(snapshotEvent(snapshotId)),
        eventSourceARN: `arn:aws:sqs:${EMULATOR_REGION}:${EMULATOR_ACCOUNT}:snapshot-events`,
      } as SQSRecord;
      const context = { functionName: 'snap2ami-bounds-ingest', awsRequestId: 'r' } as Context;
      expect(await ingestHandler({ Records: [record] }, context)).toEqual({ batchItemFailures: [] });
    } finally {
      process.env = saved;
    }
    const [dead] = await deadLetters();
    expect(dead?.[DLQ_ATTRIBUTES.snapshotIds]).toBe(snapshotId);
    expect(dead?.[DLQ_ATTRIBUTES.reason]).toContain(
      `snap2ami:ssm-parameter=/snap2ami/bounds-${stamp} is outside the path this deployment may write SSM parameters under (/golden/, its ssmParameterPath parameter); deploy with --param="ssmParameterPath=/snap2ami/"`,
    );
    expect(await requests.find({ action: 'RegisterImage', snapshotId })).toEqual([]);
  });

  it('snap2ami reconcile rejects a stray outside the bounds, and would send it under a deployment whose path covers it', async () => {
    const h = await createRecoveryHarness('bounds');
    try {
      const stamp = Date.now();
      const snapshotId = await h.snapshot(`bounds-stray-${stamp}`, {
        [`${h.prefix}ssm-parameter`]: `/golden/bounds-${stamp}`,
      });
      const strayIn = (stdout: string) =>
        (JSON.parse(stdout) as ReconcileReport).strays.snapshots.find((s) => s.snapshotId === snapshotId);
      const args = ['reconcile', '--dry-run', '--grace', '0', '--json'];
      const byDefault = await snap2amiAsync(args, { ...h.env, SNAP2AMI_SSM_PARAMETER_PATH: '' });
      expect(byDefault.status, byDefault.stderr).toBe(0);
      expect(strayIn(byDefault.stdout)).toEqual({
        snapshotId,
        action: 'rejected',
        detail: `${h.prefix}ssm-parameter=/golden/bounds-${stamp} is outside the path this deployment may write SSM parameters under (/snap2ami/, its ssmParameterPath parameter); deploy with --param="ssmParameterPath=/golden/", or name a parameter under /snap2ami/.`,
      });
      const covered = await snap2amiAsync([...args, '--ssm-parameter-path', '/golden/'], h.env);
      expect(strayIn(covered.stdout)).toMatchObject({ snapshotId, action: 'would send' });
    } finally {
      await h.close();
    }
  });
});
