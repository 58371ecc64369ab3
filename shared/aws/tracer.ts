/**
 * X-Ray tracing for the functions (Powertools Tracer): one tracer per container, shared by the
 * handlers (captureLambdaHandler) and the client factory (clients.ts), so that every AWS call
 * a function makes is a subsegment named after its service and operation.
 *
 * A no-op wherever Lambda is not: the Tracer turns itself off unless AWS_EXECUTION_ENV is set
 * (Lambda sets it; tests, serverless-offline, the CLI and the local harness do not), and
 * POWERTOOLS_TRACE_ENABLED=false turns it off in Lambda too. Off, `traced` returns the client
 * untouched and nothing is sent anywhere.
 */
import { Tracer } from '@aws-lambda-powertools/tracer';

/**
 * Service name: POWERTOOLS_SERVICE_NAME. HTTP requests are not patched globally: every call
 * the functions make goes through an SDK client that `traced` instruments, and patching both
 * would trace each call twice.
 */
export const tracer = new Tracer({ captureHTTPsRequests: false });

/** The client, instrumented for X-Ray when tracing is on; the same client otherwise. */
export function traced<T>(client: T): T {
  return tracer.captureAWSv3Client(client);
}
