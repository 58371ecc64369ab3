/**
 * How the workflow's functions (image, lifecycle) tell admission control about a call EC2
 * throttled although ingest admitted it (another client took more than its share): the rate of
 * the call's bucket, its API in the client's Region, is cut (docs/adr/0009-admission-control.md).
 * The table is always set where the stack deploys the functions; a handler loaded elsewhere
 * reports nothing.
 */

import type { Logger } from '@aws-lambda-powertools/logger';
import { type Metrics, MetricUnit } from '@aws-lambda-powertools/metrics';
import type { EC2Client } from '@aws-sdk/client-ec2';
import { bucketKey } from '#shared/admission.ts';
import { deployedAdmission, reportThrottledCalls } from '#shared/aws/admission.ts';
import { dynamoDbClient } from '#shared/aws/dynamodb.ts';
import { deploymentSettings } from '#shared/settings.ts';

/** Watches a client of the given Region (once per client); does nothing without an admission table. */
export type WatchThrottling = (ec2: EC2Client, region: string) => EC2Client;

export function throttleReports(
  env: Readonly<Record<string, string | undefined>>,
  logger: Pick<Logger, 'warn'>,
  metrics: Metrics,
): WatchThrottling {
  const table = env.ADMISSION_TABLE_NAME;
  const home = env.AWS_REGION ?? '';
  if (!table) return (ec2) => ec2;
  const admission = deployedAdmission(dynamoDbClient(), table, deploymentSettings(env));
  const watched = new WeakSet<EC2Client>();
  return (ec2, region) => {
    if (watched.has(ec2)) return ec2;
    watched.add(ec2);
    reportThrottledCalls(
      ec2,
      async (api) => {
        const key = bucketKey(api, region, home);
        if (await admission.reportThrottled(key)) {
          // Published at once: most steps have nothing else to count.
          metrics.addMetric('AdmissionRateCut', MetricUnit.Count, 1);
          metrics.publishStoredMetrics();
          logger.warn({ message: `EC2 throttled ${key}: admission control's rate for it is cut`, key });
        }
      },
      (error) =>
        logger.warn({
          message: 'could not report a throttled call to admission control',
          error: String(error),
        }),
    );
    return ec2;
  };
}
