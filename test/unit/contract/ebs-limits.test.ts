/**
 * The tag contract's "EBS limits per volume type" table (v2), at each limit: at it, below it
 * and above it, for the root volume, `<p>device:` values (a snapshot's and an empty volume's
 * options) and the members of a multi-volume set; ratios with `volume-size` and with the
 * snapshot's size; errors that name the tag, the limit and what would be accepted.
 */
import { describe, expect, it } from 'vitest';
import { planOf, root, snapshot } from '../../support/factories.ts';
import {
  errorsOf,
  FIELD,
  mappingOf,
  type Option,
  type Place,
  planVolume,
  type Volume,
} from './volume-places.ts';

const ALL: Place[] = ['root', 'device', 'empty', 'member'];
/** Where a volume may be that is not the root (st1 and sc1 are never the root). */
const DATA: Place[] = ['device', 'empty', 'member'];
/** Where the size may come from the snapshot (no volume-size). */
const FROM_SNAPSHOT: Place[] = ['root', 'device', 'member'];

/** [what, volume, undefined when accepted or the rejected option and fragments of its message] */
type Limit = [string, Volume, [Option, ...string[]]?];
type Row = [string, Volume, number, Place[], [Option, ...string[]]?];

/** Rows of one snapshot size and the places they are planned at. */
const at = ({ snapshotSize, places }: { snapshotSize: number; places: Place[] }, limits: Limit[]): Row[] =>
  limits.map(([what, volume, rejected]) => [what, volume, snapshotSize, places, rejected]);

