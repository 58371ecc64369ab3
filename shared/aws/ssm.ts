/** SSM clients (clients.ts), in any Region: the lifecycle's parameters and the image step's UefiData. */
import { SSMClient } from '@aws-sdk/client-ssm';
import { clientConfig, perRegion } from './clients.ts';
import { traced } from './tracer.ts';

/** SSM in a Region for the workflow's steps: one attempt per call, the workflow retries. */
export const workflowSsmClientIn = perRegion((region) =>
  traced(new SSMClient(clientConfig({ region, workflow: true }))),
);
/** SSM in a Region with the SDK's own retries: the reconciler's retention pass. */
export const ssmClientIn = perRegion((region) => traced(new SSMClient(clientConfig({ region }))));
