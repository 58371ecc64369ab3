/**
 * vitest globalSetup for unit tests: a folder for this run's packaged service, which the first
 * test that needs it fills and the others read (test/support/package.ts), so that the service is
 * packaged once per run, not once per test file. Removed afterwards.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TestProject } from 'vitest/node';

declare module 'vitest' {
  export interface ProvidedContext {
    packagedDir?: string;
  }
}

export default function setup(project: TestProject) {
  const dir = mkdtempSync(join(tmpdir(), 'snap2ami-packaged-'));
  project.provide('packagedDir', dir);
  return () => rmSync(dir, { recursive: true, force: true });
}
