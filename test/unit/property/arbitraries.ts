/**
 * fast-check generators for the tag contract: snapshots with arbitrary tags under the prefix
 * (the contract's keys with accepted values, near misses and random strings, the device: and
 * tag: families, misspellings), plain and aws: tags, and the snapshots they refer to.
 */
import fc from 'fast-check';
import type { SnapshotGroup } from '#shared/contract/plan.ts';
import type { PlannerSettings } from '#shared/contract/types.ts';
import { type Snapshot, SnapshotSchema, toSnapshot } from '#shared/snapshot.ts';
import { CONTRACT_KEYS, LIFECYCLE_KEYS, LIMITS, type TypeLimits, VOLUME_TYPES } from './contract-checker.ts';

export const ACCOUNT = '123456789012';
export const OTHER_ACCOUNT = '210987654321';
export const OUTPOST = 'arn:aws:outposts:us-east-1:123456789012:outpost/op-0123456789abcdef0';
export const OTHER_OUTPOST = 'arn:aws:outposts:us-east-1:123456789012:outpost/op-0fedcba9876543210';

/** A snapshot ID as EC2 makes them: snap- and 17 hex digits. */
export const snapId = (n: number) => `snap-${n.toString(16).padStart(17, '0')}`;
export const ROOT_ID = snapId(0xa0);
/** Snapshots that `<p>device:` values may name; each may or may not be known. */
export const EXTRA_IDS = [snapId(0xb1), snapId(0xb2), snapId(0xb3)];
/** Members of a multi-volume set besides the root. */
export const MEMBER_IDS = [snapId(0xc1), snapId(0xc2)];
/** Never known. */
export const UNKNOWN_ID = snapId(0xdead);

/** A snapshot as DescribeSnapshots describes it, before parsing. */
export interface SnapshotSpec {
  id: string;
  state?: string | undefined;
  owner?: string | undefined;
  size?: number | undefined;
  start?: Date | undefined;
  volumeId?: string | undefined;
  outpost?: string | undefined;
  tags: [string, string][];
}

export function makeSnapshot(spec: SnapshotSpec): Snapshot {
  return toSnapshot(
    SnapshotSchema.parse({
      SnapshotId: spec.id,
      State: spec.state,
      OwnerId: spec.owner,
      VolumeId: spec.volumeId,
      VolumeSize: spec.size,
      StartTime: spec.start,
      OutpostArn: spec.outpost,
      Tags: spec.tags.map(([Key, Value]) => ({ Key, Value })),
    }),
  );
}

const pick = <T>(...values: T[]) => fc.constantFrom(...values);
const junk = fc.oneof(fc.string({ maxLength: 12 }), fc.string({ unit: 'grapheme', maxLength: 8 }));

/** false: accepted values only; true: mostly accepted, some near misses and random strings; 'fault': never accepted. */
type Noise = boolean | 'fault';

/** Accepted values mostly; with noise, also near misses and random strings. */
function valuesOf(noise: Noise, accepted: string[], nearMisses: string[]): fc.Arbitrary<string> {
  if (!noise) return pick(...accepted);
  if (noise === 'fault')
    return fc.oneof(
      { weight: 3, arbitrary: pick(...nearMisses) },
      { weight: 1, arbitrary: junk.filter((v) => !accepted.includes(v)) },
    );
  return fc.oneof(
    { weight: 10, arbitrary: pick(...accepted) },
    { weight: 1, arbitrary: pick(...nearMisses) },
    { weight: 1, arbitrary: junk },
  );
}

const boolValue = (noise: Noise) =>
  valuesOf(noise, ['true', 'false', 'TRUE', 'False'], ['yes', 'no', '1', '0', '', ' true', 'true ', 'tru']);

const BAD_WHOLE = ['0', '-1', '8.5', ' 8', '08', '1e3', '99999999999', '', '0x10', '٣'];
/** Whole numbers: mostly common ones, sometimes at or beside a limit of the EBS table. */
const wholeOf = (noise: Noise, common: fc.Arbitrary<number>, limits: readonly number[]) => {
  const valid = fc.oneof({ weight: 12, arbitrary: common }, { weight: 1, arbitrary: pick(...limits) });
  if (!noise) return valid.map(String);
  if (noise === 'fault') return pick(...BAD_WHOLE);
  return fc.oneof(
    { weight: 10, arbitrary: valid.map(String) },
    { weight: 1, arbitrary: pick(...BAD_WHOLE) },
    { weight: 1, arbitrary: junk },
  );
};
const SIZE_LIMITS = [3, 4, 124, 125, 1024, 1025, 16_384, 16_385, 65_536, 65_537];
const IOPS_LIMITS = [99, 100, 2999, 3000, 3001, 4000, 4001, 64_000, 64_001, 80_000, 80_001, 256_000, 256_001];
const THROUGHPUT_LIMITS = [124, 125, 126, 750, 751, 1000, 1001, 2000, 2001];
const sizeValue = (noise: Noise) =>
  wholeOf(
    noise,
    fc.oneof(
      { weight: 2, arbitrary: fc.integer({ min: 1, max: 64 }) },
      { weight: 1, arbitrary: fc.integer({ min: 1, max: 200 }) },
      { weight: 2, arbitrary: fc.integer({ min: 64, max: 1000 }) },
    ),
    SIZE_LIMITS,
  );
const iopsValue = (noise: Noise) =>
  wholeOf(
    noise,
    fc.oneof(
      { weight: 6, arbitrary: fc.constant(3000) },
      { weight: 2, arbitrary: fc.integer({ min: 3000, max: 4000 }) },
      { weight: 1, arbitrary: fc.integer({ min: 100, max: 3200 }) },
      { weight: 1, arbitrary: fc.integer({ min: 3000, max: 32_000 }) },
    ),
    IOPS_LIMITS,
  );
