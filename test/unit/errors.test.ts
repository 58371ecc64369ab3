/**
 * How AWS errors become the workflow's typed errors (shared/errors.ts), and which of them count
 * as EC2 throttling for the alarm (the image function's Ec2Throttled metric), row by row.
 */
import { describe, expect, it } from 'vitest';
import {
  classify,
  ImageNotAvailableYet,
  isClassified,
  isEc2Throttling,
  RetryableError,
  ThrottledError,
} from '#shared/errors.ts';

/** An error as the AWS SDK throws it: a name, a message, an HTTP status. */
const awsError = (name: string, httpStatusCode?: number) =>
  Object.assign(new Error(`${name} happened`), { name, $metadata: { httpStatusCode } });

describe('classify', () => {
  // [SDK error name, HTTP status, typed error]
  const rows: [string, number | undefined, string][] = [
    ['RequestLimitExceeded', 503, 'ThrottledError'],
    ['ThrottlingException', 400, 'ThrottledError'],
    ['InternalError', 500, 'RetryableError'],
    ['TimeoutError', undefined, 'RetryableError'],
    ['SomethingNew', 502, 'RetryableError'],
    ['InvalidSnapshot.NotFound', 400, 'PermanentError'],
    ['UnauthorizedOperation', 403, 'PermanentError'],
  ];
  it.each(rows)('%s (HTTP %s) → %s, with the SDK error as its cause', (name, status, typed) => {
    const original = awsError(name, status);
    const error = classify(original, 'RegisterImage');
    expect(error.name).toBe(typed);
    expect(error.message).toBe(`RegisterImage: ${name}: ${name} happened`);
    expect(error.cause).toBe(original);
  });
});

describe('isClassified', () => {
  it('knows the typed errors classify makes, so that they are not classified again (as permanent)', () => {
    for (const name of ['RequestLimitExceeded', 'InternalError', 'UnauthorizedOperation'])
      expect(isClassified(classify(awsError(name, 503), 'x'))).toBe(true);
    expect(isClassified(awsError('RequestLimitExceeded', 503))).toBe(false);
    expect(isClassified(undefined)).toBe(false);
  });
});

describe('isEc2Throttling', () => {
  // [what, error, counted as EC2 throttling]
  const rows: [string, unknown, boolean][] = [
    [
      "EC2's RequestLimitExceeded, as classify wraps it",
      classify(awsError('RequestLimitExceeded', 503), 'x'),
      true,
    ],
    ['another service’s throttling', classify(awsError('ThrottlingException', 400), 'x'), false],
    ['a server error', classify(awsError('InternalError', 500), 'x'), false],
    ['a permanent error', classify(awsError('UnauthorizedOperation', 403), 'x'), false],
    ['RequestLimitExceeded itself, not wrapped', awsError('RequestLimitExceeded', 503), false],
    ['a retryable error without a cause', new RetryableError('DescribeImages: not yet'), false],
    ['an image still pending', new ImageNotAvailableYet('ami-1 is pending'), false],
    ['a throttled error without a cause', new ThrottledError('RegisterImage: throttled'), false],
    ['not an error', undefined, false],
  ];
  it.each(rows)('%s → %s', (_what, error, expected) => {
    expect(isEc2Throttling(error)).toBe(expected);
  });
});
