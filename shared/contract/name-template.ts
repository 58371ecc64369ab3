/**
 * The AMI name template: placeholders filled from the snapshot, then the result checked
 * against the characters and length that RegisterImage accepts.
 */
import type { Snapshot } from '../snapshot.ts';

export const DEFAULT_NAME_TEMPLATE = 'snap2ami-{snapshotId}';
export const NAME_PATTERN = /^[A-Za-z0-9()[\] ./\-'@_]{3,128}$/;
export const NAME_ACCEPTED =
  "3 to 128 characters of letters, digits, ( ) [ ] space . / - ' @ _ after the placeholders {snapshotId}, {volumeId}, {region}, {account}, {date}, {datetime} and {tag:KEY} are filled";

export type Rendered = { ok: true; name: string } | { ok: false; message: string };

export function renderName(template: string, snapshot: Snapshot, account: string, region: string): Rendered {
  const problems: string[] = [];
  const name = template.replace(/\{([^{}]*)\}/g, (placeholder, inner: string) => {
    const value = fill(inner, snapshot, account, region);
    if (typeof value === 'string') return value;
    problems.push(value.problem);
    return placeholder;
  });
  if (problems.length > 0) return { ok: false, message: problems.join('; ') };
  if (!NAME_PATTERN.test(name)) {
    return { ok: false, message: `the name "${name}" is not ${NAME_ACCEPTED}` };
  }
  return { ok: true, name };
}

function fill(
  inner: string,
  snapshot: Snapshot,
  account: string,
  region: string,
): string | { problem: string } {
  if (inner.startsWith('tag:')) {
    const tagKey = inner.slice(4);
    const value = snapshot.tags.get(tagKey);
    return value ?? { problem: `{${inner}} names the tag "${tagKey}", which the snapshot does not have` };
  }
  switch (inner) {
    case 'snapshotId':
      return snapshot.snapshotId;
    case 'volumeId':
      return snapshot.volumeId ?? { problem: '{volumeId}: the snapshot has no VolumeId' };
    case 'region':
      return region;
    case 'account':
      return account;
    case 'date':
    case 'datetime': {
      if (!snapshot.startTime) return { problem: `{${inner}}: the snapshot has no StartTime` };
      const iso = snapshot.startTime.toISOString();
      return inner === 'date' ? iso.slice(0, 10) : `${iso.slice(0, 19).replace(/[-:]/g, '')}Z`;
    }
    default:
      return {
        problem: `{${inner}} is not a placeholder; accepted: {snapshotId}, {volumeId}, {region}, {account}, {date}, {datetime}, {tag:KEY}`,
      };
  }
}
