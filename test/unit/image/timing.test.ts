/**
 * The time-to-available metrics (functions/image/timing.ts): from the event and from the
 * execution's start, row by row, and nothing from a time that cannot be read or lies ahead.
 */
import { describe, expect, it } from 'vitest';
import { availabilityTimes } from '../../../functions/image/timing.ts';

const NOW = new Date('2026-11-30T06:10:00.000Z');

describe('availabilityTimes', () => {
  // [what, input, the metrics]
  const rows: [string, Parameters<typeof availabilityTimes>[0], ReturnType<typeof availabilityTimes>][] = [
    [
      'an ingested execution: both',
      {
        source: { messageId: 'm', eventTime: '2026-11-30T06:00:00Z' },
        startedAt: '2026-11-30T06:05:30.500Z',
      },
      { TimeToAvailable: 600_000, ExecutionTimeToAvailable: 269_500 },
    ],
    [
      'a redriven execution (no event): from its start only',
      { source: { redriveOf: 'arn:…' }, startedAt: '2026-11-30T06:09:59Z' },
      { ExecutionTimeToAvailable: 1_000 },
    ],
    ['available at once', { source: { eventTime: NOW.toISOString() } }, { TimeToAvailable: 0 }],
    ['an unreadable event time', { source: { eventTime: 'yesterday' }, startedAt: 'soon' }, {}],
    ['a time that is not a string', { source: { eventTime: 1_700_000_000 as unknown as string } }, {}],
    [
      'an event time after now (a clock ahead, or a forged input)',
      { source: { eventTime: '2026-11-30T07:00:00Z' } },
      {},
    ],
    ['no source and no start (a task started by hand)', {}, {}],
  ];
  it.each(rows)('%s', (_what, input, expected) => {
    expect(availabilityTimes(input, NOW)).toEqual(expected);
  });
});
