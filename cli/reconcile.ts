/**
 * `snap2ami reconcile`: one run of the pipeline's reconciler (functions/reconcile/reconcile.ts,
 * the same code the scheduled Lambda runs), for an operator who wants it now or wants to see
 * what it would do (`--dry-run` changes nothing). The account and Region come from the queue's
 * ARN, as for `snap2ami register`.
 */
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type { EC2Client } from '@aws-sdk/client-ec2';
import type { SFNClient } from '@aws-sdk/client-sfn';
import type { SQSClient } from '@aws-sdk/client-sqs';
import { type ReconcileReport, reconcile } from '../functions/reconcile/reconcile.ts';
import { explainAwsError, queueNamedBy } from './errors.ts';

export interface ReconcileContext {
  dynamo: DynamoDBClient;
  sfn: SFNClient;
  ec2: EC2Client;
  sqs: SQSClient;
  table: string;
  queueUrl: string;
  prefix: string;
  allowedSourceAccounts: string[];
}

export async function runReconcile(
  context: ReconcileContext,
  options: { dryRun?: boolean; graceSeconds: number },
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
  const { stuck, strays } = report;
  lines.push(
    `${report.dryRun ? 'dry run, nothing changed: ' : ''}${stuck.found} stuck found, ${stuck.finished} finished; ` +
      `${strays.found} strays found, ${strays.sent} sent, ${strays.rejected} rejected (${strays.examined} opted-in snapshots looked at; ` +
      `${strays.passComplete ? 'the pass over the account is complete' : 'the pass continues on the next run'}).`,
  );
  for (const error of report.errors) lines.push(`error: ${error}`);
  return `${lines.join('\n')}\n`;
}
