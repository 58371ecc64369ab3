/** The Step Functions client (clients.ts): ingest starts executions, the reconciler reads them. */
import { SFNClient } from '@aws-sdk/client-sfn';
import { clientConfig, once } from './clients.ts';
import { traced } from './tracer.ts';

export const sfnClient = once(() => traced(new SFNClient(clientConfig())));
