/**
 * The local AWS emulator: moto in server mode (docs/adr/0001-local-aws.md), from the project's
 * .venv, on a free loopback port. Clients reach it only through the SDK's standard endpoint
 * setting (AWS_ENDPOINT_URL), which `awsEnvironment` returns.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { type ThrottleUpdate, throttleControl } from './emulator-controls.ts';
import { PROJECT_ROOT } from './paths.ts';

export const EMULATOR_ACCOUNT = '123456789012';
export const EMULATOR_REGION = 'us-east-1';

export interface Emulator {
  endpoint: string;
  stop(): Promise<void>;
}

export interface EmulatorOptions {
  /** A fixed port; by default a free one. */
  port?: number;
  /** Where moto's own log goes; by default it is dropped. */
  onLog?: (line: string) => void;
  /** How long to wait for the server to answer, in ms. */
  startTimeoutMs?: number;
  /**
   * EC2 throttling settings applied right after start (local/emulator-controls.ts); by default
   * EC2's documented token buckets at time scale 1 with no competitor.
   */
  throttle?: ThrottleUpdate;
}

/**
 * Starts moto and waits until it answers; Step Functions execution is switched on. The launcher
 * (local/moto-server.py, local/emulator_ext) makes EC2 images and throttling behave as EC2's do.
 */
export async function startEmulator(options: EmulatorOptions = {}): Promise<Emulator> {
  const python = join(PROJECT_ROOT, '.venv', 'bin', 'python');
  if (!existsSync(join(PROJECT_ROOT, '.venv', 'bin', 'moto_server'))) {
    throw new Error('the local AWS emulator is not installed (.venv has no moto): run scripts/bootstrap');
  }
  const port = options.port ?? (await freePort());
  const endpoint = `http://127.0.0.1:${port}`;
  // moto's server app with the project's extensions (local/moto-server.py, docs/adr/0006). Its
  // stdin is a pipe from this process, never written to: when this process ends, however it
  // ends, the pipe closes and the server exits (--exit-with-stdin), so it is never orphaned.
  const script = join(PROJECT_ROOT, 'local', 'moto-server.py');
  const child = spawn(python, [script, '127.0.0.1', String(port), '--exit-with-stdin'], {
    stdio: ['pipe', 'pipe', 'pipe'],
    env: { ...process.env, ...awsEnvironment(endpoint) },
  });
  const forward = (chunk: Buffer) => {
    for (const line of chunk.toString().split('\n')) if (line.trim()) options.onLog?.(line);
  };
  child.stdout?.on('data', forward);
  child.stderr?.on('data', forward);
  const stop = () => stopChild(child);
  try {
    await waitUntilReady(endpoint, child, options.startTimeoutMs ?? 30_000);
    await configure(endpoint);
    if (options.throttle) await throttleControl(endpoint).configure(options.throttle);
  } catch (error) {
    await stop();
    throw error;
  }
  return { endpoint, stop };
}

/** The environment an SDK client needs to reach the emulator: standard settings only. */
export function awsEnvironment(endpoint: string): Record<string, string> {
  return {
    AWS_ENDPOINT_URL: endpoint,
    AWS_REGION: EMULATOR_REGION,
    // AWS CLI v1 reads only AWS_DEFAULT_REGION.
    AWS_DEFAULT_REGION: EMULATOR_REGION,
    AWS_ACCESS_KEY_ID: 'testing',
    AWS_SECRET_ACCESS_KEY: 'testing',
  };
}

async function configure(endpoint: string): Promise<void> {
  const response = await fetch(`${endpoint}/moto-api/config`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ stepfunctions: { execute_state_machine: true } }),
  });
  if (!response.ok) throw new Error(`the emulator refused its configuration: HTTP ${response.status}`);
}

async function waitUntilReady(endpoint: string, child: ChildProcess, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let exited: string | undefined;
  child.once('exit', (code, signal) => {
    exited = `exited with ${signal ?? code}`;
  });
  while (Date.now() < deadline) {
    if (exited) throw new Error(`the local AWS emulator ${exited} before it was ready`);
    try {
      const response = await fetch(`${endpoint}/moto-api/config`);
      if (response.ok) return;
    } catch {
      // not listening yet
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error(`the local AWS emulator did not answer on ${endpoint} within ${timeoutMs} ms`);
}

function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    const timer = setTimeout(() => child.kill('SIGKILL'), 5_000);
    child.once('exit', () => {
      clearTimeout(timer);
      resolve();
    });
    child.kill('SIGTERM');
  });
}

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() =>
        typeof address === 'object' && address ? resolve(address.port) : reject(new Error('no port')),
      );
    });
  });
}
