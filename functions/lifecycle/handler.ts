/**
 * The lifecycle Lambda: the workflow's distribution and lifecycle steps (see lifecycle.ts). A
 * function of its own, not more actions of `image`, so that the calls only it makes
 * (CopyImage, ModifyImageAttribute, DeregisterImage, PutParameter, in every Region) are in a
 * role of their own: the image function keeps RegisterImage and nothing that removes an AMI.
 */
import { Logger } from '@aws-lambda-powertools/logger';
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import { Metrics } from '@aws-lambda-powertools/metrics';
import { captureLambdaHandler } from '@aws-lambda-powertools/tracer/middleware';
import middy from '@middy/core';
import { dynamoDbClient } from '#shared/aws/dynamodb.ts';
import { workflowEc2ClientIn } from '#shared/aws/ec2.ts';
import { workflowSsmClientIn } from '#shared/aws/ssm.ts';
import { tracer } from '#shared/aws/tracer.ts';
import {
  DEPLOYMENT_PARAMETERS,
  deploymentSettings,
  requiredSetting,
  ssmParameterPath,
} from '#shared/settings.ts';
import { throttleReports } from '../throttle-reports.ts';
import { countTaskError } from '../workflow-errors.ts';
import { type LifecycleTask, runLifecycleTask } from './lifecycle.ts';

const logger = new Logger();
const metrics = new Metrics();
const { prefix } = deploymentSettings(process.env);
// A call EC2 throttled although ingest admitted it cuts admission control's rate for its API in
// the Region it was made in (ADR 0009).
const watch = throttleReports(process.env, logger, metrics);
const deps = {
  ec2In: (region: string) => watch(workflowEc2ClientIn(region), region),
  ssmIn: workflowSsmClientIn,
  dynamo: dynamoDbClient(),
  table: requiredSetting(process.env, 'RECORDS_TABLE_NAME'),
  prefix,
  region: requiredSetting(process.env, 'AWS_REGION'),
  parameterPath: ssmParameterPath(process.env[DEPLOYMENT_PARAMETERS.ssmParameterPath.variable]),
  now: () => new Date(),
};

export async function lifecycleHandler(task: LifecycleTask) {
  logger.appendKeys({ key: task.key, executionArn: task.executionArn, action: task.action });
  let result: unknown;
  try {
    result = await runLifecycleTask(task, deps);
  } catch (error) {
    countTaskError(metrics, error);
    throw error;
  }
  logger.info({ message: `${task.action} done`, result });
  return result;
}

export const handler = middy(lifecycleHandler)
  .use(captureLambdaHandler(tracer))
  .use(injectLambdaContext(logger, { resetKeys: true }));
