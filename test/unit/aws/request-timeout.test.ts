/**
 * A call that hangs must fail as a TimeoutError (retried as transient) instead of holding the
 * function until Lambda's own timeout. With @smithy/node-http-handler 4, `requestTimeout` alone
 * only logs a warning; the adapter's HTTP_TIMEOUTS must make it throw.
 */
import { createServer, type Server, type Socket } from 'node:net';
import { DescribeImagesCommand, EC2Client } from '@aws-sdk/client-ec2';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { HTTP_TIMEOUTS } from '#shared/aws/clients.ts';
import { classify } from '#shared/errors.ts';

/** A TCP server that accepts connections and never answers. */
let server: Server;
const sockets: Socket[] = [];
let endpoint: string;

beforeAll(async () => {
  server = createServer((socket) => sockets.push(socket));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  if (address === null || typeof address === 'string') throw new Error('no port');
  endpoint = `http://127.0.0.1:${address.port}`;
});

afterAll(async () => {
  for (const socket of sockets) socket.destroy();
  await new Promise((resolve) => server.close(resolve));
});

describe('the adapter’s request timeout', () => {
  it('fails a call to a server that never answers with a transient TimeoutError', async () => {
    // The adapter's own settings, with the timeout shortened so that the test waits 0.3 s, not 10 s.
    const ec2 = new EC2Client({
      endpoint,
      region: 'us-east-1',
      credentials: { accessKeyId: 'test', secretAccessKey: 'test' },
      maxAttempts: 1,
      requestHandler: { ...HTTP_TIMEOUTS, requestTimeout: 300 },
    });
    const call = ec2.send(new DescribeImagesCommand({ Owners: ['self'] }));
    const error = await call.then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(error).toMatchObject({ name: 'TimeoutError' });
    expect(classify(error, 'DescribeImages').name).toBe('RetryableError');
    ec2.destroy();
  });
});
