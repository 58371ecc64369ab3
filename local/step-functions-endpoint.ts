/**
 * A local Step Functions endpoint for the emulator setup (docs/adr/0002-workflow.md): moto
 * cannot run Lambda tasks without Docker, so StartExecution, DescribeExecution,
 * ListExecutions and GetExecutionHistory are served here (AWS JSON 1.0, as the SDK speaks
 * it) and executions run the deployed definition on LocalWorkflow. StopExecution aborts one;
 * SendTaskSuccess, SendTaskFailure and SendTaskHeartbeat answer a waiting task (its task token),
 * refused as Step Functions refuses them (TaskTimedOut, InvalidToken). SDK clients reach it
 * through the standard setting AWS_ENDPOINT_URL_SFN.
 */
import { createServer } from 'node:http';
import type { LocalExecution, LocalWorkflow } from './state-machine-runner.ts';

interface Execution {
  executionArn: string;
  stateMachineArn: string;
  name: string;
  status: 'RUNNING' | LocalExecution['status'];
  input: string;
  startDate: number;
  stopDate?: number;
  output?: string;
  error?: string;
  cause?: string;
  result?: LocalExecution;
  done: Promise<void>;
  abort?: () => void;
}

export interface LocalStepFunctions {
  endpoint: string;
  stateMachineArn: string;
  executions: Map<string, Execution>;
  /** Resolves when no execution is running. */
  idle(): Promise<void>;
  close(): Promise<void>;
}

class ServiceError extends Error {
  readonly type: string;
  constructor(type: string, message: string) {
    super(message);
    this.type = type;
  }
}

export async function startLocalStepFunctions(
  stateMachineArn: string,
  workflow: LocalWorkflow,
): Promise<LocalStepFunctions> {
  const executions = new Map<string, Execution>();
  const executionArn = (name: string) =>
    `${stateMachineArn.replace(':stateMachine:', ':execution:')}:${name}`;
  const describe = (e: Execution) => {
    const { result: _result, done: _done, abort: _abort, ...rest } = e;
    return rest;
  };
  const find = (arn: unknown) => {
    const execution = executions.get(String(arn));
    if (!execution)
      throw new ServiceError('ExecutionDoesNotExist', `Execution Does Not Exist: '${String(arn)}'`);
    return execution;
  };

  // The callback API: the workflow's own answer for the token, its refusal as the service's.
  const callback = async (send: () => Promise<void>) => {
    try {
      await send();
      return {};
    } catch (error) {
      throw new ServiceError((error as Error).name, (error as Error).message);
    }
  };
  const operations: Record<string, (body: Record<string, unknown>) => unknown> = {
    SendTaskSuccess: (body) =>
      callback(() => workflow.callbacks.success(String(body.taskToken), JSON.parse(String(body.output)))),
    SendTaskFailure: (body) =>
      callback(() =>
        workflow.callbacks.failure(
          String(body.taskToken),
          body.error === undefined ? undefined : String(body.error),
          body.cause === undefined ? undefined : String(body.cause),
        ),
      ),
    SendTaskHeartbeat: (body) => callback(() => workflow.callbacks.heartbeat(String(body.taskToken))),
    StartExecution(body) {
      if (body.stateMachineArn !== stateMachineArn)
        throw new ServiceError(
          'StateMachineDoesNotExist',
          `State Machine Does Not Exist: '${String(body.stateMachineArn)}'`,
        );
      const name = String(body.name ?? crypto.randomUUID());
      const arn = executionArn(name);
      const input = String(body.input ?? '{}');
      const existing = executions.get(arn);
      if (existing) {
        if (existing.status === 'RUNNING' && existing.input === input)
          return { executionArn: arn, startDate: existing.startDate };
        throw new ServiceError('ExecutionAlreadyExists', `Execution Already Exists: '${arn}'`);
      }
      const execution: Execution = {
        executionArn: arn,
        stateMachineArn,
        name,
        status: 'RUNNING',
        input,
        startDate: Date.now() / 1000,
        done: Promise.resolve(),
      };
      const run = workflow.start(JSON.parse(input), arn);
      execution.abort = run.abort;
      execution.done = run.result.then((result) => {
        Object.assign(execution, {
          status: result.status,
          stopDate: Date.now() / 1000,
          result,
          ...(result.status === 'SUCCEEDED'
            ? { output: JSON.stringify(result.output) }
            : { error: result.error, cause: result.cause }),
        });
      });
      executions.set(arn, execution);
      return { executionArn: arn, startDate: execution.startDate };
    },
    DescribeExecution: (body) => describe(find(body.executionArn)),
    StopExecution(body) {
      const execution = find(body.executionArn);
      if (execution.status === 'RUNNING') execution.abort?.();
      return { stopDate: Date.now() / 1000 };
    },
    ListExecutions(body) {
      const all = [...executions.values()].filter(
        (e) => !body.statusFilter || e.status === body.statusFilter,
      );
      return {
        executions: all.map(
          ({ executionArn: arn, stateMachineArn: sm, name, status, startDate, stopDate }) => ({
            executionArn: arn,
            stateMachineArn: sm,
            name,
            status,
            startDate,
            stopDate,
          }),
        ),
      };
    },
    GetExecutionHistory(body) {
      const execution = find(body.executionArn);
      // The interpreter's own event names (StateEntered, StateFailed, StateRetried, …).
      const events = (execution.result?.events ?? []).map((event, index) => ({
        id: index + 1,
        timestamp: (Number(event.timestamp) || Date.now()) / 1000,
        type: event.type,
        details: JSON.stringify(event),
      }));
      return { events };
    },
  };

  const server = createServer(async (request, response) => {
    const chunks: Buffer[] = [];
    for await (const chunk of request) chunks.push(chunk as Buffer);
    const operation = String(request.headers['x-amz-target'] ?? '').split('.')[1] ?? '';
    const reply = (status: number, body: unknown) =>
      response.writeHead(status, { 'content-type': 'application/x-amz-json-1.0' }).end(JSON.stringify(body));
    try {
      const handler = operations[operation];
      if (!handler)
        throw new ServiceError(
          'UnknownOperationException',
          `${operation} is not served by the local Step Functions endpoint`,
        );
      reply(200, await handler(JSON.parse(Buffer.concat(chunks).toString() || '{}')));
    } catch (error) {
      if (error instanceof ServiceError) reply(400, { __type: error.type, message: error.message });
      else reply(500, { __type: 'InternalFailure', message: String(error) });
    }
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  return {
    endpoint: `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}`,
    stateMachineArn,
    executions,
    async idle() {
      for (;;) {
        const running = [...executions.values()].filter((e) => e.status === 'RUNNING');
        if (running.length === 0) return;
        await Promise.all(running.map((e) => e.done));
      }
    },
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}
