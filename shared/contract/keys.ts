/**
 * The tag contract's keys: every key a snapshot may carry under the prefix, the RegisterImage
 * field it feeds and the values it accepts. One table, so that validation, error messages and
 * docs/tag-contract.md all say the same.
 */
import {
  ARCHITECTURES,
  BOOT_MODES,
  billingProducts,
  bool,
  deprecateAfter,
  deregistrationProtection,
  deviceName,
  family,
  instanceType,
  launchTest,
  launchTestTimeout,
  matching,
  oneOf,
  PLATFORMS,
  positiveInt,
  regionList,
  retain,
  shareWith,
  ssmParameterName,
  text,
  uefiDataSource,
  type ValueRule,
  VIRTUALIZATION_TYPES,
  VOLUME_TYPES,
} from './values.ts';

export interface KeyDefinition<T> {
  field: string;
  rule: ValueRule<T>;
}

function key<T>(field: string, rule: ValueRule<T>): KeyDefinition<T> {
  return { field, rule };
}

const ROOT_EBS = 'BlockDeviceMappings[0].Ebs';

/** Keys read from the root snapshot (and, for the volume keys, from a set member for its own volume). */
export const KEYS = {
  register: key('(opt-in)', bool),
  name: key('Name', text(1024)),
  description: key('Description', text(255)),
  architecture: key('Architecture', oneOf(ARCHITECTURES)),
  'virtualization-type': key('VirtualizationType', oneOf(VIRTUALIZATION_TYPES)),
  'boot-mode': key('BootMode', oneOf(BOOT_MODES)),
  'ena-support': key('EnaSupport', bool),
  'sriov-net-support': key('SriovNetSupport', oneOf(['simple'])),
  'tpm-support': key('TpmSupport', oneOf(['v2.0'])),
  'imds-support': key('ImdsSupport', oneOf(['v2.0', 'none'])),
  'root-device-name': key('RootDeviceName', deviceName),
  'kernel-id': key('KernelId', matching(/^aki-[0-9a-f]+$/, 'aki- followed by hexadecimal digits')),
  'ramdisk-id': key('RamdiskId', matching(/^ari-[0-9a-f]+$/, 'ari- followed by hexadecimal digits')),
  'billing-products': key('BillingProducts', billingProducts),
  /** v2: where the workflow reads `UefiData`; the plan carries it as `uefiDataSource`. */
  'uefi-data': key('UefiData', uefiDataSource),
  /** Decides the plan's billingCheck (v2); the contract's table still calls the field (guard). */
  platform: key('(guard)', oneOf(PLATFORMS)),
  'allow-billing-code-loss': key('(guard)', bool),
  'volume-type': key(`${ROOT_EBS}.VolumeType`, oneOf(VOLUME_TYPES)),
  'volume-size': key(`${ROOT_EBS}.VolumeSize`, positiveInt),
  iops: key(`${ROOT_EBS}.Iops`, positiveInt),
  throughput: key(`${ROOT_EBS}.Throughput`, positiveInt),
  'delete-on-termination': key(`${ROOT_EBS}.DeleteOnTermination`, bool),
  'copy-tags': key('TagSpecifications', text(Number.MAX_SAFE_INTEGER)),
  'device-name': key('BlockDeviceMappings[].DeviceName', deviceName),
  // Distribution and lifecycle (v2): what happens to the AMI once it is available.
  'copy-to': key('lifecycle.copyTo', regionList),
  'share-with': key('lifecycle.shareWith', shareWith),
  'ssm-parameter': key('lifecycle.ssmParameter', ssmParameterName),
  'deprecate-after': key('lifecycle.deprecateAfterDays', deprecateAfter),
  'deregistration-protection': key('lifecycle.deregistrationProtection', deregistrationProtection),
  family: key('lifecycle.family', family),
  retain: key('lifecycle.retain', retain),
  'retain-delete-snapshots': key('lifecycle.retainDeleteSnapshots', bool),
  // Launch test (v3): the workflow boots the AMI once before anything publishes it.
  'launch-test': key('launchTest.mode', launchTest),
  'launch-test-instance-type': key('launchTest.instanceType', instanceType),
  'launch-test-timeout': key('launchTest.timeoutMinutes', launchTestTimeout),
  /** Written by the pipeline on every source snapshot after registration. */
  'image-id': key('(written by snap2ami)', matching(/^ami-[0-9a-f]+$/, 'an AMI ID')),
} as const;

export type KeyName = keyof typeof KEYS;

/** Keys with a suffix: `<p>device:<device-name>`, `<p>tag:<Key>` and `<p>copy-kms-key:<region>`. */
export const FAMILIES = ['device:', 'tag:', 'copy-kms-key:'] as const;

/** The distribution and lifecycle keys (v2), in the contract's order. */
export const LIFECYCLE_KEYS = [
  'copy-to',
  'share-with',
  'ssm-parameter',
  'deprecate-after',
  'deregistration-protection',
  'family',
  'retain',
  'retain-delete-snapshots',
] as const satisfies readonly KeyName[];

/** The launch-test keys (v3), in the contract's order. */
export const LAUNCH_TEST_KEYS = [
  'launch-test',
  'launch-test-instance-type',
  'launch-test-timeout',
] as const satisfies readonly KeyName[];

/** Keys that only the root snapshot's tags configure; on a set member they are ignored. */
export const IMAGE_ONLY_KEYS: readonly KeyName[] = [
  'name',
  'description',
  'architecture',
  'virtualization-type',
  'boot-mode',
  'ena-support',
  'sriov-net-support',
  'tpm-support',
  'imds-support',
  'root-device-name',
  'kernel-id',
  'ramdisk-id',
  'billing-products',
  'uefi-data',
  'platform',
  'allow-billing-code-loss',
  'copy-tags',
  ...LIFECYCLE_KEYS,
  ...LAUNCH_TEST_KEYS,
];

export function isKeyName(name: string): name is KeyName {
  return Object.hasOwn(KEYS, name);
}
