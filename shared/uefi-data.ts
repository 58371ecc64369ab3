/**
 * UefiData (tag contract v2, "UefiData"): where the workflow may read it, and what it sends.
 * The plan carries `<p>uefi-data` as `uefiDataSource`; the workflow reads it right before the
 * dry run (functions/image/uefi-data.ts does the reading). Whoever may start an execution
 * writes that source, so it is checked again here, against what the deployment allows (one
 * bucket, one parameter path: the same the image role may read), and the text read is checked
 * before RegisterImage sees it, so that a bad value fails with a reason that names it. Pure.
 */

import type { UefiDataSettings } from './contract/types.ts';
import { uefiDataSource } from './contract/values.ts';

/** RegisterImage's limit on UefiData (EC2 API reference: "Maximum length of 64000"). */
export const MAX_UEFI_DATA_LENGTH = 64_000;

export type UefiDataLocation = { kind: 's3'; bucket: string; key: string } | { kind: 'ssm'; name: string };

/** Where `source` points, or why the workflow refuses to read it (naming the setting that decides). */
export function uefiDataLocation(
  source: string,
  { bucket, parameterPath }: UefiDataSettings,
): { location: UefiDataLocation } | { refused: string } {
  if (uefiDataSource.parse(source) === undefined)
    return {
      refused: `uefiDataSource "${source}" ${uefiDataSource.why?.(source) ?? 'is not accepted'}; accepted: ${uefiDataSource.accepted}`,
    };
  if (source.startsWith('s3://')) {
    const rest = source.slice('s3://'.length);
    const slash = rest.indexOf('/');
    const location = { kind: 's3' as const, bucket: rest.slice(0, slash), key: rest.slice(slash + 1) };
    if (bucket === undefined)
      return {
        refused: `${source}: this deployment reads UefiData from no S3 bucket (its uefiDataBucket parameter is not set)`,
      };
    if (location.bucket !== bucket)
      return {
        refused: `${source}: this deployment reads UefiData only from the S3 bucket ${bucket} (its uefiDataBucket parameter)`,
      };
    return { location };
  }
  const name = source.slice('ssm:'.length);
  if (!name.startsWith(parameterPath))
    return {
      refused: `${source}: this deployment reads UefiData only from SSM parameters under ${parameterPath} (its uefiDataParameterPath parameter)`,
    };
  return { location: { kind: 'ssm', name } };
}

/**
 * The UefiData to send from the text read, or why it is refused. Surrounding whitespace (the
 * newline that `aws ec2 get-instance-uefi-data --output text > file` leaves) is not part of
 * it; inside, the text must be strict base64: the 64 characters A–Z a–z 0–9 + /, a length
 * that is a multiple of 4, and `=` only as the last one or two characters.
 */
export function uefiData(text: string): { value: string } | { refused: string } {
  const value = text.trim();
  if (value === '') return { refused: 'is empty' };
  if (value.length > MAX_UEFI_DATA_LENGTH)
    return {
      refused: `has ${value.length} characters; RegisterImage accepts at most ${MAX_UEFI_DATA_LENGTH.toLocaleString('en-US')}`,
    };
  const problem = base64Problem(value);
  return problem === undefined ? { value } : { refused: `is not base64: ${problem}` };
}

function base64Problem(value: string): string | undefined {
  const body = value.replace(/={1,2}$/, '');
  const bad = body.search(/[^A-Za-z0-9+/]/);
  if (bad >= 0) {
    const code = body.codePointAt(bad) ?? 0;
    const shown =
      code > 0x20 && code < 0x7f ? `"${body[bad]}"` : `U+${code.toString(16).toUpperCase().padStart(4, '0')}`;
    return `character ${bad + 1} is ${shown}, which is not in the base64 alphabet (A–Z a–z 0–9 + /; = only at the end)`;
  }
  if (value.length % 4 !== 0)
    return `${value.length} characters is not a multiple of 4 (missing or extra = padding?)`;
  return undefined;
}
