/**
 * The tag contract's "Launch test" table (v3), the planner's part: the three tags, the plan's
 * `launchTest` object as `plan --json` shows it, and every rejection the contract lists, each
 * naming the tag, the field and what to do (the deployment parameter and its `--param`). The
 * deployment is read as the functions read it (shared/settings.ts deploymentBounds).
 */
import { describe, expect, it } from 'vitest';
import { formatReport } from '../../../cli/format.ts';
import { instanceTypeTraits } from '../../../shared/contract/instance-types.ts';
import { deploymentBounds } from '../../../shared/settings.ts';
import { expectPlan, expectRejected, p, planOf, root, snapshot } from '../../support/factories.ts';

const SUBNET = 'subnet-0123456789abcdef0';
/** A deployment with a launch-test subnet (and its group), plus `env`. */
const deployment = (env: Record<string, string> = {}) => ({
  bounds: deploymentBounds({
    SNAP2AMI_LAUNCH_TEST_SUBNET_IDS: SUBNET,
    SNAP2AMI_LAUNCH_TEST_SECURITY_GROUP_ID: 'sg-0123456789abcdef0',
    ...env,
  }),
});
const planIn = (tags: Record<string, string>, env?: Record<string, string>) =>
  planOf(root(tags), [], deployment(env));
const launchTestOf = (tags: Record<string, string>, env?: Record<string, string>) =>
  expectPlan(planIn(tags, env)).launchTest;
const errorsIn = (tags: Record<string, string>, env?: Record<string, string>) =>
  expectRejected(planIn(tags, env)).errors;

const PROFILE = { SNAP2AMI_LAUNCH_TEST_INSTANCE_PROFILE: 'launch-test' };

describe('launch test: the plan', () => {
  it.each([
    [{}, undefined],
    [{ 'launch-test': 'false' }, undefined],
    [{ 'launch-test': 'FALSE' }, undefined],
    [
      { 'launch-test': 'status-checks' },
      { mode: 'status-checks', instanceType: 't3.micro', timeoutMinutes: 15 },
    ],
    [
      { 'launch-test': 'status-checks', architecture: 'arm64' },
      { mode: 'status-checks', instanceType: 't4g.micro', timeoutMinutes: 15 },
    ],
    [
      { 'launch-test': 'ssm:AWS-RunShellScript', 'launch-test-timeout': '30m' },
      { mode: 'ssm', document: 'AWS-RunShellScript', instanceType: 't3.micro', timeoutMinutes: 30 },
    ],
    [
      {
        'launch-test': 'ssm:arn:aws:ssm:us-east-1:123456789012:document/smoke-test',
        'launch-test-instance-type': 't3.small',
      },
      {
        mode: 'ssm',
        document: 'arn:aws:ssm:us-east-1:123456789012:document/smoke-test',
        instanceType: 't3.small',
        timeoutMinutes: 15,
      },
    ],
    [
      {
        'launch-test': 'status-checks',
        'launch-test-timeout': '5m',
        architecture: 'arm64',
        'boot-mode': 'uefi',
      },
      { mode: 'status-checks', instanceType: 't4g.micro', timeoutMinutes: 5 },
    ],
    [
      { 'launch-test': 'status-checks', 'launch-test-timeout': '120m', 'boot-mode': 'uefi-preferred' },
      { mode: 'status-checks', instanceType: 't3.micro', timeoutMinutes: 120 },
    ],
  ])('%j plans launchTest %j', (tags, launchTest) => {
    const plan = expectPlan(planIn(tags, PROFILE));
    if (launchTest === undefined) expect(plan).not.toHaveProperty('launchTest');
    else expect(plan.launchTest).toEqual(launchTest);
  });

  it('comes last in the plan, as plan --json shows it', () => {
    const plan = expectPlan(planIn({ 'launch-test': 'status-checks', platform: 'windows', family: 'w' }));
    expect(Object.keys(plan)).toEqual([
      'key',
      'snapshotIds',
      'request',
      'notes',
      'lifecycle',
      'billingCheck',
      'launchTest',
    ]);
  });

  it('takes the first allowed type that boots the AMI when the default is not allowed', () => {
    const env = { SNAP2AMI_LAUNCH_TEST_INSTANCE_TYPES: 'm7g.large,c7i.large' };
    expect(launchTestOf({ 'launch-test': 'status-checks' }, env)?.instanceType).toBe('c7i.large');
    expect(launchTestOf({ 'launch-test': 'status-checks', architecture: 'arm64' }, env)?.instanceType).toBe(
      'm7g.large',
    );
  });

  it('notes a type or timeout tag without a launch test, which has no effect', () => {
    const plan = expectPlan(
      planIn({ 'launch-test-instance-type': 't3.small', 'launch-test-timeout': '20m' }),
    );
    expect(plan.notes).toEqual([
      'snap2ami:launch-test-instance-type has no effect without snap2ami:launch-test=status-checks or ssm:<document>.',
      'snap2ami:launch-test-timeout has no effect without snap2ami:launch-test=status-checks or ssm:<document>.',
    ]);
  });

  it('is an image parameter: on a set member it is ignored, with a note', () => {
    const main = root();
    const member = snapshot({ tags: p({ 'device-name': '/dev/sdf', 'launch-test': 'status-checks' }) });
    const group = { snapshotIds: [main.snapshotId, member.snapshotId], multiVolume: true };
    const plan = expectPlan(planOf(main, [member], deployment(), group));
    expect(plan).not.toHaveProperty('launchTest');
    expect(plan.notes.join(' ')).toContain('snap2ami:launch-test ignored');
  });
});

