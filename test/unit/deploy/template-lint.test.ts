/**
 * cfn-lint and checkov over the packaged template, offline (in a network namespace with no
 * network where the machine allows one), as installed by scripts/bootstrap from
 * requirements-lint.txt into .venv-lint. Findings are fixed in the template or accepted there
 * with a reason (resources/observability.yml: Metadata cfn-lint / checkov); a finding left
 * unexplained fails here. Each linter is also shown a template with a known fault, so that a
 * linter that checks nothing cannot pass.
 */
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { PROJECT_ROOT } from '../../../local/index.ts';
import { packageService, TEMPLATE_PATH } from '../../support/package.ts';

const TOOLS = join(PROJECT_ROOT, '.venv-lint', 'bin');
type Tool = 'cfn-lint' | 'checkov';
/** Each linter's one run, over the packaged template and the faulty ones made for it. */
const runs = {} as Record<Tool, LintRun>;
/** The packaged template's path. */
let template: string;
/** The member accounts' template (StackSets: docs/organizations.md), linted in the same runs. */
const MEMBER_TEMPLATE = join(PROJECT_ROOT, 'deploy', 'member-account.yml');
/** The name of each linter's copy of the template with a fault it must find. */
const FAULTY: Record<Tool, string> = { 'cfn-lint': 'cfn-lint-fault.json', checkov: 'checkov-fault.json' };

beforeAll(async () => {
  if (!existsSync(join(TOOLS, 'checkov')) || !existsSync(join(TOOLS, 'cfn-lint')))
    throw new Error(
      'cfn-lint and checkov are not installed in .venv-lint: run scripts/bootstrap --dev (npm test does)',
    );
  template = join((await packageService()).root, TEMPLATE_PATH);
  const dir = mkdtempSync(join(tmpdir(), 'snap2ami-lint-'));
  const faulty = (
    tool: Tool,
    change: (template: { Resources: Record<string, Record<string, unknown>> }) => void,
  ) => {
    const copy = JSON.parse(readFileSync(template, 'utf8')) as {
      Resources: Record<string, Record<string, unknown>>;
    };
    change(copy);
    const path = join(dir, FAULTY[tool]);
    writeFileSync(path, JSON.stringify(copy, null, 2));
    return path;
  };
  const cfnFault = faulty('cfn-lint', (t) => {
    (t.Resources.DeadLetterQueueAlarm?.Properties as Record<string, unknown>).AlarmActions = [
      { Ref: 'NoSuchTopic' },
    ];
  });
  const checkovFault = faulty('checkov', (t) => {
    const bucket = t.Resources.ServerlessDeploymentBucket?.Properties as Record<string, unknown>;
    delete bucket.PublicAccessBlockConfiguration;
  });
  // Each linter once, over both of its templates (checkov's start-up is most of its time), the
  // two at the same time.
  [runs['cfn-lint'], runs.checkov] = await Promise.all([
    lint('cfn-lint', ['--format', 'json', template, cfnFault, MEMBER_TEMPLATE]),
    lint('checkov', [
      ...['-f', template, '-f', checkovFault, '-f', MEMBER_TEMPLATE],
      ...['--framework', 'cloudformation', '-o', 'json', '--compact', '--skip-download'],
    ]),
  ]);
}, 360_000);

interface LintRun {
  status: number | null;
  /** The report (JSON). */
  stdout: string;
  /** Anything else the linter said: empty when all is well. */
  stderr: string;
}

/** Runs a linter, with no network where the machine allows it. */
function lint(tool: Tool, args: string[]): Promise<LintRun> {
  const isolated = spawnSync('unshare', ['-n', 'true']).status === 0;
  const argv = isolated ? ['unshare', '-n', join(TOOLS, tool), ...args] : [join(TOOLS, tool), ...args];
  const child = spawn(argv[0] as string, argv.slice(1), {
    env: { PATH: process.env.PATH, HOME: mkdtempSync(join(tmpdir(), 'snap2ami-lint-home-')) },
    timeout: 300_000,
  });
  const output = { stdout: '', stderr: '' };
  child.stdout.on('data', (chunk) => {
    output.stdout += chunk;
  });
  child.stderr.on('data', (chunk) => {
    output.stderr += chunk;
  });
  return new Promise((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (status) => resolve({ status, ...output }));
  });
}

