/** The DynamoDB client (clients.ts): the records and admission tables. */
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { clientConfig, once } from './clients.ts';
import { traced } from './tracer.ts';

export const dynamoDbClient = once(() => traced(new DynamoDBClient(clientConfig())));
