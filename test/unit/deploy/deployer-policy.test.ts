/**
 * deploy/deployer-policy.json, the least-privilege policy a platform engineer gives whoever
 * runs `npm run deploy`: valid IAM JSON that fits a managed policy, and enough for what
 * `serverless deploy` (and remove) calls and for CloudFormation to create, update and delete
 * every resource type in the packaged template, on this project's names only. A resource type
 * the template gains fails here until its actions are listed below and allowed by the policy.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { PROJECT_ROOT } from '../../../local/index.ts';
import { packageService, type Template } from '../../support/package.ts';

interface Statement {
  Sid?: string;
  Effect: string;
  Action: string | string[];
  Resource: string | string[];
  Condition?: Record<string, Record<string, string | string[]>>;
}
const text = readFileSync(join(PROJECT_ROOT, 'deploy', 'deployer-policy.json'), 'utf8');
const policy = JSON.parse(text) as { Version: string; Statement: Statement[] };
const list = (value: string | string[]) => [value].flat();

/** IAM's wildcard match (`*` any run of characters, `?` one), case-sensitive as for ARNs. */
const globMatch = (pattern: string, value: string) =>
  new RegExp(
    `^${pattern
      .replace(/[.+^${}()|[\]\\]/g, '\\$&')
      .replace(/\*/g, '.*')
      .replace(/\?/g, '.')}$`,
  ).test(value);

/** Whether the policy allows `action` on `resource`, given the request's condition keys. */
function allows(action: string, resource: string, context: Record<string, string> = {}): boolean {
  return policy.Statement.some(
    (s) =>
      s.Effect === 'Allow' &&
      list(s.Action).some((pattern) => globMatch(pattern.toLowerCase(), action.toLowerCase())) &&
      list(s.Resource).some((pattern) => globMatch(pattern, resource)) &&
      Object.entries(s.Condition ?? {}).every(([operator, keys]) =>
        Object.entries(keys).every(([key, expected]) => {
          const actual = context[key];
          if (actual === undefined) return false;
          const equal = operator === 'StringEquals' || operator === 'ArnEquals';
          return list(expected).some((value) => (equal ? value === actual : globMatch(value, actual)));
        }),
      ),
  );
}

const ACCOUNT = '111122223333';
const AT = `eu-west-1:${ACCOUNT}`;
const ARN = {
  stack: `arn:aws:cloudformation:${AT}:stack/snap2ami-prod/0a1b2c3d-4e5f-6a7b-8c9d-0e1f2a3b4c5d`,
  bucket: 'arn:aws:s3:::snap2ami-prod-serverlessdeploymentbucket-1x2y3z4w5v6u',
  artifact:
    'arn:aws:s3:::snap2ami-prod-serverlessdeploymentbucket-1x2y3z4w5v6u/serverless/snap2ami/prod/1/ingest.zip',
  role: `arn:aws:iam::${ACCOUNT}:role/snap2ami-prod-IngestRole-AbCdEfGh1234`,
  managedPolicy: `arn:aws:iam::${ACCOUNT}:policy/snap2ami-prod-FunctionTracingPolicy-AbCdEfGh1234`,
  function: `arn:aws:lambda:${AT}:function:snap2ami-prod-ingest`,
  version: `arn:aws:lambda:${AT}:function:snap2ami-prod-ingest:7`,
  mapping: `arn:aws:lambda:${AT}:event-source-mapping:0a1b2c3d-4e5f-6a7b-8c9d-0e1f2a3b4c5d`,
  stateMachine: `arn:aws:states:${AT}:stateMachine:snap2ami-prod-register-image`,
  queue: `arn:aws:sqs:${AT}:snap2ami-prod-snapshot-events`,
  topic: `arn:aws:sns:${AT}:snap2ami-prod-notifications`,
  table: `arn:aws:dynamodb:${AT}:table/snap2ami-prod-records`,
  rule: `arn:aws:events:${AT}:rule/snap2ami-prod-EbsSnapshotRule-AbCdEfGh1234`,
  organizationBus: `arn:aws:events:${AT}:event-bus/snap2ami-prod-organization`,
  organizationRule: `arn:aws:events:${AT}:rule/snap2ami-prod-organization/snap2ami-prod-OrganizationSnapshotRule-AbCdEfGh1234`,
  functionLogs: `arn:aws:logs:${AT}:log-group:/aws/lambda/snap2ami-prod-ingest`,
  machineLogs: `arn:aws:logs:${AT}:log-group:/aws/vendedlogs/states/snap2ami-prod-register-image`,
  alarm: `arn:aws:cloudwatch:${AT}:alarm:snap2ami-prod-dead-letter-queue-not-empty`,
  dashboard: `arn:aws:cloudwatch::${ACCOUNT}:dashboard/snap2ami-prod`,
  key: `arn:aws:kms:${AT}:key/1234abcd-12ab-34cd-56ef-1234567890ab`,
  alias: `arn:aws:kms:${AT}:alias/snap2ami-prod-operations`,
  securityGroup: `arn:aws:ec2:${AT}:security-group/sg-0123456789abcdef0`,
  vpc: `arn:aws:ec2:${AT}:vpc/vpc-0123456789abcdef0`,
};
const OUR_KEY = { 'aws:ResourceTag/aws:cloudformation:stack-name': 'snap2ami-prod' };
const BY_FUNCTION = { 'lambda:FunctionArn': ARN.function };

