/** vitest globalSetup for integration tests: one emulator for the run, stopped afterwards. */
import type { TestProject } from 'vitest/node';
import { startEmulator } from '../../local/index.ts';

declare module 'vitest' {
  export interface ProvidedContext {
    awsEndpoint: string;
  }
}

export default async function setup(project: TestProject) {
  const emulator = await startEmulator();
  project.provide('awsEndpoint', emulator.endpoint);
  return () => emulator.stop();
}
