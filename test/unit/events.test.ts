/** The event parser, row by row and outcome by outcome of docs/events.md. */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import {
  type EventOutcome,
  type EventSettings,
  parseEvent,
  parseMessageBody,
  type RejectionCategory,
} from '#shared/events.ts';
import { MAX_REGISTER_SNAPSHOTS, registerSnapshotsEvent } from '#shared/register-request.ts';

const FIXTURES = fileURLToPath(new URL('../fixtures/aws-docs-events/', import.meta.url));

const ACCOUNT = '123456789012';
const OTHER_ACCOUNT = '210987654321';
const REGION = 'us-east-1';
const SNAP = 'snap-0123456789abcdef0';
const SNAP_ARN = `arn:aws:ec2:${REGION}:${ACCOUNT}:snapshot/${SNAP}`;

/** An event as EventBridge delivers it: loosely typed, so that tests can break it. */
type Event = { [field: string]: unknown; detail: Record<string, unknown>; resources: unknown[] };

function settings(region = REGION, allowedSourceAccounts: string[] = [], account = ACCOUNT): EventSettings {
  return { account, region, allowedSourceAccounts, prefix: 'snap2ami:' };
}

function fixtureText(name: string): string {
  return readFileSync(join(FIXTURES, name), 'utf8');
}

/** A fresh copy of a documented example, to modify. */
function fixture(name: string): Event {
  return JSON.parse(fixtureText(name)) as Event;
}

/** An SNS notification whose Message is `message`, as SNS delivers it to SQS without raw delivery. */
function sns(message: string): string {
  return JSON.stringify({
    Type: 'Notification',
    MessageId: '95df01b4-ee98-5cb9-9903-4c221d41eb5e',
    TopicArn: `arn:aws:sns:${REGION}:${ACCOUNT}:snap2ami-events`,
    Subject: null,
    Message: message,
    Timestamp: '2026-11-20T08:31:00.000Z',
    SignatureVersion: '1',
    Signature:
      'EXAMPLEpH+DcEwjAPg8O9mY8dReBSwksfg2S7WKQcikcNKWLQjwu6A4VbeS0QHVCkhRS7fUQvi2egU3N858fiTDN6bkkOxYDVrY0Ad8L10Hs3zH81mtnPk5uvvolIC1CXGu43obcgFxeL3khZl8IKvO61GWB6jI9b5+gLPoBc1Q=',
    SigningCertURL:
      'https://sns.us-east-1.amazonaws.com/SimpleNotificationService-f3ecfb7224c7233fe7bb5f59f96de52f.pem',
    UnsubscribeURL: `https://sns.us-east-1.amazonaws.com/?Action=Unsubscribe&SubscriptionArn=arn:aws:sns:${REGION}:${ACCOUNT}:snap2ami-events:c9135db0-26c4-47ec-8998-413945fb5a96`,
  });
}

/** The three ways an event reaches the parser. */
const deliveries: [string, (text: string, settings: EventSettings) => EventOutcome][] = [
  ['parseEvent on the event', (text, s) => parseEvent(JSON.parse(text), s)],
  ['a raw message body', (text, s) => parseMessageBody(text, s)],
  ['an SNS notification', (text, s) => parseMessageBody(sns(text), s)],
];

type Expected =
  /** One group: one snapshot, or one multi-volume set. */
  | { snapshots: string[]; multiVolume?: boolean }
  /** Several groups: each snapshot a root of its own. */
  | { roots: string[] }
  | { skipped: string | RegExp }
  | { rejected: RejectionCategory; reason?: string | RegExp };

function expectOutcome(actual: EventOutcome, expected: Expected): void {
  if ('snapshots' in expected) {
    expect(actual).toMatchObject({
      outcome: 'snapshots',
      groups: [{ multiVolume: expected.multiVolume ?? false }],
    });
    if (actual.outcome !== 'snapshots') return;
    expect(actual.groups).toHaveLength(1);
    // One set: the order is not part of the contract.
    expect([...(actual.groups[0]?.snapshotIds ?? [])].sort()).toEqual([...expected.snapshots].sort());
  } else if ('roots' in expected) {
    expect(actual).toMatchObject({ outcome: 'snapshots' });
    if (actual.outcome !== 'snapshots') return;
    expect(actual.groups).toEqual(expected.roots.map((id) => ({ snapshotIds: [id], multiVolume: false })));
  } else if ('skipped' in expected) {
    expect(actual).toMatchObject({
      outcome: 'skipped',
      reason:
        typeof expected.skipped === 'string' ? expect.stringContaining(expected.skipped) : expected.skipped,
    });
  } else {
    expect(actual).toMatchObject({ outcome: 'rejected', category: expected.rejected });
    if (expected.reason !== undefined) {
      expect(actual).toMatchObject({
        reason:
          typeof expected.reason === 'string' ? expect.stringContaining(expected.reason) : expected.reason,
      });
    }
  }
  // Nothing is dropped silently: whatever is not planned says why.
  if (actual.outcome !== 'snapshots') expect(actual.reason.trim()).not.toBe('');
}

/** The expected outcome, for test names. */
function show(expected: Expected): string {
  if ('snapshots' in expected)
    return `snapshots ${expected.snapshots.join(', ')}${expected.multiVolume ? ' (multi-volume)' : ''}`;
  if ('roots' in expected) return `roots ${expected.roots.join(', ')}`;
  if ('skipped' in expected) return `skipped (${String(expected.skipped)})`;
  return `rejected ${expected.rejected}`;
}

/** Asserts the outcome of an event however it is delivered: parsed, raw body, SNS-wrapped. */
function expectEvent(event: unknown, eventSettings: EventSettings, expected: Expected): void {
  const text = JSON.stringify(event);
  for (const [, deliver] of deliveries) expectOutcome(deliver(text, eventSettings), expected);
}

// ---------------------------------------------------------------------------------------------
// Every documented example

interface FixtureCase {
  /** The pipeline's Region. */
  region: string;
  allowedSourceAccounts?: string[];
  expected: Expected;
}

const UNSUPPORTED: FixtureCase[] = [{ region: 'us-west-2', expected: { rejected: 'unsupported' } }];
const UNSUPPORTED_EAST: FixtureCase[] = [{ region: 'us-east-1', expected: { rejected: 'unsupported' } }];
/** The EBS examples' snapshot, arn:aws:ec2::us-west-2:snapshot/snap-01234567, in an us-east-1 event. */
const QUIRK_WEST: FixtureCase[] = [
  { region: 'us-west-2', expected: { snapshots: ['snap-01234567'] } },
  { region: 'us-east-1', expected: { skipped: 'other Region' } },
];

