/**
 * Runs the deployed state machine definition (statemachine/register-image.asl.json) locally
 * on aws-local-stepfunctions (docs/adr/0002-workflow.md): CloudFormation references become
 * local names, `${param:…}` (what serverless resolves at package) the deployment parameters
 * given, Lambda tasks run the real handler in-process, and the optimized DynamoDB, SNS and
 * EventBridge integrations are sent to the emulator through the SDK, their errors named as
 * Step Functions names them (`DynamoDB.ConditionalCheckFailedException`, …). A Lambda task
 * with `.waitForTaskToken` (arn:aws:states:::lambda:invoke.waitForTaskToken) gets a task token
 * as `$$.Task.Token` and waits until SendTaskSuccess, SendTaskFailure (`callbacks`) or its
 * HeartbeatSeconds pass without a heartbeat (States.HeartbeatTimeout), as Step Functions does.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  type DynamoDBClient,
  GetItemCommand,
  PutItemCommand,
  UpdateItemCommand,
} from '@aws-sdk/client-dynamodb';
import { EventBridgeClient, PutEventsCommand } from '@aws-sdk/client-eventbridge';
import { PublishCommand, type SNSClient } from '@aws-sdk/client-sns';
import { ExecutionAbortedError, ExecutionTimeoutError, StateMachine } from 'aws-local-stepfunctions';
import { once } from '#shared/aws/clients.ts';
import { dynamoDbClient } from '#shared/aws/dynamodb.ts';
import { snsClient } from '#shared/aws/sns.ts';
import { PROJECT_ROOT } from './paths.ts';

export const DEFINITION_PATH = join(PROJECT_ROOT, 'statemachine', 'register-image.asl.json');

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };
type Handler = (input: Record<string, unknown>) => Promise<unknown>;

export interface Bindings {
  /** `{"Ref": …}` values: logical ID → physical name. */
  refs: Record<string, string>;
  /** Lambda functions by the name serverless.yml gives them → in-process handler. */
  functions: Record<string, Handler>;
  /** `${param:name}` values (serverless.yml params:), e.g. `eventBusName`. */
  params?: Record<string, string>;
  /** The clients the DynamoDB, SNS and EventBridge integrations use; by default the adapter's (shared/aws/). */
  clients?: { dynamodb?: DynamoDBClient; sns?: SNSClient; events?: EventBridgeClient };
  /** For tests of what a timeout leaves behind: the definition's TimeoutSeconds, shortened. */
  executionTimeoutSeconds?: number;
  /**
   * Executions wait the definition's own retry intervals and Wait states (by default retries
   * come at once and a Wait pauses a second at most, to keep tests fast); a run may still ask
   * otherwise (RunOptions).
   */
  realRetryIntervals?: boolean;
  /**
   * Time runs this many times faster: every Retry interval and delay cap, Wait, and the
   * execution timeout is divided by it (a time-scaled benchmark, with the emulator's timeScale).
   */
  timeScale?: number;
  /**
   * Delivers what arrives for waiting tasks (one poll of the EC2 AMI events' queue, say): called
   * again and again while a `.waitForTaskToken` task waits, and never otherwise.
   */
  whileWaiting?: () => Promise<void>;
  /** Check the definition first (ASL schema and paths), throwing on a fault; see machine(). */
  check?: boolean;
}

/** Step Functions' callback API (SendTaskSuccess, SendTaskFailure, SendTaskHeartbeat), by task token. */
export interface TaskCallbacks {
  success(token: string, output: unknown): Promise<void>;
  failure(token: string, error?: string, cause?: string): Promise<void>;
  heartbeat(token: string): Promise<void>;
}

/** The resource of a Lambda task that waits for its task token (Step Functions' callback pattern). */
export const WAIT_FOR_TASK_TOKEN = 'arn:aws:states:::lambda:invoke.waitForTaskToken';

/** What `$$.Task.Token` reads in a local execution: each waiting task replaces it with a token of its own. */
const TOKEN_PLACEHOLDER = 'local-task-token';

interface Waiting {
  /** The execution the task belongs to (its Payload's executionArn): its end ends the wait. */
  executionArn: string;
  resolve(output: unknown): void;
  reject(error: Error): void;
  heartbeat(): void;
}

