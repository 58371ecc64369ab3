/**
 * Deployment bounds (tag contract v3, "Deployment bounds are checked when planning"): a tag
 * that asks for something the deployment does not allow rejects the snapshot when it is
 * planned, before any EC2 call, naming the tag, the deployment parameter and the value to
 * deploy with. The workflow checks the same again (functions/lifecycle, shared/uefi-data.ts):
 * whoever may start an execution writes its input. The launch test's bounds are checked with
 * the rest of the launch test (launch-test.ts).
 */
import type { DeploymentBounds } from '../settings.ts';
import { uefiDataLocation } from '../uefi-data.ts';
import { deployWith } from './launch-test.ts';
import type { TagReader } from './reader.ts';
import type { Lifecycle } from './types.ts';

/** Records an error on the reader for each of the root's tags outside `bounds`. */
export function checkBounds(
  root: TagReader,
  uefiDataSource: string | undefined,
  lifecycle: Lifecycle | undefined,
  bounds: DeploymentBounds,
): void {
  const name = lifecycle?.ssmParameter;
  if (name !== undefined && !name.startsWith(bounds.ssmParameterPath)) {
    const tag = root.tagKey('ssm-parameter');
    root.conflict(
      'ssm-parameter',
      `${tag}=${name} is outside the path this deployment may write SSM parameters under (${bounds.ssmParameterPath}, its ssmParameterPath parameter); ${coverWith('ssmParameterPath', name, `name a parameter under ${bounds.ssmParameterPath}`)}.`,
    );
  }
  if (uefiDataSource !== undefined) {
    const found = uefiDataLocation(uefiDataSource, bounds.uefiData);
    if ('refused' in found) {
      const tag = root.tagKey('uefi-data');
      const where = uefiDataSource.slice(uefiDataSource.startsWith('s3://') ? 's3://'.length : 'ssm:'.length);
      const instead = uefiDataSource.startsWith('s3://')
        ? `deploy with ${deployWith('uefiDataBucket', where.slice(0, where.indexOf('/')))}${bounds.uefiData.bucket ? `, or name an object of s3://${bounds.uefiData.bucket}/` : ''}`
        : coverWith(
            'uefiDataParameterPath',
            where,
            `name a parameter under ${bounds.uefiData.parameterPath}`,
          );
      root.conflict('uefi-data', `${tag}=${found.refused}; ${instead}.`);
    }
  }
}

/**
 * What to do about an SSM name outside a path parameter: deploy with its parent path, when the
 * name has one a path parameter can be (at least one name deep), or else name it otherwise.
 */
function coverWith(parameter: 'ssmParameterPath' | 'uefiDataParameterPath', name: string, otherwise: string) {
  const parent = /^(\/(?:[A-Za-z0-9_.-]+\/)+)[^/]+$/.exec(name)?.[1];
  return parent === undefined || /^\/(aws|ssm)/i.test(parent)
    ? `no ${parameter} can cover it (a path is at least one name deep): ${otherwise}`
    : `deploy with ${deployWith(parameter, parent)}, or ${otherwise}`;
}
