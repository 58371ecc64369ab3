import { join } from 'node:path';
import { defineConfig } from 'vitest/config';

// The processes the tests start (workers, CLIs, the packaging) keep what Node compiled between
// runs, as bin/snap2ami does for its own.
process.env.NODE_COMPILE_CACHE ??= join(import.meta.dirname, 'node_modules', '.cache', 'node-compile');

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
    // Files run side by side, in worker processes: more of them than this machine's two cores,
    // since most wait on a subprocess (the emulator, a packaging, a linter, a CLI) much of the time.
    // Unit and integration files share the workers, so that one project's waits (a packaging,
    // the linters) are the other's CPU: dist/, which some unit tests build again, is built under
    // the packaging lock, which serverless-local holds while serverless-offline runs it.
    maxWorkers: 3,
    // Worker threads, not processes: an isolated file (each integration file) gets a fresh
    // thread rather than a fresh Node process: 12% less CPU for the integration project.
    pool: 'threads',
    projects: [
      {
        extends: true,
        test: {
          name: 'unit',
          include: ['test/unit/**/*.test.ts'],
          globalSetup: ['test/setup/package.ts'],
          // A worker's unit files share its modules (the SDK clients, zod, commander are loaded once
          // per worker, not once per file): 30% less CPU for the unit project. Unit files keep no
          // state in modules that another file would read; the integration files do (clients
          // bound to an environment), so they stay isolated (docs/adr/0010-test-speed.md).
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
