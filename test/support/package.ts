/**
 * Runs `npm run package` (build + `serverless package`, offline) once per test run and reads the
 * template; runs packaging and deploying commands that are expected to fail.
 */
import { spawnSync } from 'node:child_process';
import { cpSync, existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { inject } from 'vitest';
import { PROJECT_ROOT, withPackageLock } from '../../local/index.ts';

export interface Template {
  Resources: Record<string, { Type: string; Properties: Record<string, unknown> }>;
  Outputs?: Record<string, unknown>;
}

/** Whether this machine lets a process run without any network (to prove packaging is offline). */
function canIsolateNetwork(): boolean {
  return spawnSync('unshare', ['-n', 'true']).status === 0;
}

export interface Packaged {
  template: Template;
  /** What `npm run package` printed. */
  output: string;
  /** Whether it ran with no network. */
  isolated: boolean;
  /** A folder laid out as the project after packaging: `.serverless/` (template, zip files) and `dist/`. */
  root: string;
}

/** The packaged template's path in a Packaged's root. */
export const TEMPLATE_PATH = join('.serverless', 'cloudformation-template-update-stack.json');

/**
 * The service packaged by this test run: packaged by the first test file that asks, copied to
 * the run's folder (test/setup/package.ts) and read from there by the others. A copy, so that a
 * test that packages again (with bad parameters, say) never changes what the others read.
 * Without that folder (a project with no such setup), it packages now, in the project.
 */
export function packageService(): Promise<Packaged> {
  const shared = inject('packagedDir');
  return withPackageLock(() => {
    if (!shared) return { ...packageNow(), root: PROJECT_ROOT };
    const done = join(shared, 'packaged.json');
    if (!existsSync(done)) {
      const { output, isolated } = packageNow();
      for (const dir of ['.serverless', 'dist'])
        cpSync(join(PROJECT_ROOT, dir), join(shared, dir), { recursive: true });
      writeFileSync(done, JSON.stringify({ output, isolated }));
    }
    const { output, isolated } = JSON.parse(readFileSync(done, 'utf8')) as {
      output: string;
      isolated: boolean;
    };
    return { template: readTemplate(shared), output, isolated, root: shared };
  });
}

function packageNow(): { template: Template; output: string; isolated: boolean } {
  const { status, output, isolated } = runServerless(['npm', 'run', 'package']);
  if (status !== 0) throw new Error(`npm run package failed (${status}):\n${output}`);
  return { template: readTemplate(PROJECT_ROOT), output, isolated };
}

const readTemplate = (root: string) =>
  JSON.parse(readFileSync(join(root, TEMPLATE_PATH), 'utf8')) as Template;

/**
 * Runs a packaging or deploying command in the project (holding the packaging lock), with no
 * network where the machine allows it and with credentials that AWS refuses, so that not
 * even a broken test can change an AWS account.
 */
export function runPackaging(command: string[]): Promise<{ status: number | null; output: string }> {
  return withPackageLock(() => runServerless(command));
}

function runServerless(command: string[]): { status: number | null; output: string; isolated: boolean } {
  const isolated = canIsolateNetwork();
  const argv = isolated ? ['unshare', '-n', ...command] : command;
  const { AWS_PROFILE: _profile, AWS_SESSION_TOKEN: _token, ...env } = process.env;
  const result = spawnSync(argv[0] as string, argv.slice(1), {
    cwd: PROJECT_ROOT,
    encoding: 'utf8',
    env: {
      ...env,
      AWS_SDK_JS_SUPPRESS_MAINTENANCE_MODE_MESSAGE: '1',
      AWS_ACCESS_KEY_ID: 'testing',
      AWS_SECRET_ACCESS_KEY: 'testing',
      AWS_SHARED_CREDENTIALS_FILE: '/dev/null',
      AWS_CONFIG_FILE: '/dev/null',
    },
    timeout: 180_000,
  });
  return { status: result.status, output: `${result.stdout}\n${result.stderr}`, isolated };
}

/** Every IAM policy statement in the template, with where it stands. */
export function iamStatements(
  template: Template,
): { resource: string; statement: Record<string, unknown> }[] {
  const statements: { resource: string; statement: Record<string, unknown> }[] = [];
  for (const [name, resource] of Object.entries(template.Resources)) {
    const policies =
      (resource.Properties?.Policies as { PolicyDocument: { Statement: Record<string, unknown>[] } }[]) ?? [];
    const documents = [...policies.map((policy) => policy.PolicyDocument)];
    if (resource.Type === 'AWS::IAM::Policy' || resource.Type === 'AWS::IAM::ManagedPolicy') {
      documents.push(resource.Properties.PolicyDocument as { Statement: Record<string, unknown>[] });
    }
    for (const document of documents)
      for (const statement of document.Statement) statements.push({ resource: name, statement });
  }
  return statements;
}
