/**
 * The image parameters: the root snapshot's tags that feed RegisterImage's top-level fields,
 * read with their defaults, then checked in combination. Two steps of the planner, kept apart
 * so that each rule of the contract's "Also rejected when" column is one `if`.
 */
import type { TagReader } from './reader.ts';
import type { BillingCheck } from './types.ts';
import type { ARCHITECTURES, BOOT_MODES, PLATFORMS } from './values.ts';

/** The root snapshot's image parameters, defaults filled; undefined where the contract omits the field. */
export interface ImageParameters {
  architecture: (typeof ARCHITECTURES)[number];
  virtualization: 'hvm' | 'paravirtual';
  bootMode: (typeof BOOT_MODES)[number] | undefined;
  ena: boolean | undefined;
  sriov: 'simple' | undefined;
  tpm: 'v2.0' | undefined;
  imds: 'v2.0' | 'none';
  rootDevice: string;
  kernelId: string | undefined;
  ramdiskId: string | undefined;
  billingProducts: string[] | undefined;
  platform: (typeof PLATFORMS)[number];
  allowBillingCodeLoss: boolean;
  description: string | undefined;
  /** v2: `s3://…` or `ssm:…`, where the workflow reads `UefiData`. */
  uefiData: string | undefined;
}

/**
 * Reads the image parameters from the root's tags. An invalid value records its error on the
 * reader (in this order, which the errors keep) and leaves the parameter at its default.
 */
export function readImageParameters(root: TagReader): ImageParameters {
  return {
    architecture: root.get('architecture') ?? 'x86_64',
    virtualization: root.get('virtualization-type') ?? 'hvm',
    bootMode: root.get('boot-mode'),
    ena: root.get('ena-support'),
    sriov: root.get('sriov-net-support'),
    tpm: root.get('tpm-support'),
    imds: root.get('imds-support') ?? 'v2.0',
    rootDevice: root.get('root-device-name') ?? '/dev/xvda',
    kernelId: root.get('kernel-id'),
    ramdiskId: root.get('ramdisk-id'),
    billingProducts: root.get('billing-products'),
    platform: root.get('platform') ?? 'linux',
    allowBillingCodeLoss: root.get('allow-billing-code-loss') ?? false,
    description: root.get('description'),
    uefiData: root.get('uefi-data'),
  };
}

/** The "Also rejected when" rules of the image parameters: values valid alone but not together. */
export function checkParameterConflicts(root: TagReader, image: ImageParameters): void {
  const { architecture, bootMode } = image;
  const paravirtual = image.virtualization === 'paravirtual';
  if (bootMode === 'legacy-bios' && (architecture === 'arm64' || architecture === 'arm64_mac')) {
    root.conflict(
      'boot-mode',
      `${root.tagKey('boot-mode')}=legacy-bios is not accepted with architecture ${architecture}; accepted for ${architecture}: uefi or uefi-preferred, or leave it out.`,
    );
  }
  if (image.ena === true && paravirtual) {
    root.conflict(
      'ena-support',
      `${root.tagKey('ena-support')}=true is not accepted with paravirtual virtualization (an instance could become unreachable); accepted: false, or leave it out.`,
    );
  }
  if (image.sriov !== undefined && paravirtual) {
    root.conflict(
      'sriov-net-support',
      `${root.tagKey('sriov-net-support')} is not accepted with paravirtual virtualization; accepted: leave it out, or use hvm.`,
    );
  }
  if (image.tpm !== undefined && bootMode !== 'uefi' && bootMode !== 'uefi-preferred') {
    root.conflict(
      'tpm-support',
      `${root.tagKey('tpm-support')}=v2.0 needs ${root.tagKey('boot-mode')} uefi or uefi-preferred (it is ${bootMode ?? 'not set'}).`,
    );
  }
  if (image.uefiData !== undefined && bootMode !== 'uefi' && bootMode !== 'uefi-preferred') {
    root.conflict(
      'uefi-data',
      `${root.tagKey('uefi-data')} needs ${root.tagKey('boot-mode')} uefi or uefi-preferred (it is ${bootMode ?? 'not set'}): UEFI variables are only read by a UEFI boot; accepted: set the boot mode, or remove ${root.tagKey('uefi-data')}.`,
    );
  }
  for (const [name, value] of [
    ['kernel-id', image.kernelId],
    ['ramdisk-id', image.ramdiskId],
  ] as const) {
    if (value !== undefined && !paravirtual) {
      root.conflict(
        name,
        `${root.tagKey(name)} is only accepted with paravirtual virtualization, not hvm; accepted: leave it out for hvm images.`,
      );
    }
  }
  // Read here, not with the parameters: its own error comes after the conflicts above.
  const rootDeviceTag = root.get('device-name');
  if (rootDeviceTag !== undefined && rootDeviceTag !== image.rootDevice) {
    root.conflict(
      'device-name',
      `${root.tagKey('device-name')}=${rootDeviceTag} on the root snapshot differs from its root device ${image.rootDevice}; accepted: set ${root.tagKey('root-device-name')}=${rootDeviceTag} (the root's device comes from that tag), or remove ${root.tagKey('device-name')}.`,
      'RootDeviceName',
    );
  }
}

/** What `PlatformDetails` must contain for each platform whose subscription EC2 checks by billing information. */
export const BILLING_CHECK_TEXT = { windows: 'Windows', rhel: 'Red Hat', sles: 'SUSE' } as const;

/**
 * v2's billing check (it replaces v1's guard): Windows, RHEL and SLES images are planned, and
 * after registration the workflow checks that `PlatformDetails` names the operating system;
 * when it does not, it deregisters the image, or keeps it (tagged) with
 * `<p>allow-billing-code-loss=true`. Linux and other platforms are not checked.
 */
export function billingCheck(image: ImageParameters): BillingCheck | undefined {
  const { platform } = image;
  if (platform !== 'windows' && platform !== 'rhel' && platform !== 'sles') return undefined;
  return {
    expect: BILLING_CHECK_TEXT[platform],
    onMissing: image.allowBillingCodeLoss ? 'keep' : 'deregister',
  };
}

/** The plan's note on its billing check: what the workflow will check and do. */
export function billingCheckNotes(root: TagReader, check: BillingCheck | undefined): string[] {
  if (check === undefined) return [];
  const platform = `${root.tagKey('platform')}=${root.raw('platform')}`;
  const outcome =
    check.onMissing === 'deregister'
      ? `the workflow deregisters the image it made and fails the registration (to keep the subscription, create the AMI from an instance instead, or set ${root.tagKey('allow-billing-code-loss')}=true to keep the image anyway)`
      : `the image is kept (${root.tagKey('allow-billing-code-loss')}=true), tagged ${root.tagKey('billing-check')}=missing, and the registration completes with a warning`;
  return [
    `${platform}: after registration the workflow checks that the image's PlatformDetails contains "${check.expect}", which RegisterImage derives from the snapshot's billing metadata when it carries any; when it does not, ${outcome}.`,
  ];
}
