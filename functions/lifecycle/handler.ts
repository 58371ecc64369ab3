/**
 * The lifecycle Lambda: the workflow's distribution and lifecycle steps (see lifecycle.ts). A
 * function of its own, not more actions of `image`, so that the calls only it makes
 * (CopyImage, ModifyImageAttribute, DeregisterImage, PutParameter, in every Region) are in a
 * role of their own: the image function keeps RegisterImage and nothing that removes an AMI.
 */
import { Logger } from '@aws-lambda-powertools/logger';
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import { Metrics, MetricUnit } from '@aws-lambda-powertools/metrics';
import { captureLambdaHandler } from '@aws-lambda-powertools/tracer/middleware';
import middy from '@middy/core';
import { dynamoDbClient, workflowEc2ClientIn, workflowSsmClientIn } from '../../shared/aws/clients.ts';
import { tracer } from '../../shared/aws/tracer.ts';
import { isEc2Throttling, TYPED_ERRORS } from '../../shared/errors.ts';
import { deploymentSettings, requiredSetting } from '../../shared/settings.ts';
import { type LifecycleTask, runLifecycleTask } from './lifecycle.ts';

const logger = new Logger();
const metrics = new Metrics();
/** The typed errors (shared/errors.ts) are counted by name; anything else as UnexpectedError. */
const COUNTED_ERRORS = new Set<string>(TYPED_ERRORS);
const { prefix } = deploymentSettings(process.env);
const deps = {
  ec2In: workflowEc2ClientIn,
  ssmIn: workflowSsmClientIn,
  dynamo: dynamoDbClient(),
  table: requiredSetting(process.env, 'RECORDS_TABLE_NAME'),
  prefix,
  region: requiredSetting(process.env, 'AWS_REGION'),
  parameterPath: requiredSetting(process.env, 'SNAP2AMI_SSM_PARAMETER_PATH'),
  now: () => new Date(),
};

export async function lifecycleHandler(task: LifecycleTask) {
  logger.appendKeys({ key: task.key, executionArn: task.executionArn, action: task.action });
  let result: unknown;
  try {
    result = await runLifecycleTask(task, deps);
  } catch (error) {
    const name = (error as Error).name;
    metrics.addMetric(COUNTED_ERRORS.has(name) ? name : 'UnexpectedError', MetricUnit.Count, 1);
    // EC2 refused a call for want of request tokens: the alarm on EC2 throttling counts these.
    if (isEc2Throttling(error)) metrics.addMetric('Ec2Throttled', MetricUnit.Count, 1);
    metrics.publishStoredMetrics();
    throw error;
  }
  logger.info({ message: `${task.action} done`, result });
  return result;
}

export const handler = middy(lifecycleHandler)
  .use(captureLambdaHandler(tracer))
  .use(injectLambdaContext(logger, { resetKeys: true }));
