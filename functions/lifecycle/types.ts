/**
 * The types the lifecycle's steps, its dispatcher, the retention item and the reconciler's
 * retention pass all need. It imports none of them, so that none of them imports another in a
 * circle.
 */
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type { EC2Client } from '@aws-sdk/client-ec2';
import type { SSMClient } from '@aws-sdk/client-ssm';
import type { Lifecycle, RegisterImageRequest } from '#shared/contract/types.ts';

export interface Copy {
  region: string;
  imageId: string;
}

export interface Common {
  key: string;
  executionArn: string;
  imageId: string;
  lifecycle: Lifecycle;
}

export type LifecycleTask =
  | (Common & { action: 'copyImages'; request: RegisterImageRequest })
  | (Common & { action: 'checkCopies'; copies: Copy[] })
  | (Common & { action: 'share'; copies: Copy[] })
  | (Common & { action: 'protect'; copies: Copy[] })
  | (Common & { action: 'publishParameters'; copies: Copy[]; request: RegisterImageRequest })
  | (Common & { action: 'retain'; copies: Copy[] })
  /** checkCopies, share, protect, publishParameters and retain in one invocation (distribute.ts). */
  | (Common & { action: 'distribute'; copies: Copy[]; request: RegisterImageRequest });

export interface LifecycleDeps {
  /** The workflow's EC2 client in a Region (one attempt per call). */
  ec2In(region: string): EC2Client;
  ssmIn(region: string): SSMClient;
  dynamo: DynamoDBClient;
  /** The records table: it also holds each SSM parameter's lock and newest snapshot time. */
  table: string;
  prefix: string;
  /** The pipeline's own Region, where the AMI is registered. */
  region: string;
  /** SSM parameter names the deployment lets the workflow write start with this path. */
  parameterPath: string;
  now(): Date;
}

/**
 * What retention needs: EC2 and SSM in each Region, the records table (registrations still in
 * progress; with the account and Region, it names the pipeline), the tag prefix, the
 * pipeline's Region, the clock.
 */
export type RetentionDeps = Pick<
  LifecycleDeps,
  'ec2In' | 'ssmIn' | 'dynamo' | 'table' | 'prefix' | 'region' | 'now'
>;

export interface RetentionResult {
  deregistered: Copy[];
  /** Disabled by this run (`<p>retain-grace`, or a shared image's 7 days): deregistered from `until`. */
  disabled: (Copy & { until: string; shared?: true })[];
  kept: { region: string; imageId: string; reason: string }[];
  /**
   * The family is not yet at its rule: this registration's own image was kept beyond it, or an
   * image waits out its grace. The family's retention item stays pending for the reconciler.
   */
  pending: boolean;
}

/** The AMI and its copies, Region by Region. */
export function everyImage(
  task: { imageId: string; copies: Copy[] },
  deps: Pick<LifecycleDeps, 'region'>,
): Copy[] {
  return [{ region: deps.region, imageId: task.imageId }, ...task.copies];
}