/**
 * The task tokens of waiting tasks. An answer for a token whose task has ended is refused as
 * Step Functions refuses it (TaskTimedOut), one for a token never given out as InvalidToken.
 */
class TaskTokens implements TaskCallbacks {
  private readonly waiting = new Map<string, Waiting>();
  private readonly ended = new Set<string>();
  private pump: Promise<void> | undefined;
  private readonly whileWaiting: (() => Promise<void>) | undefined;

  constructor(whileWaiting?: () => Promise<void>) {
    this.whileWaiting = whileWaiting;
  }

  get size(): number {
    return this.waiting.size;
  }

  /** A new token, and the promise of its answer; HeartbeatSeconds (ms) without one fails it. */
  open(
    executionArn: string,
    heartbeatMs: number | undefined,
  ): { token: string; answer: Promise<unknown>; close(): void } {
    const token = `${crypto.randomUUID()}${crypto.randomUUID()}`.replaceAll('-', '');
    let timer: NodeJS.Timeout | undefined;
    const close = () => {
      clearTimeout(timer);
      this.waiting.delete(token);
      this.ended.add(token);
    };
    const answer = new Promise<unknown>((resolve, reject) => {
      const arm = () => {
        clearTimeout(timer);
        if (heartbeatMs !== undefined)
          timer = setTimeout(() => {
            close();
            reject(stepError('States.HeartbeatTimeout', 'the task sent no heartbeat in time'));
          }, heartbeatMs);
      };
      arm();
      this.waiting.set(token, {
        executionArn,
        resolve: (output) => {
          close();
          resolve(output);
        },
        reject: (error) => {
          close();
          reject(error);
        },
        heartbeat: arm,
      });
    });
    // An answer nobody awaits any more (the task timed out, the execution ended) is no error.
    answer.catch(() => {});
    this.startPump();
    return { token, answer, close };
  }

  /** An execution ended (aborted, timed out): its waiting tasks wait no more. */
  abandon(executionArn: string): void {
    for (const [token, waiting] of this.waiting)
      if (waiting.executionArn === executionArn) {
        this.waiting.delete(token);
        this.ended.add(token);
        waiting.reject(stepError('States.Runtime', 'the execution ended'));
      }
  }

  private startPump(): void {
    if (this.pump || !this.whileWaiting) return;
    const poll = this.whileWaiting;
    this.pump = (async () => {
      while (this.waiting.size > 0)
        await poll().catch(() => new Promise((resolve) => setTimeout(resolve, 100)));
      this.pump = undefined;
    })();
  }

  private find(token: string): Waiting {
    const waiting = this.waiting.get(token);
    if (waiting) return waiting;
    throw this.ended.has(token)
      ? stepError('TaskTimedOut', 'Task Timed Out: the task has already ended')
      : stepError('InvalidToken', 'Invalid token');
  }

  async success(token: string, output: unknown): Promise<void> {
    this.find(token).resolve(output);
  }

  async failure(token: string, error = '', cause = ''): Promise<void> {
    this.find(token).reject(stepError(error, cause));
  }

  async heartbeat(token: string): Promise<void> {
    this.find(token).heartbeat();
  }
}

/**
 * A `.waitForTaskToken` Lambda task: the function (by FunctionName) gets the Payload with its
 * task token, and the task ends with the answer sent for that token.
 */
function callbackTask(
  functions: (arn: string) => Handler | undefined,
  tokens: TaskTokens,
  heartbeatSeconds: number | undefined,
): Handler {
  return async (input) => {
    const handler = functions(String(input.FunctionName));
    if (!handler) throw new Error(`no local handler for the function ${String(input.FunctionName)}`);
    const payload = (input.Payload ?? {}) as Record<string, unknown>;
    const { token, answer, close } = tokens.open(
      String(payload.executionArn ?? ''),
      heartbeatSeconds === undefined ? undefined : heartbeatSeconds * 1000,
    );
    try {
      await lambdaTask(handler)(JSON.parse(JSON.stringify(payload).replaceAll(TOKEN_PLACEHOLDER, token)));
    } catch (error) {
      close();
      throw error;
    }
    return answer;
  };
}