/** [action, resource, condition keys of the request] */
type Need = [string, string, Record<string, string>?];
const each = (resource: string, actions: string[], context?: Record<string, string>): Need[] =>
  actions.map((action) => [action, resource, context]);

/** What CloudFormation calls, with the deployer's credentials, to create, update and delete each type. */
const NEEDS: Record<string, Need[]> = {
  // The launch test's group, when the deployment names a VPC and no group (serverless.yml).
  'AWS::EC2::SecurityGroup': [
    ...each(ARN.securityGroup, ['ec2:CreateSecurityGroup', 'ec2:CreateTags']),
    ['ec2:CreateSecurityGroup', ARN.vpc],
    ...each(
      ARN.securityGroup,
      ['ec2:AuthorizeSecurityGroupEgress', 'ec2:RevokeSecurityGroupEgress', 'ec2:DeleteSecurityGroup'],
      OUR_KEY,
    ),
    ['ec2:DescribeSecurityGroups', '*'],
  ],
  'AWS::S3::Bucket': each(ARN.bucket, [
    's3:CreateBucket',
    's3:PutEncryptionConfiguration',
    's3:PutBucketPublicAccessBlock',
    's3:PutBucketVersioning',
    's3:PutBucketTagging',
    's3:ListBucket',
    's3:DeleteBucket',
  ]),
  'AWS::S3::BucketPolicy': each(ARN.bucket, [
    's3:PutBucketPolicy',
    's3:GetBucketPolicy',
    's3:DeleteBucketPolicy',
  ]),
  'AWS::Logs::LogGroup': [
    ...each(ARN.functionLogs, [
      'logs:CreateLogGroup',
      'logs:PutRetentionPolicy',
      'logs:DeleteLogGroup',
      'logs:TagResource',
    ]),
    ...each(ARN.machineLogs, ['logs:CreateLogGroup', 'logs:PutRetentionPolicy', 'logs:DeleteLogGroup']),
    ['logs:DescribeLogGroups', '*'],
  ],
  'AWS::IAM::Role': [
    ...each(ARN.role, [
      'iam:CreateRole',
      'iam:GetRole',
      'iam:PutRolePolicy',
      'iam:DeleteRolePolicy',
      'iam:AttachRolePolicy',
      'iam:DetachRolePolicy',
      'iam:UpdateAssumeRolePolicy',
      'iam:ListRolePolicies',
      'iam:ListAttachedRolePolicies',
      'iam:DeleteRole',
    ]),
  ],
  // An inline policy of one of the stack's roles (ImageUefiDataBucketPolicy, when a bucket is named).
  'AWS::IAM::Policy': each(ARN.role, ['iam:PutRolePolicy', 'iam:GetRolePolicy', 'iam:DeleteRolePolicy']),
  'AWS::IAM::ManagedPolicy': each(ARN.managedPolicy, [
    'iam:CreatePolicy',
    'iam:GetPolicy',
    'iam:CreatePolicyVersion',
    'iam:ListPolicyVersions',
    'iam:DeletePolicyVersion',
    'iam:ListEntitiesForPolicy',
    'iam:DeletePolicy',
  ]),
  'AWS::Lambda::Function': [
    ...each(ARN.function, [
      'lambda:CreateFunction',
      'lambda:GetFunction',
      'lambda:UpdateFunctionCode',
      'lambda:UpdateFunctionConfiguration',
      'lambda:PutFunctionConcurrency',
      'lambda:DeleteFunctionConcurrency',
      'lambda:TagResource',
      'lambda:DeleteFunction',
    ]),
    ['iam:PassRole', ARN.role, { 'iam:PassedToService': 'lambda.amazonaws.com' }],
    ['s3:GetObject', ARN.artifact],
  ],
  'AWS::Lambda::Version': [
    ...each(ARN.function, ['lambda:PublishVersion', 'lambda:ListVersionsByFunction']),
    ['lambda:DeleteFunction', ARN.version],
  ],
  'AWS::Lambda::Permission': each(ARN.function, [
    'lambda:AddPermission',
    'lambda:GetPolicy',
    'lambda:RemovePermission',
  ]),
  'AWS::Lambda::EventInvokeConfig': each(ARN.function, [
    'lambda:PutFunctionEventInvokeConfig',
    'lambda:GetFunctionEventInvokeConfig',
    'lambda:UpdateFunctionEventInvokeConfig',
    'lambda:DeleteFunctionEventInvokeConfig',
  ]),
  'AWS::Lambda::EventSourceMapping': each(
    ARN.mapping,
    [
      'lambda:CreateEventSourceMapping',
      'lambda:GetEventSourceMapping',
      'lambda:UpdateEventSourceMapping',
      'lambda:DeleteEventSourceMapping',
    ],
    BY_FUNCTION,
  ),
  'AWS::StepFunctions::StateMachine': [
    ...each(ARN.stateMachine, [
      'states:CreateStateMachine',
      'states:DescribeStateMachine',
      'states:UpdateStateMachine',
      'states:TagResource',
      'states:DeleteStateMachine',
    ]),
    ['iam:PassRole', ARN.role, { 'iam:PassedToService': 'states.amazonaws.com' }],
    // Logging to CloudWatch Logs is set up with the caller's permissions.
    ...each('*', [
      'logs:CreateLogDelivery',
      'logs:GetLogDelivery',
      'logs:UpdateLogDelivery',
      'logs:DeleteLogDelivery',
      'logs:ListLogDeliveries',
      'logs:PutResourcePolicy',
      'logs:DescribeResourcePolicies',
      'logs:DescribeLogGroups',
    ]),
  ],
  'AWS::SQS::Queue': each(ARN.queue, [
    'sqs:CreateQueue',
    'sqs:GetQueueAttributes',
    'sqs:SetQueueAttributes',
    'sqs:TagQueue',
    'sqs:DeleteQueue',
  ]),
  'AWS::SQS::QueuePolicy': each(ARN.queue, ['sqs:SetQueueAttributes', 'sqs:GetQueueAttributes']),
  'AWS::SNS::Topic': each(ARN.topic, [
    'sns:CreateTopic',
    'sns:GetTopicAttributes',
    'sns:SetTopicAttributes',
    'sns:TagResource',
    'sns:DeleteTopic',
  ]),
  'AWS::SNS::TopicPolicy': each(ARN.topic, ['sns:SetTopicAttributes', 'sns:GetTopicAttributes']),
  'AWS::DynamoDB::Table': each(ARN.table, [
    'dynamodb:CreateTable',
    'dynamodb:DescribeTable',
    'dynamodb:UpdateTable',
    'dynamodb:UpdateTimeToLive',
    'dynamodb:DescribeTimeToLive',
    'dynamodb:UpdateContinuousBackups',
    'dynamodb:DescribeContinuousBackups',
    'dynamodb:TagResource',
    'dynamodb:DeleteTable',
  ]),
  'AWS::Events::Rule': each(ARN.rule, [
    'events:PutRule',
    'events:DescribeRule',
    'events:PutTargets',
    'events:ListTargetsByRule',
    'events:RemoveTargets',
    'events:DeleteRule',
  ]),
  // The organization's bus, its policy and its rule (resources/organization.yml, with organizationId only).
  'AWS::Events::EventBus': each(ARN.organizationBus, [
    'events:CreateEventBus',
    'events:DescribeEventBus',
    'events:TagResource',
    'events:ListTagsForResource',
    'events:DeleteEventBus',
  ]),
  'AWS::Events::EventBusPolicy': [
    // PutPermission and RemovePermission have no resource-level permissions (IAM: "*" only).
    ...each('*', ['events:PutPermission', 'events:RemovePermission']),
    ...each(ARN.organizationBus, ['events:DescribeEventBus']),
    ...each(ARN.organizationRule, ['events:PutRule', 'events:PutTargets', 'events:DeleteRule']),
  ],
  'AWS::CloudWatch::Alarm': each(ARN.alarm, [
    'cloudwatch:PutMetricAlarm',
    'cloudwatch:DescribeAlarms',
    'cloudwatch:TagResource',
    'cloudwatch:DeleteAlarms',
  ]),
  'AWS::CloudWatch::Dashboard': each(ARN.dashboard, [
    'cloudwatch:PutDashboard',
    'cloudwatch:GetDashboard',
    'cloudwatch:DeleteDashboards',
  ]),
  'AWS::KMS::Key': [
    ['kms:CreateKey', '*'],
    ['kms:TagResource', '*'],
    ...each(
      ARN.key,
      [
        'kms:DescribeKey',
        'kms:GetKeyPolicy',
        'kms:PutKeyPolicy',
        'kms:EnableKeyRotation',
        'kms:GetKeyRotationStatus',
        'kms:ScheduleKeyDeletion',
      ],
      OUR_KEY,
    ),
  ],
  'AWS::KMS::Alias': [
    ...each(ARN.alias, ['kms:CreateAlias', 'kms:UpdateAlias', 'kms:DeleteAlias']),
    ...each(ARN.key, ['kms:CreateAlias', 'kms:DeleteAlias']),
    ['kms:ListAliases', '*'],
  ],
};

