/**
 * What the planner knows of an EC2 instance type without asking EC2 (it does no I/O): the
 * architecture it runs and the boot modes it offers, to check a launch test's type against
 * the AMI before anything is registered (tag contract v3, "Launch test").
 *
 * The source is EC2's own `DescribeInstanceTypes` (`ProcessorInfo.SupportedArchitectures`,
 * `SupportedBootModes`), as the EC2 instance types guide prints it: T3 is Intel Xeon
 * (x86_64; legacy-bios and uefi), T4g is AWS Graviton2 (arm64; uefi only). The table holds the
 * types the deployment allows by default and the one Graviton family whose name lacks the `g`.
 * Any other type a deployment allows is INFERRED from its name: a `g` among the letters after
 * the family's generation number (c7g, m6gd, im4gn, is4gen, g5g, x2gd) marks Graviton, arm64,
 * uefi only; everything else is taken as x86_64, offering both boot modes as every x86 type on
 * the Nitro System does, except the Xen-based families below (legacy-bios only). An inference
 * can be wrong for a type AWS names otherwise in future; the launch test itself then fails,
 * naming the type, which is where a wrong guess shows.
 */
import type { ARCHITECTURES, BOOT_MODES } from './values.ts';

export type Architecture = (typeof ARCHITECTURES)[number];
export type BootMode = (typeof BOOT_MODES)[number];

export interface InstanceTypeTraits {
  architecture: Architecture;
  bootModes: readonly BootMode[];
  /** Whether the traits come from the table (false: inferred from the name). */
  known: boolean;
}

const X86_NITRO: readonly BootMode[] = ['legacy-bios', 'uefi'];
const GRAVITON: readonly BootMode[] = ['uefi'];

/** By family (the part before the dot). Source: DescribeInstanceTypes, as above. */
const FAMILIES: Record<string, { architecture: Architecture; bootModes: readonly BootMode[] }> = {
  t3: { architecture: 'x86_64', bootModes: X86_NITRO },
  t4g: { architecture: 'arm64', bootModes: GRAVITON },
  // The first Graviton (2018): arm64, but its name has no g.
  a1: { architecture: 'arm64', bootModes: GRAVITON },
};

/**
 * Families on the Xen hypervisor (EC2 guide, "Instances built on the AWS Nitro System": the
 * types not listed there), which boot legacy BIOS only; their `.metal` sizes are Nitro.
 */
const XEN_FAMILIES = new Set([
  't1',
  't2',
  'm1',
  'm2',
  'm3',
  'm4',
  'c1',
  'c3',
  'c4',
  'cc1',
  'cc2',
  'cg1',
  'cr1',
  'r3',
  'r4',
  'x1',
  'x1e',
  'i2',
  'i3',
  'd2',
  'h1',
  'hi1',
  'hs1',
  'g2',
  'g3',
  'g3s',
  'p2',
  'p3',
  'f1',
]);

/** The defaults the contract names for a launch test without `<p>launch-test-instance-type`. */
export const DEFAULT_LAUNCH_TEST_TYPES: Partial<Record<Architecture, string>> = {
  x86_64: 't3.micro',
  arm64: 't4g.micro',
};

/** The architecture and boot modes of `type` (a well-formed instance type name), from the table or inferred. */
export function instanceTypeTraits(type: string): InstanceTypeTraits {
  const [family = '', size = ''] = type.split('.');
  const listed = FAMILIES[family];
  if (listed) return { ...listed, known: true };
  const attributes = /^[a-z-]+\d+(.*)$/.exec(family)?.[1] ?? '';
  if (attributes.includes('g')) return { architecture: 'arm64', bootModes: GRAVITON, known: false };
  const xen = XEN_FAMILIES.has(family) && size !== 'metal';
  return { architecture: 'x86_64', bootModes: xen ? ['legacy-bios'] : X86_NITRO, known: false };
}

/**
 * The boot mode an instance of the AMI starts in on `traits`, or undefined when it cannot
 * start: EC2 boots an AMI without a boot mode in the architecture's default (legacy-bios on
 * x86_64, uefi on arm64), and `uefi-preferred` in uefi where offered, else legacy-bios.
 */
export function bootsOn(bootMode: BootMode | undefined, traits: InstanceTypeTraits): BootMode | undefined {
  const wanted: BootMode[] =
    bootMode === 'uefi-preferred'
      ? ['uefi', 'legacy-bios']
      : [bootMode ?? (traits.architecture === 'arm64' ? 'uefi' : 'legacy-bios')];
  return wanted.find((mode) => traits.bootModes.includes(mode));
}
