/**
 * The workflow's side of the contract's "UefiData" section (shared/uefi-data.ts), row by row:
 * which sources a deployment lets it read, and which text it sends as UefiData.
 */
import { describe, expect, it } from 'vitest';
import { MAX_UEFI_DATA_LENGTH, uefiData, uefiDataLocation } from '#shared/uefi-data.ts';

const SETTINGS = { bucket: 'uefi-store', parameterPath: '/snap2ami/uefi-data/' };

describe('uefiDataLocation', () => {
  it.each([
    ['s3://uefi-store/web.b64', { kind: 's3', bucket: 'uefi-store', key: 'web.b64' }],
    ['s3://uefi-store/golden/web/vars.b64', { kind: 's3', bucket: 'uefi-store', key: 'golden/web/vars.b64' }],
    ['ssm:/snap2ami/uefi-data/web', { kind: 'ssm', name: '/snap2ami/uefi-data/web' }],
    ['ssm:/snap2ami/uefi-data/golden/web', { kind: 'ssm', name: '/snap2ami/uefi-data/golden/web' }],
  ])('reads %s', (source, location) => {
    expect(uefiDataLocation(source, SETTINGS)).toEqual({ location });
  });

  it.each([
    [
      's3://other-bucket/web.b64',
      SETTINGS,
      's3://other-bucket/web.b64: this deployment reads UefiData only from the S3 bucket uefi-store (its uefiDataBucket parameter)',
    ],
    [
      's3://uefi-store/web.b64',
      { ...SETTINGS, bucket: undefined },
      's3://uefi-store/web.b64: this deployment reads UefiData from no S3 bucket (its uefiDataBucket parameter is not set)',
    ],
    [
      'ssm:/golden/uefi',
      SETTINGS,
      'ssm:/golden/uefi: this deployment reads UefiData only from SSM parameters under /snap2ami/uefi-data/ (its uefiDataParameterPath parameter)',
    ],
    // A prefix of the path is not under it.
    ['ssm:/snap2ami/uefi-data', SETTINGS, 'only from SSM parameters under /snap2ami/uefi-data/'],
    ['ssm:snap2ami/uefi-data/web', SETTINGS, 'only from SSM parameters under /snap2ami/uefi-data/'],
    // Not a source the planner would have written: the execution was started by hand.
    [
      'https://uefi-store/web.b64',
      SETTINGS,
      'uefiDataSource "https://uefi-store/web.b64" is neither s3:// nor ssm:',
    ],
    ['s3://uefi-store', SETTINGS, 'names no object key after the bucket'],
    ['ssm:/snap2ami/uefi-data/a b', SETTINGS, 'names a parameter with a character other than'],
  ])('refuses %s', (source, settings, reason) => {
    const result = uefiDataLocation(source, settings);
    expect(result).toEqual({ refused: expect.stringContaining(reason) });
  });
});

describe('uefiData', () => {
  it.each([
    ['QUJD', 'QUJD'],
    ['QUI=', 'QUI='],
    ['QQ==', 'QQ=='],
    ['a+/9', 'a+/9'],
    // What a shell redirection leaves: the newline is not part of the value.
    ['QUJD\n', 'QUJD'],
    ['  QUJD\r\n', 'QUJD'],
    ['A'.repeat(MAX_UEFI_DATA_LENGTH), 'A'.repeat(MAX_UEFI_DATA_LENGTH)],
  ])('sends %j as %j', (text, value) => {
    expect(uefiData(text)).toEqual({ value });
  });

  it.each([
    ['', 'is empty'],
    [' \n', 'is empty'],
    ['A'.repeat(MAX_UEFI_DATA_LENGTH + 4), 'has 64004 characters; RegisterImage accepts at most 64,000'],
    ['QUJD!', 'is not base64: character 5 is "!", which is not in the base64 alphabet'],
    ['QU JD', 'is not base64: character 3 is U+0020, which is not in the base64 alphabet'],
    ['QUJD\nQUJD', 'is not base64: character 5 is U+000A'],
    ['QU-_', 'is not base64: character 3 is "-"'],
    ['Q=UJ', 'is not base64: character 2 is "="'],
    ['QUJDQ===', 'is not base64: character 6 is "="'],
    ['QUJ', 'is not base64: 3 characters is not a multiple of 4'],
    ['QUJDQ', 'is not base64: 5 characters is not a multiple of 4'],
  ])('refuses %j', (text, reason) => {
    expect(uefiData(text)).toEqual({ refused: expect.stringContaining(reason) });
  });
});
