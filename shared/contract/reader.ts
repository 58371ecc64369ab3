/**
 * Reads one snapshot's tags under the prefix: known keys, the `device:` and `tag:` families,
 * and an error for every key that is neither (a typo must never fall back to a default).
 */
import type { Snapshot } from '../snapshot.ts';
import { FAMILIES, isKeyName, KEYS, type KeyName } from './keys.ts';
import type { ContractError } from './types.ts';
import type { ValueRule } from './values.ts';

type ValueOf<K extends KeyName> = (typeof KEYS)[K]['rule'] extends ValueRule<infer T> ? T : never;

export class TagReader {
  readonly prefix: string;
  readonly snapshot: Snapshot;
  readonly errors: ContractError[] = [];
  /** `<p>device:<name>` tags: device name → value, in key order. */
  readonly devices = new Map<string, string>();
  /** `<p>tag:<Key>` tags: AMI tag key → value. */
  readonly amiTags = new Map<string, string>();
  /** `<p>copy-kms-key:<region>` tags: Region → KMS key, in key order. */
  readonly copyKmsKeys = new Map<string, string>();
  private readonly values = new Map<KeyName, string>();

  constructor(snapshot: Snapshot, prefix: string) {
    this.snapshot = snapshot;
    this.prefix = prefix;
    const keys = [...snapshot.tags.keys()].sort();
    for (const tagKey of keys) {
      const value = snapshot.tags.get(tagKey) ?? '';
      if (tagKey.startsWith(prefix)) this.classify(tagKey, tagKey.slice(prefix.length), value);
      else if (tagKey.toLowerCase().startsWith(prefix.toLowerCase())) {
        this.errors.push({
          tag: tagKey,
          message: `${tagKey} is not read: tag keys are case-sensitive and the prefix is written "${prefix}"; rename the tag.`,
        });
      }
    }
  }

  private classify(tagKey: string, rest: string, value: string): void {
    if (isKeyName(rest)) this.values.set(rest, value);
    else if (rest.startsWith('device:')) this.devices.set(rest.slice('device:'.length), value);
    else if (rest.startsWith('tag:')) this.amiTags.set(rest.slice('tag:'.length), value);
    else if (rest.startsWith('copy-kms-key:'))
      this.copyKmsKeys.set(rest.slice('copy-kms-key:'.length), value);
    else {
      const guess = nearestKey(rest);
      this.errors.push({
        tag: tagKey,
        message: `${tagKey} is not a key of the tag contract${guess ? ` (did you mean ${this.prefix}${guess}?)` : ''}; accepted: the keys in the tag contract, ${this.prefix}device:<device-name>, ${this.prefix}tag:<Key> or ${this.prefix}copy-kms-key:<region>.`,
      });
    }
  }

  /** The full tag key for a contract key name. */
  tagKey(name: string): string {
    return `${this.prefix}${name}`;
  }

  has(name: KeyName): boolean {
    return this.values.has(name);
  }

  raw(name: KeyName): string | undefined {
    return this.values.get(name);
  }

  /** The parsed value of a key, or undefined when absent; an invalid value records an error. */
  get<K extends KeyName>(name: K): ValueOf<K> | undefined {
    const raw = this.values.get(name);
    if (raw === undefined) return undefined;
    const definition = KEYS[name];
    const parsed = (definition.rule as ValueRule<ValueOf<K>>).parse(raw);
    if (parsed === undefined) {
      const why = definition.rule.why?.(raw);
      this.errors.push(invalid(this.tagKey(name), definition.field, raw, definition.rule.accepted, why));
    }
    return parsed;
  }

  /** Records an error for a key whose value is valid alone but not in combination. */
  conflict(name: KeyName, message: string, field: string = KEYS[name].field): void {
    this.errors.push({ tag: this.tagKey(name), field, message });
  }
}

export function invalid(
  tag: string,
  field: string,
  raw: string,
  accepted: string,
  why?: string,
): ContractError {
  const reason = why === undefined ? '' : ` (${why})`;
  return {
    tag,
    field,
    message: `${tag}="${raw}" is not accepted for ${field}${reason}; accepted: ${accepted}.`,
  };
}

/** The contract key closest to a misspelt one (at most two edits away), to suggest it. */
export function nearestKey(name: string): string | undefined {
  let best: { key: string; distance: number } | undefined;
  for (const candidate of [...Object.keys(KEYS), ...FAMILIES]) {
    const distance = editDistance(name, candidate);
    if (distance <= 2 && (!best || distance < best.distance)) best = { key: candidate, distance };
  }
  return best?.key;
}

function editDistance(a: string, b: string): number {
  let previous = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const current = [i];
    for (let j = 1; j <= b.length; j++) {
      const substitution = (previous[j - 1] as number) + (a[i - 1] === b[j - 1] ? 0 : 1);
      current[j] = Math.min((previous[j] as number) + 1, (current[j - 1] as number) + 1, substitution);
    }
    previous = current;
  }
  return previous[b.length] as number;
}
