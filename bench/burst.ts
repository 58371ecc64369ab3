/**
 * `npm run bench -- --scenario burst`: a burst of snapshot events through the whole local
 * pipeline, on an emulator whose throttle enforces EC2's token buckets with another client
 * taking a share of every refill (local/burst.ts). Prints a table and a progress line, or with
 * --json the summary as the last line of stdout. Numbers, not assertions.
 */
import {
  awsEnvironment,
  type BurstResult,
  type CompetitorStep,
  runBurst,
  startEmulator,
  startFaultProxy,
} from '../local/index.ts';
import { table } from './format.ts';

export interface BurstBenchOptions {
  events: number;
  competitor: number;
  /** A competitor that changes during the burst (--competitor-schedule); `competitor` is its first share. */
  competitorSchedule?: CompetitorStep[];
  share: number;
  timeScale: number;
  concurrency: number;
  admission: boolean;
  /** Regions every AMI is copied to (--lifecycle); none by default. */
  copyTo: string[];
  /** Every AMI goes through a status-checks launch test (--launch-test). */
  launchTest?: boolean;
  json: boolean;
}

/** The competitor's share may not reach 1: EC2 would then leave the pipeline nothing. */
const MAX_COMPETITOR = 0.95;

/**
 * `--competitor-schedule "0:0.3,120:0.9,240:0.3"`: from each time (seconds into the burst) on,
 * another client takes that share of every refill. Times ascend from 0; shares are 0 to 0.95.
 * Throws an Error that says what is wrong.
 */
export function parseCompetitorSchedule(text: string): CompetitorStep[] {
  const steps = text.split(',').map((part, index) => {
    const match = /^\s*(\d+(?:\.\d+)?)\s*:\s*(\d*(?:\.\d+)?)\s*$/.exec(part);
    const seconds = Number(match?.[1]);
    const share = Number(match?.[2]);
    if (!match || match[2] === '' || !Number.isFinite(seconds) || !Number.isFinite(share))
      throw new Error(`step ${index + 1} "${part}" is not <seconds>:<share>, e.g. 120:0.9`);
    if (share > MAX_COMPETITOR)
      throw new Error(`step ${index + 1} "${part}": the share must be from 0 to ${MAX_COMPETITOR}`);
    return { seconds, share };
  });
  if (steps[0]?.seconds !== 0)
    throw new Error('the first step must be at 0 seconds (the share the burst starts with)');
  for (let i = 1; i < steps.length; i++)
    if ((steps[i] as CompetitorStep).seconds <= (steps[i - 1] as CompetitorStep).seconds)
      throw new Error(`the times must ascend: step ${i + 1} is at ${(steps[i] as CompetitorStep).seconds} s`);
  return steps;
}

/** --lifecycle: the copies' Regions (the bench's pipeline is in the emulator's default Region). */
export const LIFECYCLE_COPY_REGIONS = ['us-west-2', 'eu-central-1'];

export async function benchBurst(options: BurstBenchOptions): Promise<void> {
  const emulator = await startEmulator();
  // Every AWS call of the pipeline through a counting proxy: calls per AMI by API.
  const proxy = await startFaultProxy(emulator.endpoint);
  Object.assign(process.env, awsEnvironment(proxy.endpoint));
  const progress = (line: string) => process.stderr.write(`\r${line.padEnd(110)}`);
  const competitor = options.competitorSchedule
    ? `competitor ${options.competitorSchedule.map((step) => `${step.share} from ${step.seconds} s`).join(', ')}`
    : `competitor ${options.competitor}`;
  let result: BurstResult;
  try {
    process.stderr.write(
      `burst of ${options.events} events, ${competitor}, budget share ${options.share}, ` +
        `time scale ${options.timeScale}${options.admission ? '' : ', admission control off'}` +
        `${options.copyTo.length > 0 ? `, copies to ${options.copyTo.join(' and ')}` : ''}` +
        `${options.launchTest ? ', a launch test per AMI' : ''}: setting up …\n`,
    );
    result = await runBurst({
      endpoint: emulator.endpoint,
      events: options.events,
      competitor: options.competitor,
      ...(options.competitorSchedule && { competitorSchedule: options.competitorSchedule }),
      share: options.share,
      timeScale: options.timeScale,
      concurrency: options.concurrency,
      admission: options.admission,
      copyTo: options.copyTo,
      launchTest: options.launchTest === true,
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
        `${summary.copies !== undefined ? `, each copied to ${options.copyTo.join(' and ')}: ${summary.copies} copies made` : ''}), ${competitor}, ` +
        `budget share ${options.share}, admission control ${options.admission ? 'on' : 'off'}.\n` +
        (summary.timeScale === 1
          ? 'Real time.\n\n'
          : `Time-scaled: the emulator's refill, the workflow's retry intervals and admission control's clock run ` +
            `${summary.timeScale}× faster than real time; seconds are wall seconds at that scale ` +
            `(× ${summary.timeScale} for real time), and so are the queue's visibility timeout and its delays.\n\n`) +
        `${table([
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
            'DescribeImages per AMI',
            'deferrals',
            'executions started',
            'bottleneck',
          ],
          [
            summary.throttledCallsPerAmi,
            summary.stateTransitionsPerAmi,
            summary.describeImagesPerAmi,
            result.deferred,
            result.started,
            `${result.bottleneck.api}: ${Number(result.bottleneck.calls.toFixed(1))} calls at ${Number(result.bottleneck.refillPerSecond.toFixed(2))}/s`,
          ],
        ])}\n\nMessages handed back: ${summary.returnedEarly} early (ChangeMessageVisibility); ` +
        `${result.returns.length} came back to ingest, the longest after ${summary.longestReturnSeconds} s` +
        `${result.returns.filter((r) => r.seconds > 30).length > 0 ? ` (${result.returns.filter((r) => r.seconds > 30).length} after more than 30 s)` : ''}.${
          Object.keys(result.warnings).length > 0
            ? `\n\nWhat ingest warned about\n${table([
                ['warning', 'times'],
                ...Object.entries(result.warnings).sort((a, b) => b[1] - a[1]),
              ])}`
            : ''
        }${launchTestTable(summary.launchTest)}${
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
  if (options.json) {
    // What the JSON line leaves out, for reading a run: throttled calls by API, what ingest warned about.
    const throttled = Object.entries(result.ec2).filter(([, c]) => c.throttled > 0);
    process.stderr.write(
      `throttled: ${throttled.map(([api, c]) => `${api} ${c.throttled}/${c.calls}`).join(', ') || 'none'}; ` +
        `ingest warned: ${
          Object.entries(result.warnings)
            .map(([w, n]) => `${w} (${n})`)
            .join('; ') || 'nothing'
        }; ` +
        `returns over 30 s: ${result.returns.filter((r) => r.seconds > 30).length}; ` +
        `FAILED: ${
          Object.entries(result.failures)
            .map(([f, n]) => `${f} (${n})`)
            .join('; ') || 'none'
        }\n`,
    );
  }
  console.log(JSON.stringify(summary));
}

/** --launch-test: what the burst's launch tests did (ADR 0012); nothing without them. */
function launchTestTable(launchTest: BurstResult['summary']['launchTest']): string {
  if (!launchTest) return '';
  return `\n\nLaunch tests (one per AMI, status checks)\n${table([
    ['passed', 'failed', 'instances launched', 'instances left running', 'RunInstances throttled'],
    [
      launchTest.passed,
      launchTest.failed,
      launchTest.instances,
      launchTest.instancesLeftRunning,
      launchTest.runInstancesThrottled,
    ],
  ])}`;
}
