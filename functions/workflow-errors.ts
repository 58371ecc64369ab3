/**
 * How the workflow's functions (image, lifecycle) count a failed task, once for both: its
 * typed error by name (shared/errors.ts TYPED_ERRORS; anything else as UnexpectedError, which
 * the workflow-errors alarm watches), and EC2 throttling as Ec2Throttled (its own alarm).
 * Published at once: the error is rethrown, and nothing else will flush the metrics.
 */
import { type Metrics, MetricUnit } from '@aws-lambda-powertools/metrics';
import { isEc2Throttling, TYPED_ERRORS } from '#shared/errors.ts';

const COUNTED_ERRORS = new Set<string>(TYPED_ERRORS);

export function countTaskError(metrics: Metrics, error: unknown): void {
  const name = (error as Error).name;
  metrics.addMetric(COUNTED_ERRORS.has(name) ? name : 'UnexpectedError', MetricUnit.Count, 1);
  if (isEc2Throttling(error)) metrics.addMetric('Ec2Throttled', MetricUnit.Count, 1);
  metrics.publishStoredMetrics();
}
