/**
 * `npm run bench` (scenario bundles): each function's bundle as this checkout builds it, next
 * to the same function as a baseline commit built it (by default main before the lean bundles,
 * docs/adr/0011-bundles.md), in one run: its size, its size by package, and the median time to
 * load it in a fresh Node process (a cold-start proxy), with the environment the packaged
 * template gives that function (a reference to a resource becomes a placeholder name), so that
 * every bundle loads as it does in Lambda, INIT included.
 *
 * The baseline is the commit's own tree (`git archive`) built by its own scripts/build.ts,
 * with this checkout's node_modules. Loads alternate between the two builds, old first in
 * one round and new first in the next, so that a busy machine slows both alike.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, realpathSync, rmSync, statSync, symlinkSync } from 'node:fs';
import { availableParallelism, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { PROJECT_ROOT } from '../local/index.ts';
import { packagedTemplate, type Template } from '../local/stack-resources.ts';
import { buildFunctions } from '../scripts/build.ts';
import { median, table } from './format.ts';

/** main before the lean bundles (ADR 0011): every client and full zod in every bundle. */
export const BASELINE_COMMIT = '34f589d';
/** Issue 19's goals: bundle KiB (minified) per function, and the median load as a share of the baseline's. */
export const SIZE_GOALS_KIB: Readonly<Record<string, number>> = {
  image: 1700,
  lifecycle: 1700,
  ingest: 1500,
  reconcile: 1500,
};
export const LOAD_GOAL = 0.6;

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

/** The baseline commit's tree in a temporary folder, its bundles built there by its own build script. */
function buildBaseline(commit: string): string {
  const archive = spawnSync('git', ['-C', PROJECT_ROOT, 'archive', '--format=tar', commit], {
    maxBuffer: 1 << 30,
  });
  if (archive.status !== 0)
    throw new Error(
      `git archive ${commit} failed (a shallow clone lacks it: git fetch --unshallow, or pass --baseline):\n${archive.stderr}`,
    );
  const root = mkdtempSync(join(tmpdir(), 'snap2ami-baseline-'));
  const untar = spawnSync('tar', ['-x', '-C', root], { input: archive.stdout });
  if (untar.status !== 0) throw new Error(`tar failed:\n${untar.stderr}`);
  symlinkSync(realpathSync(join(PROJECT_ROOT, 'node_modules')), join(root, 'node_modules'));
  const built = spawnSync(process.execPath, [join(root, 'scripts', 'build.ts')], {
    cwd: root,
    encoding: 'utf8',
  });
  if (built.status !== 0) throw new Error(`the build of ${commit} failed:\n${built.stdout}${built.stderr}`);
  return root;
}

/** Milliseconds to import a bundle (its INIT included) in a fresh Node process. */
function loadTime(file: string, env: Record<string, string>): number {
  const script = `const t = performance.now(); await import(${JSON.stringify(file)}); console.log(performance.now() - t);`;
  const run = spawnSync(process.execPath, ['--input-type=module', '-e', script], {
    encoding: 'utf8',
    env: { ...process.env, ...env, AWS_REGION: 'us-east-1' },
  });
  if (run.status !== 0) throw new Error(`${file} did not load (its INIT failed):\n${run.stderr}`);
  return Number(run.stdout.trim());
}

const BASE64 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';

/** The numbers of one source-map segment (base64 VLQ). */
function segmentValues(text: string): number[] {
  const values: number[] = [];
  let value = 0;
  let shift = 0;
  for (const char of text) {
    const digit = BASE64.indexOf(char);
    value += (digit & 31) * 2 ** shift;
    if (digit & 32) shift += 5;
    else {
      values.push(value % 2 ? -(value - 1) / 2 : value / 2);
      value = 0;
      shift = 0;
    }
  }
  return values;
}

/** Who a source of the bundle belongs to: its package (node_modules/<package>), else the project's folder. */
function owner(source: string): string {
  const pkg = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(source)?.[1];
  return pkg ?? `snap2ami ${source.replace(/^(\.\.\/)+/, '').split('/')[0]}/`;
}

/**
 * A bundle's characters by package, from the source map the build writes beside it: the same
 * reading for both builds, whatever options made them. Code that maps to no source (esbuild's
 * glue) is left out.
 */
export function sizeByPackage(bundle: string): Map<string, number> {
  const map = JSON.parse(readFileSync(`${bundle}.map`, 'utf8')) as { sources: string[]; mappings: string };
  const lines = readFileSync(bundle, 'utf8').split('\n');
  const sizes = new Map<string, number>();
  let source = 0;
  map.mappings.split(';').forEach((line, index) => {
    let column = 0;
    const segments = line
      .split(',')
      .filter(Boolean)
      .map((segment) => {
        const [deltaColumn = 0, deltaSource, ...rest] = segmentValues(segment);
        column += deltaColumn;
        const mapped = deltaSource !== undefined && rest.length >= 2;
        if (mapped) source += deltaSource;
        return { column, source: mapped ? source : undefined };
      });
    const end = lines[index]?.length ?? 0;
    segments.forEach((segment, i) => {
      if (segment.source === undefined) return;
      const name = owner(map.sources[segment.source] ?? '');
      sizes.set(name, (sizes.get(name) ?? 0) + (segments[i + 1]?.column ?? end) - segment.column);
    });
  });
  return sizes;
}

