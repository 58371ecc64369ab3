/**
 * `npm run bench -- --scenario idle`: how fast one snapshot registers on an idle pipeline, from
 * its event entering the queue to its execution's end, with admission control and without it
 * (the pipeline as it was), alternately; at real time, EC2's documented buckets, real retry
 * intervals. Also the time admission control itself takes per batch.
 */
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { EC2Client } from '@aws-sdk/client-ec2';
import { SFNClient } from '@aws-sdk/client-sfn';
import { CreateQueueCommand, SendMessageCommand, SQSClient } from '@aws-sdk/client-sqs';
import { budgetBuckets, DEFAULT_RATE_SHARE } from '#shared/admission.ts';
import { ADMIT_ALL, type Admission, AdmissionStore } from '#shared/aws/admission.ts';
import {
  awsEnvironment,
  createPipeline,
  createSnapshotEvent,
  createTaggedSnapshot,
  ingestDeps,
  pollOnce,
  startEmulator,
  startStateMachine,
} from '../local/index.ts';
import { median, table } from './format.ts';

export async function benchIdle(runs: number, json: boolean): Promise<void> {
  const emulator = await startEmulator();
  Object.assign(process.env, awsEnvironment(emulator.endpoint));
  try {
    const ec2 = new EC2Client({});
    const sqs = new SQSClient({});
    const pipeline = await createPipeline({ realRetryIntervals: true });
    const sfn = await startStateMachine('snap2ami-idle', pipeline.workflow);
    const store = new AdmissionStore({
      client: new DynamoDBClient({}),
      table: pipeline.admissionTable,
      buckets: budgetBuckets(DEFAULT_RATE_SHARE),
    });
    const admitMs: number[] = [];
    const timed: Admission = {
      admit: async (requests) => {
        const t = performance.now();
        const decisions = await store.admit(requests);
        admitMs.push(performance.now() - t);
        return decisions;
      },
      turns: (reservations) => store.turns(reservations),
      refund: (amis) => store.refund(amis),
    };
    const queueUrl = (await sqs.send(new CreateQueueCommand({ QueueName: `snap2ami-idle-${Date.now()}` })))
      .QueueUrl as string;
    const latencies: Record<'on' | 'off', number[]> = { on: [], off: [] };
    const deferred: Record<string, number> = {};
    for (let i = 0; i < 2 * runs; i++) {
      const mode = i % 2 === 0 ? 'on' : 'off';
      const snapshot = await createTaggedSnapshot(ec2, {
        'snap2ami:register': 'true',
        'snap2ami:name': `idle-${Date.now()}-${i}`,
      });
      const deps = ingestDeps(
        { ec2, sfn: new SFNClient({ endpoint: sfn.endpoint }), sqs },
        sfn.stateMachineArn,
        queueUrl,
        deferred,
        mode === 'on' ? timed : ADMIT_ALL,
      );
      const t = performance.now();
      await sqs.send(
        new SendMessageCommand({
          QueueUrl: queueUrl,
          MessageBody: JSON.stringify(createSnapshotEvent(snapshot)),
        }),
      );
      while ((await pollOnce(sqs, queueUrl, deps, { waitSeconds: 1 })).received === 0);
      await sfn.idle();
      latencies[mode].push(performance.now() - t);
      process.stderr.write(`\r  ${i + 1}/${2 * runs} registrations`);
    }
    process.stderr.write('\n');
    await sfn.close();
    const statuses = [...sfn.executions.values()].map((e) => e.status);
    const summary = {
      scenario: 'idle',
      runs,
      succeeded: statuses.filter((s) => s === 'SUCCEEDED').length,
      deferred: deferred.Deferred ?? 0,
      medianMsWithAdmission: Number(median(latencies.on).toFixed(1)),
      medianMsWithout: Number(median(latencies.off).toFixed(1)),
      medianAdmitMs: Number(median(admitMs).toFixed(1)),
    };
    if (!json)
      console.log(
        `\nOne snapshot on an idle pipeline: event in the queue → execution SUCCEEDED (emulator, real time, ` +
          `real retry intervals; ${runs} runs each, alternating)\n${table([
            ['admission control', 'median ms', 'min ms', 'max ms'],
            ...(['on', 'off'] as const).map((mode) => [
              mode,
              median(latencies[mode]).toFixed(1),
              Math.min(...latencies[mode]).toFixed(1),
              Math.max(...latencies[mode]).toFixed(1),
            ]),
          ])}\nadmission control's own time per batch (GetItem + conditional UpdateItem): median ${summary.medianAdmitMs} ms; messages deferred: ${summary.deferred}`,
      );
    console.log(JSON.stringify(summary));
  } finally {
    await emulator.stop();
  }
}
