/**
 * What each function's bundle is made of, bundled as the build does (docs/adr/0011-bundles.md):
 * the SDK clients the function calls and no others, and zod/mini, not full zod. A module that
 * creates a client, imported for something else, would bring its package back into every
 * bundle that imports it.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { bundledFiles, functionNames } from '../../../scripts/build.ts';

/** The clients each function calls (DynamoDB in image and lifecycle: throttle reports to admission control). */
const CLIENTS: Record<string, string[]> = {
  image: ['client-dynamodb', 'client-ec2', 'client-s3', 'client-ssm'],
  ingest: ['client-dynamodb', 'client-ec2', 'client-sfn', 'client-sqs'],
  lifecycle: ['client-dynamodb', 'client-ec2', 'client-ssm'],
  reconcile: ['client-dynamodb', 'client-ec2', 'client-sfn', 'client-sqs', 'client-ssm'],
};

describe('the bundles', () => {
  let files: Record<string, string[]>;
  beforeAll(async () => {
    files = await bundledFiles();
  }, 120_000);

  it('cover every function', () => {
    expect(Object.keys(CLIENTS).sort()).toEqual(functionNames());
    expect(Object.keys(files).sort()).toEqual(functionNames());
  });

  for (const [name, clients] of Object.entries(CLIENTS))
    it(`${name}: holds the clients it calls and no others, and no full zod`, () => {
      const inputs = files[name] ?? [];
      const bundled = new Set(inputs.flatMap((path) => /@aws-sdk\/(client-[^/]+)\//.exec(path)?.[1] ?? []));
      expect([...bundled].sort()).toEqual(clients);
      expect(inputs.filter((path) => /\/zod\/v4\/classic\//.test(path))).toEqual([]);
    });
});
