/**
 * The snap2ami command line: `plan` now; the operator commands (local run, replay, redrive,
 * status) join it here.
 */
import { Command, InvalidArgumentError, Option } from 'commander';
import { deploymentSettings, splitAccounts } from '../shared/settings.ts';
import { CliError } from './errors.ts';
import { DEFAULT_SAMPLES, formatRows, runLocal } from './local.ts';
import { runPlan } from './plan.ts';

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
