/**
 * `npm run bench -- --scenario wait`: on an idle pipeline, how long after its image turns
 * available a registration's record is COMPLETED (docs/adr/0013-ami-events.md): the wait follows
 * EC2's `EC2 AMI State Change` event. The emulator keeps each image pending for a few seconds,
 * then makes it available and sends its event at once; the bench watches the image and the
 * record (every 10 ms) and prints the difference. Real time, real retry intervals.
 */
import { DescribeImagesCommand, EC2Client } from '@aws-sdk/client-ec2';
import { executionInput } from '#shared/workflow.ts';
import { amiEventControl, awsEnvironment, createPipeline, planFor, startEmulator } from '../local/index.ts';
import { median, table } from './format.ts';

/** Seconds each image stays pending: long enough that the wait has stored its token and looked. */
const PENDING_SECONDS = 3;

export async function benchWait(runs: number, json: boolean): Promise<void> {
  const emulator = await startEmulator();
  Object.assign(process.env, awsEnvironment(emulator.endpoint));
  try {
    const ec2 = new EC2Client({});
    await amiEventControl(emulator.endpoint).configure({ registerSeconds: PENDING_SECONDS });
    const pipeline = await createPipeline({ realRetryIntervals: true });
    const latencies: number[] = [];
    for (let i = 0; i < runs; i++) {
      const name = `wait-${Date.now()}-${i}`;
      const plan = await planFor(ec2, { 'snap2ami:name': name });
      const execution = pipeline.workflow.run(
        executionInput(plan, {}, new Date()),
        `arn:aws:states:us-east-1:123456789012:execution:snap2ami-wait:${plan.key}`,
      );
      let available: number | undefined;
      let completed: number | undefined;
      let done = false;
      execution.finally(() => {
        done = true;
      });
      for (;;) {
        const now = performance.now();
        if (available === undefined) {
          const { Images = [] } = await ec2.send(
            new DescribeImagesCommand({ Filters: [{ Name: 'name', Values: [name] }] }),
          );
          if (Images[0]?.State === 'available') available = now;
        } else if ((await pipeline.record(plan.key))?.status === 'COMPLETED') {
          completed = now;
          break;
        }
        if (done && (available === undefined || (await pipeline.record(plan.key))?.status !== 'COMPLETED'))
          break;
        await new Promise((resolve) => setTimeout(resolve, 10));
      }
      const result = await execution;
      if (result.status !== 'SUCCEEDED' || available === undefined || completed === undefined)
        throw new Error(`run ${i + 1}: ${result.status} ${result.error ?? ''} ${result.cause ?? ''}`);
      latencies.push(completed - available);
      process.stderr.write(`\r  ${i + 1}/${runs} registrations`);
    }
    process.stderr.write('\n');
    const summary = {
      scenario: 'wait',
      runs,
      pendingSeconds: PENDING_SECONDS,
      medianMsAvailableToCompleted: Number(median(latencies).toFixed(1)),
      maxMsAvailableToCompleted: Number(Math.max(...latencies).toFixed(1)),
    };
    if (!json)
      console.log(
        `\nOn an idle pipeline: the image turns available → its record is COMPLETED (emulator, real time; ${runs} runs, images pending ${PENDING_SECONDS} s)\n${table(
          [
            ['median ms', 'min ms', 'max ms'],
            [
              median(latencies).toFixed(1),
              Math.min(...latencies).toFixed(1),
              Math.max(...latencies).toFixed(1),
            ],
          ],
        )}`,
      );
    console.log(JSON.stringify(summary));
  } finally {
    await emulator.stop();
  }
}
