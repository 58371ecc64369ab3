/**
 * Every IAM statement the project deploys or asks for, checked against IAM's service reference
 * (pinned in requirements-iam.txt; test/support/iam-reference.ts says how it reads a statement):
 * the roles' inline and trust policies, the policies and resource policies of the packaged
 * template, and deploy/deployer-policy.json. Nothing is deployed, so this is where an action that
 * does not exist, an ARN of the wrong resource type or a condition key the action never carries
 * (which denies at run time on AWS) is found. The checker is also shown known faults, so that a
 * checker that finds nothing cannot pass.
 */
// biome-ignore-all lint/suspicious/noTemplateCurlyInString: IAM writes its ARN formats and condition keys with ${…}
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { PROJECT_ROOT } from '../../../local/index.ts';
import {
  arnMatches,
  checkStatement,
  type IamReference,
  type Located,
  loadIamReference,
  pinnedVersion,
  policyFileStatements,
  type Statement,
  templateStatements,
} from '../../support/iam-reference.ts';
import { packageService } from '../../support/package.ts';

let reference: IamReference;
let template: Located[];
const deployer = policyFileStatements(
  'deploy/deployer-policy.json',
  JSON.parse(readFileSync(join(PROJECT_ROOT, 'deploy', 'deployer-policy.json'), 'utf8')),
);

beforeAll(async () => {
  reference = loadIamReference();
  const { template: packaged } = await packageService();
  template = templateStatements(packaged as Parameters<typeof templateStatements>[0]);
}, 180_000);

describe('IAM service reference', () => {
  it('is the pinned release', () => {
    expect(reference.version).toBe(pinnedVersion());
  });

  it('holds every statement of the packaged template', () => {
    const findings = template.flatMap((located) => checkStatement(reference, located));
    expect(findings).toEqual([]);
    expect(template.length).toBeGreaterThan(40);
  });

  it('holds every statement of the deployer policy', () => {
    const findings = deployer.flatMap((located) => checkStatement(reference, located));
    expect(findings).toEqual([]);
    expect(deployer.length).toBeGreaterThan(10);
  });

  it('matches every ARN against IAM but those of resources the packaged parameters leave out', () => {
    expect(template.filter((located) => located.resourcesUnchecked).map((located) => located.where)).toEqual([
      'ImageUefiDataBucketPolicy PolicyDocument Statement[0]',
      // Only with organizationId (none by default).
      'SourceReaderOrganizationPolicy PolicyDocument Statement[0]',
    ]);
  });
});

describe('the check finds', () => {
  const check = (statement: Statement, resources = [statement.Resource as string].flat()) =>
    checkStatement(reference, { where: 'Planted Statement[0]', statement, resources });
  const image = 'arn:aws:ec2:*::image/*';

  it('a condition key the action does not carry, with what IAM lists', () => {
    const [finding, ...more] = check({
      Effect: 'Allow',
      Action: 'ec2:CopyImage',
      Resource: image,
      Condition: { Null: { 'aws:ResourceTag/snap2ami:key': 'false' } },
    });
    expect(more).toEqual([]);
    expect(finding).toContain(
      'Planted Statement[0]: ec2:CopyImage: condition key aws:ResourceTag/snap2ami:key',
    );
    expect(finding).toContain('image: aws:RequestTag/${TagKey}, aws:TagKeys, ec2:ImageID, ec2:Owner');
  });

  it('a key that only one of the statement’s actions carries', () => {
    expect(
      check({
        Effect: 'Allow',
        Action: ['ec2:CreateTags', 'ec2:ModifyImageAttribute'],
        Resource: image,
        Condition: { StringEquals: { 'ec2:CreateAction': 'CopyImage' } },
      }),
    ).toEqual([
      expect.stringContaining('ec2:ModifyImageAttribute: condition key ec2:CreateAction does not apply'),
    ]);
  });

  it('an action that does not exist, naming those near it', () => {
    expect(check({ Effect: 'Allow', Action: 'ec2:DescribeImageReference', Resource: '*' })).toEqual([
      expect.stringMatching(/ec2:DescribeImageReference: no such action .*ec2:DescribeImageReferences/),
    ]);
    expect(check({ Effect: 'Allow', Action: 'ec2:Describe*Imagez', Resource: '*' })).toHaveLength(1);
  });

  it('an ARN of a resource type the action does not authorize', () => {
    expect(
      check({ Effect: 'Allow', Action: 'ec2:DeregisterImage', Resource: 'arn:aws:ec2:*::snapshot/*' }),
    ).toEqual([expect.stringContaining('is no resource type of ec2:DeregisterImage; IAM lists')]);
    expect(check({ Effect: 'Allow', Action: 'ec2:DescribeImages', Resource: image })).toEqual([
      expect.stringContaining('"*" only (no resource-level permissions)'),
    ]);
  });

  it('an action left without a resource of its own among the statement’s', () => {
    expect(
      check({
        Effect: 'Allow',
        Action: ['ec2:DeleteSnapshot', 'ec2:DeregisterImage'],
        Resource: 'arn:aws:ec2:*::snapshot/*',
      }),
    ).toEqual([expect.stringContaining('ec2:DeregisterImage authorizes none of arn:aws:ec2:*::snapshot/*')]);
  });
});

describe('ARN patterns against ARN formats', () => {
  it.each([
    ['arn:aws:ec2:*::image/*', 'arn:${Partition}:ec2:${Region}::image/${ImageId}', true],
    ['arn:aws:ec2:*::image/*', 'arn:${Partition}:ec2:${Region}::snapshot/${SnapshotId}', false],
    [
      'arn:aws:logs:us-east-1:123456789012:log-group:/aws/lambda/x:*',
      'arn:${Partition}:logs:${Region}:${Account}:log-group:${LogGroupName}:log-stream:${LogStreamName}',
      true,
    ],
    [
      'arn:aws:lambda:*:*:function:snap2ami-*',
      'arn:${Partition}:lambda:${Region}:${Account}:function:${FunctionName}',
      true,
    ],
    ['arn:aws:s3:::snap2ami-*', 'arn:${Partition}:s3:::${BucketName}/${ObjectName}', true],
    ['arn:aws:s3:::/*', 'arn:${Partition}:s3:::${BucketName}/${ObjectName}', false],
    ['arn:aws:sqs:us-east-1:123456789012:*', 'arn:${Partition}:sns:${Region}:${Account}:${TopicName}', false],
    ['arn:aws:iam::*:role/snap2ami-*', 'arn:${Partition}:iam::${Account}:role/${RoleNameWithPath}', true],
    [
      'arn:aws:iam::*:role/snap2ami-*',
      'arn:${Partition}:iam::${Account}:policy/${PolicyNameWithPath}',
      false,
    ],
  ])('%s ~ %s: %s', (arn, format, expected) => {
    expect(arnMatches(arn, format)).toBe(expected);
  });
});