const kib = (bytes: number) => Math.round(bytes / 1024);

/** One build of a function: its bundle's size and its median load. */
export interface Measured {
  bytes: number;
  loadMs: number;
}

/**
 * The table's rows, a header first: each function's sizes, loads and goals, old next to new. A
 * function the baseline lacks (added since) has no old figures and no load goal: "new" when its
 * size goal, if any, is met.
 */
export function bundleRows(
  functions: { name: string; old?: Measured; new: Measured }[],
): (string | number)[][] {
  const header = [
    'function',
    'old KiB',
    'new KiB',
    'goal KiB',
    'old load ms',
    'new load ms',
    'new/old',
    'goal',
    'goals',
  ];
  return [
    header,
    ...functions.map(({ name, old, new: now }) => {
      const goal = SIZE_GOALS_KIB[name];
      const sizeMet = goal === undefined || kib(now.bytes) <= goal;
      const sizeGoal = goal === undefined ? '-' : `<= ${goal}`;
      if (!old)
        return [
          name,
          '-',
          kib(now.bytes),
          sizeGoal,
          '-',
          now.loadMs.toFixed(0),
          '-',
          '-',
          sizeMet ? 'new' : 'MISSED',
        ];
      return [
        name,
        kib(old.bytes),
        kib(now.bytes),
        sizeGoal,
        old.loadMs.toFixed(0),
        now.loadMs.toFixed(0),
        `${((100 * now.loadMs) / old.loadMs).toFixed(0)}%`,
        `<= ${100 * LOAD_GOAL}%`,
        sizeMet && now.loadMs <= LOAD_GOAL * old.loadMs ? 'met' : 'MISSED',
      ];
    }),
  ];
}

export async function benchBundles(options: { runs: number; baseline: string }): Promise<void> {
  const envs = environments(await packagedTemplate((line) => console.error(line)));
  console.error(`building this checkout and ${options.baseline} …`);
  const names = Object.keys(await buildFunctions());
  const baseline = buildBaseline(options.baseline);
  try {
    const builds = { old: join(baseline, 'dist'), new: join(PROJECT_ROOT, 'dist') };
    const file = (build: keyof typeof builds, name: string) => join(builds[build], name, 'index.js');
    // A function added since the baseline (launchTest, resume) has no old bundle to compare with.
    const inBaseline = new Set(names.filter((name) => existsSync(file('old', name))));
    const buildsOf = (name: string, round: number) =>
      (round % 2 ? (['new', 'old'] as const) : (['old', 'new'] as const)).filter(
        (build) => build === 'new' || inBaseline.has(name),
      );
    const times: Record<string, { old: number[]; new: number[] }> = {};
    for (const name of names) times[name] = { old: [], new: [] };
    console.error(`loading each bundle ${options.runs} times per build …`);
    for (let round = 0; round < options.runs; round++)
      for (const name of names)
        for (const build of buildsOf(name, round))
          times[name]?.[build].push(loadTime(file(build, name), envs[name] ?? {}));

    const measured = (build: keyof typeof builds, name: string) => ({
      bytes: statSync(file(build, name)).size,
      loadMs: median(times[name]?.[build] ?? []),
    });
    const rows = bundleRows(
      names.map((name) => ({
        name,
        old: inBaseline.has(name) ? measured('old', name) : undefined,
        new: measured('new', name),
      })),
    );
    const load = loadavg()
      .map((n) => n.toFixed(1))
      .join(' ');
    console.log(
      `\nBundles, old (${options.baseline}) and new (this checkout): esbuild, minified ESM; median load of ` +
        `${options.runs} fresh processes each (Node ${process.versions.node}, ${availableParallelism()} cores, ` +
        `load average ${load})\n${table(rows)}`,
    );

    // KiB by package, old -> new, for every package of at least 16 KiB in some bundle.
    const sizes = names.map((name) => ({
      old: inBaseline.has(name) ? sizeByPackage(file('old', name)) : new Map<string, number>(),
      new: sizeByPackage(file('new', name)),
    }));
    const biggest = new Map<string, number>();
    for (const bundle of sizes)
      for (const byPackage of [bundle.old, bundle.new])
        for (const [pkg, size] of byPackage) biggest.set(pkg, Math.max(biggest.get(pkg) ?? 0, size));
    const packages = [...biggest]
      .filter(([, size]) => size >= 16 * 1024)
      .sort((a, b) => b[1] - a[1])
      .map(([pkg]) => pkg);
    const cell = (size: number | undefined) => (size ? String(kib(size)) : '-');
    console.log(
      `\nKiB by package, old -> new (from each bundle's source map)\n${table([
        ['package', ...names],
        ...packages.map((pkg) => [
          pkg,
          ...sizes.map((bundle) => `${cell(bundle.old.get(pkg))} -> ${cell(bundle.new.get(pkg))}`),
        ]),
      ])}`,
    );
  } finally {
    rmSync(baseline, { recursive: true, force: true });
  }
}
