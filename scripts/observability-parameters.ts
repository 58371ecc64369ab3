/**
 * The deployment parameters of snap2ami's operations (resources/observability.yml, the image
 * function's reserved concurrency, the state machine's log): what each accepts, defined once
 * and checked by the parameters plugin (scripts/serverless-parameters.ts) when package or
 * deploy starts. Unlike the functions' settings (shared/settings.ts) they never reach a
 * function, so nothing else would catch a bad value before CloudFormation does, halfway through
 * a deployment, or never (an alarm threshold of 0 fires forever; `10m` is no number).
 */

/** How one parameter's value is checked: undefined when accepted, else why not. */
interface Rule {
  accepted: string;
  check(value: unknown, context: { region: string }): string | undefined;
}

const text = (value: unknown) => (value == null ? '' : String(value));

/** A whole number in [min, max], given as a number (serverless.yml) or a string (--param). */
function wholeNumber(min: number, max: number, unit = ''): Rule {
  return {
    accepted: `a whole number from ${min} to ${max}${unit}`,
    check(value) {
      const number = Number(text(value));
      if (!/^\d+$/.test(text(value).trim()) || number < min || number > max)
        return `"${text(value)}" is not a whole number from ${min} to ${max}`;
      return undefined;
    },
  };
}

function oneOf(...choices: string[]): Rule {
  return {
    accepted: choices.join(' or '),
    check: (value) =>
      choices.includes(text(value)) ? undefined : `"${text(value)}" is not ${choices.join(' or ')}`,
  };
}

const SNS_TOPIC_ARN = /^arn:aws[a-z-]*:sns:([a-z0-9-]+):\d{12}:[A-Za-z0-9_-]{1,256}$/;

export const OBSERVABILITY_PARAMETERS: Record<string, Rule> = {
  operationsTopicArn: {
    accepted: "an SNS topic ARN in the stack's Region, or empty for a topic of the stack's own (the default)",
    check(value, { region }) {
      const arn = text(value);
      if (arn === '') return undefined;
      const match = SNS_TOPIC_ARN.exec(arn);
      if (!match) return `"${arn}" is not an SNS topic ARN`;
      if (match[1] !== region)
        return `${arn} is in ${match[1]}, and CloudWatch alarms notify topics of their own Region only (${region})`;
      return undefined;
    },
  },
  alarmOldestEventAgeSeconds: wholeNumber(60, 345_600, ' (seconds; the queue keeps events 4 days)'),
  alarmFailedExecutions: wholeNumber(1, 100_000),
  alarmLambdaErrors: wholeNumber(1, 100_000),
  alarmLambdaThrottles: wholeNumber(1, 100_000),
  alarmEc2Throttled: wholeNumber(1, 100_000),
  alarmStraysFound: wholeNumber(1, 100_000),
  registrationBudgetPerMinute: wholeNumber(1, 100_000),
  imageReservedConcurrency: wholeNumber(1, 10_000),
  eventBusName: {
    accepted:
      'the name (not the ARN) of an EventBridge bus of this account and Region: 1 to 256 letters, digits and . - _ /; "default" is the account\'s default bus',
    check(value) {
      const name = text(value);
      if (name.startsWith('arn:')) return `"${name}" is an ARN; give the bus's name`;
      return /^[A-Za-z0-9._/-]{1,256}$/.test(name) ? undefined : `"${name}" is not an event bus name`;
    },
  },
  // Step Functions' levels below ERROR (FATAL, OFF) would hide failed executions.
  stateMachineLogLevel: oneOf('ERROR', 'ALL'),
  stateMachineLogExecutionData: oneOf('false', 'true'),
};

export interface ObservabilityProblem {
  parameter: string;
  value: unknown;
  problem: string;
}

/** Every operations parameter in `values` that is refused, with why and what is accepted. */
export function observabilityProblems(
  values: Readonly<Record<string, unknown>>,
  context: { region: string },
): ObservabilityProblem[] {
  const problems: ObservabilityProblem[] = [];
  for (const [parameter, rule] of Object.entries(OBSERVABILITY_PARAMETERS)) {
    const why = rule.check(values[parameter], context);
    if (why !== undefined)
      problems.push({ parameter, value: values[parameter], problem: `${why}; accepted: ${rule.accepted}` });
  }
  return problems;
}

/**
 * The parameters' values as osls resolves `${param:…}`: `--param` first, then the stage's
 * `params.<stage>`, then `params.default` (osls lib/configuration/variables/sources/
 * instance-dependent/param.js).
 */
export function resolvedParameters(
  params: Readonly<Record<string, Record<string, unknown> | null>>,
  stage: string,
  cliParams: readonly string[],
): Record<string, unknown> {
  const values: Record<string, unknown> = {};
  for (const [name, value] of Object.entries(params.default ?? {})) if (value != null) values[name] = value;
  for (const [name, value] of Object.entries(params[stage] ?? {})) if (value != null) values[name] = value;
  for (const option of cliParams) {
    const match = /^([^=]+)=(.+)$/.exec(option);
    if (match?.[1] !== undefined) values[match[1]] = (match[2] ?? '').trimEnd();
  }
  return values;
}
