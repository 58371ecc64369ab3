/**
 * An independent reading of docs/tag-contract.md: what a plan, a skip or a rejection
 * must look like for given snapshots. Written from the spec's text, not from the planner's
 * helpers (only the idempotency key function is shared, since the spec defines the key by it).
 * Each check returns the list of violations, empty when the outcome satisfies the contract.
 */
import { isDeepStrictEqual } from 'node:util';
import type { SnapshotGroup } from '#shared/contract/plan.ts';
import type {
  BlockDeviceMapping,
  ContractError,
  EbsMapping,
  Plan,
  PlannerSettings,
} from '#shared/contract/types.ts';
import { idempotencyKey } from '#shared/idempotency.ts';
import type { Snapshot } from '#shared/snapshot.ts';

export type Outcome =
  | { plan: Plan }
  | { skipped: { snapshotIds: string[]; reason: string } }
  | { rejected: { snapshotIds: string[]; errors: ContractError[] } };

// The spec's tables, copied as text.
export const CONTRACT_KEYS = [
  'register',
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
  'volume-type',
  'volume-size',
  'iops',
  'throughput',
  'delete-on-termination',
  'copy-tags',
  'device-name',
  'image-id',
  'copy-to',
  'share-with',
  'ssm-parameter',
  'deprecate-after',
  'deregistration-protection',
  'family',
  'retain',
  'retain-delete-snapshots',
  'retain-grace',
] as const;
/** The distribution and lifecycle keys (v2). */
export const LIFECYCLE_KEYS = [
  'copy-to',
  'share-with',
  'ssm-parameter',
  'deprecate-after',
  'deregistration-protection',
  'family',
  'retain',
  'retain-delete-snapshots',
  'retain-grace',
];
/** Keys with a suffix. */
const FAMILIES = ['device:', 'tag:', 'copy-kms-key:'];
export const ARCHITECTURES = ['i386', 'x86_64', 'arm64', 'x86_64_mac', 'arm64_mac'];
export const VIRTUALIZATION_TYPES = ['hvm', 'paravirtual'];
export const BOOT_MODES = ['legacy-bios', 'uefi', 'uefi-preferred'];
export const VOLUME_TYPES = ['standard', 'io1', 'io2', 'gp2', 'sc1', 'st1', 'gp3'];
export const PLATFORMS = ['linux', 'windows', 'rhel', 'sles', 'other'];
const NAME_SPECIALS = "()[] ./-'@_";
const REQUEST_FIELDS = new Set([
  'Name',
  'Description',
  'Architecture',
  'VirtualizationType',
  'BootMode',
  'EnaSupport',
  'SriovNetSupport',
  'TpmSupport',
  'ImdsSupport',
  'RootDeviceName',
  'KernelId',
  'RamdiskId',
  'BillingProducts',
  'BlockDeviceMappings',
  'TagSpecifications',
]);
const MAPPING_FIELDS = new Set(['DeviceName', 'Ebs', 'VirtualName', 'NoDevice']);
const EBS_FIELDS = new Set([
  'SnapshotId',
  'VolumeSize',
  'VolumeType',
  'Iops',
  'Throughput',
  'DeleteOnTermination',
  'OutpostArn',
]);

/**
 * The spec's "EBS limits per volume type" table, copied as numbers: sizes in GiB; IOPS with the
 * number always accepted ("above 3,000") and the most per GiB above it; throughput likewise per
 * IOPS. A type without `iops` or `throughput` does not take them.
 */
export interface TypeLimits {
  size: [min: number, max: number];
  iops?: { range: [number, number]; above: number; perGiB: number };
  throughput?: { range: [number, number]; above: number; perIops: number; defaultIops: number };
}
export const LIMITS: Record<string, TypeLimits> = {
  gp3: {
    size: [1, 65536],
    iops: { range: [3000, 80000], above: 3000, perGiB: 500 },
    throughput: { range: [125, 2000], above: 125, perIops: 0.25, defaultIops: 3000 },
  },
  gp2: { size: [1, 16384] },
  io1: { size: [4, 16384], iops: { range: [100, 64000], above: 0, perGiB: 50 } },
  io2: { size: [4, 65536], iops: { range: [100, 256000], above: 0, perGiB: 1000 } },
  st1: { size: [125, 16384] },
  sc1: { size: [125, 16384] },
  standard: { size: [1, 1024] },
};

/**
 * Every limit of the table that an EBS mapping breaks. "Size" is the mapping's VolumeSize, else
 * the snapshot's; when neither is known, the size and the ratios that need it cannot be checked.
 */
export function limitViolations(ebs: EbsMapping, snapshotSize: number | undefined): string[] {
  const out: string[] = [];
  const type = ebs.VolumeType ?? 'gp3';
  const limits = LIMITS[type];
  if (!limits) return [`VolumeType ${type} has no limits in the table`];
  const size = ebs.VolumeSize ?? snapshotSize;
  if (size !== undefined && (size < limits.size[0] || size > limits.size[1]))
    out.push(`${type} size ${size} GiB outside ${limits.size[0]}-${limits.size[1]}`);
  const { Iops: iops, Throughput: throughput } = ebs;
  if (iops !== undefined) {
    if (!limits.iops) out.push(`${type} takes no IOPS`);
    else {
      const [min, max] = limits.iops.range;
      if (iops < min || iops > max) out.push(`${type} IOPS ${iops} outside ${min}-${max}`);
      if (size !== undefined && iops > limits.iops.above && iops > limits.iops.perGiB * size)
        out.push(`${type} IOPS ${iops} above ${limits.iops.perGiB} per GiB of ${size} GiB`);
    }
  }
  if (throughput !== undefined) {
    if (!limits.throughput) out.push(`${type} takes no throughput`);
    else {
      const [min, max] = limits.throughput.range;
      if (throughput < min || throughput > max)
        out.push(`${type} throughput ${throughput} outside ${min}-${max}`);
      const base = iops ?? limits.throughput.defaultIops;
      if (throughput > limits.throughput.above && throughput > limits.throughput.perIops * base)
        out.push(`${type} throughput ${throughput} above ${limits.throughput.perIops} per IOPS of ${base}`);
    }
  }
  return out;
}

