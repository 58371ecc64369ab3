/**
 * Value parsers for the tag contract. Each returns the parsed value, or undefined when the
 * text is outside the accepted set; the caller turns that into an error naming the tag, the
 * field and `accepted`.
 */

export interface ValueRule<T> {
  /** What would be accepted, as a user reads it in an error message. */
  accepted: string;
  parse(text: string): T | undefined;
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