/** cfn-lint's findings (all levels, informational ones too) in one of the templates it was given. */
function cfnLintFindings(file: string): { Rule: { Id: string }; Message: string; Level: string }[] {
  const { stdout, stderr } = runs['cfn-lint'];
  expect(stderr).toBe('');
  const findings = JSON.parse(stdout) as {
    Filename: string;
    Rule: { Id: string };
    Message: string;
    Level: string;
  }[];
  return findings.filter((finding) => basename(finding.Filename) === file);
}

interface CheckovResult {
  check_id: string;
  resource: string;
  file_path: string;
  check_result: { suppress_comment?: string };
}
interface CheckovReport {
  summary: { passed: number; failed: number; skipped: number; parsing_errors: number };
  results: {
    passed_checks?: CheckovResult[];
    failed_checks?: CheckovResult[];
    skipped_checks?: CheckovResult[];
  };
}

/** checkov's report, its checks narrowed to one of the templates it was given. */
function checkovReport(file: string): {
  passed: CheckovResult[];
  failed: CheckovResult[];
  skipped: CheckovResult[];
  parsingErrors: number;
} {
  const { stdout, stderr, status } = runs.checkov;
  const start = stdout.indexOf('{');
  expect(start, `checkov printed no report (exit ${status}):\n${stdout}${stderr}`).toBeGreaterThanOrEqual(0);
  const report = JSON.parse(stdout.slice(start)) as CheckovReport;
  const of = (checks: CheckovResult[] = []) => checks.filter((check) => basename(check.file_path) === file);
  return {
    passed: of(report.results.passed_checks),
    failed: of(report.results.failed_checks),
    skipped: of(report.results.skipped_checks),
    parsingErrors: report.summary.parsing_errors,
  };
}

describe('cfn-lint', () => {
  it('finds nothing in the packaged template', () => {
    expect(cfnLintFindings(basename(template))).toEqual([]);
  });

  it("finds nothing in the member accounts' template (deploy/member-account.yml)", () => {
    expect(cfnLintFindings(basename(MEMBER_TEMPLATE))).toEqual([]);
  });

  it('does find a fault: a reference to a resource that does not exist', () => {
    expect(runs['cfn-lint'].status).not.toBe(0);
    const findings = cfnLintFindings(FAULTY['cfn-lint']);
    expect(findings.map((finding) => finding.Message).join('\n')).toContain('NoSuchTopic');
  });
});

describe('checkov', () => {
  it('fails nothing in the packaged template, and every check it skips says why', () => {
    const report = checkovReport(basename(template));
    expect(report.failed).toEqual([]);
    expect(report.parsingErrors).toBe(0);
    expect(report.passed.length).toBeGreaterThan(40);
    for (const skipped of report.skipped)
      expect(
        skipped.check_result.suppress_comment?.length ?? 0,
        `${skipped.check_id} ${skipped.resource}`,
      ).toBeGreaterThan(40);
  });

  it("fails nothing in the member accounts' template (deploy/member-account.yml), and skips nothing", () => {
    const report = checkovReport(basename(MEMBER_TEMPLATE));
    expect(report.failed).toEqual([]);
    expect(report.skipped).toEqual([]);
    expect(report.passed.length).toBeGreaterThan(10);
  });

  it('does find a fault: the deployment bucket without its public access block', () => {
    expect(checkovReport(FAULTY.checkov).failed.map((check) => check.check_id)).toEqual(
      expect.arrayContaining(['CKV_AWS_53', 'CKV_AWS_54', 'CKV_AWS_55', 'CKV_AWS_56']),
    );
  });
});
