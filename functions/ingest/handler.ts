/** The ingest Lambda: SQS batch → shared/ → Step Functions (see ingest.ts). */
import { Logger } from '@aws-lambda-powertools/logger';
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import { Metrics, MetricUnit } from '@aws-lambda-powertools/metrics';
import { logMetrics } from '@aws-lambda-powertools/metrics/middleware';
import { captureLambdaHandler } from '@aws-lambda-powertools/tracer/middleware';
import middy from '@middy/core';
import type { Context, SQSBatchResponse, SQSEvent } from 'aws-lambda';
import { deployedAdmission } from '#shared/aws/admission.ts';
import { dynamoDbClient } from '#shared/aws/dynamodb.ts';
import { ec2Client } from '#shared/aws/ec2.ts';
import { sfnClient } from '#shared/aws/sfn.ts';
import { sourceReader } from '#shared/aws/source-accounts.ts';
import { queueUrlOf, queueUrlOfArn, sqsClient } from '#shared/aws/sqs.ts';
import { tracer } from '#shared/aws/tracer.ts';
import { deploymentSettings, requiredSetting } from '#shared/settings.ts';
import { ingest } from './ingest.ts';

// Service name and metrics namespace: POWERTOOLS_SERVICE_NAME, POWERTOOLS_METRICS_NAMESPACE.
const logger = new Logger();
const metrics = new Metrics();
const deployment = deploymentSettings(process.env);
/** Looked up when a message is first rejected; a failed lookup fails only the rejected messages, and is tried again. */
const deadLetterQueueUrl = queueUrlOf(requiredSetting(process.env, 'DEAD_LETTER_QUEUE_NAME'));
const stateMachineName = requiredSetting(process.env, 'STATE_MACHINE_NAME');
/** The pipeline's EC2 budget, shared by every container through one DynamoDB item (docs/adr/0009-admission-control.md). */
const admission = deployedAdmission(
  dynamoDbClient(),
  requiredSetting(process.env, 'ADMISSION_TABLE_NAME'),
  deployment,
);

/** Other accounts' snapshots, read there (their tags; with an organization, the membership check: ADR 0004). */
const readSource = sourceReader(process.env.AWS_REGION ?? '');

export async function ingestHandler(event: SQSEvent, context: Context): Promise<SQSBatchResponse> {
  // The partition, Region and account come from the function's own ARN: nothing to configure.
  // Local runners give no ARN (`serverless invoke local`): there the queue's ARN on the records says it.
  const functionArn = context.invokedFunctionArn?.startsWith('arn:') ? context.invokedFunctionArn : undefined;
  const arn = functionArn ?? event.Records[0]?.eventSourceARN ?? '';
  const [, partition = 'aws', , region = '', account = ''] = arn.split(':');
  return ingest(event.Records, {
    ec2: ec2Client(),
    sfn: sfnClient(),
    sqs: sqsClient(),
    stateMachineArn: `arn:${partition}:states:${region}:${account}:stateMachine:${stateMachineName}`,
    deadLetterQueueUrl,
    queueUrl: queueUrlOfArn,
    admission,
    settings: { account, region, ...deployment },
    readSource,
    log: logger,
    count: (metric, n = 1) => metrics.addMetric(metric, MetricUnit.Count, n),
  });
}

export const handler = middy(ingestHandler)
  .use(captureLambdaHandler(tracer))
  .use(injectLambdaContext(logger, { resetKeys: true }))
  .use(logMetrics(metrics));
