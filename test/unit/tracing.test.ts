/**
 * Tracing is a no-op wherever Lambda is not: the clients the factory makes carry no X-Ray
 * instrumentation in tests, the CLI or the local harness, and carry it where Lambda runs them
 * (AWS_EXECUTION_ENV set), each in a fresh process, as a container starts. The bundles'
 * subsegments as Lambda would send them: test/unit/deploy/observability.test.ts.
 */
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { PROJECT_ROOT } from '../../local/index.ts';

/** The X-Ray middleware on each client of the factory, in a new process with `env`. */
function instrumentation(env: Record<string, string>): Record<string, string[]> {
  const modules = ['ec2', 'sfn', 'sqs', 'dynamodb', 'sns', 'ssm', 's3'].map((name) =>
    join(PROJECT_ROOT, 'shared', 'aws', `${name}.ts`),
  );
  const script = `
    const factory = Object.assign({}, ...(await Promise.all(${JSON.stringify(modules)}.map((m) => import(m)))));
    const names = ['ec2Client', 'workflowEc2Client', 'sfnClient', 'sqsClient', 'dynamoDbClient', 'snsClient', 'workflowS3Client', 'ssmClientIn', 'workflowSsmClientIn'];
    console.log(JSON.stringify(Object.fromEntries(names.map((name) => [
      name, factory[name]().middlewareStack.identify().filter((step) => /xray/i.test(step)),
    ]))));`;
  const result = spawnSync(process.execPath, ['--input-type=module', '-e', script], {
    encoding: 'utf8',
    env: { PATH: process.env.PATH, AWS_REGION: 'us-east-1', ...env },
    timeout: 30_000,
  });
  expect(result.status, result.stderr).toBe(0);
  return JSON.parse(result.stdout) as Record<string, string[]>;
}

// Each case starts fresh Node processes that load every client module: seconds on a busy machine.
describe('the client factory', () => {
  it('leaves every client untraced outside Lambda', () => {
    const steps = instrumentation({});
    expect(Object.keys(steps)).toHaveLength(9);
    for (const [name, found] of Object.entries(steps)) expect(found, name).toEqual([]);
  }, 30_000);

  it('traces every client in Lambda, and not when POWERTOOLS_TRACE_ENABLED=false', () => {
    for (const found of Object.values(instrumentation({ AWS_EXECUTION_ENV: 'AWS_Lambda_nodejs24.x' })))
      expect(found).toEqual(['XRaySDKInstrumentation - build']);
    const off = instrumentation({
      AWS_EXECUTION_ENV: 'AWS_Lambda_nodejs24.x',
      POWERTOOLS_TRACE_ENABLED: 'false',
    });
    for (const found of Object.values(off)) expect(found).toEqual([]);
  }, 30_000);
});