const throughputValue = (noise: Noise) =>
  wholeOf(
    noise,
    fc.oneof(
      { weight: 8, arbitrary: fc.integer({ min: 125, max: 750 }) },
      { weight: 1, arbitrary: fc.integer({ min: 1, max: 2000 }) },
    ),
    THROUGHPUT_LIMITS,
  );

/** Volume types: the HDD ones (125 GiB at least, never the root) less often. */
const volumeTypeValue = (noise: Noise) =>
  noise === 'fault'
    ? valuesOf(noise, VOLUME_TYPES, ['GP3', 'gp4', 'io3', 'magnetic', ''])
    : fc.oneof(
        {
          weight: 3,
          arbitrary: valuesOf(noise, ['standard', 'io1', 'io2', 'gp2', 'gp3'], ['GP3', 'gp4', 'io3']),
        },
        { weight: 1, arbitrary: valuesOf(noise, ['st1', 'sc1'], ['magnetic', '']) },
      );

const NAME_CHARS = [..."abcXYZ019()[] ./-'@_"];
const nameLiteral = fc.string({ unit: pick(...NAME_CHARS), minLength: 1, maxLength: 8 });
const namePlaceholder = pick('{snapshotId}', '{volumeId}', '{region}', '{account}', '{date}', '{datetime}');
const tagPlaceholder = pick('{tag:Name}', '{tag:Env}', '{tag:aws:backup:source-resource}');
const badPlaceholder = pick(
  '{tag:Missing}',
  '{bogus}',
  '{SnapshotId}',
  '{}',
  '{tag:}',
  '{date',
  'date}',
  '{{region}}',
);

/** A name template: placeholders and literal text, sometimes with characters a name cannot have. */
const nameTemplate = (noise: Noise): fc.Arbitrary<string> => {
  if (noise === 'fault')
    return fc.oneof(
      fc
        .tuple(nameLiteral, fc.oneof(badPlaceholder, pick('!', 'é', ':', '#', '\t', ',', '*')), nameLiteral)
        .map((pieces) => pieces.join('')),
      fc.integer({ min: 129, max: 135 }).map((n) => 'n'.repeat(n)),
      pick('', 'ab', '{tag:Missing}'),
    );
  const piece = noise
    ? fc.oneof(
        { weight: 4, arbitrary: nameLiteral },
        { weight: 4, arbitrary: namePlaceholder },
        { weight: 1, arbitrary: tagPlaceholder },
        { weight: 1, arbitrary: badPlaceholder },
        { weight: 1, arbitrary: pick('!', 'é', ':', '#', '\t', ',', '*') },
      )
    : fc.oneof(
        { weight: 4, arbitrary: nameLiteral },
        { weight: 4, arbitrary: namePlaceholder },
        { weight: 1, arbitrary: tagPlaceholder },
      );
  const template = fc.array(piece, { minLength: 1, maxLength: 5 }).map((pieces) => pieces.join(''));
  if (!noise) return template;
  return fc.oneof(
    { weight: 8, arbitrary: template },
    { weight: 1, arbitrary: fc.integer({ min: 120, max: 135 }).map((n) => 'n'.repeat(n)) },
    { weight: 1, arbitrary: pick('', 'ab', 'abc') },
    { weight: 1, arbitrary: junk },
  );
};

/** Regions other than any the properties use as the pipeline's own, for copy-to and copy-kms-key. */
const COPY_REGIONS = [
  'us-west-2',
  'eu-central-1',
  'sa-east-1',
  'us-gov-east-1',
  'ap-southeast-7',
  'ca-west-1',
];
const ORG_ARN = 'arn:aws:organizations::123456789012:organization/o-a1b2c3d4e5';
const OU_ARN = 'arn:aws:organizations::123456789012:ou/o-a1b2c3d4e5/ou-ab12-cd34ef56';
const KMS_KEYS = [
  'alias/ami',
  'alias/aws/ebs',
  '1234abcd-12ab-34cd-56ef-1234567890ab',
  'mrk-1234abcd12ab34cd56ef1234567890ab',
  'arn:aws:kms:us-west-2:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab',
];

/** `<p>copy-kms-key:<region>`: mostly for a Region that copy-to may name, sometimes not. */
const copyKmsKeyEntry = (noise: boolean) =>
  fc
    .tuple(
      noise ? pick(...COPY_REGIONS, 'us-east-1', 'eu-west-9', '') : pick(...COPY_REGIONS),
      valuesOf(noise, KMS_KEYS, ['ami', 'alias/', 'key/1234', 'arn:aws:kms:us-west-2:123:key/x', '']),
    )
    .map(([region, value]) => prefixed(`copy-kms-key:${region}`, value));

