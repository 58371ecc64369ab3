/**
 * Properties of the planner against docs/tag-contract.md: whatever the tags, a plan
 * satisfies every constraint of the contract (checked by an independent reading of the spec),
 * and the idempotency key depends on the account, the Region and the set of snapshots only.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { planGroup, planGroups, type SnapshotGroup } from '#shared/contract/plan.ts';
import type { Plan, PlannerSettings, PlanReport } from '#shared/contract/types.ts';
import { idempotencyKey } from '#shared/idempotency.ts';
import type { Snapshot } from '#shared/snapshot.ts';
import {
  ACCOUNT,
  applyPrefix,
  buildScenario,
  deviceOptions,
  EXTRA_IDS,
  makeSnapshot,
  OTHER_ACCOUNT,
  ROOT_ID,
  type SnapshotSpec,
  scenario,
  snapId,
  validVariation,
  validVolume,
  volumeEntries,
} from './arbitraries.ts';
import { checkOutcome, expectValidPlan, type Outcome } from './contract-checker.ts';

type Kind = 'plan' | 'skipped' | 'rejected';
const kindOf = (outcome: Outcome): Kind =>
  'plan' in outcome ? 'plan' : 'skipped' in outcome ? 'skipped' : 'rejected';

/** Plans a group that must yield a plan, and checks that plan against the contract. */
function validPlan(
  group: SnapshotGroup,
  known: ReadonlyMap<string, Snapshot>,
  settings: PlannerSettings,
): Plan {
  return expectValidPlan(planGroup(group, known, settings), group, known, settings);
}

/** A readable account of the input, for counterexamples. */
function describeInput(
  specs: readonly SnapshotSpec[],
  group: SnapshotGroup,
  settings: PlannerSettings,
): string {
  return JSON.stringify({ settings, group, snapshots: specs }, null, 1);
}

describe('property: any tags give a rejection, a skip, or a request that satisfies the contract', () => {
  it('holds for generated root snapshots, device references and multi-volume sets', () => {
    const seen: Record<Kind, number> = { plan: 0, skipped: 0, rejected: 0 };
    fc.assert(
      fc.property(scenario, ({ settings, group, known, specs }) => {
        const outcome = planGroup(group, known, settings);
        seen[kindOf(outcome)] += 1;
        const violations = checkOutcome(outcome, group, known, settings);
        if (violations.length > 0) {
          throw new Error(
            `${violations.join('\n')}\n--- outcome: ${JSON.stringify(outcome, null, 1)}\n--- input: ${describeInput(specs, group, settings)}`,
          );
        }
      }),
      { numRuns: 1500 },
    );
    // The generators must reach every outcome, plans above all.
    expect(seen.plan).toBeGreaterThan(25);
    expect(seen.rejected).toBeGreaterThan(100);
    expect(seen.skipped).toBeGreaterThan(20);
  });

  it('never reads aws: tags as configuration: adding them changes nothing', () => {
    const awsTags = fc.uniqueArray(
      fc.tuple(
        fc.constantFrom('aws:', 'AWS:', 'Aws:'),
        fc.constantFrom(
          'register',
          'snap2ami:register',
          'snap2ami:name',
          'prop:stack',
          'device:/dev/sdb',
          'tag:Env',
        ),
        fc.constantFrom('true', 'false', 'x', '', 'snap-000000000000000b1', 'none', '{bogus}'),
      ),
      { selector: ([head, key]) => head + key, maxLength: 4 },
    );
    fc.assert(
      fc.property(scenario, awsTags, ({ settings, group, specs }, extra) => {
        const before = planGroup(group, buildScenario(settings, group, specs).known, settings);
        const withAws = specs.map((spec) =>
          spec.id === ROOT_ID
            ? {
                ...spec,
                tags: [
                  ...spec.tags,
                  ...extra.map(([head, key, value]): [string, string] => [head + key, value]),
                ],
              }
            : spec,
        );
        const after = planGroup(group, buildScenario(settings, group, withAws).known, settings);
        expect(after).toEqual(before);
      }),
      { numRuns: 200 },
    );
  });
});