const FIXTURE_OUTCOMES: Record<string, FixtureCase[]> = {
  // AWS Backup: Copy Job State Change.
  'backup-copy-job-completed.json': [
    { region: 'us-west-2', expected: { snapshots: ['snap-0726fe70935586180'] } },
    { region: 'eu-west-1', expected: { skipped: 'other Region' } },
  ],
  // A job just created: no resourceType, no destination yet. Another state: skipped, not malformed.
  'backup-copy-job-created.json': [{ region: 'us-west-2', expected: { skipped: /CREATED|resourceType/ } }],
  // An EC2 (AMI) copy that failed, `destinationRecoveryPointArn: {}`.
  'backup-copy-job-failed.json': [{ region: 'us-west-2', expected: { skipped: 'AMI' } }],
  // An EBS copy still running, `destinationRecoveryPointArn: {}`.
  'backup-copy-job-running.json': [{ region: 'us-west-2', expected: { skipped: 'RUNNING' } }],
  // AWS Backup: Backup Job State Change (the examples' resourceType is the placeholder "type").
  'backup-job-aborted.json': [{ region: 'us-west-2', expected: { skipped: 'type' } }],
  'backup-job-completed.json': [{ region: 'us-west-2', expected: { skipped: 'type' } }],
  // A job just created: no resourceType yet. Another state: skipped, not malformed.
  'backup-job-created.json': [{ region: 'us-west-2', expected: { skipped: /CREATED|resourceType/ } }],
  'backup-job-expired.json': [{ region: 'us-west-2', expected: { skipped: 'type' } }],
  'backup-job-failed.json': [{ region: 'us-west-2', expected: { skipped: 'type' } }],
  'backup-job-pending.json': [{ region: 'us-west-2', expected: { skipped: 'type' } }],
  'backup-job-running.json': [{ region: 'us-west-2', expected: { skipped: 'RUNNING' } }],
  // AWS Backup: other detail-types.
  'backup-plan-created.json': UNSUPPORTED,
  'backup-plan-deleted.json': UNSUPPORTED,
  'backup-plan-modified.json': UNSUPPORTED,
  // AWS Backup: Recovery Point State Change of an Aurora cluster.
  'backup-recovery-point-completed.json': [{ region: 'us-west-2', expected: { skipped: 'Aurora' } }],
  'backup-recovery-point-index-active.json': UNSUPPORTED,
  'backup-recovery-point-index-deleted.json': UNSUPPORTED,
  'backup-recovery-point-index-failed.json': UNSUPPORTED,
  'backup-region-setting-modified.json': UNSUPPORTED,
  'backup-restore-job-completed.json': UNSUPPORTED,
  'backup-restore-job-created.json': UNSUPPORTED,
  'backup-restore-job-failed.json': UNSUPPORTED,
  'backup-restore-job-pending.json': UNSUPPORTED,
  'backup-restore-job-running.json': UNSUPPORTED,
  'backup-scan-job-canceled.json': UNSUPPORTED,
  'backup-scan-job-completed-with-issues.json': UNSUPPORTED,
  'backup-scan-job-completed.json': UNSUPPORTED,
  'backup-scan-job-created.json': UNSUPPORTED,
  'backup-scan-job-failed.json': UNSUPPORTED,
  'backup-scan-job-running.json': UNSUPPORTED,
  'backup-vault-created.json': UNSUPPORTED,
  'backup-vault-deleted.json': UNSUPPORTED,
  'backup-vault-modified.json': UNSUPPORTED,
  // EBS Snapshot Notification: other event names.
  'ebs-archiveSnapshot-failed.json': UNSUPPORTED_EAST,
  'ebs-archiveSnapshot-succeeded.json': UNSUPPORTED_EAST,
  'ebs-permanentRestoreSnapshot-failed.json': UNSUPPORTED_EAST,
  'ebs-permanentRestoreSnapshot-succeeded.json': UNSUPPORTED_EAST,
  'ebs-restoreExpiry-succeeded.json': UNSUPPORTED_EAST,
  'ebs-temporaryRestoreSnapshot-failed.json': UNSUPPORTED_EAST,
  'ebs-temporaryRestoreSnapshot-succeeded.json': UNSUPPORTED_EAST,
  // EBS: volumes, fast snapshot restore, CloudTrail, missed completion duration.
  'ebs-attachVolume-failed.json': UNSUPPORTED_EAST,
  'ebs-createVolume-available.json': UNSUPPORTED_EAST,
  'ebs-createVolume-failed-kms-disabled.json': [
    { region: 'sa-east-1', expected: { rejected: 'unsupported' } },
  ],
  'ebs-createVolume-failed-kms-pending-import.json': [
    { region: 'sa-east-1', expected: { rejected: 'unsupported' } },
  ],
  'ebs-deleteVolume-deleted.json': UNSUPPORTED_EAST,
  'ebs-detachVolume-cloudtrail.json': UNSUPPORTED_EAST,
  'ebs-fastSnapshotRestore-optimizing.json': UNSUPPORTED_EAST,
  'ebs-initializeVolume-succeeded.json': UNSUPPORTED_EAST,
  'ebs-modifyVolume-optimizing.json': UNSUPPORTED_EAST,
  'ebs-reattachVolume-failed.json': UNSUPPORTED_EAST,
  'ebs-copySnapshot-missed-completion-duration.json': UNSUPPORTED_EAST,
  // EBS Snapshot Notification: createSnapshot, copySnapshot, shareSnapshot.
  'ebs-createSnapshot-succeeded.json': QUIRK_WEST,
  'ebs-copySnapshot-succeeded-standard.json': QUIRK_WEST,
  'ebs-copySnapshot-succeeded-time-based.json': QUIRK_WEST,
  'ebs-copySnapshot-succeeded-time-based-missed-duration.json': QUIRK_WEST,
  'ebs-copySnapshot-failed.json': [
    { region: 'us-west-2', expected: { skipped: 'Source snapshot ID is not valid' } },
  ],
  'ebs-shareSnapshot-succeeded.json': [
    { region: 'us-west-2', expected: { skipped: '012345678901' } },
    { region: 'us-west-2', allowedSourceAccounts: ['999999999999'], expected: { skipped: '012345678901' } },
    {
      region: 'us-west-2',
      allowedSourceAccounts: ['012345678901'],
      expected: { snapshots: ['snap-01234567'] },
    },
    { region: 'us-east-1', allowedSourceAccounts: ['012345678901'], expected: { skipped: 'other Region' } },
  ],
  // EBS Multi-Volume Snapshots Completion Status.
  'ebs-createSnapshots-succeeded.json': [
    { region: 'us-east-1', expected: { snapshots: ['snap-01234567', 'snap-012345678'], multiVolume: true } },
    { region: 'us-west-2', expected: { skipped: 'other Region' } },
  ],
  'ebs-createSnapshots-failed.json': [
    { region: 'us-east-1', expected: { skipped: 'Snapshot snap-01234567 is in status error' } },
  ],
  // v2: a CloudTrail record of CreateTags setting snap2ami:register on two snapshots and an instance.
  'ebs-createTags-cloudtrail.json': [
    { region: 'us-east-1', expected: { roots: ['snap-1234567890abcdef0', 'snap-066877671789bd71b'] } },
    { region: 'us-west-2', expected: { skipped: 'other Region' } },
  ],
};

