/**
 * What the packaged template gives an operator (resources/observability.yml, serverless.yml):
 * alarms that notify the operations topic, a dashboard whose metrics the functions publish,
 * X-Ray tracing on every function and on the state machine, the state machine's log, exported
 * outputs; and, from the bundles as Lambda runs them, the traces themselves.
 */
import { spawn } from 'node:child_process';
import dgram from 'node:dgram';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { CALLS_PER_AMI, DOCUMENTED_BUCKETS } from '#shared/admission.ts';
import { TYPED_ERRORS } from '#shared/errors.ts';
import { PROJECT_ROOT } from '../../../local/index.ts';
import { functionNames } from '../../../scripts/build.ts';
import { iamStatements, packageService, type Template } from '../../support/package.ts';

type Resource = Template['Resources'][string] & { Condition?: string };
let template: Template & { Conditions?: Record<string, unknown>; Parameters?: Record<string, unknown> };
const NAMESPACE = 'snap2ami/dev';
const SERVICE = { Name: 'service', Value: 'snap2ami' };
const ACTIONS = [
  { 'Fn::If': ['CreateOperationsTopic', { Ref: 'OperationsTopic' }, { Ref: 'OperationsTopicArn' }] },
];

/** Where the packaged artifacts and bundles are (test/support/package.ts). */
let root: string;

beforeAll(async () => {
  ({ template, root } = await packageService());
}, 180_000);

const resources = (type: string): [string, Resource][] =>
  Object.entries(template.Resources).filter(([, resource]) => resource.Type === type);
const alarm = (name: string) => {
  const found = template.Resources[name];
  expect(found?.Type, name).toBe('AWS::CloudWatch::Alarm');
  return found?.Properties as Record<string, unknown>;
};
/** The metrics an alarm reads: its own, or those of its metric math. */
const alarmMetrics = (properties: Record<string, unknown>) =>
  properties.MetricName
    ? [
        {
          Namespace: properties.Namespace,
          MetricName: properties.MetricName,
          Dimensions: properties.Dimensions,
        },
      ]
    : (properties.Metrics as { MetricStat?: { Metric: Record<string, unknown> } }[]).flatMap((m) =>
        m.MetricStat ? [m.MetricStat.Metric] : [],
      );

