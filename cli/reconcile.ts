/**
 * `snap2ami reconcile`: one run of the pipeline's reconciler (functions/reconcile/reconcile.ts,
 * the same code the scheduled Lambda runs), for an operator who wants it now or wants to see
 * what it would do (`--dry-run` changes nothing). The account and Region come from the queue's
 * ARN, as for `snap2ami register`.
 */

import {
  type ReconcileDeps,
  type ReconcileOptions,
  type ReconcileReport,
  reconcile,
} from '../functions/reconcile/reconcile.ts';
import type { RetentionEntry } from '../functions/reconcile/retention-pass.ts';
import type { PlannerSettings } from '../shared/contract/types.ts';
import { explainAwsError, queueNamedBy } from './errors.ts';

/** The reconciler's dependencies as the CLI has them: the account and Region come from the queue's ARN, no logger. */
export type ReconcileContext = Omit<ReconcileDeps, 'settings' | 'log' | 'now' | 'newId'> &
  Pick<PlannerSettings, 'prefix' | 'allowedSourceAccounts' | 'bounds'>;

export async function runReconcile(
  context: ReconcileContext,
  options: Pick<ReconcileOptions, 'dryRun' | 'graceSeconds'>,
): Promise<ReconcileReport> {
  const queue = await queueNamedBy(context.sqs, context.queueUrl, '--queue-url');
  try {
    return await reconcile(
      {
        ...context,
        settings: {
          account: queue.account,
          region: queue.region,
          prefix: context.prefix,
          allowedSourceAccounts: context.allowedSourceAccounts,
          ...(context.bounds && { bounds: context.bounds }),
        },
        // The report says it all; the CLI prints no log lines.
        log: { info: () => {}, warn: () => {}, error: () => {} },
      },
      options,
    );
  } catch (error) {
    // Only the cursor's read fails the whole run: the table is the likely culprit.
    throw explainAwsError(error, {
      service: 'DynamoDB',
      what: `reading the records table ${context.table}`,
      region: queue.region,
      resourceOption: '--table',
    });
  }
}

/** The readable report: one line per record and snapshot acted on, then the counts. */
export function formatReconcile(report: ReconcileReport): string {
  const lines: string[] = [];
  for (const r of report.stuck.records) {
    const why = r.error ? `  ${r.error}: ${r.cause ?? ''}` : '';
    lines.push(
      `STUCK  ${r.key}  execution ${r.execution}  → ${r.action}${r.imageId ? ` (${r.imageId})` : ''}${why}`,
    );
  }
  for (const s of report.strays.snapshots) lines.push(`STRAY  ${s.snapshotId}  → ${s.action}: ${s.detail}`);
  for (const r of report.retention.families) lines.push(retentionLine(r));
  const { stuck, strays, retention } = report;
  // A stray is a snapshot with no AMI and no record: the report's `found` (and the StraysFound
  // metric) counts those planned, to send; those the tag contract rejects are strays too,
  // counted apart (StraysRejected). The line counts both, so that its parts add up.
  const toSend = report.dryRun
    ? `${strays.found} would be sent`
    : `${strays.sent} sent${strays.found > strays.sent ? `, ${strays.found - strays.sent} failed to send` : ''}`;
  lines.push(
    `${report.dryRun ? 'dry run, nothing changed: ' : ''}${stuck.found} stuck found, ${stuck.finished} finished; ` +
      `${strays.found + strays.rejected} strays found: ${toSend}, ${strays.rejected} rejected by the tag contract (${strays.examined} opted-in snapshots looked at; ` +
      `${strays.passComplete ? 'the pass over the account is complete' : 'the pass continues on the next run'}); ` +
      `${retention.found} unfinished retentions found, ${retention.applied} applied, ${retention.failed} failed.`,
  );
  for (const error of report.errors) lines.push(`error: ${error}`);
  return `${lines.join('\n')}\n`;
}

/** `RETENTION  <family>  (<key>, <image>)  → applied: deregistered ami-… (us-east-1)`, with the reason of a failure. */
function retentionLine(r: RetentionEntry): string {
  const removed = r.deregistered?.map(({ imageId, region }) => `${imageId} (${region})`).join(', ');
  const what =
    r.deregistered === undefined
      ? ''
      : `: ${r.action === 'would apply' ? 'would deregister' : 'deregistered'} ${removed || 'nothing'}`;
  const why = r.error ? `: ${r.error}` : r.previousError ? ` (its last run: ${r.previousError})` : '';
  return `RETENTION  ${r.family}  (${r.key}, ${r.imageId})  → ${r.action}${what}${why}`;
}
