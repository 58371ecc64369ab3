/** The Register Snapshots request as `snap2ami register` and the reconciler build it (events.md v2). */
import { describe, expect, it } from 'vitest';
import { parseEvent } from '#shared/events.ts';
import {
  MAX_REGISTER_SNAPSHOTS,
  registerSnapshotsEvent,
  registerSnapshotsRequests,
} from '#shared/register-request.ts';

const ACCOUNT = '123456789012';
const REGION = 'eu-west-1';
const TIME = new Date('2026-11-20T08:31:00.000Z');
const ids = (n: number) =>
  Array.from({ length: n }, (_, i) => `snap-${(i + 1).toString(16).padStart(17, '0')}`);
let counter = 0;
const newId = () => `00000000-0000-4000-8000-${String(++counter).padStart(12, '0')}`;
const base = {
  multiVolume: false,
  account: ACCOUNT,
  region: REGION,
  origin: 'snap2ami register',
  time: TIME,
};

describe('registerSnapshotsEvent', () => {
  it("has EventBridge's envelope, source snap2ami, detail-type Register Snapshots", () => {
    const event = registerSnapshotsEvent({ ...base, snapshotIds: ids(2), id: 'e-1' });
    expect(event).toEqual({
      version: '0',
      id: 'e-1',
      'detail-type': 'Register Snapshots',
      source: 'snap2ami',
      account: ACCOUNT,
      time: '2026-11-20T08:31:00.000Z',
      region: REGION,
      resources: [],
      detail: { snapshotIds: ids(2), origin: 'snap2ami register' },
    });
  });

  it('says multiVolume only when it is a set', () => {
    const set = registerSnapshotsEvent({ ...base, multiVolume: true, snapshotIds: ids(3), id: 'e-2' });
    expect(set.detail).toEqual({ snapshotIds: ids(3), multiVolume: true, origin: 'snap2ami register' });
  });

  it('is accepted by the parser of the pipeline in the same account and Region', () => {
    const settings = { account: ACCOUNT, region: REGION, allowedSourceAccounts: [], prefix: 'snap2ami:' };
    const event = registerSnapshotsEvent({ ...base, snapshotIds: ids(2), id: 'e-3' });
    expect(parseEvent(JSON.parse(JSON.stringify(event)), settings)).toMatchObject({
      outcome: 'snapshots',
      kind: 'registerSnapshots',
      eventId: 'e-3',
    });
  });

  it.each([
    ['no snapshot', []],
    ['an ARN', [`arn:aws:ec2:${REGION}:${ACCOUNT}:snapshot/snap-0123456789abcdef0`]],
    ['a duplicate', ['snap-0123456789abcdef0', 'snap-0123456789abcdef0']],
    [`${MAX_REGISTER_SNAPSHOTS + 1} snapshots`, ids(MAX_REGISTER_SNAPSHOTS + 1)],
  ])('refuses to build a request the parser would reject: %s', (_name, snapshotIds) => {
    expect(() => registerSnapshotsEvent({ ...base, snapshotIds, id: 'e' })).toThrow();
  });
});

describe('registerSnapshotsRequests', () => {
  it(`splits single roots into requests of at most ${MAX_REGISTER_SNAPSHOTS}, in order`, () => {
    const requests = registerSnapshotsRequests({ ...base, snapshotIds: ids(250) }, newId);
    expect(requests.map((r) => r.detail.snapshotIds.length)).toEqual([100, 100, 50]);
    expect(requests.flatMap((r) => r.detail.snapshotIds)).toEqual(ids(250));
    expect(new Set(requests.map((r) => r.id)).size).toBe(3);
  });

  it('drops duplicates, keeping the first place', () => {
    const [a, b] = ids(2) as [string, string];
    const [request, ...more] = registerSnapshotsRequests({ ...base, snapshotIds: [a, b, a] }, newId);
    expect(more).toEqual([]);
    expect(request?.detail.snapshotIds).toEqual([a, b]);
  });

  it(`keeps a multi-volume set in one request, and refuses one of more than ${MAX_REGISTER_SNAPSHOTS}`, () => {
    expect(
      registerSnapshotsRequests({ ...base, multiVolume: true, snapshotIds: ids(100) }, newId),
    ).toHaveLength(1);
    expect(() =>
      registerSnapshotsRequests({ ...base, multiVolume: true, snapshotIds: ids(101) }, newId),
    ).toThrow(/more than 100/);
  });
});