describe('alarms', () => {
  it('every alarm notifies the operations topic when it fires and when it clears, and treats no data as fine', () => {
    const alarms = resources('AWS::CloudWatch::Alarm');
    expect(alarms.length).toBeGreaterThanOrEqual(9);
    for (const [name, { Properties }] of alarms) {
      expect(Properties.AlarmActions, name).toEqual(ACTIONS);
      expect(Properties.OKActions, name).toEqual(ACTIONS);
      expect(Properties.TreatMissingData, name).toBe('notBreaching');
      expect(String(Properties.AlarmName), name).toMatch(/^snap2ami-dev-/);
      expect(String(Properties.AlarmDescription).length, name).toBeGreaterThan(40);
    }
  });

  it('watches the queues: the dead-letter queue not empty, the oldest event older than 900 s', () => {
    expect(alarm('DeadLetterQueueAlarm')).toMatchObject({
      Namespace: 'AWS/SQS',
      MetricName: 'ApproximateNumberOfMessagesVisible',
      Dimensions: [{ Name: 'QueueName', Value: { 'Fn::GetAtt': ['DeadLetterQueue', 'QueueName'] } }],
      Threshold: 0,
      ComparisonOperator: 'GreaterThanThreshold',
    });
    expect(alarm('OldestEventAlarm')).toMatchObject({
      MetricName: 'ApproximateAgeOfOldestMessage',
      Dimensions: [{ Name: 'QueueName', Value: { 'Fn::GetAtt': ['SnapshotEventsQueue', 'QueueName'] } }],
      Threshold: 900,
      ComparisonOperator: 'GreaterThanOrEqualToThreshold',
    });
  });

  it('adds up executions failed, timed out and aborted of this state machine', () => {
    const properties = alarm('ExecutionsFailedAlarm');
    expect(alarmMetrics(properties).map((m) => [m.Namespace, m.MetricName, m.Dimensions])).toEqual(
      ['ExecutionsFailed', 'ExecutionsTimedOut', 'ExecutionsAborted'].map((metric) => [
        'AWS/States',
        metric,
        [{ Name: 'StateMachineArn', Value: { Ref: 'RegisterImageStateMachine' } }],
      ]),
    );
    const [sum] = properties.Metrics as { Expression?: string; ReturnData: boolean }[];
    expect(sum).toMatchObject({ Expression: 'FILL(f, 0) + FILL(t, 0) + FILL(a, 0)', ReturnData: true });
    expect(properties.Threshold).toBe(1);
  });

  it('watches every function for errors and throttles', () => {
    const functions = resources('AWS::Lambda::Function').map(([name]) => name);
    expect(functions).toEqual(
      expect.arrayContaining([
        'IngestLambdaFunction',
        'ImageLambdaFunction',
        'LifecycleLambdaFunction',
        'ReconcileLambdaFunction',
      ]),
    );
    const watched = (metric: string) =>
      resources('AWS::CloudWatch::Alarm').flatMap(([, { Properties }]) =>
        alarmMetrics(Properties)
          .filter((m) => m.Namespace === 'AWS/Lambda' && m.MetricName === metric)
          .map((m) => (m.Dimensions as { Value: { Ref: string } }[])[0]?.Value.Ref),
      );
    expect(watched('Errors').sort()).toEqual([...functions].sort());
    expect(watched('Throttles').sort()).toEqual([...functions].sort());
  });

  it("counts only the workflow functions' unexpected errors: Lambda's Errors less their typed errors", () => {
    const properties = alarm('WorkflowErrorsAlarm');
    const typed = alarmMetrics(properties).filter((m) => m.Namespace === NAMESPACE);
    expect(typed.map((m) => m.MetricName).sort()).toEqual([...TYPED_ERRORS].sort());
    for (const metric of typed) expect(metric.Dimensions).toEqual([SERVICE]);
    // Exactly the functions that count the typed errors (under the same names) are in it.
    const counting = functionNames()
      .filter((name) =>
        readFileSync(join(PROJECT_ROOT, 'functions', name, 'handler.ts'), 'utf8').includes('countTaskError('),
      )
      .map((name) => `${name[0]?.toUpperCase()}${name.slice(1)}LambdaFunction`);
    expect(counting).toEqual(expect.arrayContaining(['ImageLambdaFunction', 'LifecycleLambdaFunction']));
    const errorsOf = alarmMetrics(properties)
      .filter((m) => m.Namespace === 'AWS/Lambda')
      .map((m) => (m.Dimensions as { Value: { Ref: string } }[])[0]?.Value.Ref);
    expect(errorsOf.sort()).toEqual(counting.sort());
    const [expression] = properties.Metrics as { Expression: string }[];
    expect(expression?.Expression).toBe(
      'FILL(image, 0) + FILL(lifecycle, 0) + FILL(launchTest, 0) + FILL(resume, 0) - FILL(retryable, 0) - FILL(throttled, 0) - FILL(permanent, 0) - FILL(pending, 0) - FILL(billing, 0) - FILL(copying, 0)',
    );
    // Every typed error is taken away, whichever the list holds (shared/errors.ts).
    const subtracted = alarmMetrics(properties)
      .filter((m) => m.Namespace !== 'AWS/Lambda')
      .map((m) => m.MetricName);
    expect([...subtracted].sort()).toEqual([...TYPED_ERRORS].sort());
  });

  it("watches EC2 throttling and the reconciler's strays in the stack's namespace", () => {
    expect(alarm('Ec2ThrottledAlarm')).toMatchObject({
      Namespace: NAMESPACE,
      MetricName: 'Ec2Throttled',
      Dimensions: [SERVICE],
      Threshold: 10,
    });
    expect(alarm('StraysFoundAlarm')).toMatchObject({
      Namespace: NAMESPACE,
      MetricName: 'StraysFound',
      Dimensions: [SERVICE],
      Threshold: 1,
    });
  });

  it('publishes to a topic of its own, encrypted with a rotated key CloudWatch may use, unless one is given', () => {
    expect(template.Parameters?.OperationsTopicArn).toMatchObject({ Type: 'String', Default: '' });
    expect(template.Conditions?.CreateOperationsTopic).toEqual({
      'Fn::Equals': [{ Ref: 'OperationsTopicArn' }, ''],
    });
    const r = template.Resources as Record<string, Resource>;
    for (const name of [
      'OperationsTopic',
      'OperationsTopicKey',
      'OperationsTopicKeyAlias',
      'OperationsTopicPolicy',
    ])
      expect(r[name]?.Condition, name).toBe('CreateOperationsTopic');
    expect(r.OperationsTopic?.Properties.KmsMasterKeyId).toEqual({ Ref: 'OperationsTopicKey' });
    expect(r.OperationsTopicKey?.Properties.EnableKeyRotation).toBe(true);
    const keyPolicy = JSON.stringify(r.OperationsTopicKey?.Properties.KeyPolicy);
    expect(keyPolicy).toContain('cloudwatch.amazonaws.com');
    const topicPolicy = JSON.stringify(r.OperationsTopicPolicy?.Properties.PolicyDocument);
    expect(topicPolicy).toContain('cloudwatch.amazonaws.com');
    expect(topicPolicy).toContain('aws:SecureTransport');
  });
});