describe('property: planning is deterministic', () => {
  it('gives deep-equal outcomes for the same input, fresh copies, and planGroups', () => {
    fc.assert(
      fc.property(scenario, ({ settings, group, known, specs }) => {
        const first = planGroup(group, known, settings);
        const second = planGroup(group, known, settings);
        expect(second).toEqual(first);
        // Planning does not change its input.
        expect(known).toEqual(buildScenario(settings, group, specs).known);
        const fresh = buildScenario(settings, { ...group, snapshotIds: [...group.snapshotIds] }, specs);
        expect(planGroup(fresh.group, fresh.known, settings)).toEqual(first);
        const report = planGroups([group, group], known, settings);
        const expected: PlanReport = { plans: [], skipped: [], rejected: [] };
        for (let i = 0; i < 2; i++) {
          if ('plan' in first) expected.plans.push(first.plan);
          else if ('skipped' in first) expected.skipped.push(first.skipped);
          else expected.rejected.push(first.rejected);
        }
        expect(report).toEqual(expected);
      }),
      { numRuns: 300 },
    );
  });

  it('gives the same outcome, whatever it is, for any order of the group and of the known map', () => {
    const reordered = scenario.chain((s) =>
      fc.tuple(
        fc.constant(s),
        fc.shuffledSubarray(s.group.snapshotIds, {
          minLength: s.group.snapshotIds.length,
          maxLength: s.group.snapshotIds.length,
        }),
        fc.shuffledSubarray(s.specs, { minLength: s.specs.length, maxLength: s.specs.length }),
      ),
    );
    fc.assert(
      fc.property(reordered, ([{ settings, group, known }, ids, specs]) => {
        const shuffled = buildScenario(settings, { ...group, snapshotIds: ids }, specs);
        expect(planGroup(shuffled.group, shuffled.known, settings)).toEqual(
          planGroup(group, known, settings),
        );
      }),
      { numRuns: 300 },
    );
  });
});

/** Subsets of the extra snapshots, as the skeleton of a valid root. */
const refsArb = fc.subarray(EXTRA_IDS);

function knownOf(specs: readonly SnapshotSpec[]): Map<string, Snapshot> {
  return new Map(specs.map((spec) => [spec.id, makeSnapshot(spec)]));
}

const SETTINGS = (prefix: string, region = 'us-east-1'): PlannerSettings => ({
  account: ACCOUNT,
  region,
  prefix,
  allowedSourceAccounts: [],
});

