/** The image Lambda: the workflow's EC2 steps (see image.ts). */
import { Logger } from '@aws-lambda-powertools/logger';
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import { Metrics, MetricUnit } from '@aws-lambda-powertools/metrics';
import middy from '@middy/core';
import type { Context } from 'aws-lambda';
import { budgetBuckets } from '../../shared/admission.ts';
import { AdmissionStore, reportThrottledCalls } from '../../shared/aws/admission.ts';
import { dynamoDbClient, workflowEc2Client } from '../../shared/aws/clients.ts';
import { deploymentSettings, requiredSetting } from '../../shared/settings.ts';
import { type ImageTask, runImageTask } from './image.ts';

// Service name and metrics namespace: POWERTOOLS_SERVICE_NAME, POWERTOOLS_METRICS_NAMESPACE.
const logger = new Logger();
const metrics = new Metrics();
/** The typed errors (shared/errors.ts) are counted by name; anything else as UnexpectedError. */
const COUNTED_ERRORS = new Set([
  'RetryableError',
  'ThrottledError',
  'PermanentError',
  'ImageNotAvailableYet',
]);
const ec2 = workflowEc2Client();
const { prefix, allowedSourceAccounts, ec2RateShare, ec2BucketOverrides } = deploymentSettings(process.env);
// A call EC2 throttled although ingest admitted it: another client took more than its share.
// Admission control's rate for that API is cut (docs/adr/0007-admission-control.md).
const admission = new AdmissionStore({
  client: dynamoDbClient(),
  table: requiredSetting(process.env, 'ADMISSION_TABLE_NAME'),
  buckets: budgetBuckets(ec2RateShare, ec2BucketOverrides),
});
reportThrottledCalls(
  ec2,
  async (api) => {
    if (await admission.reportThrottled(api)) {
      count('AdmissionRateCut');
      logger.warn({ message: `EC2 throttled ${api}: admission control's rate for it is cut`, api });
    }
  },
  (error) =>
    logger.warn({ message: 'could not report a throttled call to admission control', error: String(error) }),
);

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
    result = await runImageTask(task, { ec2, prefix, allowedSourceAccounts, account });
  } catch (error) {
    const name = (error as Error).name;
    count(COUNTED_ERRORS.has(name) ? name : 'UnexpectedError');
    throw error;
  }
  if (task.action === 'register') count(result.adopted ? 'ImagesAdopted' : 'ImagesRegistered');
  logger.info({ message: `${task.action} done`, ...result });
  return result;
}

/** Publishes one count at once: most steps have nothing to count, and need no empty flush. */
function count(name: string): void {
  metrics.addMetric(name, MetricUnit.Count, 1);
  metrics.publishStoredMetrics();
}

export const handler = middy(imageHandler).use(injectLambdaContext(logger, { resetKeys: true }));
