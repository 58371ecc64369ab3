/**
 * The distribute step (functions/lifecycle/distribute.ts): the steps after the copies in one
 * invocation, in order; a failure names its step first and keeps its error's name (what the
 * state machine's Retry and Catch match); retention's error is the result, never a failure.
 */
import { describe, expect, it } from 'vitest';
import { PermanentError, RetryableError, ThrottledError } from '#shared/errors.ts';
import { DISTRIBUTE_STEPS, distribute } from '../../functions/lifecycle/distribute.ts';
import type { LifecycleTask } from '../../functions/lifecycle/lifecycle.ts';

const task = {
  key: 'v1-key',
  executionArn: 'arn:aws:states:us-east-1:123456789012:execution:m:v1-key',
  imageId: 'ami-0123456789abcdef0',
  lifecycle: { copyTo: [{ region: 'us-west-2' }] },
  copies: [{ region: 'us-west-2', imageId: 'ami-0fedcba9876543210' }],
  request: { Name: 'n' } as never,
};

/** Records the actions run, answering each with its name (or the error given for it). */
function steps(errors: Record<string, unknown> = {}) {
  const ran: string[] = [];
  const run = async (t: LifecycleTask) => {
    ran.push(t.action);
    if (t.action in errors) throw errors[t.action];
    return `${t.action} done`;
  };
  return { ran, run };
}

describe('distribute', () => {
  it('runs the steps in order and returns the distribution, the copies first', async () => {
    const { ran, run } = steps();
    const result = await distribute(task, run);
    expect(ran).toEqual(['checkCopies', 'share', 'protect', 'publishParameters', 'retain']);
    expect(result).toEqual({
      copies: task.copies,
      launchPermissions: 'share done',
      protection: 'protect done',
      ssmParameters: 'publishParameters done',
      retention: 'retain done',
    });
    expect(Object.keys(result)).toEqual([
      'copies',
      'launchPermissions',
      'protection',
      'ssmParameters',
      'retention',
    ]);
  });

  it.each(DISTRIBUTE_STEPS.map(({ step, action }) => [step, action]))(
    'a failure of %s stops there, its name kept and its message led by the step',
    async (step, action) => {
      for (const error of [new ThrottledError('throttled'), new PermanentError('refused')]) {
        const { ran, run } = steps({ [action]: error });
        const failure = await distribute(task, run).catch((e: unknown) => e as Error);
        expect(failure).toBeInstanceOf(Error);
        expect((failure as Error).name).toBe(error.name);
        expect((failure as Error).message).toMatch(new RegExp(`^${step}: `));
        expect(ran.at(-1)).toBe(action);
        expect(ran).not.toContain('retain');
      }
    },
  );

  it('returns retention’s error as the result’s retention, as a Catch gave it, and does not fail', async () => {
    const { run } = steps({ retain: new RetryableError('DescribeImages: RequestLimitExceeded') });
    const result = await distribute(task, run);
    expect(result.retention).toEqual({
      Error: 'RetryableError',
      Cause: JSON.stringify({
        errorType: 'RetryableError',
        errorMessage: 'DescribeImages: RequestLimitExceeded',
      }),
    });
    expect(result.ssmParameters).toBe('publishParameters done');
  });
});
