/**
 * EC2's `EC2 AMI State Change` events and the waits that follow them (docs/adr/0013-ami-events.md):
 * the event as EC2 sends it (source aws.ec2, on a best-effort basis, in the image's Region), the
 * records table item that keeps a waiting task's token under the image it waits for, and what
 * each state an image reaches means for that wait. Pure: no SDK, no I/O.
 */
import { IMAGE_WAIT_ITEM_PREFIX } from './records.ts';
import * as z from './zod.ts';

export const AMI_EVENT_SOURCE = 'aws.ec2';
export const AMI_EVENT_DETAIL_TYPE = 'EC2 AMI State Change';

/** The event pattern of the rule that resumes waiting workflows (serverless.yml holds the same; a test keeps them equal). */
export const AMI_EVENT_PATTERN = {
  source: [AMI_EVENT_SOURCE],
  'detail-type': [AMI_EVENT_DETAIL_TYPE],
  detail: { State: ['available', 'failed', 'deregistered', 'disabled'] },
};

export const amiEventSchema = z.object({
  source: z.literal(AMI_EVENT_SOURCE),
  'detail-type': z.literal(AMI_EVENT_DETAIL_TYPE),
  region: z.string(),
  detail: z.object({
    ImageId: z.string(),
    State: z.string(),
    ErrorMessage: z.optional(z.string()),
  }),
});

export type AmiEvent = z.infer<typeof amiEventSchema>;

export function imageWaitKey(region: string, imageId: string): string {
  return `${IMAGE_WAIT_ITEM_PREFIX}${region}#${imageId}`;
}

/** The error a wait fails with when its image will not become available (SendTaskFailure's error). */
export const IMAGE_FAILED = 'ImageFailed';

/** An image a wait is for: in the pipeline's Region unless it names another (a copy). */
export interface AwaitedImage {
  imageId: string;
  region: string;
}

export type WaitOutcome = { kind: 'available' } | { kind: 'pending' } | { kind: 'failed'; cause: string };

/**
 * What an image's state means for a wait: `available` ends it, `pending` (or an image not
 * described yet) keeps it waiting, and anything else (`failed`, `deregistered`, `disabled`,
 * `error`, `invalid`) fails it with EC2's own message.
 */
export function waitOutcome(image: AwaitedImage, state: string | undefined, message?: string): WaitOutcome {
  if (state === 'available') return { kind: 'available' };
  if (state === 'pending' || state === undefined || state === 'transient') return { kind: 'pending' };
  const what = `${image.imageId} in ${image.region} is ${state}`;
  return { kind: 'failed', cause: message ? `${what}: ${message}` : what };
}
