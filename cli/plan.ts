/**
 * `snap2ami plan`: what a set of snapshots (and optionally an event) yields under the tag
 * contract, as JSON or as a readable summary. Exit 0 when nothing was rejected, 2 when
 * something was, 1 when the input is unusable.
 */
import { readFile } from 'node:fs/promises';
import { planGroups } from '../shared/contract/plan.ts';
import type { PlannerSettings, PlanReport } from '../shared/contract/types.ts';
import { parseEvent } from '../shared/events.ts';
import { parseDescribeSnapshots, type Snapshot } from '../shared/snapshot.ts';
import { CliError } from './errors.ts';
import { formatReport } from './format.ts';
import { type ContractOptions, contractSettings } from './options.ts';

/** The command's options; the deployment's (prefix, accounts, bounds) as the functions have them. */
export interface PlanOptions extends ContractOptions {
  snapshots: string;
  event?: string;
  account?: string;
  region?: string;
  json?: boolean;
}

export async function runPlan(
  options: PlanOptions,
  env: NodeJS.ProcessEnv,
): Promise<{ output: string; exitCode: number }> {
  const snapshots = parseSnapshotsFile(await readJson(options.snapshots, '--snapshots'), options.snapshots);
  const event = options.event === undefined ? undefined : await readJson(options.event, '--event');
  if (options.event !== undefined) checkIsEvent(event, options.event);
  const report = plan(snapshots, event, options, env);
  const output = options.json ? `${JSON.stringify(report, null, 2)}\n` : formatReport(report);
  return { output, exitCode: report.rejected.length > 0 ? 2 : 0 };
}

export function plan(
  snapshots: Snapshot[],
  event: unknown,
  options: PlanOptions,
  env: NodeJS.ProcessEnv,
): PlanReport {
  const eventFields = (event ?? {}) as { account?: unknown; region?: unknown };
  const eventAccount = typeof eventFields.account === 'string' ? eventFields.account : undefined;
  const eventRegion = typeof eventFields.region === 'string' ? eventFields.region : undefined;
  const region = options.region ?? eventRegion ?? env.AWS_REGION ?? 'us-east-1';
  const deployment = contractSettings(options);
  const settingsFor = (account: string): PlannerSettings => ({ account, region, ...deployment });

  const known = new Map(snapshots.map((snapshot) => [snapshot.snapshotId, snapshot]));
  if (event === undefined) {
    // Every snapshot is a root of its own; without --account, each in the account that owns it.
    const report: PlanReport = { plans: [], skipped: [], rejected: [] };
    for (const snapshot of snapshots) {
      const settings = settingsFor(options.account ?? snapshot.ownerId ?? 'unknown');
      const part = planGroups([{ snapshotIds: [snapshot.snapshotId], multiVolume: false }], known, settings);
      report.plans.push(...part.plans);
      report.skipped.push(...part.skipped);
      report.rejected.push(...part.rejected);
    }
    return report;
  }

  const account = options.account ?? eventAccount;
  if (account === undefined) throw new CliError('the event has no account: pass --account');
  const settings = settingsFor(account);
  const outcome = parseEvent(event, settings);
  switch (outcome.outcome) {
    case 'rejected':
      return {
        plans: [],
        skipped: [],
        rejected: [
          {
            snapshotIds: [],
            errors: [{ message: `event rejected (${outcome.category}): ${outcome.reason}` }],
          },
        ],
      };
    case 'skipped':
      return {
        plans: [],
        skipped: [{ snapshotIds: outcome.snapshotIds, reason: outcome.reason }],
        rejected: [],
      };
    case 'snapshots':
      return planGroups(outcome.groups, known, settings);
  }
}

/** An EventBridge event names its source and detail type; anything else is not what --event takes. */
function checkIsEvent(document: unknown, path: string): void {
  const fields = (document ?? {}) as Record<string, unknown>;
  if (
    typeof document === 'object' &&
    typeof fields.source === 'string' &&
    typeof fields['detail-type'] === 'string'
  )
    return;
  const hint =
    fields.Type === 'Notification' && typeof fields.Message === 'string'
      ? 'it is an SNS notification: pass the event in its Message'
      : Array.isArray(fields.Records)
        ? 'it is a Lambda SQS event: pass the event in one record body'
        : 'it has no "source" and "detail-type"';
  throw new CliError(
    `--event ${path}: not an EventBridge event (${hint}); pass one event as EventBridge delivers it, like examples/events/createSnapshot.json`,
  );
}

async function readJson(path: string, option: string): Promise<unknown> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    throw new CliError(
      `${option} ${path}: cannot read the file (${(error as NodeJS.ErrnoException).code ?? String(error)})`,
    );
  }
  try {
    return JSON.parse(text);
  } catch (error) {
    throw new CliError(`${option} ${path}: not JSON (${(error as Error).message})`);
  }
}

function parseSnapshotsFile(document: unknown, path: string): Snapshot[] {
  try {
    return parseDescribeSnapshots(document);
  } catch (error) {
    const issue = (error as { issues?: { path: PropertyKey[]; message: string }[] }).issues?.[0];
    const where = issue
      ? `${issue.path.map(String).join('.') || 'the document'}: ${issue.message}`
      : String(error);
    throw new CliError(`--snapshots ${path}: not the output of aws ec2 describe-snapshots (${where})`);
  }
}
