/** The image Lambda: the workflow's EC2 steps (see image.ts). */
import { Logger } from '@aws-lambda-powertools/logger';
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import { Metrics, MetricUnit } from '@aws-lambda-powertools/metrics';
import { captureLambdaHandler } from '@aws-lambda-powertools/tracer/middleware';
import middy from '@middy/core';
import type { Context } from 'aws-lambda';
import { once } from '#shared/aws/clients.ts';
import { workflowEc2Client } from '#shared/aws/ec2.ts';
import { workflowS3Client } from '#shared/aws/s3.ts';
import { sourceReader } from '#shared/aws/source-accounts.ts';
import { workflowSsmClientIn } from '#shared/aws/ssm.ts';
import { tracer } from '#shared/aws/tracer.ts';
import { deploymentSettings, uefiDataSettings } from '#shared/settings.ts';
import { throttleReports } from '../throttle-reports.ts';
import { countTaskError } from '../workflow-errors.ts';
import { type ImageTask, runImageTask } from './image.ts';

// Service name and metrics namespace: POWERTOOLS_SERVICE_NAME, POWERTOOLS_METRICS_NAMESPACE.
const logger = new Logger();
const metrics = new Metrics();
const ec2 = workflowEc2Client();
const { prefix, allowedSourceAccounts, organizationId, copyKmsKeyId } = deploymentSettings(process.env);
const region = process.env.AWS_REGION ?? '';
// CopySourceSnapshots' reader of other accounts' snapshots, made on first use.
const copies = once(() => ({
  region,
  organizationId,
  copyKmsKeyId,
  readSource: sourceReader(region, { workflow: true }),
}));
// The UefiData clients are made on first use: only plans with <p>uefi-data need them.
const uefiData = {
  get s3() {
    return workflowS3Client();
  },
  get ssm() {
    return workflowSsmClientIn();
  },
  settings: uefiDataSettings(process.env),
};
// A call EC2 throttled although ingest admitted it cuts admission control's rate for it.
throttleReports(process.env, logger, metrics)(ec2, process.env.AWS_REGION ?? '');

export async function imageHandler(
  task: ImageTask & { key?: string; executionArn?: string },
  context: Pick<Context, 'invokedFunctionArn'>,
) {
  logger.appendKeys({ key: task.key, executionArn: task.executionArn, action: task.action });
  // This account is the one in the function's own ARN: the snapshots it registers must be its
  // own or an allowed source account's. Without an ARN, no snapshot passes that check.
  const account = context.invokedFunctionArn?.split(':')[4] ?? '';
  let result: Record<string, unknown>;
  try {
    result = await runImageTask(task, { ec2, prefix, allowedSourceAccounts, account, uefiData, copies });
  } catch (error) {
    countTaskError(metrics, error);
    throw error;
  }
  if (task.action === 'register') count(result.adopted ? 'ImagesAdopted' : 'ImagesRegistered');
  logger.info({ message: `${task.action} done`, ...loggable(result) });
  return result;
}

/** A result as logged: UefiData (up to 64,000 characters) by its length only. */
function loggable({ UefiData, ...rest }: Record<string, unknown>): Record<string, unknown> {
  return typeof UefiData === 'string' ? { ...rest, uefiDataCharacters: UefiData.length } : rest;
}

/** Publishes one count at once: most steps have nothing to count, and need no empty flush. */
function count(name: string): void {
  metrics.addMetric(name, MetricUnit.Count, 1);
  metrics.publishStoredMetrics();
}

export const handler = middy(imageHandler)
  .use(captureLambdaHandler(tracer))
  .use(injectLambdaContext(logger, { resetKeys: true }));
