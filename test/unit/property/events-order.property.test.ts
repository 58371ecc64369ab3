/**
 * Event order and the idempotency key: a createSnapshots event lists its snapshots in no
 * particular order, and however they are listed (bare IDs or ARNs, in any order), the group it
 * yields plans to the same request under the same key.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { planGroup, type SnapshotGroup } from '#shared/contract/plan.ts';
import type { Plan, PlannerSettings } from '#shared/contract/types.ts';
import { type EventSettings, parseEvent, parseMessageBody } from '#shared/events.ts';
import { idempotencyKey } from '#shared/idempotency.ts';
import type { Snapshot } from '#shared/snapshot.ts';
import {
  ACCOUNT,
  applyPrefix,
  makeSnapshot,
  type SnapshotSpec,
  snapId,
  validVariation,
  validVolume,
  volumeEntries,
} from './arbitraries.ts';
import { expectValidPlan } from './contract-checker.ts';

const REGION = 'us-east-1';
const EVENT_SETTINGS: EventSettings = {
  account: ACCOUNT,
  region: REGION,
  allowedSourceAccounts: [],
  prefix: 'snap2ami:',
};

/** The ways an event may name a snapshot. */
type RefStyle = 'id' | 'arn' | 'arn-without-account' | 'arn-region-quirk';

function reference(id: string, style: RefStyle): string {
  switch (style) {
    case 'id':
      return id;
    case 'arn':
      return `arn:aws:ec2:${REGION}:${ACCOUNT}:snapshot/${id}`;
    case 'arn-without-account':
      return `arn:aws:ec2:${REGION}::snapshot/${id}`;
    case 'arn-region-quirk':
      return `arn:aws:ec2::${REGION}:snapshot/${id}`;
  }
}

/** A createSnapshots completion event, as in the AWS documentation's example. */
function createSnapshotsEvent(members: readonly { id: string; style: RefStyle }[]) {
  return {
    version: '0',
    id: '01234567-0123-0123-0123-012345678901',
    'detail-type': 'EBS Multi-Volume Snapshots Completion Status',
    source: 'aws.ec2',
    account: ACCOUNT,
    time: '2026-11-20T08:31:00Z',
    region: REGION,
    resources: members.map(({ id }) => `arn:aws:ec2::${REGION}:snapshot/${id}`),
    detail: {
      event: 'createSnapshots',
      result: 'succeeded',
      cause: '',
      'request-id': '',
      startTime: '2026-11-20T08:30:00Z',
      endTime: '2026-11-20T08:31:00Z',
      snapshots: members.map(({ id, style }) => ({
        snapshot_id: reference(id, style),
        source: `arn:aws:ec2::${REGION}:volume/vol-01234567`,
        status: 'completed',
      })),
    },
  };
}

const DEVICES = ['/dev/xvdf', '/dev/xvdg', '/dev/xvdh', '/dev/xvdi', '/dev/xvdj', '/dev/xvdk'];
const styles = fc.constantFrom<RefStyle>('id', 'arn', 'arn-without-account', 'arn-region-quirk');

const eventSet = fc
  .uniqueArray(fc.integer({ min: 1, max: 2 ** 48 }), { minLength: 1, maxLength: 6 })
  .chain((numbers) => {
    const ids = numbers.map((n) => snapId(n));
    const n = ids.length;
    return fc.record({
      ids: fc.constant(ids),
      rootIndex: fc.nat({ max: n - 1 }),
      variation: validVariation([]),
      tagged: fc.array(fc.boolean(), { minLength: n, maxLength: n }),
      volumes: fc.array(validVolume(false), { minLength: n, maxLength: n }),
      styles: fc.array(styles, { minLength: n, maxLength: n }),
      otherStyles: fc.array(styles, { minLength: n, maxLength: n }),
      order: fc.shuffledSubarray([...ids.keys()], { minLength: n, maxLength: n }),
    });
  });

describe('property: a createSnapshots event in any order yields the same plan and key', () => {
  it('plans a permuted detail.snapshots list to the same key and request', () => {
    fc.assert(
      fc.property(eventSet, fc.boolean(), (set, asMessageBody) => {
        const { ids, rootIndex, variation } = set;
        const prefix = variation.prefix;
        const specs: SnapshotSpec[] = ids.map((id, index) => ({
          id,
          state: 'completed',
          owner: ACCOUNT,
          size: variation.size,
          start: variation.start,
          volumeId: variation.volumeId,
          tags:
            index === rootIndex
              ? applyPrefix(variation.rootEntries, prefix)
              : applyPrefix(
                  [
                    ...(set.tagged[index]
                      ? [{ prefixed: true as const, rest: 'device-name', value: DEVICES[index] as string }]
                      : []),
                    ...volumeEntries(set.volumes[index] ?? {}),
                  ],
                  prefix,
                ),
        }));
        const known = new Map<string, Snapshot>(specs.map((spec) => [spec.id, makeSnapshot(spec)]));
        const settings: PlannerSettings = {
          account: ACCOUNT,
          region: REGION,
          prefix,
          allowedSourceAccounts: [],
        };

        const planFor = (event: ReturnType<typeof createSnapshotsEvent>): Plan => {
          const outcome = asMessageBody
            ? parseMessageBody(JSON.stringify(event), EVENT_SETTINGS)
            : parseEvent(event, EVENT_SETTINGS);
          if (outcome.outcome !== 'snapshots')
            throw new Error(`event not accepted: ${JSON.stringify(outcome)}`);
          expect(outcome.groups).toHaveLength(1);
          const [group] = outcome.groups as [SnapshotGroup];
          expect(group.multiVolume).toBe(true);
          expect([...group.snapshotIds].sort()).toEqual([...ids].sort());
          return expectValidPlan(planGroup(group, known, settings), group, known, settings);
        };

        const listed = planFor(
          createSnapshotsEvent(ids.map((id, i) => ({ id, style: set.styles[i] ?? 'id' }))),
        );
        const permuted = planFor(
          createSnapshotsEvent(
            set.order.map((i) => ({ id: ids[i] as string, style: set.otherStyles[i] ?? 'id' })),
          ),
        );
        expect(permuted.key).toBe(listed.key);
        expect(permuted.request).toEqual(listed.request);
        const mapped = ids.filter((_, index) => index === rootIndex || set.tagged[index]).sort();
        expect(listed.snapshotIds).toEqual(mapped);
        expect(listed.key).toBe(idempotencyKey(ACCOUNT, REGION, mapped));
      }),
      { numRuns: 300 },
    );
  });
});
