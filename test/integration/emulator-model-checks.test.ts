/**
 * The emulator refuses what AWS refuses (docs/adr/0006): every EC2, SNS, DynamoDB, SSM and SQS
 * request is checked against botocore's model of the service (required members, list lengths,
 * ranges, enums, patterns) and against the documented limits the model lacks
 * (local/emulator_ext/limits.py), before moto serves it. Real SDK calls; each refusal is the
 * error AWS gives (EC2's XML error, HTTP 400; ValidationException for the JSON services).
 */
import {
  CreateTableCommand,
  DynamoDBClient,
  PutItemCommand,
  UpdateItemCommand,
  type UpdateItemCommandInput,
} from '@aws-sdk/client-dynamodb';
import {
  CreateTagsCommand,
  DescribeImageReferencesCommand,
  type DescribeImageReferencesCommandInput,
  EC2Client,
  RegisterImageCommand,
  type RegisterImageCommandInput,
} from '@aws-sdk/client-ec2';
import {
  CreateQueueCommand,
  SendMessageCommand,
  type SendMessageCommandInput,
  SQSClient,
} from '@aws-sdk/client-sqs';
import { GetParametersCommand, PutParameterCommand, SSMClient } from '@aws-sdk/client-ssm';
import { beforeAll, describe, expect, inject, it } from 'vitest';
import { createTaggedSnapshot, requestLog } from '../../local/index.ts';
import { failure } from '../support/ec2.ts';

const ec2 = new EC2Client({ maxAttempts: 1 });
const dynamodb = new DynamoDBClient({ maxAttempts: 1 });
const ssm = new SSMClient({ maxAttempts: 1 });
const sqs = new SQSClient({ maxAttempts: 1 });
let counter = 0;
const unique = (label: string) => `model-checks-${label}-${Date.now()}-${++counter}`;

/** A registered image of a new snapshot. */
async function image(): Promise<string> {
  const snapshotId = await createTaggedSnapshot(ec2, { purpose: 'emulator-test' });
  const { ImageId } = await ec2.send(new RegisterImageCommand(registration(snapshotId)));
  if (!ImageId) throw new Error('no ImageId');
  return ImageId;
}

function registration(snapshotId: string): RegisterImageCommandInput {
  return {
    Name: unique('image'),
    RootDeviceName: '/dev/xvda',
    BlockDeviceMappings: [{ DeviceName: '/dev/xvda', Ebs: { SnapshotId: snapshotId } }],
  };
}

describe('EC2 requests are checked against the EC2 model', () => {
  it('refuses DescribeImageReferences with 11 image IDs (the model allows 10) and answers 10', async () => {
    const ids = await Promise.all(Array.from({ length: 11 }, image));
    const references = (ImageIds: string[]): DescribeImageReferencesCommandInput => ({
      ImageIds,
      IncludeAllResourceTypes: true,
    });
    const refused = await failure(ec2.send(new DescribeImageReferencesCommand(references(ids))));
    expect(refused).toMatchObject({ name: 'InvalidParameterValue', status: 400 });
    expect(refused.message).toContain('ImageId');
    expect(refused.message).toContain('less than or equal to 10');
    const answered = await ec2.send(new DescribeImageReferencesCommand(references(ids.slice(0, 10))));
    expect(answered.ImageReferences).toEqual([]);
  });

  it('refuses RegisterImage without Name (required) with MissingParameter, before any image is made', async () => {
    const snapshotId = await createTaggedSnapshot(ec2, { purpose: 'emulator-test' });
    const { Name: _, ...nameless } = registration(snapshotId);
    const refused = await failure(ec2.send(new RegisterImageCommand(nameless as RegisterImageCommandInput)));
    expect(refused).toMatchObject({
      name: 'MissingParameter',
      status: 400,
      message: 'The request must contain the parameter Name',
    });
  });

  it('refuses an enum value outside the model (Architecture, a volume type deep in a list)', async () => {
    const snapshotId = await createTaggedSnapshot(ec2, { purpose: 'emulator-test' });
    const architecture = await failure(
      ec2.send(
        new RegisterImageCommand({
          ...registration(snapshotId),
          Architecture: 'sparc' as RegisterImageCommandInput['Architecture'],
        }),
      ),
    );
    expect(architecture).toMatchObject({ name: 'InvalidParameterValue', status: 400 });
    expect(architecture.message).toContain('Value (sparc) for parameter Architecture is invalid');
    const volumeType = await failure(
      ec2.send(
        new RegisterImageCommand({
          ...registration(snapshotId),
          BlockDeviceMappings: [
            { DeviceName: '/dev/xvda', Ebs: { SnapshotId: snapshotId, VolumeType: 'gp9' as 'gp3' } },
          ],
        }),
      ),
    );
    expect(volumeType.message).toContain('parameter BlockDeviceMapping.1.Ebs.VolumeType is invalid');
  });

  it('refuses an AMI name EC2 does not accept, and tags past EC2 restrictions (limits table)', async () => {
    const snapshotId = await createTaggedSnapshot(ec2, { purpose: 'emulator-test' });
    const named = await failure(
      ec2.send(new RegisterImageCommand({ ...registration(snapshotId), Name: 'web:2026-12-07T10:00:00Z' })),
    );
    expect(named).toMatchObject({ name: 'InvalidAMIName.Malformed', status: 400 });
    const reserved = await failure(
      ec2.send(new CreateTagsCommand({ Resources: [snapshotId], Tags: [{ Key: 'aws:owner', Value: 'me' }] })),
    );
    expect(reserved).toMatchObject({ name: 'InvalidParameterValue', status: 400 });
    const many = Array.from({ length: 51 }, (_, n) => ({ Key: `k${n}`, Value: 'v' }));
    const tooMany = await failure(ec2.send(new CreateTagsCommand({ Resources: [snapshotId], Tags: many })));
    expect(tooMany).toMatchObject({ name: 'TagLimitExceeded', status: 400 });
  });

  it('logs a refused request, which reached EC2 and was refused there', async () => {
    const ids = await Promise.all(Array.from({ length: 11 }, image));
    await failure(
      ec2.send(new DescribeImageReferencesCommand({ ImageIds: ids, IncludeAllResourceTypes: true })),
    );
    const logged = await requestLog(inject('awsEndpoint')).find({
      action: 'DescribeImageReferences',
      imageId: ids[10],
    });
    expect(logged).toHaveLength(1);
  });
});

