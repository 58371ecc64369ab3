/** The emulator launcher (local/moto-emulator.ts): moto never outlives the process that started it. */
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { expect, it, vi } from 'vitest';
import { PROJECT_ROOT } from '../../local/index.ts';

const answers = (endpoint: string) =>
  fetch(`${endpoint}/moto-api/config`, { signal: AbortSignal.timeout(2_000) }).then(
    () => true,
    () => false,
  );

it('stops moto when the process that started it is killed without a chance to stop it (SIGKILL)', async () => {
  const script = `
    const { startEmulator } = await import(${JSON.stringify(join(PROJECT_ROOT, 'local', 'moto-emulator.ts'))});
    const emulator = await startEmulator();
    process.stdout.write(emulator.endpoint + '\\n');
    setInterval(() => {}, 60_000);
  `;
  const parent = spawn(join(PROJECT_ROOT, 'node_modules', '.bin', 'node'), [
    '--input-type=module',
    '-e',
    script,
  ]);
  const endpoint = await new Promise<string>((resolve, reject) => {
    let out = '';
    parent.stdout.on('data', (chunk) => {
      out += chunk;
      if (out.includes('\n')) resolve(out.trim());
    });
    parent.once('exit', (code) =>
      reject(new Error(`the parent exited with ${code} before the emulator answered`)),
    );
  });
  expect(await answers(endpoint)).toBe(true);
  parent.kill('SIGKILL');
  await vi.waitFor(async () => expect(await answers(endpoint)).toBe(false), {
    timeout: 10_000,
    interval: 200,
  });
});
