/**
 * `snap2ami redrive` as the command runs it: which records, admission control when the
 * admission table is given (cli/admitted-starts.ts paces the starts), Ctrl-C between starts,
 * and what it prints. The redriving itself is cli/records.ts `redrive`.
 */
import type { Bucket, Ec2Api } from '#shared/admission.ts';
import { deployedAdmission } from '#shared/aws/admission.ts';
import { INTERRUPTED, waitLine } from './admitted-starts.ts';
import { CliError } from './errors.ts';
import { type RedriveContext, redrive } from './records.ts';

export interface RedriveCommandOptions {
  key?: string[];
  snapshotId?: string[];
  since?: string;
  until?: string;
  all?: boolean;
  dryRun?: boolean;
  json?: boolean;
  admissionTable?: string;
  ec2RateShare: number;
  ec2BucketOverrides: Partial<Record<Ec2Api, Bucket>>;
}

/** Runs the command; its exit status: 0, 1 (something failed or was not started) or 130 (interrupted). */
export async function runRedrive(context: RedriveContext, options: RedriveCommandOptions): Promise<number> {
  if (!options.all && !options.key && !options.snapshotId && !options.since && !options.until)
    throw new CliError('say which records to redrive: --key, --snapshot-id, --since/--until, or --all');
  const say = (line: string) => process.stderr.write(`${line}\n`);
  const admission = options.admissionTable
    ? deployedAdmission(context.dynamo, options.admissionTable, options)
    : undefined;
  if (!admission && !options.dryRun)
    say(
      "redrive: starting without admission control: registrations start at once, outside the pipeline's EC2 " +
        'budget; give the stack output AdmissionTableName as --admission-table or SNAP2AMI_ADMISSION_TABLE',
    );
  // Ctrl-C: no further start (the one under way finishes); a second Ctrl-C stops at once.
  const interrupt = new AbortController();
  const onInterrupt = () => {
    say('redrive: interrupted: no further registration starts (Ctrl-C again to stop at once)');
    interrupt.abort();
  };
  process.once('SIGINT', onInterrupt);
  const results = await redrive(
    context,
    { keys: options.key, snapshotIds: options.snapshotId, since: options.since, until: options.until },
    {
      dryRun: options.dryRun,
      admission,
      signal: interrupt.signal,
      onWait: (progress) => say(waitLine(progress)),
      warn: (line) => say(`redrive: ${line}`),
    },
  ).finally(() => process.removeListener('SIGINT', onInterrupt));
  const notStarted = results.filter((r) => r.action === 'not started');
  if (options.json) process.stdout.write(`${JSON.stringify(results, null, 2)}\n`);
  else {
    for (const r of results)
      process.stdout.write(`${r.action.padEnd(14)} ${r.key}  ${r.snapshotIds.join(',')}  ${r.detail}\n`);
    process.stdout.write(
      `${results.filter((r) => r.action === 'started').length} started, ${results.length} FAILED records matched` +
        `${notStarted.length > 0 ? `, ${notStarted.length} not started (listed above: redrive them again)` : ''}.\n`,
    );
  }
  if (notStarted.some((r) => r.detail === INTERRUPTED)) return 130;
  return notStarted.length > 0 || results.some((r) => r.action === 'failed') ? 1 : 0;
}
