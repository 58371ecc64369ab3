/**
 * `snap2ami redrive` and `snap2ami status`: the operator's view of the records table.
 * Redrive plans FAILED registrations again from the snapshots' current tags (so a fixed tag
 * takes effect) and starts new executions; the workflow's claim accepts a FAILED key, so
 * idempotency holds. Each start takes its calls from the pipeline's EC2 budget first, as ingest's
 * do (cli/admitted-starts.ts), when the admission table is given. Status shows a record, its execution and its image.
 */
import {
  type AttributeValue,
  type DynamoDBClient,
  GetItemCommand,
  QueryCommand,
  ScanCommand,
} from '@aws-sdk/client-dynamodb';
import { DescribeImagesCommand, type EC2Client } from '@aws-sdk/client-ec2';
import { DescribeExecutionCommand, type SFNClient } from '@aws-sdk/client-sfn';
import { demand } from '#shared/admission.ts';
import { ADMIT_ALL, type Admission } from '#shared/aws/admission.ts';
import { startAttempt } from '#shared/aws/executions.ts';
import { byStatusQuery } from '#shared/aws/records.ts';
import { describeSnapshots } from '#shared/aws/snapshots.ts';
import { planGroups } from '#shared/contract/plan.ts';
import type { Plan } from '#shared/contract/types.ts';
import { type DistributionOutcome, distributionOutcome } from '#shared/distribution.ts';
import { type LaunchTestOutcome, launchTestOutcome } from '#shared/launch-test-outcome.ts';
import { isRegistrationKey, RECORD_STATUS } from '#shared/records.ts';
import type { DeploymentBounds } from '#shared/settings.ts';
import { INTERRUPTED, type StartOutcome, startAdmitted, type WaitProgress } from './admitted-starts.ts';
import { CliError, explainAwsError } from './errors.ts';

export interface RecordsContext {
  dynamo: DynamoDBClient;
  sfn: SFNClient;
  ec2: EC2Client;
  table: string;
  /** The Region the clients use, for error messages. */
  region?: string;
}

/** What redrive needs besides the records: the workflow, and the settings it plans with. */
export interface RedriveContext extends RecordsContext {
  stateMachineArn: string;
  prefix: string;
  allowedSourceAccounts: string[];
  /** The deployment's bounds on what tags may ask (the redrive command always gives them). */
  bounds?: DeploymentBounds;
}

export interface RegistrationRecord {
  key: string;
  status: string;
  snapshotIds: string[];
  rootSnapshotId?: string;
  imageName?: string;
  imageId?: string;
  executionArn?: string;
  /** The AMI was an earlier attempt's, taken over (found by its key tag) rather than registered anew. */
  adopted?: boolean;
  error?: string;
  cause?: string;
  /** The workflow's step that failed (CheckBilling, Register …), on a FAILED record. */
  failedStep?: string;
  /** What a COMPLETED registration should know: the billing check's, for an image kept without its billing. */
  warnings?: string[];
  /** On a COMPLETED record: the success notification could not be sent. */
  notificationError?: string;
  attempts: number;
  startedAt?: string;
  /** Copies, grants, parameters, deprecation, protection and retention (ADR 0008), when the plan had a lifecycle. */
  distribution?: DistributionOutcome;
  /** The launch test's outcome (ADR 0012), when the plan had one and it ended. */
  launchTest?: LaunchTestOutcome;
  /** Another account's snapshots (ADR 0014): that account, and the copies the AMI is registered from. */
  sourceAccount?: string;
  copiedSnapshotIds?: string[];
}

type Item = Record<string, { S?: string; N?: string; SS?: string[]; BOOL?: boolean }>;

function toRecord(item: Item): RegistrationRecord {
  return {
    key: item.pk?.S ?? '',
    status: item.status?.S ?? '',
    snapshotIds: [...(item.snapshotIds?.SS ?? [])].sort(),
    ...(item.rootSnapshotId?.S && { rootSnapshotId: item.rootSnapshotId.S }),
    ...(item.imageName?.S && { imageName: item.imageName.S }),
    ...(item.imageId?.S && { imageId: item.imageId.S }),
    ...(item.adopted?.BOOL !== undefined && { adopted: item.adopted.BOOL }),
    ...(item.executionArn?.S && { executionArn: item.executionArn.S }),
    ...(item.error?.S && { error: item.error.S }),
    ...(item.cause?.S && { cause: item.cause.S }),
    ...(item.failedStep?.S && { failedStep: item.failedStep.S }),
    ...(item.warnings?.SS?.length && { warnings: [...item.warnings.SS] }),
    ...(item.notificationError?.S && { notificationError: item.notificationError.S }),
    attempts: Number(item.attempts?.N ?? 0),
    ...(item.startedAt?.S && { startedAt: item.startedAt.S }),
    ...(item.sourceAccount?.S && { sourceAccount: item.sourceAccount.S }),
    ...(item.copiedSnapshotIds?.SS?.length && { copiedSnapshotIds: [...item.copiedSnapshotIds.SS].sort() }),
    ...outcome(item.distribution?.S),
    ...launchTestOf(item.launchTest?.S),
  };
}

