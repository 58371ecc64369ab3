/** Queue state as the tests check it: nothing lost means visible + in flight. */
import { GetQueueAttributesCommand, type SQSClient } from '@aws-sdk/client-sqs';

export async function queueDepth(
  sqs: SQSClient,
  queueUrl: string,
): Promise<{ visible: number; inFlight: number }> {
  const { Attributes = {} } = await sqs.send(
    new GetQueueAttributesCommand({
      QueueUrl: queueUrl,
      AttributeNames: ['ApproximateNumberOfMessages', 'ApproximateNumberOfMessagesNotVisible'],
    }),
  );
  return {
    visible: Number(Attributes.ApproximateNumberOfMessages),
    inFlight: Number(Attributes.ApproximateNumberOfMessagesNotVisible),
  };
}

/** Every message still in the queue, visible or in flight. */
export async function messagesIn(sqs: SQSClient, queueUrl: string): Promise<number> {
  const { visible, inFlight } = await queueDepth(sqs, queueUrl);
  return visible + inFlight;
}
