/**
 * The operations parameters (scripts/observability-parameters.ts): what each accepts, row by
 * row; their values as osls resolves them; and `npm run package` refusing bad ones in one
 * line each, before anything is built into a template.
 */
import { describe, expect, it } from 'vitest';
import {
  OBSERVABILITY_PARAMETERS,
  observabilityProblems,
  resolvedParameters,
} from '../../../scripts/observability-parameters.ts';
import { runPackaging } from '../../support/package.ts';

/** serverless.yml's defaults, as its params.default block sets them. */
const DEFAULTS = {
  operationsTopicArn: '',
  alarmOldestEventAgeSeconds: 900,
  alarmFailedExecutions: 1,
  alarmLambdaErrors: 1,
  alarmLambdaThrottles: 10,
  alarmEc2Throttled: 10,
  alarmStraysFound: 1,
  registrationBudgetPerMinute: 150,
  imageReservedConcurrency: 20,
  stateMachineLogLevel: 'ERROR',
  stateMachineLogExecutionData: false,
  eventBusName: 'default',
};
const region = { region: 'eu-west-1' };

describe('the operations parameters', () => {
  it('accept the documented defaults, and cover every parameter', () => {
    expect(Object.keys(OBSERVABILITY_PARAMETERS).sort()).toEqual(Object.keys(DEFAULTS).sort());
    expect(observabilityProblems(DEFAULTS, region)).toEqual([]);
  });

  // [parameter, value: accepted as --param gives it (a string) or serverless.yml (a number)]
  const accepted: [string, unknown][] = [
    ['operationsTopicArn', 'arn:aws:sns:eu-west-1:111122223333:on-call'],
    ['operationsTopicArn', 'arn:aws-us-gov:sns:eu-west-1:111122223333:on_call-2'],
    ['alarmOldestEventAgeSeconds', '60'],
    ['alarmOldestEventAgeSeconds', 345600],
    ['alarmLambdaErrors', '3'],
    ['imageReservedConcurrency', 1],
    ['stateMachineLogLevel', 'ALL'],
    ['stateMachineLogExecutionData', 'true'],
    ['stateMachineLogExecutionData', true],
    ['eventBusName', 'golden-images'],
    ['eventBusName', 'org/team.bus_1'],
  ];
  it.each(accepted)('accept %s=%j', (parameter, value) => {
    expect(observabilityProblems({ ...DEFAULTS, [parameter]: value }, region)).toEqual([]);
  });

  // [parameter, value, why]
  const refused: [string, unknown, string][] = [
    ['operationsTopicArn', 'on-call', '"on-call" is not an SNS topic ARN'],
    ['operationsTopicArn', 'arn:aws:sqs:eu-west-1:111122223333:q', 'is not an SNS topic ARN'],
    [
      'operationsTopicArn',
      'arn:aws:sns:us-east-1:111122223333:on-call',
      'is in us-east-1, and CloudWatch alarms notify topics of their own Region only (eu-west-1)',
    ],
    ['alarmOldestEventAgeSeconds', '59', '"59" is not a whole number from 60 to 345600'],
    ['alarmOldestEventAgeSeconds', '10m', '"10m" is not a whole number'],
    ['alarmFailedExecutions', 0, '"0" is not a whole number from 1'],
    ['alarmLambdaThrottles', '2.5', '"2.5" is not a whole number'],
    ['alarmEc2Throttled', '', '"" is not a whole number'],
    ['registrationBudgetPerMinute', '-1', '"-1" is not a whole number'],
    ['imageReservedConcurrency', undefined, '"" is not a whole number'],
    ['stateMachineLogLevel', 'FATAL', '"FATAL" is not ERROR or ALL'],
    ['stateMachineLogExecutionData', 'yes', '"yes" is not false or true'],
    ['eventBusName', '', '"" is not an event bus name'],
    ['eventBusName', 'my bus', '"my bus" is not an event bus name'],
    [
      'eventBusName',
      'arn:aws:events:eu-west-1:111122223333:event-bus/golden',
      "is an ARN; give the bus's name",
    ],
  ];
  it.each(refused)('refuse %s=%j', (parameter, value, why) => {
    const problems = observabilityProblems({ ...DEFAULTS, [parameter]: value }, region);
    expect(problems).toEqual([{ parameter, value, problem: expect.stringContaining(why) }]);
    expect(problems[0]?.problem).toMatch(/; accepted: .+/);
  });
});

describe('resolvedParameters', () => {
  it('takes --param over the stage, and the stage over the defaults, as osls does', () => {
    const params = {
      default: { a: 1, b: 'default', c: 'default', d: null },
      prod: { b: 'prod', c: 'prod' },
      dev: { b: 'dev' },
    };
    expect(resolvedParameters(params, 'prod', ['c=cli ', 'e=x=y'])).toEqual({
      a: 1,
      b: 'prod',
      c: 'cli',
      e: 'x=y',
    });
    expect(resolvedParameters(params, 'test', [])).toEqual({ a: 1, b: 'default', c: 'default' });
  });
});

describe('npm run package', () => {
  it('refuses bad operations parameters, one line each, and builds no template', async () => {
    const { status, output } = await runPackaging([
      'npm',
      'run',
      'package',
      '--',
      '--param=alarmLambdaErrors=0',
      '--param=operationsTopicArn=arn:aws:sns:eu-west-1:111122223333:on-call',
    ]);
    expect(status, output).not.toBe(0);
    const lines = output.split('\n').filter((line) => line.startsWith('Parameter '));
    expect(lines).toEqual([
      'Parameter operationsTopicArn="arn:aws:sns:eu-west-1:111122223333:on-call" is refused: arn:aws:sns:eu-west-1:111122223333:on-call is in eu-west-1, and CloudWatch alarms notify topics of their own Region only (us-east-1); accepted: an SNS topic ARN in the stack\'s Region, or empty for a topic of the stack\'s own (the default).',
      'Parameter alarmLambdaErrors="0" is refused: "0" is not a whole number from 1 to 100000; accepted: a whole number from 1 to 100000.',
    ]);
    expect(output).not.toContain('Service packaged');
  }, 180_000);
});
