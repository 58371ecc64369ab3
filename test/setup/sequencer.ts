/**
 * The order the test files start in. vitest starts the files that took longest last time first,
 * from its cache (node_modules/.vite), so that no long file starts late and runs alone at the
 * end. A fresh clone has no cache, and vitest falls back on file sizes, which start some of the
 * longest files (small ones that wait on a process or a queue) late: 8 s more for the whole run
 * (docs/adr/0010-test-speed.md). Here the files below, the longest on a 2-core machine, slowest
 * first, go first in their project when vitest knows the duration of no file at all (once it
 * knows some, its own order holds). A name that goes stale costs order, never a test.
 */
import { BaseSequencer, type TestSpecification } from 'vitest/node';

const LONGEST = [
  'test/integration/local-run.test.ts',
  'test/integration/serverless-local.test.ts',
  'test/integration/admission.test.ts',
  'test/integration/workflow-launch-test.test.ts',
  'test/integration/operators.test.ts',
  'test/integration/burst-copies.test.ts',
  'test/integration/burst.test.ts',
  'test/integration/lifecycle.test.ts',
  'test/integration/replay.test.ts',
  'test/integration/ami-event-waits.test.ts',
  'test/integration/emulator-launch-test.test.ts',
  'test/integration/recovery.test.ts',
  'test/unit/deploy/parameters.test.ts',
  'test/unit/deploy/template-lint.test.ts',
  'test/unit/property/retention.property.test.ts',
  'test/unit/cli/errors.test.ts',
  'test/unit/property/plan.property.test.ts',
  'test/unit/tracing.test.ts',
];

export class LongestFirst extends BaseSequencer {
  override async sort(files: TestSpecification[]): Promise<TestSpecification[]> {
    const sorted = await super.sort(files);
    if (files.some((spec) => this.ctx.cache.getTestSpecificationResult(spec))) return sorted;
    const rank = (spec: TestSpecification) => {
      const index = LONGEST.findIndex((name) => spec.moduleId.endsWith(name));
      return index === -1 ? LONGEST.length : index;
    };
    const project = new Map<string, number>();
    for (const spec of sorted)
      if (!project.has(spec.project.name)) project.set(spec.project.name, project.size);
    const position = new Map(sorted.map((spec, index) => [spec, index]));
    // vitest's order of projects kept; within one, the longest files first, then vitest's order.
    return [...sorted].sort(
      (a, b) =>
        (project.get(a.project.name) ?? 0) - (project.get(b.project.name) ?? 0) ||
        rank(a) - rank(b) ||
        (position.get(a) ?? 0) - (position.get(b) ?? 0),
    );
  }
}