describe('launch test: values outside the accepted set', () => {
  it.each([
    ['launch-test', 'true', 'launchTest.mode'],
    ['launch-test', 'status', 'launchTest.mode'],
    ['launch-test', 'ssm:', 'launchTest.mode'],
    ['launch-test', 'ssm:ab', 'launchTest.mode'],
    ['launch-test', `ssm:${'d'.repeat(129)}`, 'launchTest.mode'],
    ['launch-test', 'ssm:smoke test', 'launchTest.mode'],
    ['launch-test-timeout', '4m', 'launchTest.timeoutMinutes'],
    ['launch-test-timeout', '121m', 'launchTest.timeoutMinutes'],
    ['launch-test-timeout', '15', 'launchTest.timeoutMinutes'],
    ['launch-test-timeout', '1h', 'launchTest.timeoutMinutes'],
    ['launch-test-timeout', '015m', 'launchTest.timeoutMinutes'],
    ['launch-test-instance-type', 't3micro', 'launchTest.instanceType'],
    ['launch-test-instance-type', 'T3.MICRO', 'launchTest.instanceType'],
  ])('rejects %s=%s (%s), saying what is accepted', (name, value, field) => {
    const tags = { 'launch-test': 'status-checks', [name]: value };
    const errors = errorsIn(tags, PROFILE);
    expect(errors).toEqual([
      { tag: `snap2ami:${name}`, field, message: expect.stringContaining('; accepted: ') },
    ]);
  });
});

