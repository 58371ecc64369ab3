/** Runs bin/snap2ami as a user does, and captures what it prints. */
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PROJECT_ROOT } from '../../local/index.ts';

export interface CliResult {
  status: number | null;
  stdout: string;
  stderr: string;
}

export function snap2ami(args: string[], env: Record<string, string> = {}): CliResult {
  const result = spawnSync(join(PROJECT_ROOT, 'bin', 'snap2ami'), args, {
    encoding: 'utf8',
    env: { ...process.env, ...env },
    timeout: 60_000,
  });
  return { status: result.status, stdout: result.stdout, stderr: result.stderr };
}

/** Writes JSON documents into a fresh temporary folder; returns their paths. */
export function jsonFiles(documents: Record<string, unknown>): Record<string, string> {
  const dir = mkdtempSync(join(tmpdir(), 'snap2ami-test-'));
  return Object.fromEntries(
    Object.entries(documents).map(([name, document]) => {
      const path = join(dir, name);
      writeFileSync(path, typeof document === 'string' ? document : JSON.stringify(document));
      return [name, path];
    }),
  );
}

export interface RunningCli {
  /** The process: bin/snap2ami execs node, so signals sent to it reach the command itself. */
  child: ReturnType<typeof spawn>;
  /** What it has printed so far. */
  output(): { stdout: string; stderr: string };
  /** How it ended: its status, or the signal that ended it, and everything it printed. */
  exited: Promise<CliResult & { signal: NodeJS.Signals | null }>;
}

/** Starts snap2ami and leaves it running (for a command that waits, such as `local --keep`). */
export function snap2amiRunning(args: string[], env: Record<string, string> = {}): RunningCli {
  const child = spawn(join(PROJECT_ROOT, 'bin', 'snap2ami'), args, { env: { ...process.env, ...env } });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (chunk) => {
    stdout += chunk;
  });
  child.stderr.on('data', (chunk) => {
    stderr += chunk;
  });
  const exited = new Promise<CliResult & { signal: NodeJS.Signals | null }>((resolve) =>
    child.on('close', (status, signal) => resolve({ status, signal, stdout, stderr })),
  );
  return { child, output: () => ({ stdout, stderr }), exited };
}

/** Like snap2ami(), without blocking this process (for tests that serve something to the CLI). */
export async function snap2amiAsync(args: string[], env: Record<string, string> = {}): Promise<CliResult> {
  const { status, stdout, stderr } = await snap2amiRunning(args, env).exited;
  return { status, stdout, stderr };
}

/**
 * An environment with these shared config and credentials files (in a fresh folder) and no
 * other credentials: what the CLI meets on a machine with no AWS set up, or a given profile.
 */
export function awsFiles(config = '', credentials = ''): Record<string, string> {
  const dir = mkdtempSync(join(tmpdir(), 'snap2ami-aws-'));
  writeFileSync(join(dir, 'config'), config);
  writeFileSync(join(dir, 'credentials'), credentials);
  return {
    AWS_CONFIG_FILE: join(dir, 'config'),
    AWS_SHARED_CREDENTIALS_FILE: join(dir, 'credentials'),
    AWS_ACCESS_KEY_ID: '',
    AWS_SECRET_ACCESS_KEY: '',
    AWS_SESSION_TOKEN: '',
    AWS_PROFILE: '',
    AWS_EC2_METADATA_DISABLED: 'true',
  };
}
