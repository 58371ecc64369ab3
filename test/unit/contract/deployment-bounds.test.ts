/**
 * The tag contract's "Deployment bounds are checked when planning" (v3): a tag outside
 * ssmParameterPath, uefiDataBucket or uefiDataParameterPath rejects the snapshot when it is
 * planned, naming the tag, the parameter and the value to deploy with; inside them, it plans.
 * The bounds are read as the functions read them (shared/settings.ts deploymentBounds).
 */
import { describe, expect, it } from 'vitest';
import { deploymentBounds } from '../../../shared/settings.ts';
import { expectPlan, expectRejected, planOf, root } from '../../support/factories.ts';

/** The bounds of a deployment whose SNAP2AMI_* variables are `env` (unset: the defaults). */
const deployed = (env: Record<string, string> = {}) => ({ bounds: deploymentBounds(env) });
const planIn = (tags: Record<string, string>, env?: Record<string, string>) =>
  planOf(root(tags), [], deployed(env));

describe('ssm-parameter against ssmParameterPath', () => {
  it.each([
    ['/snap2ami/web', {}],
    ['/snap2ami/golden/web', {}],
    ['/golden/web', { SNAP2AMI_SSM_PARAMETER_PATH: '/golden/' }],
  ])('plans %s inside the path (%j)', (name, env) => {
    expect(expectPlan(planIn({ 'ssm-parameter': name }, env)).lifecycle).toEqual({ ssmParameter: name });
  });

  it('rejects one outside the default path, naming the tag, the parameter and the --param that covers it', () => {
    const { errors } = expectRejected(planIn({ 'ssm-parameter': '/golden/web' }));
    expect(errors).toEqual([
      {
        tag: 'snap2ami:ssm-parameter',
        field: 'lifecycle.ssmParameter',
        message:
          'snap2ami:ssm-parameter=/golden/web is outside the path this deployment may write SSM parameters under (/snap2ami/, its ssmParameterPath parameter); deploy with --param="ssmParameterPath=/golden/", or name a parameter under /snap2ami/.',
      },
    ]);
  });

  it.each([
    ['/snap2ami/web', { SNAP2AMI_SSM_PARAMETER_PATH: '/golden/' }, '--param="ssmParameterPath=/snap2ami/"'],
    ['/golden', { SNAP2AMI_SSM_PARAMETER_PATH: '/golden/' }, 'no ssmParameterPath can cover it'],
    ['golden-web', {}, 'no ssmParameterPath can cover it'],
    ['/snap2amix/web', {}, '--param="ssmParameterPath=/snap2amix/"'],
  ])('rejects %s with %j: %s', (name, env, what) => {
    const { errors } = expectRejected(planIn({ 'ssm-parameter': name }, env));
    expect(errors).toEqual([
      expect.objectContaining({ tag: 'snap2ami:ssm-parameter', field: 'lifecycle.ssmParameter' }),
    ]);
    expect(errors[0]?.message).toContain(what);
  });
});

describe('uefi-data against uefiDataBucket and uefiDataParameterPath', () => {
  const uefi = (source: string) => ({ 'boot-mode': 'uefi', 'uefi-data': source });

  it.each([
    ['ssm:/snap2ami/uefi-data/web', {}],
    ['s3://uefi-store/web.b64', { SNAP2AMI_UEFI_DATA_BUCKET: 'uefi-store' }],
    ['ssm:/golden/uefi/web', { SNAP2AMI_UEFI_DATA_PARAMETER_PATH: '/golden/uefi/' }],
  ])('plans %s inside the bounds (%j)', (source, env) => {
    expect(expectPlan(planIn(uefi(source), env)).uefiDataSource).toBe(source);
  });

  // [source, deployment, the message]
  const refused: [string, Record<string, string>, string][] = [
    [
      's3://uefi-store/web.b64',
      {},
      'snap2ami:uefi-data=s3://uefi-store/web.b64: this deployment reads UefiData from no S3 bucket (its uefiDataBucket parameter is not set); deploy with --param="uefiDataBucket=uefi-store".',
    ],
    [
      's3://other-store/web.b64',
      { SNAP2AMI_UEFI_DATA_BUCKET: 'uefi-store' },
      'snap2ami:uefi-data=s3://other-store/web.b64: this deployment reads UefiData only from the S3 bucket uefi-store (its uefiDataBucket parameter); deploy with --param="uefiDataBucket=other-store", or name an object of s3://uefi-store/.',
    ],
    [
      'ssm:/golden/uefi/web',
      {},
      'snap2ami:uefi-data=ssm:/golden/uefi/web: this deployment reads UefiData only from SSM parameters under /snap2ami/uefi-data/ (its uefiDataParameterPath parameter); deploy with --param="uefiDataParameterPath=/golden/uefi/", or name a parameter under /snap2ami/uefi-data/.',
    ],
    [
      'ssm:uefi-web',
      {},
      'snap2ami:uefi-data=ssm:uefi-web: this deployment reads UefiData only from SSM parameters under /snap2ami/uefi-data/ (its uefiDataParameterPath parameter); no uefiDataParameterPath can cover it (a path is at least one name deep): name a parameter under /snap2ami/uefi-data/.',
    ],
  ];
  it.each(refused)('rejects %s with %j', (source, env, message) => {
    expect(expectRejected(planIn(uefi(source), env)).errors).toEqual([
      { tag: 'snap2ami:uefi-data', field: 'UefiData', message },
    ]);
  });
});

describe('the bounds with the rest of the contract', () => {
  it("reports every tag outside them at once, with the root's tags: before the name and the mappings", () => {
    const { errors } = expectRejected(
      planIn({
        'boot-mode': 'uefi',
        'uefi-data': 's3://uefi-store/web.b64',
        'ssm-parameter': '/golden/web',
        'volume-type': 'gp9',
        name: '{nope}',
      }),
    );
    expect(errors.map((error) => error.tag)).toEqual([
      'snap2ami:ssm-parameter',
      'snap2ami:uefi-data',
      'snap2ami:name',
      'snap2ami:volume-type',
    ]);
  });

  it('checks nothing against a deployment when the planner is given none (the contract alone)', () => {
    const plan = expectPlan(planOf(root({ 'ssm-parameter': '/golden/web' })));
    expect(plan.lifecycle).toEqual({ ssmParameter: '/golden/web' });
  });
});
