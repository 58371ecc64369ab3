/**
 * The AWS adapter's common part: how every client is made, and the memoizers that make each
 * one once per container. The clients themselves are in one module per service (ec2.ts,
 * ssm.ts, s3.ts, sfn.ts, sqs.ts, dynamodb.ts, sns.ts), so that a bundle holds the SDK clients
 * its function calls and no others: esbuild keeps a client package in every bundle that
 * imports a module creating it, used or not (docs/adr/0011-bundles.md). This module imports no
 * SDK client.
 *
 * Every client is configured only through the SDK's standard settings (AWS_REGION,
 * AWS_ENDPOINT_URL, AWS_ENDPOINT_URL_<SERVICE>, AWS_MAX_ATTEMPTS, AWS_RETRY_MODE), with
 * timeouts of our own: a connection that does not open, or a call that hangs, fails as a
 * TimeoutError (retried as transient) instead of holding the function until Lambda's timeout.
 * These modules are the only place in shared/ that creates SDK clients; the handlers, the CLI's
 * ingest path and the local tooling use them. In Lambda, each client is traced (X-Ray
 * subsegments per call, tracer.ts); elsewhere it is left as made.
 */

/**
 * Milliseconds. EC2's slowest call here (RegisterImage) answers in seconds; 10 s without an
 * answer is a hung call, and the image function (30 s) can still retry within its budget.
 * `throwOnRequestTimeout`: without it, @smithy/node-http-handler 4 only logs a warning when
 * `requestTimeout` passes and goes on waiting, so a hung call would hold the function until
 * Lambda's own timeout (and ingest's whole batch would come back).
 */
export const HTTP_TIMEOUTS = {
  connectionTimeout: 3_000,
  requestTimeout: 10_000,
  throwOnRequestTimeout: true,
} as const;

/**
 * A client's configuration: our timeouts; a Region when given (else the container's,
 * AWS_REGION); one attempt per call for the workflow's clients (`workflow`), whose retries
 * Step Functions owns so that each shows in the execution's history, else the SDK's retries.
 */
export function clientConfig(options: { region?: string | undefined; workflow?: boolean } = {}) {
  return {
    requestHandler: HTTP_TIMEOUTS,
    ...(options.workflow && { maxAttempts: 1 }),
    ...(options.region !== undefined && { region: options.region }),
  };
}

/** One value per container, made on first use. */
export function once<T>(make: () => T): () => T {
  let value: T | undefined;
  return () => {
    value ??= make();
    return value;
  };
}

/**
 * Memoizes an async lookup for the container's life, but never a failure: a rejected lookup
 * is forgotten, so the next call looks again (a cached rejection would fail every later call).
 */
export function onceSucceeded<T>(lookup: () => Promise<T>): () => Promise<T> {
  let cached: Promise<T> | undefined;
  return () => {
    cached ??= lookup().catch((error: unknown) => {
      cached = undefined;
      throw error;
    });
    return cached;
  };
}

/**
 * One client per Region, created on first use: the lifecycle steps copy, share, protect and
 * retain in other Regions (tag contract v2). Without a Region, the container's own
 * (AWS_REGION). Same settings as the client of the container's Region.
 */
export function perRegion<T>(make: (region: string | undefined) => T): (region?: string) => T {
  const clients = new Map<string, T>();
  return (region) => {
    const name = region ?? '';
    let client = clients.get(name);
    if (client === undefined) {
      client = make(region);
      clients.set(name, client);
    }
    return client;
  };
}
