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
import { readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { type BuildOptions, build, type Plugin } from 'esbuild';
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

export async function buildFunctions(names = functionNames()): Promise<Record<string, number>> {
  const sizes: Record<string, number> = {};
  for (const name of names) {
    const outfile = join(PROJECT_ROOT, 'dist', name, 'index.js');
    await build({ ...BUNDLE_OPTIONS, entryPoints: [handlerOf(name)], outfile });
    writeFileSync(join(PROJECT_ROOT, 'dist', name, 'package.json'), '{"type":"module"}\n');
    sizes[name] = statSync(outfile).size;
  }
  return sizes;
}

/**
 * The files each function's bundle holds code of, with the bytes of each, bundled as the build
 * does but in memory, without source maps, and in one esbuild run (the packages are parsed once
 * for all).
 */
export async function bundledFiles(names = functionNames()): Promise<Record<string, Record<string, number>>> {
  const { metafile } = await build({
    ...BUNDLE_OPTIONS,
    entryPoints: Object.fromEntries(names.map((name) => [name, handlerOf(name)])),
    outdir: join(PROJECT_ROOT, 'dist'),
    sourcemap: false,
    write: false,
    metafile: true,
  });
  const files: Record<string, Record<string, number>> = {};
  for (const [out, { entryPoint, inputs }] of Object.entries(metafile.outputs)) {
    const name = names.find((n) => out.endsWith(`dist/${n}.js`));
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
