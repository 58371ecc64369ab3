/** The CLI's option parsers and its one-line AWS error messages. */
import { Command, InvalidArgumentError } from 'commander';
import { describe, expect, it, vi } from 'vitest';
import { deploymentSettings } from '#shared/settings.ts';
import { explainAwsError } from '../../../cli/errors.ts';
import {
  bucketOverridesOption,
  type ContractOptions,
  contractOptions,
  contractSettings,
  duration,
  pointInTime,
  rateShareOption,
  region,
} from '../../../cli/options.ts';

describe('--since and --until', () => {
  it.each([
    ['2026-11-30', '2026-11-30T00:00:00.000Z'],
    ['2026-11-30T06:00Z', '2026-11-30T06:00:00.000Z'],
    ['2026-11-30T06:00:00+02:00', '2026-11-30T04:00:00.000Z'],
  ])('takes the ISO 8601 time %s as %s', (value, iso) => {
    expect(pointInTime(value)).toBe(iso);
  });

  it.each([
    ['90m', 90 * 60_000],
    ['12h', 12 * 3_600_000],
    ['7d', 7 * 86_400_000],
    ['2w', 14 * 86_400_000],
  ])('takes the age %s as that long before now', (value, ms) => {
    vi.useFakeTimers({ now: new Date('2026-11-30T12:00:00Z') });
    try {
      expect(pointInTime(value)).toBe(new Date(Date.parse('2026-11-30T12:00:00Z') - ms).toISOString());
    } finally {
      vi.useRealTimers();
    }
  });

  it.each(['yesterday', '2026-13-45', '30/11/2026', '12', '12 h', '-1d', '', '2026-11-30T25:00Z'])(
    'refuses %j, saying what is accepted',
    (value) => {
      expect(() => pointInTime(value)).toThrow(InvalidArgumentError);
      expect(() => pointInTime(value)).toThrow(/ISO 8601 .* nor an age/);
    },
  );
});

describe('--grace', () => {
  it.each([
    ['0', 0],
    ['0m', 0],
    ['90m', 5400],
    ['1h', 3600],
    ['2d', 172_800],
    ['1w', 604_800],
  ])('takes %s as %i seconds', (value, seconds) => {
    expect(duration(value)).toBe(seconds);
  });

  it.each(['1 h', 'an hour', '-1h', '1.5h', '60', '', '1y'])(
    'refuses %j, saying what is accepted',
    (value) => {
      expect(() => duration(value)).toThrow(/is not a length of time; accepted: 0, or an age/);
    },
  );
});

describe("redrive's --ec2-rate-share and --ec2-bucket-overrides: the functions' settings, as usage errors", () => {
  it('takes what the functions take', () => {
    expect(rateShareOption('0.25')).toBe(0.25);
    expect(bucketOverridesOption('RegisterImage=100/10')).toEqual({
      RegisterImage: { size: 100, refill: 10 },
    });
  });

  it.each([
    [rateShareOption, '2', '"2" is not a usable share'],
    [rateShareOption, '0', '"0" is not a usable share'],
    [bucketOverridesOption, 'StopInstances=1/1', '"StopInstances=1/1" is not a bucket override'],
  ])('refuses %#: %s', (parse, value, message) => {
    expect(() => parse(value)).toThrow(InvalidArgumentError);
    expect(() => parse(value)).toThrow(message);
  });
});

describe('--region', () => {
  it.each(['us-east-1', 'eu-central-2', 'ap-southeast-5', 'us-gov-west-1', 'cn-north-1'])(
    'accepts %s',
    (name) => {
      expect(region(name)).toBe(name);
    },
  );
  it.each(['us-est-1', 'us-east-9', 'US-EAST-1', 'useast1', ''])('refuses %j', (name) => {
    expect(() => region(name)).toThrow(/is not an AWS Region the SDK knows/);
  });
});

