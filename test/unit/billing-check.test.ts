/**
 * The billing check's decision (shared/billing-check.ts), row by row over the PlatformDetails
 * values of EC2's "AMI billing information" table, and the words of its outcomes.
 */
import { describe, expect, it } from 'vitest';
import { deregisteredReason, goneReason, hasExpectedBilling, keptWarning } from '#shared/billing-check.ts';
import type { BillingCheck } from '#shared/contract/types.ts';

const check = (expect: BillingCheck['expect']): BillingCheck => ({ expect, onMissing: 'deregister' });

describe('hasExpectedBilling', () => {
  it.each([
    ['Windows', 'Windows'],
    ['Windows', 'Windows BYOL'],
    ['Windows', 'Windows with SQL Server Standard'],
    ['Red Hat', 'Red Hat Enterprise Linux'],
    ['Red Hat', 'Red Hat Enterprise Linux with SQL Server Enterprise and HA'],
    ['Red Hat', 'Red Hat BYOL Linux'],
    ['SUSE', 'SUSE Linux'],
  ] as const)('finds %s in "%s"', (expected, details) => {
    expect(hasExpectedBilling(details, check(expected))).toBe(true);
  });

  it.each([
    ['Windows', 'Linux/UNIX'],
    ['Windows', 'SQL Server Standard'],
    ['Windows', 'windows'],
    ['Windows', ''],
    ['Windows', undefined],
    ['Red Hat', 'Linux/UNIX'],
    ['Red Hat', 'SUSE Linux'],
    ['SUSE', 'Ubuntu Pro'],
    ['SUSE', 'Red Hat Enterprise Linux'],
  ] as const)('does not find %s in %j', (expected, details) => {
    expect(hasExpectedBilling(details, check(expected))).toBe(false);
  });
});

describe('the words', () => {
  it('a deregistered image: what was found, that it is gone, and both ways out', () => {
    expect(deregisteredReason('ami-0123', 'Linux/UNIX', check('Windows'), 'acme:')).toBe(
      `Billing check: the image ami-0123 has PlatformDetails "Linux/UNIX", not Windows: RegisterImage found no Windows billing information in the snapshot's metadata, so instances launched from it would not carry the Windows subscription. The image was deregistered. Create the AMI from an instance instead (CreateImage keeps the billing information), or tag the snapshot acme:allow-billing-code-loss=true to keep such an image, tagged acme:billing-check=missing.`,
    );
  });

  it('a kept image: the same finding, kept and tagged', () => {
    expect(keptWarning('ami-0123', undefined, check('SUSE'), 'snap2ami:')).toBe(
      `Billing check: the image ami-0123 has no PlatformDetails, not SUSE: RegisterImage found no SUSE billing information in the snapshot's metadata, so instances launched from it would not carry the SUSE subscription. Kept (snap2ami:allow-billing-code-loss=true) and tagged snap2ami:billing-check=missing.`,
    );
  });

  it('an image already gone', () => {
    expect(goneReason('ami-0123', check('Red Hat'))).toContain(
      'the image ami-0123 is no longer registered, so its Red Hat billing information cannot be checked',
    );
  });
});
