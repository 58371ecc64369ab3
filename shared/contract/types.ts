/** Types of the tag contract's outputs: the RegisterImage request and the plan report. */
import type { ARCHITECTURES, BOOT_MODES, Retain, ShareWith, VOLUME_TYPES } from './values.ts';

/** One reason a snapshot (or set) was rejected: the tag, the RegisterImage field it feeds, and why. */
export interface ContractError {
  /** The tag key at fault, when the error concerns a tag. */
  tag?: string;
  /** The RegisterImage field (or `(guard)`, `(opt-in)`) the tag feeds, when there is one. */
  field?: string;
  /** What is wrong and what would be accepted, in one sentence. */
  message: string;
}

export interface EbsMapping {
  SnapshotId?: string;
  VolumeSize?: number;
  VolumeType?: (typeof VOLUME_TYPES)[number];
  Iops?: number;
  Throughput?: number;
  DeleteOnTermination?: boolean;
  OutpostArn?: string;
}

export interface BlockDeviceMapping {
  DeviceName: string;
  Ebs?: EbsMapping;
  VirtualName?: string;
  NoDevice?: string;
}

/**
 * The RegisterImage input, with the SDK's field names (`RegisterImageCommandInput`), fields
 * left out rather than null. `shared/` keeps its own type so it imports no SDK; the adapter
 * checks at compile time that this is assignable to the SDK's input.
 */
export interface RegisterImageRequest {
  Name: string;
  Description?: string;
  Architecture: (typeof ARCHITECTURES)[number];
  VirtualizationType: string;
  BootMode?: (typeof BOOT_MODES)[number];
  EnaSupport?: boolean;
  SriovNetSupport?: string;
  TpmSupport?: 'v2.0';
  ImdsSupport?: 'v2.0';
  RootDeviceName: string;
  KernelId?: string;
  RamdiskId?: string;
  BillingProducts?: string[];
  BlockDeviceMappings: BlockDeviceMapping[];
  TagSpecifications: { ResourceType: 'image'; Tags: { Key: string; Value: string }[] }[];
  /**
   * v2: never in a plan (the planner does no I/O; the plan names the source as
   * `uefiDataSource`): the workflow's ReadUefiData step sets it before the dry run.
   */
  UefiData?: string;
}

/**
 * Distribution and lifecycle (v2), as `snap2ami plan --json` shows it: only the fields whose
 * tags are set. The workflow carries it out after the image is available.
 */
export interface Lifecycle {
  /** `<p>copy-to`, in the tag's order, with `<p>copy-kms-key:<region>` where given. */
  copyTo?: { region: string; kmsKeyId?: string }[];
  /** `<p>share-with`: only the lists that have entries. */
  shareWith?: ShareWith;
  ssmParameter?: string;
  /** N for `<N>d`, 7N for `<N>w`, 365N for `<N>y`. */
  deprecateAfterDays?: number;
  /** `on` for `true`; absent for `false`. */
  deregistrationProtection?: 'on' | 'with-cooldown';
  family?: string;
  retain?: Retain;
  retainDeleteSnapshots?: boolean;
  /** v3 `<p>retain-grace`: days an image beyond the rule stays disabled before retention deregisters it; absent for 0d. */
  retainGraceDays?: number;
}

/**
 * v2: after the image is available, the workflow reads its `PlatformDetails`; when they do not
 * contain `expect`, it deregisters the image (`deregister`) or keeps it tagged
 * `<p>billing-check=missing` (`keep`, with `<p>allow-billing-code-loss=true`).
 */
export interface BillingCheck {
  expect: 'Windows' | 'Red Hat' | 'SUSE';
  onMissing: 'deregister' | 'keep';
}

/**
 * v3: the launch test the workflow runs before anything publishes the AMI, as `plan --json`
 * shows it: `document` only for `ssm`.
 */
export interface LaunchTest {
  mode: 'status-checks' | 'ssm';
  document?: string;
  instanceType: string;
  timeoutMinutes: number;
}

export interface Plan {
  key: string;
  snapshotIds: string[];
  request: RegisterImageRequest;
  notes: string[];
  /**
   * v2: `<p>uefi-data` as given (`s3://<bucket>/<key>` or `ssm:<parameter-name>`): the workflow
   * reads `UefiData` from there right before the dry run; `request` has no `UefiData`.
   */
  uefiDataSource?: string;
  /**
   * The account that owns the snapshots, when it is not the pipeline's own: the workflow copies
   * them in before registering (CopySourceSnapshots; shared/contract/source-account.ts).
   */
  sourceAccount?: string;
  /** v2: only when the root uses a distribution or lifecycle tag. */
  lifecycle?: Lifecycle;
  /** v2: only for `<p>platform` windows, rhel or sles. */
  billingCheck?: BillingCheck;
  /** v3: only with `<p>launch-test` other than false. */
  launchTest?: LaunchTest;
}

export interface Skipped {
  snapshotIds: string[];
  reason: string;
}

export interface Rejected {
  snapshotIds: string[];
  errors: ContractError[];
}

export interface PlanReport {
  plans: Plan[];
  skipped: Skipped[];
  rejected: Rejected[];
}

/** Deployment settings that the contract depends on. */
export interface PlannerSettings {
  /** The account the AMIs are registered in (the pipeline's own). */
  account: string;
  /** The pipeline's Region. */
  region: string;
  /** The tag prefix, `snap2ami:` by default. */
  prefix: string;
  /** Accounts whose snapshots may be registered besides the pipeline's own. */
  allowedSourceAccounts: readonly string[];
  /**
   * v3: the deployment's bounds on what tags may ask (SSM parameter path, UefiData sources,
   * launch tests): a tag outside them rejects the snapshot. Everything that plans for a
   * deployment (ingest, the reconciler, `plan`, `redrive`, `reconcile`) passes them, read by
   * shared/settings.ts `deploymentBounds`; left out, nothing is checked against a deployment
   * (the contract's other rows alone, as its tests of those rows plan), and a launch test is
   * planned with the default types.
   */
  bounds?: DeploymentBounds;
}

export const DEFAULT_PREFIX = 'snap2ami:';

/**
 * The deployment's bounds on what a tag may ask (tag contract v3, "Deployment bounds are
 * checked when planning"): the planner rejects a snapshot whose tags go outside them, and the
 * workflow checks them again.
 */
export interface DeploymentBounds {
  /** The path every `<p>ssm-parameter` must start with. */
  ssmParameterPath: string;
  /** Where `<p>uefi-data` may point. */
  uefiData: UefiDataSettings;
  /** Where and on what a launch test may run. */
  launchTest: LaunchTestSettings;
}

/** The launch test's deployment parameters (tag contract v3, "Launch test"). */
export interface LaunchTestSettings {
  /** The subnets test instances start in; none: a launch test is rejected when planning. */
  subnetIds: string[];
  /** The group test instances get; none: the stack's own, without ingress, in `vpcId`. */
  securityGroupId: string | undefined;
  /** The VPC of the stack's own group (needed when subnets are given and no group is). */
  vpcId: string | undefined;
  /** The instance profile (name or ARN) an `ssm:` test needs; none: `ssm:` tests are rejected. */
  instanceProfile: string | undefined;
  /** The types a test may run on. */
  instanceTypes: string[];
}

/**
 * Where the workflow may read `UefiData` from (the image function's settings; only its function
 * has the variables, so unset is the default). IAM grants the same and no more.
 */
export interface UefiDataSettings {
  /** The one bucket s3:// sources may name; none: s3:// sources are refused. */
  bucket: string | undefined;
  /** The path every ssm: source must start with (`/…/`). */
  parameterPath: string;
}