describe('the dashboard', () => {
  const dashboard = () => {
    const properties = template.Resources.Dashboard?.Properties ?? {};
    const [body, variables] = (properties.DashboardBody as { 'Fn::Sub': [string, Record<string, unknown>] })[
      'Fn::Sub'
    ];
    return { body, variables };
  };
  /** The body as CloudFormation would render it, every `${…}` replaced by a placeholder value. */
  const rendered = () =>
    JSON.parse(
      dashboard().body.replace(/\$\{([^}]+)\}/g, (_, name: string) => (name === 'Budget' ? '150' : name)),
    ) as {
      widgets: { type: string; properties: Record<string, unknown> }[];
    };

  it('resolves every placeholder in its body to a variable, a pseudo parameter, a resource or its attribute', () => {
    const { body, variables } = dashboard();
    const names = [...body.matchAll(/\$\{([^}]+)\}/g)].map((match) => match[1] as string);
    expect(names.length).toBeGreaterThan(0);
    for (const name of names) {
      const known =
        name in variables || name.startsWith('AWS::') || (name.split('.')[0] as string) in template.Resources;
      expect(known, name).toBe(true);
    }
    expect(variables).toMatchObject({ Namespace: NAMESPACE, Service: 'snap2ami', Budget: 150, Stage: 'dev' });
  });

  it("draws the budget line where EC2's RegisterImage refill, over the calls a registration makes, puts it", () => {
    // The default of registrationBudgetPerMinute, worked out from admission control's own table.
    const perMinute =
      (DOCUMENTED_BUCKETS.RegisterImage.refill * 60) / (CALLS_PER_AMI.RegisterImage as number);
    expect(dashboard().variables.Budget).toBe(perMinute);
  });

  it('shows events in, planned, skipped, rejected, registered, failed, backlog, registrations per minute against the budget, p50/p95 time to AMI', () => {
    const widgets = rendered().widgets;
    const metrics = widgets.flatMap((w) => (w.properties.metrics as unknown[][] | undefined) ?? []);
    const named = (name: string) =>
      metrics.filter((metric) => typeof metric[1] === 'string' && metric[1] === name);
    expect(named('NumberOfMessagesSent')).toHaveLength(1); // events in
    for (const name of ['Planned', 'Skipped', 'Rejected', 'ImagesRegistered'])
      expect(named(name).length, name).toBeGreaterThan(0);
    expect(named('ExecutionsFailed')).toHaveLength(1);
    expect(named('ApproximateNumberOfMessagesVisible')).toHaveLength(2); // backlog and dead letters
    const stats = named('TimeToAvailable').map((metric) => (metric[4] as { stat: string }).stat);
    expect(stats.sort()).toEqual(['p50', 'p95']);
    const budget = widgets.find((w) => String(w.properties.title).startsWith('Registrations per minute'));
    expect(budget?.properties.period).toBe(60);
    expect(budget?.properties.annotations).toMatchObject({ horizontal: [{ value: 150 }] });
    const alarms = widgets.find((w) => w.type === 'alarm')?.properties.alarms as string[];
    expect(alarms.sort()).toEqual(
      resources('AWS::CloudWatch::Alarm')
        .map(([name]) => `${name}.Arn`)
        .sort(),
    );
  });

  it('reads only metrics the functions publish', () => {
    const sources = [
      'functions/ingest/ingest.ts',
      'functions/image/handler.ts',
      'functions/image/timing.ts',
      'functions/reconcile/handler.ts',
      'functions/lifecycle/handler.ts',
      'functions/workflow-errors.ts',
    ]
      .map((path) => readFileSync(join(PROJECT_ROOT, path), 'utf8'))
      .join('\n');
    const ours = [
      ...rendered().widgets.flatMap((w) => (w.properties.metrics as unknown[][] | undefined) ?? []),
      ...resources('AWS::CloudWatch::Alarm').flatMap(([, { Properties }]) =>
        alarmMetrics(Properties).map((m) => [m.Namespace, m.MetricName]),
      ),
    ].filter((metric) => metric[0] === 'Namespace' || metric[0] === NAMESPACE);
    expect(ours.length).toBeGreaterThan(10);
    for (const [, name] of ours) {
      if (TYPED_ERRORS.includes(name as never)) continue; // counted by name (shared/errors.ts)
      expect(sources, String(name)).toMatch(new RegExp(`['"]${name}['"]|\\b${name}\\??:`));
    }
  });
});

