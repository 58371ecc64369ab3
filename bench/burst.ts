/**
 * `npm run bench -- --scenario burst`: a burst of snapshot events through the whole local
 * pipeline, on an emulator whose throttle enforces EC2's token buckets with another client
 * taking a share of every refill (local/burst.ts). Prints a table and a progress line, or with
 * --json the summary as the last line of stdout. Numbers, not assertions.
 */
import {
  awsEnvironment,
  type BurstResult,
  runBurst,
  startEmulator,
  startFaultProxy,
} from '../local/index.ts';
import { table } from './format.ts';

export interface BurstBenchOptions {
  events: number;
  competitor: number;
  share: number;
  timeScale: number;
  concurrency: number;
  admission: boolean;
  /** Regions every AMI is copied to (--lifecycle); none by default. */
  copyTo: string[];
  json: boolean;
  /** --pending-seconds: emulated seconds each AMI and copy stays pending (ADR 0013). */
  pendingSeconds?: number;
}

/** --lifecycle: the copies' Regions (the bench's pipeline is in the emulator's default Region). */
export const LIFECYCLE_COPY_REGIONS = ['us-west-2', 'eu-central-1'];

export async function benchBurst(options: BurstBenchOptions): Promise<void> {
  const emulator = await startEmulator();
  // Every AWS call of the pipeline through a counting proxy: calls per AMI by API.
  const proxy = await startFaultProxy(emulator.endpoint);
  Object.assign(process.env, awsEnvironment(proxy.endpoint));
  const progress = (line: string) => process.stderr.write(`\r${line.padEnd(110)}`);
  let result: BurstResult;
  try {
    process.stderr.write(
      `burst of ${options.events} events, competitor ${options.competitor}, budget share ${options.share}, ` +
        `time scale ${options.timeScale}${options.admission ? '' : ', admission control off'}` +
        `${options.copyTo.length > 0 ? `, copies to ${options.copyTo.join(' and ')}` : ''}: setting up …\n`,
    );
    result = await runBurst({
      endpoint: emulator.endpoint,
      events: options.events,
      competitor: options.competitor,
      share: options.share,
      timeScale: options.timeScale,
      concurrency: options.concurrency,
      admission: options.admission,
      copyTo: options.copyTo,
      ...(options.pendingSeconds && { pendingSeconds: options.pendingSeconds }),
      onStart: () => proxy.calls.clear(),
      onProgress: (p) => {
        progress(
          `${p.seconds.toFixed(0)} s: ${p.succeeded}/${p.expected} registered, ${p.running} running, ` +
            `${p.failed} failed, ${p.started} started, ${p.deferred} deferrals`,
        );
      },
    });
    process.stderr.write('\n');
  } finally {
    await proxy.close();
    await emulator.stop();
  }
  const { summary } = result;
  if (!options.json) {
    const amis = Math.max(1, summary.amis);
    console.log(
      `\nBurst of ${summary.events} events (${result.mix.single} single-volume, ${result.mix.multiVolume} multi-volume, ` +
        `${result.mix.duplicate} duplicates: ${result.expected} AMIs asked for` +
        `${summary.copies !== undefined ? `, each copied to ${options.copyTo.join(' and ')}: ${summary.copies} copies made` : ''}), competitor ${options.competitor}, ` +
        `budget share ${options.share}, admission control ${options.admission ? 'on' : 'off'}.\n` +
        `Time-scaled: the emulator's refill, the workflow's retry intervals and admission control's clock run ` +
        `${summary.timeScale}× faster than real time; seconds are wall seconds at that scale ` +
        `(× ${summary.timeScale} for real time).\n\n${table([
          ['AMIs', 'failed', 'duplicates', 'dead-lettered', 'lost', 'seconds', 'ideal s', 'seconds / ideal'],
          [
            summary.amis,
            summary.failed,
            summary.duplicates,
            summary.deadLettered,
            summary.lost,
            summary.seconds,
            summary.idealSeconds,
            (summary.seconds / Math.max(0.001, summary.idealSeconds)).toFixed(2),
          ],
        ])}\n\n${table([
          [
            'throttled calls per AMI',
            'state transitions per AMI',
            'deferrals',
            'executions started',
            'bottleneck',
          ],
          [
            summary.throttledCallsPerAmi,
            summary.stateTransitionsPerAmi,
            result.deferred,
            result.started,
            `${result.bottleneck.api}: ${result.bottleneck.calls} calls at ${Number(result.bottleneck.refillPerSecond.toFixed(2))}/s`,
          ],
        ])}${
          Object.keys(result.failures).length > 0
            ? `\n\nFAILED registrations by step and error\n${table([
                ['step: error', 'registrations'],
                ...Object.entries(result.failures).sort((a, b) => b[1] - a[1]),
              ])}`
            : ''
        }\n\nEC2 calls (the emulator's counters)\n${table([
          ['API', 'calls', 'throttled', 'per AMI'],
          ...Object.entries(result.ec2).map(([api, c]) => [
            api,
            c.calls,
            c.throttled,
            (c.calls / amis).toFixed(2),
          ]),
        ])}\n\nAWS calls per AMI (through the counting proxy; SQS receive and delete stand in for Lambda's event source mapping)\n${table(
          [
            ['API', 'calls', 'per AMI'],
            ...[...proxy.calls]
              .filter(([api]) => !api.startsWith('EC2.'))
              .sort()
              .map(([api, n]) => [api, n, (n / amis).toFixed(2)]),
          ],
        )}`,
    );
  }
  console.log(JSON.stringify(summary));
}
