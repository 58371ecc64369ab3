/**
 * The snap2ami command line: `plan`, and the operator commands that work against AWS (replay,
 * redrive, status). `local` runs the main job on the local harness (local/), loaded only
 * for that command.
 */

import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { EC2Client } from '@aws-sdk/client-ec2';
import { SFNClient } from '@aws-sdk/client-sfn';
import { SQSClient } from '@aws-sdk/client-sqs';
import { SSMClient } from '@aws-sdk/client-ssm';
import { Command, Option } from 'commander';
import { DEFAULT_RATE_SHARE } from '#shared/admission.ts';
import { HTTP_TIMEOUTS, perRegion } from '#shared/aws/clients.ts';
import { DEFAULT_RECONCILE_GRACE_MINUTES, DEPLOYMENT_PARAMETERS } from '#shared/settings.ts';
import type { LocalResult } from '../local/main-job.ts';
import { DEFAULT_SAMPLES } from '../local/paths.ts';
import packageJson from '../package.json' with { type: 'json' };
import { deployMemberCommands, organizationalUnits } from './deploy-member.ts';
import { CliError, explainAwsError, isAwsError } from './errors.ts';
import { formatStatus } from './format.ts';
import {
  accountId,
  bucketOverridesOption,
  contractOptions,
  contractSettings,
  duration,
  keys,
  pointInTime,
  positiveNumber,
  rateShareOption,
  region,
  snapshotIdOrKey,
  snapshotIds,
  stateMachineArn,
} from './options.ts';
import { runPlan } from './plan.ts';
import { formatReconcile, runReconcile } from './reconcile.ts';
import { type RecordsContext, status } from './records.ts';
import { runRedrive } from './redrive.ts';
import { register } from './register.ts';
import { replay } from './replay.ts';

/** The whole command line, built on import and parsed only when this file is the one run (bin/snap2ami). */
export const program = new Command('snap2ami')
  .description('Turn completed EBS snapshots into registered AMIs: plan, run locally, operate.')
  .version(packageJson.version)
  .showHelpAfterError('(run with --help for usage)')
  .configureOutput({ outputError: (text, write) => write(text) });

contractOptions(program.command('plan'))
  .description(
    'Show what snapshots yield under the tag contract: RegisterImage requests, skipped snapshots, rejections with ' +
      'reasons. Exit status: 0 nothing rejected, 2 something rejected, 1 unusable input.',
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
    region,
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
    'Run the main job on the local AWS emulator: create the sample snapshots, look them up, plan them by the tag ' +
      'contract and register the AMIs; print snapshot → outcome → AMI or reason. Exits 1 when an outcome is not the ' +
      'one the sample expects (its example:expect tag).',
  )
  .option(
    '--snapshots <file>',
    'sample snapshots, as describe-snapshots JSON, each tagged example:expect',
    DEFAULT_SAMPLES,
  )
  .option(
    '--keep',
    'afterwards, keep the emulator and the local workflow running, with the ingest handler polling the queue,\n' +
      'for the other commands to explore (Ctrl-C, SIGTERM or SIGHUP stops them)',
  )
  .option('--json', 'print the outcomes as JSON')
  .action(async (options) => {
    const { formatRows, runLocal } = await import('../local/main-job.ts');
    // The outcomes as soon as they are known: with --keep, before the emulator is kept.
    const show = ({ rows, ok }: LocalResult) => {
      process.stdout.write(options.json ? `${JSON.stringify(rows, null, 2)}\n` : formatRows(rows));
      if (!ok) {
        process.stderr.write('snap2ami: some outcomes differ from what the samples expect (marked ✗)\n');
        process.exitCode = 1;
      }
    };
    await runLocal(options, (line) => process.stderr.write(`${line}\n`), show).catch((error: Error) => {
      throw new CliError(error.message);
    });
  });

/** Where the operator commands' AWS clients go: the SDK's own settings, or these options. */
interface AwsOptions {
  region?: string;
  profile?: string;
}
const awsOptions = (command: Command) =>
  command
    .addOption(
      new Option('--region <name>', "the stack's Region (default: AWS_REGION, or the profile's)").argParser(
        region,
      ),
    )
    .addOption(
      new Option('--profile <name>', 'the AWS profile to use (default: AWS_PROFILE, or the default profile)'),
    );
