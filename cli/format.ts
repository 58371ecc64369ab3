/** The readable summary of a plan report, as `snap2ami plan` prints it without --json. */
import type { BlockDeviceMapping, PlanReport } from '../shared/contract/types.ts';

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
