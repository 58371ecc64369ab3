/**
 * What each deployment parameter accepts (shared/settings.ts), the lines with which package
 * and deploy refuse the rest, and the IAM condition values made from the parameters
 * (scripts/serverless-parameters.ts), row by row.
 */
import { describe, expect, it } from 'vitest';
import Snap2amiParameters, {
  parameterErrors,
  type Serverless,
} from '../../../scripts/serverless-parameters.ts';
import { deploymentSettings, MAX_PREFIX_LENGTH, parameterProblems } from '../../../shared/settings.ts';

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
    ['', '', { prefix: 'snap2ami:', allowedSourceAccounts: [] }],
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
    });
    expect(parameterProblems(env(prefix, accounts))).toEqual([]);
  });

  // [tagPrefix, allowedSourceAccounts, the parameter refused, why]
  const refused: [string | undefined, string | undefined, string, string][] = [
    [undefined, '1234,abc', 'allowedSourceAccounts', '"1234" is not an AWS account ID'],
    [undefined, '111122223333,abc', 'allowedSourceAccounts', '"abc" is not an AWS account ID'],
    [undefined, '1111-2222-3333', 'allowedSourceAccounts', '"1111-2222-3333" is not an AWS account ID'],
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
    [undefined, 'RunInstances=5/2', 'ec2BucketOverrides', '"RunInstances=5/2" is not a bucket override'],
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

describe('the package and deploy check', () => {
  const declared = ['tagPrefix', 'allowedSourceAccounts'];
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
      "Parameter allowedSourceAcounts is not one of snap2ami's (serverless.yml params:); accepted: tagPrefix, allowedSourceAccounts.",
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

  it('refuses a variable it does not define', async () => {
    await expect(resolve('keyTag', {})).rejects.toThrow(
      'is not a snap2ami variable; accepted: sourceAccounts, keyTagCondition.',
    );
  });
});
