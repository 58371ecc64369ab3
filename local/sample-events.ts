/**
 * Events in the documented formats for the emulator's account and Region (events.md), for
 * the local run, tests and the bench: an EBS createSnapshot result, the same wrapped in an
 * SNS notification, an EBS createSnapshots (multi-volume) completion, an AWS Backup job, and
 * (v2) CloudTrail's record of EC2 CreateTags.
 */
import { EMULATOR_ACCOUNT, EMULATOR_REGION } from './moto-emulator.ts';

const envelope = () => ({
  version: '0',
  id: crypto.randomUUID(),
  account: EMULATOR_ACCOUNT,
  time: new Date().toISOString(),
  region: EMULATOR_REGION,
});

export function createSnapshotEvent(snapshotId: string): Record<string, unknown> {
  const arn = `arn:aws:ec2::${EMULATOR_REGION}:snapshot/${snapshotId}`;
  return {
    ...envelope(),
    'detail-type': 'EBS Snapshot Notification',
    source: 'aws.ec2',
    resources: [arn],
    detail: { event: 'createSnapshot', result: 'succeeded', cause: '', 'request-id': '', snapshot_id: arn },
  };
}

export function createSnapshotsEvent(snapshotIds: string[]): Record<string, unknown> {
  const arn = (id: string) => `arn:aws:ec2::${EMULATOR_REGION}:snapshot/${id}`;
  const time = new Date().toISOString();
  return {
    ...envelope(),
    'detail-type': 'EBS Multi-Volume Snapshots Completion Status',
    source: 'aws.ec2',
    resources: snapshotIds.map(arn),
    detail: {
      event: 'createSnapshots',
      result: 'succeeded',
      cause: '',
      'request-id': '',
      startTime: time,
      endTime: time,
      snapshots: snapshotIds.map((id, index) => ({
        snapshot_id: arn(id),
        source: `arn:aws:ec2::${EMULATOR_REGION}:volume/vol-${String(index).padStart(8, '0')}`,
        status: 'completed',
      })),
    },
  };
}

export function snsWrapped(event: Record<string, unknown>): Record<string, unknown> {
  return {
    Type: 'Notification',
    MessageId: crypto.randomUUID(),
    TopicArn: `arn:aws:sns:${EMULATOR_REGION}:${EMULATOR_ACCOUNT}:snapshot-events`,
    Message: JSON.stringify(event),
  };
}

export function backupJobEvent(snapshotId: string): Record<string, unknown> {
  return {
    ...envelope(),
    'detail-type': 'Backup Job State Change',
    source: 'aws.backup',
    resources: [`arn:aws:ec2:${EMULATOR_REGION}::snapshot/${snapshotId}`],
    detail: {
      backupJobId: crypto.randomUUID(),
      backupSizeInBytes: '36048',
      resourceType: 'EBS',
      state: 'COMPLETED',
      percentDone: 100,
    },
  };
}

/** CloudTrail's record of EC2 CreateTags, as EventBridge delivers it (test/fixtures/aws-docs-events/ebs-createTags-cloudtrail.json). */
export function createTagsEvent(
  resourceIds: string[],
  tags: Record<string, string>,
): Record<string, unknown> {
  const time = new Date().toISOString().replace(/\.\d+Z$/, 'Z');
  return {
    ...envelope(),
    time,
    'detail-type': 'AWS API Call via CloudTrail',
    source: 'aws.ec2',
    resources: [],
    detail: {
      eventVersion: '1.09',
      userIdentity: {
        type: 'IAMUser',
        principalId: 'AIDAJT12345SQ2EXAMPLE',
        arn: `arn:aws:iam::${EMULATOR_ACCOUNT}:user/administrator`,
        accountId: EMULATOR_ACCOUNT,
        userName: 'administrator',
      },
      eventTime: time,
      eventSource: 'ec2.amazonaws.com',
      eventName: 'CreateTags',
      awsRegion: EMULATOR_REGION,
      sourceIPAddress: '192.0.2.10',
      userAgent: 'aws-cli/2.7.12 command/ec2.create-tags',
      requestParameters: {
        resourcesSet: { items: resourceIds.map((resourceId) => ({ resourceId })) },
        tagSet: { items: Object.entries(tags).map(([key, value]) => ({ key, value })) },
      },
      responseElements: { requestId: crypto.randomUUID(), _return: true },
      requestID: crypto.randomUUID(),
      eventID: crypto.randomUUID(),
      readOnly: false,
      eventType: 'AwsApiCall',
      managementEvent: true,
      recipientAccountId: EMULATOR_ACCOUNT,
      eventCategory: 'Management',
    },
  };
}