/** The operator commands' clients: the same timeouts as the functions' (shared/aws/clients.ts), and these options. */
const clientConfig = (options: AwsOptions) => ({
  requestHandler: HTTP_TIMEOUTS,
  ...(options.region && { region: options.region }),
  ...(options.profile && { profile: options.profile }),
});
/** The Region the clients will use, for error messages. */
const regionOf = (options: AwsOptions) =>
  options.region ?? process.env.AWS_REGION ?? process.env.AWS_DEFAULT_REGION;

awsOptions(program.command('replay'))
  .description(
    'Move messages from the dead-letter queue back to the source queue, after their cause is fixed. Send, then ' +
      'delete: a crash may duplicate a message (harmless: idempotency), never drop one.',
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
  .option('--snapshot-id <id...>', 'only messages about these snapshots (repeatable)', snapshotIds)
  .option('--reason <text>', 'only messages whose rejection reason contains TEXT (any case)')
  .option('--rate <per-second>', 'move at most this many messages per second', positiveNumber)
  .addOption(
    new Option(
      '--move-task',
      'real SQS only, no filters: let SQS move everything (StartMessageMoveTask)',
    ).conflicts(['dryRun', 'max', 'snapshotId', 'reason']),
  )
  .option('--json', 'print the summary and each message as JSON')
  .action(async (options) => {
    const sqs = new SQSClient(clientConfig(options));
    const progress = (done: number, max: number | undefined) => {
      if (process.stderr.isTTY) process.stderr.write(`\rmoved ${done}${max ? `/${max}` : ''}`);
      else if (done % 10 === 0) process.stderr.write(`moved ${done}\n`);
    };
    const summary = await replay(
      sqs,
      {
        dlqUrl: options.dlqUrl,
        queueUrl: options.queueUrl,
        dryRun: options.dryRun,
        max: options.max,
        snapshotIds: options.snapshotId,
        reason: options.reason,
        rate: options.rate,
        moveTask: options.moveTask,
      },
      progress,
    );
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
          : `${summary.moved} moved, ${summary.wouldMove} would move, ${summary.failed} failed, ${summary.leftInDlq} left in the DLQ` +
              `${summary.duplicates > 0 ? `; ${summary.duplicates} ${options.dryRun ? 'copies of a listed message not counted' : 'copies of a moved message deleted'}` : ''}.\n`,
      );
    }
    if (summary.failed > 0) process.exitCode = 1;
  });

const queueOption = () =>
  new Option('--queue-url <url>', "the pipeline's queue (stack output SnapshotEventsQueueUrl)")
    .env('SNAP2AMI_QUEUE_URL')
    .makeOptionMandatory();

awsOptions(program.command('register'))
  .description(
    'Register snapshots now, through the pipeline: for snapshots tagged after they completed, or whose event never ' +
      "came. Sends a Register Snapshots request to the pipeline's queue (in the queue's account and Region); the " +
      'snapshots are planned as from their completion event (completed, opted in, trusted) under the same key, so one ' +
      'that has its AMI gets no second one. Follow with `snap2ami status <snapshot-id>`.',
  )
  .argument(
    '<snapshot-id...>',
    'the snapshots (snap-…): each a root of its own, unless --multi-volume',
    snapshotIds,
  )
  .option(
    '--multi-volume',
    'the snapshots are one multi-volume set: one AMI, whose root is the member tagged <prefix>register=true',
  )
  .addOption(queueOption())
  .option(
    '--dry-run',
    'print each request as one line of JSON (an event for `snap2ami plan --event`); send nothing',
  )
  .action(async (ids: string[], options) => {
    const results = await register(new SQSClient(clientConfig(options)), {
      queueUrl: options.queueUrl,
      snapshotIds: ids,
      multiVolume: options.multiVolume,
      dryRun: options.dryRun,
    });
    for (const { request, messageId } of results) {
      const ids = request.detail.snapshotIds.join(', ');
      process.stdout.write(
        options.dryRun
          ? `${JSON.stringify(request)}\n`
          : `sent Register Snapshots for ${ids}${request.detail.multiVolume ? ' (one multi-volume set)' : ''}: message ${messageId}\n`,
      );
    }
  });

const tableOption = () =>
  new Option('--table <name>', 'the records table (stack output RecordsTableName)')
    .env('SNAP2AMI_TABLE')
    .makeOptionMandatory();
