/** `serverless package` works offline and yields the template and the artifacts that deploy. */
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { AMI_EVENT_PATTERN } from '#shared/ami-events.ts';
import { RECORDS_BY_STATUS_INDEX } from '#shared/records.ts';
import { functionNames } from '../../../scripts/build.ts';
import { iamStatements, packageService, type Template } from '../../support/package.ts';
import { zipEntries } from '../../support/zip.ts';

let template: Template;
let output: string;
/** Where the packaged artifacts and bundles are (test/support/package.ts). */
let root: string;

beforeAll(async () => {
  ({ template, output, root } = await packageService());
}, 180_000);

describe('serverless package', () => {
  it("sends EC2's AMI events to the resume function, on the pattern the code and the copy Regions' forwarding rule use (ADR 0013)", () => {
    const rules = Object.values(template.Resources).filter(
      (r) =>
        r.Type === 'AWS::Events::Rule' &&
        JSON.stringify(r.Properties.Targets).includes('ResumeLambdaFunction'),
    );
    expect(rules.map((r) => r.Properties.EventPattern)).toEqual([AMI_EVENT_PATTERN]);
    const forwarding = parse(
      readFileSync(join(import.meta.dirname, '..', '..', '..', 'deploy', 'ami-event-forwarding.yml'), 'utf8'),
      {
        customTags: [
          { tag: '!Sub', resolve: (value: string) => value },
          { tag: '!GetAtt', resolve: (v: string) => v },
          { tag: '!Ref', resolve: (v: string) => v },
        ],
      },
    ) as { Resources: { ForwardingRule: { Properties: { EventPattern: unknown } } } };
    expect(forwarding.Resources.ForwardingRule.Properties.EventPattern).toEqual(AMI_EVENT_PATTERN);
  });

  it('succeeds offline (in a network namespace with no network, where the machine allows one)', () => {
    expect(output).toContain('Service packaged');
    expect(output).not.toMatch(/credentials|ENOTFOUND|ECONNREFUSED/i);
  });

  it('deploys the ingest function on the Node 24 runtime, bundled as an ES module', () => {
    const ingest = template.Resources.IngestLambdaFunction;
    expect(ingest?.Type).toBe('AWS::Lambda::Function');
    expect(ingest?.Properties).toMatchObject({
      Runtime: 'nodejs24.x',
      Handler: 'dist/ingest/index.handler',
      Architectures: ['arm64'],
    });
  });

  it("gives every function the parameters' documented defaults (serverless.yml params:)", () => {
    for (const name of ['IngestLambdaFunction', 'ImageLambdaFunction', 'LifecycleLambdaFunction']) {
      expect(template.Resources[name]?.Properties.Environment).toMatchObject({
        Variables: {
          SNAP2AMI_TAG_PREFIX: 'snap2ami:',
          SNAP2AMI_ALLOWED_SOURCE_ACCOUNTS: '',
          SNAP2AMI_EC2_RATE_SHARE: '0.5',
          SNAP2AMI_EC2_BUCKET_OVERRIDES: '',
        },
      });
    }
    // Admission control's table: ingest takes from it, the image and lifecycle functions report throttling to it.
    for (const name of ['IngestLambdaFunction', 'ImageLambdaFunction', 'LifecycleLambdaFunction'])
      expect(template.Resources[name]?.Properties.Environment).toMatchObject({
        Variables: { ADMISSION_TABLE_NAME: expect.stringMatching(/-admission$/) },
      });
  });

  it('tells the image function where it may read UefiData: no bucket, and /snap2ami/uefi-data/ by default', () => {
    expect(template.Resources.ImageLambdaFunction?.Properties.Environment).toMatchObject({
      Variables: { SNAP2AMI_UEFI_DATA_BUCKET: '', SNAP2AMI_UEFI_DATA_PARAMETER_PATH: '/snap2ami/uefi-data/' },
    });
  });

  it('declares the pipeline: rules → queue with a DLQ → ingest → state machine, table, topic', () => {
    const r = template.Resources;
    const type = (name: string) => r[name]?.Type;
    expect(type('SnapshotEventsQueue')).toBe('AWS::SQS::Queue');
    expect(r.SnapshotEventsQueue?.Properties.RedrivePolicy).toMatchObject({ maxReceiveCount: 5 });
    expect(r.DeadLetterQueue?.Properties.MessageRetentionPeriod).toBe(1209600);
    for (const rule of [
      'EbsSnapshotRule',
      'EbsMultiVolumeSnapshotRule',
      'BackupRule',
      'SnapshotTaggedRule',
    ]) {
      expect(type(rule)).toBe('AWS::Events::Rule');
      expect(JSON.stringify(r[rule]?.Properties.Targets)).toContain('SnapshotEventsQueue');
    }
    const mapping = Object.values(r).find((res) => res.Type === 'AWS::Lambda::EventSourceMapping');
    expect(mapping?.Properties).toMatchObject({
      BatchSize: 10,
      MaximumBatchingWindowInSeconds: 10,
      FunctionResponseTypes: ['ReportBatchItemFailures'],
      ScalingConfig: { MaximumConcurrency: 5 },
    });
    expect(type('RegisterImageStateMachine')).toBe('AWS::StepFunctions::StateMachine');
    expect(r.RecordsTable?.Properties).toMatchObject({
      BillingMode: 'PAY_PER_REQUEST',
      TimeToLiveSpecification: { AttributeName: 'expiresAt', Enabled: true },
      PointInTimeRecoverySpecification: { PointInTimeRecoveryEnabled: true },
    });
    expect(type('NotificationsTopic')).toBe('AWS::SNS::Topic');
  });

  it("lets every rule that targets the queue send to it, and only those (the queue policy's SourceArn)", () => {
    const r = template.Resources;
    const rules = Object.entries(r)
      .filter(([, res]) => res.Type === 'AWS::Events::Rule')
      .filter(([, res]) => JSON.stringify(res.Properties.Targets).includes('SnapshotEventsQueue'))
      .map(([name, res]) => {
        const arn = { 'Fn::GetAtt': [name, 'Arn'] };
        // A rule that exists only under a condition (the organization's) is named under the same one.
        const condition = (res as { Condition?: string }).Condition;
        return condition ? { 'Fn::If': [condition, arn, { Ref: 'AWS::NoValue' }] } : arn;
      });
    expect(rules.length).toBeGreaterThanOrEqual(4);
    const statement = (
      r.SnapshotEventsQueuePolicy?.Properties.PolicyDocument as unknown as
        | {
            Statement: { Condition: { ArnEquals: { 'aws:SourceArn': unknown[] } } }[];
          }
        | undefined
    )?.Statement[0];
    expect(statement?.Condition.ArnEquals['aws:SourceArn']).toEqual(expect.arrayContaining(rules));
    expect(statement?.Condition.ArnEquals['aws:SourceArn']).toHaveLength(rules.length);
  });

  it('catches snapshots tagged <prefix>register after they completed: CloudTrail CreateTags, not failed calls', () => {
    expect(template.Resources.SnapshotTaggedRule?.Properties.EventPattern).toEqual({
      source: ['aws.ec2'],
      'detail-type': ['AWS API Call via CloudTrail'],
      detail: {
        eventSource: ['ec2.amazonaws.com'],
        eventName: ['CreateTags'],
        errorCode: [{ exists: false }],
        requestParameters: {
          resourcesSet: { items: { resourceId: [{ prefix: 'snap-' }] } },
          tagSet: { items: { key: ['snap2ami:register'] } },
        },
      },
    });
  });

  it('gives each function and the state machine a role of its own', () => {
    const r = template.Resources;
    expect(r.IngestLambdaFunction?.Properties.Role).toEqual({ 'Fn::GetAtt': ['IngestRole', 'Arn'] });
    expect(r.ImageLambdaFunction?.Properties.Role).toEqual({ 'Fn::GetAtt': ['ImageRole', 'Arn'] });
    expect(r.LifecycleLambdaFunction?.Properties.Role).toEqual({ 'Fn::GetAtt': ['LifecycleRole', 'Arn'] });
    expect(r.ReconcileLambdaFunction?.Properties.Role).toEqual({ 'Fn::GetAtt': ['ReconcileRole', 'Arn'] });
    expect(r.RegisterImageStateMachine?.Properties.RoleArn).toEqual({
      'Fn::GetAtt': ['StateMachineRole', 'Arn'],
    });
    expect(Object.keys(r)).not.toContain('IamRoleLambdaExecution');
  });

  it('deploys the definition in statemachine/, with the image function and the table bound', () => {
    const definition = JSON.stringify(
      template.Resources.RegisterImageStateMachine?.Properties.DefinitionString,
    );
    expect(definition).toContain('ImageLambdaFunction');
    expect(definition).toContain('RecordsTable');
    expect(definition).toContain('NotificationsTopic');
  });

  it('runs the reconciler on a schedule', () => {
    const r = template.Resources;
    expect(r.ReconcileLambdaFunction?.Properties).toMatchObject({
      Handler: 'dist/reconcile/index.handler',
      Timeout: 120,
      Environment: {
        Variables: expect.objectContaining({
          RECORDS_TABLE_NAME: expect.stringMatching(/-records$/),
          SNAPSHOT_EVENTS_QUEUE_NAME: expect.stringMatching(/-snapshot-events$/),
          RECONCILE_GRACE_MINUTES: '60',
        }),
      },
    });
    const schedules = Object.values(r).filter(
      (res) =>
        res.Type === 'AWS::Events::Rule' &&
        JSON.stringify(res.Properties.Targets).includes('ReconcileLambdaFunction'),
    );
    expect(schedules).toHaveLength(1);
    expect(schedules[0]?.Properties).toMatchObject({
      ScheduleExpression: 'rate(15 minutes)',
      State: 'ENABLED',
    });
    const permission = Object.values(r).find(
      (res) =>
        res.Type === 'AWS::Lambda::Permission' &&
        JSON.stringify(res.Properties.FunctionName).includes('ReconcileLambdaFunction'),
    );
    expect(permission?.Properties).toMatchObject({ Principal: 'events.amazonaws.com' });
  });

  it("gives the reconciler only the actions it uses, and the table's actions only on the table and its index (retention's: below)", () => {
    const statements = iamStatements(template).filter(({ resource }) => resource === 'ReconcileRole');
    const actions = statements.flatMap(({ statement }) => [statement.Action].flat()).sort();
    expect(actions).toEqual(
      [
        'dynamodb:GetItem',
        'dynamodb:Query',
        'dynamodb:UpdateItem',
        'ec2:DescribeImages',
        'ec2:DescribeInstances',
        'ec2:DescribeSnapshots',
        'ec2:TerminateInstances',
        'logs:CreateLogStream',
        'logs:PutLogEvents',
        'sqs:GetQueueUrl',
        'sqs:SendMessage',
        'states:DescribeExecution',
      ].sort(),
    );
    const resourceOf = (action: string) =>
      JSON.stringify(
        statements.find(({ statement }) => [statement.Action].flat().includes(action))?.statement.Resource,
      );
    expect(resourceOf('dynamodb:Query')).toContain('/index/byStatus');
    expect(resourceOf('dynamodb:UpdateItem')).toContain('RecordsTable');
    expect(resourceOf('states:DescribeExecution')).toContain(':execution:snap2ami-dev-register-image:*');
    expect(resourceOf('sqs:SendMessage')).toContain('SnapshotEventsQueue');
  });

  it("declares the records table's status index under the name its readers query (shared/records.ts)", () => {
    const indexes = template.Resources.RecordsTable?.Properties.GlobalSecondaryIndexes as {
      IndexName: string;
    }[];
    expect(indexes.map((index) => index.IndexName)).toContain(RECORDS_BY_STATUS_INDEX);
  });

  it('gives ingest the actions its code calls: StartExecution, and DescribeExecution of the attempts it finds (startAttempt); admission control (its table, deferrals to its own queue)', () => {
    const statements = iamStatements(template).filter(({ resource }) => resource === 'IngestRole');
    const actions = statements.flatMap(({ statement }) => [statement.Action].flat()).sort();
    expect(actions).toEqual(
      [
        'dynamodb:GetItem',
        'dynamodb:UpdateItem',
        'ec2:DescribeSnapshots',
        'logs:CreateLogStream',
        'logs:PutLogEvents',
        'sqs:ChangeMessageVisibility',
        'sqs:DeleteMessage',
        'sqs:GetQueueAttributes',
        'sqs:GetQueueUrl',
        'sqs:GetQueueUrl',
        'sqs:ReceiveMessage',
        'sqs:SendMessage',
        'sqs:SendMessage',
        'states:DescribeExecution',
        'states:StartExecution',
      ].sort(),
    );
    const describe = statements.find(({ statement }) =>
      [statement.Action].flat().includes('states:DescribeExecution'),
    );
    expect(JSON.stringify(describe?.statement.Resource)).toContain(
      ':execution:snap2ami-dev-register-image:*',
    );
  });

  it('grants ec2:RegisterImage only under a condition: the key tag on the image, our accounts for the snapshots', () => {
    const grants = iamStatements(template).filter(({ statement }) =>
      [statement.Action].flat().includes('ec2:RegisterImage'),
    );
    expect(grants.map(({ resource }) => resource)).toEqual(['ImageRole', 'ImageRole']);
    for (const { statement } of grants) expect(statement.Condition, JSON.stringify(statement)).toBeDefined();
    const on = (type: string) =>
      grants.find(({ statement }) => JSON.stringify(statement.Resource).includes(`::${type}/*`))?.statement;
    expect(on('image')?.Condition).toEqual({
      Null: { 'aws:RequestTag/snap2ami:key': 'false' },
      'ForAnyValue:StringEquals': { 'aws:TagKeys': ['snap2ami:key'] },
    });
    // allowedSourceAccounts is empty by default: this account only.
    expect(on('snapshot')?.Condition).toEqual({ StringEquals: { 'ec2:Owner': [{ Ref: 'AWS::AccountId' }] } });
    // The image function looks the request's snapshots up before RegisterImage.
    const describes = iamStatements(template).filter(
      ({ resource, statement }) =>
        resource === 'ImageRole' && [statement.Action].flat().includes('ec2:DescribeSnapshots'),
    );
    expect(describes).toHaveLength(1);
  });

  it("gives admission control's table to ingest, image, lifecycle, launchTest and resume only, to read and update its item; ingest may send deferred messages back to its queue", () => {
    expect(template.Resources.AdmissionTable?.Properties).toMatchObject({
      BillingMode: 'PAY_PER_REQUEST',
      KeySchema: [{ AttributeName: 'pk', KeyType: 'HASH' }],
    });
    const onTable = iamStatements(template).filter(({ statement }) =>
      JSON.stringify(statement.Resource).includes('AdmissionTable'),
    );
    expect(onTable.map(({ resource }) => resource).sort()).toEqual([
      'ImageRole',
      'IngestRole',
      'LaunchTestRole',
      'LifecycleRole',
      'ResumeRole',
    ]);
    for (const { statement } of onTable)
      expect([statement.Action].flat().sort()).toEqual(['dynamodb:GetItem', 'dynamodb:UpdateItem']);
    const sends = iamStatements(template).filter(
      ({ resource, statement }) =>
        resource === 'IngestRole' && [statement.Action].flat().includes('sqs:SendMessage'),
    );
    expect(sends.map(({ statement }) => statement.Resource)).toEqual(
      expect.arrayContaining([{ 'Fn::GetAtt': ['SnapshotEventsQueue', 'Arn'] }]),
    );
  });

  it('lets the billing check deregister and tag only the images that carry the key tag', () => {
    const image = (action: string) =>
      iamStatements(template).filter(
        ({ resource, statement }) =>
          resource === 'ImageRole' &&
          [statement.Action].flat().includes(action) &&
          JSON.stringify(statement.Resource).includes('::image/*'),
      );
    expect(image('ec2:DeregisterImage')).toEqual([
      {
        resource: 'ImageRole',
        statement: expect.objectContaining({
          Condition: { Null: { 'aws:ResourceTag/snap2ami:key': 'false' } },
        }),
      },
    ]);
    expect(image('ec2:CreateTags').map(({ statement }) => statement.Condition)).toEqual([
      { StringEquals: { 'ec2:CreateAction': 'RegisterImage' } },
      {
        Null: { 'aws:ResourceTag/snap2ami:key': 'false' },
        'ForAllValues:StringEquals': { 'aws:TagKeys': ['snap2ami:billing-check'] },
      },
    ]);
  });

  it('lets the image function read UefiData under the parameter path, and from S3 only when a bucket is named', () => {
    const statements = iamStatements(template);
    const ssm = statements.filter(
      ({ resource, statement }) =>
        resource === 'ImageRole' && [statement.Action].flat().some((a) => String(a).startsWith('ssm:')),
    );
    expect(ssm.map(({ resource, statement }) => [resource, statement.Action])).toEqual([
      ['ImageRole', 'ssm:GetParameter'],
    ]);
    expect(JSON.stringify(ssm[0]?.statement.Resource)).toMatch(/:parameter\/snap2ami\/uefi-data\/\*"}$/);
    const s3 = statements.filter(({ statement }) =>
      [statement.Action].flat().some((a) => String(a).startsWith('s3:')),
    );
    expect(s3.map(({ resource }) => resource)).toEqual(['ImageUefiDataBucketPolicy']);
    const policy = template.Resources.ImageUefiDataBucketPolicy as unknown as { Condition?: string };
    expect(policy.Condition).toBe('UefiDataBucketNamed');
    // No bucket by default: the condition is false, and the policy is not created.
    expect((template as unknown as { Conditions: unknown }).Conditions).toMatchObject({
      UefiDataBucketNamed: { 'Fn::Not': [{ 'Fn::Equals': ['', ''] }] },
    });
    // The image role decrypts nothing itself (docs/deploying.md: customer managed keys).
    const kms = statements.filter(
      ({ resource, statement }) =>
        ['ImageRole', 'ImageUefiDataBucketPolicy'].includes(resource) &&
        [statement.Action].flat().some((a) => String(a).startsWith('kms:')),
    );
    expect(kms).toEqual([]);
  });

  it('encrypts the notifications topic with KMS, and lets the workflow publish to it', () => {
    expect(template.Resources.NotificationsTopic?.Properties.KmsMasterKeyId).toBe('alias/aws/sns');
    const machine = iamStatements(template).filter(({ resource }) => resource === 'StateMachineRole');
    const actions = machine.flatMap(({ statement }) => [statement.Action].flat());
    expect(actions).toEqual(expect.arrayContaining(['sns:Publish', 'kms:GenerateDataKey', 'kms:Decrypt']));
  });

  it('scopes every lifecycle call: no PutParameter or DeregisterImage on everything (ADR 0008)', () => {
    const statements = iamStatements(template);
    const granting = (action: string) =>
      statements.filter(({ statement }) => [statement.Action].flat().includes(action));
    // Only the lifecycle role removes, shares or protects AMIs (and the image role deregisters,
    // for the billing check), and only AMIs with the key tag.
    for (const action of [
      'ec2:DeregisterImage',
      'ec2:ModifyImageAttribute',
      'ec2:EnableImageDeprecation',
      'ec2:EnableImageDeregistrationProtection',
    ]) {
      const grants = granting(action);
      expect(
        grants.map(({ resource }) => resource),
        action,
      ).toEqual(action === 'ec2:DeregisterImage' ? ['ImageRole', 'RetentionPolicy'] : ['LifecycleRole']);
      for (const { statement } of grants)
        expect(statement.Condition).toEqual({ Null: { 'aws:ResourceTag/snap2ami:key': 'false' } });
    }
    // CopyImage authorizes the new AMI (tagged with the key by the request), the source AMI
    // (this account's) and the new snapshots (Service Authorization Reference; ADR 0008).
    const copies = granting('ec2:CopyImage').map(({ resource, statement }) => [
      resource,
      /::(image|snapshot)\/\*/.exec(JSON.stringify(statement.Resource))?.[1],
      statement.Condition,
    ]);
    expect(copies).toEqual([
      [
        'LifecycleRole',
        'image',
        {
          Null: { 'aws:RequestTag/snap2ami:key': 'false' },
          'ForAnyValue:StringEquals': { 'aws:TagKeys': ['snap2ami:key'] },
        },
      ],
      ['LifecycleRole', 'image', { StringEquals: { 'ec2:Owner': { Ref: 'AWS::AccountId' } } }],
      ['LifecycleRole', 'snapshot', undefined],
    ]);
    const [deleteSnapshot] = granting('ec2:DeleteSnapshot');
    expect(deleteSnapshot?.statement.Condition).toEqual({
      Null: { 'aws:ResourceTag/snap2ami:image-id': 'false' },
    });
    // SSM parameters under the deployment's path (serverless.yml params: ssmParameterPath).
    const [ssm] = granting('ssm:PutParameter');
    expect(JSON.stringify(ssm?.statement.Resource)).toContain(':parameter/snap2ami/*');
    expect(ssm?.statement.Resource).not.toBe('*');
    expect(template.Resources.LifecycleLambdaFunction?.Properties.Environment).toMatchObject({
      Variables: { SNAP2AMI_SSM_PARAMETER_PATH: '/snap2ami/', RECORDS_TABLE_NAME: 'snap2ami-dev-records' },
    });
    // The lifecycle role writes only the parameters' lock items and the families' retention items.
    const [locks] = granting('dynamodb:UpdateItem').filter(({ resource }) => resource === 'LifecycleRole');
    expect(locks?.statement.Condition).toEqual({
      'ForAllValues:StringLike': { 'dynamodb:LeadingKeys': ['ssm-parameter#*', 'retention#*'] },
    });
    // The workflow puts its events on the deployment's bus (default: the account's default bus) only.
    const [events] = granting('events:PutEvents');
    expect(events?.resource).toBe('StateMachineRole');
    expect(JSON.stringify(events?.statement.Resource)).toContain(':event-bus/default');
    const definition = JSON.stringify(
      template.Resources.RegisterImageStateMachine?.Properties.DefinitionString,
    );
    expect(definition).toContain('LifecycleLambdaFunction');
    expect(definition).toContain('arn:aws:states:::events:putEvents');
    expect(definition).toMatch(/EventBusName\\+": \\+"default/);
  });

  it("gives the reconciler's retention pass exactly the lifecycle's retention permissions: one policy on both roles (ADR 0008)", () => {
    const policy = template.Resources.RetentionPolicy;
    expect(policy?.Type).toBe('AWS::IAM::Policy');
    expect(policy?.Properties.Roles).toEqual([{ Ref: 'LifecycleRole' }, { Ref: 'ReconcileRole' }]);
    const statements = iamStatements(template);
    const retention = statements.filter(({ resource }) => resource === 'RetentionPolicy');
    const byAction = Object.fromEntries(
      retention.map(({ statement }) => [[statement.Action].flat().join(','), statement]),
    );
    expect(Object.keys(byAction).sort()).toEqual(
      [
        'ec2:DeregisterImage',
        'ec2:DisableImage,ec2:EnableImage',
        'ec2:CreateTags',
        'ec2:DeleteSnapshot',
        'ec2:DescribeImages,ec2:DescribeImageReferences,ec2:DescribeImageAttribute',
        'dynamodb:GetItem',
        'ssm:GetParameter',
      ].sort(),
    );
    // A grace (v3): disabled and enabled only on AMIs snap2ami made; tagged only with retention's tags.
    expect(byAction['ec2:DisableImage,ec2:EnableImage']).toMatchObject({
      Condition: { Null: { 'aws:ResourceTag/snap2ami:key': 'false' } },
    });
    expect(byAction['ec2:CreateTags']).toMatchObject({
      Condition: {
        Null: { 'aws:ResourceTag/snap2ami:key': 'false' },
        'ForAllValues:StringEquals': {
          'aws:TagKeys': ['snap2ami:pipeline', 'snap2ami:retired-at', 'snap2ami:retire-after'],
        },
      },
    });
    // Scoped as they were on the lifecycle role: by tag, by parameter path, in any Region.
    expect(byAction['ec2:DeregisterImage']).toMatchObject({
      Condition: { Null: { 'aws:ResourceTag/snap2ami:key': 'false' } },
    });
    expect(byAction['ec2:DeleteSnapshot']).toMatchObject({
      Condition: { Null: { 'aws:ResourceTag/snap2ami:image-id': 'false' } },
    });
    expect(JSON.stringify(byAction['ec2:DeregisterImage']?.Resource)).toContain(':ec2:*::image/*');
    expect(JSON.stringify(byAction['ec2:DeleteSnapshot']?.Resource)).toContain(':ec2:*::snapshot/*');
    expect(
      byAction['ec2:DescribeImages,ec2:DescribeImageReferences,ec2:DescribeImageAttribute']?.Resource,
    ).toBe('*');
    expect(JSON.stringify(byAction['ssm:GetParameter']?.Resource)).toMatch(
      /:ssm:\*:.*:parameter\/snap2ami\/\*/,
    );
    // Neither role holds a retention call of its own besides (the reconciler describes images
    // for its other passes), so the two cannot drift apart.
    for (const action of [
      'ec2:DeregisterImage',
      'ec2:DeleteSnapshot',
      'ec2:DescribeImageReferences',
      'ec2:DisableImage',
      'ssm:GetParameter',
    ])
      expect(
        statements
          .filter(({ statement }) => [statement.Action].flat().includes(action))
          .map(({ resource }) => resource)
          .filter((resource) => resource === 'LifecycleRole' || resource === 'ReconcileRole'),
        action,
      ).toEqual([]);
  });

  it('has no IAM statement with a wildcard action', () => {
    const statements = iamStatements(template);
    expect(statements.length).toBeGreaterThan(0);
    for (const { resource, statement } of statements) {
      const actions = [statement.Action ?? statement.NotAction].flat() as string[];
      expect(
        actions.filter((action) => action.includes('*')),
        `${resource}: ${JSON.stringify(statement)}`,
      ).toEqual([]);
    }
  });
});

describe('deployment artifacts', () => {
  it('hold each bundle, and no source map larger than its code', () => {
    // Every function the build bundles (functions/<name>), so that a new one cannot ship its maps.
    for (const name of functionNames()) {
      const entries = zipEntries(join(root, '.serverless', `${name}.zip`));
      const code = entries.find((entry) => entry.name === `dist/${name}/index.js`);
      expect(code?.size, `${name}.zip: ${JSON.stringify(entries)}`).toBeGreaterThan(0);
      const maps = entries.filter((entry) => entry.name.endsWith('.map'));
      expect(maps.filter((map) => map.size > (code?.size ?? 0))).toEqual([]);
    }
  });

  it('keep names: an error from the bundled handler is an instance of the class it is named after', () => {
    // The image bundle as Lambda loads it, in a fresh process; EC2 at a closed loopback port.
    const script = `
      const { handler } = await import(${JSON.stringify(join(root, 'dist', 'image', 'index.js'))});
      const context = { functionName: 'image', awsRequestId: 'r', invokedFunctionArn: 'arn:aws:lambda:us-east-1:123456789012:function:image' };
      try { await handler({ action: 'checkImage', imageId: 'ami-0123456789abcdef0' }, context); }
      catch (error) { console.log(JSON.stringify({ thrown: { name: error.name, constructor: error.constructor.name, stack: error.stack } })); }`;
    const result = spawnSync(process.execPath, ['--input-type=module', '-e', script], {
      encoding: 'utf8',
      env: {
        PATH: process.env.PATH,
        AWS_REGION: 'us-east-1',
        AWS_ENDPOINT_URL: 'http://127.0.0.1:9',
        ADMISSION_TABLE_NAME: 'snap2ami-test-admission',
        AWS_ACCESS_KEY_ID: 'testing',
        AWS_SECRET_ACCESS_KEY: 'testing',
      },
      timeout: 30_000,
    });
    const line = result.stdout.split('\n').find((text) => text.startsWith('{"thrown"'));
    expect(line, result.stdout + result.stderr).toBeDefined();
    const { thrown } = JSON.parse(line as string) as {
      thrown: { name: string; constructor: string; stack: string };
    };
    expect(thrown.name).toMatch(/^(RetryableError|ThrottledError|PermanentError)$/);
    expect(thrown.constructor).toBe(thrown.name);
    // Stack frames name the functions they ran.
    expect(thrown.stack).toContain('checkImage');
  });
});
