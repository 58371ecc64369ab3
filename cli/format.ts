/** The readable summary of a plan report, as `snap2ami plan` prints it without --json, and of a registration, as `snap2ami status` does (its outcome in words: shared/outcome-text.ts). */
import type { BlockDeviceMapping, Lifecycle, PlanReport } from '#shared/contract/types.ts';
import { causeMessage, distributionLines } from '#shared/outcome-text.ts';
import type { Status } from './records.ts';

export function formatReport(report: PlanReport): string {
  const lines: string[] = [];
  for (const plan of report.plans) {
    const r = plan.request;
    lines.push(`PLAN  ${plan.snapshotIds.join(' + ')}  →  "${r.Name}"`);
    lines.push(`      key ${plan.key}`);
    const flags = [
      r.Architecture,
      r.VirtualizationType,
      r.BootMode && `boot ${r.BootMode}`,
      r.EnaSupport !== undefined && `ENA ${r.EnaSupport ? 'on' : 'off'}`,
      r.SriovNetSupport && `SR-IOV ${r.SriovNetSupport}`,
      r.TpmSupport && `TPM ${r.TpmSupport}`,
      `IMDS ${r.ImdsSupport ?? 'v1+v2'}`,
      r.BillingProducts && `billing ${r.BillingProducts.join(',')}`,
    ].filter(Boolean);
    lines.push(`      ${flags.join(', ')}`);
    if (r.Description) lines.push(`      description: ${r.Description}`);
    for (const mapping of r.BlockDeviceMappings)
      lines.push(`      ${describeMapping(mapping, r.RootDeviceName)}`);
    const tags = r.TagSpecifications.flatMap((spec) => spec.Tags).map((tag) => `${tag.Key}=${tag.Value}`);
    lines.push(`      tags: ${tags.join(', ')}`);
    if (plan.uefiDataSource) lines.push(`      UEFI data from ${plan.uefiDataSource}`);
    if (plan.billingCheck)
      lines.push(
        `      billing check: PlatformDetails must contain "${plan.billingCheck.expect}", else ${plan.billingCheck.onMissing === 'deregister' ? 'deregister' : 'keep, tagged billing-check=missing'}`,
      );
    if (plan.lifecycle) for (const line of describeLifecycle(plan.lifecycle)) lines.push(`      ${line}`);
    const test = plan.launchTest;
    if (test)
      lines.push(
        `      launch test on ${test.instanceType}: status checks${test.document ? ` and SSM document ${test.document}` : ''}, within ${test.timeoutMinutes} minutes, before anything publishes it`,
      );
    for (const note of plan.notes) lines.push(`      note: ${note}`);
  }
  for (const skipped of report.skipped)
    lines.push(`SKIP  ${skipped.snapshotIds.join(' + ') || '(event)'}: ${skipped.reason}`);
  for (const rejected of report.rejected) {
    lines.push(`REJECT ${rejected.snapshotIds.join(' + ') || '(event)'}`);
    for (const error of rejected.errors) {
      const where = [error.tag, error.field && `→ ${error.field}`].filter(Boolean).join(' ');
      lines.push(`      - ${where ? `${where}: ` : ''}${error.message}`);
    }
  }
  const count = (n: number, word: string) => `${n} ${word}`;
  lines.push(
    `${count(report.plans.length, 'planned')}, ${count(report.skipped.length, 'skipped')}, ${count(report.rejected.length, 'rejected')}.`,
  );
  return `${lines.join('\n')}\n`;
}

function describeMapping(mapping: BlockDeviceMapping, rootDevice: string): string {
  const device = mapping.DeviceName.padEnd(10);
  if (mapping.NoDevice !== undefined) return `${device} (suppressed)`;
  if (mapping.VirtualName) return `${device} instance store ${mapping.VirtualName}`;
  const ebs = mapping.Ebs ?? {};
  const parts = [
    ebs.SnapshotId ?? 'empty volume',
    ebs.VolumeType,
    ebs.VolumeSize !== undefined ? `${ebs.VolumeSize} GiB` : 'snapshot size',
    ebs.Iops !== undefined && `${ebs.Iops} IOPS`,
    ebs.Throughput !== undefined && `${ebs.Throughput} MiB/s`,
    ebs.DeleteOnTermination === false && 'kept on termination',
    mapping.DeviceName === rootDevice && '(root)',
  ].filter(Boolean);
  return `${device} ${parts.join(', ')}`;
}

