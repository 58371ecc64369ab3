/**
 * The CLI's one-line AWS errors, run as a user runs it: an endpoint that answers HTTP but is
 * not AWS, a profile that is not there.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { profileProblem } from '../../../cli/errors.ts';
import { awsFiles, snap2amiAsync } from '../../support/cli.ts';

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

describe('a profile that gives no credentials', () => {
  const status = ['status', 'snap-0123456789abcdef0', '--table', 't', '--region', 'us-east-1'];

  it('--profile naming no profile says it is in neither file, naming both', async () => {
    const env = awsFiles('', '');
    const result = await snap2amiAsync([...status, '--profile', 'nope'], env);
    expect(result.status).toBe(1);
    expect(result.stderr).toBe(
      `snap2ami: reading the records table t: the profile nope is not found in ${env.AWS_CONFIG_FILE} or ${env.AWS_SHARED_CREDENTIALS_FILE}: check --profile (or AWS_PROFILE), or add the profile (aws configure --profile nope)\n`,
    );
  });

  it('AWS_PROFILE naming no profile, the same', async () => {
    const result = await snap2amiAsync(status, {
      ...awsFiles('[profile other]\n', '[other]\n'),
      AWS_PROFILE: 'nope',
    });
    expect(result.stderr).toContain('the profile nope is not found in');
  });

  it('a profile that is there but gives none says so', async () => {
    const env = awsFiles('[profile ops]\nregion = us-east-1\n', '');
    const result = await snap2amiAsync([...status, '--profile', 'ops'], env);
    expect(result.status).toBe(1);
    expect(result.stderr).toContain('no AWS credentials from the profile ops: check its settings in');
  });

  it('reads the files as the SDK does: [profile x] or [default] in config, [x] in credentials', () => {
    const env = (profile: string, config: string, credentials = '') => ({
      ...awsFiles(config, credentials),
      AWS_PROFILE: profile,
    });
    expect(profileProblem(env('ops', '[profile ops]\n'))).toContain('no AWS credentials from');
    expect(profileProblem(env('ops', '  [ profile  ops ]  \n'))).toContain('no AWS credentials from');
    expect(profileProblem(env('default', '[default]\n'))).toContain('no AWS credentials from');
    expect(profileProblem(env('ops', '', '[ops]\naws_access_key_id = x\n'))).toContain(
      'no AWS credentials from',
    );
    expect(profileProblem(env('ops', '[ops]\n'))).toContain('is not found in');
    expect(profileProblem(env('ops', '[profile ops-2]\n[sso-session ops]\n'))).toContain('is not found in');
    expect(profileProblem({})).toBeUndefined();
  });
});
