/**
 * What each deployment parameter accepts (shared/settings.ts), the lines with which package
 * and deploy refuse the rest, and the IAM condition values made from the parameters
 * (scripts/serverless-parameters.ts), row by row.
 */
import { describe, expect, it } from 'vitest';
import {
  DEFAULT_SSM_PARAMETER_PATH,
  DEFAULT_UEFI_DATA_PARAMETER_PATH,
  deploymentBounds,
  deploymentSettings,
  launchTestSettings,
  MAX_PREFIX_LENGTH,
  parameterProblems,
  reconcileGraceMinutes,
  ssmParameterPath,
  uefiDataSettings,
} from '#shared/settings.ts';
import Snap2amiParameters, {
  launchTestRoleName,
  parameterErrors,
  type Serverless,
} from '../../../scripts/serverless-parameters.ts';

const env = (prefix: string | undefined, accounts: string | undefined) => ({
  SNAP2AMI_TAG_PREFIX: prefix,
  SNAP2AMI_ALLOWED_SOURCE_ACCOUNTS: accounts,
});

describe('deployment settings', () => {
  // [tagPrefix, allowedSourceAccounts, settings]
  const accepted: [
    string | undefined,
    string | undefined,
    { prefix: string; allowedSourceAccounts: string[] },
  ][] = [
    [undefined, undefined, { prefix: 'snap2ami:', allowedSourceAccounts: [] }],
    [undefined, '', { prefix: 'snap2ami:', allowedSourceAccounts: [] }],
    ['acme/', '111122223333', { prefix: 'acme/', allowedSourceAccounts: ['111122223333'] }],
    [
      'x'.repeat(MAX_PREFIX_LENGTH),
      ' 111122223333, 444455556666 ,',
      { prefix: 'x'.repeat(MAX_PREFIX_LENGTH), allowedSourceAccounts: ['111122223333', '444455556666'] },
    ],
  ];
  it.each(accepted)('accepts tagPrefix=%j allowedSourceAccounts=%j', (prefix, accounts, settings) => {
    expect(deploymentSettings(env(prefix, accounts))).toEqual({
      ...settings,
      ec2RateShare: 0.5,
      ec2BucketOverrides: {},
      bounds: deploymentBounds({}),
    });
    expect(parameterProblems(env(prefix, accounts))).toEqual([]);
  });

  // [tagPrefix, allowedSourceAccounts, the parameter refused, why]
  const refused: [string | undefined, string | undefined, string, string][] = [
    [undefined, '1234,abc', 'allowedSourceAccounts', '"1234" is not an AWS account ID'],
    [undefined, '111122223333,abc', 'allowedSourceAccounts', '"abc" is not an AWS account ID'],
    [undefined, '1111-2222-3333', 'allowedSourceAccounts', '"1111-2222-3333" is not an AWS account ID'],
    // Empty: the functions would fall back to the default while the template's IAM conditions
    // and CloudTrail rule used no prefix at all.
    ['', undefined, 'tagPrefix', '"" is not a usable tag prefix'],
    ['aws:', undefined, 'tagPrefix', '"aws:" is not a usable tag prefix'],
    ['AWS:snap2ami:', undefined, 'tagPrefix', '"AWS:snap2ami:" is not a usable tag prefix'],
    ['x'.repeat(MAX_PREFIX_LENGTH + 1), undefined, 'tagPrefix', 'is not a usable tag prefix'],
  ];
  it.each(refused)('refuses tagPrefix=%j allowedSourceAccounts=%j', (prefix, accounts, parameter, why) => {
    expect(() => deploymentSettings(env(prefix, accounts))).toThrow(why);
    const problems = parameterProblems(env(prefix, accounts));
    expect(problems).toEqual([
      {
        parameter,
        value: parameter === 'tagPrefix' ? prefix : accounts,
        problem: expect.stringContaining(why),
      },
    ]);
    expect(problems[0]?.problem).toMatch(/; accepted: .+/);
  });
});

