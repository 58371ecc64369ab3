/**
 * The parser's v2 ways in, against an independent checker: a CreateTags record yields exactly
 * the snapshot IDs among its resources (each once, each a root of its own) when it sets
 * `<p>register`, and says why when it yields nothing; a Register Snapshots request yields
 * exactly what the builder put in; and whatever arrives, a snapshot gets the same idempotency
 * key as from its completion event. Also the fuzz: any detail under the new kinds, and any
 * message body, gives an outcome and never throws.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { planGroups } from '#shared/contract/plan.ts';
import { type EventOutcome, parseEvent, parseMessageBody } from '#shared/events.ts';
import { idempotencyKey } from '#shared/idempotency.ts';
import {
  MAX_REGISTER_SNAPSHOTS,
  REGISTER_SNAPSHOTS_DETAIL_TYPE,
  REGISTER_SNAPSHOTS_SOURCE,
  registerSnapshotsEvent,
} from '#shared/register-request.ts';
import { REGION, SETTINGS } from '../../support/factories.ts';
import { ACCOUNT, makeSnapshot, snapId } from './arbitraries.ts';

const envelope = (source: string, detailType: string, detail: unknown) => ({
  version: '0',
  id: '6f4e5c6a-1234-4c1e-9a2b-0c2d3e4f5a6b',
  'detail-type': detailType,
  source,
  account: ACCOUNT,
  time: '2026-11-20T08:31:00Z',
  region: REGION,
  resources: [],
  detail,
});

const createTagsEvent = (resourceIds: string[], tags: [string, string][]) =>
  envelope('aws.ec2', 'AWS API Call via CloudTrail', {
    eventVersion: '1.09',
    eventSource: 'ec2.amazonaws.com',
    eventName: 'CreateTags',
    awsRegion: REGION,
    requestParameters: {
      resourcesSet: { items: resourceIds.map((resourceId) => ({ resourceId })) },
      tagSet: { items: tags.map(([key, value]) => ({ key, value })) },
    },
    responseElements: { requestId: '5d1a9f3e-6292-49ea-83f8-85e95e4f5a6b', _return: true },
  });

const snapshotIds = fc.integer({ min: 1, max: 2 ** 40 }).map(snapId);
/** What CreateTags may name: snapshots (some twice), and other resources. */
const resource = fc.oneof(
  { weight: 3, arbitrary: snapshotIds },
  {
    weight: 1,
    arbitrary: fc.constantFrom('i-0217f7eb3d0123456', 'vol-072577c46b0123456', 'ami-0888b126e2170b98e'),
  },
);
const tag = fc.oneof(
  fc.constantFrom<[string, string]>(
    ['snap2ami:register', 'true'],
    ['snap2ami:register', 'false'],
    ['snap2ami:register', 'TRUE'],
    ['snap2ami:name', 'web'],
    ['snap2ami:Register', 'true'],
    ['Name', 'web'],
  ),
  fc.tuple(fc.string({ maxLength: 20 }), fc.string({ maxLength: 20 })),
);

/** The checker: what events.md says a CreateTags record yields. */
function expectedCreateTags(resourceIds: string[], tags: [string, string][]): string[] | 'skipped' {
  if (!tags.some(([key]) => key === 'snap2ami:register')) return 'skipped';
  const ids = [...new Set(resourceIds.filter((id) => /^snap-[0-9a-f]{8,17}$/.test(id)))];
  return ids.length === 0 ? 'skipped' : ids;
}

const roots = (outcome: EventOutcome) =>
  outcome.outcome === 'snapshots'
    ? outcome.groups.map((group) => {
        expect(group.multiVolume).toBe(false);
        expect(group.snapshotIds).toHaveLength(1);
        return group.snapshotIds[0];
      })
    : outcome.outcome;

describe('property: a CreateTags record yields the tagged snapshots, each a root of its own', () => {
  it('agrees with the checker for any resources and tags', () => {
    fc.assert(
      fc.property(fc.array(resource, { maxLength: 12 }), fc.array(tag, { maxLength: 6 }), (ids, tags) => {
        const outcome = parseMessageBody(JSON.stringify(createTagsEvent(ids, tags)), SETTINGS);
        expect(roots(outcome)).toEqual(expectedCreateTags(ids, tags));
        if (outcome.outcome !== 'snapshots') expect(outcome.reason).not.toBe('');
      }),
      { numRuns: 1000 },
    );
  });
});