function launchTestOf(json: string | undefined): { launchTest?: LaunchTestOutcome } {
  const launchTest = launchTestOutcome(json);
  return launchTest ? { launchTest } : {};
}

function outcome(json: string | undefined): { distribution?: DistributionOutcome } {
  const distribution = distributionOutcome(json);
  return distribution ? { distribution } : {};
}

/** Runs an AWS call, turning its failure into one line that says what to do (cli/errors.ts). */
async function guard<T>(
  context: RecordsContext,
  call: () => Promise<T>,
  what: { service: string; doing: string; resourceOption?: string },
): Promise<T> {
  try {
    return await call();
  } catch (error) {
    throw explainAwsError(error, {
      service: what.service,
      what: what.doing,
      ...(context.region && { region: context.region }),
      ...(what.resourceOption && { resourceOption: what.resourceOption }),
    });
  }
}

/**
 * Records by key, or every record naming a snapshot. With a status, only that status's
 * records are read (a Query of the byStatus index, bounded by --since and --until); without
 * one, the table is scanned (`status <snapshot-id>`: a table has few records per snapshot,
 * but no index by snapshot).
 */
export async function findRecords(
  context: RecordsContext,
  filter: { keys?: string[]; snapshotIds?: string[]; status?: string; since?: string; until?: string },
): Promise<RegistrationRecord[]> {
  const records: RegistrationRecord[] = [];
  let ExclusiveStartKey: Record<string, AttributeValue> | undefined;
  do {
    const request = filter.status
      ? byStatusQuery(context.table, filter.status, filter)
      : { TableName: context.table };
    const page = await guard(
      context,
      () =>
        context.dynamo.send(
          filter.status
            ? new QueryCommand({ ...request, ExclusiveStartKey })
            : new ScanCommand({ ...request, ConsistentRead: true, ExclusiveStartKey }),
        ),
      { service: 'DynamoDB', doing: `reading the records table ${context.table}`, resourceOption: '--table' },
    );
    for (const item of (page.Items ?? []) as Item[])
      if (isRegistrationKey(item.pk?.S ?? '')) records.push(toRecord(item));
    ExclusiveStartKey = page.LastEvaluatedKey;
  } while (ExclusiveStartKey);
  return records.filter(
    (r) =>
      (!filter.keys?.length || filter.keys.includes(r.key)) &&
      (!filter.snapshotIds?.length || filter.snapshotIds.some((id) => r.snapshotIds.includes(id))) &&
      (!filter.status || r.status === filter.status) &&
      (!filter.since || (r.startedAt ?? '') >= filter.since) &&
      (!filter.until || (r.startedAt ?? '') <= filter.until),
  );
}

export interface RedriveResult {
  key: string;
  snapshotIds: string[];
  action: 'started' | 'would start' | 'still rejected' | 'skipped' | 'failed' | 'not started';
  detail: string;
}

export interface RedriveOptions {
  dryRun?: boolean | undefined;
  /**
   * The pipeline's EC2 budget (the admission table's item, as ingest uses it): each start takes
   * its plan's demand first, waiting for it when the budget says so. Without it, every
   * registration starts at once (and `--dry-run` never takes any).
   */
  admission?: Admission | undefined;
  /** Ctrl-C: no further start; the rest are `not started`. */
  signal?: AbortSignal | undefined;
  /** Told each time redrive waits for tokens, and when tokens could not be given back. */
  onWait?: ((progress: WaitProgress) => void) | undefined;
  warn?: ((line: string) => void) | undefined;
}

/** Admission control's calls, their failures said in one line naming the option to check. */
function guardedAdmission(context: RecordsContext, admission: Admission): Admission {
  const what = {
    service: 'DynamoDB',
    doing: 'reading and updating the admission table',
    resourceOption: '--admission-table',
  };
  return {
    admit: (requests) => guard(context, () => admission.admit(requests), what),
    turns: (reservations) => guard(context, () => admission.turns(reservations), what),
    refund: (demand) => guard(context, () => admission.refund(demand), what),
  };
}

