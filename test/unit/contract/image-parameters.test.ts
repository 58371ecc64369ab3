/** The tag contract's "Image parameters" table, row by row. */
import { describe, expect, it } from 'vitest';
import { errorsFor, expectPlan, planOf, requestFor, root } from '../../support/factories.ts';

describe('image parameters: defaults', () => {
  it('fills the defaults that avoid EC2 traps, and leaves the rest out', () => {
    const request = requestFor({});
    expect(request).toMatchObject({
      Architecture: 'x86_64',
      VirtualizationType: 'hvm',
      EnaSupport: true,
      ImdsSupport: 'v2.0',
      RootDeviceName: '/dev/xvda',
    });
    for (const field of [
      'Description',
      'BootMode',
      'SriovNetSupport',
      'TpmSupport',
      'KernelId',
      'RamdiskId',
      'BillingProducts',
    ]) {
      expect(request).not.toHaveProperty(field);
    }
    expect(JSON.stringify(request)).not.toContain('null');
  });
});

// [tag, accepted value, RegisterImage field, expected field value]
const accepted: [string, string, string, unknown][] = [
  ['description', 'Web server, November build', 'Description', 'Web server, November build'],
  ['description', 'x'.repeat(255), 'Description', 'x'.repeat(255)],
  ...['i386', 'x86_64', 'arm64', 'x86_64_mac', 'arm64_mac'].map(
    (arch) => ['architecture', arch, 'Architecture', arch] as [string, string, string, unknown],
  ),
  ['virtualization-type', 'hvm', 'VirtualizationType', 'hvm'],
  ['boot-mode', 'legacy-bios', 'BootMode', 'legacy-bios'],
  ['boot-mode', 'uefi', 'BootMode', 'uefi'],
  ['boot-mode', 'uefi-preferred', 'BootMode', 'uefi-preferred'],
  ['ena-support', 'true', 'EnaSupport', true],
  ['ena-support', 'FALSE', 'EnaSupport', false],
  ['sriov-net-support', 'simple', 'SriovNetSupport', 'simple'],
  ['imds-support', 'v2.0', 'ImdsSupport', 'v2.0'],
  ['root-device-name', '/dev/sda1', 'RootDeviceName', '/dev/sda1'],
  ['root-device-name', '/dev/xvda', 'RootDeviceName', '/dev/xvda'],
  ['billing-products', 'bp-6ba54002', 'BillingProducts', ['bp-6ba54002']],
  ['billing-products', 'bp-6ba54002, bp-63a5400a', 'BillingProducts', ['bp-6ba54002', 'bp-63a5400a']],
];

describe.each(accepted)('image parameters: %s=%s', (tag, value, field, expected) => {
  it(`sets ${field}`, () => {
    expect(requestFor({ [tag]: value })[field as 'Name']).toEqual(expected);
  });
});

// [tag, rejected value, field, a fragment of what is accepted]
const rejected: [string, string, string, string][] = [
  ['description', 'x'.repeat(256), 'Description', 'at most 255 characters'],
  ['architecture', 'amd64', 'Architecture', 'i386, x86_64, arm64, x86_64_mac, arm64_mac'],
  ['architecture', 'X86_64', 'Architecture', 'x86_64'],
  ['virtualization-type', 'hvm2', 'VirtualizationType', 'hvm, paravirtual'],
  ['boot-mode', 'bios', 'BootMode', 'legacy-bios, uefi, uefi-preferred'],
  ['ena-support', 'yes', 'EnaSupport', 'true or false'],
  ['sriov-net-support', 'on', 'SriovNetSupport', 'simple'],
  ['tpm-support', 'v1.2', 'TpmSupport', 'v2.0'],
  ['imds-support', 'v1.0', 'ImdsSupport', 'v2.0, none'],
  ['root-device-name', 'sda1', 'RootDeviceName', '/dev/ followed by letters and digits'],
  ['root-device-name', '/dev/sd-a', 'RootDeviceName', '/dev/ followed by letters and digits'],
  ['kernel-id', 'aki-XYZ', 'KernelId', 'aki- followed by hexadecimal digits'],
  ['ramdisk-id', 'ramdisk', 'RamdiskId', 'ari- followed by hexadecimal digits'],
  ['billing-products', 'bp-1,,bp-2', 'BillingProducts', 'bp-'],
  ['billing-products', 'product-1', 'BillingProducts', 'bp-'],
  ['platform', 'Windows', '(guard)', 'linux, windows, rhel, sles, other'],
  ['allow-billing-code-loss', 'maybe', '(guard)', 'true or false'],
  ['register', 'yes', '(opt-in)', 'true or false'],
];

describe.each(rejected)('image parameters: %s=%s', (tag, value, field, acceptedFragment) => {
  it(`is rejected with an error naming snap2ami:${tag}, ${field} and what is accepted`, () => {
    const tags = tag === 'register' ? {} : { [tag]: value };
    const fields = tag === 'register' ? { tags: { 'snap2ami:register': value } } : {};
    const errors = errorsFor(tags, fields);
    const error = errors.find((e) => e.tag === `snap2ami:${tag}`);
    expect(error, JSON.stringify(errors)).toBeDefined();
    expect(error?.field).toBe(field);
    expect(error?.message).toContain(acceptedFragment);
    expect(error?.message).toContain(value.slice(0, 20));
  });
});

describe('image parameters: imds-support=none', () => {
  it('omits ImdsSupport', () => {
    expect(requestFor({ 'imds-support': 'none' })).not.toHaveProperty('ImdsSupport');
  });
});

