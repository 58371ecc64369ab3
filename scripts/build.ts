/**
 * Bundles each Lambda handler (functions/<name>/handler.ts) with esbuild into
 * dist/<name>/index.js, an ES module (dist/<name>/package.json says so), for `serverless
 * package` and serverless-offline. Prints each bundle's size.
 *
 * A bundle holds what its function uses and little else (docs/adr/0011-bundles.md): the ES
 * builds of packages (`mainFields`), the SDK's schemas with literal keys (`literalSchemaKeys`),
 * one module per SDK client (shared/aws/), zod/mini (shared/zod.ts).
 *
 * Names are kept (`keepNames`): minified, a class would lose its name, and stack traces and
 * `error.constructor.name` would say `e`. The source map is written beside the bundle
 * (dist/<name>/index.js.map, four times its size) for reading stack traces, and is not
 * deployed: serverless.yml leaves `*.map` out of the artifacts (docs/operations.md, "Reading a stack trace").
 */
import { createHash } from 'node:crypto';
import {
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  renameSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { type BuildOptions, build, type Metafile, type Plugin, version } from 'esbuild';
import { PROJECT_ROOT } from '../local/paths.ts';

/**
 * The SDK's schemas with literal keys, so that esbuild drops the schemas of the commands a
 * function does not send. Each client's schemas_0.js writes its schemas' traits with computed
 * keys naming module constants (`const _xN = "xmlName"; … { [_xN]: _it }`), and esbuild keeps
 * every statement with a computed key, since evaluating one could have side effects: all of
 * client-ec2's 8,000 schemas (540 KiB) stayed in each bundle that sends any EC2 command.
 * Writing the constant's string in its place (`{ "xmlName": _it }`) makes the same object; it
 * is the fix proposed upstream for the code generator (aws/aws-sdk-js-v3#7607,
 * smithy-lang/smithy-typescript#1889), not in these clients' releases. A key whose constant is
 * not a plain string, or is `__proto__` (which a literal key would turn into the prototype), is
 * left as it is.
 */
export function literalSchemaKeys(text: string): string {
  const strings = new Map<string, string>();
  for (const [, name = '', literal = ''] of text.matchAll(/^const (_\w+) = ("[^"\\\n]*");$/gm))
    if (literal !== '"__proto__"') strings.set(name, literal);
  return text.replace(/\[(_\w+)\]:/g, (key, name: string) => {
    const literal = strings.get(name);
    return literal === undefined ? key : `${literal}:`;
  });
}

const schemaKeysPlugin: Plugin = {
  name: 'literal-schema-keys',
  setup(build) {
    build.onLoad(
      { filter: /[\\/]@aws-sdk[\\/].+[\\/]dist-es[\\/].*schemas[\\/]schemas_\d+\.js$/ },
      ({ path }) => ({
        contents: literalSchemaKeys(readFileSync(path, 'utf8')),
        loader: 'js',
      }),
    );
  },
};

/** The esbuild options of every function's bundle, its entry point and output file aside. */
const BUNDLE_OPTIONS = {
  bundle: true,
  platform: 'node',
  // The ES build of a package before its CommonJS one: esbuild drops what is not used from
  // an ES module, and keeps a CommonJS module whole (client-ec2's is 1 MiB, every command).
  mainFields: ['module', 'main'],
  target: 'node24',
  format: 'esm',
  minify: true,
  keepNames: true,
  sourcemap: 'linked',
  legalComments: 'none',
  // Some dependencies are CommonJS and call require(): give the ES module one.
  banner: {
    js: "import { createRequire as __cr } from 'node:module'; const require = __cr(import.meta.url);",
  },
  plugins: [schemaKeysPlugin],
  logLevel: 'warning',
} satisfies BuildOptions;

const handlerOf = (name: string) => join(PROJECT_ROOT, 'functions', name, 'handler.ts');

/** Where the last build's record is kept: in dist/, beside the bundles (a function packages only its own folder). */
const BUILD_RECORD = join(PROJECT_ROOT, 'dist', 'build-record.json');

export interface BuildRecord {
  /** This script and esbuild's version: a change to either builds again. */
  fingerprint: string;
  names: string[];
  /** Every file the last build read (esbuild's metafile): its mtime and size. */
  inputs: Record<string, string>;
  /** Each function's bundle: the files it holds code of, with the bytes of each. */
  bundled: Record<string, Record<string, number>>;
}

/** What a build's record keeps of a file it read (a path from the project's root): its mtime and size. */
const stat = (path: string) => statSync(resolve(PROJECT_ROOT, path), { throwIfNoEntry: false });
const stamp = (path: string, file = stat(path)) => `${file?.mtimeMs}:${file?.size}`;

/** A stamp that no file has: the next check finds the build stale. */
export const CHANGED_DURING_BUILD = 'changed during the build';

/**
 * The stamps of the files a build read, taken when it ended. A file changed since the build
 * began (saved while esbuild ran) may be in the bundle as it was before: it is stamped so that
 * the next check builds again, rather than take the old bundle for current. (File times lag
 * the clock by a few milliseconds at most, hence the margin.)
 */
export function inputStamps(paths: string[], builtFrom: number): Record<string, string> {
  return Object.fromEntries(
    paths.map((path) => {
      const file = stat(path);
      return [path, (file?.mtimeMs ?? 0) >= builtFrom - 10 ? CHANGED_DURING_BUILD : stamp(path, file)];
    }),
  );
}

function fingerprint(): string {
  return createHash('sha256')
    .update(readFileSync(fileURLToPath(import.meta.url)))
    .update(version)
    .digest('hex');
}

/** The last build's record, if its bundles are still those of every file it read (a make-like check). */
export function currentBuild(names: string[]): BuildRecord | undefined {
  let record: BuildRecord;
  try {
    record = JSON.parse(readFileSync(BUILD_RECORD, 'utf8')) as BuildRecord;
  } catch {
    return undefined;
  }
  return isCurrent(record, names) ? record : undefined;
}

/** The record is of this script, of these functions, with their bundles there, and no file it read has changed. */
export function isCurrent(record: BuildRecord, names: string[]): boolean {
  if (record.fingerprint !== fingerprint() || record.names.join() !== names.join()) return false;
  for (const name of names)
    for (const file of ['index.js', 'index.js.map', 'package.json'])
      if (!existsSync(join(PROJECT_ROOT, 'dist', name, file))) return false;
  return Object.entries(record.inputs).every(([path, was]) => stamp(path) === was);
}

/**
 * Bundles the functions into dist/<name>/index.js, all in one esbuild run (the packages they
 * share are parsed once), unless the last build's bundles are current: none of the files it
 * read has changed since (packaging, serverless-offline, the bench and the tests build again and
 * again, and a build is seconds of CPU). Returns each bundle's size.
 */
export async function buildFunctions(names = functionNames()): Promise<Record<string, number>> {
  await buildRecord(names);
  return Object.fromEntries(
    names.map((name) => [name, statSync(join(PROJECT_ROOT, 'dist', name, 'index.js')).size]),
  );
}

async function buildRecord(names: string[]): Promise<BuildRecord> {
  const current = currentBuild(names);
  if (current) return current;
  const builtFrom = Date.now();
  const { metafile } = await build({
    ...BUNDLE_OPTIONS,
    absWorkingDir: PROJECT_ROOT,
    entryPoints: Object.fromEntries(names.map((name) => [`${name}/index`, handlerOf(name)])),
    outdir: join(PROJECT_ROOT, 'dist'),
    metafile: true,
  });
  for (const name of names)
    writeFileSync(join(PROJECT_ROOT, 'dist', name, 'package.json'), '{"type":"module"}\n');
  const record: BuildRecord = {
    fingerprint: fingerprint(),
    names,
    inputs: inputStamps(Object.keys(metafile.inputs), builtFrom),
    bundled: bundledBy(metafile, names),
  };
  mkdirSync(dirname(BUILD_RECORD), { recursive: true });
  // Written whole, then renamed: a build that reads it meanwhile sees the old record or the new.
  const temporary = `${BUILD_RECORD}.${process.pid}`;
  writeFileSync(temporary, JSON.stringify(record));
  renameSync(temporary, BUILD_RECORD);
  return record;
}

/**
 * The files each function's bundle holds code of, with the bytes of each (the build's metafile;
 * a source map does not change what is bundled).
 */
export async function bundledFiles(names = functionNames()): Promise<Record<string, Record<string, number>>> {
  return (await buildRecord(names)).bundled;
}

function bundledBy(metafile: Metafile, names: string[]): Record<string, Record<string, number>> {
  const files: Record<string, Record<string, number>> = {};
  for (const [out, { entryPoint, inputs }] of Object.entries(metafile.outputs)) {
    const name = names.find((n) => out === `dist/${n}/index.js`);
    if (!entryPoint || !name) continue;
    files[name] = Object.fromEntries(
      Object.entries(inputs).flatMap(([path, { bytesInOutput }]) =>
        bytesInOutput > 0 ? [[path, bytesInOutput]] : [],
      ),
    );
  }
  return files;
}

export function functionNames(): string[] {
  return readdirSync(join(PROJECT_ROOT, 'functions'), { withFileTypes: true })
    .filter((entry) => entry.isDirectory())
    .map((entry) => entry.name)
    .sort();
}

if (import.meta.main) {
  const sizes = await buildFunctions();
  for (const [name, size] of Object.entries(sizes))
    console.log(`built dist/${name}/index.js  ${(size / 1024).toFixed(0)} KiB`);
}
