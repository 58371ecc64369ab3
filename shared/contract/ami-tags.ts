/**
 * The AMI's own tags, sent with RegisterImage: our provenance tags (source snapshot, key, and
 * since v2 the snapshot's start time and the family, by which retention and the SSM parameter
 * order a family's AMIs), tags copied from the root snapshot (`<p>copy-tags`) and explicit ones
 * (`<p>tag:<Key>`).
 */
import type { TagReader } from './reader.ts';

export const MAX_TAGS = 50;
const MAX_KEY_LENGTH = 128;
const MAX_VALUE_LENGTH = 256;

export function amiTags(
  reader: TagReader,
  key: string,
  family: string | undefined,
  notes: string[],
): { Key: string; Value: string }[] {
  const { prefix, snapshot } = reader;
  const tags = new Map<string, string>([
    [`${prefix}source-snapshot`, snapshot.snapshotId],
    [`${prefix}key`, key],
  ]);
  if (snapshot.startTime) tags.set(`${prefix}snapshot-time`, snapshotTime(snapshot.startTime));
  else
    notes.push(
      `${snapshot.snapshotId} has no StartTime, so the AMI gets no ${prefix}snapshot-time tag (retention and the SSM parameter order a family's AMIs by it).`,
    );
  if (family !== undefined) tags.set(`${prefix}family`, family);
  const own = tags.size;
  const reserved = (tagKey: string) => tagKey.toLowerCase().startsWith('aws:') || tagKey.startsWith(prefix);

  const copyTags = reader.get('copy-tags');
  if (copyTags !== undefined) {
    const copyKey = reader.tagKey('copy-tags');
    const wanted =
      copyTags.trim() === '*'
        ? [...snapshot.tags.keys()].filter((tagKey) => !reserved(tagKey)).sort()
        : copyTags.split(',').map((tagKey) => tagKey.trim());
    for (const tagKey of wanted) {
      if (tagKey === '' || reserved(tagKey) || !snapshot.tags.has(tagKey)) {
        const why =
          tagKey === ''
            ? 'has an empty key'
            : reserved(tagKey)
              ? `names ${tagKey}, and aws: and ${prefix} tags are never copied`
              : `names ${tagKey}, which the snapshot does not have`;
        reader.errors.push({
          tag: copyKey,
          field: 'TagSpecifications',
          message: `${copyKey}="${copyTags}" ${why}; accepted: * or comma-separated keys of the snapshot's own tags.`,
        });
        continue;
      }
      tags.set(tagKey, snapshot.tags.get(tagKey) ?? '');
    }
  }

  for (const [tagKey, value] of reader.amiTags) {
    const source = `${prefix}tag:${tagKey}`;
    const problem =
      tagKey === ''
        ? 'has no tag key after tag:'
        : reserved(tagKey)
          ? `would set ${tagKey}, and keys starting with aws: or ${prefix} are reserved`
          : tagKey.length > MAX_KEY_LENGTH
            ? `names a key longer than ${MAX_KEY_LENGTH} characters`
            : value.length > MAX_VALUE_LENGTH
              ? `has a value longer than ${MAX_VALUE_LENGTH} characters`
              : undefined;
    if (problem) {
      reader.errors.push({
        tag: source,
        field: 'TagSpecifications',
        message: `${source} ${problem}; accepted: ${prefix}tag:<Key>=<value> with a key of 1 to ${MAX_KEY_LENGTH} characters not starting with aws: or ${prefix}, and a value of at most ${MAX_VALUE_LENGTH}.`,
      });
      continue;
    }
    if (tags.has(tagKey))
      notes.push(`${source} replaces the value copied from the snapshot's tag ${tagKey}.`);
    tags.set(tagKey, value);
  }

  if (tags.size > MAX_TAGS) {
    reader.errors.push({
      ...(copyTags !== undefined && { tag: `${prefix}copy-tags` }),
      field: 'TagSpecifications',
      message: `the AMI would get ${tags.size} tags (${own} of them snap2ami's own); accepted: at most ${MAX_TAGS}: copy fewer tags or drop some ${prefix}tag: tags.`,
    });
  }
  return [...tags].map(([Key, Value]) => ({ Key, Value }));
}

/** `<p>snapshot-time`: the snapshot's StartTime in UTC, to the second (`YYYY-MM-DDTHH:MM:SSZ`). */
export function snapshotTime(startTime: Date): string {
  return `${startTime.toISOString().slice(0, 19)}Z`;
}