describe('launch test: what the deployment does not allow, rejected when planning', () => {
  it('the deployment has no launch-test subnet (the default)', () => {
    const errors = expectRejected(
      planOf(root({ 'launch-test': 'status-checks' }), [], { bounds: deploymentBounds({}) }),
    ).errors;
    expect(errors).toEqual([
      {
        tag: 'snap2ami:launch-test',
        field: 'launchTest.mode',
        message:
          'snap2ami:launch-test=status-checks: this deployment has no launch-test subnet (its launchTestSubnetIds parameter is not set); deploy with --param="launchTestSubnetIds=subnet-…", or remove snap2ami:launch-test.',
      },
    ]);
  });

  it("ssm: without the deployment's instance profile", () => {
    expect(errorsIn({ 'launch-test': 'ssm:AWS-RunShellScript' })).toEqual([
      {
        tag: 'snap2ami:launch-test',
        field: 'launchTest.mode',
        message:
          'snap2ami:launch-test=ssm:AWS-RunShellScript: an SSM command needs an instance profile, and this deployment names none (its launchTestInstanceProfile parameter is not set); deploy with --param="launchTestInstanceProfile=<instance-profile>", or use snap2ami:launch-test=status-checks.',
      },
    ]);
  });

  it.each(['i386', 'x86_64_mac', 'arm64_mac'])(
    'architecture %s, which no allowed type runs',
    (architecture) => {
      const errors = errorsIn({ 'launch-test': 'status-checks', architecture });
      expect(errors).toEqual([
        {
          tag: 'snap2ami:launch-test',
          field: 'launchTest.mode',
          message: `snap2ami:launch-test=status-checks: no instance type this deployment allows (t3.micro, t3.small, t4g.micro, t4g.small) runs an ${architecture} AMI; no type a launch test uses runs ${architecture}: remove snap2ami:launch-test.`,
        },
      ]);
    },
  );

  it('arm64 when the deployment allows only x86_64 types: names the --param that adds the default', () => {
    const errors = errorsIn(
      { 'launch-test': 'status-checks', architecture: 'arm64' },
      { SNAP2AMI_LAUNCH_TEST_INSTANCE_TYPES: 't3.micro,c7i.large' },
    );
    expect(errors).toEqual([
      {
        tag: 'snap2ami:launch-test',
        field: 'launchTest.mode',
        message:
          'snap2ami:launch-test=status-checks: no instance type this deployment allows (t3.micro, c7i.large) runs an arm64 AMI; deploy with --param="launchTestInstanceTypes=t3.micro,c7i.large,t4g.micro", or remove snap2ami:launch-test.',
      },
    ]);
  });

  it('a boot mode no allowed type offers: says so, and suggests no type that would not help', () => {
    const errors = errorsIn({
      'launch-test': 'status-checks',
      architecture: 'arm64',
      'boot-mode': 'legacy-bios',
    });
    expect(errors.map((error) => error.tag)).toEqual(['snap2ami:boot-mode', 'snap2ami:launch-test']);
    expect(errors[1]?.message).toBe(
      "snap2ami:launch-test=status-checks: no instance type this deployment allows (t3.micro, t3.small, t4g.micro, t4g.small) runs an arm64 AMI with boot mode legacy-bios; t4g.micro boots uefi, and the AMI's boot mode is legacy-bios: change snap2ami:boot-mode, or remove snap2ami:launch-test.",
    );
  });

  it('a type the deployment does not allow', () => {
    expect(errorsIn({ 'launch-test': 'status-checks', 'launch-test-instance-type': 'm7i.large' })).toEqual([
      {
        tag: 'snap2ami:launch-test-instance-type',
        field: 'launchTest.instanceType',
        message:
          'snap2ami:launch-test-instance-type=m7i.large is not among the types this deployment allows for launch tests (t3.micro, t3.small, t4g.micro, t4g.small: its launchTestInstanceTypes parameter); deploy with --param="launchTestInstanceTypes=t3.micro,t3.small,t4g.micro,t4g.small,m7i.large", or name one of those.',
      },
    ]);
  });

  it.each<[Record<string, string>, string, Record<string, string>?]>([
    [
      { 'launch-test-instance-type': 't4g.small' },
      't4g.small runs arm64, and the AMI is x86_64; accepted: t3.micro, t3.small.',
    ],
    [
      { 'launch-test-instance-type': 't3.micro', architecture: 'arm64' },
      't3.micro runs x86_64, and the AMI is arm64; accepted: t4g.micro, t4g.small.',
    ],
    [
      { 'launch-test-instance-type': 'c7gn.large' },
      'c7gn.large runs arm64 (inferred from its name), and the AMI is x86_64; accepted: t3.micro.',
      { SNAP2AMI_LAUNCH_TEST_INSTANCE_TYPES: 't3.micro,c7gn.large' },
    ],
    [
      { 'launch-test-instance-type': 'm4.large', 'boot-mode': 'uefi' },
      "m4.large boots legacy-bios (inferred from its name), and the AMI's boot mode is uefi; accepted: t3.micro.",
      { SNAP2AMI_LAUNCH_TEST_INSTANCE_TYPES: 't3.micro,m4.large' },
    ],
  ])('a type whose architecture or boot mode does not match the AMI: %j', (tags, why, env = {}) => {
    const errors = errorsIn({ 'launch-test': 'status-checks', ...tags }, env);
    expect(errors).toEqual([
      {
        tag: 'snap2ami:launch-test-instance-type',
        field: 'launchTest.instanceType',
        message: `snap2ami:launch-test-instance-type=${tags['launch-test-instance-type']} cannot boot this AMI: ${why}`,
      },
    ]);
  });

  it('every reason at once: no subnet, no profile, and a type not allowed', () => {
    const errors = expectRejected(
      planOf(root({ 'launch-test': 'ssm:smoke', 'launch-test-instance-type': 'm7i.large' }), [], {
        bounds: deploymentBounds({}),
      }),
    ).errors;
    expect(errors.map(({ tag, message }) => `${tag}: ${message.split(';')[0]}`)).toEqual([
      'snap2ami:launch-test: snap2ami:launch-test=ssm:smoke: this deployment has no launch-test subnet (its launchTestSubnetIds parameter is not set)',
      'snap2ami:launch-test: snap2ami:launch-test=ssm:smoke: an SSM command needs an instance profile, and this deployment names none (its launchTestInstanceProfile parameter is not set)',
      'snap2ami:launch-test-instance-type: snap2ami:launch-test-instance-type=m7i.large is not among the types this deployment allows for launch tests (t3.micro, t3.small, t4g.micro, t4g.small: its launchTestInstanceTypes parameter)',
    ]);
  });
});

