/** The ingest Lambda: SQS batch → shared/ → Step Functions (see ingest.ts). */
import { Logger } from '@aws-lambda-powertools/logger';
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import { Metrics, MetricUnit } from '@aws-lambda-powertools/metrics';
import { logMetrics } from '@aws-lambda-powertools/metrics/middleware';
import { GetQueueUrlCommand } from '@aws-sdk/client-sqs';
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

let deadLetterQueueUrl: Promise<string> | undefined;

export async function ingestHandler(event: SQSEvent, context: Context): Promise<SQSBatchResponse> {
  // The partition, Region and account come from the function's own ARN: nothing to configure.
  // Local runners give no ARN (`serverless invoke local`): there the queue's ARN on the records says it.
  const functionArn = context.invokedFunctionArn?.startsWith('arn:') ? context.invokedFunctionArn : undefined;
  const arn = functionArn ?? event.Records[0]?.eventSourceARN ?? '';
  const [, partition = 'aws', , region = '', account = ''] = arn.split(':');
  deadLetterQueueUrl ??= sqsClient()
    .send(new GetQueueUrlCommand({ QueueName: required('DEAD_LETTER_QUEUE_NAME') }))
    .then((result) => result.QueueUrl as string);
  return ingest(event.Records, {
    ec2: ec2Client(),
    sfn: sfnClient(),
    sqs: sqsClient(),
    stateMachineArn: `arn:${partition}:states:${region}:${account}:stateMachine:${required('STATE_MACHINE_NAME')}`,
    deadLetterQueueUrl: await deadLetterQueueUrl,
    settings: { account, region, ...deployment },
    log: logger,
    count: (metric, n = 1) => metrics.addMetric(metric, MetricUnit.Count, n),
  });
}

export const handler = middy(ingestHandler)
  .use(injectLambdaContext(logger, { resetKeys: true }))
  .use(logMetrics(metrics));
