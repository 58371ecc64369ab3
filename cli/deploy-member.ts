/**
 * `snap2ami deploy-member --print`: the AWS CLI commands that deploy the member accounts'
 * template (deploy/member-account.yml) to an organization's OUs with a CloudFormation StackSet
 * (service-managed permissions, automatic deployment), for the pipeline in the central image
 * account (docs/organizations.md). It prints them; running them is the operator's, from the
 * organization's management account or a delegated administrator.
 */
import { partition } from '@aws-sdk/core/client';
import { InvalidArgumentError } from 'commander';

export interface DeployMemberOptions {
  pipelineAccount: string;
  region: string;
  stage: string;
  ous: string[];
  stackSetName: string;
  delegatedAdmin?: boolean;
}

/** The pipeline stack's organization bus (resources/organization.yml: snap2ami-<stage>-organization). */
export function organizationBusArn(account: string, region: string, stage: string): string {
  return `arn:${partition(region).name}:events:${region}:${account}:event-bus/snap2ami-${stage}-organization`;
}

/** Organizational unit IDs (ou-…), or an organization's root (r-…), separated by commas. */
export function organizationalUnits(value: string): string[] {
  const ids = value.split(',').map((id) => id.trim());
  const bad = ids.find((id) => !/^(ou-[0-9a-z]{4,32}-[a-z0-9]{8,32}|r-[0-9a-z]{4,32})$/.test(id));
  if (bad !== undefined)
    throw new InvalidArgumentError(
      `"${bad}" is not an OU ID (ou-…) or a root ID (r-…), separated by commas.`,
    );
  return ids;
}

/** The commands, one per paragraph, ready to paste into a shell. */
export function deployMemberCommands(options: DeployMemberOptions): string {
  const { pipelineAccount, region, stage, ous, stackSetName } = options;
  const callAs = options.delegatedAdmin ? ' \\\n  --call-as DELEGATED_ADMIN' : '';
  const callAsInline = options.delegatedAdmin ? ' --call-as DELEGATED_ADMIN' : '';
  const bus = organizationBusArn(pipelineAccount, region, stage);
  return [
    `# 1. The StackSet: service-managed permissions, deployed automatically to accounts that join the OUs.`,
    `aws cloudformation create-stack-set \\`,
    `  --region ${region} \\`,
    `  --stack-set-name ${stackSetName} \\`,
    `  --template-body file://deploy/member-account.yml \\`,
    `  --permission-model SERVICE_MANAGED \\`,
    `  --auto-deployment Enabled=true,RetainStacksOnAccountRemoval=false \\`,
    `  --capabilities CAPABILITY_NAMED_IAM \\`,
    `  --parameters ParameterKey=PipelineAccountId,ParameterValue=${pipelineAccount} \\`,
    `    ParameterKey=PipelineEventBusArn,ParameterValue=${bus}${callAs}`,
    '',
    `# 2. Its stacks in the OUs' accounts, in the pipeline's Region (${region}) only.`,
    `aws cloudformation create-stack-instances \\`,
    `  --region ${region} \\`,
    `  --stack-set-name ${stackSetName} \\`,
    `  --deployment-targets OrganizationalUnitIds=${ous.join(',')} \\`,
    `  --regions ${region} \\`,
    `  --operation-preferences FailureTolerancePercentage=10,MaxConcurrentPercentage=25${callAs}`,
    '',
    `# 3. Follow the operation (its ID is printed by step 2).`,
    `aws cloudformation describe-stack-set-operation --region ${region} --stack-set-name ${stackSetName} --operation-id <OperationId>${callAsInline}`,
    '',
  ].join('\n');
}
