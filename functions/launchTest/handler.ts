/** The launch-test Lambda: the workflow's LaunchTest steps (see launch-test.ts). */
import { Logger } from '@aws-lambda-powertools/logger';
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import { Metrics } from '@aws-lambda-powertools/metrics';
import { captureLambdaHandler } from '@aws-lambda-powertools/tracer/middleware';
import middy from '@middy/core';
import { workflowEc2Client } from '#shared/aws/ec2.ts';
import { workflowSsmClientIn } from '#shared/aws/ssm.ts';
import { tracer } from '#shared/aws/tracer.ts';
import { deploymentSettings } from '#shared/settings.ts';
import { throttleReports } from '../throttle-reports.ts';
import { countTaskError } from '../workflow-errors.ts';
import { type LaunchTestTask, runLaunchTestTask } from './launch-test.ts';

// Service name and metrics namespace: POWERTOOLS_SERVICE_NAME, POWERTOOLS_METRICS_NAMESPACE.
const logger = new Logger();
const metrics = new Metrics();
const ec2 = workflowEc2Client();
const ssm = workflowSsmClientIn();
const { prefix, bounds } = deploymentSettings(process.env);
// The group the stack creates when the deployment names none (serverless.yml).
const settings = {
  ...bounds.launchTest,
  securityGroupId:
    bounds.launchTest.securityGroupId ?? (process.env.LAUNCH_TEST_STACK_SECURITY_GROUP_ID || undefined),
};
// A call EC2 throttled although ingest admitted it cuts admission control's rate for it.
throttleReports(process.env, logger, metrics)(ec2, process.env.AWS_REGION ?? '');

export async function launchTestHandler(task: LaunchTestTask & { key?: string; executionArn?: string }) {
  logger.appendKeys({ key: task.key, executionArn: task.executionArn, action: task.action });
  try {
    const result = await runLaunchTestTask(task, { ec2, ssm, prefix, settings });
    logger.info({ message: `${task.action} done`, ...result });
    return result;
  } catch (error) {
    countTaskError(metrics, error);
    throw error;
  }
}

export const handler = middy(launchTestHandler)
  .use(captureLambdaHandler(tracer))
  .use(injectLambdaContext(logger, { resetKeys: true }));
