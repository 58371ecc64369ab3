/**
 * The AWS adapter: one client per service per container, created on first use, configured
 * only through the SDK's standard settings (AWS_REGION, AWS_ENDPOINT_URL,
 * AWS_ENDPOINT_URL_<SERVICE>, AWS_MAX_ATTEMPTS, AWS_RETRY_MODE). The only place in shared/
 * that imports the AWS SDK.
 */
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { EC2Client } from '@aws-sdk/client-ec2';
import { SFNClient } from '@aws-sdk/client-sfn';
import { SNSClient } from '@aws-sdk/client-sns';
import { SQSClient } from '@aws-sdk/client-sqs';

function once<T>(make: () => T): () => T {
  let value: T | undefined;
  return () => {
    value ??= make();
    return value;
  };
}

export const ec2Client = once(() => new EC2Client({}));
export const sfnClient = once(() => new SFNClient({}));
export const sqsClient = once(() => new SQSClient({}));
export const dynamoDbClient = once(() => new DynamoDBClient({}));
export const snsClient = once(() => new SNSClient({}));