const stateMachineOption = () =>
  new Option('--state-machine-arn <arn>', 'the workflow (stack output StateMachineArn)')
    .env('SNAP2AMI_STATE_MACHINE_ARN')
    .argParser(stateMachineArn)
    .makeOptionMandatory();

function recordsContext(options: AwsOptions & { table: string }): RecordsContext {
  const config = clientConfig(options);
  const region = regionOf(options);
  return {
    dynamo: new DynamoDBClient(config),
    sfn: new SFNClient(config),
    ec2: new EC2Client(config),
    table: options.table,
    ...(region && { region }),
  };
}

/**
 * Admission control's settings, for redrive: the table and the same budget settings as the
 * functions' (read, and checked, only by redrive).
 */
const admissionOptions = (command: Command) =>
  command
    .addOption(
      new Option(
        '--admission-table <name>',
        "the pipeline's EC2 budget (stack output AdmissionTableName): each start first takes its calls from it, " +
          'waiting when ingest would; without it, every registration starts at once',
      ).env('SNAP2AMI_ADMISSION_TABLE'),
    )
    .addOption(
      new Option(
        '--ec2-rate-share <share>',
        "the share of EC2's request token buckets the pipeline may use (the stack's ec2RateShare parameter)",
      )
        .default(DEFAULT_RATE_SHARE)
        .env(DEPLOYMENT_PARAMETERS.ec2RateShare.variable)
        .argParser(rateShareOption),
    )
    .addOption(
      new Option(
        '--ec2-bucket-overrides <list>',
        "EC2 buckets AWS raised for the account, API=size/refill,… (the stack's ec2BucketOverrides parameter)",
      )
        .default({}, 'none')
        .env(DEPLOYMENT_PARAMETERS.ec2BucketOverrides.variable)
        .argParser(bucketOverridesOption),
    );

admissionOptions(contractOptions(awsOptions(program.command('redrive'))))
  .description(
    'Start again the registrations whose records are FAILED, after their cause is fixed. Each is planned anew from ' +
      "the snapshots' current tags; the workflow's claim accepts a FAILED key, so no second AMI is made. With " +
      "--admission-table, each start takes its EC2 calls from the pipeline's budget as ingest's do, and redrive waits " +
      'while the budget is spent (progress on stderr). Ctrl-C stops before the next start; what was not started is ' +
      'listed (exit status 130).',
  )
  .addOption(tableOption())
  .addOption(stateMachineOption())
  .option('--key <key...>', 'only these idempotency keys', keys)
  .option('--snapshot-id <id...>', 'only records naming these snapshots', snapshotIds)
  .option(
    '--since <time>',
    'only registrations started at or after this time: ISO 8601 (2026-11-30, 2026-11-30T06:00Z) or an age (90m, 12h, 7d)',
    pointInTime,
  )
  .option(
    '--until <time>',
    'only registrations started at or before this time (same forms as --since)',
    pointInTime,
  )
  .option('--all', 'every FAILED record (required when no other filter is given)')
  .option('--dry-run', 'show what would start; start nothing, take no tokens')
  .option('--json', 'print the results as JSON')
  .action(async (options) => {
    const { stateMachineArn } = options;
    const context = { ...recordsContext(options), stateMachineArn, ...contractSettings(options) };
    process.exitCode = await runRedrive(context, options);
  });

