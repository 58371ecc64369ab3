/** The reconciler Lambda, on a schedule: one bounded run of reconcile.ts, its counts as metrics. */
import { Logger } from '@aws-lambda-powertools/logger';
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import { Metrics, MetricUnit } from '@aws-lambda-powertools/metrics';
import { logMetrics } from '@aws-lambda-powertools/metrics/middleware';
import { captureLambdaHandler } from '@aws-lambda-powertools/tracer/middleware';
import middy from '@middy/core';
import type { Context } from 'aws-lambda';
import { dynamoDbClient } from '#shared/aws/dynamodb.ts';
import { ec2Client, ec2ClientIn } from '#shared/aws/ec2.ts';
import { sfnClient } from '#shared/aws/sfn.ts';
import { queueUrlOf, sqsClient } from '#shared/aws/sqs.ts';
import { ssmClientIn } from '#shared/aws/ssm.ts';
import { tracer } from '#shared/aws/tracer.ts';
import { deploymentSettings, reconcileGraceMinutes, requiredSetting } from '#shared/settings.ts';
import { type ReconcileReport, reconcile } from './reconcile.ts';

// Service name and metrics namespace: POWERTOOLS_SERVICE_NAME, POWERTOOLS_METRICS_NAMESPACE.
const logger = new Logger();
const metrics = new Metrics();
const deployment = deploymentSettings(process.env);
const table = requiredSetting(process.env, 'RECORDS_TABLE_NAME');
const queueUrl = queueUrlOf(requiredSetting(process.env, 'SNAPSHOT_EVENTS_QUEUE_NAME'));
const graceSeconds = reconcileGraceMinutes(process.env.RECONCILE_GRACE_MINUTES) * 60;

/** Some of the run's work failed (the rest was done): the invocation fails, so it shows in Lambda's Errors. */
export class ReconcileIncompleteError extends Error {
  override readonly name = 'ReconcileIncompleteError';
}

export async function reconcileHandler(_event: unknown, context: Context): Promise<ReconcileReport> {
  // The partition, Region and account come from the function's own ARN: nothing to configure.
  const [, , , region = '', account = ''] = context.invokedFunctionArn.split(':');
  const report = await reconcile(
    {
      dynamo: dynamoDbClient(),
      sfn: sfnClient(),
      ec2: ec2Client(),
      sqs: sqsClient(),
      ec2In: ec2ClientIn,
      ssmIn: ssmClientIn,
      table,
      queueUrl: await queueUrl(),
      settings: { account, region, ...deployment },
      log: logger,
    },
    { graceSeconds },
  );
  const counts = {
    StuckFound: report.stuck.found,
    StuckFinished: report.stuck.finished,
    StraysFound: report.strays.found,
    StraysSent: report.strays.sent,
    StraysRejected: report.strays.rejected,
    RetentionFound: report.retention.found,
    RetentionApplied: report.retention.applied,
    RetentionFailed: report.retention.failed,
  };
  for (const [name, value] of Object.entries(counts)) metrics.addMetric(name, MetricUnit.Count, value);
  logger.info({ message: 'reconciled', ...counts, passComplete: report.strays.passComplete });
  if (report.errors.length > 0) {
    logger.error({ message: 'reconcile run incomplete; the next run tries again', errors: report.errors });
    throw new ReconcileIncompleteError(report.errors.join('; '));
  }
  return report;
}

export const handler = middy(reconcileHandler)
  .use(captureLambdaHandler(tracer))
  .use(injectLambdaContext(logger, { resetKeys: true }))
  .use(logMetrics(metrics));
