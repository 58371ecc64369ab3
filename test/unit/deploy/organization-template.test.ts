/**
 * The organization's way in (resources/organization.yml, docs/organizations.md), in the packaged
 * template: without organizationId nothing of it exists; with one, the bus admits PutEvents only
 * from principals of that organization (aws:PrincipalOrgID), so an account outside it is refused
 * at the bus, and its one rule sends the members' snapshot events to the queue ingest reads.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { packageService, type Template } from '../../support/package.ts';

let template: Template & {
  Parameters?: Record<string, Record<string, unknown>>;
  Conditions?: Record<string, unknown>;
};
type Resource = { Type: string; Condition?: string; Properties: Record<string, unknown> };
const resource = (name: string) => template.Resources[name] as Resource | undefined;

beforeAll(async () => {
  ({ template } = await packageService());
}, 180_000);

describe('the organization bus (organizationId)', () => {
  it('is absent by default: every resource of it exists only under HasOrganization, which needs an organization ID', () => {
    expect(template.Parameters?.OrganizationId).toMatchObject({ Type: 'String', Default: '' });
    expect(String(template.Parameters?.OrganizationId?.AllowedPattern)).toBe('^(o-[a-z0-9]{10,32})?$');
    expect(template.Conditions?.HasOrganization).toEqual({
      'Fn::Not': [{ 'Fn::Equals': [{ Ref: 'OrganizationId' }, ''] }],
    });
    for (const name of ['OrganizationEventBus', 'OrganizationEventBusPolicy', 'OrganizationSnapshotRule'])
      expect(resource(name)?.Condition, name).toBe('HasOrganization');
  });

  it('admits events:PutEvents on that bus only from principals of the organization', () => {
    const policy = resource('OrganizationEventBusPolicy');
    expect(policy?.Type).toBe('AWS::Events::EventBusPolicy');
    expect(policy?.Properties.EventBusName).toEqual({ Ref: 'OrganizationEventBus' });
    expect(policy?.Properties.Statement).toEqual({
      Effect: 'Allow',
      Principal: '*',
      Action: 'events:PutEvents',
      Resource: { 'Fn::GetAtt': ['OrganizationEventBus', 'Arn'] },
      Condition: { StringEquals: { 'aws:PrincipalOrgID': { Ref: 'OrganizationId' } } },
    });
  });

  it("sends the bus's snapshot events to the queue ingest reads", () => {
    const rule = resource('OrganizationSnapshotRule');
    expect(rule?.Properties.EventBusName).toEqual({ Ref: 'OrganizationEventBus' });
    expect(rule?.Properties.Targets).toEqual([
      { Id: 'snapshot-events', Arn: { 'Fn::GetAtt': ['SnapshotEventsQueue', 'Arn'] } },
    ]);
    expect(rule?.Properties.EventPattern).toMatchObject({
      source: ['aws.ec2'],
      detail: { result: ['succeeded'] },
    });
  });

  it('lets ingest and the image function assume the source reader role only in the organization (or, without one, the allowed accounts)', () => {
    const statement = (name: string) =>
      (resource(name)?.Properties.PolicyDocument as { Statement: Record<string, unknown>[] } | undefined)
        ?.Statement[0];
    expect(resource('SourceReaderOrganizationPolicy')?.Condition).toBe('HasOrganization');
    expect(statement('SourceReaderOrganizationPolicy')?.Condition).toEqual({
      StringEquals: { 'aws:ResourceOrgID': { Ref: 'OrganizationId' } },
    });
    expect(resource('SourceReaderAccountsPolicy')?.Condition).toBe('NoOrganization');
    expect(statement('SourceReaderAccountsPolicy')?.Condition).toEqual({
      StringEquals: { 'aws:ResourceAccount': [{ Ref: 'AWS::AccountId' }] },
    });
  });
});
