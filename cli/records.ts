/**
 * `snap2ami redrive` and `snap2ami status`: the operator's view of the records table.
 * Redrive plans FAILED registrations again from the snapshots' current tags (so a fixed tag
 * takes effect) and starts new executions; the workflow's claim accepts a FAILED key, so
 * idempotency holds. Status shows a record, its execution and its image.
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
import { startAttempt } from '../shared/aws/executions.ts';
import { byStatusQuery } from '../shared/aws/records.ts';
import { describeSnapshots } from '../shared/aws/snapshots.ts';
import { planGroups } from '../shared/contract/plan.ts';
import { type DistributionOutcome, distributionOutcome } from '../shared/distribution.ts';
import { isRegistrationKey, RECORD_STATUS } from '../shared/records.ts';
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
}

export interface RegistrationRecord {
  key: string;
  status: string;
  snapshotIds: string[];
  rootSnapshotId?: string;
  imageName?: string;
  imageId?: string;
  executionArn?: string;
  error?: string;
  cause?: string;
  attempts: number;
  startedAt?: string;
  /** Copies, grants, parameters, deprecation, protection and retention (ADR 0008), when the plan had a lifecycle. */
  distribution?: DistributionOutcome;
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
    ...(item.executionArn?.S && { executionArn: item.executionArn.S }),
    ...(item.error?.S && { error: item.error.S }),
    ...(item.cause?.S && { cause: item.cause.S }),
    attempts: Number(item.attempts?.N ?? 0),
    ...(item.startedAt?.S && { startedAt: item.startedAt.S }),
    ...outcome(item.distribution?.S),
  };
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
  action: 'started' | 'would start' | 'still rejected' | 'skipped' | 'failed';
  detail: string;
}

export async function redrive(
  context: RedriveContext,
  filter: { keys?: string[]; snapshotIds?: string[]; since?: string; until?: string },
  options: { dryRun?: boolean },
): Promise<RedriveResult[]> {
  const failed = await findRecords(context, { ...filter, status: RECORD_STATUS.failed });
  const [, , , region = '', account = ''] = context.stateMachineArn.split(':');
  const settings = {
    account,
    region,
    prefix: context.prefix,
    allowedSourceAccounts: context.allowedSourceAccounts,
  };
  const results: RedriveResult[] = [];
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
    try {
      const result = await startAttempt(
        context.sfn,
        context.stateMachineArn,
        plan,
        { redriveOf: record.executionArn ?? '' },
        new Date(),
      );
      results.push(
        result.outcome === 'started'
          ? { ...base, action: 'started', detail: result.executionArn }
          : {
              ...base,
              action: 'skipped',
              detail: `${result.executionArn} is ${result.status?.toLowerCase()}`,
            },
      );
    } catch (error) {
      results.push({ ...base, action: 'failed', detail: String((error as Error).message) });
    }
  }
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
