/**
 * Runs snap2ami in this process, as bin/snap2ami runs it (cli/main.ts `run`), and captures what
 * it prints: for the tests of help and usage errors, which need no process of their own. What a
 * run changes in the process (environment, exit status, output streams) is put back afterwards.
 */
import { run } from '../../cli/main.ts';
import type { CliResult } from './cli.ts';

/** Thrown in place of process.exit: commander exits after help, the version and a usage error. */
class Exit extends Error {
  readonly status: number;
  constructor(status: number) {
    super(`process.exit(${status})`);
    this.status = status;
  }
}

export async function snap2amiInProcess(
  args: string[],
  env: Record<string, string> = {},
): Promise<CliResult> {
  const saved = {
    env: { ...process.env },
    exit: process.exit,
    exitCode: process.exitCode,
    stdout: process.stdout.write,
    stderr: process.stderr.write,
    tty: [process.stdout.isTTY, process.stderr.isTTY],
  };
  const output = { stdout: '', stderr: '' };
  const capture = (stream: 'stdout' | 'stderr') =>
    ((chunk: string | Uint8Array) => {
      output[stream] += typeof chunk === 'string' ? chunk : Buffer.from(chunk).toString();
      return true;
    }) as typeof process.stdout.write;
  Object.assign(process.env, env);
  process.exitCode = undefined;
  process.exit = ((code?: number) => {
    throw new Exit(code ?? 0);
  }) as typeof process.exit;
  process.stdout.write = capture('stdout');
  process.stderr.write = capture('stderr');
  // As when spawned with pipes: commander wraps help at 80 columns when its output is no terminal.
  process.stdout.isTTY = false;
  process.stderr.isTTY = false;
  let status: number;
  try {
    await run(['node', 'snap2ami', ...args]);
    status = Number(process.exitCode ?? 0);
  } catch (error) {
    if (!(error instanceof Exit)) throw error;
    status = error.status;
  } finally {
    for (const key of Object.keys(process.env)) if (!(key in saved.env)) delete process.env[key];
    Object.assign(process.env, saved.env);
    process.exit = saved.exit;
    process.exitCode = saved.exitCode;
    process.stdout.write = saved.stdout;
    process.stderr.write = saved.stderr;
    [process.stdout.isTTY, process.stderr.isTTY] = saved.tty as [boolean, boolean];
  }
  return { status, ...output };
}
