/**
 * `npm run bench` (scenario bundles): each function's bundle size and the median time to load
 * it in a fresh Node process (a cold-start proxy).
 */
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { PROJECT_ROOT } from '../local/index.ts';
import { buildFunctions } from '../scripts/build.ts';
import { median, table } from './format.ts';

export async function benchBundles(): Promise<void> {
  const sizes = await buildFunctions();
  const rows: (string | number)[][] = [['function', 'bundle KiB', 'median load ms (7 fresh processes)']];
  for (const [name, size] of Object.entries(sizes)) {
    const file = join(PROJECT_ROOT, 'dist', name, 'index.js');
    const times: number[] = [];
    for (let i = 0; i < 7; i++) {
      const script = `const t = performance.now(); await import(${JSON.stringify(file)}); console.log(performance.now() - t);`;
      const run = spawnSync(process.execPath, ['--input-type=module', '-e', script], {
        encoding: 'utf8',
        env: {
          ...process.env,
          AWS_REGION: 'us-east-1',
          ADMISSION_TABLE_NAME: 'bench',
          STATE_MACHINE_NAME: 'bench',
          DEAD_LETTER_QUEUE_NAME: 'bench',
        },
      });
      times.push(Number(run.stdout.trim()));
    }
    rows.push([name, (size / 1024).toFixed(0), median(times).toFixed(1)]);
  }
  console.log(`\nBundles (esbuild, minified ESM, Node ${process.versions.node})\n${table(rows)}`);
}
