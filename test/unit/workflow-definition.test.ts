/**
 * The state machine's definition passes the interpreter's own check (asl-validator: the ASL's
 * schema, and every path), as serverless package checks it. The local workflows skip that check
 * for speed (local/state-machine-runner.ts), so this is where a fault in the definition shows.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { DEFINITION_PATH, LocalWorkflow } from '../../local/state-machine-runner.ts';

const bindings = {
  refs: { RecordsTable: 'records', NotificationsTopic: 'arn:aws:sns:us-east-1:123456789012:notifications' },
  params: { eventBusName: 'snap2ami' },
  functions: Object.fromEntries(
    ['image', 'lifecycle', 'launchTest', 'resume'].map((name) => [name, async () => ({})]),
  ),
  check: true,
};

describe('the workflow definition', () => {
  it('passes the interpreter’s check of its schema and paths, bound as the local workflows bind it', () => {
    expect(() => new LocalWorkflow(bindings)).not.toThrow();
  });

  it('is checked: a state that names a missing next state is refused', () => {
    const definition = JSON.parse(readFileSync(DEFINITION_PATH, 'utf8'));
    expect(definition.States.Claim.Next).toBeTypeOf('string');
    const broken = structuredClone(definition);
    broken.States.Claim.Next = 'NoSuchState';
    // The check is the one the workflow runs with `check`; here on the broken definition.
    expect(() => LocalWorkflow.checkDefinition(broken)).toThrow(/invalid/i);
    expect(() => LocalWorkflow.checkDefinition(definition)).not.toThrow();
  });
});