describe("admission control's parameters", () => {
  const budget = (share: string | undefined, overrides: string | undefined) => ({
    SNAP2AMI_EC2_RATE_SHARE: share,
    SNAP2AMI_EC2_BUCKET_OVERRIDES: overrides,
  });
  // [ec2RateShare, ec2BucketOverrides, share, overrides]
  const accepted: [string | undefined, string | undefined, number, Record<string, unknown>][] = [
    [undefined, undefined, 0.5, {}],
    ['', '', 0.5, {}],
    ['1', 'RegisterImage=100/10', 1, { RegisterImage: { size: 100, refill: 10 } }],
    [
      '0.25',
      ' CreateTags=200/20 , DescribeImages=100/40',
      0.25,
      { CreateTags: { size: 200, refill: 20 }, DescribeImages: { size: 100, refill: 40 } },
    ],
  ];
  it.each(accepted)('accepts ec2RateShare=%j ec2BucketOverrides=%j', (share, overrides, value, buckets) => {
    expect(deploymentSettings(budget(share, overrides))).toMatchObject({
      ec2RateShare: value,
      ec2BucketOverrides: buckets,
    });
    expect(parameterProblems(budget(share, overrides))).toEqual([]);
  });

  // [ec2RateShare, ec2BucketOverrides, the parameter refused, why]
  const refused: [string | undefined, string | undefined, string, string][] = [
    ['0', undefined, 'ec2RateShare', '"0" is not a usable share'],
    ['1.5', undefined, 'ec2RateShare', '"1.5" is not a usable share'],
    ['half', undefined, 'ec2RateShare', '"half" is not a usable share'],
    [undefined, 'StopInstances=5/2', 'ec2BucketOverrides', '"StopInstances=5/2" is not a bucket override'],
    [undefined, 'RegisterImage=0/5', 'ec2BucketOverrides', '"RegisterImage=0/5" is not a bucket override'],
    [undefined, 'RegisterImage=50', 'ec2BucketOverrides', '"RegisterImage=50" is not a bucket override'],
  ];
  it.each(refused)('refuses ec2RateShare=%j ec2BucketOverrides=%j', (share, overrides, parameter, why) => {
    expect(() => deploymentSettings(budget(share, overrides))).toThrow(why);
    expect(parameterProblems(budget(share, overrides))).toEqual([
      {
        parameter,
        value: parameter === 'ec2RateShare' ? share : overrides,
        problem: expect.stringContaining(why),
      },
    ]);
  });
});

describe('where the workflow may read UefiData', () => {
  const env = (bucket: string | undefined, path: string | undefined) => ({
    SNAP2AMI_UEFI_DATA_BUCKET: bucket,
    SNAP2AMI_UEFI_DATA_PARAMETER_PATH: path,
  });

  // [uefiDataBucket, uefiDataParameterPath, settings]
  const accepted: [string | undefined, string | undefined, { bucket?: string; parameterPath: string }][] = [
    [undefined, undefined, { parameterPath: DEFAULT_UEFI_DATA_PARAMETER_PATH }],
    ['', '', { parameterPath: '/snap2ami/uefi-data/' }],
    ['uefi-store', '/golden/uefi/', { bucket: 'uefi-store', parameterPath: '/golden/uefi/' }],
    ['a.b-c', '/a/', { bucket: 'a.b-c', parameterPath: '/a/' }],
    [`${'b'.repeat(63)}`, '/x_1.y-z/w/', { bucket: 'b'.repeat(63), parameterPath: '/x_1.y-z/w/' }],
  ];
  it.each(accepted)('accepts uefiDataBucket=%j uefiDataParameterPath=%j', (bucket, path, settings) => {
    expect(uefiDataSettings(env(bucket, path))).toEqual({ bucket: undefined, ...settings });
    expect(parameterProblems(env(bucket, path))).toEqual([]);
  });

  // [uefiDataBucket, uefiDataParameterPath, the parameter refused, why]
  const refused: [string | undefined, string | undefined, string, string][] = [
    ['Uefi-Store', undefined, 'uefiDataBucket', '"Uefi-Store" is not an S3 bucket name'],
    ['ab', undefined, 'uefiDataBucket', '"ab" is not an S3 bucket name'],
    ['a..b', undefined, 'uefiDataBucket', '"a..b" is not an S3 bucket name'],
    ['s3://uefi-store', undefined, 'uefiDataBucket', 'is not an S3 bucket name'],
    [undefined, '/', 'uefiDataParameterPath', '"/" is not an SSM parameter path'],
    [undefined, '/golden/uefi', 'uefiDataParameterPath', '"/golden/uefi" is not an SSM parameter path'],
    [undefined, 'golden/uefi/', 'uefiDataParameterPath', 'is not an SSM parameter path'],
    [undefined, '/golden//uefi/', 'uefiDataParameterPath', 'is not an SSM parameter path'],
    [undefined, '/golden/*/', 'uefiDataParameterPath', 'is not an SSM parameter path'],
    [undefined, '/aws/service/', 'uefiDataParameterPath', 'is not an SSM parameter path'],
    [undefined, '/SSM/x/', 'uefiDataParameterPath', 'is not an SSM parameter path'],
    [undefined, `/${'p'.repeat(1010)}/`, 'uefiDataParameterPath', 'is not an SSM parameter path'],
  ];
  it.each(refused)('refuses uefiDataBucket=%j uefiDataParameterPath=%j', (bucket, path, parameter, why) => {
    expect(() => uefiDataSettings(env(bucket, path))).toThrow(why);
    expect(parameterProblems(env(bucket, path))).toEqual([
      {
        parameter,
        value: parameter === 'uefiDataBucket' ? bucket : path,
        problem: expect.stringMatching(/; accepted: .+/),
      },
    ]);
  });
});