/** The definition with its durations divided by `scale`: Retry intervals and caps, Wait seconds, timeouts. */
export function scaleDurations(node: Json, scale: number): Json {
  if (scale === 1) return node;
  const durations = new Set([
    'IntervalSeconds',
    'MaxDelaySeconds',
    'Seconds',
    'TimeoutSeconds',
    'HeartbeatSeconds',
  ]);
  const walk = (value: Json): Json => {
    if (Array.isArray(value)) return value.map(walk);
    if (value && typeof value === 'object')
      return Object.fromEntries(
        Object.entries(value).map(([key, child]) => [
          key,
          durations.has(key) && typeof child === 'number' ? child / scale : walk(child),
        ]),
      );
    return value;
  };
  return walk(node);
}

/**
 * The definition as the interpreter validates it: a task's TimeoutSeconds and HeartbeatSeconds
 * are whole seconds (at least 1), even time-scaled. The runner keeps the exact heartbeat itself
 * (callbackTask); a task's timeout, rounded up, only comes later.
 */
function wholeSeconds(definition: Record<string, Json>): Record<string, Json> {
  const states = definition.States as Record<string, Record<string, Json>>;
  const whole = (value: Json | undefined) =>
    typeof value === 'number' ? Math.max(1, Math.ceil(value)) : value;
  return {
    ...definition,
    ...(definition.TimeoutSeconds !== undefined && {
      TimeoutSeconds: whole(definition.TimeoutSeconds) as Json,
    }),
    States: Object.fromEntries(
      Object.entries(states).map(([name, state]) => [
        name,
        {
          ...state,
          ...(state.TimeoutSeconds !== undefined && { TimeoutSeconds: whole(state.TimeoutSeconds) as Json }),
          ...(state.HeartbeatSeconds !== undefined && {
            HeartbeatSeconds: whole(state.HeartbeatSeconds) as Json,
          }),
        },
      ]),
    ),
  };
}

/** The definition file with `Ref` and `Fn::GetAtt` resolved, and the Lambda ARNs it names. */
export function loadDefinition(
  refs: Record<string, string>,
  params: Record<string, string> = {},
): {
  definition: Record<string, Json>;
  lambdaArns: Map<string, string>;
} {
  const lambdaArns = new Map<string, string>();
  const resolve = (node: Json): Json => {
    if (typeof node === 'string') {
      const param = /^\$\{param:(\w+)\}$/.exec(node)?.[1];
      if (param === undefined) return node;
      const value = params[param];
      if (value === undefined)
        throw new Error(`the definition uses \${param:${param}}, which has no local binding`);
      return value;
    }
    if (Array.isArray(node)) return node.map(resolve);
    if (node && typeof node === 'object') {
      if (typeof node.Ref === 'string') {
        const value = refs[node.Ref];
        if (value === undefined)
          throw new Error(`the definition refers to ${node.Ref}, which has no local binding`);
        return value;
      }
      const getAtt = node['Fn::GetAtt'];
      if (Array.isArray(getAtt)) {
        const name = String(getAtt[0]);
        const arn = `arn:aws:lambda:us-east-1:123456789012:function:snap2ami-local-${name}`;
        lambdaArns.set(arn, name);
        return arn;
      }
      return Object.fromEntries(
        Object.entries(node).map(([key, value]) => {
          // aws-local-stepfunctions 3.0.0 removes every backslash from an intrinsic function's
          // string result, so States.JsonToString of a value holding a quote (an error's Cause)
          // is not JSON any more. A DynamoDB string attribute made that way is left to the
          // DynamoDB integration, which serializes it as Step Functions does (JSON_STRING_VALUE).
          const path =
            key === 'S.$' && typeof value === 'string' ? JSON_TO_STRING.exec(value)?.[1] : undefined;
          return path === undefined ? [key, resolve(value)] : [key, path];
        }),
      );
    }
    return node;
  };
  return {
    definition: resolve(JSON.parse(readFileSync(DEFINITION_PATH, 'utf8'))) as Record<string, Json>,
    lambdaArns,
  };
}