describe('property: the idempotency key depends on the snapshots only', () => {
  it('(a) is the same whatever the tag values, prefix and start time, for the same snapshots', () => {
    fc.assert(
      fc.property(
        refsArb.chain((refs) =>
          fc.tuple(
            fc.constant(refs),
            validVariation(refs),
            validVariation(refs),
            fc.constantFrom('us-east-1', 'eu-west-1'),
          ),
        ),
        ([refs, one, two, region]) => {
          const keys = [one, two].map((variation) => {
            const specs: SnapshotSpec[] = [
              {
                id: ROOT_ID,
                state: 'completed',
                owner: ACCOUNT,
                size: variation.size,
                start: variation.start,
                volumeId: variation.volumeId,
                tags: applyPrefix(variation.rootEntries, variation.prefix),
              },
              ...refs.map((id) => ({
                id,
                state: 'completed',
                owner: ACCOUNT,
                size: variation.size,
                tags: [],
              })),
            ];
            const settings = SETTINGS(variation.prefix, region);
            return validPlan({ snapshotIds: [ROOT_ID], multiVolume: false }, knownOf(specs), settings).key;
          });
          expect(keys[1]).toBe(keys[0]);
          expect(keys[0]).toBe(idempotencyKey(ACCOUNT, region, [ROOT_ID, ...refs].sort()));
        },
      ),
      { numRuns: 300 },
    );
  });

  const MEMBER_DEVICES = ['/dev/xvdf', '/dev/xvdg', '/dev/xvdh', '/dev/xvdi', '/dev/xvdj', '/dev/xvdk'];
  /** A multi-volume set: a root (valid variation), members with device-name, some without. */
  const multiVolumeSet = fc
    .uniqueArray(fc.integer({ min: 1, max: 2 ** 48 }), { minLength: 2, maxLength: 6 })
    .chain((numbers) => {
      const ids = numbers.map((n) => snapId(n));
      return fc.record({
        ids: fc.constant(ids),
        rootIndex: fc.nat({ max: ids.length - 1 }),
        variation: validVariation([]),
        devices: fc.shuffledSubarray(MEMBER_DEVICES, {
          minLength: MEMBER_DEVICES.length,
          maxLength: MEMBER_DEVICES.length,
        }),
        tagged: fc.array(fc.boolean(), { minLength: ids.length, maxLength: ids.length }),
        volumes: fc.array(validVolume(false), { minLength: ids.length, maxLength: ids.length }),
        order: fc.shuffledSubarray(ids, { minLength: ids.length, maxLength: ids.length }),
        duplicates: fc.subarray(ids, { maxLength: 2 }),
        knownOrder: fc.shuffledSubarray(ids, { minLength: ids.length, maxLength: ids.length }),
      });
    });

  it('(b) is the same, with the same request, for any order of a multi-volume set and of the known map', () => {
    fc.assert(
      fc.property(multiVolumeSet, (set) => {
        const { ids, rootIndex, variation } = set;
        const settings = SETTINGS(variation.prefix);
        const specs = new Map<string, SnapshotSpec>(
          ids.map((id, index) => {
            const tags =
              index === rootIndex
                ? applyPrefix(variation.rootEntries, variation.prefix)
                : applyPrefix(
                    [
                      ...(set.tagged[index]
                        ? [{ prefixed: true as const, rest: 'device-name', value: set.devices[index] ?? '' }]
                        : []),
                      ...volumeEntries(set.volumes[index] ?? {}),
                    ],
                    variation.prefix,
                  );
            return [
              id,
              {
                id,
                state: 'completed',
                owner: ACCOUNT,
                size: variation.size,
                start: variation.start,
                volumeId: variation.volumeId,
                tags,
              },
            ];
          }),
        );
        const inOrder = (order: readonly string[]) =>
          new Map(order.map((id) => [id, makeSnapshot(specs.get(id) as SnapshotSpec)]));
        const canonical = validPlan(
          { snapshotIds: [...ids].sort(), multiVolume: true },
          inOrder([...ids].sort()),
          settings,
        );
        const permuted = validPlan(
          { snapshotIds: [...set.order, ...set.duplicates], multiVolume: true },
          inOrder(set.knownOrder),
          settings,
        );
        expect(permuted.key).toBe(canonical.key);
        expect(permuted.request).toEqual(canonical.request);
        expect(permuted).toEqual(canonical);
        const mapped = ids.filter((_, index) => index === rootIndex || set.tagged[index]);
        expect(canonical.key).toBe(idempotencyKey(ACCOUNT, settings.region, mapped.sort()));
      }),
      { numRuns: 300 },
    );
  });

  const account = fc.stringMatching(/^[0-9]{12}$/);
  const keyInputs = fc.record({
    accounts: fc.uniqueArray(account, { minLength: 2, maxLength: 2 }),
    regions: fc.shuffledSubarray(['us-east-1', 'eu-west-1', 'ap-southeast-2', 'us-gov-west-1'], {
      minLength: 2,
      maxLength: 2,
    }),
    numbers: fc.uniqueArray(fc.integer({ min: 1, max: 2 ** 48 }), { minLength: 2, maxLength: 5 }),
    options: fc.array(validVolume(false), { minLength: 5, maxLength: 5 }),
    variation: validVariation([]),
  });

  it('(c) is idempotencyKey(account, Region, sorted snapshot IDs), and changes with any of them', () => {
    fc.assert(
      fc.property(keyInputs, ({ accounts, regions, numbers, options, variation }) => {
        const [acct = '', otherAcct = ''] = accounts;
        const [region = '', otherRegion = ''] = regions;
        const [rootId = '', ...refIds] = numbers.map((n) => snapId(n));
        const specsWith = (refs: readonly string[]): SnapshotSpec[] => [
          {
            id: rootId,
            state: 'completed',
            owner: acct,
            size: variation.size,
            start: variation.start,
            volumeId: variation.volumeId,
            tags: [
              ...applyPrefix(variation.rootEntries, variation.prefix),
              ...refs.map((ref, index): [string, string] => [
                `${variation.prefix}device:/dev/sd${'bcdefghijk'[index]}`,
                `${ref}${deviceOptions(options[index] ?? {})}`,
              ]),
            ],
          },
          ...refIds.map((id) => ({ id, state: 'completed', owner: acct, size: variation.size, tags: [] })),
        ];
        const planWith = (refs: readonly string[], settings: Partial<PlannerSettings> = {}) =>
          validPlan({ snapshotIds: [rootId], multiVolume: false }, knownOf(specsWith(refs)), {
            ...SETTINGS(variation.prefix, region),
            account: acct,
            ...settings,
          });

        const base = planWith(refIds);
        const requestIds = [
          ...new Set(base.request.BlockDeviceMappings.flatMap((mapping) => mapping.Ebs?.SnapshotId ?? [])),
        ].sort();
        expect(requestIds).toEqual([rootId, ...refIds].sort());
        expect(base.key).toBe(idempotencyKey(acct, region, requestIds));
        expect(idempotencyKey(acct, region, [...requestIds].reverse())).toBe(base.key);

        const keys = [
          base.key,
          planWith(refIds, { account: otherAcct, allowedSourceAccounts: [acct] }).key,
          planWith(refIds, { region: otherRegion }).key,
          planWith(refIds.slice(1)).key,
        ];
        expect(new Set(keys).size).toBe(keys.length);
      }),
      { numRuns: 300 },
    );
  });

  it('(c) idempotencyKey itself: order and duplicates do not matter, anything else does', () => {
    const triple = fc.tuple(
      account,
      fc.constantFrom('us-east-1', 'eu-west-1', 'us-east-1 '),
      fc.uniqueArray(fc.integer({ min: 1, max: 40 }).map(snapId), { minLength: 1, maxLength: 4 }),
    );
    const tripleAndShuffle = triple.chain(([a, r, ids]) =>
      fc.tuple(
        fc.constant<[string, string, string[]]>([a, r, ids]),
        fc.shuffledSubarray(ids, { minLength: ids.length, maxLength: ids.length }),
        fc.subarray(ids),
      ),
    );
    fc.assert(
      fc.property(tripleAndShuffle, triple, ([[a, r, ids], shuffled, again], [a2, r2, ids2]) => {
        expect(idempotencyKey(a, r, [...shuffled, ...again])).toBe(idempotencyKey(a, r, ids));
        const same = a === a2 && r === r2 && [...ids].sort().join() === [...ids2].sort().join();
        expect(idempotencyKey(a, r, ids) === idempotencyKey(a2, r2, ids2)).toBe(same);
        // Short enough for a Step Functions execution name.
        expect(idempotencyKey(a, r, ids)).toMatch(/^[A-Za-z0-9_-]{1,80}$/);
      }),
      { numRuns: 300 },
    );
  });
});

describe('property: owners', () => {
  it('a snapshot of another account is planned only when that account is allowed', () => {
    fc.assert(
      fc.property(fc.boolean(), validVariation([]), (allowed, variation) => {
        const specs: SnapshotSpec[] = [
          {
            id: ROOT_ID,
            state: 'completed',
            owner: OTHER_ACCOUNT,
            size: variation.size,
            start: variation.start,
            volumeId: variation.volumeId,
            tags: applyPrefix(variation.rootEntries, variation.prefix),
          },
        ];
        const outcome = planGroup({ snapshotIds: [ROOT_ID], multiVolume: false }, knownOf(specs), {
          ...SETTINGS(variation.prefix),
          allowedSourceAccounts: allowed ? [OTHER_ACCOUNT] : [],
        });
        expect(kindOf(outcome)).toBe(allowed ? 'plan' : 'rejected');
      }),
      { numRuns: 100 },
    );
  });
});