describe('where the workflow may write SSM parameters (ssmParameterPath)', () => {
  const env = (path: string | undefined) => ({ SNAP2AMI_SSM_PARAMETER_PATH: path });

  it.each([
    [undefined, DEFAULT_SSM_PARAMETER_PATH],
    ['', '/snap2ami/'],
    ['/golden/', '/golden/'],
    ['/golden/images/', '/golden/images/'],
  ])('accepts %j as %j', (value, path) => {
    expect(ssmParameterPath(value)).toBe(path);
    expect(parameterProblems(env(value))).toEqual([]);
  });

  // "/" would let the lifecycle role write every parameter of the account, in every Region.
  it.each(['/', '/golden', 'golden/', '/aws/service/', '/ssm/x/', '/golden/*/'])('refuses %j', (value) => {
    expect(() => ssmParameterPath(value)).toThrow(`"${value}" is not an SSM parameter path`);
    expect(parameterProblems(env(value))).toEqual([
      {
        parameter: 'ssmParameterPath',
        value,
        problem: expect.stringMatching(/; accepted: .+\(default \/snap2ami\/\)/),
      },
    ]);
  });
});

describe("the launch test's parameters", () => {
  const env = (values: Partial<Record<string, string>>) =>
    Object.fromEntries(
      Object.entries(values).map(([name, value]) => [`SNAP2AMI_LAUNCH_TEST_${name}`, value]),
    );

  it('by default: no subnet (launch tests are rejected when planning), no profile, the four small types', () => {
    expect(launchTestSettings({})).toEqual({
      subnetIds: [],
      securityGroupId: undefined,
      vpcId: undefined,
      instanceProfile: undefined,
      instanceTypes: ['t3.micro', 't3.small', 't4g.micro', 't4g.small'],
    });
    expect(deploymentBounds({}).launchTest).toEqual(launchTestSettings({}));
    expect(parameterProblems({})).toEqual([]);
  });

  it('reads each from its SNAP2AMI_LAUNCH_TEST_* variable', () => {
    const values = {
      SUBNET_IDS: 'subnet-0123456789abcdef0, subnet-12345678',
      SECURITY_GROUP_ID: 'sg-0123456789abcdef0',
      VPC_ID: '',
      INSTANCE_PROFILE: 'arn:aws:iam::111122223333:instance-profile/launch/test-profile',
      INSTANCE_TYPES: 'm7g.large,c7i-flex.large',
    };
    expect(launchTestSettings(env(values))).toEqual({
      subnetIds: ['subnet-0123456789abcdef0', 'subnet-12345678'],
      securityGroupId: 'sg-0123456789abcdef0',
      vpcId: undefined,
      instanceProfile: 'arn:aws:iam::111122223333:instance-profile/launch/test-profile',
      instanceTypes: ['m7g.large', 'c7i-flex.large'],
    });
    expect(parameterProblems(env(values))).toEqual([]);
    expect(
      launchTestSettings(
        env({ SUBNET_IDS: 'subnet-12345678', VPC_ID: 'vpc-87654321', INSTANCE_PROFILE: 'ssm' }),
      ),
    ).toMatchObject({ vpcId: 'vpc-87654321', instanceProfile: 'ssm', securityGroupId: undefined });
  });

  // [variables, the parameter refused, its value, why]
  const refused: [Record<string, string>, string, string | undefined, string][] = [
    [{ SUBNET_IDS: 'subnet-123' }, 'launchTestSubnetIds', 'subnet-123', '"subnet-123" is not a subnet ID'],
    [{ SUBNET_IDS: 'sg-12345678' }, 'launchTestSubnetIds', 'sg-12345678', '"sg-12345678" is not a subnet ID'],
    [
      { SECURITY_GROUP_ID: 'default' },
      'launchTestSecurityGroupId',
      'default',
      '"default" is not a security group ID',
    ],
    [{ VPC_ID: 'vpc-XYZ12345' }, 'launchTestVpcId', 'vpc-XYZ12345', '"vpc-XYZ12345" is not a VPC ID'],
    [
      { SUBNET_IDS: 'subnet-12345678' },
      'launchTestVpcId',
      undefined,
      'no VPC is given, but launchTestSubnetIds is set and launchTestSecurityGroupId is not',
    ],
    [
      { INSTANCE_PROFILE: 'my profile' },
      'launchTestInstanceProfile',
      'my profile',
      '"my profile" is not an instance profile',
    ],
    [
      { INSTANCE_TYPES: 't3micro' },
      'launchTestInstanceTypes',
      't3micro',
      '"t3micro" is not an instance type',
    ],
    [
      { INSTANCE_TYPES: 'T3.micro' },
      'launchTestInstanceTypes',
      'T3.micro',
      '"T3.micro" is not an instance type',
    ],
    [
      { INSTANCE_TYPES: 'mac2.metal' },
      'launchTestInstanceTypes',
      'mac2.metal',
      '"mac2.metal" is not a type a launch test',
    ],
    [
      { INSTANCE_TYPES: 't3.micro,t3.micro' },
      'launchTestInstanceTypes',
      't3.micro,t3.micro',
      '"t3.micro" is not named once',
    ],
  ];
  it.each(refused)('refuses %j (%s)', (values, parameter, value, why) => {
    expect(() => deploymentSettings(env(values))).toThrow(why);
    const problems = parameterProblems(env(values));
    expect(problems).toEqual([{ parameter, value, problem: expect.stringContaining(why) }]);
    expect(problems[0]?.problem).toMatch(/; accepted: .+/);
  });
});

