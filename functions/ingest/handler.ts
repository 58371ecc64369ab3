/** The ingest Lambda: SQS batch → shared/ → Step Functions (see ingest.ts). */
import { Logger } from '@aws-lambda-powertools/logger';
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import { Metrics, MetricUnit } from '@aws-lambda-powertools/metrics';
import { logMetrics } from '@aws-lambda-powertools/metrics/middleware';
import middy from '@middy/core';
import type { Context, SQSBatchResponse, SQSEvent } from 'aws-lambda';
import { ec2Client, sfnClient, sqsClient } from '../../shared/aws/clients.ts';
import { deploymentSettings } from '../../shared/settings.ts';
import { ingest } from './ingest.ts';

const logger = new Logger({ serviceName: 'snap2ami' });
const metrics = new Metrics({ namespace: 'snap2ami', serviceName: 'snap2ami' });
const deployment = deploymentSettings(process.env);

function required(name: string): string {
  const value = process.env[name];
  if (!value) throw new Error(`${name} is not set`);
  return value;
}

export async function ingestHandler(event: SQSEvent, context: Context): Promise<SQSBatchResponse> {
  // The account and Region come from the function's own ARN: nothing to configure.
  const [, , , region = '', account = ''] = context.invokedFunctionArn.split(':');
  return ingest(event.Records, {
    ec2: ec2Client(),
    sfn: sfnClient(),
    sqs: sqsClient(),
    stateMachineArn: required('STATE_MACHINE_ARN'),
    deadLetterQueueUrl: required('DEAD_LETTER_QUEUE_URL'),
    settings: { account, region, ...deployment },
    log: logger,
    count: (metric, n = 1) => metrics.addMetric(metric, MetricUnit.Count, n),
  });
}

export const handler = middy(ingestHandler)
  .use(injectLambdaContext(logger, { resetKeys: true }))
  .use(logMetrics(metrics));
