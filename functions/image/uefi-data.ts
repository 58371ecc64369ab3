/**
 * ReadUefiData: reads the UefiData a plan's `uefiDataSource` names (an S3 object, or an SSM
 * parameter, decrypted) right before the dry run, and returns the request with `UefiData` set,
 * so that the dry run and RegisterImage send the same text (docs/adr/0002-workflow.md). What
 * may be read and what is sent are decided in shared/uefi-data.ts; this file does the I/O.
 * A source the deployment does not allow, a missing object or parameter, text that is not
 * base64 or is too long: a PermanentError that says so. Throttling and server errors:
 * RetryableError, retried by the workflow.
 */
import { GetObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { GetParameterCommand, type SSMClient } from '@aws-sdk/client-ssm';
import type { RegisterImageRequest } from '#shared/contract/types.ts';
import { classified, PermanentError } from '#shared/errors.ts';
import type { UefiDataSettings } from '#shared/settings.ts';
import {
  MAX_UEFI_DATA_LENGTH,
  type UefiDataLocation,
  uefiData,
  uefiDataLocation,
} from '#shared/uefi-data.ts';

export interface UefiDataDeps {
  s3: S3Client;
  ssm: SSMClient;
  /** Where this deployment lets the workflow read (the image role may read the same, no more). */
  settings: UefiDataSettings;
}

/**
 * An object larger than this is refused without reading it: base64 of at most 64,000
 * characters, with room for whitespace around it.
 */
export const MAX_UEFI_DATA_OBJECT_BYTES = 2 * MAX_UEFI_DATA_LENGTH;

/** The request with the UefiData read from `source`. */
export async function readUefiData(
  source: string,
  request: RegisterImageRequest,
  deps: UefiDataDeps,
): Promise<RegisterImageRequest> {
  const where = uefiDataLocation(source, deps.settings);
  if ('refused' in where) throw new PermanentError(`UefiData refused: ${where.refused}`);
  const text = await read(source, where.location, deps);
  const checked = uefiData(text);
  if ('refused' in checked) throw new PermanentError(`UefiData from ${source} ${checked.refused}`);
  return { ...request, UefiData: checked.value };
}

async function read(source: string, location: UefiDataLocation, { s3, ssm }: UefiDataDeps): Promise<string> {
  if (location.kind === 'ssm') {
    const { Parameter } = await classified(`UefiData from ${source}: SSM GetParameter`, () =>
      ssm.send(new GetParameterCommand({ Name: location.name, WithDecryption: true })),
    );
    return Parameter?.Value ?? '';
  }
  const object = await classified(`UefiData from ${source}: S3 GetObject`, () =>
    s3.send(new GetObjectCommand({ Bucket: location.bucket, Key: location.key })),
  );
  if ((object.ContentLength ?? 0) > MAX_UEFI_DATA_OBJECT_BYTES) {
    // Not read: let the connection go.
    (object.Body as { destroy?: () => void } | undefined)?.destroy?.();
    throw new PermanentError(
      `UefiData from ${source} has ${object.ContentLength} bytes; RegisterImage accepts at most ${MAX_UEFI_DATA_LENGTH.toLocaleString('en-US')} characters`,
    );
  }
  return (
    (await classified(`UefiData from ${source}: reading the S3 object`, async () =>
      object.Body?.transformToString(),
    )) ?? ''
  );
}
