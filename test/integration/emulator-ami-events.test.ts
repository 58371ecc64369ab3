/**
 * The emulator's images take time and send EC2's `EC2 AMI State Change` events (docs/adr/0006,
 * local/emulator_ext/ami_events.py): a registered image or a copy is `pending` for its
 * configured time on the emulator's clock, then `available` (or `failed`, with the message the
 * emulator-only snapshot tag gives), and its event reaches the rules of the default bus of its
 * Region after the configured delay, unless dropped. Real SDK calls, in Regions of their own
 * whose settings it sets (and resets afterwards).
 */
import {
  CopyImageCommand,
  DescribeImagesCommand,
  EC2Client,
  type Image,
  RegisterImageCommand,
} from '@aws-sdk/client-ec2';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import {
  amiEventControl,
  amiEventQueue,
  createTaggedSnapshot,
  IMAGE_FAILURE_TAG,
  throttleControl,
} from '../../local/index.ts';

const REGION = 'ap-northeast-3';
const COPY_REGION = 'ca-west-1';
const ec2 = new EC2Client({ region: REGION, maxAttempts: 1 });
const control = amiEventControl(inject('awsEndpoint'));
const throttle = throttleControl(inject('awsEndpoint'));
// Twenty emulated minutes a wall second: a registration of 10 minutes, a copy of 40.
const TIME_SCALE = 1200;
let counter = 0;
type Events = Awaited<ReturnType<typeof amiEventQueue>>;
let events: Events;
const received: Record<string, unknown>[] = [];

beforeAll(async () => {
  for (const region of [REGION, COPY_REGION]) {
    await throttle.configure({ region, enabled: false });
    await control.configure({
      region,
      registerSeconds: 600,
      copySeconds: 2400,
      eventDelaySeconds: 60,
      timeScale: TIME_SCALE,
    });
  }
  events = await amiEventQueue({
    name: `emulator-ami-events-${Date.now()}`,
    region: REGION,
    forwardFrom: [COPY_REGION],
  });
});
afterAll(async () => {
  for (const region of [REGION, COPY_REGION]) {
    await control.reset(region);
    await throttle.reset(region);
  }
});

async function register(snapshotTags: Record<string, string> = {}): Promise<string> {
  const snapshotId = await createTaggedSnapshot(ec2, { purpose: 'emulator-ami-events', ...snapshotTags });
  const { ImageId } = await ec2.send(
    new RegisterImageCommand({
      Name: `ami-events-${Date.now()}-${++counter}`,
      RootDeviceName: '/dev/xvda',
      BlockDeviceMappings: [{ DeviceName: '/dev/xvda', Ebs: { SnapshotId: snapshotId } }],
      Architecture: 'x86_64',
      VirtualizationType: 'hvm',
    }),
  );
  return ImageId as string;
}

async function describe1(client: EC2Client, imageId: string): Promise<Image | undefined> {
  return (await client.send(new DescribeImagesCommand({ ImageIds: [imageId] }))).Images?.[0];
}

/** Polls the rule's queue until the image's event is there (or the deadline passes). */
async function eventOf(imageId: string, deadlineMs = 15_000) {
  const until = Date.now() + deadlineMs;
  for (;;) {
    const found = received.find((e) => (e.detail as { ImageId?: string }).ImageId === imageId);
    if (found) return found;
    if (Date.now() > until) return undefined;
    await events.poll(async (event) => {
      received.push(event);
    });
  }
}

describe('the emulator’s AMI state changes and events', () => {
  it('keeps a registered image pending for its time, then makes it available and sends its event', async () => {
    const imageId = await register();
    expect((await describe1(ec2, imageId))?.State).toBe('pending');
    const event = await eventOf(imageId);
    expect(event).toMatchObject({
      source: 'aws.ec2',
      'detail-type': 'EC2 AMI State Change',
      region: REGION,
      resources: [`arn:aws:ec2:${REGION}::image/${imageId}`],
      detail: { ImageId: imageId, State: 'available' },
    });
    expect((await describe1(ec2, imageId))?.State).toBe('available');
  });

  it('fails an image whose root snapshot asks for it, with the message in StateReason and in the event', async () => {
    const imageId = await register({ [IMAGE_FAILURE_TAG]: 'the snapshot could not be read' });
    const event = await eventOf(imageId);
    expect(event?.detail).toEqual({
      RequestId: '',
      ImageId: imageId,
      State: 'failed',
      ErrorMessage: 'the snapshot could not be read',
    });
    expect(await describe1(ec2, imageId)).toMatchObject({
      State: 'failed',
      StateReason: { Message: 'the snapshot could not be read' },
    });
  });

  it("copies slowly, and the copy Region's event is forwarded to the pipeline Region's bus", async () => {
    const source = await register();
    await eventOf(source);
    const copyEc2 = new EC2Client({ region: COPY_REGION, maxAttempts: 1 });
    const { ImageId: copy } = await copyEc2.send(
      new CopyImageCommand({ SourceImageId: source, SourceRegion: REGION, Name: `copy-${Date.now()}` }),
    );
    expect((await describe1(copyEc2, copy as string))?.State).toBe('pending');
    const event = await eventOf(copy as string);
    expect(event).toMatchObject({ region: COPY_REGION, detail: { ImageId: copy, State: 'available' } });
  });

  it('drops the share of events it is told to, and counts them', async () => {
    await control.configure({ region: REGION, dropShare: 1 });
    try {
      const before = (await control.state()).counters[REGION]?.dropped ?? 0;
      const imageId = await register();
      await expect
        .poll(async () => (await describe1(ec2, imageId))?.State, { timeout: 10_000 })
        .toBe('available');
      await expect
        .poll(async () => (await control.state()).counters[REGION]?.dropped, { timeout: 10_000 })
        .toBe(before + 1);
      expect(await eventOf(imageId, 1_500)).toBeUndefined();
    } finally {
      await control.configure({ region: REGION, dropShare: 0 });
    }
  });
});