/** Values of each contract key. */
function contractValue(key: string, noise: Noise): fc.Arbitrary<string> {
  switch (key) {
    case 'register':
      return boolValue(noise);
    case 'name':
      return nameTemplate(noise);
    case 'description':
      if (noise === 'fault') return fc.integer({ min: 256, max: 300 }).map((n) => 'd'.repeat(n));
      return fc.oneof(
        fc.string({ maxLength: 40 }),
        fc.string({ unit: 'grapheme', maxLength: 20 }),
        fc.integer({ min: 250, max: noise ? 260 : 255 }).map((n) => 'd'.repeat(n)),
      );
    case 'architecture':
      return valuesOf(
        noise,
        ['i386', 'x86_64', 'arm64', 'x86_64_mac', 'arm64_mac'],
        ['X86_64', 'amd64', 'aarch64', 'arm', 'x86-64', ' x86_64'],
      );
    case 'virtualization-type':
      return valuesOf(noise, ['hvm', 'paravirtual'], ['HVM', 'pv', 'hvm ', 'para-virtual']);
    case 'boot-mode':
      return valuesOf(noise, ['legacy-bios', 'uefi', 'uefi-preferred'], ['bios', 'UEFI', 'legacy_bios']);
    case 'ena-support':
    case 'allow-billing-code-loss':
    case 'delete-on-termination':
      return boolValue(noise);
    case 'sriov-net-support':
      return valuesOf(noise, ['simple'], ['Simple', 'on', 'true']);
    case 'tpm-support':
      return valuesOf(noise, ['v2.0'], ['v1.2', '2.0', 'V2.0']);
    case 'imds-support':
      return valuesOf(noise, ['v2.0', 'none'], ['v1.0', 'None', 'required', 'v2']);
    case 'root-device-name':
      return valuesOf(
        noise,
        ['/dev/xvda', '/dev/sda1', '/dev/sdb', '/dev/nvme0n1'],
        ['sda1', '/dev/sd-a', '/dev/', 'xvda', '/dev/xvda ', '/dev/sda/1'],
      );
    case 'kernel-id':
      return valuesOf(noise, ['aki-88aa75e1', 'aki-0'], ['aki-XYZ', 'aki-', 'ari-88aa75e1', 'AKI-88aa75e1']);
    case 'ramdisk-id':
      return valuesOf(noise, ['ari-a51cf9cc'], ['ari-', 'ari-G1', 'aki-a51cf9cc']);
    case 'billing-products':
      return valuesOf(
        noise,
        ['bp-6ba54002', 'bp-6ba54002,bp-63a5400a', 'bp-6ba54002, bp-63a5400a'],
        ['', 'bp-', 'product-1', 'bp-1,,bp-2', 'bp-1;bp-2', ',bp-1', 'bp-1,'],
      );
    case 'platform':
      return valuesOf(noise, ['linux', 'windows', 'rhel', 'sles', 'other'], ['Windows', 'ubuntu', 'Linux']);
    case 'volume-type':
      return volumeTypeValue(noise);
    case 'volume-size':
      return sizeValue(noise);
    case 'iops':
      return iopsValue(noise);
    case 'throughput':
      return throughputValue(noise);
    case 'copy-tags':
      return valuesOf(
        noise,
        ['*', ' * ', 'Name', 'Name,Env', 'Env, Team'],
        ['', 'Missing', 'aws:cloudformation:stack-name', 'Name,,Env', 'snap2ami:register', '*,Name', ','],
      );
    case 'device-name':
      return valuesOf(
        noise,
        ['/dev/sdf', '/dev/sdg', '/dev/sdh'],
        ['/dev/xvda', '/dev/sdb', 'sdf', '/dev/sd f', 'xvdf', ''],
      );
    case 'image-id':
      return valuesOf(noise, ['ami-0123abcd'], ['ami-', 'foo']);
    case 'uefi-data':
      return valuesOf(
        noise,
        ['s3://my-bucket/uefi/web.b64', 's3://a.b-c/k', 'ssm:/golden/uefi', 'ssm:uefi_vars'],
        [
          's3://',
          's3://Bucket/key',
          's3://bucket',
          's3://bucket/',
          's3://a..b/k',
          'ssm:',
          'https://x/y',
          'S3://bucket/key',
          'ssm:/bad name',
        ],
      );
    case 'copy-to':
      return valuesOf(
        noise,
        COPY_REGIONS.flatMap((region, i) => [
          region,
          `${region},${COPY_REGIONS[(i + 1) % COPY_REGIONS.length]}`,
        ]),
        [
          'us-wset-2',
          'US-WEST-2',
          'us-west-2,us-west-2',
          'us-west-2,',
          '',
          'eu-central',
          'us-east-1',
          'eu-west-1',
          'ap-south-1,us-east-2,us-west-1,us-west-2,eu-central-1,eu-north-1,eu-west-2,eu-west-3,sa-east-1,ca-central-1,af-south-1',
        ],
      );
    case 'share-with':
      return valuesOf(
        noise,
        ['123456789012', '123456789012, 210987654321', ORG_ARN, OU_ARN, `210987654321,${OU_ARN},${ORG_ARN}`],
        [
          '12345678901',
          'o-a1b2c3d4e5',
          `${ORG_ARN}/x`,
          '123456789012,,',
          'all',
          'arn:aws:organizations::123:ou/o-1/ou-1',
        ],
      );
    case 'ssm-parameter':
      return valuesOf(
        noise,
        ['/golden/web', 'golden-web', '/a/b.c_d-e', `/${'p'.repeat(1010)}`],
        [
          '/aws/x',
          'ssm-param',
          'AWS',
          'SSM/x',
          '/golden web',
          '',
          `/${'p'.repeat(1011)}`,
          '/golden/wéb',
          '/golden:web',
        ],
      );
    case 'deprecate-after':
      return valuesOf(
        noise,
        ['1d', '90d', '3650d', '1w', '521w', '1y', '10y'],
        ['0d', '3651d', '522w', '11y', '90', '90D', '1m', ' 90d', '-1d', '0y'],
      );
    case 'deregistration-protection':
      return valuesOf(
        noise,
        ['true', 'TRUE', 'false', 'with-cooldown'],
        ['yes', 'on', 'With-Cooldown', 'cooldown', ''],
      );
    case 'family':
      return valuesOf(
        noise,
        ['web', "web-server (prod) [x] ./-'@_", 'f'.repeat(128)],
        ['', 'web#1', 'f'.repeat(129), 'wéb', 'web,app', 'web:1'],
      );
    case 'retain':
      return valuesOf(
        noise,
        ['1', '3', '1000', '1d', '30d', '36500d'],
        ['0', '1001', '0d', '36501d', '3w', '-1', '3 ', '03'],
      );
    case 'retain-delete-snapshots':
      return boolValue(noise);
    default:
      return junk;
  }
}

