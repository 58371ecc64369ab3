/**
 * `npm run bench` (scenario bundles): each function's bundle size and the median time to load
 * it in a fresh Node process (a cold-start proxy), with the environment the packaged template
 * gives that function (a reference to a resource becomes a placeholder name), so that every
 * bundle loads as it does in Lambda, INIT included.
 */
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { PROJECT_ROOT } from '../local/index.ts';
import { packagedTemplate, type Template } from '../local/stack-resources.ts';
import { buildFunctions } from '../scripts/build.ts';
import { median, table } from './format.ts';

/** Each function's environment in the template, by its bundle's folder (Handler dist/<name>/index.handler). */
function environments(template: Template): Record<string, Record<string, string>> {
  const out: Record<string, Record<string, string>> = {};
  for (const { Type, Properties } of Object.values(template.Resources)) {
    if (Type !== 'AWS::Lambda::Function') continue;
    const name = /^dist\/([^/]+)\//.exec(String(Properties.Handler))?.[1];
    const variables = (Properties.Environment as { Variables?: Record<string, unknown> } | undefined)
      ?.Variables;
    if (!name) continue;
    out[name] = Object.fromEntries(
      Object.entries(variables ?? {}).map(([key, value]) => [
        key,
        typeof value === 'string' ? value : 'bench',
      ]),
    );
  }
  return out;
}

export async function benchBundles(): Promise<void> {
  const envs = environments(await packagedTemplate((line) => console.error(line)));
  const sizes = await buildFunctions();
  const rows: (string | number)[][] = [['function', 'bundle KiB', 'median load ms (7 fresh processes)']];
  for (const [name, size] of Object.entries(sizes)) {
    const file = join(PROJECT_ROOT, 'dist', name, 'index.js');
    const times: number[] = [];
    for (let i = 0; i < 7; i++) {
      const script = `const t = performance.now(); await import(${JSON.stringify(file)}); console.log(performance.now() - t);`;
      const run = spawnSync(process.execPath, ['--input-type=module', '-e', script], {
        encoding: 'utf8',
        env: { ...process.env, ...envs[name], AWS_REGION: 'us-east-1' },
      });
      if (run.status !== 0) throw new Error(`dist/${name} did not load (its INIT failed):\n${run.stderr}`);
      times.push(Number(run.stdout.trim()));
    }
    rows.push([name, (size / 1024).toFixed(0), median(times).toFixed(1)]);
  }
  console.log(`\nBundles (esbuild, minified ESM, Node ${process.versions.node})\n${table(rows)}`);
}
