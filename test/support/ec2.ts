/** EC2 on the emulator, as the emulator tests read it: one image described, the error a call fails with. */
import { DescribeImagesCommand, type EC2Client, type Image } from '@aws-sdk/client-ec2';

/** The image as DescribeImages gives it; a failure when EC2 does not describe it. */
export async function describeImage(ec2: EC2Client, imageId: string): Promise<Image> {
  const [image] = (await ec2.send(new DescribeImagesCommand({ ImageIds: [imageId] }))).Images ?? [];
  if (!image) throw new Error(`${imageId} not described`);
  return image;
}

/** The error an EC2 call fails with (its name, HTTP status and message), or a failure if it succeeds. */
export async function failure(call: Promise<unknown>) {
  try {
    await call;
  } catch (error) {
    const e = error as Error & { $metadata?: { httpStatusCode?: number } };
    return { name: e.name, status: e.$metadata?.httpStatusCode, message: e.message };
  }
  throw new Error('expected the call to fail');
}