const fixtureFiles = readdirSync(FIXTURES)
  .filter((name) => name.endsWith('.json'))
  .sort();

describe('the documented example events', () => {
  it('are all there', () => {
    expect(fixtureFiles.length).toBeGreaterThan(50);
  });

  it.each(fixtureFiles)('%s is classified in this table', (name) => {
    expect(Object.keys(FIXTURE_OUTCOMES)).toContain(name);
  });

  it.each(Object.keys(FIXTURE_OUTCOMES))('%s, classified in this table, exists', (name) => {
    expect(fixtureFiles).toContain(name);
  });

  it.each(fixtureFiles)('%s is valid JSON with the EventBridge envelope', (name) => {
    expect(fixture(name)).toMatchObject({
      source: expect.any(String),
      'detail-type': expect.any(String),
      account: expect.any(String),
      region: expect.any(String),
      detail: expect.any(Object),
    });
  });
});

const fixtureCases = Object.entries(FIXTURE_OUTCOMES).flatMap(([name, cases]) =>
  cases.map((c) => ({ name, allowed: c.allowedSourceAccounts?.join(', ') || 'none', ...c })),
);

describe.each(fixtureCases)('$name in a pipeline in $region, allowed source accounts: $allowed', (c) => {
  const caseSettings = (): EventSettings => ({
    account: fixture(c.name).account as string,
    region: c.region,
    allowedSourceAccounts: c.allowedSourceAccounts ?? [],
    prefix: 'snap2ami:',
  });

  it.each(deliveries)(`as %s: ${show(c.expected)}`, (_how, deliver) => {
    expectOutcome(deliver(fixtureText(c.name), caseSettings()), c.expected);
  });

  it('has the same outcome raw and wrapped in SNS', () => {
    const text = fixtureText(c.name);
    expect(parseMessageBody(sns(text), caseSettings())).toEqual(parseMessageBody(text, caseSettings()));
  });
});

// ---------------------------------------------------------------------------------------------
// Builders for the rows, from the documented examples

/** A succeeded createSnapshot of SNAP in ACCOUNT and REGION. */
function createSnapshot(detail: Record<string, unknown> = {}, envelope: Partial<Event> = {}): Event {
  const event = fixture('ebs-createSnapshot-succeeded.json');
  return {
    ...event,
    account: ACCOUNT,
    region: REGION,
    resources: [SNAP_ARN],
    ...envelope,
    detail: { ...event.detail, snapshot_id: SNAP_ARN, ...detail },
  };
}

/** A COMPLETED Backup Job of an EBS volume, from the documented RUNNING one. */
function backupJob(detail: Record<string, unknown> = {}, resources?: unknown[]): Event {
  const event = fixture('backup-job-running.json');
  return {
    ...event,
    account: ACCOUNT,
    resources: resources ?? [
      `arn:aws:backup:us-west-2:${ACCOUNT}:recovery-point:f1d966fe-a3bd-410b-b292-99f442d13b56`,
      `arn:aws:ec2:us-west-2::snapshot/${SNAP}`,
    ],
    detail: { ...event.detail, state: 'COMPLETED', ...detail },
  };
}

/** A COMPLETED Recovery Point of an EBS volume, from the documented Aurora one. */
function recoveryPoint(detail: Record<string, unknown> = {}, resources?: unknown[]): Event {
  const event = fixture('backup-recovery-point-completed.json');
  return {
    ...event,
    account: ACCOUNT,
    resources: resources ?? [`arn:aws:ec2:us-west-2::snapshot/${SNAP}`],
    detail: {
      ...event.detail,
      resourceType: 'EBS',
      resourceArn: `arn:aws:ec2:us-west-2:${ACCOUNT}:volume/vol-0b5ae24f2ee72d926`,
      ...detail,
    },
  };
}

/** A COMPLETED Copy Job of an EBS snapshot, from the documented one. */
function copyJob(detail: Record<string, unknown> = {}): Event {
  const event = fixture('backup-copy-job-completed.json');
  return { ...event, account: ACCOUNT, detail: { ...event.detail, ...detail } };
}

const WEST = settings('us-west-2');

// ---------------------------------------------------------------------------------------------
// The table's rows

describe('EBS Snapshot Notification: createSnapshot and copySnapshot', () => {
  it.each(['createSnapshot', 'copySnapshot'])('%s succeeded yields detail.snapshot_id', (name) => {
    expectEvent(createSnapshot({ event: name }), settings(), { snapshots: [SNAP] });
  });

  it.each(['failed', 'partial', 'in progress'])('a result %s is skipped, with the cause', (result) => {
    expectEvent(createSnapshot({ result, cause: 'Incorrect state' }), settings(), {
      skipped: 'Incorrect state',
    });
  });

  it('a failed createSnapshot without snapshot_id is skipped, not malformed', () => {
    const event = createSnapshot({ result: 'failed', cause: 'Incorrect state' });
    delete event.detail.snapshot_id;
    expectEvent(event, settings(), { skipped: 'failed' });
  });

  it('yields a single snapshot, not a multi-volume set', () => {
    expectEvent(createSnapshot(), settings(), { snapshots: [SNAP], multiVolume: false });
  });
});

describe('EBS Snapshot Notification: shareSnapshot', () => {
  const share = (source: unknown) => createSnapshot({ event: 'shareSnapshot', source });

  it('is skipped when the sharing account is not allowed', () => {
    expectEvent(share(OTHER_ACCOUNT), settings(), { skipped: OTHER_ACCOUNT });
    expectEvent(share(OTHER_ACCOUNT), settings(REGION, ['333333333333']), { skipped: OTHER_ACCOUNT });
  });

  it('yields the snapshot when the sharing account is an allowed source account', () => {
    expectEvent(share(OTHER_ACCOUNT), settings(REGION, ['333333333333', OTHER_ACCOUNT]), {
      snapshots: [SNAP],
    });
  });

  it('is skipped when it names no sharing account', () => {
    const event = share(OTHER_ACCOUNT);
    delete event.detail.source;
    expectEvent(event, settings(REGION, [OTHER_ACCOUNT]), { skipped: '' });
  });

  it('a failed share is skipped even from an allowed account', () => {
    expectEvent(
      createSnapshot({ event: 'shareSnapshot', source: OTHER_ACCOUNT, result: 'failed' }),
      settings(REGION, [OTHER_ACCOUNT]),
      { skipped: 'failed' },
    );
  });
});