describe('tracing and logging', () => {
  it('traces every function actively, and the state machine', () => {
    const functions = resources('AWS::Lambda::Function');
    expect(functions.length).toBeGreaterThanOrEqual(2);
    for (const [name, { Properties }] of functions)
      expect(Properties.TracingConfig, name).toEqual({ Mode: 'Active' });
    expect(template.Resources.RegisterImageStateMachine?.Properties.TracingConfiguration).toEqual({
      Enabled: true,
    });
  });

  it('logs the state machine at ERROR without execution data, to a log group with a retention', () => {
    expect(template.Resources.RegisterImageStateMachine?.Properties.LoggingConfiguration).toEqual({
      Level: 'ERROR',
      IncludeExecutionData: false,
      Destinations: [
        { CloudWatchLogsLogGroup: { LogGroupArn: { 'Fn::GetAtt': ['StateMachineLogGroup', 'Arn'] } } },
      ],
    });
    expect(template.Resources.StateMachineLogGroup?.Properties).toEqual({
      LogGroupName: '/aws/vendedlogs/states/snap2ami-dev-register-image',
      RetentionInDays: 30,
    });
  });

  it('lets each role send what it traces and logs', () => {
    const actionsOf = (role: string) => {
      const policies = (template.Resources[role]?.Properties.ManagedPolicyArns ?? []) as { Ref: string }[];
      return iamStatements(template)
        .filter(({ resource }) => policies.some((policy) => policy.Ref === resource))
        .flatMap(({ statement }) => [statement.Action].flat());
    };
    for (const role of ['IngestRole', 'ImageRole', 'StateMachineRole'])
      expect(actionsOf(role), role).toEqual(expect.arrayContaining(['xray:PutTraceSegments']));
    expect(actionsOf('StateMachineRole')).toEqual(
      expect.arrayContaining(['logs:CreateLogDelivery', 'logs:PutResourcePolicy', 'logs:DescribeLogGroups']),
    );
  });
});

describe('outputs', () => {
  it('exports every output: ours as snap2ami-<stage>-<output>, serverless’s own as it names them', () => {
    const outputs = Object.entries(template.Outputs ?? {}) as [string, { Export?: { Name: string } }][];
    for (const name of [
      'SnapshotEventsQueueUrl',
      'DeadLetterQueueUrl',
      'StateMachineArn',
      'RecordsTableName',
      'AdmissionTableName',
      'NotificationsTopicArn',
      'OperationsTopicArn',
      'DashboardName',
    ])
      expect(outputs.map(([key]) => key)).toContain(name);
    for (const [name, output] of outputs) {
      const ours = !/QualifiedArn$|^ServerlessDeploymentBucketName$|^RegisterImageStateMachineArn$/.test(
        name,
      );
      expect(output.Export?.Name, name).toBe(ours ? `snap2ami-dev-${name}` : `sls-snap2ami-dev-${name}`);
    }
  });
});