describe('image parameters: combinations', () => {
  it.each(['arm64', 'arm64_mac'])('rejects legacy-bios with %s', (architecture) => {
    const errors = errorsFor({ architecture, 'boot-mode': 'legacy-bios' });
    expect(errors).toEqual([expect.objectContaining({ tag: 'snap2ami:boot-mode', field: 'BootMode' })]);
    expect(errors[0]?.message).toContain('uefi');
  });

  it('accepts uefi with arm64', () => {
    expect(requestFor({ architecture: 'arm64', 'boot-mode': 'uefi' })).toMatchObject({
      Architecture: 'arm64',
      BootMode: 'uefi',
    });
  });

  it('omits EnaSupport for paravirtual by default, and keeps an explicit false', () => {
    expect(requestFor({ 'virtualization-type': 'paravirtual' })).not.toHaveProperty('EnaSupport');
    expect(requestFor({ 'virtualization-type': 'paravirtual', 'ena-support': 'false' }).EnaSupport).toBe(
      false,
    );
  });

  it('rejects ena-support=true with paravirtual (an instance could become unreachable)', () => {
    const errors = errorsFor({ 'virtualization-type': 'paravirtual', 'ena-support': 'true' });
    expect(errors).toEqual([expect.objectContaining({ tag: 'snap2ami:ena-support', field: 'EnaSupport' })]);
    expect(errors[0]?.message).toContain('unreachable');
  });

  it('rejects sriov-net-support with paravirtual', () => {
    expect(errorsFor({ 'virtualization-type': 'paravirtual', 'sriov-net-support': 'simple' })).toEqual([
      expect.objectContaining({ tag: 'snap2ami:sriov-net-support', field: 'SriovNetSupport' }),
    ]);
  });

  it.each([undefined, 'legacy-bios'])('rejects tpm-support when the boot mode is %s', (bootMode) => {
    const tags: Record<string, string> = { 'tpm-support': 'v2.0' };
    if (bootMode) tags['boot-mode'] = bootMode;
    expect(errorsFor(tags)).toEqual([
      expect.objectContaining({ tag: 'snap2ami:tpm-support', field: 'TpmSupport' }),
    ]);
  });

  it.each(['uefi', 'uefi-preferred'])('accepts tpm-support with boot mode %s', (bootMode) => {
    expect(requestFor({ 'tpm-support': 'v2.0', 'boot-mode': bootMode }).TpmSupport).toBe('v2.0');
  });

  it.each([
    ['kernel-id', 'aki-88aa75e1', 'KernelId'],
    ['ramdisk-id', 'ari-a51cf9cc', 'RamdiskId'],
  ])('rejects %s with hvm and accepts it with paravirtual', (tag, value, field) => {
    expect(errorsFor({ [tag]: value })).toEqual([expect.objectContaining({ tag: `snap2ami:${tag}`, field })]);
    expect(requestFor({ 'virtualization-type': 'paravirtual', [tag]: value })[field as 'KernelId']).toBe(
      value,
    );
  });
});

describe("billing check (v2, replacing v1's guard)", () => {
  it.each([
    ['windows', 'Windows'],
    ['rhel', 'Red Hat'],
    ['sles', 'SUSE'],
  ])(
    'plans platform=%s with a billing check for "%s" that deregisters on a miss, and a note',
    (platform, text) => {
      const plan = expectPlan(planOf(root({ platform })));
      expect(plan.billingCheck).toEqual({ expect: text, onMissing: 'deregister' });
      expect(plan.request).not.toHaveProperty('BillingProducts');
      const note = plan.notes.find((n) => n.startsWith(`snap2ami:platform=${platform}:`));
      expect(note).toContain(`PlatformDetails contains "${text}"`);
      expect(note).toContain('deregisters the image it made and fails the registration');
      expect(note).toContain('create the AMI from an instance');
    },
  );

  it.each(['true', 'TRUE'])('keeps the image on a miss with allow-billing-code-loss=%s', (allow) => {
    const plan = expectPlan(planOf(root({ platform: 'rhel', 'allow-billing-code-loss': allow })));
    expect(plan.billingCheck).toEqual({ expect: 'Red Hat', onMissing: 'keep' });
    expect(plan.notes.join(' ')).toContain('tagged snap2ami:billing-check=missing');
  });

  it('deregisters on a miss with allow-billing-code-loss=false', () => {
    expect(
      expectPlan(planOf(root({ platform: 'sles', 'allow-billing-code-loss': 'false' }))).billingCheck,
    ).toEqual({
      expect: 'SUSE',
      onMissing: 'deregister',
    });
  });

  it.each([undefined, 'linux', 'other'])('does not check platform=%s', (platform) => {
    const plan = expectPlan(planOf(root(platform ? { platform, 'allow-billing-code-loss': 'true' } : {})));
    expect(plan).not.toHaveProperty('billingCheck');
    expect(plan.notes.join(' ')).not.toContain('PlatformDetails');
  });

  it('sends billing-products as given, whatever the platform, and still checks windows', () => {
    const windows = expectPlan(planOf(root({ platform: 'windows', 'billing-products': 'bp-6ba54002' })));
    expect(windows.request.BillingProducts).toEqual(['bp-6ba54002']);
    expect(windows.billingCheck).toEqual({ expect: 'Windows', onMissing: 'deregister' });
    expect(requestFor({ platform: 'linux', 'billing-products': 'bp-6ba54002' }).BillingProducts).toEqual([
      'bp-6ba54002',
    ]);
  });

  it('comes last in the plan, as plan --json shows it', () => {
    const plan = expectPlan(
      planOf(root({ platform: 'windows', 'boot-mode': 'uefi', 'uefi-data': 'ssm:/u', family: 'w' })),
    );
    expect(Object.keys(plan)).toEqual([
      'key',
      'snapshotIds',
      'request',
      'notes',
      'uefiDataSource',
      'lifecycle',
      'billingCheck',
    ]);
  });
});
