/**
 * How long an AMI took to become available, for the dashboard's p50/p95 (CloudWatch
 * percentiles over the raw values the image function publishes once, when checkImage first
 * sees the image available):
 *
 * - TimeToAvailable: from the event that started the registration (its `time`: when EventBridge
 *   saw the snapshot, copy or backup complete; carried in the execution's source by ingest).
 *   Executions without an event (redrive) have none. A message replayed from the dead-letter
 *   queue keeps its event, so the time it spent there counts: it is time the user waited.
 * - ExecutionTimeToAvailable: from the start of the execution (Step Functions'
 *   `$$.Execution.StartTime`), every execution: the workflow's own share of that time.
 *
 * The times come from the task's input, which anyone who may start an execution writes: an
 * unreadable time, or one after `now`, gives no metric rather than a wrong one.
 */

export interface TimingInput {
  /** The execution's source (shared/workflow.ts ExecutionInput.source); ingest adds `eventTime`. */
  source?: Record<string, unknown>;
  /** The execution's start time, ISO 8601. */
  startedAt?: unknown;
}

export type AvailabilityTimes = Partial<Record<'TimeToAvailable' | 'ExecutionTimeToAvailable', number>>;

export function availabilityTimes(input: TimingInput, now: Date): AvailabilityTimes {
  const times: AvailabilityTimes = {};
  const since = (value: unknown): number | undefined => {
    if (typeof value !== 'string') return undefined;
    const start = Date.parse(value);
    const elapsed = now.getTime() - start;
    return Number.isFinite(elapsed) && elapsed >= 0 ? elapsed : undefined;
  };
  const fromEvent = since(input.source?.eventTime);
  if (fromEvent !== undefined) times.TimeToAvailable = fromEvent;
  const fromStart = since(input.startedAt);
  if (fromStart !== undefined) times.ExecutionTimeToAvailable = fromStart;
  return times;
}
