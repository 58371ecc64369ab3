/**
 * Value parsers for the tag contract. Each returns the parsed value, or undefined when the
 * text is outside the accepted set; the caller turns that into an error naming the tag, the
 * field and `accepted`.
 */

export interface ValueRule<T> {
  /** What would be accepted, as a user reads it in an error message. */
  accepted: string;
  parse(text: string): T | undefined;
  /** For a value `parse` refuses: what exactly is wrong with it (the entry of a list at fault). */
  why?(text: string): string | undefined;
}

export const bool: ValueRule<boolean> = {
  accepted: 'true or false (any case)',
  parse(text) {
    const lower = text.toLowerCase();
    return lower === 'true' ? true : lower === 'false' ? false : undefined;
  },
};

export function oneOf<const T extends string>(values: readonly T[]): ValueRule<T> {
  return {
    accepted: `one of ${values.join(', ')}`,
    parse: (text) => ((values as readonly string[]).includes(text) ? (text as T) : undefined),
  };
}

export function matching(pattern: RegExp, accepted: string): ValueRule<string> {
  return { accepted, parse: (text) => (pattern.test(text) ? text : undefined) };
}

export const positiveInt: ValueRule<number> = {
  accepted: 'a positive whole number',
  parse(text) {
    if (!/^[1-9]\d{0,9}$/.test(text)) return undefined;
    const value = Number(text);
    return Number.isSafeInteger(value) ? value : undefined;
  },
};

export function text(maxLength: number): ValueRule<string> {
  return {
    accepted: `text of at most ${maxLength} characters`,
    // Characters as a user counts them (code points), not UTF-16 units.
    parse: (value) => ([...value].length <= maxLength ? value : undefined),
  };
}

export const billingProducts: ValueRule<string[]> = {
  accepted: 'comma-separated billing product codes (bp-…)',
  parse(value) {
    const codes = value.split(',').map((code) => code.trim());
    return codes.every((code) => /^bp-[0-9a-zA-Z]+$/.test(code)) ? codes : undefined;
  },
};

export const ARCHITECTURES = ['i386', 'x86_64', 'arm64', 'x86_64_mac', 'arm64_mac'] as const;
export const VIRTUALIZATION_TYPES = ['hvm', 'paravirtual'] as const;
export const BOOT_MODES = ['legacy-bios', 'uefi', 'uefi-preferred'] as const;
export const VOLUME_TYPES = ['standard', 'io1', 'io2', 'gp2', 'sc1', 'st1', 'gp3'] as const;
export const PLATFORMS = ['linux', 'windows', 'rhel', 'sles', 'other'] as const;
export type VolumeType = (typeof VOLUME_TYPES)[number];

/** `/dev/` followed by letters and digits, as the contract's root-device-name row says. */
export const DEVICE_NAME = /^\/dev\/[A-Za-z0-9]+$/;
/** Windows-style device names (`xvdb`) are also accepted for additional devices. */
export const WINDOWS_DEVICE_NAME = /^xvd[a-z]{1,2}$/;
export const deviceName = matching(
  DEVICE_NAME,
  '/dev/ followed by letters and digits (for example /dev/sdb)',
);

// ---------------------------------------------------------------------------------------------
// Distribution and lifecycle (v2).

/**
 * A Region name: an area, a direction and a number (`us-west-2`, `us-gov-east-1`,
 * `ap-southeast-7`). A pattern rather than a list, so that a new Region needs no release; the
 * closed sets of areas and directions still catch a misspelt name (`us-wset-2`).
 */
export const REGION_NAME =
  /^(?:af|ap|ca|cn|eu|il|me|mx|sa|us|us-gov|us-iso|us-isob|us-isof|eu-isoe|eusc-de)-(?:central|north|south|east|west|northeast|northwest|southeast|southwest)-[1-9]\d?$/;
export const MAX_COPY_REGIONS = 10;

/** Comma-separated entries, trimmed; empty entries are kept, to be refused by the entry's rule. */
function entries(text: string): string[] {
  return text.split(',').map((entry) => entry.trim());
}

