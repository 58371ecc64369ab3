/**
 * Typed errors with stable names: the state machine's Retry and Catch match on them. A
 * Retryable… error is retried with backoff, a Throttled… one longer; a Permanent… one never is.
 */

export class RetryableError extends Error {
  override readonly name = 'RetryableError';
}

export class PermanentError extends Error {
  override readonly name = 'PermanentError';
}

/**
 * EC2 refused the call for its request rate (RequestLimitExceeded): the account's token bucket
 * for the API was empty. Retried generously, never a reason for FAILED while the execution's
 * deadline allows; the image function also reports it to admission control
 * (docs/adr/0009-admission-control.md).
 */
export class ThrottledError extends Error {
  override readonly name = 'ThrottledError';
}

/** The image exists but is still `pending`: the workflow waits (by retrying) until it is available. */
export class ImageNotAvailableYet extends Error {
  override readonly name = 'ImageNotAvailableYet';
}

/**
 * A snapshot copy CopySourceSnapshots made (or found) is not completed yet: the workflow waits
 * (by retrying) until every copy is, before registering from them.
 */
export class SnapshotCopyPending extends Error {
  override readonly name = 'SnapshotCopyPending';
}

/**
 * The billing check (tag contract v2) found the image without the expected billing
 * information and deregistered it: permanent, and the workflow records the failure without
 * the image, which no longer exists.
 */
export class BillingInformationMissing extends Error {
  override readonly name = 'BillingInformationMissing';
}

/**
 * The typed errors' names, once: the workflow functions count each by name, and the workflow
 * errors alarm (resources/observability.yml) takes these counts away from Lambda's Errors.
 */
export const TYPED_ERRORS = [
  'RetryableError',
  'ThrottledError',
  'PermanentError',
  'ImageNotAvailableYet',
  'BillingInformationMissing',
  'SnapshotCopyPending',
] as const;

const THROTTLING =
  /^(RequestLimitExceeded|RequestResourceCountExceeded|Throttling.*|ThrottlingException|RequestThrottled|TooManyRequestsException|SlowDown)$/;
const SERVER =
  /^(InternalError|InternalFailure|ServiceUnavailable|Unavailable|ServerInternal|InsufficientInstanceCapacity)$/;
const NETWORK = /^(TimeoutError|RequestTimeout|ECONNRESET|ECONNREFUSED|EPIPE|ETIMEDOUT|NetworkingError)$/;

/** Whether an AWS error's name says the service throttled the request. */
export function isThrottling(name: string): boolean {
  return THROTTLING.test(name);
}

/** Whether an AWS error (by its name and HTTP status) is worth retrying: throttling, server and network faults. */
export function isTransient(name: string, httpStatus: number | undefined): boolean {
  return (
    THROTTLING.test(name) ||
    SERVER.test(name) ||
    NETWORK.test(name) ||
    (httpStatus !== undefined && httpStatus >= 500)
  );
}

/**
 * Wraps an AWS SDK error as Throttled, Retryable or Permanent, keeping its code in the message
 * and the error itself as the cause (what the metrics read: `throttledBy`).
 */
export function classify(error: unknown, what: string): ThrottledError | RetryableError | PermanentError {
  const name = (error as { name?: string }).name ?? 'Error';
  const status = (error as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode;
  const message = `${what}: ${name}: ${(error as Error).message ?? String(error)}`;
  if (isThrottling(name)) return new ThrottledError(message, { cause: error });
  return isTransient(name, status)
    ? new RetryableError(message, { cause: error })
    : new PermanentError(message, { cause: error });
}

/** The answer of an AWS call, or its error classified (`classify`), `what` the call for the message. */
export async function classified<T>(what: string, send: () => Promise<T>): Promise<T> {
  try {
    return await send();
  } catch (error) {
    throw classify(error, what);
  }
}

/** Whether `error` is one of the typed errors `classify` makes, which the workflow already handles. */
export function isClassified(error: unknown): error is ThrottledError | RetryableError | PermanentError {
  const name = (error as { name?: unknown } | undefined)?.name;
  return name === 'ThrottledError' || name === 'RetryableError' || name === 'PermanentError';
}

/**
 * Whether `error` is caused by EC2's request throttling (RequestLimitExceeded: an empty token
 * bucket for the API called), as `classify` wraps it.
 */
export function isEc2Throttling(error: unknown): boolean {
  const { name, cause } = (error ?? {}) as { name?: unknown; cause?: { name?: unknown } };
  return name === 'ThrottledError' && cause?.name === 'RequestLimitExceeded';
}

/** Whether a DynamoDB conditional write was refused because its condition did not hold. */
export function isConditionFailure(error: unknown): boolean {
  return (error as { name?: unknown } | undefined)?.name === 'ConditionalCheckFailedException';
}

/** Whether a conditional write went through: false when its condition did not hold; any other error is thrown. */
export async function conditionally(write: () => Promise<unknown>): Promise<boolean> {
  try {
    await write();
    return true;
  } catch (error) {
    if (isConditionFailure(error)) return false;
    throw error;
  }
}
