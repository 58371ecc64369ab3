/**
 * The billing check (tag contract v2, "Billing check"), the decision and its words. EC2's
 * RegisterImage reference: RegisterImage derives an AMI's billing information (Windows, Red
 * Hat, SUSE, SQL Server) from the snapshot's metadata when the metadata carries it, and the
 * caller is to check the new image's PlatformDetails: empty, or without the expected
 * operating system, means the AMI is not usable for it. The plan says what to expect and what
 * to do without it (`billingCheck`); functions/image/billing.ts reads the image and acts.
 * Pure.
 */
import type { BillingCheck } from './contract/types.ts';

/** Whether the image's PlatformDetails carry the expected operating system's billing. */
export function hasExpectedBilling(platformDetails: string | undefined, check: BillingCheck): boolean {
  return (platformDetails ?? '').includes(check.expect);
}

function found(imageId: string, platformDetails: string | undefined, check: BillingCheck): string {
  const details = platformDetails ? `PlatformDetails "${platformDetails}"` : 'no PlatformDetails';
  return `the image ${imageId} has ${details}, not ${check.expect}: RegisterImage found no ${check.expect} billing information in the snapshot's metadata, so instances launched from it would not carry the ${check.expect} subscription`;
}

/** The FAILED record's cause when the image was deregistered: what happened, and the ways out. */
export function deregisteredReason(
  imageId: string,
  platformDetails: string | undefined,
  check: BillingCheck,
  prefix: string,
): string {
  return `Billing check: ${found(imageId, platformDetails, check)}. The image was deregistered. Create the AMI from an instance instead (CreateImage keeps the billing information), or tag the snapshot ${prefix}allow-billing-code-loss=true to keep such an image, tagged ${prefix}billing-check=missing.`;
}

/** The warning a kept image's COMPLETED record and notification carry. */
export function keptWarning(
  imageId: string,
  platformDetails: string | undefined,
  check: BillingCheck,
  prefix: string,
): string {
  return `Billing check: ${found(imageId, platformDetails, check)}. Kept (${prefix}allow-billing-code-loss=true) and tagged ${prefix}billing-check=missing.`;
}

/**
 * The cause when the image is gone before the check could read it: a retry of the check after
 * it had deregistered the image (its answer lost), or someone else deregistered it.
 */
export function goneReason(imageId: string, check: BillingCheck): string {
  return `Billing check: the image ${imageId} is no longer registered, so its ${check.expect} billing information cannot be checked (an earlier try of this check deregisters an image without it; or someone deregistered it).`;
}