const rows: Row[] = [
  // Sizes given with volume-size (the snapshot is 1 GiB, below every size here).
  ...at({ snapshotSize: 1, places: ALL }, [
    ['gp3 at its smallest size', { size: '1' }],
    ['gp3 at its largest size (64 TiB)', { size: '65536' }],
    [
      'gp3 above its largest size',
      { size: '65537' },
      ['size', 'above', '1 to 65,536 GiB', 'accepted: 1 to 65,536'],
    ],
    ['gp2 at its largest size', { type: 'gp2', size: '16384' }],
    ['gp2 above its largest size', { type: 'gp2', size: '16385' }, ['size', '1 to 16,384 GiB']],
    ['io1 at its smallest size', { type: 'io1', size: '4', iops: '100' }],
    [
      'io1 below its smallest size',
      { type: 'io1', size: '3', iops: '100' },
      ['size', 'below', '4 to 16,384 GiB', 'accepted: 4 to 16,384'],
    ],
    ['io1 at its largest size', { type: 'io1', size: '16384', iops: '100' }],
    ['io1 above its largest size', { type: 'io1', size: '16385', iops: '100' }, ['size', '4 to 16,384 GiB']],
    ['io2 at its smallest size', { type: 'io2', size: '4', iops: '100' }],
    ['io2 below its smallest size', { type: 'io2', size: '3', iops: '100' }, ['size', '4 to 65,536 GiB']],
    ['io2 at its largest size', { type: 'io2', size: '65536', iops: '100' }],
    ['io2 above its largest size', { type: 'io2', size: '65537', iops: '100' }, ['size', '4 to 65,536 GiB']],
  ]),
  ...at({ snapshotSize: 1, places: DATA }, [
    ['st1 at its smallest size', { type: 'st1', size: '125' }],
    ['st1 below its smallest size', { type: 'st1', size: '124' }, ['size', 'below', '125 to 16,384 GiB']],
    ['sc1 at its largest size', { type: 'sc1', size: '16384' }],
    ['sc1 above its largest size', { type: 'sc1', size: '16385' }, ['size', '125 to 16,384 GiB']],
  ]),
  ...at({ snapshotSize: 1, places: ALL }, [
    ['standard at its largest size', { type: 'standard', size: '1024' }],
    ['standard above its largest size', { type: 'standard', size: '1025' }, ['size', '1 to 1,024 GiB']],
  ]),
  [
    'a size above the range names the snapshot as the least',
    { type: 'standard', size: '1025' },
    50,
    ['root', 'device', 'member'],
    ['size', 'accepted: 50 to 1,024'],
  ],

  // Sizes from the snapshot: the type's range names the type, and says to set a size.
  ['st1 from a 125 GiB snapshot', { type: 'st1' }, 125, ['device', 'member']],
  [
    'st1 from a 124 GiB snapshot',
    { type: 'st1' },
    124,
    ['device', 'member'],
    ['type', '125 to 16,384 GiB', "snapshot's 124 GiB", 'size'],
  ],
  ['io1 from a 4 GiB snapshot', { type: 'io1', iops: '100' }, 4, FROM_SNAPSHOT],
  [
    'io1 from a 3 GiB snapshot',
    { type: 'io1', iops: '100' },
    3,
    FROM_SNAPSHOT,
    ['type', '4 to 16,384 GiB', "snapshot's 3 GiB"],
  ],
  ['standard from a 1,024 GiB snapshot', { type: 'standard' }, 1024, FROM_SNAPSHOT],
  [
    'standard from a 1,025 GiB snapshot',
    { type: 'standard' },
    1025,
    FROM_SNAPSHOT,
    ['type', '1 to 1,024 GiB', 'a type whose size range includes 1,025 GiB'],
  ],
  ['gp2 from a 16,385 GiB snapshot', { type: 'gp2' }, 16_385, FROM_SNAPSHOT, ['type', '1 to 16,384 GiB']],
  [
    'gp3 (the default) from a 65,537 GiB snapshot',
    {},
    65_537,
    FROM_SNAPSHOT,
    ['type', 'the default volume type gp3', '1 to 65,536 GiB'],
  ],

  // IOPS ranges (sizes large enough for the ratio).
  ...at({ snapshotSize: 1, places: ALL }, [
    ['gp3 at its least IOPS', { iops: '3000', size: '8' }],
    [
      'gp3 below its least IOPS',
      { iops: '2999', size: '8' },
      ['iops', 'below the gp3 minimum of 3,000 IOPS', 'accepted: 3,000 to 4,000 for 8 GiB', 'leave it out'],
    ],
    ['gp3 at its most IOPS (80,000 from 160 GiB)', { iops: '80000', size: '160' }],
    [
      'gp3 above its most IOPS',
      { iops: '80001', size: '200' },
      ['iops', 'above the gp3 maximum of 80,000 IOPS', 'accepted: 3,000 to 80,000 for 200 GiB'],
    ],
    ['io1 at its least IOPS', { type: 'io1', iops: '100', size: '8' }],
    [
      'io1 below its least IOPS',
      { type: 'io1', iops: '99', size: '8' },
      ['iops', 'below the io1 minimum of 100 IOPS', 'accepted: 100 to 400 for 8 GiB'],
    ],
    ['io1 at its most IOPS (64,000 from 1,280 GiB)', { type: 'io1', iops: '64000', size: '1280' }],
    [
      'io1 above its most IOPS',
      { type: 'io1', iops: '64001', size: '2000' },
      ['iops', 'above the io1 maximum of 64,000 IOPS', 'accepted: 100 to 64,000 for 2,000 GiB'],
    ],
    ['io2 at its least IOPS', { type: 'io2', iops: '100', size: '8' }],
    [
      'io2 below its least IOPS',
      { type: 'io2', iops: '99', size: '8' },
      ['iops', 'below the io2 minimum of 100 IOPS'],
    ],
    ['io2 at its most IOPS (256,000 from 256 GiB)', { type: 'io2', iops: '256000', size: '256' }],
    [
      'io2 above its most IOPS',
      { type: 'io2', iops: '256001', size: '300' },
      ['iops', 'above the io2 maximum of 256,000 IOPS', 'accepted: 100 to 256,000 for 300 GiB'],
    ],
    [
      'io2 above its most IOPS for a small size',
      { type: 'io2', iops: '256001', size: '10' },
      ['iops', 'accepted: 100 to 10,000 for 10 GiB, or up to 256,000 with a size of at least 256 GiB'],
    ],
  ]),

  // IOPS per GiB, with volume-size.
  ...at({ snapshotSize: 1, places: ALL }, [
    ['gp3 at 500 IOPS per GiB', { iops: '4000', size: '8' }],
    [
      'gp3 above 500 IOPS per GiB',
      { iops: '4001', size: '8' },
      [
        'iops',
        'more than gp3 accepts for 8 GiB',
        'at most 500 IOPS per GiB',
        'accepted: 3,000 to 4,000 for 8 GiB',
        'a size of at least 9 GiB for 4,001 IOPS',
      ],
    ],
    ['gp3 at 3,000 IOPS on a volume too small for 500 per GiB', { iops: '3000', size: '1' }],
    [
      'gp3 above 3,000 IOPS on 6 GiB (500 per GiB is 3,000)',
      { iops: '3001', size: '6' },
      ['iops', 'accepted: 3,000 for 6 GiB', 'at least 7 GiB'],
    ],
    ['io1 at 50 IOPS per GiB', { type: 'io1', iops: '500', size: '10' }],
    [
      'io1 above 50 IOPS per GiB',
      { type: 'io1', iops: '501', size: '10' },
      ['iops', 'at most 50 IOPS per GiB', 'accepted: 100 to 500 for 10 GiB', 'at least 11 GiB for 501 IOPS'],
    ],
    ['io2 at 1,000 IOPS per GiB', { type: 'io2', iops: '10000', size: '10' }],
    [
      'io2 above 1,000 IOPS per GiB',
      { type: 'io2', iops: '10001', size: '10' },
      ['iops', 'at most 1,000 IOPS per GiB', 'accepted: 100 to 10,000 for 10 GiB', 'at least 11 GiB'],
    ],
  ]),

  // IOPS per GiB of the snapshot's size (no volume-size).
  ...at({ snapshotSize: 8, places: FROM_SNAPSHOT }, [
    ['gp3 at 500 IOPS per GiB of the snapshot', { iops: '4000' }],
    [
      'gp3 above 500 IOPS per GiB of the snapshot',
      { iops: '4001' },
      ['iops', "for 8 GiB, the snapshot's size", 'accepted: 3,000 to 4,000', 'a size of at least 9 GiB'],
    ],
    ['io1 at 50 IOPS per GiB of the snapshot', { type: 'io1', iops: '400' }],
    [
      'io1 above 50 IOPS per GiB of the snapshot',
      { type: 'io1', iops: '3000' },
      [
        'iops',
        "8 GiB, the snapshot's size",
        'accepted: 100 to 400',
        'a size of at least 60 GiB for 3,000 IOPS',
      ],
    ],
    [
      'io2 above 1,000 IOPS per GiB of the snapshot',
      { type: 'io2', iops: '8001' },
      ['iops', 'accepted: 100 to 8,000', 'at least 9 GiB'],
    ],
  ]),

  // Throughput range and per IOPS.
  ...at({ snapshotSize: 1, places: ALL }, [
    ['gp3 at its least throughput', { throughput: '125', size: '8' }],
    [
      'gp3 below its least throughput',
      { throughput: '124', size: '8' },
      ['throughput', 'below the gp3 minimum of 125 MiB/s', 'accepted: 125 to 750 MiB/s'],
    ],
    ['gp3 at its most throughput (2,000 with 8,000 IOPS)', { throughput: '2000', iops: '8000', size: '16' }],
    [
      'gp3 above its most throughput',
      { throughput: '2001', iops: '16000', size: '32' },
      ['throughput', 'above the gp3 maximum of 2,000 MiB/s', 'accepted: 125 to 2,000 MiB/s for 16,000 IOPS'],
    ],
    ['gp3 at 0.25 MiB/s per baseline IOPS (no iops)', { throughput: '750', size: '8' }],
    [
      'gp3 above 0.25 MiB/s per baseline IOPS (no iops)',
      { throughput: '751', size: '8' },
      [
        'throughput',
        '3,000 IOPS, the gp3 baseline',
        'at most 0.25 MiB/s per IOPS',
        'accepted: 125 to 750 MiB/s',
        'at least 3,004 IOPS for 751 MiB/s',
      ],
    ],
    ['gp3 at 0.25 MiB/s per given IOPS', { throughput: '1000', iops: '4000', size: '8' }],
    [
      'gp3 above 0.25 MiB/s per given IOPS',
      { throughput: '1001', iops: '4000', size: '20' },
      [
        'throughput',
        'for 4,000 IOPS',
        'accepted: 125 to 1,000 MiB/s for 4,000 IOPS',
        'at least 4,004 IOPS for 1,001 MiB/s',
      ],
    ],
  ]),
  ...at({ snapshotSize: 8, places: FROM_SNAPSHOT }, [
    ['gp3 at 0.25 MiB/s per IOPS, size from the snapshot', { throughput: '1000', iops: '4000' }],
    [
      'gp3 above 0.25 MiB/s per IOPS, size from the snapshot',
      { throughput: '1001', iops: '4000' },
      ['throughput', 'accepted: 125 to 1,000 MiB/s for 4,000 IOPS'],
    ],
  ]),
];

