/**
 * A registration's launch test as its record keeps it (`launchTest`, JSON written by the
 * workflow's RecordLaunchTest; docs/adr/0012-launch-test.md), read back for `status` and the
 * local run's `--json`.
 */
import * as z from './zod.ts';

export const LaunchTestOutcomeSchema = z.object({
  instanceId: z.string(),
  instanceType: z.string(),
  result: z.enum(['passed', 'failed']),
  reason: z.string(),
  seconds: z.number(),
});

export type LaunchTestOutcome = z.infer<typeof LaunchTestOutcomeSchema>;

/** The outcome from the record's JSON; undefined without one, or with one that does not parse. */
export function launchTestOutcome(json: string | undefined): LaunchTestOutcome | undefined {
  return z.parseJson(LaunchTestOutcomeSchema, json);
}