function regionListProblem(text: string): string | undefined {
  const regions = entries(text);
  const bad = regions.find((region) => !REGION_NAME.test(region));
  if (bad !== undefined) return `"${bad}" is not a Region name`;
  const twice = regions.find((region, index) => regions.indexOf(region) !== index);
  if (twice !== undefined) return `${twice} is named twice`;
  if (regions.length > MAX_COPY_REGIONS) return `${regions.length} Regions are more than ${MAX_COPY_REGIONS}`;
  return undefined;
}

export const regionList: ValueRule<string[]> = {
  accepted: `comma-separated Region names (such as us-west-2,eu-central-1), each once, at most ${MAX_COPY_REGIONS}`,
  parse: (text) => (regionListProblem(text) === undefined ? entries(text) : undefined),
  why: regionListProblem,
};

const KEY_ID = '(?:[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}|mrk-[0-9a-f]{32})';
const KMS_KEY = new RegExp(
  `^(?:${KEY_ID}|arn:aws(?:-[a-z]+)*:kms:[a-z0-9-]+:\\d{12}:key/${KEY_ID}|alias/[A-Za-z0-9/_-]{1,250})$`,
);
export const kmsKey = matching(
  KMS_KEY,
  'a KMS key ARN (arn:aws:kms:<region>:<account>:key/<key-id>), a key ID or alias/<name>',
);

const ACCOUNT_ID = /^\d{12}$/;
const ORGANIZATION_ARN = /^arn:aws(?:-[a-z]+)*:organizations::\d{12}:organization\/o-[a-z0-9]{10,32}$/;
const OU_ARN =
  /^arn:aws(?:-[a-z]+)*:organizations::\d{12}:ou\/o-[a-z0-9]{10,32}\/ou-[a-z0-9]{4,32}-[a-z0-9]{8,32}$/;

/** Launch permissions, by kind, in the tag's order; only the kinds that have entries. */
export interface ShareWith {
  userIds?: string[];
  organizationArns?: string[];
  organizationalUnitArns?: string[];
  /**
   * `source`: the account the snapshot came from (its owner, when another account's snapshot
   * was copied in). The planner resolves it into `userIds` (shared/contract/source-account.ts):
   * never in a plan.
   */
  source?: true;
}

/** The `<p>share-with` entry that names the account the snapshot came from. */
export const SHARE_WITH_SOURCE = 'source';

export const shareWith: ValueRule<ShareWith> = {
  accepted:
    'comma-separated 12-digit account IDs, organization ARNs (arn:aws:organizations::<account>:organization/o-…), OU ARNs (arn:aws:organizations::<account>:ou/o-…/ou-…) and source (the account the snapshot came from)',
  parse(text) {
    if (shareWithProblem(text) !== undefined) return undefined;
    const lists = {
      userIds: [] as string[],
      organizationArns: [] as string[],
      organizationalUnitArns: [] as string[],
    };
    let source = false;
    for (const entry of entries(text)) {
      if (entry === SHARE_WITH_SOURCE) source = true;
      else if (ACCOUNT_ID.test(entry)) lists.userIds.push(entry);
      else if (ORGANIZATION_ARN.test(entry)) lists.organizationArns.push(entry);
      else lists.organizationalUnitArns.push(entry);
    }
    const result: ShareWith = {};
    for (const kind of ['userIds', 'organizationArns', 'organizationalUnitArns'] as const)
      if (lists[kind].length > 0) result[kind] = lists[kind];
    if (source) result.source = true;
    return result;
  },
  why: shareWithProblem,
};

function shareWithProblem(text: string): string | undefined {
  const bad = entries(text).find(
    (entry) =>
      entry !== SHARE_WITH_SOURCE &&
      !ACCOUNT_ID.test(entry) &&
      !ORGANIZATION_ARN.test(entry) &&
      !OU_ARN.test(entry),
  );
  return bad === undefined ? undefined : `"${bad}" is none of these`;
}