describe("the deployment's bounds, as the planner gets them", () => {
  it('are the ssm-parameter path, the UefiData sources and the launch test, read from the same variables', () => {
    const env = {
      SNAP2AMI_SSM_PARAMETER_PATH: '/golden/',
      SNAP2AMI_UEFI_DATA_BUCKET: 'uefi-store',
      SNAP2AMI_LAUNCH_TEST_SUBNET_IDS: 'subnet-12345678',
      SNAP2AMI_LAUNCH_TEST_SECURITY_GROUP_ID: 'sg-12345678',
    };
    expect(deploymentSettings(env).bounds).toEqual({
      ssmParameterPath: '/golden/',
      uefiData: { bucket: 'uefi-store', parameterPath: DEFAULT_UEFI_DATA_PARAMETER_PATH },
      launchTest: launchTestSettings(env),
    });
    expect(deploymentBounds(env).launchTest.subnetIds).toEqual(['subnet-12345678']);
  });
});

describe("the reconciler's grace period (reconcileGraceMinutes)", () => {
  it.each([
    [undefined, 60],
    ['', 60],
    ['0', 0],
    ['60', 60],
    ['10080', 10080],
  ])('accepts %j as %i minutes', (value, minutes) => {
    expect(reconcileGraceMinutes(value)).toBe(minutes);
    expect(parameterProblems({ RECONCILE_GRACE_MINUTES: value })).toEqual([]);
  });

  it.each(['-1', '1.5', '1h', 'sixty', '10081', ' 60'])('refuses %j, saying what is accepted', (value) => {
    expect(() => reconcileGraceMinutes(value)).toThrow(
      /is not a grace period; accepted: a whole number of minutes/,
    );
    expect(parameterProblems({ RECONCILE_GRACE_MINUTES: value })).toEqual([
      { parameter: 'reconcileGraceMinutes', value, problem: expect.stringContaining('from 0 to 10080') },
    ]);
  });
});