describe('property: a Register Snapshots request yields what was asked', () => {
  it('yields the builder input: each a root, or one set with multiVolume', () => {
    fc.assert(
      fc.property(
        fc.uniqueArray(snapshotIds, { minLength: 1, maxLength: MAX_REGISTER_SNAPSHOTS }),
        fc.boolean(),
        (ids, multiVolume) => {
          const event = registerSnapshotsEvent({
            snapshotIds: ids,
            multiVolume,
            account: ACCOUNT,
            region: REGION,
            origin: 'property',
            id: crypto.randomUUID(),
            time: new Date(),
          });
          const outcome = parseMessageBody(JSON.stringify(event), SETTINGS);
          const expected = multiVolume
            ? [{ snapshotIds: ids, multiVolume: true }]
            : ids.map((id) => ({ snapshotIds: [id], multiVolume: false }));
          expect(outcome).toMatchObject({
            outcome: 'snapshots',
            kind: 'registerSnapshots',
            groups: expected,
          });
        },
      ),
      { numRuns: 300 },
    );
  });
});

describe('property: however a snapshot arrives, it is planned under the same key', () => {
  it('a createSnapshot event, a CreateTags record and a Register Snapshots request agree', () => {
    fc.assert(
      fc.property(snapshotIds, (id) => {
        const known = new Map([
          [
            id,
            makeSnapshot({
              id,
              state: 'completed',
              owner: ACCOUNT,
              size: 8,
              start: new Date('2026-11-20T08:30:00Z'),
              tags: [['snap2ami:register', 'true']],
            }),
          ],
        ]);
        const events = [
          envelope('aws.ec2', 'EBS Snapshot Notification', {
            event: 'createSnapshot',
            result: 'succeeded',
            snapshot_id: `arn:aws:ec2::${REGION}:snapshot/${id}`,
          }),
          createTagsEvent([id], [['snap2ami:register', 'true']]),
          registerSnapshotsEvent({
            snapshotIds: [id],
            multiVolume: false,
            account: ACCOUNT,
            region: REGION,
            origin: 'property',
            id: crypto.randomUUID(),
            time: new Date(),
          }),
        ];
        for (const event of events) {
          const outcome = parseEvent(event, SETTINGS);
          if (outcome.outcome !== 'snapshots') throw new Error(JSON.stringify(outcome));
          const report = planGroups(outcome.groups, known, SETTINGS);
          expect(report.plans.map((plan) => plan.key)).toEqual([idempotencyKey(ACCOUNT, REGION, [id])]);
        }
      }),
      { numRuns: 200 },
    );
  });
});

describe('fuzz: the v2 kinds never throw, whatever their detail', () => {
  const kinds: [string, string][] = [
    ['aws.ec2', 'AWS API Call via CloudTrail'],
    [REGISTER_SNAPSHOTS_SOURCE, REGISTER_SNAPSHOTS_DETAIL_TYPE],
  ];
  /** Details near the real shapes, with any value anywhere. */
  const detail = fc.oneof(
    fc.anything(),
    fc.record(
      {
        eventSource: fc.oneof(fc.constant('ec2.amazonaws.com'), fc.anything()),
        eventName: fc.oneof(fc.constant('CreateTags'), fc.anything()),
        errorCode: fc.anything(),
        requestParameters: fc.oneof(
          fc.anything(),
          fc.record({
            resourcesSet: fc.oneof(fc.anything(), fc.record({ items: fc.array(fc.anything()) })),
            tagSet: fc.oneof(fc.anything(), fc.record({ items: fc.array(fc.anything()) })),
          }),
        ),
      },
      { requiredKeys: [] },
    ),
    fc.record(
      {
        snapshotIds: fc.oneof(fc.anything(), fc.array(fc.oneof(snapshotIds, fc.anything()))),
        multiVolume: fc.anything(),
        origin: fc.anything(),
      },
      { requiredKeys: [] },
    ),
  );

  it('parseEvent gives an outcome with a reason for any detail', () => {
    fc.assert(
      fc.property(fc.constantFrom(...kinds), detail, ([source, detailType], value) => {
        const outcome = parseEvent(envelope(source, detailType, value), SETTINGS);
        expect(['snapshots', 'skipped', 'rejected']).toContain(outcome.outcome);
        if (outcome.outcome !== 'snapshots') expect(outcome.reason.trim()).not.toBe('');
        else expect(outcome.groups.length).toBeGreaterThan(0);
      }),
      { numRuns: 2000 },
    );
  });

  it('parseMessageBody gives an outcome for any string and any JSON value', () => {
    fc.assert(
      fc.property(
        fc.oneof(
          fc.string(),
          fc.json(),
          fc.jsonValue().map((v) => JSON.stringify(v)),
        ),
        (body) => {
          const outcome = parseMessageBody(body, SETTINGS);
          expect(['snapshots', 'skipped', 'rejected']).toContain(outcome.outcome);
        },
      ),
      { numRuns: 2000 },
    );
  });
});
