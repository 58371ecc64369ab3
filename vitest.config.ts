import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { defineConfig } from 'vitest/config';
import { LongestFirst } from './test/setup/sequencer.ts';

// The processes the tests start (workers, CLIs, the packaging) keep what Node compiled between
// runs, as bin/snap2ami does for its own.
process.env.NODE_COMPILE_CACHE ??= join(import.meta.dirname, 'node_modules', '.cache', 'node-compile');
// Tracing is off outside Lambda (shared/aws/tracer.ts), yet the X-Ray SDK that comes with the
// Tracer follows every promise of a process with an async hook (its automatic mode) unless told
// it is in manual mode, as bin/snap2ami tells it: 10 s of a run's CPU. The tests of tracing start
// processes with an environment of their own, as Lambda's.
process.env.AWS_XRAY_MANUAL_MODE ??= '1';
// What the tests and the processes they start write to the temporary folder (samples, AWS config
// files, the linters' homes, the packaged service) goes to a folder of this run's own, removed
// when the run ends: about 45 folders a run were left in /tmp.
const runTmp = mkdtempSync(join(tmpdir(), 'snap2ami-tests-'));
process.env.TMPDIR = runTmp;
process.on('exit', () => {
  try {
    rmSync(runTmp, { recursive: true, force: true, maxRetries: 3 });
  } catch (error) {
    // A process the run started may still be writing there: the folder is left, the run's outcome kept.
    console.error(`could not remove ${runTmp}: ${error}`);
  }
});

/** Integration files that load a handler with an environment of their own (the `handlers` project). */
const HANDLER_FILES = [
  'test/integration/image-handler.test.ts',
  'test/integration/image-handler-observability.test.ts',
  'test/integration/ingest-handler.test.ts',
  'test/integration/reconcile-handler.test.ts',
  'test/integration/deployment-bounds.test.ts',
];

export default defineConfig({
  test: {
    // Files run side by side, in worker threads: more of them than this machine's two cores,
    // since many wait on a subprocess (the emulator, a packaging, a linter, a CLI) or on a
    // real-time timeout much of the time (4 workers: 118 s against 124 s with 3). The projects
    // share the workers, one's waits the other's CPU. dist/ is built once, under the packaging
    // lock, and found current afterwards (scripts/build.ts).
    maxWorkers: 4,
    // Worker threads, not processes: 12% less CPU for the integration project when its files
    // were isolated (each in a fresh thread rather than a fresh Node process).
    pool: 'threads',
    // The longest files first, on a fresh clone too (test/setup/sequencer.ts).
    sequence: { sequencer: LongestFirst },
    // Test files and the code they reach are loaded by Node itself, which strips the types as
    // it does for bin/snap2ami (no tests mock modules), not transformed by Vite first: a fresh
    // clone, with no transforms cached yet, ran 14 s longer than one with them; now 2 s
    // (docs/adr/0010-test-speed.md).
    experimental: { viteModuleRunner: false, nodeLoader: false },
    projects: [
      {
        extends: true,
        test: {
          name: 'unit',
          include: ['test/unit/**/*.test.ts'],
          globalSetup: ['test/setup/package.ts'],
          // A worker's unit files share its modules (the SDK clients, zod, commander are loaded once
          // per worker, not once per file): 30% less CPU for the unit project. Unit files keep no
          // state in modules that another file would read (docs/adr/0010-test-speed.md).
          isolate: false,
          // Some unit tests run a process (a bundle, a CLI): with files side by side, a few seconds.
          testTimeout: 30_000,
        },
      },
      {
        extends: true,
        test: {
          name: 'integration',
          include: ['test/integration/**/*.test.ts'],
          exclude: HANDLER_FILES,
          globalSetup: ['test/setup/emulator.ts'],
          setupFiles: ['test/setup/aws-env.ts'],
          // A worker's files share its modules too (they all reach the worker's own emulator, so
          // clients bound to the environment stay right): a fifth less CPU for the whole run.
          isolate: false,
          testTimeout: 120_000,
          hookTimeout: 120_000,
        },
      },
      {
        extends: true,
        test: {
          // The files that load a Lambda handler for an environment of their own (a handler reads
          // it once, as its module loads), or change the environment: each file on its own. They
          // use the same emulators, one per worker (test/setup/emulator.ts).
          name: 'handlers',
          include: HANDLER_FILES,
          globalSetup: ['test/setup/emulator.ts'],
          setupFiles: ['test/setup/aws-env.ts'],
          testTimeout: 120_000,
          hookTimeout: 120_000,
        },
      },
    ],
  },
});
