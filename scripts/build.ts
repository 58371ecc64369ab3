/**
 * Bundles each Lambda handler (functions/<name>/handler.ts) with esbuild into
 * dist/<name>/index.js, an ES module (dist/<name>/package.json says so), for `serverless
 * package` and serverless-offline. Prints each bundle's size.
 *
 * Names are kept (`keepNames`): minified, a class would lose its name, and stack traces and
 * `error.constructor.name` would say `e`. The source map is written beside the bundle
 * (dist/<name>/index.js.map, four times its size) for reading stack traces, and is not
 * deployed: serverless.yml leaves `*.map` out of the artifacts (docs/operations.md, "Reading a stack trace").
 */
import { readdirSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { build } from 'esbuild';
import { PROJECT_ROOT } from '../local/paths.ts';

export async function buildFunctions(names = functionNames()): Promise<Record<string, number>> {
  const sizes: Record<string, number> = {};
  for (const name of names) {
    const outdir = join(PROJECT_ROOT, 'dist', name);
    await build({
      entryPoints: [join(PROJECT_ROOT, 'functions', name, 'handler.ts')],
      outfile: join(outdir, 'index.js'),
      bundle: true,
      platform: 'node',
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
      logLevel: 'warning',
    });
    writeFileSync(join(outdir, 'package.json'), '{"type":"module"}\n');
    sizes[name] = statSync(join(outdir, 'index.js')).size;
  }
  return sizes;
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