/** A tag key under the prefix (`rest`), or a plain key. */
type Entry =
  | { prefixed: true; rest: string; value: string }
  | { prefixed: false; key: string; value: string };

const prefixed = (rest: string, value: string): Entry => ({ prefixed: true, rest, value });
const plain = (key: string, value: string): Entry => ({ prefixed: false, key, value });

/** Keys that conflict with most others (or, for register, decide everything): drawn less often. */
const RARE_KEYS = [
  'register',
  'device-name',
  'kernel-id',
  'ramdisk-id',
  'tpm-support',
  'sriov-net-support',
  'retain',
  'uefi-data',
];
/** Distribution and lifecycle keys: drawn as often as the rare ones, so that image and volume keys stay common. */
const LIFECYCLE_POOL = LIFECYCLE_KEYS.filter((key) => !RARE_KEYS.includes(key));
const COMMON_KEYS = CONTRACT_KEYS.filter((key) => !RARE_KEYS.includes(key) && !LIFECYCLE_KEYS.includes(key));

/** Keys valid only with another (retain with family, uefi-data with a UEFI boot mode): drawn alone only with noise. */
const PAIRED_KEYS = ['retain', 'uefi-data'];

const contractEntry = (noise: Noise, keys?: readonly string[]) =>
  (keys
    ? pick(...keys)
    : fc.oneof(
        { weight: 5, arbitrary: pick(...COMMON_KEYS) },
        { weight: 1, arbitrary: pick(...RARE_KEYS.filter((key) => noise || !PAIRED_KEYS.includes(key))) },
        { weight: 1, arbitrary: pick(...LIFECYCLE_POOL) },
      )
  ).chain((key) => contractValue(key, noise).map((value) => prefixed(key, value)));

const DEVICE_NAMES_OK = ['/dev/sdb', '/dev/sdc', '/dev/xvdb', '/dev/sda1', '/dev/nvme1n1'];
const DEVICE_NAMES_ODD = ['/dev/xvda', 'xvdb', 'sdb', '/dev/sd b', '', '/dev/'];

const snapRef = (noise: boolean) =>
  noise
    ? fc.oneof(
        { weight: 6, arbitrary: pick(...EXTRA_IDS) },
        {
          weight: 1,
          arbitrary: pick(ROOT_ID, UNKNOWN_ID, ...MEMBER_IDS, 'snap-xyz', 'snap-123', 'SNAP-000b1'),
        },
      )
    : pick(...EXTRA_IDS);

const optionPiece = (noise: boolean): fc.Arbitrary<string> => {
  const valid = fc.oneof(
    sizeValue(noise).map((v) => `size=${v}`),
    volumeTypeValue(noise).map((v) => `type=${v}`),
    iopsValue(noise).map((v) => `iops=${v}`),
    throughputValue(noise).map((v) => `throughput=${v}`),
    boolValue(noise).map((v) => `delete=${v}`),
  );
  if (!noise) return valid;
  return fc.oneof(
    { weight: 10, arbitrary: valid },
    { weight: 1, arbitrary: pick('bogus=1', 'size', '=3', 'size=8=9', 'Size=8', '') },
  );
};

const deviceValue = (noise: boolean): fc.Arbitrary<string> => {
  const options = fc.array(optionPiece(noise), { maxLength: 3 });
  const values = [
    pick('none', 'ephemeral0', 'ephemeral1', 'ephemeral23'),
    fc.tuple(snapRef(noise), options).map(([id, opts]) => [id, ...opts].join(':')),
    fc.tuple(sizeValue(noise), options).map(([size, opts]) => ['empty', `size=${size}`, ...opts].join(':')),
  ];
  if (!noise) return fc.oneof(...values);
  return fc.oneof(
    ...values.map((arbitrary) => ({ weight: 4, arbitrary })),
    {
      weight: 1,
      arbitrary: pick('ephemeral24', 'Ephemeral0', 'NONE', 'ephemeral', 'empty', 'empty:type=gp3', 'snap-'),
    },
    { weight: 1, arbitrary: options.map((opts) => ['empty', ...opts].join(':')) },
    { weight: 1, arbitrary: junk },
  );
};

const deviceEntry = (noise: boolean) =>
  fc
    .tuple(
      noise ? pick(...DEVICE_NAMES_OK, ...DEVICE_NAMES_ODD) : pick(...DEVICE_NAMES_OK),
      deviceValue(noise),
    )
    .map(([device, value]) => prefixed(`device:${device}`, value));

const amiTagEntry = (noise: boolean) =>
  fc
    .tuple(
      noise
        ? fc.oneof(
            { weight: 6, arbitrary: pick('Env', 'Team', 'Name', 'Owner') },
            {
              weight: 1,
              arbitrary: pick('aws:foo', 'AWS:bar', 'snap2ami:key', 'acme:x', '', 'k'.repeat(129)),
            },
            { weight: 1, arbitrary: fc.string({ minLength: 1, maxLength: 10 }) },
          )
        : pick('Env', 'Team', 'Name', 'Owner', 'Project'),
      noise
        ? fc.oneof(
            { weight: 8, arbitrary: fc.string({ maxLength: 20 }) },
            { weight: 1, arbitrary: fc.constant('v'.repeat(257)) },
          )
        : fc.string({ maxLength: 20 }),
    )
    .map(([key, value]) => prefixed(`tag:${key}`, value));

