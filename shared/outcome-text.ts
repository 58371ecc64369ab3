/**
 * A registration's outcome in words, as `snap2ami status` and the local run's table show it:
 * its distribution, row by row, and its failure in one line.
 */
import type { DistributionOutcome } from './distribution.ts';

/**
 * A registration's distribution (ADR 0008) as `status` and the local job's table show it:
 * copies, grants, parameters, deprecation, protection, retention (what it deregistered,
 * disabled and kept beyond the rule, and why); none without one.
 */
export function distributionLines(d: DistributionOutcome | undefined, indent = ''): string[] {
  if (d === undefined) return [];
  const lines: string[] = [];
  const row = (label: string, text: string) => lines.push(`${indent}${label.padEnd(11)}${text}`);
  if (d.copies.length > 0) row('copies', d.copies.map((c) => `${c.region} ${c.imageId}`).join(', '));
  if (d.launchPermissions.length > 0) row('shared', d.launchPermissions.join(', '));
  for (const p of d.ssmParameters) row('parameter', `${p.name} (${p.region}) → ${p.value}`);
  if (d.deprecationTime) row('deprecates', d.deprecationTime);
  if (d.deregistrationProtection) row('protection', d.deregistrationProtection);
  if (d.deregistered.length > 0) row('retention', `deregistered ${d.deregistered.join(', ')}`);
  for (const x of d.disabled)
    row(
      'retention',
      `disabled ${x.imageId} (${x.region}), deregistered from ${x.until}${x.shared ? ' (shared: 7 days at least)' : ''}`,
    );
  for (const k of d.kept) row('retention', `kept ${k.imageId} (${k.region}): ${k.reason}`);
  if (d.retentionPending)
    row(
      'retention',
      "pending: the reconciler's retention pass finishes it (the family is above its rule, or an image is in its grace)",
    );
  if (d.retentionError)
    row('retention', `failed (retried on the family's next success): ${d.retentionError}`);
  return lines;
}

/**
 * A failure's cause as a person reads it: a Lambda error's cause is JSON
 * (`{"errorType", "errorMessage", "trace"}`), of which the message says it all; any other
 * cause (a DynamoDB or SNS error's, the reconciler's) is shown as it is.
 */
export function causeMessage(cause: string | undefined): string {
  if (!cause) return '';
  try {
    const message = (JSON.parse(cause) as { errorMessage?: unknown } | null)?.errorMessage;
    if (typeof message === 'string') return message;
  } catch {
    // Not JSON: shown as it is.
  }
  return cause;
}

/** A record's failure as one line: the step, the error, and the cause's message. */
export function failureDetail(record: { error?: string; cause?: string; failedStep?: string }): string {
  const error = [record.error, causeMessage(record.cause)].filter(Boolean).join(': ');
  return record.failedStep ? `at ${record.failedStep}: ${error}` : error;
}
