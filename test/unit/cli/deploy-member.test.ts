/** `snap2ami deploy-member --print`: the StackSet commands for the member accounts' template (docs/organizations.md). */
import { describe, expect, it } from 'vitest';
import { snap2amiInProcess } from '../../support/cli-in-process.ts';

/** `snap2ami deploy-member --print --pipeline-account 123456789012 --ous <ous> …rest`. */
const printFor = (ous: string, rest: string[] = [], env: Record<string, string> = {}) =>
  snap2amiInProcess(
    ['deploy-member', '--print', '--pipeline-account', '123456789012', '--ous', ous, ...rest],
    env,
  );

describe('snap2ami deploy-member --print', () => {
  it("prints a service-managed StackSet with automatic deployment, naming the pipeline's account and organization bus, and its stacks in the OUs", async () => {
    const result = await printFor('ou-ab12-cdefgh34,ou-ab12-ijklmn56', [
      '--region',
      'eu-west-1',
      '--stage',
      'prod',
    ]);
    expect(result.status).toBe(0);
    expect(result.stdout).toContain('--template-body file://deploy/member-account.yml');
    expect(result.stdout).toContain('--permission-model SERVICE_MANAGED');
    expect(result.stdout).toContain('--auto-deployment Enabled=true,RetainStacksOnAccountRemoval=false');
    expect(result.stdout).toContain('ParameterKey=PipelineAccountId,ParameterValue=123456789012');
    expect(result.stdout).toContain(
      'ParameterKey=PipelineEventBusArn,ParameterValue=arn:aws:events:eu-west-1:123456789012:event-bus/snap2ami-prod-organization',
    );
    expect(result.stdout).toContain(
      '--deployment-targets OrganizationalUnitIds=ou-ab12-cdefgh34,ou-ab12-ijklmn56',
    );
    expect(result.stdout).toContain('--regions eu-west-1');
    expect(result.stdout).not.toContain('DELEGATED_ADMIN');
  });

  it('calls as a delegated administrator when asked', async () => {
    const result = await printFor('r-ab12', ['--delegated-admin'], { AWS_REGION: 'us-east-2' });
    expect(result.status).toBe(0);
    expect(result.stdout.match(/--call-as DELEGATED_ADMIN/g)).toHaveLength(3);
    expect(result.stdout).toContain(
      'arn:aws:events:us-east-2:123456789012:event-bus/snap2ami-dev-organization',
    );
  });

  it('refuses an OU that is not an OU or root ID, saying what it accepts', async () => {
    const result = await printFor('engineering');
    expect(result.status).not.toBe(0);
    expect(result.stderr).toContain('"engineering" is not an OU ID (ou-…) or a root ID (r-…)');
  });
});
