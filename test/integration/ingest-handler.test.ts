/**
 * The ingest Lambda's handler as Lambda calls it (middy, Powertools), on the emulator, with
 * its SQS calls through the fault proxy: a failed dead-letter queue lookup (AccessDenied
 * while IAM propagates, a throttle) is not kept for the container's life; it fails only the
 * messages that needed it, and the next invocation looks again.
 */
import { CreateQueueCommand, SQSClient } from '@aws-sdk/client-sqs';
import type { Context, SQSRecord } from 'aws-lambda';
import { afterAll, beforeAll, describe, expect, inject, it, vi } from 'vitest';
import { EMULATOR_ACCOUNT, EMULATOR_REGION, type FaultProxy, startFaultProxy } from '../../local/index.ts';
import { messagesIn } from '../support/sqs.ts';

const sqs = new SQSClient({});
const dlqName = `snap2ami-ingest-handler-dlq-${Date.now()}`;
let dlqUrl: string;
let proxy: FaultProxy;
let ingestHandler: typeof import('../../functions/ingest/handler.ts').ingestHandler;

beforeAll(async () => {
  dlqUrl = (await sqs.send(new CreateQueueCommand({ QueueName: dlqName }))).QueueUrl as string;
  proxy = await startFaultProxy(inject('awsEndpoint'));
  // The function's environment, as serverless.yml gives it; SQS through the proxy. Set before
  // the handler module loads: it reads them once per container.
  Object.assign(process.env, {
    DEAD_LETTER_QUEUE_NAME: dlqName,
    STATE_MACHINE_NAME: 'snap2ami-test-register-image',
    ADMISSION_TABLE_NAME: 'snap2ami-test-admission',
    AWS_ENDPOINT_URL_SQS: proxy.endpoint,
    POWERTOOLS_SERVICE_NAME: 'snap2ami-under-test',
    POWERTOOLS_METRICS_NAMESPACE: 'snap2ami-test-namespace',
  });
  ({ ingestHandler } = await import('../../functions/ingest/handler.ts'));
});
afterAll(async () => {
  delete process.env.AWS_ENDPOINT_URL_SQS;
  await proxy.close();
});

const queueArn = `arn:aws:sqs:${EMULATOR_REGION}:${EMULATOR_ACCOUNT}:snap2ami-events`;
const record = (messageId: string, body: string) =>
  ({ messageId, body, eventSourceARN: queueArn }) as SQSRecord;
const context = { functionName: 'snap2ami-test-ingest', awsRequestId: 'r' } as Context;

describe('ingest handler', () => {
  it('forgets a failed dead-letter queue lookup: the rejected message comes back, and the next batch gets through', async () => {
    proxy.inject({
      action: 'SQS.GetQueueUrl',
      times: 1,
      status: 400,
      body: '{"__type":"com.amazon.coral.service#AccessDeniedException","message":"injected: not yet authorized"}',
    });
    const first = await ingestHandler({ Records: [record('m-1', 'not JSON')] }, context);
    expect(first.batchItemFailures).toEqual([{ itemIdentifier: 'm-1' }]);
    expect(await messagesIn(sqs, dlqUrl)).toBe(0);

    const second = await ingestHandler({ Records: [record('m-1', 'not JSON')] }, context);
    expect(second.batchItemFailures).toEqual([]);
    expect(await messagesIn(sqs, dlqUrl)).toBe(1);
    // The dead-letter queue's URL twice, and once the event queue's, to make the message that
    // came back visible again soon (ChangeMessageVisibility).
    expect(proxy.calls.get('SQS.GetQueueUrl')).toBe(3);

    // Looked up once it succeeded: a third batch asks no more.
    await ingestHandler({ Records: [record('m-2', 'still not JSON')] }, context);
    expect(proxy.calls.get('SQS.GetQueueUrl')).toBe(3);
  });

  it('publishes its metrics under the namespace its environment names', async () => {
    const { handler } = await import('../../functions/ingest/handler.ts');
    const lines: string[] = [];
    const write = vi.spyOn(process.stdout, 'write').mockImplementation((chunk) => {
      lines.push(String(chunk));
      return true;
    });
    try {
      await handler({ Records: [record('m-3', 'not JSON either')] }, context);
    } finally {
      write.mockRestore();
    }
    const metrics = lines
      .join('')
      .split('\n')
      .filter((line) => line.includes('"_aws"'))
      .map((line) => JSON.parse(line));
    expect(metrics.length).toBeGreaterThan(0);
    expect(metrics[0]._aws.CloudWatchMetrics[0].Namespace).toBe('snap2ami-test-namespace');
    expect(metrics[0].service).toBe('snap2ami-under-test');
    expect(metrics[0].Rejected).toBeDefined();
  });
});