describe('AWS errors as one line', () => {
  const refused = Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:5000'), { name: 'Error' });
  const context = { service: 'DynamoDB', what: 'reading the records table t' };

  it('suggests the local emulator only when the endpoint is on this machine', () => {
    const local = explainAwsError(refused, context, { AWS_ENDPOINT_URL: 'http://127.0.0.1:5000' });
    expect(local.message).toContain('is the local emulator running?');
    const aws = explainAwsError(refused, { ...context, region: 'eu-west-1' }, {});
    expect(aws.message).not.toContain('emulator');
    expect(aws.message).toContain('cannot reach DynamoDB in eu-west-1');
    const serviceEndpoint = explainAwsError(refused, context, {
      AWS_ENDPOINT_URL_DYNAMODB: 'http://localhost:4566',
    });
    expect(serviceEndpoint.message).toContain('emulator');
  });

  it('says a missing Region is missing', () => {
    expect(explainAwsError(new Error('Region is missing'), context, {}).message).toContain(
      'no AWS Region: pass --region',
    );
  });

  it('does not blame --table alone for a missing table: the Region may be wrong', () => {
    const notFound = Object.assign(new Error('Requested resource not found'), {
      name: 'ResourceNotFoundException',
    });
    const message = explainAwsError(
      notFound,
      { ...context, region: 'us-west-2', resourceOption: '--table' },
      {},
    ).message;
    expect(message).toBe('reading the records table t: not found in us-west-2 (check --table and --region)');
  });
});

describe("the planning commands' deployment settings (contractOptions)", () => {
  /** contractOptions on a fresh command, parsed from `args` with `env` as the environment. */
  function parsed(args: string[], env: Record<string, string> = {}) {
    for (const [name, value] of Object.entries(env)) vi.stubEnv(name, value);
    try {
      const command = contractOptions(new Command().exitOverride().configureOutput({ writeErr: () => {} }));
      return contractSettings(command.parse(args, { from: 'user' }).opts<ContractOptions>());
    } finally {
      vi.unstubAllEnvs();
    }
  }
  const VARIABLES = {
    SNAP2AMI_TAG_PREFIX: 'acme:',
    SNAP2AMI_ALLOWED_SOURCE_ACCOUNTS: '111122223333',
    SNAP2AMI_SSM_PARAMETER_PATH: '/golden/',
    SNAP2AMI_UEFI_DATA_BUCKET: 'uefi-store',
    SNAP2AMI_UEFI_DATA_PARAMETER_PATH: '/golden/uefi/',
    SNAP2AMI_LAUNCH_TEST_SUBNET_IDS: 'subnet-12345678',
    SNAP2AMI_LAUNCH_TEST_SECURITY_GROUP_ID: 'sg-12345678',
    SNAP2AMI_LAUNCH_TEST_VPC_ID: 'vpc-12345678',
    SNAP2AMI_LAUNCH_TEST_INSTANCE_PROFILE: 'launch-test',
    SNAP2AMI_LAUNCH_TEST_INSTANCE_TYPES: 'c7g.large,c7i.large',
  };

  it('without flags or variables: the defaults the functions apply', () => {
    const functions = deploymentSettings({});
    expect(parsed([])).toEqual({
      prefix: functions.prefix,
      allowedSourceAccounts: [],
      bounds: functions.bounds,
    });
  });

  it('from the SNAP2AMI_* variables: what the functions read from them', () => {
    const functions = deploymentSettings(VARIABLES);
    expect(parsed([], VARIABLES)).toEqual({
      prefix: 'acme:',
      allowedSourceAccounts: ['111122223333'],
      bounds: functions.bounds,
    });
  });

  it('from flags, one per parameter, over the variables', () => {
    const flags = Object.entries(VARIABLES).flatMap(([variable, value]) => {
      const name = variable
        .replace(/^SNAP2AMI_/, '')
        .toLowerCase()
        .replaceAll('_', '-');
      return [name === 'tag-prefix' ? '--prefix' : `--${name}`, value];
    });
    const other = Object.fromEntries(Object.keys(VARIABLES).map((name) => [name, '']));
    expect(parsed(flags, { ...other, SNAP2AMI_SSM_PARAMETER_PATH: '/other/' })).toEqual(
      parsed([], VARIABLES),
    );
  });

  it.each([
    [['--ssm-parameter-path', '/'], '"/" is not an SSM parameter path'],
    [['--uefi-data-bucket', 'Uefi'], '"Uefi" is not an S3 bucket name'],
    [['--launch-test-subnet-ids', 'subnet-1'], '"subnet-1" is not a subnet ID'],
    [['--launch-test-instance-types', 'mac2.metal'], '"mac2.metal" is not a type a launch test can use'],
  ])('%j is a usage error that says what is accepted', (args, why) => {
    expect(() => parsed(args)).toThrow(why);
    expect(() => parsed(args)).toThrow(/; accepted: /);
  });
});
