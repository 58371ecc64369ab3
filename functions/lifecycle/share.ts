/** The share step: launch permission on the AMI and every copy. docs/adr/0008-distribution-and-lifecycle.md. */
import { ModifyImageAttributeCommand } from '@aws-sdk/client-ec2';
import { classified } from '#shared/errors.ts';
import { type Common, type Copy, everyImage, type LifecycleDeps } from './types.ts';

/** Launch permission for the accounts, organizations and OUs, on the AMI and every copy. */
export async function share(task: Common & { copies: Copy[] }, deps: LifecycleDeps) {
  const { userIds = [], organizationArns = [], organizationalUnitArns = [] } = task.lifecycle.shareWith ?? {};
  const add = [
    ...userIds.map((UserId) => ({ UserId })),
    ...organizationArns.map((OrganizationArn) => ({ OrganizationArn })),
    ...organizationalUnitArns.map((OrganizationalUnitArn) => ({ OrganizationalUnitArn })),
  ];
  if (add.length === 0) return [];
  for (const { region, imageId } of everyImage(task, deps)) {
    await classified(`ModifyImageAttribute (launch permission) on ${imageId} in ${region}`, () =>
      deps
        .ec2In(region)
        .send(new ModifyImageAttributeCommand({ ImageId: imageId, LaunchPermission: { Add: add } })),
    );
  }
  return [...userIds, ...organizationArns, ...organizationalUnitArns];
}