const JSON_TO_STRING = /^States\.JsonToString\((\$[^)]*)\)$/;

/** A DynamoDB request with every string attribute that holds a JSON value (see loadDefinition) serialized. */
function serializeJsonStrings(node: unknown): unknown {
  if (Array.isArray(node)) return node.map(serializeJsonStrings);
  if (!node || typeof node !== 'object') return node;
  return Object.fromEntries(
    Object.entries(node).map(([key, value]) => [
      key,
      key === 'S' && typeof value !== 'string' ? JSON.stringify(value) : serializeJsonStrings(value),
    ]),
  );
}

/** An error as Step Functions reports it: `name` is matched by Retry/Catch, `message` is the Cause. */
function stepError(name: string, cause: string): Error {
  const error = new Error(cause);
  error.name = name;
  return error;
}

/**
 * Step Functions names an optimized integration's errors after the AWS SDK for Java's
 * exception classes, not the JavaScript SDK's error names: DynamoDB's HTTP 500 is
 * `DynamoDB.InternalServerErrorException` (JS: `InternalServerError`), and an error the model
 * does not name is the service's base class, `DynamoDB.AmazonDynamoDBException`.
 */
const JAVA_NAMES: Record<string, { renamed: Record<string, string>; unmodeled: string }> = {
  DynamoDB: {
    renamed: { InternalServerError: 'InternalServerErrorException' },
    unmodeled: 'AmazonDynamoDBException',
  },
  SNS: { renamed: {}, unmodeled: 'SnsException' },
  EventBridge: { renamed: {}, unmodeled: 'EventBridgeException' },
};

