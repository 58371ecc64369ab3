/**
 * The distribute step: one invocation for the steps after the copies are available, in order
 * (docs/adr/0008-distribution-and-lifecycle.md): tag the copies' snapshots (TagCopies), share
 * (ShareImages), deprecate and protect (ProtectImages), write the SSM parameters
 * (PublishParameters), apply retention (ApplyRetention). Each is idempotent, so the state
 * machine's retry of a transient error runs them all again and finishes only what is missing.
 * A failure keeps its error's name (the Retry and Catch match it) and says first which step
 * failed ("ShareImages: …"): the state machine records that name as failedStep
 * (DistributeFailedAt?). Retention never fails the registration: its error is the result's
 * `retention` ({Error, Cause}, as a Catch of its own step gave it), and its pending retention
 * item is the reconciler's to run again.
 */
import type { RegisterImageRequest } from '#shared/contract/types.ts';
import { PermanentError } from '#shared/errors.ts';
import type { Common, Copy, LifecycleTask } from './types.ts';

/** The steps distribute runs before retention: the name a failure is recorded under, the action, the result's field. */
export const DISTRIBUTE_STEPS = [
  { step: 'TagCopies', action: 'checkCopies' },
  { step: 'ShareImages', action: 'share', field: 'launchPermissions' },
  { step: 'ProtectImages', action: 'protect', field: 'protection' },
  { step: 'PublishParameters', action: 'publishParameters', field: 'ssmParameters' },
] as const;

/** One of the lifecycle's own steps (lifecycle.ts); a test may wrap it. */
export type LifecycleStep = (task: LifecycleTask) => Promise<unknown>;

export async function distribute(
  task: Common & { copies: Copy[]; request: RegisterImageRequest },
  run: LifecycleStep,
): Promise<Record<string, unknown>> {
  const result: Record<string, unknown> = { copies: task.copies };
  for (const { step, action, ...rest } of DISTRIBUTE_STEPS) {
    let value: unknown;
    try {
      value = await run({ ...task, action });
    } catch (error) {
      throw namedFor(step, error);
    }
    if ('field' in rest) result[rest.field] = value;
  }
  try {
    result.retention = await run({ ...task, action: 'retain' });
  } catch (error) {
    result.retention = caught(error);
  }
  return result;
}

/** The error, its message led by the step's name; its name (what Retry and Catch match) kept. */
function namedFor(step: string, error: unknown): Error {
  if (!(error instanceof Error)) return new PermanentError(`${step}: ${String(error)}`);
  error.message = `${step}: ${error.message}`;
  return error;
}

/** An error as a Catch puts it: Error its name, Cause as Lambda reports it (errorType, errorMessage). */
function caught(error: unknown): { Error: string; Cause: string } {
  const name = error instanceof Error ? error.name : 'Error';
  const message = error instanceof Error ? error.message : String(error);
  return { Error: name, Cause: JSON.stringify({ errorType: name, errorMessage: message }) };
}