describe('EBS Multi-Volume Snapshots Completion Status: createSnapshots', () => {
  const members = ['snap-0aaaaaaaaaaaaaaaa', 'snap-0bbbbbbbbbbbbbbbb', 'snap-0cccccccccccccccc'];
  const multi = (detail: Record<string, unknown> = {}): Event => {
    const event = fixture('ebs-createSnapshots-succeeded.json');
    return {
      ...event,
      account: ACCOUNT,
      detail: {
        ...event.detail,
        snapshots: members.map((id, index) => ({
          snapshot_id: `arn:aws:ec2::${REGION}:snapshot/${id}`,
          source: `arn:aws:ec2::${REGION}:volume/vol-0${index}234567`,
          status: 'completed',
        })),
        ...detail,
      },
    };
  };

  it('succeeded yields every member as one set', () => {
    expectEvent(multi(), settings(), { snapshots: members, multiVolume: true });
  });

  it('a single member is still a multi-volume set', () => {
    const event = multi();
    event.detail.snapshots = [{ snapshot_id: SNAP_ARN, status: 'completed' }];
    expectEvent(event, settings(), { snapshots: [SNAP], multiVolume: true });
  });

  it('failed is skipped with the cause', () => {
    expectEvent(
      multi({ result: 'failed', cause: 'Snapshot snap-0aaaaaaaaaaaaaaaa is in status error' }),
      settings(),
      {
        skipped: 'snap-0aaaaaaaaaaaaaaaa is in status error',
      },
    );
  });

  it('a set with a member in another Region is skipped ("other Region")', () => {
    const event = multi();
    (event.detail.snapshots as { snapshot_id: string }[])[1] = {
      snapshot_id: `arn:aws:ec2::eu-west-1:snapshot/${SNAP}`,
    };
    expectEvent(event, settings(), { skipped: 'other Region' });
  });

  it('succeeded without snapshots is malformed', () => {
    expectEvent(multi({ snapshots: [] }), settings(), { rejected: 'malformed' });
    const event = multi();
    delete event.detail.snapshots;
    expectEvent(event, settings(), { rejected: 'malformed' });
  });

  it('a member whose snapshot_id is not a snapshot reference is malformed', () => {
    const event = multi();
    (event.detail.snapshots as { snapshot_id: string }[])[0] = {
      snapshot_id: `arn:aws:ec2::${REGION}:volume/vol-01234567`,
    };
    expectEvent(event, settings(), { rejected: 'malformed' });
  });
});

describe('Backup Job State Change', () => {
  it('COMPLETED, resourceType EBS, yields the EC2 snapshot ARN among resources', () => {
    expectEvent(backupJob(), WEST, { snapshots: [SNAP] });
  });

  it('finds the snapshot ARN wherever it is among resources', () => {
    const resources = [
      `arn:aws:ec2:us-west-2::snapshot/${SNAP}`,
      `arn:aws:backup:us-west-2:${ACCOUNT}:recovery-point:f1d966fe-a3bd-410b-b292-99f442d13b56`,
    ];
    expectEvent(backupJob({}, resources), WEST, { snapshots: [SNAP] });
  });

  it.each(['RUNNING', 'CREATED', 'PENDING', 'ABORTED', 'FAILED', 'EXPIRED', 'PARTIAL'])(
    'state %s is skipped',
    (state) => {
      expectEvent(backupJob({ state }), WEST, { skipped: state });
    },
  );

  it('the documented RUNNING EBS job is skipped', () => {
    expectEvent({ ...fixture('backup-job-running.json'), account: ACCOUNT }, WEST, { skipped: 'RUNNING' });
  });

  it('resourceType EC2 is skipped: its backups are AMIs already', () => {
    const event = backupJob({ resourceType: 'EC2' }, [`arn:aws:ec2:us-west-2::image/ami-0888b126e2170b98e`]);
    expectEvent(event, WEST, { skipped: 'AMI' });
  });

  it('another resourceType is skipped, naming it', () => {
    expectEvent(backupJob({ resourceType: 'EFS' }), WEST, { skipped: 'EFS' });
  });

  it('COMPLETED without an EC2 snapshot ARN among resources is malformed', () => {
    const backup = `arn:aws:backup:us-west-2:${ACCOUNT}:recovery-point:f1d966fe-a3bd-410b-b292-99f442d13b56`;
    expectEvent(backupJob({}, [backup]), WEST, { rejected: 'malformed' });
    expectEvent(backupJob({}, []), WEST, { rejected: 'malformed' });
    expectEvent(backupJob({}, [`arn:aws:ec2:us-west-2:${ACCOUNT}:volume/vol-0b5ae24f2ee72d926`]), WEST, {
      rejected: 'malformed',
    });
  });

  it('a snapshot in another Region is skipped ("other Region")', () => {
    expectEvent(backupJob(), settings('eu-west-1'), { skipped: 'other Region' });
  });
});

describe('Recovery Point State Change', () => {
  it('COMPLETED, resourceType EBS, yields the EC2 snapshot ARN among resources', () => {
    expectEvent(recoveryPoint(), WEST, { snapshots: [SNAP] });
  });

  it.each(['RUNNING', 'PARTIAL', 'DELETING', 'EXPIRED'])('status %s is skipped', (status) => {
    expectEvent(recoveryPoint({ status }), WEST, { skipped: status });
  });

  it('resourceType EC2 is skipped: its backups are AMIs already', () => {
    expectEvent(
      recoveryPoint({ resourceType: 'EC2' }, [`arn:aws:ec2:us-west-2::image/ami-0888b126e2170b98e`]),
      WEST,
      {
        skipped: 'AMI',
      },
    );
  });

  it('COMPLETED without an EC2 snapshot ARN among resources is malformed', () => {
    const rds = fixture('backup-recovery-point-completed.json').resources;
    expectEvent(recoveryPoint({}, rds), WEST, { rejected: 'malformed' });
  });
});

describe('Copy Job State Change', () => {
  it('COMPLETED, resourceType EBS, yields detail.destinationRecoveryPointArn', () => {
    expectEvent(copyJob(), WEST, { snapshots: ['snap-0726fe70935586180'] });
  });

  it('yields the destination, not the source among resources', () => {
    const event = copyJob();
    event.resources = [`arn:aws:ec2:us-west-2::snapshot/${SNAP}`];
    expectEvent(event, WEST, { snapshots: ['snap-0726fe70935586180'] });
  });

  it.each(['CREATED', 'RUNNING', 'FAILED', 'ABORTED', 'PARTIAL'])(
    'state %s with destinationRecoveryPointArn {} is skipped, not malformed',
    (state) => {
      expectEvent(copyJob({ state, destinationRecoveryPointArn: {} }), WEST, { skipped: state });
    },
  );

  it('resourceType EC2 is skipped: its backups are AMIs already', () => {
    const destination = 'arn:aws:ec2:us-west-2::image/ami-0888b126e2170b98e';
    expectEvent(copyJob({ resourceType: 'EC2', destinationRecoveryPointArn: destination }), WEST, {
      skipped: 'AMI',
    });
  });

  it('a copy to another Region is skipped there ("other Region")', () => {
    const destination = `arn:aws:ec2:eu-west-1::snapshot/${SNAP}`;
    expectEvent(copyJob({ destinationRecoveryPointArn: destination }), WEST, { skipped: 'other Region' });
    expectEvent(copyJob({ destinationRecoveryPointArn: destination }), settings('eu-west-1'), {
      snapshots: [SNAP],
    });
  });

  it('COMPLETED without a destination snapshot is malformed', () => {
    expectEvent(copyJob({ destinationRecoveryPointArn: {} }), WEST, { rejected: 'malformed' });
    const event = copyJob();
    delete event.detail.destinationRecoveryPointArn;
    expectEvent(event, WEST, { rejected: 'malformed' });
    expectEvent(
      copyJob({ destinationRecoveryPointArn: `arn:aws:backup:us-west-2:${ACCOUNT}:recovery-point:f1d966fe` }),
      WEST,
      { rejected: 'malformed' },
    );
  });
});

