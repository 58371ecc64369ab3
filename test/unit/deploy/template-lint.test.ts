/**
 * cfn-lint and checkov over the packaged template, offline (in a network namespace with no
 * network where the machine allows one), as installed by scripts/bootstrap from
 * requirements-lint.txt into .venv-lint. Findings are fixed in the template or accepted there
 * with a reason (resources/observability.yml: Metadata cfn-lint / checkov); a finding left
 * unexplained fails here. Each linter is also shown a template with a known fault, so that a
 * linter that checks nothing cannot pass.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { PROJECT_ROOT } from '../../../local/index.ts';
import { packageService } from '../../support/package.ts';

const TOOLS = join(PROJECT_ROOT, '.venv-lint', 'bin');
const TEMPLATE = join(PROJECT_ROOT, '.serverless', 'cloudformation-template-update-stack.json');
let template: string;

beforeAll(async () => {
  if (!existsSync(join(TOOLS, 'checkov')) || !existsSync(join(TOOLS, 'cfn-lint')))
    throw new Error(
      'cfn-lint and checkov are not installed in .venv-lint: run scripts/bootstrap (npm test does)',
    );
  await packageService();
  template = readFileSync(TEMPLATE, 'utf8');
}, 180_000);

/** Runs a linter on a template, with no network where the machine allows it. */
function lint(tool: 'cfn-lint' | 'checkov', path: string): { status: number | null; output: string } {
  const args =
    tool === 'cfn-lint'
      ? [path]
      : ['-f', path, '--framework', 'cloudformation', '-o', 'json', '--compact', '--skip-download'];
  const isolated = spawnSync('unshare', ['-n', 'true']).status === 0;
  const argv = isolated ? ['unshare', '-n', join(TOOLS, tool), ...args] : [join(TOOLS, tool), ...args];
  const result = spawnSync(argv[0] as string, argv.slice(1), {
    encoding: 'utf8',
    env: { PATH: process.env.PATH, HOME: mkdtempSync(join(tmpdir(), 'snap2ami-lint-home-')) },
    timeout: 120_000,
    maxBuffer: 64 * 1024 * 1024, // checkov's JSON report names every check it ran
  });
  return { status: result.status, output: `${result.stdout}${result.stderr}` };
}

/** The template with `change` made to it, written beside the real one. */
function faulty(change: (template: { Resources: Record<string, Record<string, unknown>> }) => void): string {
  const copy = JSON.parse(template) as { Resources: Record<string, Record<string, unknown>> };
  change(copy);
  const path = join(mkdtempSync(join(tmpdir(), 'snap2ami-lint-')), 'template.json');
  writeFileSync(path, JSON.stringify(copy, null, 2));
  return path;
}

interface CheckovReport {
  summary: { passed: number; failed: number; skipped: number; parsing_errors: number };
  results: {
    failed_checks?: { check_id: string; resource: string }[];
    skipped_checks?: { check_id: string; resource: string; check_result: { suppress_comment?: string } }[];
  };
}

describe('cfn-lint', () => {
  it('finds nothing in the packaged template', () => {
    const { status, output } = lint('cfn-lint', TEMPLATE);
    expect(output).toBe('');
    expect(status).toBe(0);
  }, 120_000);

  it('does find a fault: a reference to a resource that does not exist', () => {
    const path = faulty((t) => {
      (t.Resources.DeadLetterQueueAlarm?.Properties as Record<string, unknown>).AlarmActions = [
        { Ref: 'NoSuchTopic' },
      ];
    });
    const { status, output } = lint('cfn-lint', path);
    expect(status).not.toBe(0);
    expect(output).toContain('NoSuchTopic');
  }, 120_000);
});

describe('checkov', () => {
  it('fails nothing in the packaged template, and every check it skips says why', () => {
    const { output } = lint('checkov', TEMPLATE);
    const report = JSON.parse(output.slice(output.indexOf('{'))) as CheckovReport;
    expect(report.results.failed_checks ?? []).toEqual([]);
    expect(report.summary).toMatchObject({ failed: 0, parsing_errors: 0 });
    expect(report.summary.passed).toBeGreaterThan(40);
    for (const skipped of report.results.skipped_checks ?? [])
      expect(
        skipped.check_result.suppress_comment?.length ?? 0,
        `${skipped.check_id} ${skipped.resource}`,
      ).toBeGreaterThan(40);
  }, 120_000);

  it('does find a fault: the deployment bucket without its public access block', () => {
    const path = faulty((t) => {
      const bucket = t.Resources.ServerlessDeploymentBucket?.Properties as Record<string, unknown>;
      delete bucket.PublicAccessBlockConfiguration;
    });
    const { output } = lint('checkov', path);
    const report = JSON.parse(output.slice(output.indexOf('{'))) as CheckovReport;
    expect((report.results.failed_checks ?? []).map((check) => check.check_id)).toEqual(
      expect.arrayContaining(['CKV_AWS_53', 'CKV_AWS_54', 'CKV_AWS_55', 'CKV_AWS_56']),
    );
  }, 120_000);
});
