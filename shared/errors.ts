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
 * (docs/adr/0007-admission-control.md).
 */
export class ThrottledError extends Error {
  override readonly name = 'ThrottledError';
}

/** The image exists but is still `pending`: the workflow waits (by retrying) until it is available. */
export class ImageNotAvailableYet extends Error {
  override readonly name = 'ImageNotAvailableYet';
}

const THROTTLING =
  /^(RequestLimitExceeded|Throttling.*|ThrottlingException|RequestThrottled|TooManyRequestsException|SlowDown)$/;
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

/** Wraps an AWS SDK error as Throttled, Retryable or Permanent, keeping its code in the message. */
export function classify(error: unknown, what: string): ThrottledError | RetryableError | PermanentError {
  const name = (error as { name?: string }).name ?? 'Error';
  const status = (error as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode;
  const message = `${what}: ${name}: ${(error as Error).message ?? String(error)}`;
  if (isThrottling(name)) return new ThrottledError(message);
  return isTransient(name, status) ? new RetryableError(message) : new PermanentError(message);
}
