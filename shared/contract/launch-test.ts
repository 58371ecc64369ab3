/**
 * The launch test (tag contract v3, "Launch test"): read from the root snapshot's tags into
 * the plan's `launchTest`, and checked against the AMI and the deployment when planning, so
 * that a test that could never run is rejected before anything is registered. The workflow
 * runs it (launch, status checks, the SSM command, terminate).
 */
import { DEFAULT_LAUNCH_TEST_INSTANCE_TYPES, type LaunchTestSettings } from '../settings.ts';
import type { ImageParameters } from './image-parameters.ts';
import { bootsOn, DEFAULT_LAUNCH_TEST_TYPES, instanceTypeTraits } from './instance-types.ts';
import type { TagReader } from './reader.ts';
import type { LaunchTest } from './types.ts';
import { DEFAULT_LAUNCH_TEST_MINUTES } from './values.ts';

/** `--param="<name>=<value>"`, as the errors give the value to deploy with. */
export const deployWith = (parameter: string, value: string) => `--param="${parameter}=${value}"`;

/**
 * The plan's `launchTest` when `<p>launch-test` asks for one, else undefined. Everything that
 * keeps the test from running records an error on the reader: the deployment has no subnet,
 * `ssm:` without an instance profile, an architecture no allowed type runs, a type the
 * deployment does not allow or that cannot boot the AMI. `settings` absent: the deployment is
 * not known (see PlannerSettings.bounds), and only the types are checked, against the defaults.
 */
export function readLaunchTest(
  root: TagReader,
  image: ImageParameters,
  settings: LaunchTestSettings | undefined,
): LaunchTest | undefined {
  const mode = root.get('launch-test');
  const requested = root.get('launch-test-instance-type');
  const timeoutMinutes = root.get('launch-test-timeout') ?? DEFAULT_LAUNCH_TEST_MINUTES;
  if (mode === undefined || mode.mode === 'off') return undefined;

  const tag = root.tagKey('launch-test');
  const shown = `${tag}=${root.raw('launch-test')}`;
  if (settings !== undefined && settings.subnetIds.length === 0)
    root.conflict(
      'launch-test',
      `${shown}: this deployment has no launch-test subnet (its launchTestSubnetIds parameter is not set); deploy with ${deployWith('launchTestSubnetIds', 'subnet-…')}, or remove ${tag}.`,
    );
  if (mode.mode === 'ssm' && settings !== undefined && settings.instanceProfile === undefined)
    root.conflict(
      'launch-test',
      `${shown}: an SSM command needs an instance profile, and this deployment names none (its launchTestInstanceProfile parameter is not set); deploy with ${deployWith('launchTestInstanceProfile', '<instance-profile>')}, or use ${tag}=status-checks.`,
    );
  const allowed = settings?.instanceTypes ?? DEFAULT_LAUNCH_TEST_INSTANCE_TYPES;
  const instanceType =
    requested === undefined
      ? defaultType(root, image, allowed)
      : requestedType(root, image, requested, allowed);
  if (instanceType === undefined) return undefined;
  return {
    mode: mode.mode,
    ...(mode.mode === 'ssm' && { document: mode.document }),
    instanceType,
    timeoutMinutes,
  };
}

/** Why an instance of `type` cannot boot the AMI, or undefined when it can. */
function mismatch(image: ImageParameters, type: string): string | undefined {
  const traits = instanceTypeTraits(type);
  const how = traits.known ? '' : ' (inferred from its name)';
  if (traits.architecture !== image.architecture)
    return `${type} runs ${traits.architecture}${how}, and the AMI is ${image.architecture}`;
  if (bootsOn(image.bootMode, traits) === undefined)
    return `${type} boots ${traits.bootModes.join(' or ')}${how}, and the AMI's boot mode is ${image.bootMode}`;
  return undefined;
}

/**
 * The contract's default for the AMI's architecture when the deployment allows it, else the
 * first allowed type that can boot the AMI; undefined (with an error) when none can.
 */
function defaultType(
  root: TagReader,
  image: ImageParameters,
  allowed: readonly string[],
): string | undefined {
  const preferred = DEFAULT_LAUNCH_TEST_TYPES[image.architecture];
  const candidates =
    preferred !== undefined && allowed.includes(preferred) ? [preferred, ...allowed] : allowed;
  const found = candidates.find((type) => mismatch(image, type) === undefined);
  if (found !== undefined) return found;
  const remove = `remove ${root.tagKey('launch-test')}`;
  const remedy =
    preferred === undefined
      ? `no type a launch test uses runs ${image.architecture}: ${remove}`
      : !allowed.includes(preferred) && mismatch(image, preferred) === undefined
        ? `deploy with ${deployWith('launchTestInstanceTypes', [...allowed, preferred].join(','))}, or ${remove}`
        : `${mismatch(image, preferred)}: change ${root.tagKey('boot-mode')}, or ${remove}`;
  root.conflict(
    'launch-test',
    `${root.tagKey('launch-test')}=${root.raw('launch-test')}: no instance type this deployment allows (${allowed.join(', ')}) runs an ${image.architecture} AMI${image.bootMode ? ` with boot mode ${image.bootMode}` : ''}; ${remedy}.`,
  );
  return undefined;
}

/** The type `<p>launch-test-instance-type` names, when the deployment allows it and it can boot the AMI. */
function requestedType(
  root: TagReader,
  image: ImageParameters,
  requested: string,
  allowed: readonly string[],
): string | undefined {
  const tag = root.tagKey('launch-test-instance-type');
  if (!allowed.includes(requested)) {
    root.conflict(
      'launch-test-instance-type',
      `${tag}=${requested} is not among the types this deployment allows for launch tests (${allowed.join(', ')}: its launchTestInstanceTypes parameter); deploy with ${deployWith('launchTestInstanceTypes', [...allowed, requested].join(','))}, or name one of those.`,
    );
    return undefined;
  }
  const why = mismatch(image, requested);
  if (why === undefined) return requested;
  const fits = allowed.filter((type) => mismatch(image, type) === undefined);
  root.conflict(
    'launch-test-instance-type',
    `${tag}=${requested} cannot boot this AMI: ${why}; accepted: ${fits.length > 0 ? fits.join(', ') : `no type this deployment allows (${allowed.join(', ')})`}.`,
  );
  return undefined;
}

/** Notes on launch-test tags without effect. */
export function launchTestNotes(root: TagReader, launchTest: LaunchTest | undefined): string[] {
  if (launchTest !== undefined) return [];
  return (['launch-test-instance-type', 'launch-test-timeout'] as const)
    .filter((name) => root.has(name))
    .map(
      (name) =>
        `${root.tagKey(name)} has no effect without ${root.tagKey('launch-test')}=status-checks or ssm:<document>.`,
    );
}
