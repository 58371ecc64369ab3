/** Reads more than one step makes: an image, and the AMI a parameter names. */
import { DescribeImagesCommand, type EC2Client, type Image } from '@aws-sdk/client-ec2';
import { GetParameterCommand } from '@aws-sdk/client-ssm';
import { classified, classify } from '#shared/errors.ts';
import type { LifecycleDeps } from './types.ts';

export async function describeImage(
  ec2: EC2Client,
  imageId: string,
  where: string,
): Promise<Image | undefined> {
  const result = await classified(`DescribeImages (${where})`, () =>
    ec2.send(new DescribeImagesCommand({ ImageIds: [imageId] })),
  );
  return result.Images?.[0];
}

export async function parameterValue(
  region: string,
  name: string,
  deps: Pick<LifecycleDeps, 'ssmIn'>,
): Promise<string | undefined> {
  try {
    return (await deps.ssmIn(region).send(new GetParameterCommand({ Name: name }))).Parameter?.Value;
  } catch (error) {
    if ((error as Error).name === 'ParameterNotFound') return undefined;
    throw classify(error, `GetParameter ${name} in ${region}`);
  }
}
