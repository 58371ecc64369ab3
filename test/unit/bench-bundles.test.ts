/**
 * `npm run bench`'s bundle table: each function next to the baseline's build of it, and a
 * function the baseline lacks (added since it, as launchTest and resume were) shown with its new
 * figures only, rather than failing the bench.
 */
import { describe, expect, it } from 'vitest';
import { bundleRows } from '../../bench/bundles.ts';

const KIB = 1024;

describe('the bundle table', () => {
  it('compares a function with its old build: sizes, loads, new/old and its goals', () => {
    const [header, image] = bundleRows([
      { name: 'image', old: { bytes: 2868 * KIB, loadMs: 478 }, new: { bytes: 796 * KIB, loadMs: 130 } },
    ]);
    expect(header?.[0]).toBe('function');
    expect(image).toEqual(['image', 2868, 796, '<= 1700', '478', '130', '27%', '<= 60%', 'met']);
  });

  it('misses a goal: a load above 60% of the old one, or a size above its goal', () => {
    const rows = bundleRows([
      { name: 'ingest', old: { bytes: 2695 * KIB, loadMs: 100 }, new: { bytes: 708 * KIB, loadMs: 61 } },
      { name: 'reconcile', old: { bytes: 2689 * KIB, loadMs: 400 }, new: { bytes: 1501 * KIB, loadMs: 100 } },
    ]);
    expect(rows.slice(1).map((row) => row.at(-1))).toEqual(['MISSED', 'MISSED']);
  });

  it('shows a function the baseline lacks with its new figures only', () => {
    const [, launchTest] = bundleRows([{ name: 'launchTest', new: { bytes: 700 * KIB, loadMs: 118 } }]);
    expect(launchTest).toEqual(['launchTest', '-', 700, '-', '-', '118', '-', '-', 'new']);
  });
});
