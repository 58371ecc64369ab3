/**
 * The image function's S3 client (ReadUefiData reads UefiData objects with it), made as
 * clients.ts makes every client, and, like the workflow's EC2 and SSM clients, with one
 * attempt per call (Step Functions owns the retries).
 */
import { S3Client } from '@aws-sdk/client-s3';
import { clientConfig, once } from './clients.ts';
import { traced } from './tracer.ts';

export const workflowS3Client = once(() => traced(new S3Client(clientConfig({ workflow: true }))));
