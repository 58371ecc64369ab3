/** The lifecycle's decisions without I/O (shared/distribution.ts), row by row. */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  copyClientToken,
  deprecationTime,
  type FamilyImage,
  isProtected,
  mayReplace,
  retentionCandidates,
} from '../../shared/distribution.ts';

const image = (imageId: string, snapshotTime?: string, protection = 'disabled'): FamilyImage => ({
  imageId,
  snapshotTime,
  protection,
});
const NOW = new Date('2026-06-30T12:00:00Z');
const ids = (images: FamilyImage[]) => images.map((i) => i.imageId);

describe('copyClientToken', () => {
  it('is the same for a key and Region, different across Regions and keys, 64 characters', () => {
    const token = copyClientToken('k1', 'us-west-2');
    expect(token).toBe(copyClientToken('k1', 'us-west-2'));
    expect(token).not.toBe(copyClientToken('k1', 'eu-west-1'));
    expect(token).not.toBe(copyClientToken('k2', 'us-west-2'));
    expect(token).toMatch(/^[0-9a-f]{64}$/);
  });
});

describe('deprecationTime', () => {
  it('is creation + N days, to the minute', () => {
    expect(deprecationTime('2026-01-01T10:20:59.000Z', 90)).toBe('2026-04-01T10:20:00.000Z');
    expect(deprecationTime('2026-01-01T00:00:00.000Z', 3650)).toBe('2035-12-30T00:00:00.000Z');
  });
});

describe('retentionCandidates', () => {
  const family = [
    image('ami-5', '2026-06-05T00:00:00Z'),
    image('ami-1', '2026-06-01T00:00:00Z'),
    image('ami-3', '2026-06-03T00:00:00Z'),
    image('ami-4', '2026-06-04T00:00:00Z'),
    image('ami-2', '2026-06-02T00:00:00Z'),
    image('ami-x'),
  ];

  it('by count keeps the newest N by snapshot time, and any without one', () => {
    const { candidates, kept } = retentionCandidates(family, { count: 2 }, 'ami-5', NOW);
    expect(ids(candidates)).toEqual(['ami-3', 'ami-2', 'ami-1']);
    expect(kept.map((k) => [k.image.imageId, k.reason])).toEqual([
      ['ami-x', 'no snapshot-time'],
      ['ami-5', 'newest'],
      ['ami-4', 'within retention'],
    ]);
  });

  it('on a tie in snapshot time (to the second), counts the image this registration made as the newest', () => {
    const tied = [image('ami-9', '2026-06-05T00:00:00Z'), image('ami-0', '2026-06-05T00:00:00Z')];
    for (const ours of ['ami-9', 'ami-0']) {
      const { candidates, kept } = retentionCandidates(tied, { count: 1 }, ours, NOW);
      expect(kept.map((k) => [k.image.imageId, k.reason])).toEqual([[ours, 'newest']]);
      expect(ids(candidates)).toEqual([ours === 'ami-9' ? 'ami-0' : 'ami-9']);
    }
  });

  it('by age keeps those within N days', () => {
    const { candidates } = retentionCandidates(family, { days: 28 }, 'ami-5', NOW);
    expect(ids(candidates)).toEqual(['ami-2', 'ami-1']);
  });

  it('never the newest, even when the rule keeps none by age', () => {
    const { candidates, kept } = retentionCandidates(family, { days: 1 }, 'ami-5', NOW);
    expect(ids(candidates)).toEqual(['ami-4', 'ami-3', 'ami-2', 'ami-1']);
    expect(kept.find((k) => k.reason === 'newest')?.image.imageId).toBe('ami-5');
  });

  it('never the image this registration made (an older snapshot registered late)', () => {
    const { candidates, kept } = retentionCandidates(family, { count: 1 }, 'ami-2', NOW);
    expect(ids(candidates)).toEqual(['ami-4', 'ami-3', 'ami-1']);
    expect(kept).toContainEqual({ image: family[4], reason: 'this registration' });
  });

  it('for any family and rule: the newest is never a candidate, and by count exactly N dated ones stay', () => {
    fc.assert(
      fc.property(
        fc.uniqueArray(fc.integer({ min: 0, max: 10_000 }), { minLength: 1, maxLength: 30 }),
        fc.integer({ min: 1, max: 40 }),
        (days, count) => {
          const images = days.map((d, i) =>
            image(`ami-${i}`, new Date(Date.UTC(2000, 0, 1) + d * 86_400_000).toISOString()),
          );
          const newest = [...images].sort((a, b) =>
            (b.snapshotTime ?? '').localeCompare(a.snapshotTime ?? ''),
          )[0];
          const { candidates } = retentionCandidates(images, { count }, newest?.imageId ?? '', NOW);
          expect(ids(candidates)).not.toContain(newest?.imageId);
          expect(images.length - candidates.length).toBe(Math.min(count, images.length));
        },
      ),
    );
  });
});

describe('isProtected', () => {
  it.each([
    ['disabled', false],
    [undefined, false],
    ['enabled-without-cooldown', true],
    ['enabled-with-cooldown', true],
    ['disabled-until 2026-07-01T00:00:00.000Z', true],
  ])('%s → %s', (protection, expected) => {
    expect(isProtected(protection)).toBe(expected);
  });
});

describe('mayReplace', () => {
  const ours = { snapshotTime: '2026-06-02T00:00:00Z', key: 'b' };
  it('moves a parameter forward only', () => {
    expect(mayReplace(undefined, ours)).toBe(true);
    expect(mayReplace({ snapshotTime: '2026-06-01T00:00:00Z', key: 'z' }, ours)).toBe(true);
    expect(mayReplace({ snapshotTime: '2026-06-03T00:00:00Z', key: 'a' }, ours)).toBe(false);
  });
  it('on equal times: the same registration again, or the greater key, whatever the order', () => {
    expect(mayReplace({ snapshotTime: ours.snapshotTime, key: 'b' }, ours)).toBe(true);
    expect(mayReplace({ snapshotTime: ours.snapshotTime, key: 'a' }, ours)).toBe(true);
    expect(mayReplace({ snapshotTime: ours.snapshotTime, key: 'c' }, ours)).toBe(false);
  });
  it('for any sequence of writes in any order, the parameter ends on the newest', () => {
    fc.assert(
      fc.property(
        fc.uniqueArray(fc.integer({ min: 0, max: 1e6 }), { minLength: 1, maxLength: 20 }),
        (times) => {
          let current: { snapshotTime: string; key: string } | undefined;
          for (const t of times) {
            const next = { snapshotTime: new Date(t * 1000).toISOString(), key: `k${t}` };
            if (mayReplace(current, next)) current = next;
          }
          expect(current?.snapshotTime).toBe(new Date(Math.max(...times) * 1000).toISOString());
        },
      ),
    );
  });
});
