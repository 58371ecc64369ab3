/** A Lambda handler called as Lambda calls it, with what it writes to stdout captured. */
import { vi } from 'vitest';

export interface Captured {
  result?: Record<string, unknown>;
  error?: Error;
  /** Each metric it published (embedded metric format), summed over its documents. */
  metrics: Record<string, number>;
  /** Each metric's unit (`Count`, `Milliseconds`, …). */
  units: Record<string, string>;
  /** Everything it wrote: its log lines and metric documents. */
  output: string;
}

/** Runs `call` with stdout captured: its result or error, the metrics it published, and its output. */
export async function capture(call: () => Promise<unknown>): Promise<Captured> {
  const lines: string[] = [];
  const write = vi.spyOn(process.stdout, 'write').mockImplementation((chunk) => {
    lines.push(String(chunk));
    return true;
  });
  let outcome: Pick<Captured, 'result' | 'error'>;
  try {
    outcome = { result: (await call()) as Record<string, unknown> };
  } catch (error) {
    outcome = { error: error as Error };
  } finally {
    write.mockRestore();
  }
  const output = lines.join('');
  const metrics: Record<string, number> = {};
  const units: Record<string, string> = {};
  for (const line of output.split('\n')) {
    if (!line.includes('"_aws"')) continue;
    const document = JSON.parse(line) as Record<string, number> & {
      _aws: { CloudWatchMetrics: { Metrics: { Name: string; Unit: string }[] }[] };
    };
    for (const { Name, Unit } of document._aws.CloudWatchMetrics.flatMap((m) => m.Metrics)) {
      metrics[Name] = (metrics[Name] ?? 0) + Number(document[Name]);
      units[Name] = Unit;
    }
  }
  return { ...outcome, metrics, units, output };
}
