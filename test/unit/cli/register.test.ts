/** `snap2ami register --dry-run` sends nothing, so it needs no AWS: the queue's account and Region come from its URL. */
import { describe, expect, it } from 'vitest';
import { parseQueueUrl } from '#shared/aws/queues.ts';
import { awsFiles, snap2amiAsync } from '../../support/cli.ts';

/** No credentials, no Region, nothing to reach: empty shared files, and an endpoint that refuses. */
function noAws() {
  return { ...awsFiles(), AWS_REGION: '', AWS_DEFAULT_REGION: '', AWS_ENDPOINT_URL: 'http://127.0.0.1:1' };
}

describe('register --dry-run', () => {
  it('prints the request for a queue of an SQS URL, with no credentials, no Region and no network', async () => {
    const result = await snap2amiAsync(
      [
        'register',
        'snap-0123456789abcdef0',
        '--dry-run',
        '--queue-url',
        'https://sqs.eu-west-1.amazonaws.com/111122223333/q',
      ],
      noAws(),
    );
    expect(result.stderr).toBe('');
    expect(result.status).toBe(0);
    expect(JSON.parse(result.stdout)).toMatchObject({
      'detail-type': 'Register Snapshots',
      account: '111122223333',
      region: 'eu-west-1',
      detail: { snapshotIds: ['snap-0123456789abcdef0'] },
    });
  });

  it('asks SQS for a URL that does not name its Region, and says so in one line when it cannot', async () => {
    const result = await snap2amiAsync(
      ['register', 'snap-0123456789abcdef0', '--dry-run', '--queue-url', 'http://127.0.0.1:1/111122223333/q'],
      noAws(),
    );
    expect(result.status).toBe(1);
    expect(result.stderr).toContain("does not name the queue's Region, so even a dry run asks SQS");
    expect(result.stderr.trimEnd().split('\n')).toHaveLength(1);
  });
});

describe("a queue's URL", () => {
  it.each([
    ['https://sqs.eu-west-1.amazonaws.com/111122223333/q', 'aws', 'eu-west-1', 'q'],
    ['https://sqs.us-east-1.amazonaws.com/111122223333/events.fifo', 'aws', 'us-east-1', 'events.fifo'],
    ['https://sqs.cn-north-1.amazonaws.com.cn/111122223333/q', 'aws-cn', 'cn-north-1', 'q'],
    ['https://sqs.us-gov-west-1.amazonaws.com/111122223333/q', 'aws-us-gov', 'us-gov-west-1', 'q'],
    ['https://sqs.eu-central-1.api.aws/111122223333/q', 'aws', 'eu-central-1', 'q'],
    ['https://ap-southeast-2.queue.amazonaws.com/111122223333/q', 'aws', 'ap-southeast-2', 'q'],
    ['https://queue.amazonaws.com/111122223333/q', 'aws', 'us-east-1', 'q'],
  ])('%s names its queue', (url, partition, region, name) => {
    expect(parseQueueUrl(url)).toEqual({
      arn: `arn:${partition}:sqs:${region}:111122223333:${name}`,
      partition,
      region,
      account: '111122223333',
      name,
    });
  });

  it.each([
    'http://127.0.0.1:5000/123456789012/q',
    'http://sqs.us-east-1.amazonaws.com/111122223333/q',
    'https://sqs.eu-west-1.amazonaws.com/1111/q',
    'https://sqs.eu-west-1.amazonaws.com.evil.example/111122223333/q',
    'q',
  ])('%s does not', (url) => {
    expect(parseQueueUrl(url)).toBeUndefined();
  });
});
