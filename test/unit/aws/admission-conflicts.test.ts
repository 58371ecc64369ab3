/**
 * Admission control's conditional write on its one shared item: a batch that loses the write to
 * other batches reads again and tries again, with a backoff, many times before it gives up (the
 * batch would then come back). Against an in-memory DynamoDB whose write fails as often as the
 * test says; the pauses run on fake timers.
 */
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { budgetBuckets, CALLS_PER_AMI, type Demand } from '#shared/admission.ts';
import { AdmissionStore, WRITE_ATTEMPTS } from '#shared/aws/admission.ts';

/** GetItem answers an empty item; UpdateItem loses `conflicts` times, then succeeds. */
function contendedClient(conflicts: number) {
  const writes = { tried: 0 };
  const client = {
    send: async (command: { constructor: { name: string } }) => {
      if (command.constructor.name === 'GetItemCommand') return { Item: undefined };
      writes.tried += 1;
      if (writes.tried <= conflicts)
        throw Object.assign(new Error('The conditional request failed'), {
          name: 'ConditionalCheckFailedException',
        });
      return {};
    },
  } as unknown as DynamoDBClient;
  return { client, writes };
}

afterEach(() => {
  vi.useRealTimers();
});

describe('admission control’s write to its shared item', () => {
  it('survives ten lost writes in a row (five batches writing back to back lose that many)', async () => {
    vi.useFakeTimers({ toFake: ['setTimeout'] });
    const { client, writes } = contendedClient(10);
    const store = new AdmissionStore({ client, table: 't', buckets: budgetBuckets(0.5), clock: () => 0 });
    const admitted = store.admit([{ demand: CALLS_PER_AMI as Demand }]);
    await vi.runAllTimersAsync();
    expect(await admitted).toEqual([expect.objectContaining({ delaySeconds: 0 })]);
    expect(writes.tried).toBe(11);
  });

  it(`gives up after ${WRITE_ATTEMPTS} lost writes: the batch then comes back`, async () => {
    vi.useFakeTimers({ toFake: ['setTimeout'] });
    const { client, writes } = contendedClient(Number.POSITIVE_INFINITY);
    const store = new AdmissionStore({ client, table: 't', buckets: budgetBuckets(0.5), clock: () => 0 });
    const admitted = store.admit([{ demand: CALLS_PER_AMI as Demand }]).catch((error: Error) => error.name);
    await vi.runAllTimersAsync();
    expect(await admitted).toBe('ConditionalCheckFailedException');
    expect(writes.tried).toBe(WRITE_ATTEMPTS);
  });
});