export async function redrive(
  context: RedriveContext,
  filter: { keys?: string[]; snapshotIds?: string[]; since?: string; until?: string },
  options: RedriveOptions,
): Promise<RedriveResult[]> {
  const failed = await findRecords(context, { ...filter, status: RECORD_STATUS.failed });
  const [, , , region = '', account = ''] = context.stateMachineArn.split(':');
  const settings = {
    account,
    region,
    prefix: context.prefix,
    allowedSourceAccounts: context.allowedSourceAccounts,
    ...(context.bounds && { bounds: context.bounds }),
  };
  const results: RedriveResult[] = [];
  const startable: { index: number; record: RegistrationRecord; plan: Plan }[] = [];
  for (const record of failed) {
    const base = { key: record.key, snapshotIds: record.snapshotIds };
    const known = await guard(context, () => describeSnapshots(context.ec2, record.snapshotIds), {
      service: 'EC2',
      doing: 'DescribeSnapshots',
    });
    const report = planGroups(
      [{ snapshotIds: record.snapshotIds, multiVolume: record.snapshotIds.length > 1 }],
      known,
      settings,
    );
    const plan = report.plans[0];
    if (!plan) {
      const why =
        report.rejected[0]?.errors.map((e) => e.message).join(' | ') ??
        report.skipped[0]?.reason ??
        'nothing to plan';
      results.push({ ...base, action: report.rejected.length ? 'still rejected' : 'skipped', detail: why });
      continue;
    }
    if (options.dryRun) {
      results.push({
        ...base,
        action: 'would start',
        detail: `a new attempt (was ${record.error ?? 'FAILED'})`,
      });
      continue;
    }
    // Its place in the results, filled when it starts (or does not).
    startable.push({ index: results.length, record, plan });
    results.push({ ...base, action: 'not started', detail: INTERRUPTED });
  }

  const start = async ({ index, record, plan }: (typeof startable)[number]): Promise<StartOutcome> => {
    const base = { key: record.key, snapshotIds: record.snapshotIds };
    try {
      const result = await startAttempt(
        context.sfn,
        context.stateMachineArn,
        plan,
        { redriveOf: record.executionArn ?? '' },
        new Date(),
      );
      results[index] =
        result.outcome === 'started'
          ? { ...base, action: 'started', detail: result.executionArn }
          : {
              ...base,
              action: 'skipped',
              detail: `${result.executionArn} is ${result.status?.toLowerCase()}`,
            };
      return result.outcome;
    } catch (error) {
      results[index] = { ...base, action: 'failed', detail: String((error as Error).message) };
      return 'failed';
    }
  };
  const notStarted = await startAdmitted(startable, ({ plan }) => demand(plan), start, {
    admission: options.admission ? guardedAdmission(context, options.admission) : ADMIT_ALL,
    signal: options.signal,
    onWait: options.onWait,
    warn: options.warn,
  });
  for (const { item, why } of notStarted)
    results[item.index] = {
      key: item.record.key,
      snapshotIds: item.record.snapshotIds,
      action: 'not started',
      detail: why,
    };
  return results;
}

export interface Status {
  record: RegistrationRecord;
  execution?: { status?: string; error?: string; cause?: string };
  image?: { imageId?: string; state?: string; name?: string };
}

export async function status(context: RecordsContext, target: string): Promise<Status[]> {
  let records: RegistrationRecord[];
  if (target.startsWith('snap-')) records = await findRecords(context, { snapshotIds: [target] });
  else {
    const item = await guard(
      context,
      () =>
        context.dynamo.send(
          new GetItemCommand({ TableName: context.table, Key: { pk: { S: target } }, ConsistentRead: true }),
        ),
      { service: 'DynamoDB', doing: `reading the records table ${context.table}`, resourceOption: '--table' },
    );
    records = item.Item ? [toRecord(item.Item as Item)] : [];
  }
  if (records.length === 0)
    throw new CliError(
      `no record for ${target}: it was never planned, or it was skipped or rejected (see the DLQ: snap2ami replay --dry-run)`,
    );
  const out: Status[] = [];
  for (const record of records) {
    const entry: Status = { record };
    if (record.executionArn) {
      const e = await context.sfn
        .send(new DescribeExecutionCommand({ executionArn: record.executionArn }))
        .catch(() => undefined);
      if (e)
        entry.execution = {
          ...(e.status && { status: e.status }),
          ...(e.error && { error: e.error }),
          ...(e.cause && { cause: e.cause }),
        };
    }
    if (record.imageId) {
      const image = (
        await context.ec2
          .send(new DescribeImagesCommand({ ImageIds: [record.imageId] }))
          .catch(() => undefined)
      )?.Images?.[0];
      if (image)
        entry.image = {
          ...(image.ImageId && { imageId: image.ImageId }),
          ...(image.State && { state: image.State }),
          ...(image.Name && { name: image.Name }),
        };
    }
    out.push(entry);
  }
  return out;
}