// ---------------------------------------------------------------------------------------------
// The outcomes for everything else

describe('SNS wrapping', () => {
  const event = createSnapshot();

  it('the raw event and the SNS notification carrying it have the same outcome', () => {
    const raw = parseMessageBody(JSON.stringify(event), settings());
    expectOutcome(raw, { snapshots: [SNAP] });
    expect(parseMessageBody(sns(JSON.stringify(event)), settings())).toEqual(raw);
  });

  it('keeps a skip and a rejection the same through SNS', () => {
    for (const [body, expected] of [
      [JSON.stringify(createSnapshot({ result: 'failed' })), { skipped: 'failed' }],
      [JSON.stringify(createSnapshot({ event: 'archiveSnapshot' })), { rejected: 'unsupported' }],
      [JSON.stringify(createSnapshot({}, { account: OTHER_ACCOUNT })), { rejected: 'untrusted' }],
    ] as const) {
      const raw = parseMessageBody(body, settings());
      expectOutcome(raw, expected);
      expect(parseMessageBody(sns(body), settings())).toEqual(raw);
    }
  });

  it.each(['not JSON', '', '{"source": "aws.ec2"', '<event/>'])(
    'an SNS notification whose Message is %j is malformed',
    (message) => {
      expectOutcome(parseMessageBody(sns(message), settings()), { rejected: 'malformed' });
    },
  );

  it('an SNS notification whose Message is JSON but no event is malformed', () => {
    expectOutcome(parseMessageBody(sns('{}'), settings()), { rejected: 'malformed' });
    expectOutcome(parseMessageBody(sns('[]'), settings()), { rejected: 'malformed' });
  });
});

describe('malformed', () => {
  it.each([
    'not JSON',
    '',
    ' ',
    '{',
    '{"source": "aws.ec2", "detail-type": "EBS Snapshot Notification"',
    "{'source': 'aws.ec2'}",
    'undefined',
  ])('a body that is not JSON (%j) is malformed', (body) => {
    expectOutcome(parseMessageBody(body, settings()), { rejected: 'malformed', reason: 'JSON' });
  });

  it.each(['null', '42', '"an event"', '[]', 'true', '{}'])('the JSON %s is no event: malformed', (body) => {
    expectOutcome(parseMessageBody(body, settings()), { rejected: 'malformed' });
    expectOutcome(parseEvent(JSON.parse(body), settings()), { rejected: 'malformed' });
  });

  it.each(['source', 'detail-type', 'account', 'region', 'detail'])(
    'an event without %s is malformed, naming it',
    (field) => {
      const event: Record<string, unknown> = createSnapshot();
      delete event[field];
      expectEvent(event, settings(), {
        rejected: 'malformed',
        reason: new RegExp(`(?<![-\\w])${field}(?![-\\w])`),
      });
    },
  );

  it.each([
    ['source', 42],
    ['account', 123456789012],
    ['region', null],
    ['detail', 'createSnapshot'],
    ['detail', null],
  ])('an event whose %s is %j is malformed', (field, value) => {
    const event: Record<string, unknown> = createSnapshot();
    event[field] = value;
    expectEvent(event, settings(), { rejected: 'malformed' });
  });

  it('a succeeded createSnapshot without snapshot_id is malformed', () => {
    const event = createSnapshot();
    delete event.detail.snapshot_id;
    expectEvent(event, settings(), { rejected: 'malformed', reason: 'snapshot_id' });
  });

  it('a succeeded copySnapshot without snapshot_id is malformed', () => {
    const event = createSnapshot({ event: 'copySnapshot' });
    delete event.detail.snapshot_id;
    expectEvent(event, settings(), { rejected: 'malformed', reason: 'snapshot_id' });
  });

  it.each([
    'arn:aws:ec2::us-west-2:volume/vol-01234567',
    'vol-01234567',
    'snap-0123456789ABCDEF0',
    'arn:aws:ec2:us-east-1::image/ami-0888b126e2170b98e',
    '',
  ])('a snapshot_id %j that is not a snapshot reference is malformed', (snapshotId) => {
    expectEvent(createSnapshot({ snapshot_id: snapshotId }), settings(), {
      rejected: 'malformed',
      reason: 'snapshot_id',
    });
  });

  it('a createSnapshot without result is malformed', () => {
    const event = createSnapshot();
    delete event.detail.result;
    expectEvent(event, settings(), { rejected: 'malformed' });
  });

  it('a completed Backup Job with no snapshot ARN among its resources is malformed', () => {
    expectEvent(backupJob({}, []), WEST, { rejected: 'malformed' });
  });
});

describe('unsupported', () => {
  it.each(['aws.s3', 'aws.ebs', 'aws.events', 'custom.snap2ami', 'aws.ec2.snapshot'])(
    'the source %s is unsupported',
    (source) => {
      expectEvent(createSnapshot({}, { source }), settings(), { rejected: 'unsupported' });
    },
  );

  it.each([
    'EBS Volume Notification',
    'EBS Fast Snapshot Restore State-change Notification',
    'AWS API Call via CloudTrail',
    'EBS Copy Snapshot Missed Completion Duration',
    'ebs snapshot notification',
    'Backup Job State Change',
  ])('the aws.ec2 detail-type %s is unsupported', (detailType) => {
    expectEvent(createSnapshot({}, { 'detail-type': detailType }), settings(), { rejected: 'unsupported' });
  });

  it.each([
    'Restore Job State Change',
    'Scan Job State Change',
    'Backup Plan State Change',
    'Backup Vault State Change',
    'Region Setting State Change',
    'Recovery Point Index State Change',
    'EBS Snapshot Notification',
  ])('the aws.backup detail-type %s is unsupported', (detailType) => {
    expectEvent({ ...backupJob(), 'detail-type': detailType }, WEST, { rejected: 'unsupported' });
  });

  it.each([
    'archiveSnapshot',
    'permanentRestoreSnapshot',
    'temporaryRestoreSnapshot',
    'restoreExpiry',
    'createSnapshots',
    'deleteSnapshot',
    'CreateSnapshot',
    ' createSnapshot',
  ])('the EBS Snapshot Notification event %j is unsupported', (name) => {
    expectEvent(createSnapshot({ event: name }), settings(), { rejected: 'unsupported' });
  });

  it('an EBS Snapshot Notification without an event name is unsupported or malformed, never accepted', () => {
    const event = createSnapshot();
    delete event.detail.event;
    const outcome = parseEvent(event, settings());
    expect(outcome).toMatchObject({ outcome: 'rejected' });
    if (outcome.outcome === 'rejected') expect(['unsupported', 'malformed']).toContain(outcome.category);
  });

  it.each(['createSnapshot', 'copySnapshot', 'shareSnapshot'])(
    'the Multi-Volume event %s is unsupported',
    (name) => {
      const event = fixture('ebs-createSnapshots-succeeded.json');
      event.detail.event = name;
      expectEvent(event, settings(REGION, [], event.account as string), { rejected: 'unsupported' });
    },
  );
});