export const MAX_SSM_NAME_LENGTH = 1011;
function ssmParameterProblem(text: string): string | undefined {
  if (text === '') return 'is empty';
  if (text.length > MAX_SSM_NAME_LENGTH) return `has ${text.length} characters`;
  if (!/^[A-Za-z0-9_.\-/]+$/.test(text)) return 'has a character other than letters, digits, _ . - /';
  if (/^\/?(?:aws|ssm)/i.test(text)) return 'starts with a prefix SSM reserves (aws, ssm)';
  return undefined;
}

export const ssmParameterName: ValueRule<string> = {
  accepted: `an SSM parameter name such as /golden/web: letters, digits, _ . - and /, at most ${MAX_SSM_NAME_LENGTH} characters, not starting with aws or ssm (in any case, after an optional /)`,
  parse: (text) => (ssmParameterProblem(text) === undefined ? text : undefined),
  why: ssmParameterProblem,
};

/** Days in each unit of `<p>deprecate-after`; a year is 365 days. */
const DAYS_PER: Record<string, number> = { d: 1, w: 7, y: 365 };
export const MAX_DEPRECATE_DAYS = 3650;
export const deprecateAfter: ValueRule<number> = {
  accepted: `<N>d, <N>w or <N>y (days, weeks, years of 365 days), from 1 day to 10 years (${MAX_DEPRECATE_DAYS} days)`,
  parse(text) {
    const match = /^([1-9]\d{0,5})([dwy])$/.exec(text);
    if (!match) return undefined;
    const days = Number(match[1]) * (DAYS_PER[match[2] as string] as number);
    return days <= MAX_DEPRECATE_DAYS ? days : undefined;
  },
};

export const deregistrationProtection: ValueRule<'on' | 'with-cooldown' | 'off'> = {
  accepted: 'true, with-cooldown or false',
  parse(text) {
    if (text === 'with-cooldown') return 'with-cooldown';
    const value = bool.parse(text);
    return value === undefined ? undefined : value ? 'on' : 'off';
  },
};

