/** The CLI against an endpoint that answers HTTP but is not AWS: one line naming it, run as a user runs it. */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { snap2amiAsync } from '../../support/cli.ts';

/** What the server answers next: a status and a body (a web server's page, or nothing). */
let answer = { status: 200, body: '' };
let server: Server;
let endpoint: string;

beforeAll(async () => {
  server = createServer((request, response) => {
    request.resume();
    request.on('end', () => {
      response.writeHead(answer.status, { 'content-type': 'text/html' });
      response.end(answer.body);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  endpoint = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

const credentials = { AWS_ACCESS_KEY_ID: 'x', AWS_SECRET_ACCESS_KEY: 'y', AWS_MAX_ATTEMPTS: '1' };
const PAGE = '<!DOCTYPE html><html><head><meta charset="utf-8"></head><body>Directory listing</body></html>';

describe('an endpoint that is not the service', () => {
  it.each([
    ['a web page', 200, PAGE, 'HTTP 200'],
    ['an error page', 501, PAGE, 'HTTP 501'],
    ['a 404 with no body', 404, '', 'HTTP 404'],
  ])('answering %s is named in one line, with what to check', async (_, status, body, code) => {
    answer = { status, body };
    const result = await snap2amiAsync(
      ['status', 'snap-0123456789abcdef0', '--table', 't', '--region', 'us-east-1'],
      { ...credentials, AWS_ENDPOINT_URL: endpoint },
    );
    expect(result.status).toBe(1);
    expect(result.stderr).toBe(
      `snap2ami: reading the records table t: ${endpoint} did not answer as DynamoDB (${code}): check AWS_ENDPOINT_URL and --region\n`,
    );
  });

  it("names the service's own variable when that is the one set", async () => {
    answer = { status: 200, body: PAGE };
    const result = await snap2amiAsync(
      [
        'register',
        'snap-0123456789abcdef0',
        '--queue-url',
        `${endpoint}/123456789012/q`,
        '--region',
        'us-east-1',
      ],
      { ...credentials, AWS_ENDPOINT_URL_SQS: endpoint },
    );
    expect(result.status).toBe(1);
    expect(result.stderr).toContain(
      `did not answer as SQS (HTTP 200): check AWS_ENDPOINT_URL_SQS and --region`,
    );
    expect(result.stderr.trimEnd().split('\n')).toHaveLength(1);
  });
});
