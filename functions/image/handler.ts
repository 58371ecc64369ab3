/** The image Lambda: the workflow's EC2 steps (see image.ts). */
import { Logger } from '@aws-lambda-powertools/logger';
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import { EC2Client } from '@aws-sdk/client-ec2';
import middy from '@middy/core';
import { deploymentSettings } from '../../shared/settings.ts';
import { type ImageTask, runImageTask } from './image.ts';

const logger = new Logger({ serviceName: 'snap2ami' });
// One attempt per call: Step Functions owns the retries (backoff with full jitter), so every
// retry shows in the execution history.
const ec2 = new EC2Client({ maxAttempts: 1 });
const { prefix } = deploymentSettings(process.env);

export async function imageHandler(task: ImageTask & { key?: string; executionArn?: string }) {
  logger.appendKeys({ key: task.key, executionArn: task.executionArn, action: task.action });
  const result = await runImageTask(task, { ec2, prefix });
  logger.info({ message: `${task.action} done`, ...result });
  return result;
}

export const handler = middy(imageHandler).use(injectLambdaContext(logger, { resetKeys: true }));