describe('DynamoDB requests are checked against the model and DynamoDB documented limits', () => {
  const table = unique('table');
  beforeAll(async () => {
    await dynamodb.send(
      new CreateTableCommand({
        TableName: table,
        BillingMode: 'PAY_PER_REQUEST',
        AttributeDefinitions: [{ AttributeName: 'pk', AttributeType: 'S' }],
        KeySchema: [{ AttributeName: 'pk', KeyType: 'HASH' }],
      }),
    );
  });

  /** An UpdateExpression of exactly `bytes` bytes: SET a = :v, then spaces before the end. */
  const update = (bytes: number): UpdateItemCommandInput => {
    const head = 'SET a = :v';
    return {
      TableName: table,
      Key: { pk: { S: 'item' } },
      UpdateExpression: `${head}${' '.repeat(bytes - head.length)}`,
      ExpressionAttributeValues: { ':v': { S: 'x' } },
    };
  };

  it('refuses an UpdateExpression over 4 KB (4,097 bytes) and accepts one of 4 KB', async () => {
    const refused = await failure(dynamodb.send(new UpdateItemCommand(update(4097))));
    expect(refused).toMatchObject({
      name: 'ValidationException',
      status: 400,
      message:
        'Invalid UpdateExpression: Expression size has exceeded the maximum allowed size; expression size: 4097',
    });
    await dynamodb.send(new UpdateItemCommand(update(4096)));
  });

  it('refuses an item over 400 KB and an enum value outside the model', async () => {
    const item = { pk: { S: 'big' }, body: { S: 'x'.repeat(400 * 1024) } };
    const big = await failure(dynamodb.send(new PutItemCommand({ TableName: table, Item: item })));
    expect(big).toMatchObject({
      name: 'ValidationException',
      message: 'Item size has exceeded the maximum allowed size',
    });
    const returns = await failure(
      dynamodb.send(new UpdateItemCommand({ ...update(20), ReturnValues: 'EVERYTHING' as 'ALL_NEW' })),
    );
    expect(returns).toMatchObject({ name: 'ValidationException', status: 400 });
    expect(returns.message).toMatch(
      /^1 validation error detected: Value 'EVERYTHING' at 'returnValues' failed to satisfy constraint: Member must satisfy enum value set/,
    );
  });
});

describe('SSM and SQS requests are checked too', () => {
  it('refuses GetParameters with 11 names (the model allows 10) and a Standard value over 4 KB', async () => {
    const names = Array.from({ length: 11 }, (_, n) => `/model-checks/${n}`);
    const refused = await failure(ssm.send(new GetParametersCommand({ Names: names })));
    expect(refused).toMatchObject({ name: 'ValidationException', status: 400 });
    expect(refused.message).toContain(
      "at 'names' failed to satisfy constraint: Member must have length less than or equal to 10",
    );
    const value = await failure(
      ssm.send(new PutParameterCommand({ Name: `/${unique('p')}`, Type: 'String', Value: 'x'.repeat(4097) })),
    );
    expect(value).toMatchObject({ name: 'ValidationException', status: 400 });
  });

  it('refuses SendMessage without MessageBody (required) with MissingParameter', async () => {
    const { QueueUrl } = await sqs.send(new CreateQueueCommand({ QueueName: unique('queue') }));
    const input = { QueueUrl } as SendMessageCommandInput;
    const refused = await failure(sqs.send(new SendMessageCommand(input)));
    expect(refused).toMatchObject({ name: 'MissingParameter', status: 400 });
  });
});