describe('the bundles, traced as Lambda runs them', () => {
  /** Runs one bundled handler once in a fresh process; returns the X-Ray documents it sent. */
  async function traces(
    name: string,
    event: unknown,
    env: Record<string, string>,
  ): Promise<Record<string, unknown>[]> {
    const socket = dgram.createSocket('udp4');
    const documents: Record<string, unknown>[] = [];
    socket.on('message', (message) => {
      const [, body] = message.toString().split('\n');
      if (body) documents.push(JSON.parse(body) as Record<string, unknown>);
    });
    await new Promise<void>((resolve) => socket.bind(0, '127.0.0.1', resolve));
    const script = `
      const { handler } = await import(${JSON.stringify(join(root, 'dist', name, 'index.js'))});
      const context = { functionName: '${name}', awsRequestId: 'r', invokedFunctionArn: 'arn:aws:lambda:us-east-1:123456789012:function:${name}' };
      try { await handler(${JSON.stringify(event)}, context); } catch {}`;
    const child = spawn(process.execPath, ['--input-type=module', '-e', script], {
      env: {
        PATH: process.env.PATH,
        AWS_REGION: 'us-east-1',
        AWS_ENDPOINT_URL: 'http://127.0.0.1:9', // nothing listens: each call fails at once
        AWS_ACCESS_KEY_ID: 'testing',
        AWS_SECRET_ACCESS_KEY: 'testing',
        AWS_MAX_ATTEMPTS: '1',
        AWS_XRAY_DAEMON_ADDRESS: `127.0.0.1:${(socket.address() as { port: number }).port}`,
        POWERTOOLS_SERVICE_NAME: 'snap2ami',
        STATE_MACHINE_NAME: 'snap2ami-test-register-image',
        DEAD_LETTER_QUEUE_NAME: 'snap2ami-test-dlq',
        ADMISSION_TABLE_NAME: 'snap2ami-test-admission',
        ...env,
      },
      stdio: 'ignore',
    });
    await new Promise((resolve) => child.on('close', resolve));
    // Datagrams on the loopback arrive in order: the handler's own subsegment closes last.
    const deadline = Date.now() + 5_000;
    while (
      !documents.some((d) => String(d.name).startsWith('## ')) &&
      Date.now() < deadline &&
      env.AWS_EXECUTION_ENV
    )
      await new Promise((resolve) => setTimeout(resolve, 20));
    socket.close();
    return documents;
  }
  const LAMBDA = () => ({
    AWS_EXECUTION_ENV: 'AWS_Lambda_nodejs24.x',
    LAMBDA_TASK_ROOT: root,
    _X_AMZN_TRACE_ID: 'Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1',
  });

  it('image: a subsegment for the invocation, with its cold start, and one per EC2 call, in the trace Lambda started', async () => {
    const sent = await traces(
      'image',
      { action: 'checkImage', imageId: 'ami-0123456789abcdef0' },
      {
        ...LAMBDA(),
        _HANDLER: 'dist/image/index.handler',
      },
    );
    const handler = sent.find((d) => d.name === '## dist/image/index.handler');
    expect(handler, JSON.stringify(sent)).toMatchObject({
      type: 'subsegment',
      trace_id: '1-5759e988-bd862e3fe1be46a994272793',
      parent_id: '53995c3f42cd8ad8',
      annotations: { Service: 'snap2ami', ColdStart: expect.any(Boolean) },
      fault: true,
    });
    expect(sent.find((d) => d.name === 'EC2')).toMatchObject({
      namespace: 'aws',
      aws: { operation: 'DescribeImages' },
      parent_id: handler?.id,
    });
  });

  it('ingest: its SQS call traced too', async () => {
    const record = {
      messageId: 'm',
      body: 'not JSON',
      eventSourceARN: 'arn:aws:sqs:us-east-1:123456789012:q',
    };
    const sent = await traces(
      'ingest',
      { Records: [record] },
      { ...LAMBDA(), _HANDLER: 'dist/ingest/index.handler' },
    );
    expect(sent.map((d) => d.name)).toEqual(expect.arrayContaining(['SQS', '## dist/ingest/index.handler']));
  });

  it('outside Lambda, sends nothing', async () => {
    expect(await traces('image', { action: 'checkImage', imageId: 'ami-0123456789abcdef0' }, {})).toEqual([]);
  });
});
