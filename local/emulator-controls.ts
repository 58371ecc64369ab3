/**
 * The emulator's own controls (docs/adr/0006-emulator-fidelity.md), for tests and the bench:
 * EC2's request throttling (token buckets per account, Region and API, on by default with EC2's
 * documented sizes and refill rates), the log of EC2 requests that named an image, the
 * snapshot tag that chooses an image's billing (PlatformDetails), and the request tag that sets a
 * new snapshot's StartTime. None is AWS: real EC2 has no such endpoint and no such tag.
 */

/**
 * The emulator-only snapshot tag: the PlatformDetails (billing) an image registered from this
 * root snapshot gets, standing in for the billing metadata EC2 reads from a real snapshot
 * ("Windows", "Red Hat Enterprise Linux", "SUSE Linux", …; empty: none). Untagged: "Linux/UNIX".
 */
export const PLATFORM_DETAILS_TAG = 'emulator:platform-details';

/**
 * The emulator-only tag of a CreateSnapshot request (TagSpecifications): the new snapshot's
 * StartTime, an ISO 8601 time, standing in for the time EBS started the snapshot (moto stamps
 * "now"). The emulator consumes it: the snapshot does not keep the tag. A local run gives each
 * sample its own StartTime this way (names with `{datetime}`, a family's order).
 */
export const START_TIME_TAG = 'emulator:start-time';

export interface BucketLimits {
  /** Bucket size (tokens). */
  size: number;
  /** Tokens added per second, before timeScale and competitorShare. */
  refill: number;
}

export interface ThrottleSettings {
  enabled: boolean;
  /** Every refill is this many times faster (a benchmark can run time-scaled). */
  timeScale: number;
  /** Share (0..1) of every refill another client of the account consumes. */
  competitorShare: number;
  /** Overrides of the documented limits, by API (`RegisterImage`, `DescribeSnapshots (unfiltered)`). */
  buckets: Record<string, BucketLimits>;
}

export interface ThrottleCounter {
  calls: number;
  throttled: number;
  /** The bucket's size and its effective refill per second (after timeScale and competitorShare). */
  size: number;
  refill: number;
}

export interface ThrottleState extends ThrottleSettings {
  /** Settings that apply to one Region only, over the global ones. */
  regions: Record<string, Partial<ThrottleSettings>>;
  documented: {
    nonMutating: BucketLimits;
    unfilteredNonMutating: BucketLimits;
    mutating: BucketLimits;
    uncategorized: Record<string, BucketLimits>;
  };
  /** Calls and throttled calls, by Region and API. */
  counters: Record<string, Record<string, ThrottleCounter>>;
}

export interface ThrottleUpdate extends Partial<ThrottleSettings> {
  /** Apply to this Region only (tests use a Region of their own); otherwise to every Region. */
  region?: string;
}

export interface ThrottleControl {
  state(): Promise<ThrottleState>;
  configure(update: ThrottleUpdate): Promise<ThrottleState>;
  /** Back to the defaults, counters zeroed and buckets full: for one Region, or everything. */
  reset(region?: string): Promise<ThrottleState>;
  /** The counter of one API in one Region (zeros when it was never called). */
  counter(region: string, api: string): Promise<ThrottleCounter>;
}

const PATH = '/snap2ami-emulator/throttle';

/** The three calls of an emulator control endpoint (`path`): its state, a change, a reset. */
interface Control<State, Update> {
  state(): Promise<State>;
  configure(update: Update): Promise<State>;
  reset(region?: string): Promise<State>;
}

