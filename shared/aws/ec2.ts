/** EC2 clients (clients.ts): the workflow's, one attempt per call, and the SDK-retrying ones; in any Region. */
import { EC2Client } from '@aws-sdk/client-ec2';
import { clientConfig, perRegion } from './clients.ts';
import { traced } from './tracer.ts';

/** The workflow's EC2 client in a Region: one attempt per call, as workflowEc2Client. */
export const workflowEc2ClientIn = perRegion((region) =>
  traced(new EC2Client(clientConfig({ region, workflow: true }))),
);
/** EC2 in a Region with the SDK's own retries: the reconciler's retention pass, which no workflow retries. */
export const ec2ClientIn = perRegion((region) => traced(new EC2Client(clientConfig({ region }))));
/** EC2 in the container's own Region, with the SDK's retries. */
export const ec2Client = () => ec2ClientIn();
/** The workflow's EC2 client: one attempt per call; Step Functions owns the retries, so each shows in the history. */
export const workflowEc2Client = () => workflowEc2ClientIn();