describe('the package and deploy check', () => {
  const declared = ['tagPrefix', 'allowedSourceAccounts', 'uefiDataBucket', 'uefiDataParameterPath'];
  const good = { SNAP2AMI_TAG_PREFIX: 'snap2ami:', SNAP2AMI_ALLOWED_SOURCE_ACCOUNTS: '' };

  it('passes the defaults and good --param values', () => {
    expect(parameterErrors({ environments: [good, good], declared, cliParams: [] })).toEqual([]);
    expect(
      parameterErrors({
        environments: [{ ...good, SNAP2AMI_ALLOWED_SOURCE_ACCOUNTS: '111122223333' }],
        declared,
        cliParams: ['allowedSourceAccounts=111122223333', 'tagPrefix=snap2ami:'],
      }),
    ).toEqual([]);
  });

  it('names a bad value once, however many functions get it, with what is accepted', () => {
    const bad = { ...good, SNAP2AMI_ALLOWED_SOURCE_ACCOUNTS: '1234,abc' };
    expect(parameterErrors({ environments: [bad, bad], declared, cliParams: [] })).toEqual([
      'Parameter allowedSourceAccounts="1234,abc" is refused: "1234" is not an AWS account ID; accepted: AWS account IDs (12 digits) separated by commas, or none (the default).',
    ]);
  });

  it('refuses a --param that serverless.yml does not declare (a typo would leave the default)', () => {
    expect(
      parameterErrors({ environments: [good], declared, cliParams: ['allowedSourceAcounts=111122223333'] }),
    ).toEqual([
      "Parameter allowedSourceAcounts is not one of snap2ami's (serverless.yml params:); accepted: tagPrefix, allowedSourceAccounts, uefiDataBucket, uefiDataParameterPath.",
    ]);
  });
});

