/**
 * The image function's S3 and SSM clients (ReadUefiData reads UefiData with them), made as
 * clients.ts makes every client: once per container, with its timeouts, and, like the
 * workflow's EC2 client, one attempt per call (Step Functions owns the retries). A module of
 * their own so that only the image bundle carries them: esbuild keeps an SDK client package
 * in every bundle that imports its module, used or not (about 430 KiB for these two).
 */
import { S3Client } from '@aws-sdk/client-s3';
import { SSMClient } from '@aws-sdk/client-ssm';
import { HTTP_TIMEOUTS, once } from './clients.ts';

export const workflowS3Client = once(() => new S3Client({ requestHandler: HTTP_TIMEOUTS, maxAttempts: 1 }));
export const workflowSsmClient = once(() => new SSMClient({ requestHandler: HTTP_TIMEOUTS, maxAttempts: 1 }));
