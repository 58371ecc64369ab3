/**
 * `npm run bench [-- --scenario bundles|burst|idle …]`: numbers, not assertions.
 *   bundles (the default): each function's bundle size and load time in a fresh process, next to
 *     a baseline commit's (docs/adr/0011-bundles.md);
 *   burst: a burst of snapshot events through the whole pipeline on the throttled emulator
 *     (docs/adr/0009-admission-control.md; `--json` prints the summary as the last line);
 *   idle: how fast one snapshot registers on an idle pipeline, with and without admission control.
 */
import { parseArgs } from 'node:util';
import { DEFAULT_RATE_SHARE } from '#shared/admission.ts';
import { BASELINE_COMMIT, benchBundles } from './bundles.ts';
import { benchBurst, LIFECYCLE_COPY_REGIONS, parseCompetitorSchedule } from './burst.ts';
import { benchIdle } from './idle.ts';

const HELP = `Usage: npm run bench -- [options]

  --scenario <name>     bundles (default): bundle sizes and load times, this checkout's and a baseline commit's
                        burst: N snapshot events at once through the pipeline on the throttled emulator
                        idle: one snapshot at a time on an idle pipeline, admission control on and off
  --events <n>          burst: how many events (default 200); idle: runs per mode (default 7)
  --runs <n>            bundles: loads of each bundle per build, in fresh processes (default 9)
  --baseline <commit>   bundles: the commit built for comparison (default ${BASELINE_COMMIT}, main before lean bundles)
  --competitor <share>  burst: share of every EC2 bucket's refill another client consumes (default 0.5)
  --competitor-schedule <seconds:share,…>
                        burst: a competitor that changes during the burst, e.g. "0:0.3,120:0.9,240:0.3":
                        from each time (seconds into the burst, ascending, the first 0) on it takes that share;
                        instead of --competitor (giving both is an error)
  --share <share>       burst: the pipeline's budget, a share of EC2's documented buckets (default ${DEFAULT_RATE_SHARE})
  --time-scale <t>      burst: run t times faster than real time (default 1: real time; 3 for a quicker run)
  --concurrency <n>     burst: ingest batches at once, as the event source mapping's maximum (default 5)
  --no-admission        burst: without admission control (the pipeline as it was), for comparison
  --lifecycle           burst: every AMI also copied to ${LIFECYCLE_COPY_REGIONS.join(' and ')} (snap2ami:copy-to)
  --launch-test         burst: every AMI booted once before it is published (snap2ami:launch-test=status-checks)
  --json                print the summary as one JSON object on the last line of stdout
  --help                this text`;

function number(name: string, value: string | undefined, fallback: number, min: number, max: number): number {
  if (value === undefined) return fallback;
  const n = Number(value);
  if (!Number.isFinite(n) || n < min || n > max) {
    console.error(`--${name} ${value} is not a number from ${min} to ${max}; see npm run bench -- --help`);
    process.exit(2);
  }
  return n;
}

let values: Record<string, string | boolean | undefined>;
try {
  ({ values } = parseArgs({
    options: {
      scenario: { type: 'string', default: 'bundles' },
      events: { type: 'string' },
      runs: { type: 'string' },
      baseline: { type: 'string', default: BASELINE_COMMIT },
      competitor: { type: 'string' },
      'competitor-schedule': { type: 'string' },
      share: { type: 'string' },
      'time-scale': { type: 'string' },
      concurrency: { type: 'string' },
      'no-admission': { type: 'boolean', default: false },
      lifecycle: { type: 'boolean', default: false },
      'launch-test': { type: 'boolean', default: false },
      json: { type: 'boolean', default: false },
      help: { type: 'boolean', default: false },
    },
  }));
} catch (error) {
  console.error(`${(error as Error).message}; see npm run bench -- --help`);
  process.exit(2);
}
const text = (name: string) => values[name] as string | undefined;

if (values.help) {
  console.log(HELP);
} else if (values.scenario === 'bundles') {
  await benchBundles({
    runs: number('runs', text('runs'), 9, 1, 100),
    baseline: String(values.baseline),
  });
} else if (values.scenario === 'burst') {
  const schedule = text('competitor-schedule');
  if (schedule !== undefined && text('competitor') !== undefined) {
    console.error(
      '--competitor and --competitor-schedule both set the competitor: give one; see npm run bench -- --help',
    );
    process.exit(2);
  }
  let competitorSchedule: ReturnType<typeof parseCompetitorSchedule> | undefined;
  try {
    competitorSchedule = schedule === undefined ? undefined : parseCompetitorSchedule(schedule);
  } catch (error) {
    console.error(
      `--competitor-schedule ${schedule}: ${(error as Error).message}; see npm run bench -- --help`,
    );
    process.exit(2);
  }
  await benchBurst({
    events: number('events', text('events'), 200, 10, 100_000),
    competitor: competitorSchedule?.[0]?.share ?? number('competitor', text('competitor'), 0.5, 0, 0.95),
    ...(competitorSchedule && { competitorSchedule }),
    share: number('share', text('share'), DEFAULT_RATE_SHARE, 0.01, 1),
    timeScale: number('time-scale', text('time-scale'), 1, 0.1, 100),
    concurrency: number('concurrency', text('concurrency'), 5, 1, 50),
    admission: !values['no-admission'],
    copyTo: values.lifecycle ? LIFECYCLE_COPY_REGIONS : [],
    launchTest: Boolean(values['launch-test']),
    json: Boolean(values.json),
  });
} else if (values.scenario === 'idle') {
  await benchIdle(number('events', text('events'), 7, 1, 100), Boolean(values.json));
} else {
  console.error(
    `--scenario ${String(values.scenario)} is not one of bundles, burst, idle; see npm run bench -- --help`,
  );
  process.exit(2);
}