describe('untrusted accounts', () => {
  it('an event from another account, not allowed, is rejected as untrusted', () => {
    expectEvent(createSnapshot({}, { account: OTHER_ACCOUNT }), settings(), {
      rejected: 'untrusted',
      reason: OTHER_ACCOUNT,
    });
    expectEvent(createSnapshot({}, { account: OTHER_ACCOUNT }), settings(REGION, ['333333333333']), {
      rejected: 'untrusted',
    });
  });

  it('an event from an allowed source account is accepted', () => {
    expectEvent(createSnapshot({}, { account: OTHER_ACCOUNT }), settings(REGION, [OTHER_ACCOUNT]), {
      snapshots: [SNAP],
    });
  });

  it('an event from the pipeline own account is accepted with no allowed accounts', () => {
    expectEvent(createSnapshot(), settings(REGION, []), { snapshots: [SNAP] });
  });

  it('a failed event from another account is rejected, not skipped', () => {
    expectEvent(createSnapshot({ result: 'failed' }, { account: OTHER_ACCOUNT }), settings(), {
      rejected: 'untrusted',
    });
  });

  it('Backup events from another account are rejected as untrusted', () => {
    expectEvent({ ...backupJob(), account: OTHER_ACCOUNT }, WEST, { rejected: 'untrusted' });
    expectEvent({ ...copyJob(), account: OTHER_ACCOUNT }, WEST, { rejected: 'untrusted' });
    expectEvent({ ...recoveryPoint(), account: OTHER_ACCOUNT }, WEST, { rejected: 'untrusted' });
    expectEvent(
      { ...fixture('ebs-createSnapshots-succeeded.json'), account: OTHER_ACCOUNT },
      settings('us-east-1'),
      { rejected: 'untrusted' },
    );
  });

  it('Backup events from an allowed source account are accepted', () => {
    expectEvent({ ...backupJob(), account: OTHER_ACCOUNT }, settings('us-west-2', [OTHER_ACCOUNT]), {
      snapshots: [SNAP],
    });
  });

  it('the account must match exactly', () => {
    for (const account of [`${ACCOUNT} `, ACCOUNT.slice(1), `0${ACCOUNT}`, '']) {
      expectEvent(createSnapshot({}, { account }), settings(), { rejected: 'untrusted' });
    }
  });
});

describe('fields that look like other types', () => {
  it('"incremental": "true" is accepted as it comes', () => {
    expectEvent(createSnapshot({ event: 'copySnapshot', incremental: 'true' }), settings(), {
      snapshots: [SNAP],
    });
    expectEvent(createSnapshot({ event: 'copySnapshot', incremental: 'false' }), settings(), {
      snapshots: [SNAP],
    });
    expectEvent(createSnapshot({ event: 'copySnapshot', incremental: true }), settings(), {
      snapshots: [SNAP],
    });
  });

  it('"backupSizeInBytes": "36048" is accepted as it comes', () => {
    // The documented completed job, made an EBS job with a snapshot among its resources.
    const event = fixture('backup-job-completed.json');
    expect(event.detail.backupSizeInBytes).toBe('36048');
    event.account = ACCOUNT;
    event.detail.resourceType = 'EBS';
    event.resources = [...event.resources, `arn:aws:ec2:us-west-2::snapshot/${SNAP}`];
    expectEvent(event, WEST, { snapshots: [SNAP] });
    expectEvent(backupJob({ backupSizeInBytes: 3221225472, bytesTransferred: 0 }), WEST, {
      snapshots: [SNAP],
    });
  });

  it('the documented copySnapshot with "incremental": "true" is accepted', () => {
    const event = fixture('ebs-copySnapshot-succeeded-standard.json');
    expect(event.detail.incremental).toBe('true');
    expectEvent(event, settings('us-west-2', [], event.account as string), { snapshots: ['snap-01234567'] });
  });
});

describe('Regions', () => {
  it('a snapshot ARN naming another Region is skipped ("other Region"), naming the snapshot', () => {
    const arn = `arn:aws:ec2:eu-west-1:${ACCOUNT}:snapshot/${SNAP}`;
    expectEvent(createSnapshot({ snapshot_id: arn }), settings(), { skipped: 'other Region' });
    expectEvent(createSnapshot({ snapshot_id: arn }), settings(), { skipped: SNAP });
  });

  it("the ARN's Region wins over the event's", () => {
    const arn = `arn:aws:ec2:eu-west-1:${ACCOUNT}:snapshot/${SNAP}`;
    expectEvent(createSnapshot({ snapshot_id: arn }), settings('eu-west-1'), { snapshots: [SNAP] });
  });

  it("the quirk's Region (in the account's place) is the snapshot's Region", () => {
    const arn = `arn:aws:ec2::eu-west-1:snapshot/${SNAP}`;
    expectEvent(createSnapshot({ snapshot_id: arn }), settings('eu-west-1'), { snapshots: [SNAP] });
    expectEvent(createSnapshot({ snapshot_id: arn }), settings(REGION), { skipped: 'other Region' });
  });

  it("a bare snap- ID takes the event's region", () => {
    expectEvent(createSnapshot({ snapshot_id: SNAP }), settings(REGION), { snapshots: [SNAP] });
    expectEvent(createSnapshot({ snapshot_id: SNAP }), settings('us-west-2'), { skipped: 'other Region' });
    expectEvent(createSnapshot({ snapshot_id: SNAP }, { region: 'us-west-2' }), settings('us-west-2'), {
      snapshots: [SNAP],
    });
  });

  it('a bare 8-digit snap- ID is accepted too', () => {
    expectEvent(createSnapshot({ snapshot_id: 'snap-01234567' }), settings(), {
      snapshots: ['snap-01234567'],
    });
  });

  it.each([
    ['aws-cn', 'cn-north-1'],
    ['aws-us-gov', 'us-gov-west-1'],
  ])('a snapshot ARN in the %s partition is accepted in %s', (partition, region) => {
    const arn = `arn:${partition}:ec2:${region}:${ACCOUNT}:snapshot/${SNAP}`;
    expectEvent(createSnapshot({ snapshot_id: arn }, { region }), settings(region), { snapshots: [SNAP] });
  });

  it('a snapshot ARN without account is accepted', () => {
    expectEvent(createSnapshot({ snapshot_id: `arn:aws:ec2:${REGION}::snapshot/${SNAP}` }), settings(), {
      snapshots: [SNAP],
    });
  });
});

