/**
 * The resume Lambda (resume.ts): invoked by the workflow's waiting tasks (`.waitForTaskToken`)
 * with their token, and by the EventBridge rule on EC2's `EC2 AMI State Change` events, which
 * answers the token stored under the image (docs/adr/0013-ami-events.md).
 */
import { Logger } from '@aws-lambda-powertools/logger';
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import { Metrics, MetricUnit } from '@aws-lambda-powertools/metrics';
import { captureLambdaHandler } from '@aws-lambda-powertools/tracer/middleware';
import { SendTaskFailureCommand, SendTaskSuccessCommand } from '@aws-sdk/client-sfn';
import middy from '@middy/core';
import { dynamoDbClient } from '#shared/aws/dynamodb.ts';
import { workflowEc2ClientIn } from '#shared/aws/ec2.ts';
import { sfnClient } from '#shared/aws/sfn.ts';
import { tracer } from '#shared/aws/tracer.ts';
import { DEPLOYMENT_PARAMETERS, imageWaitLimitSeconds, requiredSetting } from '#shared/settings.ts';
import { throttleReports } from '../throttle-reports.ts';
import { countTaskError } from '../workflow-errors.ts';
import { type AwaitTask, type ResumeDeps, runResume } from './resume.ts';

const logger = new Logger();
const metrics = new Metrics();
const watch = throttleReports(process.env, logger, metrics);
const sfn = sfnClient();
const deps: ResumeDeps = {
  dynamo: dynamoDbClient(),
  table: requiredSetting(process.env, 'RECORDS_TABLE_NAME'),
  ec2In: (region) => watch(workflowEc2ClientIn(region), region),
  callbacks: {
    success: async (taskToken, output) => {
      await sfn.send(new SendTaskSuccessCommand({ taskToken, output: JSON.stringify(output) }));
    },
    failure: async (taskToken, error, cause) => {
      await sfn.send(new SendTaskFailureCommand({ taskToken, error, cause }));
    },
  },
  region: requiredSetting(process.env, 'AWS_REGION'),
  waitLimitSeconds: imageWaitLimitSeconds(process.env[DEPLOYMENT_PARAMETERS.imageWaitLimitHours.variable]),
  now: () => new Date(),
  // The AMI's time to available (the dashboard's p50/p95), once, when its wait ends.
  measured: (times) => {
    for (const [name, ms] of Object.entries(times)) metrics.addMetric(name, MetricUnit.Milliseconds, ms);
    if (Object.keys(times).length > 0) metrics.publishStoredMetrics();
  },
};

export async function resumeHandler(input: AwaitTask | Record<string, unknown>) {
  return runResume(input, deps, logger, (error) => countTaskError(metrics, error));
}

export const handler = middy(resumeHandler)
  .use(captureLambdaHandler(tracer))
  .use(injectLambdaContext(logger, { resetKeys: true }));