/** Keys under the prefix that are not in the contract: typos and inventions. */
const misspelledEntry = fc
  .tuple(
    fc.oneof(
      pick(
        'architecure',
        'arch',
        'volume_type',
        'Name',
        'registr',
        'devices:/dev/sdb',
        'tags:Env',
        'device',
        'tag',
      ),
      pick(
        'source-snapshot',
        'key',
        'volumesize',
        'Register',
        'copytags',
        'kernel_id',
        'constructor',
        '__proto__',
        'copyto',
        'copy-kms:us-west-2',
        'retention',
      ),
      fc
        .string({ minLength: 1, maxLength: 10 })
        .filter(
          (rest) =>
            !(CONTRACT_KEYS as readonly string[]).includes(rest) && !/^(device|tag|copy-kms-key):/.test(rest),
        ),
    ),
    junk,
  )
  .map(([rest, value]) => prefixed(rest, value));

/** Tags outside the prefix: ordinary ones, aws: ones, and the prefix in the wrong case. */
const plainEntry = (noise: boolean) =>
  fc.oneof(
    {
      weight: 18,
      arbitrary: fc
        .tuple(pick('Name', 'Env', 'Team', 'Owner', 'CostCenter'), fc.string({ maxLength: 20 }))
        .map(([key, value]) => plain(key, value)),
    },
    {
      weight: 9,
      arbitrary: fc
        .tuple(
          pick(
            'aws:backup:source-resource',
            'aws:cloudformation:stack-name',
            'aws:dlm:lifecycle-policy-id',
            'AWS:Mixed',
            'aws:ec2:fleet-id',
          ),
          fc.string({ maxLength: 20 }),
        )
        .map(([key, value]) => plain(key, value)),
    },
    {
      weight: noise ? 1 : 0,
      arbitrary: fc
        .tuple(pick('Snap2ami:register', 'SNAP2AMI:name', 'snap2AMI:tag:Env'), junk)
        .map(([key, value]) => plain(key, value)),
    },
    {
      weight: 6,
      arbitrary: fc
        .tuple(fc.string({ minLength: 1, maxLength: 16 }), fc.string({ maxLength: 16 }))
        .map(([key, value]) => plain(key, value)),
    },
  );

/** Sometimes many tags at once, to reach the 50-tag limit through copy-tags or tag:. */
const bulkEntries = fc.oneof(
  { weight: 8, arbitrary: fc.constant<Entry[]>([]) },
  {
    weight: 1,
    arbitrary: fc
      .integer({ min: 40, max: 55 })
      .map((n) => Array.from({ length: n }, (_, i) => plain(`k${i}`, `v${i}`))),
  },
  {
    weight: 1,
    arbitrary: fc
      .integer({ min: 44, max: 52 })
      .map((n) => Array.from({ length: n }, (_, i) => prefixed(`tag:t${i}`, `v${i}`))),
  },
);

const rarely = <T>(arbitrary: fc.Arbitrary<T[]>, noise: boolean): fc.Arbitrary<T[]> =>
  noise
    ? fc.oneof({ weight: 3, arbitrary: fc.constant<T[]>([]) }, { weight: 1, arbitrary })
    : fc.constant<T[]>([]);

/** Keys whose values the contract restricts, for single faults. */
const FAULT_KEYS = CONTRACT_KEYS.filter((key) => key !== 'register' && key !== 'image-id');

/** The tags of a root snapshot (as entries, before the prefix is applied); `fault` adds one value outside its accepted set. */
export const rootEntries = (noise: boolean, fault = false): fc.Arbitrary<Entry[]> =>
  fc
    .tuple(
      fc.oneof(
        { weight: 24, arbitrary: fc.constant([prefixed('register', 'true')]) },
        {
          weight: 3,
          arbitrary: contractValue('register', true).map((value) => [prefixed('register', value)]),
        },
        { weight: 1, arbitrary: fc.constant<Entry[]>([]) },
      ),
      fc.option(
        contractValue('name', noise).map((value) => [prefixed('name', value)]),
        { nil: [] as Entry[], freq: 2 },
      ),
      fc.array(contractEntry(noise), { maxLength: 6 }),
      fc.array(deviceEntry(noise), { maxLength: 3 }),
      fc.array(amiTagEntry(noise), { maxLength: 3 }),
      rarely(fc.array(misspelledEntry, { minLength: 1, maxLength: 2 }), noise),
      rarely(fc.array(copyKmsKeyEntry(noise), { minLength: 1, maxLength: 2 }), noise),
      fc.array(plainEntry(noise), { maxLength: 5 }),
      bulkEntries,
      fault
        ? fc
            .oneof(
              { weight: 3, arbitrary: contractEntry('fault', FAULT_KEYS) },
              { weight: 1, arbitrary: misspelledEntry },
            )
            .map((entry) => [entry])
        : fc.constant<Entry[]>([]),
    )
    .map((parts) => parts.flat());

const MEMBER_KEYS = [
  'device-name',
  'volume-type',
  'volume-size',
  'iops',
  'throughput',
  'delete-on-termination',
];

/** The tags of another member of a multi-volume set. */
const memberEntries = (noise: boolean): fc.Arbitrary<Entry[]> =>
  fc
    .tuple(
      fc.oneof(
        { weight: 8, arbitrary: fc.constant<Entry[]>([]) },
        {
          weight: noise ? 2 : 0,
          arbitrary: contractValue('register', true).map((value) => [prefixed('register', value)]),
        },
      ),
      fc.oneof(
        {
          weight: 4,
          arbitrary: contractValue('device-name', noise).map((value) => [prefixed('device-name', value)]),
        },
        { weight: 1, arbitrary: fc.constant<Entry[]>([]) },
      ),
      fc.array(contractEntry(noise, MEMBER_KEYS), { maxLength: 3 }),
      rarely(fc.array(contractEntry(noise), { minLength: 1, maxLength: 2 }), noise),
      rarely(fc.array(misspelledEntry, { minLength: 1, maxLength: 1 }), noise),
      fc.array(plainEntry(noise), { maxLength: 2 }),
    )
    .map((parts) => parts.flat());

