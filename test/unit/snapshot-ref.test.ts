/** Snapshot references as events.md lists them: ARNs in every partition, the documented quirk, bare IDs. */
import { describe, expect, it } from 'vitest';
import { isSnapshotId, parseSnapshotRef } from '#shared/snapshot-ref.ts';

const ID8 = 'snap-01234567';
const ID17 = 'snap-0123456789abcdef0';

// [reference, snapshot ID, Region, account]
const accepted: [string, string, string | undefined, string | undefined][] = [
  // Bare IDs: the event's Region applies, so the reference names none.
  [ID8, ID8, undefined, undefined],
  [ID17, ID17, undefined, undefined],
  ['snap-ffffffff', 'snap-ffffffff', undefined, undefined],
  ['snap-abcdef0123456789a', 'snap-abcdef0123456789a', undefined, undefined],
  // arn:aws, with and without the account.
  [`arn:aws:ec2:us-east-1:123456789012:snapshot/${ID17}`, ID17, 'us-east-1', '123456789012'],
  [`arn:aws:ec2:us-east-1::snapshot/${ID17}`, ID17, 'us-east-1', undefined],
  [`arn:aws:ec2:eu-west-1:123456789012:snapshot/${ID8}`, ID8, 'eu-west-1', '123456789012'],
  [`arn:aws:ec2:ap-southeast-2::snapshot/${ID8}`, ID8, 'ap-southeast-2', undefined],
  [
    'arn:aws:ec2:us-west-2::snapshot/snap-0726fe70935586180',
    'snap-0726fe70935586180',
    'us-west-2',
    undefined,
  ],
  // arn:aws-cn.
  [`arn:aws-cn:ec2:cn-north-1:123456789012:snapshot/${ID17}`, ID17, 'cn-north-1', '123456789012'],
  [`arn:aws-cn:ec2:cn-northwest-1::snapshot/${ID8}`, ID8, 'cn-northwest-1', undefined],
  // arn:aws-us-gov.
  [`arn:aws-us-gov:ec2:us-gov-west-1:123456789012:snapshot/${ID17}`, ID17, 'us-gov-west-1', '123456789012'],
  [`arn:aws-us-gov:ec2:us-gov-east-1::snapshot/${ID8}`, ID8, 'us-gov-east-1', undefined],
  // The documented quirk: the Region in the account's place.
  [`arn:aws:ec2::us-west-2:snapshot/${ID8}`, ID8, 'us-west-2', undefined],
  [`arn:aws:ec2::eu-west-1:snapshot/snap-76543210`, 'snap-76543210', 'eu-west-1', undefined],
  [`arn:aws:ec2::us-east-1:snapshot/${ID17}`, ID17, 'us-east-1', undefined],
  // As documented in the createSnapshots example (nine hex digits).
  ['arn:aws:ec2::us-east-1:snapshot/snap-012345678', 'snap-012345678', 'us-east-1', undefined],
];

describe.each(accepted)('parseSnapshotRef(%s)', (text, snapshotId, region, account) => {
  it(`is ${snapshotId}, Region ${region ?? '(none)'}, account ${account ?? '(none)'}`, () => {
    expect(parseSnapshotRef(text)).toEqual({ snapshotId, region, account });
  });
});

const rejected: [string, string][] = [
  // Other EC2 resources.
  ['a volume ARN', 'arn:aws:ec2:us-east-1:123456789012:volume/vol-0123456789abcdef0'],
  ['a volume ARN without account', 'arn:aws:ec2:us-east-1::volume/vol-01234567'],
  ['a volume ARN in the quirk form', 'arn:aws:ec2::us-west-2:volume/vol-01234567'],
  ['an image ARN', 'arn:aws:ec2:us-west-2::image/ami-0888b126e2170b98e'],
  ['an instance ARN', 'arn:aws:ec2:us-west-2:123456789012:instance/i-0515aee7de03f58e1'],
  ['a bare volume ID', 'vol-01234567'],
  ['a bare image ID', 'ami-0123456789abcdef0'],
  // Snapshots of other services.
  ['an RDS snapshot ARN', 'arn:aws:rds:us-west-2:123456789012:snapshot:awsbackup:job-1a2bcd34'],
  ['a Backup recovery point ARN', 'arn:aws:backup:us-west-2:123456789012:recovery-point:f1d966fe-a3bd'],
  ['an S3 ARN ending in a snapshot ID', `arn:aws:s3:::bucket/${ID8}`],
  // Uppercase hex.
  ['a bare ID in uppercase hex', 'snap-0123456789ABCDEF0'],
  ['a bare ID with one uppercase digit', 'snap-0123456A'],
  ['an ARN with uppercase hex', 'arn:aws:ec2:us-east-1::snapshot/snap-0123456789ABCDEF0'],
  ['an uppercase prefix', 'SNAP-01234567'],
  // Garbage.
  ['the empty string', ''],
  ['snap- alone', 'snap-'],
  ['too few digits', 'snap-0123456'],
  ['too many digits', 'snap-0123456789abcdef01'],
  ['a non-hex digit', 'snap-0123456g'],
  ['leading whitespace', ` ${ID8}`],
  ['trailing whitespace', `${ID8} `],
  ['a trailing newline', `${ID8}\n`],
  ['words', 'not a snapshot'],
  ['an ID inside text', `the snapshot ${ID8}`],
  ['an ARN with a suffix', `arn:aws:ec2:us-east-1::snapshot/${ID8}/extra`],
  ['an ARN with a prefix', `xarn:aws:ec2:us-east-1::snapshot/${ID8}`],
  ['an unknown partition', `arn:nope:ec2:us-east-1::snapshot/${ID8}`],
  ['another service', `arn:aws:ebs:us-east-1::snapshot/${ID8}`],
  ['a resource type with a colon', `arn:aws:ec2:us-east-1::snapshot:${ID8}`],
  ['a truncated ARN', 'arn:aws:ec2:us-east-1::snapshot/'],
  ['a region that is not one', `arn:aws:ec2:not a region::snapshot/${ID8}`],
];

describe.each(rejected)('parseSnapshotRef: %s', (_what, text) => {
  it(`rejects ${JSON.stringify(text)}`, () => {
    expect(parseSnapshotRef(text)).toBeUndefined();
  });
});

describe('isSnapshotId', () => {
  it.each([ID8, ID17, 'snap-012345678'])('accepts the bare ID %s', (text) => {
    expect(isSnapshotId(text)).toBe(true);
  });

  it.each([
    `arn:aws:ec2:us-east-1::snapshot/${ID8}`,
    'snap-0123456789ABCDEF0',
    'snap-0123456',
    'vol-01234567',
    '',
  ])('refuses %s', (text) => {
    expect(isSnapshotId(text)).toBe(false);
  });
});
