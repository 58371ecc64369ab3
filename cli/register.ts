/**
 * `snap2ami register`: asks the pipeline to register snapshots now, for those whose completion
 * event came before they were opted in, or never came. It sends Register Snapshots requests
 * (events.md v2) to the pipeline's queue, so they take the ordinary way: same parser, same
 * planner, same key, same workflow; a snapshot that has its AMI gets no second one. The
 * account and Region in the requests are the queue's own (from its ARN), the ones ingest
 * trusts.
 */
import { SendMessageCommand, type SQSClient } from '@aws-sdk/client-sqs';
import { parseQueueUrl, type QueueIdentity } from '#shared/aws/queues.ts';
import { type RegisterSnapshotsEvent, registerSnapshotsRequests } from '#shared/register-request.ts';
import { CliError, explainAwsError, queueNamedBy } from './errors.ts';

export interface RegisterOptions {
  queueUrl: string;
  snapshotIds: string[];
  multiVolume?: boolean;
  dryRun?: boolean;
}

export interface RegisterResult {
  request: RegisterSnapshotsEvent;
  /** The SQS message ID, once sent. */
  messageId?: string;
}

export const ORIGIN = 'snap2ami register';

/**
 * The queue's account and Region for a dry run, which sends nothing: from an SQS endpoint's
 * URL without any call (no credentials, Region or network needed); any other form (an
 * emulator's) does not name its Region, so SQS is asked, and a failure says why it was.
 */
async function dryRunQueue(sqs: SQSClient, url: string): Promise<QueueIdentity> {
  const identity = parseQueueUrl(url);
  if (identity) return identity;
  try {
    return await queueNamedBy(sqs, url, '--queue-url');
  } catch (error) {
    throw new CliError(
      `${(error as Error).message} (a URL other than https://sqs.<region>.amazonaws.com/<account>/<name> does not name the queue's Region, so even a dry run asks SQS)`,
    );
  }
}

export async function register(
  sqs: SQSClient,
  options: RegisterOptions,
  now = new Date(),
  newId: () => string = () => crypto.randomUUID(),
): Promise<RegisterResult[]> {
  const queue = options.dryRun
    ? await dryRunQueue(sqs, options.queueUrl)
    : await queueNamedBy(sqs, options.queueUrl, '--queue-url');
  let requests: RegisterSnapshotsEvent[];
  try {
    requests = registerSnapshotsRequests(
      {
        snapshotIds: options.snapshotIds,
        multiVolume: options.multiVolume ?? false,
        account: queue.account,
        region: queue.region,
        origin: ORIGIN,
        time: now,
      },
      newId,
    );
  } catch (error) {
    const issue = (error as { issues?: { message: string }[] }).issues?.[0]?.message;
    throw new CliError(`a Register Snapshots request ${issue ?? (error as Error).message}`);
  }
  const results: RegisterResult[] = requests.map((request) => ({ request }));
  if (options.dryRun) return results;
  for (const result of results) {
    try {
      const sent = await sqs.send(
        new SendMessageCommand({ QueueUrl: options.queueUrl, MessageBody: JSON.stringify(result.request) }),
      );
      if (sent.MessageId) result.messageId = sent.MessageId;
    } catch (error) {
      const done = results.filter((r) => r.messageId).flatMap((r) => r.request.detail.snapshotIds);
      const cause = explainAwsError(error, { service: 'SQS', what: 'sending the request' }).message;
      throw new CliError(
        `${cause}${done.length ? ` (sent already, for ${done.join(', ')}: run the command again for the others)` : ''}`,
      );
    }
  }
  return results;
}