export function applyPrefix(entries: readonly Entry[], prefix: string): [string, string][] {
  return entries.map((entry) => [entry.prefixed ? `${prefix}${entry.rest}` : entry.key, entry.value]);
}

const startTime = fc.date({
  min: new Date('2000-01-01T00:00:00.000Z'),
  max: new Date('2099-12-31T23:59:59.999Z'),
  noInvalidDate: true,
});

/** The fields of a snapshot other than its ID and tags. */
const snapshotFields = (noise: boolean, rootOutpost: fc.Arbitrary<string | undefined>) =>
  fc.record({
    state: noise
      ? fc.oneof(
          { weight: 12, arbitrary: fc.constant('completed') },
          { weight: 1, arbitrary: pick('pending', 'error') },
        )
      : fc.constant('completed'),
    owner: noise
      ? fc.oneof(
          { weight: 12, arbitrary: fc.constant<string | undefined>(ACCOUNT) },
          { weight: 1, arbitrary: pick<string | undefined>(OTHER_ACCOUNT, undefined) },
        )
      : fc.constant<string | undefined>(ACCOUNT),
    size: fc.option(fc.integer({ min: 1, max: 64 }), { nil: undefined, freq: 8 }),
    start: fc.option(startTime, { nil: undefined, freq: 10 }),
    volumeId: fc.option(pick('vol-0123456789abcdef0', 'vol-0aa'), { nil: undefined, freq: 10 }),
    outpost: rootOutpost,
  });

export interface Scenario {
  settings: PlannerSettings;
  group: SnapshotGroup;
  /** Every snapshot looked up: the group's members and the extra ones. */
  known: Map<string, Snapshot>;
  /** The same, as specs, to rebuild fresh copies. */
  specs: SnapshotSpec[];
}

export function buildScenario(
  settings: PlannerSettings,
  group: SnapshotGroup,
  specs: SnapshotSpec[],
): Scenario {
  return { settings, group, specs, known: new Map(specs.map((spec) => [spec.id, makeSnapshot(spec)])) };
}

/**
 * A root snapshot with arbitrary tags, the snapshots its device: values may name, and sometimes
 * other members of a multi-volume set. `noise` adds near misses, typos and odd snapshots.
 */
export const scenarioOf = (noise: boolean, fault = false): fc.Arbitrary<Scenario> =>
  fc
    .record({
      prefix: fc.oneof(
        { weight: 4, arbitrary: fc.constant('snap2ami:') },
        { weight: 1, arbitrary: fc.constant('acme:') },
      ),
      region: pick('us-east-1', 'eu-west-1'),
      allowed: pick<string[]>([], [OTHER_ACCOUNT]),
      rootOutpost: fc.option(fc.constant(OUTPOST), { nil: undefined, freq: 6 }),
    })
    .chain(({ prefix, region, allowed, rootOutpost }) => {
      const sameOrOther = noise
        ? fc.oneof(
            { weight: 10, arbitrary: fc.constant(rootOutpost) },
            { weight: 1, arbitrary: pick<string | undefined>(undefined, OUTPOST, OTHER_OUTPOST) },
          )
        : fc.constant(rootOutpost);
      return fc.record({
        settings: fc.constant<PlannerSettings>({
          account: ACCOUNT,
          region,
          prefix,
          allowedSourceAccounts: allowed,
        }),
        root: fc.tuple(snapshotFields(noise, fc.constant(rootOutpost)), rootEntries(noise, fault)),
        extras: fc.tuple(
          ...EXTRA_IDS.map(() =>
            fc.option(snapshotFields(noise, sameOrOther), { nil: undefined, freq: noise ? 8 : 1000 }),
          ),
        ),
        members: fc.array(fc.tuple(snapshotFields(noise, sameOrOther), memberEntries(noise)), {
          maxLength: MEMBER_IDS.length,
        }),
        multiVolume: fc.boolean(),
        /** A member the lookup did not find. */
        missing: noise
          ? fc.oneof(
              { weight: 14, arbitrary: fc.constant<string[]>([]) },
              { weight: 1, arbitrary: fc.constant([UNKNOWN_ID]) },
            )
          : fc.constant<string[]>([]),
      });
    })
    .map(({ settings, root, extras, members, multiVolume, missing }) => {
      const prefix = settings.prefix;
      const specs: SnapshotSpec[] = [
        { id: ROOT_ID, ...root[0], tags: applyPrefix(root[1], prefix) },
        ...extras.flatMap((fields, index) =>
          fields ? [{ id: EXTRA_IDS[index] as string, ...fields, tags: [] }] : [],
        ),
        ...members.map(([fields, entries], index) => ({
          id: MEMBER_IDS[index] as string,
          ...fields,
          tags: applyPrefix(entries, prefix),
        })),
      ];
      const group: SnapshotGroup = {
        snapshotIds: [ROOT_ID, ...members.map((_, index) => MEMBER_IDS[index] as string), ...missing],
        multiVolume: members.length > 0 || missing.length > 0 || multiVolume,
      };
      return buildScenario(settings, group, specs);
    });

/**
 * Any kind of scenario: with noise; with accepted values only (which may still conflict); or
 * with accepted values and a single value outside its accepted set, the one fault that a
 * planner falling back silently to a default would let through.
 */
export const scenario: fc.Arbitrary<Scenario> = fc.oneof(
  scenarioOf(true),
  scenarioOf(false),
  scenarioOf(false, true),
);

// ---------------------------------------------------------------------------------------------
// Valid variations: tags whose values change, but not which snapshots are in the request.

/**
 * Volume options that satisfy the contract, limits included, for any generated snapshot (1 to
 * 64 GiB): a given size is from 64 GiB, and a type or IOPS that need more than 1 GiB get one.
 */