/** The AMI name's alphabet, as the name template's check uses it. */
export const family = matching(
  /^[A-Za-z0-9()[\] ./\-'@_]{1,128}$/,
  "1 to 128 characters of letters, digits, ( ) [ ] space . / - ' @ _",
);

export type Retain = { count: number } | { days: number };
export const MAX_RETAIN_COUNT = 1000;
export const MAX_RETAIN_DAYS = 36_500;
export const retain: ValueRule<Retain> = {
  accepted: `<N> (the newest N, 1 to ${MAX_RETAIN_COUNT}) or <N>d (those within N days, 1 to ${MAX_RETAIN_DAYS})`,
  parse(text) {
    const match = /^([1-9]\d{0,5})(d?)$/.exec(text);
    if (!match) return undefined;
    const n = Number(match[1]);
    if (match[2] === 'd') return n <= MAX_RETAIN_DAYS ? { days: n } : undefined;
    return n <= MAX_RETAIN_COUNT ? { count: n } : undefined;
  },
};

/** v3: how long retention keeps an image disabled before it deregisters it (`<N>d`). */
export const MAX_RETAIN_GRACE_DAYS = 365;
export const retainGrace: ValueRule<number> = {
  accepted: `<N>d, from 0d to ${MAX_RETAIN_GRACE_DAYS}d (days an image beyond the rule stays disabled before it is deregistered)`,
  parse(text) {
    const match = /^(0|[1-9]\d{0,2})d$/.exec(text);
    if (!match) return undefined;
    const days = Number(match[1]);
    return days <= MAX_RETAIN_GRACE_DAYS ? days : undefined;
  },
};

// ---------------------------------------------------------------------------------------------
// UefiData (v2): where the workflow reads it, since 64,000 characters do not fit in a tag.

/** An S3 bucket name: 3 to 63 lowercase letters, digits, dots and hyphens, a letter or digit at each end. */
const BUCKET = /^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/;

/** Whether `name` is an S3 bucket name as `<p>uefi-data` accepts it (and the uefiDataBucket setting). */
export function isBucketName(name: string): boolean {
  return BUCKET.test(name) && !name.includes('..');
}

function uefiDataProblem(text: string): string | undefined {
  if (text.startsWith('s3://')) {
    const rest = text.slice('s3://'.length);
    const slash = rest.indexOf('/');
    const bucket = slash < 0 ? rest : rest.slice(0, slash);
    if (!isBucketName(bucket)) return `"${bucket}" is not an S3 bucket name`;
    if (slash < 0 || slash === rest.length - 1) return 'names no object key after the bucket';
    return undefined;
  }
  if (text.startsWith('ssm:')) {
    const name = text.slice('ssm:'.length);
    if (name === '') return 'names no parameter';
    if (name.length > MAX_SSM_NAME_LENGTH) return `names a parameter of ${name.length} characters`;
    if (!/^[A-Za-z0-9_.\-/]+$/.test(name))
      return 'names a parameter with a character other than letters, digits, _ . - /';
    return undefined;
  }
  return 'is neither s3:// nor ssm:';
}

export const uefiDataSource: ValueRule<string> = {
  accepted: `s3://<bucket>/<key> or ssm:<parameter-name> (letters, digits, _ . - /, at most ${MAX_SSM_NAME_LENGTH} characters)`,
  parse: (text) => (uefiDataProblem(text) === undefined ? text : undefined),
  why: uefiDataProblem,
};

// ---------------------------------------------------------------------------------------------
// Launch test (v3): boot the AMI once before anything publishes it.

/** SendCommand's `DocumentName` (SSM's service model: a name or ARN matching this pattern). */
const SSM_DOCUMENT = /^[a-zA-Z0-9_\-.:/]{3,128}$/;

export type LaunchTestMode = { mode: 'status-checks' } | { mode: 'ssm'; document: string } | { mode: 'off' };

function launchTestProblem(text: string): string | undefined {
  if (text === 'status-checks' || bool.parse(text) === false) return undefined;
  if (!text.startsWith('ssm:')) return 'is none of these';
  const document = text.slice('ssm:'.length);
  if (!SSM_DOCUMENT.test(document))
    return `"${document}" is not an SSM document name (3 to 128 letters, digits, _ - . : /)`;
  return undefined;
}

export const launchTest: ValueRule<LaunchTestMode> = {
  accepted:
    'status-checks, ssm:<document-name> (an SSM document name or ARN: 3 to 128 letters, digits, _ - . : /) or false',
  parse(text) {
    if (launchTestProblem(text) !== undefined) return undefined;
    if (text === 'status-checks') return { mode: 'status-checks' };
    if (text.startsWith('ssm:')) return { mode: 'ssm', document: text.slice('ssm:'.length) };
    return { mode: 'off' };
  },
  why: launchTestProblem,
};

export const MIN_LAUNCH_TEST_MINUTES = 5;
export const MAX_LAUNCH_TEST_MINUTES = 120;
export const DEFAULT_LAUNCH_TEST_MINUTES = 15;
export const launchTestTimeout: ValueRule<number> = {
  accepted: `<N>m, from ${MIN_LAUNCH_TEST_MINUTES}m to ${MAX_LAUNCH_TEST_MINUTES}m (default ${DEFAULT_LAUNCH_TEST_MINUTES}m)`,
  parse(text) {
    const match = /^([1-9]\d{0,3})m$/.exec(text);
    const minutes = Number(match?.[1]);
    return match && minutes >= MIN_LAUNCH_TEST_MINUTES && minutes <= MAX_LAUNCH_TEST_MINUTES
      ? minutes
      : undefined;
  },
};

/** An instance type's name as EC2 writes them (t3.micro, c7i-flex.large, u-6tb1.metal). */
export const instanceType = matching(
  /^[a-z][a-z0-9-]*\d[a-z0-9-]*\.[a-z0-9-]+$/,
  'an instance type such as t3.micro that the deployment allows',
);
