/** The protect step: deprecation time and deregistration protection. docs/adr/0008-distribution-and-lifecycle.md. */
import {
  EnableImageDeprecationCommand,
  EnableImageDeregistrationProtectionCommand,
} from '@aws-sdk/client-ec2';
import { deprecationTime } from '#shared/distribution.ts';
import { classified, RetryableError } from '#shared/errors.ts';
import { describeImage } from './reads.ts';
import { type Common, type Copy, everyImage, type LifecycleDeps } from './types.ts';

/** The deprecation time (creation + N days) and deregistration protection, on the AMI and every copy. */
export async function protect(task: Common & { copies: Copy[] }, deps: LifecycleDeps) {
  const { deprecateAfterDays, deregistrationProtection } = task.lifecycle;
  const result: { deprecationTime?: string; deregistrationProtection?: string } = {};
  if (deprecateAfterDays !== undefined) {
    const image = await describeImage(deps.ec2In(deps.region), task.imageId, deps.region);
    if (!image?.CreationDate)
      throw new RetryableError(`${task.imageId} has no CreationDate yet; looking again`);
    result.deprecationTime = deprecationTime(image.CreationDate, deprecateAfterDays);
  }
  for (const { region, imageId } of everyImage(task, deps)) {
    const ec2 = deps.ec2In(region);
    if (result.deprecationTime !== undefined) {
      const DeprecateAt = new Date(result.deprecationTime);
      await classified(`EnableImageDeprecation on ${imageId} in ${region}`, () =>
        ec2.send(new EnableImageDeprecationCommand({ ImageId: imageId, DeprecateAt })),
      );
    }
    if (deregistrationProtection !== undefined) {
      const WithCooldown = deregistrationProtection === 'with-cooldown';
      await classified(`EnableImageDeregistrationProtection on ${imageId} in ${region}`, () =>
        ec2.send(new EnableImageDeregistrationProtectionCommand({ ImageId: imageId, WithCooldown })),
      );
    }
  }
  if (deregistrationProtection !== undefined) result.deregistrationProtection = deregistrationProtection;
  return result;
}