/** One line per lifecycle field that is set, as the workflow would carry it out. */
function describeLifecycle(lifecycle: Lifecycle): string[] {
  const lines: string[] = [];
  const { copyTo, shareWith, retain } = lifecycle;
  if (copyTo)
    lines.push(
      `copy to ${copyTo.map(({ region, kmsKeyId }) => (kmsKeyId ? `${region} (KMS ${kmsKeyId})` : region)).join(', ')}`,
    );
  if (shareWith) {
    const grantees = [
      ...(shareWith.userIds ?? []),
      ...(shareWith.organizationArns ?? []),
      ...(shareWith.organizationalUnitArns ?? []),
    ];
    lines.push(`share with ${grantees.join(', ')}`);
  }
  if (lifecycle.ssmParameter) lines.push(`SSM parameter ${lifecycle.ssmParameter}`);
  if (lifecycle.deprecateAfterDays !== undefined)
    lines.push(`deprecate ${lifecycle.deprecateAfterDays} days after registration`);
  if (lifecycle.deregistrationProtection)
    lines.push(
      `deregistration protection ${lifecycle.deregistrationProtection === 'on' ? 'on' : 'on, with the 24-hour cooldown'}`,
    );
  if (lifecycle.family) lines.push(`family ${lifecycle.family}`);
  if (retain)
    lines.push(
      `retain ${'count' in retain ? `the newest ${retain.count}` : `those within ${retain.days} days`}${lifecycle.retainDeleteSnapshots ? ', deleting their snapshots' : ''}`,
    );
  return lines.map((line) => `lifecycle: ${line}`);
}

/**
 * `snap2ami status` without --json: per registration, the record (with the failed step, the
 * error's message, the warnings and a failed notification), its execution, its image and its
 * distribution; a blank line after each.
 */
export function formatStatus(found: Status[]): string {
  return found
    .map(({ record, image, execution }) => {
      const imageLine = record.imageId
        ? `${record.imageId}${image ? ` (${image.state})` : ''}${record.adopted ? ', adopted: registered by an earlier attempt' : ''}`
        : '-';
      const lines = [
        `key        ${record.key}`,
        `status     ${record.status}${record.attempts > 1 ? ` (after ${record.attempts} executions)` : ''}`,
        `snapshots  ${record.snapshotIds.join(', ')}`,
        ...(record.sourceAccount
          ? [
              `copies     ${(record.copiedSnapshotIds ?? []).join(', ') || '-'} (from account ${record.sourceAccount})`,
            ]
          : []),
        `name       ${record.imageName ?? '-'}`,
        `image      ${imageLine}`,
        `execution  ${record.executionArn ?? '-'}${execution?.status ? ` (${execution.status})` : ''}`,
      ];
      if (record.failedStep) lines.push(`step       ${record.failedStep}`);
      if (record.error || record.cause)
        lines.push(`error      ${[record.error, causeMessage(record.cause)].filter(Boolean).join(': ')}`);
      for (const warning of record.warnings ?? []) lines.push(`warnings   ${warning}`);
      if (record.notificationError)
        lines.push(`notice     the notification was not sent: ${causeMessage(record.notificationError)}`);
      if (record.launchTest) {
        const t = record.launchTest;
        lines.push(
          `launch test ${t.result} on ${t.instanceType}${t.instanceId ? ` (${t.instanceId})` : ''} in ${t.seconds} s: ${t.reason}`,
        );
      }
      lines.push(...distributionLines(record.distribution));
      return `${lines.join('\n')}\n\n`;
    })
    .join('');
}
