/** `serverless package` works offline and yields the template and the artifacts that deploy. */
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { PROJECT_ROOT } from '../../../local/index.ts';
import { iamStatements, packageService, type Template } from '../../support/package.ts';
import { zipEntries } from '../../support/zip.ts';

let template: Template;
let output: string;

beforeAll(async () => {
  ({ template, output } = await packageService());
}, 180_000);

describe('serverless package', () => {
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
    for (const name of ['IngestLambdaFunction', 'ImageLambdaFunction']) {
      expect(template.Resources[name]?.Properties.Environment).toMatchObject({
        Variables: {
          SNAP2AMI_TAG_PREFIX: 'snap2ami:',
          SNAP2AMI_ALLOWED_SOURCE_ACCOUNTS: '',
          SNAP2AMI_EC2_RATE_SHARE: '0.5',
          SNAP2AMI_EC2_BUCKET_OVERRIDES: '',
          ADMISSION_TABLE_NAME: expect.stringMatching(/-admission$/),
        },
      });
    }
  });

  it('declares the pipeline: rules → queue with a DLQ → ingest → state machine, table, topic', () => {
    const r = template.Resources;
    const type = (name: string) => r[name]?.Type;
    expect(type('SnapshotEventsQueue')).toBe('AWS::SQS::Queue');
    expect(r.SnapshotEventsQueue?.Properties.RedrivePolicy).toMatchObject({ maxReceiveCount: 5 });
    expect(r.DeadLetterQueue?.Properties.MessageRetentionPeriod).toBe(1209600);
    for (const rule of ['EbsSnapshotRule', 'EbsMultiVolumeSnapshotRule', 'BackupRule']) {
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

  it('gives each function and the state machine a role of its own', () => {
    const r = template.Resources;
    expect(r.IngestLambdaFunction?.Properties.Role).toEqual({ 'Fn::GetAtt': ['IngestRole', 'Arn'] });
    expect(r.ImageLambdaFunction?.Properties.Role).toEqual({ 'Fn::GetAtt': ['ImageRole', 'Arn'] });
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

  it("gives admission control's table to ingest and image only, to read and update its item; ingest may send deferred messages back to its queue", () => {
    expect(template.Resources.AdmissionTable?.Properties).toMatchObject({
      BillingMode: 'PAY_PER_REQUEST',
      KeySchema: [{ AttributeName: 'pk', KeyType: 'HASH' }],
    });
    const onTable = iamStatements(template).filter(({ statement }) =>
      JSON.stringify(statement.Resource).includes('AdmissionTable'),
    );
    expect(onTable.map(({ resource }) => resource).sort()).toEqual(['ImageRole', 'IngestRole']);
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

  it('encrypts the notifications topic with KMS, and lets the workflow publish to it', () => {
    expect(template.Resources.NotificationsTopic?.Properties.KmsMasterKeyId).toBe('alias/aws/sns');
    const machine = iamStatements(template).filter(({ resource }) => resource === 'StateMachineRole');
    const actions = machine.flatMap(({ statement }) => [statement.Action].flat());
    expect(actions).toEqual(expect.arrayContaining(['sns:Publish', 'kms:GenerateDataKey', 'kms:Decrypt']));
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
    for (const name of ['image', 'ingest']) {
      const entries = zipEntries(join(PROJECT_ROOT, '.serverless', `${name}.zip`));
      const code = entries.find((entry) => entry.name === `dist/${name}/index.js`);
      expect(code?.size, `${name}.zip: ${JSON.stringify(entries)}`).toBeGreaterThan(0);
      const maps = entries.filter((entry) => entry.name.endsWith('.map'));
      expect(maps.filter((map) => map.size > (code?.size ?? 0))).toEqual([]);
    }
  });

  it('keep names: an error from the bundled handler is an instance of the class it is named after', () => {
    // The image bundle as Lambda loads it, in a fresh process; EC2 at a closed loopback port.
    const script = `
      const { handler } = await import(${JSON.stringify(join(PROJECT_ROOT, 'dist', 'image', 'index.js'))});
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