export const validVolume = (root: boolean): fc.Arbitrary<Record<string, string>> =>
  fc
    .record({
      type: fc.option(pick(...(root ? ['standard', 'io1', 'io2', 'gp2', 'gp3'] : VOLUME_TYPES)), {
        nil: undefined,
      }),
      size: fc.option(fc.integer({ min: 64, max: 2000 }), { nil: undefined }),
      delete: fc.option(pick('true', 'false', 'TRUE', 'False'), { nil: undefined }),
      withIops: fc.boolean(),
      withThroughput: fc.boolean(),
    })
    .chain(({ type, size, delete: del, withIops, withThroughput }) => {
      const effective = type ?? 'gp3';
      const limits = LIMITS[effective] as TypeLimits;
      // A size the type accepts, never below a snapshot (io1, io2, st1 and sc1 need more than 1 GiB).
      let gib = size;
      if (limits.size[0] > 1) gib = Math.max(gib ?? 64, limits.size[0]);
      if (gib !== undefined) gib = Math.min(gib, limits.size[1]);
      const iopsRule = limits.iops;
      const needsIops = effective === 'io1' || effective === 'io2';
      const iops =
        iopsRule && (needsIops || withIops)
          ? fc.integer({
              min: iopsRule.range[0],
              // Without a size, the smallest snapshot's: 1 GiB.
              max: Math.min(iopsRule.range[1], Math.max(iopsRule.above, iopsRule.perGiB * (gib ?? 1))),
            })
          : fc.constant(undefined);
      return iops.chain((iopsValue) => {
        const rule = limits.throughput;
        const throughput =
          rule && withThroughput
            ? fc.integer({
                min: rule.range[0],
                max: Math.min(
                  rule.range[1],
                  Math.max(rule.above, Math.floor(rule.perIops * (iopsValue ?? rule.defaultIops))),
                ),
              })
            : fc.constant(undefined);
        return throughput.map((throughputValue) => {
          const options: Record<string, string> = {};
          if (type !== undefined) options.type = type;
          if (gib !== undefined) options.size = String(gib);
          if (iopsValue !== undefined) options.iops = String(iopsValue);
          if (throughputValue !== undefined) options.throughput = String(throughputValue);
          if (del !== undefined) options.delete = del;
          return options;
        });
      });
    });

const VOLUME_TAG: Record<string, string> = {
  type: 'volume-type',
  size: 'volume-size',
  iops: 'iops',
  throughput: 'throughput',
  delete: 'delete-on-termination',
};

export const volumeEntries = (options: Record<string, string>): Entry[] =>
  Object.entries(options).map(([option, value]) => prefixed(VOLUME_TAG[option] as string, value));

export const deviceOptions = (options: Record<string, string>): string =>
  Object.entries(options)
    .map(([option, value]) => `:${option}=${value}`)
    .join('');

const safeName = fc
  .array(
    fc.oneof(
      nameLiteral,
      pick('{snapshotId}', '{region}', '{account}', '{date}', '{datetime}', '{volumeId}'),
    ),
    {
      minLength: 1,
      maxLength: 3,
    },
  )
  .map((pieces) => `ami-${pieces.join('')}`);

/** Image parameters that satisfy the contract together. */
const validImage: fc.Arbitrary<Entry[]> = fc
  .record({
    architecture: fc.option(pick('i386', 'x86_64', 'arm64', 'x86_64_mac', 'arm64_mac'), { nil: undefined }),
    paravirtual: fc.boolean(),
    bootMode: fc.option(pick('legacy-bios', 'uefi', 'uefi-preferred'), { nil: undefined }),
    tpm: fc.boolean(),
    uefiData: fc.option(pick('s3://my-bucket/uefi/web.b64', 'ssm:/golden/uefi'), { nil: undefined }),
    ena: fc.option(pick('true', 'false', 'False'), { nil: undefined }),
    sriov: fc.boolean(),
    imds: fc.option(pick('v2.0', 'none'), { nil: undefined }),
    rootDevice: fc.option(pick('/dev/xvda', '/dev/sda1'), { nil: undefined }),
    kernel: fc.option(pick('aki-88aa75e1', 'aki-0'), { nil: undefined }),
    ramdisk: fc.option(pick('ari-a51cf9cc'), { nil: undefined }),
    platform: fc.option(pick('linux', 'other', 'windows', 'rhel', 'sles'), { nil: undefined }),
    billing: fc.option(pick('bp-6ba54002', 'bp-6ba54002, bp-63a5400a'), { nil: undefined }),
    allowLoss: fc.option(pick('true', 'false', 'TRUE'), { nil: undefined }),
    name: fc.option(safeName, { nil: undefined }),
    description: fc.option(fc.string({ maxLength: 60 }), { nil: undefined }),
  })
  .map((image) => {
    const entries: Entry[] = [];
    const set = (key: string, value: string | undefined) => {
      if (value !== undefined) entries.push(prefixed(key, value));
    };
    const arm = image.architecture === 'arm64' || image.architecture === 'arm64_mac';
    const bootMode = arm && image.bootMode === 'legacy-bios' ? 'uefi' : image.bootMode;
    set('architecture', image.architecture);
    set('virtualization-type', image.paravirtual ? 'paravirtual' : image.architecture ? 'hvm' : undefined);
    set('boot-mode', bootMode);
    if (image.tpm && (bootMode === 'uefi' || bootMode === 'uefi-preferred')) set('tpm-support', 'v2.0');
    if (image.uefiData !== undefined && (bootMode === 'uefi' || bootMode === 'uefi-preferred'))
      set('uefi-data', image.uefiData);
    set('ena-support', image.paravirtual && image.ena === 'true' ? 'false' : image.ena);
    if (image.sriov && !image.paravirtual) set('sriov-net-support', 'simple');
    set('imds-support', image.imds);
    set('root-device-name', image.rootDevice);
    if (image.paravirtual) {
      set('kernel-id', image.kernel);
      set('ramdisk-id', image.ramdisk);
    }
    set('platform', image.platform);
    set('allow-billing-code-loss', image.allowLoss);
    set('billing-products', image.billing);
    set('name', image.name);
    set('description', image.description);
    return entries;
  });