// ---------------------------------------------------------------------------------------------
// v2: the two ways in for snapshots tagged after they completed, or whose event never came

describe('AWS API Call via CloudTrail: CreateTags (v2)', () => {
  const OTHER_SNAP = 'snap-066877671789bd71b';
  /** The CreateTags record, in ACCOUNT and REGION, tagging `resourceIds` with `tags`. */
  const createTags = (
    resourceIds: unknown[] = [SNAP],
    tags: Record<string, string> = { 'snap2ami:register': 'true' },
    detail: Record<string, unknown> = {},
    envelope: Partial<Event> = {},
  ): Event => {
    const event = fixture('ebs-createTags-cloudtrail.json');
    return {
      ...event,
      account: ACCOUNT,
      region: REGION,
      ...envelope,
      detail: {
        ...event.detail,
        requestParameters: {
          resourcesSet: { items: resourceIds.map((resourceId) => ({ resourceId })) },
          tagSet: { items: Object.entries(tags).map(([key, value]) => ({ key, value })) },
        },
        ...detail,
      },
    };
  };

  it('yields a tagged snapshot as a root of its own', () => {
    expectEvent(createTags(), settings(), { roots: [SNAP] });
  });

  it('yields each snapshot among the tagged resources as a root of its own, and only snapshots', () => {
    expectEvent(createTags(['i-0217f7eb3dexample', SNAP, 'vol-072577c46bexample', OTHER_SNAP]), settings(), {
      roots: [SNAP, OTHER_SNAP],
    });
  });

  it('names a snapshot tagged twice in one call once', () => {
    expectEvent(createTags([SNAP, SNAP]), settings(), { roots: [SNAP] });
  });

  it('yields the snapshot whatever the value it sets: the planner reads the current tags', () => {
    expectEvent(createTags([SNAP], { 'snap2ami:register': 'false' }), settings(), { roots: [SNAP] });
    expectEvent(createTags([SNAP], { 'snap2ami:register': 'TRUE', team: 'a' }), settings(), {
      roots: [SNAP],
    });
  });

  it('a CreateTags that does not set <p>register is skipped, naming the key', () => {
    expectEvent(createTags([SNAP], { team: 'platform' }), settings(), {
      skipped: 'does not set snap2ami:register',
    });
    expectEvent(createTags([SNAP], { 'snap2ami:name': 'web' }), settings(), { skipped: 'snap2ami:register' });
    expectEvent(createTags([SNAP], { 'snap2ami:Register': 'true' }), settings(), {
      skipped: 'snap2ami:register',
    });
  });

  it("reads the deployment's prefix", () => {
    const acme = { ...settings(), prefix: 'acme:' };
    expectEvent(createTags([SNAP], { 'acme:register': 'true' }), acme, { roots: [SNAP] });
    expectEvent(createTags([SNAP], { 'snap2ami:register': 'true' }), acme, { skipped: 'acme:register' });
  });

  it('a CreateTags that sets <p>register on no snapshot is skipped, naming the resources', () => {
    expectEvent(createTags(['i-0217f7eb3dexample']), settings(), { skipped: 'i-0217f7eb3dexample' });
    expectEvent(createTags([]), settings(), { skipped: 'no snapshot' });
  });

  it.each(['Client.UnauthorizedOperation', 'Client.InvalidSnapshot.NotFound', 'Server.InternalError'])(
    'a failed call (errorCode %s) is skipped with its error, even without requestParameters',
    (errorCode) => {
      expectEvent(
        createTags([SNAP], undefined, { errorCode, errorMessage: 'You are not authorized' }),
        settings(),
        { skipped: errorCode },
      );
      expectEvent(createTags([SNAP], undefined, { errorCode, requestParameters: null }), settings(), {
        skipped: `CreateTags failed: ${errorCode}`,
      });
    },
  );

  it('errorCode null is no error', () => {
    expectEvent(createTags([SNAP], undefined, { errorCode: null }), settings(), { roots: [SNAP] });
  });

  it.each([
    ['no requestParameters', { requestParameters: undefined }],
    ['requestParameters null', { requestParameters: null }],
    ['no resourcesSet', { requestParameters: { tagSet: { items: [{ key: 'snap2ami:register' }] } } }],
    ['no tagSet', { requestParameters: { resourcesSet: { items: [{ resourceId: SNAP }] } } }],
    [
      'resourcesSet items that are not objects',
      {
        requestParameters: {
          resourcesSet: { items: [SNAP] },
          tagSet: { items: [{ key: 'snap2ami:register', value: 'true' }] },
        },
      },
    ],
  ])('a succeeded CreateTags with %s is malformed', (_name, detail) => {
    expectEvent(createTags([SNAP], undefined, detail), settings(), {
      rejected: 'malformed',
      reason: 'requestParameters',
    });
  });

  it.each(['snap-XYZ', 'snap-0123456789ABCDEF0', 'snap-'])(
    'a tagged resource %j that looks like a snapshot but is no snapshot ID is malformed',
    (resourceId) => {
      expectEvent(createTags([SNAP, resourceId]), settings(), { rejected: 'malformed', reason: resourceId });
    },
  );

  it.each(['DeleteTags', 'CreateSnapshot', 'DetachVolume', 'createTags', 'CreateTags '])(
    'the EC2 CloudTrail event %j is unsupported',
    (eventName) => {
      expectEvent(createTags([SNAP], undefined, { eventName }), settings(), { rejected: 'unsupported' });
    },
  );

  it.each(['elasticfilesystem.amazonaws.com', 'tagging.amazonaws.com', 'ec2.amazonaws.com '])(
    'CreateTags of another service (%s) is unsupported',
    (eventSource) => {
      expectEvent(createTags([SNAP], undefined, { eventSource }), settings(), { rejected: 'unsupported' });
    },
  );

  it('a CloudTrail event without eventSource or eventName is unsupported', () => {
    const event = createTags();
    delete event.detail.eventName;
    expectEvent(event, settings(), { rejected: 'unsupported' });
    const other = createTags();
    delete other.detail.eventSource;
    expectEvent(other, settings(), { rejected: 'unsupported' });
  });

  it('a CreateTags record from another source than aws.ec2 is unsupported', () => {
    expectEvent(createTags([SNAP], undefined, {}, { source: 'aws.tagging' }), settings(), {
      rejected: 'unsupported',
    });
  });

  it('a CreateTags record from another account is untrusted, from an allowed one accepted', () => {
    expectEvent(createTags([SNAP], undefined, {}, { account: OTHER_ACCOUNT }), settings(), {
      rejected: 'untrusted',
    });
    expectEvent(
      createTags([SNAP], undefined, {}, { account: OTHER_ACCOUNT }),
      settings(REGION, [OTHER_ACCOUNT]),
      {
        roots: [SNAP],
      },
    );
  });

  it("a CreateTags record in another Region is skipped there (the snapshot is in the event's Region)", () => {
    expectEvent(
      createTags([SNAP], undefined, { awsRegion: 'us-west-2' }, { region: 'us-west-2' }),
      settings(),
      {
        skipped: 'other Region',
      },
    );
  });
});