describe('the IAM condition values made from the parameters', () => {
  const plugin = new Snap2amiParameters({
    classes: { Error },
    processedInput: { commands: ['package'], options: {} },
    service: { provider: {} },
  } as Serverless);
  const resolve = (address: string, params: Record<string, string>) =>
    plugin.configurationVariablesSources.snap2ami?.resolve({
      address,
      resolveVariable: async (variable) => params[variable.replace(/^param:/, '')],
    });

  it('sourceAccounts: this account, then the allowed source accounts as the functions read them', async () => {
    expect(await resolve('sourceAccounts', { allowedSourceAccounts: '' })).toEqual({
      value: [{ Ref: 'AWS::AccountId' }],
    });
    expect(
      await resolve('sourceAccounts', { allowedSourceAccounts: ' 111122223333, 444455556666 ,' }),
    ).toEqual({
      value: [{ Ref: 'AWS::AccountId' }, '111122223333', '444455556666'],
    });
  });

  it('keyTagCondition: the key tag under the deployment prefix', async () => {
    expect(await resolve('keyTagCondition', { tagPrefix: 'acme:' })).toEqual({
      value: {
        Null: { 'aws:RequestTag/acme:key': 'false' },
        'ForAnyValue:StringEquals': { 'aws:TagKeys': ['acme:key'] },
      },
    });
  });

  it('resourceTagCondition.<name>: the resource carries the tag under the deployment prefix', async () => {
    expect(await resolve('resourceTagCondition.key', { tagPrefix: 'acme:' })).toEqual({
      value: { Null: { 'aws:ResourceTag/acme:key': 'false' } },
    });
    expect(await resolve('resourceTagCondition.image-id', { tagPrefix: 'acme:' })).toEqual({
      value: { Null: { 'aws:ResourceTag/acme:image-id': 'false' } },
    });
  });

  it('billingCheckTagCondition: one of our images, and the billing-check tag only', async () => {
    expect(await resolve('billingCheckTagCondition', { tagPrefix: 'acme:' })).toEqual({
      value: {
        Null: { 'aws:ResourceTag/acme:key': 'false' },
        'ForAllValues:StringEquals': { 'aws:TagKeys': ['acme:billing-check'] },
      },
    });
  });

  it('retentionTagCondition: one of our images, and retention tags only', async () => {
    expect(await resolve('retentionTagCondition', { tagPrefix: 'acme:' })).toEqual({
      value: {
        Null: { 'aws:ResourceTag/acme:key': 'false' },
        'ForAllValues:StringEquals': {
          'aws:TagKeys': ['acme:pipeline', 'acme:retired-at', 'acme:retire-after'],
        },
      },
    });
  });

  it('uefiDataParameterPath: the path as the image function reads it, the default for an empty one', async () => {
    expect(await resolve('uefiDataParameterPath', { uefiDataParameterPath: '/golden/uefi/' })).toEqual({
      value: '/golden/uefi/',
    });
    // Never `parameter*` (every parameter of the account) in the image role's grant.
    expect(await resolve('uefiDataParameterPath', { uefiDataParameterPath: '' })).toEqual({
      value: '/snap2ami/uefi-data/',
    });
  });

  it('ssmParameterPath: the path as the lifecycle function writes under it, the default for an empty one', async () => {
    expect(await resolve('ssmParameterPath', { ssmParameterPath: '/golden/' })).toEqual({
      value: '/golden/',
    });
    // Never `parameter*` (every parameter of the account, in every Region) in the lifecycle role's grant.
    expect(await resolve('ssmParameterPath', { ssmParameterPath: '' })).toEqual({ value: '/snap2ami/' });
  });

  it('refuses a variable it does not define', async () => {
    await expect(resolve('keyTag', {})).rejects.toThrow(
      'is not a snap2ami variable; accepted: sourceAccounts, keyTagCondition, resourceTagCondition.key, resourceTagCondition.image-id, billingCheckTagCondition, retentionTagCondition, uefiDataParameterPath, ssmParameterPath, launchTest.subnetIds, launchTest.instanceTypes, launchTest.roleName, launchTest.requestTagCondition, launchTest.resourceTagCondition, launchTest.ssmResourceTagCondition, launchTest.imageTagCondition.',
    );
    await expect(resolve('resourceTagCondition.family', {})).rejects.toThrow('is not a snap2ami variable');
    await expect(resolve('launchTest.other', {})).rejects.toThrow('is not a snap2ami variable');
  });

  it('resolves the launch-test role values from the parameters as the functions read them', async () => {
    expect(await resolve('launchTest.subnetIds', { launchTestSubnetIds: '' })).toEqual({ value: ['none'] });
    expect(
      await resolve('launchTest.subnetIds', { launchTestSubnetIds: 'subnet-0123abcd,subnet-0123abcd' }),
    ).toEqual({ value: ['subnet-0123abcd'] });
    expect(await resolve('launchTest.roleName', { launchTestInstanceProfile: '' })).toEqual({
      value: 'snap2ami-no-launch-test-instance-profile',
    });
    expect(
      await resolve('launchTest.roleName', {
        launchTestInstanceProfile: 'arn:aws:iam::123456789012:instance-profile/ops/smoke',
      }),
    ).toEqual({ value: 'smoke' });
  });

  it("passes the role launchTestInstanceRoleName names (a profile's role may be named otherwise), by name, path/name or role ARN", async () => {
    const profile = { launchTestInstanceProfile: 'smoke-profile' };
    expect(
      await resolve('launchTest.roleName', { ...profile, launchTestInstanceRoleName: 'SmokeRole' }),
    ).toEqual({
      value: 'SmokeRole',
    });
    expect(
      await resolve('launchTest.roleName', {
        ...profile,
        launchTestInstanceRoleName: 'arn:aws:iam::123456789012:role/ops/SmokeRole',
      }),
    ).toEqual({ value: 'ops/SmokeRole' });
    expect(await resolve('launchTest.roleName', { ...profile, launchTestInstanceRoleName: ' ' })).toEqual({
      value: 'smoke-profile',
    });
    // A refused name passes no role (package and deploy refuse it, naming the parameter).
    expect(
      await resolve('launchTest.roleName', {
        ...profile,
        launchTestInstanceRoleName: 'arn:aws:iam::1:user/x',
      }),
    ).toEqual({ value: 'snap2ami-no-launch-test-instance-profile' });
    expect(() => launchTestRoleName('role with spaces', '')).toThrow(
      '"role with spaces" is not a role name or role ARN; accepted: the IAM role of the launch-test instance profile',
    );
  });
});
