/**
 * vitest globalSetup for integration tests: one emulator per worker, stopped afterwards. Each
 * worker runs its test files one after another on its own emulator (test/setup/aws-env.ts), so
 * that files run side by side without sharing EC2's token buckets, queues or request logs.
 */
import type { TestProject } from 'vitest/node';
import { startEmulator } from '../../local/index.ts';

declare module 'vitest' {
  export interface ProvidedContext {
    /** The emulators, one per worker (VITEST_POOL_ID − 1). */
    awsEndpoints: string[];
    /** This worker's emulator: the one its SDK clients reach (set by test/setup/aws-env.ts). */
    awsEndpoint: string;
  }
}

export default async function setup(project: TestProject) {
  const count = Math.max(1, project.config.maxWorkers);
  const started = await Promise.allSettled(Array.from({ length: count }, () => startEmulator()));
  const emulators = started.flatMap((result) => (result.status === 'fulfilled' ? [result.value] : []));
  const stop = () => Promise.all(emulators.map((emulator) => emulator.stop()));
  const failed = started.find((result) => result.status === 'rejected');
  if (failed) {
    await stop();
    throw failed.reason;
  }
  project.provide(
    'awsEndpoints',
    emulators.map((emulator) => emulator.endpoint),
  );
  return stop;
}