/** A client of the emulator control endpoint at `path`: GET its state, POST a change or `reset`. */
function control<State, Update>(endpoint: string, path: string, name: string): Control<State, Update> {
  const call = async (at: string, body?: unknown): Promise<State> => {
    const response = await fetch(`${endpoint}${at}`, {
      method: body === undefined ? 'GET' : 'POST',
      headers: { 'content-type': 'application/json' },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    if (!response.ok)
      throw new Error(`emulator ${name} control: HTTP ${response.status} ${await response.text()}`);
    return (await response.json()) as State;
  };
  return {
    state: () => call(path),
    configure: (update) => call(path, update),
    reset: (region) => call(`${path}/reset`, region === undefined ? {} : { region }),
  };
}

export function throttleControl(endpoint: string): ThrottleControl {
  const calls = control<ThrottleState, ThrottleUpdate>(endpoint, PATH, 'throttle');
  return {
    ...calls,
    counter: async (region, api) =>
      (await calls.state()).counters[region]?.[api] ?? { calls: 0, throttled: 0, size: 0, refill: 0 },
  };
}

/** An EC2 request the emulator received that named images (`ImageId`, `ImageId.N`, `SourceImageId`) or snapshots. */
export interface EmulatorRequest {
  region: string;
  /** The EC2 action: `DeregisterImage`, `DescribeImages`, … */
  action: string;
  imageIds: string[];
  /** The snapshots it named (`SnapshotId`, `SnapshotId.N`, `BlockDeviceMapping.N.Ebs.SnapshotId`), when any. */
  snapshotIds?: string[];
}

export interface RequestLog {
  /** The requests that match every filter given, oldest first (throttled ones too). */
  find(filter: {
    action?: string;
    imageId?: string;
    snapshotId?: string;
    region?: string;
  }): Promise<EmulatorRequest[]>;
}

/** The emulator's log of EC2 requests that named an image or a snapshot: whether a call reached EC2 at all. */
export function requestLog(endpoint: string): RequestLog {
  return {
    async find(filter) {
      const query = new URLSearchParams(
        Object.entries(filter).filter((entry): entry is [string, string] => entry[1] !== undefined),
      );
      const response = await fetch(`${endpoint}/snap2ami-emulator/requests?${query}`);
      if (!response.ok)
        throw new Error(`emulator request log: HTTP ${response.status} ${await response.text()}`);
      return ((await response.json()) as { requests: EmulatorRequest[] }).requests;
    },
  };
}

/**
 * The emulator-only root-snapshot tag that makes an image fail to boot: with `fail`, an instance
 * of it fails its instance reachability check (as an image whose OS cannot find its root device).
 */
export const BOOT_TAG = 'emulator:boot';
/** The emulator-only root-snapshot tag that chooses an SSM command's final status on an instance of the image (`Failed`, `TimedOut`, `Cancelled`; default `Success`). */
export const SSM_COMMAND_TAG = 'emulator:ssm-command';

export interface InstanceSettings {
  /** Seconds an instance's status checks stay `initializing` after launch. */
  statusDelaySeconds: number;
  /** Seconds an SSM command stays `InProgress`. */
  commandDelaySeconds: number;
}

export interface InstanceState extends InstanceSettings {
  regions: Record<string, Partial<InstanceSettings>>;
}

export interface InstanceControl {
  state(): Promise<InstanceState>;
  /** For one Region (tests use a Region of their own), or for every Region. */
  configure(update: Partial<InstanceSettings> & { region?: string }): Promise<InstanceState>;
  reset(region?: string): Promise<InstanceState>;
}

const INSTANCES_PATH = '/snap2ami-emulator/instances';

/** The emulator's instance timing: how long status checks and SSM commands take. */
export function instanceControl(endpoint: string): InstanceControl {
  return control(endpoint, INSTANCES_PATH, 'instance');
}

/**
 * The emulator-only root-snapshot tag that makes an image fail: an image registered from it (or
 * copied from such an image) ends `failed`, its StateReason's Message and its `EC2 AMI State
 * Change` event's ErrorMessage the tag's value.
 */
export const IMAGE_FAILURE_TAG = 'emulator:image-failure';

export interface AmiEventSettings {
  /** Emulated seconds a registered image stays `pending`. */
  registerSeconds: number;
  /** Emulated seconds a copy stays `pending`. */
  copySeconds: number;
  /** Emulated seconds between a state change and its `EC2 AMI State Change` event. */
  eventDelaySeconds: number;
  /** The share (0..1) of events never sent (EC2 sends them on a best-effort basis). */
  dropShare: number;
  /** Emulated seconds per wall second. */
  timeScale: number;
}

export interface AmiEventState extends AmiEventSettings {
  regions: Record<string, Partial<AmiEventSettings>>;
  /** Events sent and dropped, by Region. */
  counters: Record<string, { sent: number; dropped: number }>;
}

export interface AmiEventControl {
  state(): Promise<AmiEventState>;
  /** For one Region (tests use a Region of their own), or for every Region. */
  configure(update: Partial<AmiEventSettings> & { region?: string }): Promise<AmiEventState>;
  reset(region?: string): Promise<AmiEventState>;
}

const AMI_EVENTS_PATH = '/snap2ami-emulator/ami-events';

/** The emulator's images' timing and their events: how long images take, and which events are lost. */
export function amiEventControl(endpoint: string): AmiEventControl {
  return control(endpoint, AMI_EVENTS_PATH, 'AMI event');
}
