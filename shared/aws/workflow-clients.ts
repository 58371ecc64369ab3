/**
 * The image function's S3 client (ReadUefiData reads UefiData objects with it), made as
 * clients.ts makes every client: once per container, with its timeouts, traced in Lambda, and, like the
 * workflow's EC2 and SSM clients, one attempt per call (Step Functions owns the retries). A
 * module of its own so that only the image bundle carries it: esbuild keeps an SDK client
 * package in every bundle that imports its module, used or not (about 300 KiB for S3).
 */
import { S3Client } from '@aws-sdk/client-s3';
import { HTTP_TIMEOUTS, once } from './clients.ts';
import { traced } from './tracer.ts';

export const workflowS3Client = once(() =>
  traced(new S3Client({ requestHandler: HTTP_TIMEOUTS, maxAttempts: 1 })),
);