describe("instance types' architectures and boot modes", () => {
  it.each([
    ['t3.micro', 'x86_64', ['legacy-bios', 'uefi'], true],
    ['t3.small', 'x86_64', ['legacy-bios', 'uefi'], true],
    ['t4g.micro', 'arm64', ['uefi'], true],
    ['t4g.small', 'arm64', ['uefi'], true],
    ['a1.large', 'arm64', ['uefi'], true],
    // Inferred: a g among the letters after the generation marks Graviton.
    ['c7g.large', 'arm64', ['uefi'], false],
    ['m6gd.xlarge', 'arm64', ['uefi'], false],
    ['im4gn.large', 'arm64', ['uefi'], false],
    ['is4gen.medium', 'arm64', ['uefi'], false],
    ['g5g.xlarge', 'arm64', ['uefi'], false],
    ['g4dn.xlarge', 'x86_64', ['legacy-bios', 'uefi'], false],
    ['c7i-flex.large', 'x86_64', ['legacy-bios', 'uefi'], false],
    ['u-6tb1.metal', 'x86_64', ['legacy-bios', 'uefi'], false],
    ['t2.micro', 'x86_64', ['legacy-bios'], false],
    ['i3.metal', 'x86_64', ['legacy-bios', 'uefi'], false],
  ])('%s: %s, %j (from the table: %s)', (type, architecture, bootModes, known) => {
    expect(instanceTypeTraits(type)).toEqual({ architecture, bootModes, known });
  });
});

describe('launch test: the readable summary of snap2ami plan', () => {
  it('says where and how long the test runs', () => {
    const plan = expectPlan(
      planIn({ 'launch-test': 'ssm:smoke-test', 'launch-test-timeout': '20m' }, PROFILE),
    );
    expect(formatReport({ plans: [plan], skipped: [], rejected: [] })).toContain(
      '      launch test on t3.micro: status checks and SSM document smoke-test, within 20 minutes, before anything publishes it\n',
    );
  });
});
