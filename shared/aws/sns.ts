/** The SNS client (clients.ts): the local workflow's notify step (the deployed one is Step Functions' own integration). */
import { SNSClient } from '@aws-sdk/client-sns';
import { clientConfig, once } from './clients.ts';
import { traced } from './tracer.ts';

export const snsClient = once(() => traced(new SNSClient(clientConfig())));
