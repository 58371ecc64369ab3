/**
 * The resume function's waits under any order of EC2's events (docs/adr/0013-ami-events.md), a
 * property over the real records table on the emulator: a wait for several images (a copy's
 * wait), its images becoming available one by one, their events delivered late, twice, out of
 * order, concurrently or never, while the wait's heartbeat runs it again (a new token, one more
 * look) and a redrive starts another execution's wait for the same images. What must always
 * remain:
 *
 * - no token is answered SendTaskSuccess before every image of its wait is available, and none
 *   is ever answered SendTaskFailure (no image failed);
 * - every wait ends: once every image is available and the events that were not dropped are
 *   delivered, the newest token is answered within one more heartbeat's look at most.
 *
 * EC2 and Step Functions are models here (image states; tokens that end when their task's next
 * attempt starts, answered at most once, as SendTask* refuses a second answer: TaskTimedOut).
 */
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import * as fc from 'fast-check';
import { beforeAll, describe, expect, it } from 'vitest';
import { type ResumeDeps, runResume } from '../../functions/resume/resume.ts';
import { createTable, recordsTableProperties } from '../../local/index.ts';

const REGIONS = ['eu-north-1', 'sa-east-1', 'me-central-1'];
let table: string;
let run = 0;

beforeAll(async () => {
  table = await createTable(
    new DynamoDBClient({}),
    await recordsTableProperties(),
    `resume-property-${Date.now()}`,
  );
});

type Command =
  | { kind: 'available'; image: number; dropped: boolean; twice: boolean }
  | { kind: 'deliver'; pick: number }
  | { kind: 'heartbeat' }
  | { kind: 'redrive' };

const command = (images: number): fc.Arbitrary<Command> =>
  fc.oneof(
    fc.record({
      kind: fc.constant('available' as const),
      image: fc.nat({ max: images - 1 }),
      dropped: fc.boolean(),
      twice: fc.boolean(),
    }),
    fc.record({ kind: fc.constant('deliver' as const), pick: fc.nat() }),
    fc.constant({ kind: 'heartbeat' as const }),
    fc.constant({ kind: 'redrive' as const }),
  );

describe('the resume function under any order of events', () => {
  it('never resumes a wait early, and every wait ends', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc
          .integer({ min: 1, max: 3 })
          .chain((n) => fc.tuple(fc.constant(n), fc.array(command(n), { maxLength: 12 }))),
        async ([n, commands]) => {
          run += 1;
          const copies = Array.from({ length: n }, (_, i) => ({
            imageId: `ami-${run.toString(16).padStart(8, '0')}${i}`,
            region: REGIONS[i] as string,
          }));
          const state = new Map(copies.map((c) => [c.imageId, 'pending']));
          const allAvailable = () => [...state.values()].every((s) => s === 'available');
          // Step Functions' side: the newest token is the live task's; older ones have ended.
          const answers = new Map<string, 'success' | 'failure'>();
          const early: string[] = [];
          let live = '';
          const refuseEnded = (token: string) => {
            if (token !== live || answers.has(token)) {
              const error = new Error('Task Timed Out');
              error.name = 'TaskTimedOut';
              throw error;
            }
          };
          const deps: ResumeDeps = {
            dynamo: new DynamoDBClient({}),
            table,
            ec2In: () =>
              ({
                send: async (cmd: { input: { ImageIds: string[] } }) => ({
                  Images: cmd.input.ImageIds.map((id) => ({ ImageId: id, State: state.get(id) })),
                }),
              }) as never,
            callbacks: {
              success: async (token) => {
                refuseEnded(token);
                if (!allAvailable()) early.push(token);
                answers.set(token, 'success');
              },
              failure: async (token) => {
                refuseEnded(token);
                answers.set(token, 'failure');
              },
            },
            region: 'us-east-1',
            waitLimitSeconds: 3600,
            now: () => new Date(),
          };
          let execution = 0;
          let attempt = 0;
          const wait = async () => {
            attempt += 1;
            live = `token-${run}-${execution}-${attempt}`;
            await runResume(
              {
                action: 'await',
                token: live,
                key: `key-${run}`,
                executionArn: `execution-${run}-${execution}`,
                startedAt: new Date().toISOString(),
                copies,
              },
              deps,
            );
          };
          const queue: { imageId: string; region: string }[] = [];
          const deliver = (event: { imageId: string; region: string }) =>
            runResume(
              {
                source: 'aws.ec2',
                'detail-type': 'EC2 AMI State Change',
                region: event.region,
                detail: { ImageId: event.imageId, State: 'available' },
              },
              deps,
            );

          await wait();
          for (const c of commands) {
            if (c.kind === 'available') {
              const copy = copies[c.image] as (typeof copies)[number];
              state.set(copy.imageId, 'available');
              if (!c.dropped) queue.push(copy, ...(c.twice ? [copy] : []));
            } else if (c.kind === 'deliver') {
              const [event] = queue.splice(c.pick % Math.max(1, queue.length), 1);
              if (event) await deliver(event);
            } else if (c.kind === 'heartbeat') {
              if (!answers.has(live)) await wait();
            } else if (!answers.has(live)) {
              execution += 1;
              await wait();
            }
          }
          // Every image becomes available; their events (not dropped) come all at once.
          for (const copy of copies)
            if (state.get(copy.imageId) !== 'available') {
              state.set(copy.imageId, 'available');
              queue.push(copy);
            }
          await Promise.all(queue.splice(0).map(deliver));
          // The events may all have been dropped (or have come before the token): one heartbeat's look.
          if (!answers.has(live)) await wait();
          expect(early).toEqual([]);
          expect([...answers.values()].filter((a) => a === 'failure')).toEqual([]);
          expect(answers.get(live)).toBe('success');
        },
      ),
      { numRuns: 40 },
    );
  }, 120_000);
});