export function isValidName(name: string): boolean {
  if (name.length < 3 || name.length > 128) return false;
  for (const ch of name) {
    const alnum = (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9');
    if (!alnum && !NAME_SPECIALS.includes(ch)) return false;
  }
  return true;
}

/** `true` / `false`, case-insensitive; undefined for anything else. */
export function parseBool(text: string): boolean | undefined {
  const lower = text.toLowerCase();
  if (lower === 'true') return true;
  if (lower === 'false') return false;
  return undefined;
}

/** A positive whole number written in decimal digits; undefined for anything else. */
function parseWhole(text: string): number | undefined {
  if (!/^[0-9]+$/.test(text)) return undefined;
  const value = Number(text);
  return value > 0 && Number.isSafeInteger(value) ? value : undefined;
}

const pad = (n: number, width = 2) => String(n).padStart(width, '0');

/** Every name the template may render to (one, or two when `{account}` is ambiguous); undefined when it cannot render. */
export function expectedNames(
  template: string,
  snapshot: Snapshot,
  settings: PlannerSettings,
): string[] | undefined {
  const accounts = new Set([settings.account]);
  if (snapshot.ownerId !== undefined) accounts.add(snapshot.ownerId);
  const names: string[] = [];
  for (const account of accounts) {
    let ok = true;
    const name = template.replace(/\{([^{}]*)\}/g, (whole, inner: string) => {
      const value = placeholder(inner, snapshot, settings.region, account);
      if (value === undefined) ok = false;
      return value ?? whole;
    });
    if (!ok) return undefined;
    names.push(name);
  }
  return names;
}

function placeholder(inner: string, snapshot: Snapshot, region: string, account: string): string | undefined {
  if (inner.startsWith('tag:')) return snapshot.tags.get(inner.slice('tag:'.length));
  const t = snapshot.startTime;
  switch (inner) {
    case 'snapshotId':
      return snapshot.snapshotId;
    case 'volumeId':
      return snapshot.volumeId;
    case 'region':
      return region;
    case 'account':
      return account;
    case 'date':
      return t && `${pad(t.getUTCFullYear(), 4)}-${pad(t.getUTCMonth() + 1)}-${pad(t.getUTCDate())}`;
    case 'datetime':
      return (
        t &&
        `${pad(t.getUTCFullYear(), 4)}${pad(t.getUTCMonth() + 1)}${pad(t.getUTCDate())}T${pad(t.getUTCHours())}${pad(t.getUTCMinutes())}${pad(t.getUTCSeconds())}Z`
      );
    default:
      return undefined;
  }
}

interface VolumeText {
  type?: string | undefined;
  size?: string | undefined;
  iops?: string | undefined;
  throughput?: string | undefined;
  delete?: string | undefined;
}

/** The Ebs fields (without SnapshotId) that volume options give, or undefined when one is outside its accepted set. */
function expectedVolume(spec: VolumeText): EbsMapping | undefined {
  const type = spec.type ?? 'gp3';
  if (!VOLUME_TYPES.includes(type)) return undefined;
  const ebs: EbsMapping = { VolumeType: type as EbsMapping['VolumeType'], DeleteOnTermination: true };
  if (spec.delete !== undefined) {
    const value = parseBool(spec.delete);
    if (value === undefined) return undefined;
    ebs.DeleteOnTermination = value;
  }
  for (const [option, field] of [
    ['size', 'VolumeSize'],
    ['iops', 'Iops'],
    ['throughput', 'Throughput'],
  ] as const) {
    const raw = spec[option];
    if (raw === undefined) continue;
    const value = parseWhole(raw);
    if (value === undefined) return undefined;
    ebs[field] = value;
  }
  return ebs;
}

/** The mapping (without DeviceName) a `<p>device:` value asks for, or undefined when the value is not accepted. */
function expectedDevice(value: string): Omit<BlockDeviceMapping, 'DeviceName'> | undefined {
  if (value === 'none') return { NoDevice: '' };
  if (/^ephemeral[0-9]+$/.test(value)) return { VirtualName: value };
  const [head = '', ...options] = value.split(':');
  if (head !== 'empty' && !/^snap-[0-9a-f]+$/.test(head)) return undefined;
  const spec: Record<string, string> = {};
  for (const option of options) {
    const match = /^(size|type|iops|throughput|delete)=(.*)$/.exec(option);
    if (!match) return undefined;
    const [, name = '', text = ''] = match;
    if (name in spec) return undefined;
    spec[name] = text;
  }
  if (head === 'empty' && spec.size === undefined) return undefined;
  const ebs = expectedVolume(spec);
  if (!ebs) return undefined;
  return { Ebs: head === 'empty' ? ebs : { SnapshotId: head, ...ebs } };
}

function volumeTags(snapshot: Snapshot, prefix: string): VolumeText {
  const get = (name: string) => snapshot.tags.get(`${prefix}${name}`);
  return {
    type: get('volume-type'),
    size: get('volume-size'),
    iops: get('iops'),
    throughput: get('throughput'),
    delete: get('delete-on-termination'),
  };
}

/** Paths of every null (and every property explicitly set to undefined) in a value. */
function nullPaths(value: unknown, path: string, out: string[]): void {
  if (value === null) out.push(`${path} is null`);
  else if (Array.isArray(value)) {
    for (const [index, item] of value.entries()) nullPaths(item, `${path}[${index}]`, out);
  } else if (typeof value === 'object') {
    for (const [key, item] of Object.entries(value as object)) {
      if (item === undefined) out.push(`${path}.${key} is set to undefined`);
      else nullPaths(item, `${path}.${key}`, out);
    }
  }
}

export interface PlanContext {
  root: Snapshot;
  /** The other members of a multi-volume set. */
  members: readonly Snapshot[];
  known: ReadonlyMap<string, Snapshot>;
  settings: PlannerSettings;
}

/** Every way `plan` falls short of the contract for these snapshots. */
export function satisfiesContract(plan: Plan, context: PlanContext): string[] {
  const { root, members, settings } = context;
  const prefix = settings.prefix;
  const out: string[] = [];
  const fail = (message: string) => out.push(message);
  const tag = (name: string) => root.tags.get(`${prefix}${name}`);
  const request = plan.request;
  const field = (name: string): unknown => (request as unknown as Record<string, unknown>)[name];

  nullPaths(request, 'request', out);
  for (const key of Object.keys(request)) if (!REQUEST_FIELDS.has(key)) fail(`unexpected field ${key}`);

  // Opting in: only a root tagged register=true is planned.
  if (parseBool(tag('register') ?? '') !== true)
    fail(`the root ${root.snapshotId} is not tagged register=true`);
  if (root.state !== 'completed') fail(`the root is ${root.state}, not completed`);

  // Unknown keys under the prefix are errors, on the root and on members.
  for (const snap of [root, ...members]) {
    for (const key of snap.tags.keys()) {
      if (!key.startsWith(prefix)) continue;
      const rest = key.slice(prefix.length);
      const isContractKey = (CONTRACT_KEYS as readonly string[]).includes(rest);
      if (!isContractKey && !FAMILIES.some((family) => rest.startsWith(family)))
        fail(`${snap.snapshotId} carries the unknown key ${key}, yet a plan was made`);
    }
  }

  // Name.
  if (typeof request.Name !== 'string' || !isValidName(request.Name))
    fail(`Name ${JSON.stringify(request.Name)} is not 3-128 accepted characters`);
  const names = expectedNames(tag('name') ?? 'snap2ami-{snapshotId}', root, settings);
  if (names === undefined) fail(`the name template ${JSON.stringify(tag('name'))} cannot be rendered`);
  else if (!names.includes(request.Name))
    fail(`Name ${JSON.stringify(request.Name)}, expected one of ${JSON.stringify(names)}`);

  // Description.
  const description = tag('description');
  if (request.Description !== undefined && [...request.Description].length > 255)
    fail(`Description has more than 255 characters`);
  if (description === undefined ? 'Description' in request : request.Description !== description)
    fail(`Description ${JSON.stringify(request.Description)}, tag ${JSON.stringify(description)}`);

  // One-of fields with their defaults.
  const oneOf = (name: string, tagName: string, accepted: readonly string[], fallback?: string) => {
    const actual = field(name);
    if (actual !== undefined && (typeof actual !== 'string' || !accepted.includes(actual)))
      fail(`${name}=${JSON.stringify(actual)} is not one of ${accepted.join(', ')}`);
    const expected = tag(tagName) ?? fallback;
    if (expected === undefined ? name in request : actual !== expected)
      fail(
        `${name}=${JSON.stringify(actual)}, expected ${JSON.stringify(expected)} (tag ${prefix}${tagName})`,
      );
  };
  oneOf('Architecture', 'architecture', ARCHITECTURES, 'x86_64');
  oneOf('VirtualizationType', 'virtualization-type', VIRTUALIZATION_TYPES, 'hvm');
  oneOf('BootMode', 'boot-mode', BOOT_MODES);
  oneOf('SriovNetSupport', 'sriov-net-support', ['simple']);
  oneOf('TpmSupport', 'tpm-support', ['v2.0']);
  const paravirtual = request.VirtualizationType === 'paravirtual';

  // EnaSupport: true for hvm, omitted for paravirtual, unless tagged.
  const ena = tag('ena-support');
  const expectedEna = ena === undefined ? (paravirtual ? undefined : true) : parseBool(ena);
  if (ena !== undefined && expectedEna === undefined) fail(`ena-support=${JSON.stringify(ena)} accepted`);
  if (expectedEna === undefined ? 'EnaSupport' in request : request.EnaSupport !== expectedEna)
    fail(`EnaSupport=${request.EnaSupport}, expected ${expectedEna}`);

  // ImdsSupport: v2.0 by default; none omits it.
  const imds = tag('imds-support') ?? 'v2.0';
  if (imds === 'none') {
    if ('ImdsSupport' in request) fail('ImdsSupport is set although imds-support=none');
  } else if (imds !== 'v2.0' || request.ImdsSupport !== 'v2.0')
    fail(`ImdsSupport=${JSON.stringify(request.ImdsSupport)}, tag ${JSON.stringify(imds)}`);

  // RootDeviceName.
  const rootDevice = tag('root-device-name') ?? '/dev/xvda';
  if (request.RootDeviceName !== rootDevice)
    fail(`RootDeviceName=${request.RootDeviceName}, expected ${rootDevice}`);
  if (!/^\/dev\/[A-Za-z0-9]+$/.test(request.RootDeviceName))
    fail(
      `RootDeviceName ${JSON.stringify(request.RootDeviceName)} is not /dev/ followed by letters and digits`,
    );

  // KernelId, RamdiskId.
  for (const [name, tagName, idPrefix] of [
    ['KernelId', 'kernel-id', 'aki-'],
    ['RamdiskId', 'ramdisk-id', 'ari-'],
  ] as const) {
    const expected = tag(tagName);
    const actual = request[name];
    if (expected === undefined ? name in request : actual !== expected)
      fail(`${name}=${JSON.stringify(actual)}, tag ${JSON.stringify(expected)}`);
    if (actual !== undefined && !new RegExp(`^${idPrefix}[0-9a-fA-F]+$`).test(actual))
      fail(`${name}=${JSON.stringify(actual)} is not ${idPrefix} followed by hex`);
  }

  // BillingProducts.
  const billing = tag('billing-products');
  if (billing === undefined) {
    if ('BillingProducts' in request) fail('BillingProducts without a billing-products tag');
  } else {
    const codes = billing.split(',').map((code) => code.trim());
    if (!isDeepStrictEqual(request.BillingProducts, codes))
      fail(`BillingProducts=${JSON.stringify(request.BillingProducts)}, tag ${JSON.stringify(billing)}`);
    if (!codes.every((code) => /^bp-[^\s,]+$/.test(code)))
      fail(`billing-products=${JSON.stringify(billing)} is not comma-separated bp- codes`);
  }

  // The billing check (v2; v1's guard rejected these platforms).
  const platform = tag('platform') ?? 'linux';
  if (!PLATFORMS.includes(platform)) fail(`platform=${JSON.stringify(platform)} accepted`);
  const allow = tag('allow-billing-code-loss');
  if (allow !== undefined && parseBool(allow) === undefined)
    fail(`allow-billing-code-loss=${JSON.stringify(allow)} accepted`);
  const expectText: Record<string, string> = { windows: 'Windows', rhel: 'Red Hat', sles: 'SUSE' };
  const expectedCheck =
    platform in expectText
      ? { expect: expectText[platform], onMissing: parseBool(allow ?? '') === true ? 'keep' : 'deregister' }
      : undefined;
  if (!isDeepStrictEqual(plan.billingCheck, expectedCheck))
    fail(`billingCheck ${JSON.stringify(plan.billingCheck)}, expected ${JSON.stringify(expectedCheck)}`);
  if (
    expectedCheck &&
    !plan.notes.some((note) => note.includes(`PlatformDetails contains "${expectedCheck.expect}"`))
  )
    fail('a plan with a billing check has no note about it');

  // Combinations.
  if (request.BootMode === 'legacy-bios' && ['arm64', 'arm64_mac'].includes(request.Architecture))
    fail(`BootMode legacy-bios with ${request.Architecture}`);
  if (request.EnaSupport === true && paravirtual) fail('EnaSupport true with paravirtual');
  if (request.SriovNetSupport !== undefined && paravirtual) fail('SriovNetSupport with paravirtual');
  if (
    request.TpmSupport !== undefined &&
    request.BootMode !== 'uefi' &&
    request.BootMode !== 'uefi-preferred'
  )
    fail(`TpmSupport with BootMode ${request.BootMode}`);
  if ((request.KernelId !== undefined || request.RamdiskId !== undefined) && !paravirtual)
    fail('KernelId or RamdiskId with hvm');

  checkMappings(plan, context, rootDevice, fail);
  checkTags(plan, context, fail);
  checkLifecycle(plan, context, fail);
  checkUefiData(plan, context, fail);
  const planFields = [
    'key',
    'snapshotIds',
    'request',
    'notes',
    'lifecycle',
    'uefiDataSource',
    'billingCheck',
    'sourceAccount',
  ];
  for (const key of Object.keys(plan)) if (!planFields.includes(key)) fail(`the plan has a field ${key}`);
  // Another account's snapshots are copied in before registration (ADR 0014): the plan names it.
  const owner = context.root.ownerId;
  const source = owner !== undefined && owner !== context.settings.account ? owner : undefined;
  if (plan.sourceAccount !== source) fail(`sourceAccount ${plan.sourceAccount}, the root's owner ${owner}`);
  return out;
}

/** `<p>uefi-data`: an S3 object or an SSM parameter, only for UEFI boot modes, carried as given. */
function checkUefiData(plan: Plan, context: PlanContext, fail: (m: string) => void): void {
  const source = context.root.tags.get(`${context.settings.prefix}uefi-data`);
  if (source === undefined) {
    if ('uefiDataSource' in plan) fail(`uefiDataSource ${plan.uefiDataSource} without a uefi-data tag`);
    return;
  }
  if (plan.uefiDataSource !== source) fail(`uefiDataSource ${plan.uefiDataSource}, tag ${source}`);
  if (plan.request.BootMode !== 'uefi' && plan.request.BootMode !== 'uefi-preferred')
    fail(`uefi-data with boot mode ${plan.request.BootMode}`);
  const s3 = /^s3:\/\/([^/]+)\/(.+)$/.exec(source);
  const ssm = /^ssm:(.+)$/.exec(source);
  if (s3) {
    const bucket = s3[1] ?? '';
    const ok =
      bucket.length >= 3 &&
      bucket.length <= 63 &&
      /^[a-z0-9.-]+$/.test(bucket) &&
      /^[a-z0-9]/.test(bucket) &&
      /[a-z0-9]$/.test(bucket) &&
      !bucket.includes('..');
    if (!ok) fail(`uefi-data names the bucket ${bucket}`);
  } else if (ssm) {
    const name = ssm[1] ?? '';
    if (name.length > 1011 || !/^[a-zA-Z0-9_.\-/]+$/.test(name))
      fail(`uefi-data names the parameter ${name}`);
  } else fail(`uefi-data ${source} is neither s3://<bucket>/<key> nor ssm:<name>`);
}

const AREAS = [
  'af',
  'ap',
  'ca',
  'cn',
  'eu',
  'il',
  'me',
  'mx',
  'sa',
  'us',
  'us-gov',
  'us-iso',
  'us-isob',
  'us-isof',
];
const DIRECTIONS = [
  'central',
  'north',
  'south',
  'east',
  'west',
  'northeast',
  'northwest',
  'southeast',
  'southwest',
];

/** A Region name: area, direction, number (us-west-2, us-gov-east-1). */
export function isRegionName(name: string): boolean {
  const parts = name.split('-');
  const number = parts.pop() ?? '';
  const direction = parts.pop() ?? '';
  return /^[1-9][0-9]?$/.test(number) && DIRECTIONS.includes(direction) && AREAS.includes(parts.join('-'));
}

const UUID = '[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}';
function isKmsKey(value: string): boolean {
  const keyId = new RegExp(`^(${UUID}|mrk-[0-9a-f]{32})$`);
  if (keyId.test(value)) return true;
  if (value.startsWith('alias/')) return /^[A-Za-z0-9/_-]{1,250}$/.test(value.slice('alias/'.length));
  const arn = /^arn:aws[a-z-]*:kms:[a-z0-9-]+:([0-9]{12}):key\/(.+)$/.exec(value);
  return arn !== null && keyId.test(arn[2] ?? '');
}

/** The share-with entry's list, or undefined for an entry of none of the three forms. */
function shareKind(entry: string): 'userIds' | 'organizationArns' | 'organizationalUnitArns' | undefined {
  if (/^[0-9]{12}$/.test(entry)) return 'userIds';
  const arn = /^arn:aws[a-z-]*:organizations::[0-9]{12}:(organization|ou)\/(.*)$/.exec(entry);
  if (!arn) return undefined;
  const [, kind, path = ''] = arn;
  if (kind === 'organization') return /^o-[a-z0-9]{10,32}$/.test(path) ? 'organizationArns' : undefined;
  return /^o-[a-z0-9]{10,32}\/ou-[a-z0-9]{4,32}-[a-z0-9]{8,32}$/.test(path)
    ? 'organizationalUnitArns'
    : undefined;
}

/** The plan's lifecycle: present exactly when a lifecycle tag is, with the fields the spec's example names. */
function checkLifecycle(plan: Plan, context: PlanContext, fail: (m: string) => void): void {
  const { root, settings } = context;
  const prefix = settings.prefix;
  const tag = (name: string) => root.tags.get(`${prefix}${name}`);
  const kmsKeys = new Map<string, string>();
  for (const [key, value] of root.tags)
    if (key.startsWith(`${prefix}copy-kms-key:`))
      kmsKeys.set(key.slice(`${prefix}copy-kms-key:`.length), value);
  const used = LIFECYCLE_KEYS.some((name) => tag(name) !== undefined) || kmsKeys.size > 0;
  if (!used) {
    if ('lifecycle' in plan) fail(`a lifecycle ${JSON.stringify(plan.lifecycle)} without lifecycle tags`);
    return;
  }
  const expected: Record<string, unknown> = {};

  const copyTo = tag('copy-to');
  const regions = copyTo === undefined ? [] : copyTo.split(',').map((region) => region.trim());
  if (copyTo !== undefined) {
    for (const region of regions) if (!isRegionName(region)) fail(`copy-to names "${region}", not a Region`);
    if (new Set(regions).size !== regions.length) fail(`copy-to names a Region twice: ${copyTo}`);
    if (regions.length > 10) fail(`copy-to names ${regions.length} Regions`);
    if (regions.includes(settings.region)) fail(`copy-to names the pipeline's own Region ${settings.region}`);
    expected.copyTo = regions.map((region) => {
      const kmsKeyId = kmsKeys.get(region);
      return kmsKeyId === undefined ? { region } : { region, kmsKeyId };
    });
  }
  for (const [region, value] of kmsKeys) {
    if (!regions.includes(region)) fail(`copy-kms-key:${region} for a Region copy-to does not name`);
    if (!isKmsKey(value)) fail(`copy-kms-key:${region}=${JSON.stringify(value)} is not a KMS key`);
  }

  const share = tag('share-with');
  if (share !== undefined) {
    const lists: Record<string, string[]> = {};
    for (const entry of share.split(',').map((item) => item.trim())) {
      const kind = shareKind(entry);
      if (kind === undefined) fail(`share-with has "${entry}", none of the accepted forms`);
      else lists[kind] = [...(lists[kind] ?? []), entry];
    }
    expected.shareWith = lists;
  }

  const ssm = tag('ssm-parameter');
  if (ssm !== undefined) {
    if (ssm.length < 1 || ssm.length > 1011 || !/^[a-zA-Z0-9_.\-/]+$/.test(ssm))
      fail(`ssm-parameter ${JSON.stringify(ssm)} is not an SSM parameter name`);
    const bare = ssm.startsWith('/') ? ssm.slice(1) : ssm;
    if (['aws', 'ssm'].includes(bare.slice(0, 3).toLowerCase()))
      fail(`ssm-parameter ${ssm} starts with aws or ssm`);
    expected.ssmParameter = ssm;
  }

  const deprecate = tag('deprecate-after');
  if (deprecate !== undefined) {
    const match = /^([0-9]+)([dwy])$/.exec(deprecate);
    const days = match ? Number(match[1]) * { d: 1, w: 7, y: 365 }[match[2] as 'd' | 'w' | 'y'] : Number.NaN;
    if (!(days >= 1 && days <= 3650))
      fail(`deprecate-after ${JSON.stringify(deprecate)} is not 1 day to 10 years`);
    expected.deprecateAfterDays = days;
  }

  const protection = tag('deregistration-protection');
  if (protection !== undefined) {
    const on = protection === 'with-cooldown' ? 'with-cooldown' : parseBool(protection);
    if (on === undefined) fail(`deregistration-protection=${JSON.stringify(protection)} accepted`);
    if (on === true) expected.deregistrationProtection = 'on';
    if (on === 'with-cooldown') expected.deregistrationProtection = 'with-cooldown';
  }

  const family = tag('family');
  if (family !== undefined) {
    if (family.length < 1 || family.length > 128 || !isValidName(family.padEnd(3, 'x')))
      fail(`family ${JSON.stringify(family)} is not 1-128 characters of the name alphabet`);
    expected.family = family;
  }

  const retain = tag('retain');
  if (retain !== undefined) {
    if (family === undefined) fail('retain without family');
    const days = retain.endsWith('d');
    const n = parseWhole(days ? retain.slice(0, -1) : retain);
    if (n === undefined || n > (days ? 36500 : 1000))
      fail(`retain ${JSON.stringify(retain)} is outside the forms`);
    expected.retain = days ? { days: n } : { count: n };
  }

  const deleteSnapshots = tag('retain-delete-snapshots');
  if (deleteSnapshots !== undefined) {
    const value = parseBool(deleteSnapshots);
    if (value === undefined) fail(`retain-delete-snapshots=${JSON.stringify(deleteSnapshots)} accepted`);
    expected.retainDeleteSnapshots = value;
  }

  const grace = tag('retain-grace');
  if (grace !== undefined) {
    const n = /^(0|[1-9][0-9]*)d$/.test(grace) ? Number(grace.slice(0, -1)) : undefined;
    if (n === undefined || n > 365) fail(`retain-grace ${JSON.stringify(grace)} accepted`);
    else if (n > 0) expected.retainGraceDays = n;
  }

  if (!isDeepStrictEqual(plan.lifecycle, expected))
    fail(`lifecycle ${JSON.stringify(plan.lifecycle)}, expected ${JSON.stringify(expected)}`);
  if (plan.notes.some((note) => note.includes('not yet carried out')))
    fail('a plan with a lifecycle still says the workflow does not carry it out');
}

function checkMappings(
  plan: Plan,
  context: PlanContext,
  rootDevice: string,
  fail: (m: string) => void,
): void {
  const { root, members, known, settings } = context;
  const prefix = settings.prefix;
  const mappings = plan.request.BlockDeviceMappings;
  if (!Array.isArray(mappings) || mappings.length === 0) {
    fail('no BlockDeviceMappings');
    return;
  }
  const first = mappings[0];
  if (first?.DeviceName !== plan.request.RootDeviceName || first?.Ebs?.SnapshotId !== root.snapshotId)
    fail(`the first mapping ${JSON.stringify(first)} is not the root snapshot at RootDeviceName`);
  const devices = mappings.map((mapping) => mapping.DeviceName);
  if (new Set(devices).size !== devices.length) fail(`device names used twice: ${devices.join(', ')}`);

  for (const [index, mapping] of mappings.entries()) {
    const at = `BlockDeviceMappings[${index}] (${mapping.DeviceName})`;
    for (const key of Object.keys(mapping)) if (!MAPPING_FIELDS.has(key)) fail(`${at} has ${key}`);
    const kinds = ['Ebs', 'VirtualName', 'NoDevice'].filter((key) => key in mapping);
    if (kinds.length !== 1) fail(`${at} has ${kinds.join(' and ') || 'none'} of Ebs, VirtualName, NoDevice`);
    if ('NoDevice' in mapping && mapping.NoDevice !== '') fail(`${at} NoDevice is not ""`);
    if (mapping.VirtualName !== undefined && !/^ephemeral[0-9]+$/.test(mapping.VirtualName))
      fail(`${at} VirtualName ${mapping.VirtualName}`);
    const ebs = mapping.Ebs;
    if (!ebs) continue;
    for (const key of Object.keys(ebs)) if (!EBS_FIELDS.has(key)) fail(`${at}.Ebs has ${key}`);
    if ('Encrypted' in ebs || 'KmsKeyId' in ebs) fail(`${at}.Ebs sets an encryption state`);
    const type = ebs.VolumeType ?? 'gp3';
    if (!VOLUME_TYPES.includes(type)) fail(`${at} VolumeType ${type}`);
    if (index === 0 && (type === 'st1' || type === 'sc1')) fail(`the root volume is ${type}, not bootable`);
    if ((type === 'io1' || type === 'io2') && ebs.Iops === undefined) fail(`${at} is ${type} without Iops`);
    if (ebs.Iops !== undefined && !['io1', 'io2', 'gp3'].includes(type)) fail(`${at} has Iops for ${type}`);
    if (ebs.Throughput !== undefined && type !== 'gp3') fail(`${at} has Throughput for ${type}`);
    for (const name of ['VolumeSize', 'Iops', 'Throughput'] as const) {
      const value = ebs[name];
      if (value !== undefined && !(Number.isSafeInteger(value) && value > 0)) fail(`${at} ${name}=${value}`);
    }
    if (ebs.DeleteOnTermination !== undefined && typeof ebs.DeleteOnTermination !== 'boolean')
      fail(`${at} DeleteOnTermination ${ebs.DeleteOnTermination}`);
    if (ebs.SnapshotId === undefined) {
      if (ebs.VolumeSize === undefined) fail(`${at} is an empty volume without VolumeSize`);
      for (const violation of limitViolations(ebs, undefined)) fail(`${at}: ${violation}`);
      continue;
    }
    const source = known.get(ebs.SnapshotId);
    if (!source) {
      fail(`${at} names ${ebs.SnapshotId}, which is not known`);
      continue;
    }
    for (const violation of limitViolations(ebs, source.volumeSize)) fail(`${at}: ${violation}`);
    if (source.state !== 'completed') fail(`${at} names ${source.snapshotId}, which is ${source.state}`);
    const owner = source.ownerId;
    if (
      owner === undefined ||
      (owner !== settings.account && !settings.allowedSourceAccounts.includes(owner))
    )
      fail(`${at} names ${source.snapshotId} of account ${owner}, not allowed`);
    if (ebs.VolumeSize !== undefined && source.volumeSize !== undefined && ebs.VolumeSize < source.volumeSize)
      fail(`${at} VolumeSize ${ebs.VolumeSize} < snapshot size ${source.volumeSize}`);
    if (source.outpostArn !== root.outpostArn)
      fail(
        `${at}: ${source.snapshotId} is on ${source.outpostArn ?? 'the Region'}, root on ${root.outpostArn ?? 'the Region'}`,
      );
    if (ebs.OutpostArn !== root.outpostArn)
      fail(`${at} OutpostArn ${ebs.OutpostArn}, root on ${root.outpostArn}`);
  }

  // Which mappings: the root, each <p>device: tag of the root, each member tagged device-name.
  const withOutpost = (ebs: EbsMapping): EbsMapping =>
    ebs.SnapshotId !== undefined && root.outpostArn ? { ...ebs, OutpostArn: root.outpostArn } : ebs;
  const expected: BlockDeviceMapping[] = [];
  const rootVolume = expectedVolume(volumeTags(root, prefix));
  if (!rootVolume) fail('a root volume option is outside its accepted set');
  else
    expected.push({
      DeviceName: rootDevice,
      Ebs: withOutpost({ SnapshotId: root.snapshotId, ...rootVolume }),
    });
  for (const [key, value] of root.tags) {
    if (!key.startsWith(`${prefix}device:`)) continue;
    const device = key.slice(`${prefix}device:`.length);
    const mapping = expectedDevice(value);
    if (!mapping) {
      fail(`${key}=${JSON.stringify(value)} is not an accepted device value`);
      continue;
    }
    const source = mapping.Ebs?.SnapshotId === undefined ? undefined : known.get(mapping.Ebs.SnapshotId);
    if (source && source.ownerId !== root.ownerId)
      fail(`${key} names ${source.snapshotId} of account ${source.ownerId}, not the root's ${root.ownerId}`);
    expected.push({ DeviceName: device, ...mapping, ...(mapping.Ebs && { Ebs: withOutpost(mapping.Ebs) }) });
  }
  for (const member of members) {
    const device = member.tags.get(`${prefix}device-name`);
    if (device === undefined) continue;
    const volume = expectedVolume(volumeTags(member, prefix));
    if (!volume) {
      fail(`a volume option of member ${member.snapshotId} is outside its accepted set`);
      continue;
    }
    expected.push({ DeviceName: device, Ebs: withOutpost({ SnapshotId: member.snapshotId, ...volume }) });
  }
  if (expected.length !== mappings.length)
    fail(
      `${mappings.length} mappings, expected ${expected.length}: ${JSON.stringify(expected.map((m) => m.DeviceName))}`,
    );
  for (const want of expected) {
    const got = mappings.find((mapping) => mapping.DeviceName === want.DeviceName);
    if (!isDeepStrictEqual(got, want))
      fail(`mapping ${JSON.stringify(got)}, expected ${JSON.stringify(want)}`);
  }

  // The key: account, Region and the sorted IDs of the snapshots in the request.
  const ids = [...new Set(mappings.flatMap((mapping) => mapping.Ebs?.SnapshotId ?? []))].sort();
  if (!isDeepStrictEqual(plan.snapshotIds, ids))
    fail(`plan.snapshotIds ${JSON.stringify(plan.snapshotIds)}, request names ${JSON.stringify(ids)}`);
  if (plan.key !== idempotencyKey(settings.account, settings.region, ids))
    fail(`plan.key ${plan.key} is not the key of ${settings.account}, ${settings.region}, ${ids.join(', ')}`);
}

function checkTags(plan: Plan, context: PlanContext, fail: (m: string) => void): void {
  const { root, settings } = context;
  const prefix = settings.prefix;
  const specs = plan.request.TagSpecifications;
  if (!Array.isArray(specs) || specs.length !== 1 || specs[0]?.ResourceType !== 'image') {
    fail(`TagSpecifications ${JSON.stringify(specs)} is not one image entry`);
    return;
  }
  const tags = specs[0].Tags;
  if (tags.length > 50) fail(`${tags.length} tags on the AMI`);
  const values = new Map<string, string>();
  for (const { Key, Value } of tags) {
    if (typeof Key !== 'string' || typeof Value !== 'string') fail(`tag ${Key}=${Value} is not strings`);
    if (values.has(Key)) fail(`tag ${Key} twice`);
    values.set(Key, Value);
    if (Key.toLowerCase().startsWith('aws:')) fail(`the AMI gets the aws: tag ${Key}`);
    if (Key.length < 1 || Key.length > 128 || Value.length > 256) fail(`tag ${Key} of invalid length`);
  }
  if (values.get(`${prefix}source-snapshot`) !== root.snapshotId)
    fail(`${prefix}source-snapshot is not the root`);
  if (values.get(`${prefix}key`) !== plan.key) fail(`${prefix}key is not plan.key`);
  // v2: the snapshot's start time (to the second, UTC) and the family.
  const t = root.startTime;
  const time =
    t &&
    `${pad(t.getUTCFullYear(), 4)}-${pad(t.getUTCMonth() + 1)}-${pad(t.getUTCDate())}T${pad(t.getUTCHours())}:${pad(t.getUTCMinutes())}:${pad(t.getUTCSeconds())}Z`;
  if (values.get(`${prefix}snapshot-time`) !== time)
    fail(`${prefix}snapshot-time is ${values.get(`${prefix}snapshot-time`)}, expected ${time}`);
  const familyTag = root.tags.get(`${prefix}family`);
  if (values.get(`${prefix}family`) !== familyTag)
    fail(`${prefix}family is ${values.get(`${prefix}family`)}, expected ${familyTag}`);

  // Where each tag may come from: <p>tag:<Key>, or <p>copy-tags.
  const explicit = new Map<string, string>();
  for (const [key, value] of root.tags)
    if (key.startsWith(`${prefix}tag:`)) explicit.set(key.slice(`${prefix}tag:`.length), value);
  const copyTags = root.tags.get(`${prefix}copy-tags`);
  const isAws = (key: string) => key.toLowerCase().startsWith('aws:');
  // Tags that must be copied, and tags that may be (an explicit list naming a <p> key is not settled by the spec).
  const mustCopy = new Set<string>();
  const mayCopy = new Set<string>();
  if (copyTags !== undefined) {
    if (copyTags.trim() === '*') {
      for (const key of root.tags.keys()) if (!isAws(key) && !key.startsWith(prefix)) mustCopy.add(key);
    } else {
      for (const key of copyTags.split(',').map((item) => item.trim())) {
        if (key === '' || isAws(key)) continue;
        if (!root.tags.has(key)) fail(`copy-tags names ${key}, which the snapshot does not have`);
        else if (key.startsWith(prefix)) mayCopy.add(key);
        else mustCopy.add(key);
      }
    }
  }
  for (const [key, value] of explicit) {
    if (values.get(key) !== value)
      fail(`${prefix}tag:${key}=${JSON.stringify(value)} is not on the AMI as is`);
  }
  for (const key of mustCopy) {
    const candidates = [root.tags.get(key), explicit.get(key)];
    if (!candidates.includes(values.get(key))) fail(`copy-tags: ${key} is not copied`);
  }
  for (const [key, value] of values) {
    if (['source-snapshot', 'key', 'snapshot-time', 'family'].some((name) => key === `${prefix}${name}`))
      continue;
    const fromTag = explicit.get(key) === value;
    const fromCopy = (mustCopy.has(key) || mayCopy.has(key)) && root.tags.get(key) === value;
    if (!fromTag && !fromCopy) fail(`the AMI tag ${key}=${JSON.stringify(value)} comes from nowhere`);
  }
}

/** Checks any outcome of planning `group`: classification, errors, and the plan when there is one. */
export function checkOutcome(
  outcome: Outcome,
  group: SnapshotGroup,
  known: ReadonlyMap<string, Snapshot>,
  settings: PlannerSettings,
): string[] {
  const out: string[] = [];
  const prefix = settings.prefix;
  const members = [...new Set(group.snapshotIds)].flatMap((id) => known.get(id) ?? []);
  const registers = members.map((member) => member.tags.get(`${prefix}register`));
  const invalidRegister = registers.some((value) => value !== undefined && parseBool(value) === undefined);
  const roots = members.filter((_, index) => parseBool(registers[index] ?? '') === true);
  const allCompleted = members.every((member) => member.state === 'completed');
  const kind = 'plan' in outcome ? 'plan' : 'skipped' in outcome ? 'skipped' : 'rejected';

  // Every snapshot a request names must be known: a missing one is an error naming it.
  const missing = [...new Set(group.snapshotIds)].filter((id) => !known.has(id));
  if (missing.length > 0 && 'rejected' in outcome) {
    for (const id of missing)
      if (!outcome.rejected.errors.some((error) => error.message.includes(id)))
        out.push(`no error names the missing snapshot ${id}`);
  }

  let expected: string[] = ['plan', 'skipped', 'rejected'];
  if (missing.length > 0) expected = ['rejected'];
  else if (invalidRegister) expected = ['skipped', 'rejected'];
  else if (roots.length === 0) expected = ['skipped'];
  else if (roots.length > 1) expected = ['rejected'];
  else if (!allCompleted) expected = ['skipped'];
  else expected = ['plan', 'rejected'];
  if (!expected.includes(kind)) out.push(`outcome is ${kind}, expected ${expected.join(' or ')}`);

  if ('rejected' in outcome) {
    const errors = outcome.rejected.errors;
    if (errors.length === 0) out.push('rejected without errors');
    const carried = new Set(members.flatMap((member) => [...member.tags.keys()]));
    for (const error of errors) {
      if (typeof error.message !== 'string' || error.message.trim() === '')
        out.push(`an error without message: ${JSON.stringify(error)}`);
      if (error.field !== undefined && (typeof error.field !== 'string' || error.field === ''))
        out.push(`an error with an empty field: ${JSON.stringify(error)}`);
      if (error.tag !== undefined) {
        const rest = error.tag.startsWith(prefix) ? error.tag.slice(prefix.length) : undefined;
        const contractKey = rest !== undefined && (CONTRACT_KEYS as readonly string[]).includes(rest);
        if (!carried.has(error.tag) && !contractKey)
          out.push(`an error names the tag ${error.tag}, which no snapshot carries and is no contract key`);
      }
    }
  }
  if ('skipped' in outcome && outcome.skipped.reason.trim() === '') out.push('skipped without a reason');
  if ('plan' in outcome) {
    const root = roots[0];
    if (root) {
      const others = members.filter((member) => member !== root);
      out.push(...satisfiesContract(outcome.plan, { root, members: others, known, settings }));
    }
  }
  return out;
}

/** The plan of an outcome that must be a plan satisfying the contract; throws with the reasons otherwise. */
export function expectValidPlan(
  outcome: Outcome,
  group: SnapshotGroup,
  known: ReadonlyMap<string, Snapshot>,
  settings: PlannerSettings,
): Plan {
  if (!('plan' in outcome)) throw new Error(`expected a plan, got ${JSON.stringify(outcome)}`);
  const violations = checkOutcome(outcome, group, known, settings);
  if (violations.length > 0)
    throw new Error(`${violations.join('\n')}\n--- plan: ${JSON.stringify(outcome.plan, null, 1)}`);
  return outcome.plan;
}