export function stepFunctionsErrorName(service: string, error: unknown): string {
  const name = (error as Error).name ?? 'Error';
  const names = JAVA_NAMES[service];
  if (!names) return name;
  if (names.renamed[name]) return names.renamed[name];
  const status = (error as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode ?? 0;
  // The SDK names an error it cannot match to its model after the HTTP status or `Unknown`.
  const modeled = /Exception$|^RequestLimitExceeded$/.test(name);
  return !modeled && status >= 500 ? names.unmodeled : name;
}

function serviceIntegration(resource: string, clients: Bindings['clients'] = {}): Handler | undefined {
  // The adapter's clients (one per service for the process, as in a Lambda container), unless
  // a test routes them elsewhere (a fault proxy).
  const dynamo = clients.dynamodb ?? dynamoDbClient();
  const sns = clients.sns ?? snsClient();
  const events = clients.events ?? eventBridgeClient();
  const call = async (service: string, send: () => Promise<unknown>) => {
    try {
      return await send();
    } catch (error) {
      const name = stepFunctionsErrorName(service, error);
      throw stepError(
        `${service}.${name}`,
        `${(error as Error).message} (Service: ${service}; Error Code: ${(error as Error).name})`,
      );
    }
  };
  const strip = (output: unknown) => {
    const { $metadata: _, ...rest } = output as Record<string, unknown>;
    return rest;
  };
  switch (resource) {
    case 'arn:aws:states:::dynamodb:updateItem':
      return async (input) =>
        strip(
          await call('DynamoDB', () =>
            dynamo.send(new UpdateItemCommand(serializeJsonStrings(input) as never)),
          ),
        );
    case 'arn:aws:states:::dynamodb:putItem':
      return async (input) =>
        strip(
          await call('DynamoDB', () => dynamo.send(new PutItemCommand(serializeJsonStrings(input) as never))),
        );
    case 'arn:aws:states:::dynamodb:getItem':
      return async (input) =>
        strip(await call('DynamoDB', () => dynamo.send(new GetItemCommand(input as never))));
    case 'arn:aws:states:::sns:publish':
      return async (input) => {
        // Like Step Functions, a JSON Message is sent as its serialization.
        const message = typeof input.Message === 'string' ? input.Message : JSON.stringify(input.Message);
        return strip(
          await call('SNS', () =>
            sns.send(
              new PublishCommand({ ...(input as Record<string, unknown>), Message: message } as never),
            ),
          ),
        );
      };
    case 'arn:aws:states:::events:putEvents':
      return async (input) => {
        // Like Step Functions, a JSON Detail is sent as its serialization, and an entry
        // EventBridge refused fails the task (EventBridge.FailedEntry).
        const entries = (input.Entries as Record<string, unknown>[]).map((entry) => ({
          ...entry,
          Detail: typeof entry.Detail === 'string' ? entry.Detail : JSON.stringify(entry.Detail),
        }));
        const output = strip(
          await call('EventBridge', () => events.send(new PutEventsCommand({ Entries: entries } as never))),
        ) as { FailedEntryCount?: number; Entries?: { ErrorCode?: string; ErrorMessage?: string }[] };
        if (output.FailedEntryCount) {
          const failed = output.Entries?.find((entry) => entry.ErrorCode);
          throw stepError('EventBridge.FailedEntry', `${failed?.ErrorCode}: ${failed?.ErrorMessage}`);
        }
        return output;
      };
    default:
      return undefined;
  }
}

/** The EventBridge client of the putEvents integration: one for the process. */
const eventBridgeClient = once(() => new EventBridgeClient({}));

export interface LocalExecution {
  status: 'SUCCEEDED' | 'FAILED' | 'TIMED_OUT' | 'ABORTED';
  output?: unknown;
  error?: string;
  cause?: string;
  /** The interpreter's event log: StateEntered, StateFailed, StateRetried, StateExited, … */
  events: { type: string; state?: { name: string }; [key: string]: unknown }[];
  retries(stateName: string): number;
}

/**
 * The interpreter's state machine. With `check`, it first checks the definition against the
 * ASL's schema and its paths (asl-validator), throwing on a fault: the same check that
 * `serverless package` makes (serverless-step-functions), and test/unit/workflow-definition.test.ts.
 * Not by default: ajv compiles the schema anew each time, most of a test file's setup CPU.
 */
function machine(definition: Record<string, Json>, skipCheck: boolean): StateMachine {
  return new StateMachine(
    definition as never,
    { validationOptions: { checkArn: false, checkPaths: true, noValidate: skipCheck } } as never,
  );
}

export class LocalWorkflow {
  private readonly machine: StateMachine;
  private readonly handlers: Record<string, Handler> = {};
  private readonly retryStates: string[] = [];
  /** The Wait states' durations, in milliseconds, by state name. */
  private readonly waits: Record<string, number> = {};
  private readonly realRetryIntervals: boolean;
  private readonly tokens: TaskTokens;

  /** SendTaskSuccess, SendTaskFailure and SendTaskHeartbeat for this workflow's waiting tasks. */
  get callbacks(): TaskCallbacks {
    return this.tokens;
  }

  /** How many tasks wait for their token now. */
  get waitingTasks(): number {
    return this.tokens.size;
  }

  /** Checks a definition as `check` does (ASL schema and paths), throwing on a fault. */
  static checkDefinition(definition: Record<string, Json>): void {
    machine(definition, false);
  }

  constructor(bindings: Bindings) {
    const loaded = loadDefinition(bindings.refs, bindings.params);
    const lambdaArns = loaded.lambdaArns;
    if (bindings.executionTimeoutSeconds !== undefined)
      loaded.definition.TimeoutSeconds = bindings.executionTimeoutSeconds;
    const definition = scaleDurations(loaded.definition, bindings.timeScale ?? 1) as Record<string, Json>;
    this.realRetryIntervals = bindings.realRetryIntervals ?? false;
    this.machine = machine(wholeSeconds(definition), !bindings.check);
    this.tokens = new TaskTokens(bindings.whileWaiting);
    const byArn = (arn: string) => {
      const fn = lambdaArns.get(arn);
      return fn ? bindings.functions[fn] : undefined;
    };
    const states = definition.States as Record<
      string,
      { Type: string; Resource?: string; Retry?: unknown; HeartbeatSeconds?: number; Seconds?: unknown }
    >;
    for (const [name, state] of Object.entries(states)) {
      if (state.Type === 'Wait' && typeof state.Seconds === 'number') this.waits[name] = state.Seconds * 1000;
      if (state.Type !== 'Task' || !state.Resource) continue;
      if (state.Retry) this.retryStates.push(name);
      if (state.Resource === WAIT_FOR_TASK_TOKEN) {
        this.handlers[name] = callbackTask(byArn, this.tokens, state.HeartbeatSeconds);
        continue;
      }
      const fn = lambdaArns.get(state.Resource);
      const handler = fn ? bindings.functions[fn] : serviceIntegration(state.Resource, bindings.clients);
      if (!handler) throw new Error(`no local handler for the Task state ${name} (${state.Resource})`);
      this.handlers[name] = fn ? lambdaTask(handler) : handler;
    }
  }

  /** Runs an execution to its end. */
  run(input: unknown, executionArn: string, options: RunOptions = {}): Promise<LocalExecution> {
    return this.start(input, executionArn, options).result;
  }

  /** Starts an execution; `abort()` stops it as StopExecution does (ABORTED). */
  start(
    input: unknown,
    executionArn: string,
    options: RunOptions = {},
  ): { result: Promise<LocalExecution>; abort(): void } {
    const real = options.realRetryIntervals ?? this.realRetryIntervals;
    const retryIntervalOverrides = real ? {} : Object.fromEntries(this.retryStates.map((name) => [name, 0]));
    const waitTimeOverrides = real
      ? {}
      : Object.fromEntries(
          Object.entries(this.waits).map(([name, ms]) => [name, Math.min(ms, FAST_WAIT_MS)]),
        );
    const execution = this.machine.run(
      input as never,
      {
        overrides: {
          taskResourceLocalHandlers: this.handlers as never,
          retryIntervalOverrides,
          waitTimeOverrides,
        },
        context: {
          Task: { Token: TOKEN_PLACEHOLDER },
          Execution: {
            Id: executionArn,
            Name: executionArn.split(':').at(-1),
            StartTime: new Date().toISOString(),
          },
        },
      } as never,
    );
    const events: LocalExecution['events'] = [];
    const drain = (async () => {
      for await (const event of execution.eventLogs as AsyncIterable<LocalExecution['events'][number]>)
        events.push(event);
    })();
    const retries = (stateName: string) =>
      events.filter((e) => e.type === 'StateRetried' && e.state?.name === stateName).length;
    const outcome = async (): Promise<LocalExecution> => {
      try {
        const output = await execution.result;
        await drain;
        return { status: 'SUCCEEDED', output, events, retries };
      } catch (error) {
        await drain;
        if (error instanceof ExecutionAbortedError) return { status: 'ABORTED', events, retries };
        if (error instanceof ExecutionTimeoutError)
          return {
            status: 'TIMED_OUT',
            error: 'States.Timeout',
            cause: 'the execution timed out',
            events,
            retries,
          };
        const cause = (error as { cause?: { name?: string; message?: string } }).cause;
        return {
          status: 'FAILED',
          error: cause?.name ?? (error as Error).name,
          cause: cause?.message ?? (error as Error).message,
          events,
          retries,
        };
      }
    };
    // A waiting task of an execution that ended (aborted, timed out) waits no more.
    const result = (async (): Promise<LocalExecution> => {
      try {
        return await outcome();
      } finally {
        this.tokens.abandon(executionArn);
      }
    })();
    return { result, abort: () => execution.abort() };
  }
}

/**
 * A Wait state's longest pause when retries come at once: long enough that a loop around a Wait
 * (the launch test's looks at its instance) does not spin on the emulator, short enough that
 * the local run and the tests do not sit out real EC2's pace (the emulator's instances can boot at once).
 */
const FAST_WAIT_MS = 1000;

export interface RunOptions {
  /**
   * Wait the definition's own retry intervals and Wait states (by default retries come at once
   * and a Wait pauses a second at most, to keep tests fast).
   */
  realRetryIntervals?: boolean;
}

/** A Lambda task: errors reach the state machine as Lambda reports them (errorType, and a JSON Cause). */
function lambdaTask(handler: Handler): Handler {
  return async (input) => {
    try {
      return await handler(input);
    } catch (error) {
      const name = (error as Error).name || 'Error';
      throw stepError(name, JSON.stringify({ errorType: name, errorMessage: (error as Error).message }));
    }
  };
}