describe('snap2ami: Register Snapshots (v2)', () => {
  const ids = ['snap-0aaaaaaaaaaaaaaaa', 'snap-0bbbbbbbbbbbbbbbb', 'snap-01234567'];
  /** A request for `snapshotIds` built as `snap2ami register` builds it, then broken as a test needs. */
  const request = (detail: Record<string, unknown> = {}, envelope: Partial<Event> = {}): Event => {
    const event = registerSnapshotsEvent({
      snapshotIds: ids,
      multiVolume: false,
      account: ACCOUNT,
      region: REGION,
      origin: 'test',
      id: '8e6a4b2c-1d3f-4a5b-9c7d-0e1f2a3b4c5d',
      time: new Date('2026-11-20T08:31:00Z'),
    });
    return { ...event, ...envelope, detail: { ...event.detail, ...detail } } as unknown as Event;
  };

  it('yields each snapshot as a root of its own without multiVolume', () => {
    expectEvent(request(), settings(), { roots: ids });
    expectEvent(request({ multiVolume: false }), settings(), { roots: ids });
  });

  it('yields one set with multiVolume true', () => {
    expectEvent(request({ multiVolume: true }), settings(), { snapshots: ids, multiVolume: true });
    expectEvent(request({ multiVolume: true, snapshotIds: [SNAP] }), settings(), {
      snapshots: [SNAP],
      multiVolume: true,
    });
  });

  it(`accepts up to ${MAX_REGISTER_SNAPSHOTS} snapshots, and no more`, () => {
    const many = Array.from(
      { length: MAX_REGISTER_SNAPSHOTS + 1 },
      (_, i) => `snap-${i.toString(16).padStart(17, '0')}`,
    );
    expectEvent(request({ snapshotIds: many.slice(0, MAX_REGISTER_SNAPSHOTS) }), settings(), {
      roots: many.slice(0, MAX_REGISTER_SNAPSHOTS),
    });
    expectEvent(request({ snapshotIds: many }), settings(), {
      rejected: 'malformed',
      reason: `more than ${MAX_REGISTER_SNAPSHOTS}`,
    });
  });

  it.each([
    ['no snapshot', { snapshotIds: [] }, 'names no snapshot'],
    ['no snapshotIds', { snapshotIds: undefined }, 'snapshotIds'],
    ['snapshotIds a string', { snapshotIds: SNAP }, 'snapshotIds'],
    ['a snapshot ARN', { snapshotIds: [SNAP_ARN] }, 'not a snapshot ID'],
    ['a volume ID', { snapshotIds: ['vol-01234567'] }, 'not a snapshot ID'],
    ['an upper-case ID', { snapshotIds: ['snap-0123456789ABCDEF0'] }, 'not a snapshot ID'],
    ['a number', { snapshotIds: [42] }, 'snapshotIds'],
    ['a snapshot twice', { snapshotIds: [SNAP, SNAP] }, 'more than once'],
    ['multiVolume "true" (a string)', { multiVolume: 'true' }, 'multiVolume'],
    ['an unknown field', { snapshots: [SNAP] }, 'snapshots'],
    ['an origin of 129 characters', { origin: 'x'.repeat(129) }, 'origin'],
  ])('a request with %s is malformed', (_name, detail, reason) => {
    const event = request(detail);
    if ('snapshotIds' in detail && detail.snapshotIds === undefined) delete event.detail.snapshotIds;
    expectEvent(event, settings(), { rejected: 'malformed', reason });
  });

  it('a request from another account is untrusted: it is trusted no further than its account', () => {
    expectEvent(request({}, { account: OTHER_ACCOUNT }), settings(), { rejected: 'untrusted' });
    expectEvent(request({}, { account: OTHER_ACCOUNT }), settings(REGION, [OTHER_ACCOUNT]), { roots: ids });
  });

  it('a request in another Region is skipped there', () => {
    expectEvent(request({}, { region: 'eu-west-1' }), settings(), { skipped: 'other Region' });
  });

  it.each([
    ['snap2ami', 'Register Snapshot'],
    ['snap2ami', 'register snapshots'],
    ['snap2ami.register', 'Register Snapshots'],
    ['aws.ec2', 'Register Snapshots'],
  ])('source %s with detail-type %s is unsupported', (source, detailType) => {
    expectEvent(request({}, { source, 'detail-type': detailType }), settings(), { rejected: 'unsupported' });
  });
});

describe('the outcome carries the event', () => {
  it('a parsed event names its kind and id', () => {
    const event = createSnapshot();
    expect(parseMessageBody(JSON.stringify(event), settings())).toMatchObject({
      outcome: 'snapshots',
      kind: 'createSnapshot',
      eventId: event.id,
    });
  });

  it("carries the event's time, when the snapshot completed (the start of the time-to-AMI metric)", () => {
    const event = { ...createSnapshot(), time: '2026-11-30T06:00:00Z' };
    expect(parseMessageBody(sns(JSON.stringify(event)), settings())).toMatchObject({
      outcome: 'snapshots',
      eventTime: '2026-11-30T06:00:00Z',
    });
    const { time: _time, ...untimed } = event;
    expect(parseMessageBody(JSON.stringify(untimed), settings())).not.toHaveProperty('eventTime');
  });
});

describe('the sample events (examples/events, docs/events.md)', () => {
  const example = (name: string) =>
    readFileSync(fileURLToPath(new URL(`../../examples/events/${name}`, import.meta.url)), 'utf8');

  it('createSnapshot.json, the queue message body, is accepted as a createSnapshot of its snapshot', () => {
    expect(parseMessageBody(example('createSnapshot.json'), settings())).toMatchObject({
      outcome: 'snapshots',
      kind: 'createSnapshot',
      groups: [{ snapshotIds: ['snap-1234567890abcdef0'], multiVolume: false }],
    });
  });

  it('sqs-createSnapshot.json, the Lambda event, carries that body from the pipeline queue', () => {
    const [record, ...more] = JSON.parse(example('sqs-createSnapshot.json')).Records;
    expect(more).toEqual([]);
    expect(JSON.parse(record.body)).toEqual(JSON.parse(example('createSnapshot.json')));
    expect(record.eventSourceARN).toBe(`arn:aws:sqs:${REGION}:${ACCOUNT}:snap2ami-dev-snapshot-events`);
  });
});
