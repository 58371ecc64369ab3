/**
 * Adoption by key: the pipeline's own images of an idempotency key, found by their `<p>key` tag
 * (RegisterImage and CopyImage set it with the image), whatever their name. The register step,
 * the copy step (in each copy's Region) and the reconciler adopt through it, so that a redrive
 * after a tag change (`<p>name` above all) finds the image an earlier attempt made instead of
 * registering a second one under the same key (docs/adr/0005-failure-model.md).
 */
import { DescribeImagesCommand, type EC2Client, type Image } from '@aws-sdk/client-ec2';

/** This account's images in the client's Region whose `<p>key` is one of `keys`. */
export async function imagesByKey(ec2: EC2Client, prefix: string, keys: readonly string[]): Promise<Image[]> {
  const { Images = [] } = await ec2.send(
    new DescribeImagesCommand({
      Owners: ['self'],
      Filters: [{ Name: `tag:${prefix}key`, Values: [...keys] }],
    }),
  );
  return Images;
}

/** An image's `<p>key` tag. */
export function keyOf(image: Image, prefix: string): string | undefined {
  return image.Tags?.find((tag) => tag.Key === `${prefix}key`)?.Value;
}

/** The one to adopt among images of one key: an available one first, then a pending one, then any. */
export function adoptable(images: readonly Image[]): Image | undefined {
  return (
    images.find((image) => image.State === 'available') ??
    images.find((image) => image.State === 'pending') ??
    images[0]
  );
}