describe.each(rows)('EBS limits: %s', (_, volume, snapshotSize, places, rejected) => {
  it.each(places)(
    rejected ? 'is rejected at %s, naming the tag, the limit and what is accepted' : 'is planned at %s',
    (place) => {
      const planned = planVolume(place, volume, snapshotSize);
      if (!rejected) {
        const ebs = mappingOf(planned);
        for (const option of ['size', 'iops', 'throughput'] as const)
          expect(ebs?.[FIELD[option] as 'Iops']).toBe(
            volume[option] === undefined ? undefined : Number(volume[option]),
          );
        expect(ebs?.VolumeType).toBe(volume.type ?? 'gp3');
        return;
      }
      const [option, ...fragments] = rejected;
      const errors = errorsOf(planned);
      expect(errors).toEqual([
        {
          tag: planned.tagOf(option),
          field: `BlockDeviceMappings[${planned.index}].Ebs.${FIELD[option]}`,
          message: expect.any(String),
        },
      ]);
      for (const fragment of fragments) expect(errors[0]?.message).toContain(fragment);
    },
  );
});

describe('EBS limits: how errors name the value and the way to fix it', () => {
  it('quotes the tag as written, and the volume-size tag to set for the snapshot-sized root', () => {
    const [error] = errorsOf(planVolume('root', { type: 'io1', iops: '3000' }, 8));
    expect(error?.message).toMatch(/^snap2ami:iops="3000" is more than io1 accepts/);
    expect(error?.message).toContain('snap2ami:volume-size="60"');
  });

  it('quotes the device option as written, and the option to set', () => {
    const [error] = errorsOf(planVolume('device', { type: 'io1', iops: '3000' }, 8));
    expect(error?.message).toMatch(/^iops=3000 in snap2ami:device:\/dev\/sdb is more than io1 accepts/);
    expect(error?.message).toContain('size=60 in snap2ami:device:/dev/sdb');
  });

  it('does not suggest more IOPS than the size accepts', () => {
    const [error] = errorsOf(planVolume('root', { throughput: '1001', iops: '4000' }, 8));
    expect(error?.message).toContain('accepted: 125 to 1,000 MiB/s for 4,000 IOPS.');
  });

  it('gives one error for a size that is both below the snapshot and outside the range', () => {
    const errors = errorsOf(planVolume('root', { type: 'io1', size: '2', iops: '100' }, 8));
    expect(errors).toEqual([expect.objectContaining({ tag: 'snap2ami:volume-size' })]);
    expect(errors[0]?.message).toContain('smaller than the snapshot');
  });

  it('checks no limit of a type that is rejected, nor IOPS against a rejected size', () => {
    expect(errorsOf(planVolume('root', { type: 'gp4', iops: '100' }, 8))).toEqual([
      expect.objectContaining({
        tag: 'snap2ami:volume-type',
        message: expect.stringContaining('accepted: one of'),
      }),
    ]);
    expect(errorsOf(planVolume('root', { type: 'st1', size: '10' }, 8))).toEqual([
      expect.objectContaining({
        tag: 'snap2ami:volume-type',
        message: expect.stringContaining('not bootable'),
      }),
    ]);
    expect(errorsOf(planVolume('root', { size: '4', iops: '4000' }, 8))).toEqual([
      expect.objectContaining({ tag: 'snap2ami:volume-size' }),
    ]);
  });

  it('does not check the throughput ratio against IOPS that are themselves rejected', () => {
    expect(errorsOf(planVolume('root', { iops: '2000', throughput: '700' }, 8))).toEqual([
      expect.objectContaining({ tag: 'snap2ami:iops' }),
    ]);
  });

  it('checks each mapping on its own: several errors in device order', () => {
    const data = snapshot({ VolumeSize: 8 });
    const outcome = planOf(
      root({
        iops: '4001',
        'device:/dev/sdb': `${data.snapshotId}:type=io1:iops=401`,
        'device:/dev/sdc': 'empty:size=10:type=st1',
      }),
      [data],
    );
    if (!('rejected' in outcome)) throw new Error('expected a rejection');
    expect(outcome.rejected.errors.map((error) => [error.tag, error.field])).toEqual([
      ['snap2ami:iops', 'BlockDeviceMappings[0].Ebs.Iops'],
      ['snap2ami:device:/dev/sdb', 'BlockDeviceMappings[1].Ebs.Iops'],
      ['snap2ami:device:/dev/sdc', 'BlockDeviceMappings[2].Ebs.VolumeSize'],
    ]);
  });
});
