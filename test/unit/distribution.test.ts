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
  retireStep,
} from '#shared/distribution.ts';

const PIPELINE = '123456789012/us-east-1/snap2ami-records';
const image = (imageId: string, snapshotTime?: string, protection = 'disabled'): FamilyImage => ({
  imageId,
  snapshotTime,
  key: `key-${imageId}`,
  protection,
  pipeline: PIPELINE,
});
const by = (thisImageId: string) => ({ thisImageId, pipeline: PIPELINE, now: NOW });
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
    const { candidates, kept } = retentionCandidates(family, { count: 2 }, by('ami-5'));
    expect(ids(candidates)).toEqual(['ami-3', 'ami-2', 'ami-1']);
    expect(kept.map((k) => [k.image.imageId, k.reason])).toEqual([
      ['ami-x', 'no snapshot-time'],
      ['ami-5', 'newest'],
      ['ami-4', 'within retention'],
    ]);
  });

  it('on a tie in snapshot time (to the second), orders by key, the greater first, whichever run asks', () => {
    const tied = [
      { ...image('ami-9', '2026-06-05T00:00:00Z'), key: 'k-a' },
      { ...image('ami-0', '2026-06-05T00:00:00Z'), key: 'k-b' },
    ];
    // Both runs agree that ami-0 (key k-b) is the newest; ami-9's run keeps its own image
    // beyond the rule and leaves the family pending, it does not remove ami-0.
    const run9 = retentionCandidates(tied, { count: 1 }, by('ami-9'));
    expect(run9.kept.map((k) => [k.image.imageId, k.reason])).toEqual([
      ['ami-0', 'newest'],
      ['ami-9', 'this registration'],
    ]);
    expect(ids(run9.candidates)).toEqual([]);
    expect(run9.pending).toBe(true);
    const run0 = retentionCandidates(tied, { count: 1 }, by('ami-0'));
    expect(ids(run0.candidates)).toEqual(['ami-9']);
    expect(run0.pending).toBe(false);
    // The reconciler asks with no image of its own.
    expect(ids(retentionCandidates(tied, { count: 1 }, { pipeline: PIPELINE, now: NOW }).candidates)).toEqual(
      ['ami-9'],
    );
  });

  it("leaves another pipeline's images alone: neither counted nor candidates", () => {
    const other = { ...image('ami-o', '2026-06-09T00:00:00Z'), pipeline: '123456789012/ca-central-1/other' };
    const legacy = { ...image('ami-l', '2026-06-08T00:00:00Z'), pipeline: undefined };
    const { candidates, kept } = retentionCandidates([...family, other, legacy], { count: 2 }, by('ami-5'));
    expect(ids(candidates)).toEqual(['ami-3', 'ami-2', 'ami-1']);
    expect(kept.map((k) => k.image.imageId)).not.toContain('ami-o');
  });

  it('keeps, beyond the rule, keep=true, a protected image and one a person enabled again', () => {
    const old = [
      { ...image('ami-k', '2026-05-01T00:00:00Z'), keep: true },
      image('ami-p', '2026-05-02T00:00:00Z', 'enabled-without-cooldown'),
      { ...image('ami-e', '2026-05-03T00:00:00Z'), retiredAt: '2026-06-01T00:00:00Z', state: 'available' },
      { ...image('ami-d', '2026-05-04T00:00:00Z'), retiredAt: '2026-06-01T00:00:00Z', state: 'disabled' },
    ];
    const { candidates, kept } = retentionCandidates([...family, ...old], { count: 5 }, by('ami-5'));
    expect(ids(candidates)).toEqual(['ami-d']);
    expect(kept.map((k) => [k.image.imageId, k.reason])).toEqual(
      expect.arrayContaining([
        ['ami-k', 'keep=true'],
        ['ami-p', 'deregistration protection'],
        ['ami-e', 'enabled again after retention disabled it'],
      ]),
    );
  });

  it('by age keeps those within N days', () => {
    const { candidates } = retentionCandidates(family, { days: 28 }, by('ami-5'));
    expect(ids(candidates)).toEqual(['ami-2', 'ami-1']);
  });

  it('never the newest, even when the rule keeps none by age', () => {
    const { candidates, kept } = retentionCandidates(family, { days: 1 }, by('ami-5'));
    expect(ids(candidates)).toEqual(['ami-4', 'ami-3', 'ami-2', 'ami-1']);
    expect(kept.find((k) => k.reason === 'newest')?.image.imageId).toBe('ami-5');
  });

  it('never the image this registration made (an older snapshot registered late), and then the family stays pending', () => {
    const { candidates, kept, pending } = retentionCandidates(family, { count: 1 }, by('ami-2'));
    expect(ids(candidates)).toEqual(['ami-4', 'ami-3', 'ami-1']);
    expect(kept).toContainEqual({ image: family[4], reason: 'this registration' });
    expect(pending).toBe(true);
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
          const { candidates } = retentionCandidates(images, { count }, by(newest?.imageId ?? ''));
          expect(ids(candidates)).not.toContain(newest?.imageId);
          expect(images.length - candidates.length).toBe(Math.min(count, images.length));
        },
      ),
    );
  });
});

describe('retireStep', () => {
  const now = new Date('2026-06-10T00:00:00Z');
  it('deregisters at once without grace, disables first with one, deregisters once the grace has passed', () => {
    expect(retireStep({ state: 'available' }, 0, false, now)).toEqual({ action: 'deregister' });
    expect(retireStep({ state: 'available' }, 3, false, now)).toEqual({ action: 'disable' });
    // Disabled without retired-at (a crash between the two calls, or a person): tagged now.
    expect(retireStep({ state: 'disabled' }, 3, false, now)).toEqual({ action: 'disable' });
    const retired = { state: 'disabled', retiredAt: '2026-06-07T00:00:01Z' };
    expect(retireStep(retired, 3, false, now)).toEqual({ action: 'wait', until: '2026-06-10T00:00:01.000Z' });
    expect(retireStep({ ...retired, retiredAt: '2026-06-07T00:00:00Z' }, 3, false, now)).toEqual({
      action: 'deregister',
    });
  });
  it('gives a shared image at least 7 days, whatever retain-grace says', () => {
    expect(retireStep({ state: 'available' }, 0, true, now)).toEqual({ action: 'disable' });
    const retired = { state: 'disabled', retiredAt: '2026-06-04T00:00:00Z' };
    expect(retireStep(retired, 0, true, now)).toEqual({ action: 'wait', until: '2026-06-11T00:00:00.000Z' });
    expect(retireStep(retired, 3, false, now)).toEqual({ action: 'deregister' });
    expect(retireStep({ ...retired, retiredAt: '2026-06-03T00:00:00Z' }, 0, true, now)).toEqual({
      action: 'deregister',
    });
  });
});

describe('retireStep after DisableImage removed the launch permissions', () => {
  it('waits until retire-after, written when the shared image was disabled, though it no longer looks shared', () => {
    const now = new Date('2026-06-10T00:00:00Z');
    const retired = {
      state: 'disabled',
      retiredAt: '2026-06-05T00:00:00.000Z',
      retireAfter: '2026-06-12T00:00:00.000Z',
    };
    expect(retireStep(retired, 0, false, now)).toEqual({ action: 'wait', until: '2026-06-12T00:00:00.000Z' });
    expect(retireStep(retired, 0, false, new Date('2026-06-12T00:00:00Z'))).toEqual({ action: 'deregister' });
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
