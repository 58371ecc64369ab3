/**
 * The snap2ami command line: `plan` now; the operator commands (local run, replay, redrive,
 * status) join it here.
 */

import { SQSClient } from '@aws-sdk/client-sqs';
import { Command, InvalidArgumentError, Option } from 'commander';
import { deploymentSettings, splitAccounts } from '../shared/settings.ts';
import { CliError } from './errors.ts';
import { DEFAULT_SAMPLES, formatRows, runLocal } from './local.ts';
import { runPlan } from './plan.ts';
import { replay } from './replay.ts';

const program = new Command('snap2ami')
  .description('Turn completed EBS snapshots into registered AMIs: plan, run locally, operate.')
  .showHelpAfterError('(run with --help for usage)')
  .configureOutput({ outputError: (text, write) => write(text) });

const defaults = deploymentSettings(process.env);

program
  .command('plan')
  .description(
    'Show what snapshots yield under the tag contract: RegisterImage requests, skipped snapshots, rejections with reasons.\n' +
      'Exit status: 0 nothing rejected, 2 something rejected, 1 unusable input.',
  )
  .requiredOption('--snapshots <file>', 'JSON printed by `aws ec2 describe-snapshots` ({"Snapshots": […]})')
  .option(
    '--event <file>',
    'one event as EventBridge delivers it; without it every opted-in snapshot is a root of its own',
  )
  .option(
    '--account <id>',
    "the pipeline's account (default: the event's account, else the root snapshot's OwnerId)",
    accountId,
  )
  .option(
    '--region <name>',
    "the pipeline's Region (default: the event's Region, else AWS_REGION, else us-east-1)",
  )
  .addOption(
    new Option('--prefix <prefix>', 'tag key prefix').default(defaults.prefix).env('SNAP2AMI_TAG_PREFIX'),
  )
  .addOption(
    new Option(
      '--allowed-source-accounts <ids>',
      'comma-separated accounts whose snapshots may be registered too',
    )
      .default(defaults.allowedSourceAccounts, defaults.allowedSourceAccounts.join(',') || 'none')
      .argParser(accountList),
  )
  .option('--json', 'print exactly one JSON document {plans, skipped, rejected} on stdout')
  .action(async (options) => {
    const { output, exitCode } = await runPlan(options, process.env);
    process.stdout.write(output);
    process.exitCode = exitCode;
  });

program
  .command('local')
  .description(
    'Run the main job on the local AWS emulator: create the sample snapshots, look them up, plan them by the tag\n' +
      'contract and register the AMIs; print snapshot → outcome → AMI or reason. Exits 1 when an outcome is not the\n' +
      'one the sample expects (its example:expect tag).',
  )
  .option(
    '--snapshots <file>',
    'sample snapshots, as describe-snapshots JSON, each tagged example:expect',
    DEFAULT_SAMPLES,
  )
  .option('--keep', 'keep the emulator running afterwards, for exploring (Ctrl-C stops it)')
  .option('--json', 'print the outcomes as JSON')
  .action(async (options) => {
    const { rows, ok } = await runLocal(options, (line) => process.stderr.write(`${line}\n`));
    process.stdout.write(options.json ? `${JSON.stringify(rows, null, 2)}\n` : formatRows(rows));
    if (!ok) {
      process.stderr.write('snap2ami: some outcomes differ from what the samples expect (marked ✗)\n');
      process.exitCode = 1;
    }
  });

program
  .command('replay')
  .description(
    'Move messages from the dead-letter queue back to the source queue, after their cause is fixed.\n' +
      'Send, then delete: a crash may duplicate a message (harmless: idempotency), never drop one.',
  )
  .addOption(
    new Option('--dlq-url <url>', 'the dead-letter queue (stack output DeadLetterQueueUrl)')
      .env('SNAP2AMI_DLQ_URL')
      .makeOptionMandatory(),
  )
  .addOption(
    new Option('--queue-url <url>', 'the source queue (stack output SnapshotEventsQueueUrl)')
      .env('SNAP2AMI_QUEUE_URL')
      .makeOptionMandatory(),
  )
  .option('--dry-run', "list what would move, with each message's reason; move nothing")
  .option('--max <n>', 'move at most N messages', positiveNumber)
  .option('--snapshot-id <id...>', 'only messages about these snapshots (repeatable)')
  .option('--reason <text>', 'only messages whose rejection reason contains TEXT (any case)')
  .option('--rate <per-second>', 'move at most this many messages per second', positiveNumber)
  .option('--move-task', 'real SQS only, no filters: let SQS move everything (StartMessageMoveTask)')
  .option('--json', 'print the summary and each message as JSON')
  .action(async (options) => {
    const sqs = new SQSClient({});
    const progress = (done: number, max: number | undefined) => {
      if (process.stderr.isTTY) process.stderr.write(`\rmoved ${done}${max ? `/${max}` : ''}`);
      else if (done % 10 === 0) process.stderr.write(`moved ${done}\n`);
    };
    const summary = await replay(sqs, options, progress);
    if (process.stderr.isTTY) process.stderr.write('\n');
    if (options.json) process.stdout.write(`${JSON.stringify(summary, null, 2)}\n`);
    else {
      for (const m of summary.messages) {
        process.stdout.write(
          `${m.action.padEnd(10)} ${m.messageId}  ${m.snapshotIds || '-'}  [${m.category || '?'}] ${m.reason}${m.error ? `  (${m.error})` : ''}\n`,
        );
      }
      process.stdout.write(
        options.moveTask
          ? 'SQS is moving the messages (StartMessageMoveTask).\n'
          : `${summary.moved} moved, ${summary.wouldMove} would move, ${summary.failed} failed, ${summary.leftInDlq} left in the DLQ.\n`,
      );
    }
    if (summary.failed > 0) process.exitCode = 1;
  });

function positiveNumber(value: string): number {
  const number = Number(value);
  if (!Number.isFinite(number) || number <= 0) throw new InvalidArgumentError('expected a positive number.');
  return number;
}

function accountId(value: string): string {
  if (!/^\d{12}$/.test(value)) throw new InvalidArgumentError('expected a 12-digit AWS account ID.');
  return value;
}

function accountList(value: string): string[] {
  try {
    return splitAccounts(value);
  } catch (error) {
    throw new InvalidArgumentError(`${(error as Error).message}.`);
  }
}

try {
  await program.parseAsync(process.argv);
} catch (error) {
  if (error instanceof CliError) {
    process.stderr.write(`snap2ami: ${error.message}\n`);
    process.exitCode = error.exitCode;
  } else throw error;
}
