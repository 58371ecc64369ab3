/**
 * CheckBilling (tag contract v2): once the image is available, reads its PlatformDetails and,
 * when they lack the plan's expected operating system, either deregisters the image and fails
 * (BillingInformationMissing) or keeps it, tags it `<p>billing-check=missing`, and returns it
 * with a warning for the record and the notification. The decision and the words are in
 * shared/billing-check.ts. Idempotent under the workflow's retries: CreateTags sets the same
 * tag again, and an image an earlier try deregistered is gone, which fails the same way.
 */
import {
  CreateTagsCommand,
  DeregisterImageCommand,
  DescribeImagesCommand,
  type EC2Client,
} from '@aws-sdk/client-ec2';
import { deregisteredReason, goneReason, hasExpectedBilling, keptWarning } from '#shared/billing-check.ts';
import type { BillingCheck } from '#shared/contract/types.ts';
import { BillingInformationMissing, classify } from '#shared/errors.ts';

/** The state's `image`: what Register made, and the warnings the success will carry. */
export interface WorkflowImage {
  imageId: string;
  adopted: boolean;
  warnings: string[];
}

/** An image ID EC2 no longer knows (deregistered): InvalidAMIID.NotFound or .Unavailable. */
const GONE = /^InvalidAMIID\.(NotFound|Unavailable)$/;

export async function checkBilling(
  image: WorkflowImage,
  check: BillingCheck,
  { ec2, prefix }: { ec2: EC2Client; prefix: string },
): Promise<WorkflowImage & { platformDetails: string; billingCheck: 'passed' | 'missing' }> {
  const { imageId } = image;
  let described: { State?: string; PlatformDetails?: string } | undefined;
  try {
    described = (await ec2.send(new DescribeImagesCommand({ ImageIds: [imageId] }))).Images?.[0];
  } catch (error) {
    if (!GONE.test((error as Error).name)) throw classify(error, 'CheckBilling: DescribeImages');
  }
  if (described === undefined || described.State === 'deregistered')
    throw new BillingInformationMissing(goneReason(imageId, check));
  const details = described.PlatformDetails;
  if (hasExpectedBilling(details, check))
    return { ...image, platformDetails: details ?? '', billingCheck: 'passed' };

  if (check.onMissing === 'keep') {
    try {
      await ec2.send(
        new CreateTagsCommand({
          Resources: [imageId],
          Tags: [{ Key: `${prefix}billing-check`, Value: 'missing' }],
        }),
      );
    } catch (error) {
      throw classify(error, 'CheckBilling: CreateTags');
    }
    return {
      ...image,
      platformDetails: details ?? '',
      billingCheck: 'missing',
      warnings: [...image.warnings, keptWarning(imageId, details, check, prefix)],
    };
  }

  try {
    await ec2.send(new DeregisterImageCommand({ ImageId: imageId }));
  } catch (error) {
    // Deregistered already (a retry after a lost answer): what this step wanted.
    if (!GONE.test((error as Error).name)) throw classify(error, 'CheckBilling: DeregisterImage');
  }
  throw new BillingInformationMissing(deregisteredReason(imageId, details, check, prefix));
}
