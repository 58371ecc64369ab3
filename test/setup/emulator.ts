/**
 * vitest globalSetup for the integration tests (both projects): one emulator per worker, stopped
 * afterwards. Each worker runs its test files one after another on its own emulator
 * (test/setup/aws-env.ts), so that files run side by side without sharing EC2's token buckets,
 * queues or request logs.
 */
import type { TestProject } from 'vitest/node';
import { type Emulator, startEmulator } from '../../local/index.ts';

declare module 'vitest' {
  export interface ProvidedContext {
    /** The emulators, one per worker (VITEST_POOL_ID − 1). */
    awsEndpoints: string[];
    /** This worker's emulator: the one its SDK clients reach (set by test/setup/aws-env.ts). */
    awsEndpoint: string;
  }
}

/** The run's emulators, one per worker: started by the first project that needs them, shared by the others. */
let running: Promise<Emulator[]> | undefined;
let users = 0;

async function startAll(count: number): Promise<Emulator[]> {
  const started = await Promise.allSettled(Array.from({ length: count }, () => startEmulator()));
  const emulators = started.flatMap((result) => (result.status === 'fulfilled' ? [result.value] : []));
  const failed = started.find((result) => result.status === 'rejected');
  if (failed) {
    await Promise.all(emulators.map((emulator) => emulator.stop()));
    throw failed.reason;
  }
  return emulators;
}

export default async function setup(project: TestProject) {
  running ??= startAll(Math.max(1, project.config.maxWorkers));
  const emulators = await running;
  users += 1;
  project.provide(
    'awsEndpoints',
    emulators.map((emulator) => emulator.endpoint),
  );
  return async () => {
    users -= 1;
    if (users === 0) await Promise.all(emulators.map((emulator) => emulator.stop()));
  };
}
