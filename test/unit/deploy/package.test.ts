/** `serverless package` works offline and yields the template that deploys. */
import { beforeAll, describe, expect, it } from 'vitest';
import { iamStatements, packageService, type Template } from '../../support/package.ts';

let template: Template;
let output: string;

beforeAll(() => {
  ({ template, output } = packageService());
}, 180_000);

describe('serverless package', () => {
  it('succeeds offline (in a network namespace with no network, where the machine allows one)', () => {
    expect(output).toContain('Service packaged');
    expect(output).not.toMatch(/credentials|ENOTFOUND|ECONNREFUSED/i);
  });

  it('deploys the ingest function on the Node 24 runtime, bundled as an ES module', () => {
    const ingest = template.Resources.IngestLambdaFunction;
    expect(ingest?.Type).toBe('AWS::Lambda::Function');
    expect(ingest?.Properties).toMatchObject({
      Runtime: 'nodejs24.x',
      Handler: 'dist/ingest/index.handler',
      Architectures: ['arm64'],
    });
  });

  it('has no IAM statement with a wildcard action', () => {
    const statements = iamStatements(template);
    expect(statements.length).toBeGreaterThan(0);
    for (const { resource, statement } of statements) {
      const actions = [statement.Action ?? statement.NotAction].flat() as string[];
      expect(
        actions.filter((action) => action.includes('*')),
        `${resource}: ${JSON.stringify(statement)}`,
      ).toEqual([]);
    }
  });
});