/** What `serverless deploy --package` and `serverless remove` call themselves (osls lib/plugins/aws). */
const SERVERLESS: Need[] = [
  ['sts:GetCallerIdentity', '*'],
  ['cloudformation:ValidateTemplate', '*'],
  ...each(ARN.stack, [
    'cloudformation:DescribeStacks',
    'cloudformation:CreateStack',
    'cloudformation:UpdateStack',
    'cloudformation:SetStackPolicy',
    'cloudformation:DescribeStackEvents',
    'cloudformation:DescribeStackResource',
    'cloudformation:ListStackResources',
    'cloudformation:GetTemplate',
    'cloudformation:CreateChangeSet',
    'cloudformation:DescribeChangeSet',
    'cloudformation:ExecuteChangeSet',
    'cloudformation:DeleteChangeSet',
    'cloudformation:DeleteStack',
  ]),
  ...each(ARN.bucket, ['s3:ListBucket', 's3:ListBucketVersions', 's3:GetBucketLocation']),
  ...each(ARN.artifact, ['s3:PutObject', 's3:GetObject', 's3:DeleteObject', 's3:DeleteObjectVersion']),
];

let template: Template;
beforeAll(async () => {
  ({ template } = await packageService());
}, 180_000);

describe('the deployer policy', () => {
  it('is valid IAM JSON that fits a managed policy', () => {
    expect(policy.Version).toBe('2012-10-17');
    expect(policy.Statement.length).toBeGreaterThan(0);
    expect(text.replace(/\s/g, '').length).toBeLessThanOrEqual(6144);
    const sids = policy.Statement.map((s) => s.Sid);
    expect(new Set(sids).size).toBe(sids.length);
    for (const statement of policy.Statement) {
      const where = JSON.stringify(statement).slice(0, 120);
      expect(
        Object.keys(statement).every((key) =>
          ['Sid', 'Effect', 'Action', 'Resource', 'Condition'].includes(key),
        ),
        where,
      ).toBe(true);
      expect(statement.Sid, where).toMatch(/^[A-Za-z0-9]+$/);
      expect(statement.Effect, where).toBe('Allow');
      // An action by name, or every read action of a kind (Get*, List*, Describe*) on the
      // statement's own resources; never a whole service.
      for (const action of list(statement.Action))
        expect(action, where).toMatch(/^[a-z0-9-]+:([A-Z][A-Za-z0-9]+|(Get|List|Describe)\*)$/);
      for (const resource of list(statement.Resource))
        expect(resource, where).toMatch(/^(\*|arn:aws:[a-z0-9-]+:[a-z0-9-*]*:[0-9*]*:.+)$/);
      for (const operator of Object.keys(statement.Condition ?? {}))
        expect(['StringEquals', 'StringLike', 'ArnLike', 'ArnEquals'], where).toContain(operator);
    }
  });

  it('has its create, update and delete actions for every resource type in the packaged template', () => {
    const types = [...new Set(Object.values(template.Resources).map((resource) => resource.Type))].sort();
    expect(types.filter((type) => !(type in NEEDS))).toEqual([]);
    for (const type of types)
      for (const [action, resource, context] of NEEDS[type] ?? [])
        expect(allows(action, resource, context), `${type}: ${action} on ${resource}`).toBe(true);
  });

  it('covers what serverless deploy and remove call themselves', () => {
    for (const [action, resource, context] of SERVERLESS)
      expect(allows(action, resource, context), `${action} on ${resource}`).toBe(true);
  });

  it("allows none of it on another project's resources, and passes roles to Lambda and Step Functions only", () => {
    const elsewhere = Object.values(NEEDS)
      .flat()
      .filter(([, resource]) => resource !== '*' && resource.includes('snap2ami-'));
    expect(elsewhere.length).toBeGreaterThan(50);
    for (const [action, resource, context] of elsewhere) {
      const other = resource.replaceAll('snap2ami-', 'payroll-');
      const otherContext = Object.fromEntries(
        Object.entries(context ?? {}).map(([key, value]) => [key, value.replaceAll('snap2ami-', 'payroll-')]),
      );
      expect(allows(action, other, otherContext), `${action} on ${other}`).toBe(false);
    }
    expect(allows('iam:PassRole', ARN.role, { 'iam:PassedToService': 'ec2.amazonaws.com' })).toBe(false);
    expect(
      allows('kms:ScheduleKeyDeletion', ARN.key, {
        'aws:ResourceTag/aws:cloudformation:stack-name': 'payroll',
      }),
    ).toBe(false);
  });
});