contractOptions(awsOptions(program.command('reconcile')))
  .description(
    "Run the pipeline's reconciler once (it also runs on a schedule in the stack): finish records stuck IN_PROGRESS " +
      'after their execution ended (COMPLETED when an available image carries the key, else FAILED with the reason), ' +
      "send opted-in, completed snapshots with no AMI and no record through the pipeline's queue, and apply again the " +
      'retention of families whose retention step failed or crashed (pending for 5 minutes or more). Bounded work per ' +
      'run; safe to repeat. Exit status 1 when some of the work failed.',
  )
  .addOption(tableOption())
  .addOption(queueOption())
  .addOption(
    new Option(
      '--grace <age>',
      'only snapshots started at least this long ago (their events normally take minutes): 0, 90m, 1h, 2d',
    )
      .argParser(duration)
      .default(
        DEFAULT_RECONCILE_GRACE_MINUTES * 60,
        DEFAULT_RECONCILE_GRACE_MINUTES % 60 === 0
          ? `${DEFAULT_RECONCILE_GRACE_MINUTES / 60}h`
          : `${DEFAULT_RECONCILE_GRACE_MINUTES}m`,
      ),
  )
  .option('--dry-run', 'show what it would finish, send and deregister; change nothing')
  .option('--json', 'print the report as JSON')
  .action(async (options) => {
    const config = clientConfig(options);
    const report = await runReconcile(
      {
        dynamo: new DynamoDBClient(config),
        sfn: new SFNClient(config),
        ec2: new EC2Client(config),
        sqs: new SQSClient(config),
        ec2In: perRegion((region) => new EC2Client({ ...config, ...(region && { region }) })),
        ssmIn: perRegion((region) => new SSMClient({ ...config, ...(region && { region }) })),
        table: options.table,
        queueUrl: options.queueUrl,
        ...contractSettings(options),
      },
      { dryRun: options.dryRun, graceSeconds: options.grace },
    );
    process.stdout.write(options.json ? `${JSON.stringify(report, null, 2)}\n` : formatReconcile(report));
    if (report.errors.length > 0) process.exitCode = 1;
  });

awsOptions(program.command('status'))
  .description(
    'Show the record, the execution and the image of a registration, by snapshot ID or idempotency key.',
  )
  .argument('<snapshot-id|key>', 'a snapshot ID (snap-…) or an idempotency key (v1-…)', snapshotIdOrKey)
  .addOption(tableOption())
  // Once required, never used (the record names its execution): still accepted, for scripts.
  .addOption(new Option('--state-machine-arn <arn>').hideHelp())
  .option('--json', 'print the status as JSON')
  .action(async (target: string, options) => {
    const found = await status(recordsContext(options), target);
    if (options.json) {
      process.stdout.write(`${JSON.stringify(found, null, 2)}\n`);
      return;
    }
    process.stdout.write(formatStatus(found));
  });

program
  .command('deploy-member')
  .description(
    "Print the AWS CLI commands that deploy the member accounts' template (deploy/member-account.yml) to an " +
      "organization's OUs with a StackSet (service-managed, automatic deployment): run them from the management " +
      'account or a delegated administrator (docs/organizations.md).',
  )
  .requiredOption('--print', 'print the commands (the only mode: nothing is run)')
  .requiredOption('--pipeline-account <id>', "the central image account, the pipeline's", accountId)
  .requiredOption(
    '--ous <ids>',
    'organizational unit IDs (ou-…) or the root (r-…), separated by commas',
    organizationalUnits,
  )
  .option('--region <name>', "the pipeline's Region (default: AWS_REGION, else us-east-1)", region)
  .option('--stage <name>', "the pipeline stack's stage", 'dev')
  .option('--stack-set-name <name>', "the StackSet's name", 'snap2ami-member')
  .option('--delegated-admin', 'run as a delegated administrator of StackSets (--call-as DELEGATED_ADMIN)')
  .action((options) => {
    process.stdout.write(
      deployMemberCommands({
        pipelineAccount: options.pipelineAccount,
        region: options.region ?? process.env.AWS_REGION ?? 'us-east-1',
        stage: options.stage,
        ous: options.ous,
        stackSetName: options.stackSetName,
        delegatedAdmin: options.delegatedAdmin === true,
      }),
    );
  });

// The profile a command's --profile names is the one in use, for the SDK (which also has it in
// each client's config) and for the error that says it is not found (cli/errors.ts).
program.hook('preAction', (_, command) => {
  const { profile } = command.opts<{ profile?: string }>();
  if (profile) process.env.AWS_PROFILE = profile;
});

if (import.meta.main) await run(process.argv);

/** Parses `argv` (node's form: the node binary, the script, then the arguments) and runs the command; tests run it in-process. */
export async function run(argv: string[]) {
  try {
    await program.parseAsync(argv);
  } catch (error) {
    // An AWS error no command explained is explained here, in one line like the others.
    const known =
      error instanceof CliError
        ? error
        : isAwsError(error)
          ? explainAwsError(error, { service: 'AWS', what: `snap2ami ${program.args[0] ?? ''}`.trim() })
          : undefined;
    if (!known) throw error;
    process.stderr.write(`snap2ami: ${known.message}\n`);
    process.exitCode = known.exitCode;
  }
}
