/**
 * Starts a registration's next attempt. Attempt n runs as the execution `<key>` (n = 1) or
 * `<key>-<n>`. An existing attempt counts as success only while it runs or once it succeeded;
 * one that failed, timed out or was aborted is passed over, and the next attempt is told its
 * ARN so that its claim may take over the record the dead one left IN_PROGRESS. Used by
 * ingest (whatever brought the event: EventBridge, `snap2ami register`, the reconciler's
 * Register Snapshots requests) and by redrive.
 */
import {
  DescribeExecutionCommand,
  type ExecutionStatus,
  type SFNClient,
  StartExecutionCommand,
} from '@aws-sdk/client-sfn';
import type { Plan } from '../contract/types.ts';
import { attemptName, executionInput, MAX_ATTEMPTS, NO_PREVIOUS_EXECUTION } from '../workflow.ts';

export type AttemptOutcome =
  | { outcome: 'started'; executionArn: string; attempt: number }
  /** An attempt is running or succeeded already: nothing to start. */
  | { outcome: 'duplicate'; executionArn: string; status: ExecutionStatus | undefined };

/** Statuses in which an existing attempt stands for the key: no new attempt is started. */
const STANDING: readonly (ExecutionStatus | undefined)[] = ['RUNNING', 'SUCCEEDED', 'PENDING_REDRIVE'];

export async function startAttempt(
  sfn: SFNClient,
  stateMachineArn: string,
  plan: Plan,
  source: Record<string, string>,
  now: Date,
): Promise<AttemptOutcome> {
  const executionArn = (name: string) =>
    `${stateMachineArn.replace(':stateMachine:', ':execution:')}:${name}`;
  let previous = NO_PREVIOUS_EXECUTION;
  for (let attempt = 1; attempt <= MAX_ATTEMPTS; attempt++) {
    const name = attemptName(plan.key, attempt);
    try {
      const started = await sfn.send(
        new StartExecutionCommand({
          stateMachineArn,
          name,
          input: JSON.stringify(executionInput(plan, source, now, previous)),
        }),
      );
      return { outcome: 'started', executionArn: started.executionArn ?? executionArn(name), attempt };
    } catch (error) {
      if ((error as Error).name !== 'ExecutionAlreadyExists') throw error;
    }
    const arn = executionArn(name);
    const { status } = await sfn.send(new DescribeExecutionCommand({ executionArn: arn }));
    if (STANDING.includes(status)) return { outcome: 'duplicate', executionArn: arn, status };
    previous = arn;
  }
  throw new Error(
    `${plan.key} has had ${MAX_ATTEMPTS} attempts, none successful: see snap2ami status ${plan.key} before trying again`,
  );
}