/** Plain tags, and copy-tags / tag: entries that only use them. */
const validAmiTags: fc.Arbitrary<Entry[]> = fc
  .record({
    plainTags: fc.uniqueArray(pick('Name', 'Env', 'Team', 'Owner', 'CostCenter'), { maxLength: 5 }),
    values: fc.array(fc.string({ maxLength: 20 }), { minLength: 5, maxLength: 5 }),
    copyAll: fc.boolean(),
    copyCount: fc.nat({ max: 5 }),
    explicit: fc.uniqueArray(fc.tuple(pick('Env', 'Project', 'Build'), fc.string({ maxLength: 20 })), {
      selector: ([key]) => key,
      maxLength: 3,
    }),
  })
  .map(({ plainTags, values, copyAll, copyCount, explicit }) => {
    const entries: Entry[] = plainTags.map((key, index) => plain(key, values[index] ?? ''));
    const copy = copyAll ? '*' : plainTags.slice(0, copyCount).join(',');
    if (copy !== '') entries.push(prefixed('copy-tags', copy));
    for (const [key, value] of explicit) entries.push(prefixed(`tag:${key}`, value));
    return entries;
  });

/** Devices that name no snapshot. */
const validNonSnapshotDevices: fc.Arbitrary<Entry[]> = fc
  .uniqueArray(
    fc.tuple(
      pick('/dev/sdl', '/dev/sdm', '/dev/sdn', '/dev/sdo'),
      fc.oneof(
        pick('none', 'ephemeral0', 'ephemeral3'),
        validVolume(false).map(
          ({ size = '10', ...options }) => `empty:size=${size}${deviceOptions(options)}`,
        ),
      ),
    ),
    { selector: ([device]) => device, maxLength: 3 },
  )
  .map((devices) => devices.map(([device, value]) => prefixed(`device:${device}`, value)));

/** Distribution and lifecycle tags that satisfy the contract together (copy-kms-key for copied Regions, retain with a family). */
const validLifecycle: fc.Arbitrary<Entry[]> = fc
  .record({
    copyTo: fc.option(fc.shuffledSubarray(COPY_REGIONS, { minLength: 1, maxLength: 3 }), { nil: undefined }),
    kms: fc.array(fc.option(pick(...KMS_KEYS), { nil: undefined }), { minLength: 3, maxLength: 3 }),
    share: fc.option(contractValue('share-with', false), { nil: undefined }),
    ssm: fc.option(contractValue('ssm-parameter', false), { nil: undefined }),
    deprecate: fc.option(contractValue('deprecate-after', false), { nil: undefined }),
    protection: fc.option(contractValue('deregistration-protection', false), { nil: undefined }),
    family: fc.option(contractValue('family', false), { nil: undefined }),
    retain: fc.option(contractValue('retain', false), { nil: undefined }),
    deleteSnapshots: fc.option(boolValue(false), { nil: undefined }),
  })
  .map((lifecycle) => {
    const entries: Entry[] = [];
    const set = (key: string, value: string | undefined) => {
      if (value !== undefined) entries.push(prefixed(key, value));
    };
    set('copy-to', lifecycle.copyTo?.join(','));
    for (const [index, region] of (lifecycle.copyTo ?? []).entries())
      set(`copy-kms-key:${region}`, lifecycle.kms[index]);
    set('share-with', lifecycle.share);
    set('ssm-parameter', lifecycle.ssm);
    set('deprecate-after', lifecycle.deprecate);
    set('deregistration-protection', lifecycle.protection);
    set('family', lifecycle.family);
    if (lifecycle.family !== undefined) set('retain', lifecycle.retain);
    set('retain-delete-snapshots', lifecycle.deleteSnapshots);
    return entries;
  });

export interface Variation {
  /** Entries for the root's tags (register=true included). */
  rootEntries: Entry[];
  prefix: string;
  start: Date;
  volumeId: string;
  size: number;
}

/**
 * A valid root configuration around a fixed skeleton: `refs` are the snapshots its device: tags
 * name (at /dev/sdb, /dev/sdc, …). Only values vary.
 */
export const validVariation = (refs: readonly string[]): fc.Arbitrary<Variation> =>
  fc
    .record({
      image: validImage,
      lifecycle: fc.oneof(fc.constant<Entry[]>([]), validLifecycle),
      rootVolume: validVolume(true),
      refOptions: fc.tuple(...refs.map(() => validVolume(false))),
      tags: validAmiTags,
      devices: validNonSnapshotDevices,
      prefix: pick('snap2ami:', 'acme:'),
      start: startTime,
      volumeId: pick('vol-0123456789abcdef0', 'vol-0aa'),
      size: fc.integer({ min: 1, max: 64 }),
    })
    .map(({ image, lifecycle, rootVolume, refOptions, tags, devices, prefix, start, volumeId, size }) => ({
      rootEntries: [
        prefixed('register', 'true'),
        ...image,
        ...lifecycle,
        ...volumeEntries(rootVolume),
        ...refs.map((ref, index) =>
          prefixed(`device:/dev/sd${'bcdefghijk'[index]}`, `${ref}${deviceOptions(refOptions[index] ?? {})}`),
        ),
        ...devices,
        ...tags,
      ],
      prefix,
      start,
      volumeId,
      size,
    }));
