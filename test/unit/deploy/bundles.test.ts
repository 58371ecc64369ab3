/**
 * What each function's bundle is made of, bundled as the build does (docs/adr/0011-bundles.md):
 * the SDK clients the function calls and no others, only the SDK schemas of what it sends,
 * and zod/mini, not full zod. A module that creates a client, imported for something else,
 * would bring its package back into every bundle that imports it.
 */
import { mkdtempSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  buildFunctions,
  bundledFiles,
  CHANGED_DURING_BUILD,
  currentBuild,
  functionNames,
  inputStamps,
  isCurrent,
  literalSchemaKeys,
} from '../../../scripts/build.ts';

/**
 * The clients each function calls (DynamoDB in image and lifecycle: throttle reports to admission
 * control; STS in image and ingest: other accounts' snapshots, read through their source reader role).
 */
const CLIENTS: Record<string, string[]> = {
  image: ['client-dynamodb', 'client-ec2', 'client-s3', 'client-ssm', 'client-sts'],
  ingest: ['client-dynamodb', 'client-ec2', 'client-sfn', 'client-sqs', 'client-sts'],
  launchTest: ['client-dynamodb', 'client-ec2', 'client-ssm'],
  resume: ['client-dynamodb', 'client-ec2', 'client-sfn'],
  lifecycle: ['client-dynamodb', 'client-ec2', 'client-ssm'],
  reconcile: ['client-dynamodb', 'client-ec2', 'client-sfn', 'client-sqs', 'client-ssm'],
};

describe('the bundles', () => {
  let files: Record<string, Record<string, number>>;
  beforeAll(async () => {
    files = await bundledFiles();
  }, 120_000);

  it('cover every function', () => {
    expect(Object.keys(CLIENTS).sort()).toEqual(functionNames());
    expect(Object.keys(files).sort()).toEqual(functionNames());
  });

  for (const [name, clients] of Object.entries(CLIENTS))
    it(`${name}: holds the clients it calls and no others, and no full zod`, () => {
      const inputs = Object.keys(files[name] ?? {});
      const bundled = new Set(inputs.flatMap((path) => /@aws-sdk\/(client-[^/]+)\//.exec(path)?.[1] ?? []));
      expect([...bundled].sort()).toEqual(clients);
      expect(inputs.filter((path) => /\/zod\/v4\/classic\//.test(path))).toEqual([]);
    });

  it("holds EC2's schemas of the commands a function sends, not all 3,400 (540 KiB)", () => {
    for (const [name, inputs] of Object.entries(files)) {
      const schemas = Object.entries(inputs).filter(([path]) =>
        path.includes('@aws-sdk/client-ec2/dist-es/schemas/'),
      );
      expect(schemas, name).toHaveLength(1);
      // RunInstances' and DescribeInstanceStatus's shapes make the launch test's the largest, 43 KiB.
      expect(schemas[0]?.[1], name).toBeLessThan(64 * 1024);
    }
  });
});

describe('the build', () => {
  it('is current until a file it read changes: then it bundles again', async () => {
    await buildFunctions();
    const names = functionNames();
    const record = currentBuild(names);
    expect(record).toBeDefined();
    const inputs = Object.keys(record?.inputs ?? {});
    // It read the functions' own files and the packages they use.
    expect(inputs).toContain('functions/resume/resume.ts');
    expect(inputs.some((path) => path.includes('@aws-sdk/client-ec2/'))).toBe(true);
    // A file whose stamp (mtime and size) is not the one recorded: the build is not current.
    const changed = { ...record, inputs: { ...record?.inputs, 'functions/resume/resume.ts': '0:0' } };
    expect(isCurrent(changed as NonNullable<typeof record>, names)).toBe(false);
    expect(isCurrent(record as NonNullable<typeof record>, names)).toBe(true);
    expect(isCurrent(record as NonNullable<typeof record>, [...names, 'other'])).toBe(false);
  }, 120_000);

  it('stamps a file changed after the build began as changed, so that the next check builds again', () => {
    const dir = mkdtempSync(join(tmpdir(), 'snap2ami-build-'));
    const [before, during] = [join(dir, 'before.ts'), join(dir, 'during.ts')];
    writeFileSync(before, 'export const a = 1;\n');
    writeFileSync(during, 'export const b = 1;\n');
    const builtFrom = Date.now();
    utimesSync(before, new Date(builtFrom - 60_000), new Date(builtFrom - 60_000));
    utimesSync(during, new Date(builtFrom + 500), new Date(builtFrom + 500));
    const stamps = inputStamps([before, during], builtFrom);
    expect(stamps[before]).toBe(`${statSync(before).mtimeMs}:${statSync(before).size}`);
    expect(stamps[during]).toBe(CHANGED_DURING_BUILD);
  });
});

describe('literalSchemaKeys', () => {
  it("writes a trait key as its constant's string, and leaves __proto__ and unknown names", () => {
    const source = [
      'const _xN = "xmlName";',
      'const _p = "__proto__";',
      'const n0 = "com.amazonaws.ec2";',
      'export var A$ = [3, n0, _A, 0, [_xN], [[0, { [_xN]: `a`, [_p]: 1, [_other]: 2, [n0]: 3 }]]];',
    ];
    expect(literalSchemaKeys(source.join('\n')).split('\n')).toEqual([
      ...source.slice(0, 3),
      'export var A$ = [3, n0, _A, 0, [_xN], [[0, { "xmlName": `a`, [_p]: 1, [_other]: 2, [n0]: 3 }]]];',
    ]);
  });
});
