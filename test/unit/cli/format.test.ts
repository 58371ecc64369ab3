/** What `snap2ami status` prints of a record, and the one way a failure's cause is read (cli/format.ts). */
import { describe, expect, it } from 'vitest';
import { distributionOutcome } from '#shared/distribution.ts';
import { causeMessage, distributionLines, failureDetail } from '#shared/outcome-text.ts';
import { formatStatus } from '../../../cli/format.ts';
import type { RegistrationRecord } from '../../../cli/records.ts';

const KEY = `v1-${'0'.repeat(32)}`;
const record = (fields: Partial<RegistrationRecord>): RegistrationRecord => ({
  key: KEY,
  status: 'COMPLETED',
  snapshotIds: ['snap-0123456789abcdef0'],
  attempts: 1,
  ...fields,
});
const lambdaCause = JSON.stringify({
  errorType: 'BillingInformationMissing',
  errorMessage: 'the image ami-1 has PlatformDetails "Linux/UNIX", not Windows',
  trace: ['at x'],
});

describe('a failure cause', () => {
  it("is a Lambda error's message, else the cause as it is", () => {
    expect(causeMessage(lambdaCause)).toBe('the image ami-1 has PlatformDetails "Linux/UNIX", not Windows');
    expect(causeMessage('The conditional request failed')).toBe('The conditional request failed');
    expect(causeMessage('null')).toBe('null');
    expect(causeMessage('{"Error":"x"}')).toBe('{"Error":"x"}');
    expect(causeMessage(undefined)).toBe('');
  });

  it('reads as one line naming the step', () => {
    expect(
      failureDetail({ failedStep: 'CheckBilling', error: 'BillingInformationMissing', cause: lambdaCause }),
    ).toBe(
      'at CheckBilling: BillingInformationMissing: the image ami-1 has PlatformDetails "Linux/UNIX", not Windows',
    );
    expect(failureDetail({ error: 'States.Timeout' })).toBe('States.Timeout');
  });
});

describe('snap2ami status, as text', () => {
  it('names the failed step and the error in words', () => {
    const text = formatStatus([
      {
        record: record({
          status: 'FAILED',
          failedStep: 'CheckBilling',
          error: 'BillingInformationMissing',
          cause: lambdaCause,
        }),
      },
    ]);
    expect(text).toContain('\nstep       CheckBilling\n');
    expect(text).toContain(
      '\nerror      BillingInformationMissing: the image ami-1 has PlatformDetails "Linux/UNIX", not Windows\n',
    );
  });

  it('says an image was adopted, lists each warning, and a notification not sent', () => {
    const text = formatStatus([
      {
        record: record({
          imageId: 'ami-0123456789abcdef0',
          adopted: true,
          warnings: ['first warning', 'second warning'],
          notificationError: 'SNS.NotFoundException: Topic does not exist',
        }),
        image: { imageId: 'ami-0123456789abcdef0', state: 'available' },
      },
    ]);
    expect(text).toContain(
      '\nimage      ami-0123456789abcdef0 (available), adopted: registered by an earlier attempt\n',
    );
    expect(text).toContain('\nwarnings   first warning\nwarnings   second warning\n');
    expect(text).toContain(
      '\nnotice     the notification was not sent: SNS.NotFoundException: Topic does not exist\n',
    );
    expect(text).not.toContain('\nstep');
    expect(text).not.toContain('\nerror');
  });

  it('says nothing of adoption when the image was registered by this attempt', () => {
    const text = formatStatus([{ record: record({ imageId: 'ami-0123456789abcdef0', adopted: false }) }]);
    expect(text).toContain('\nimage      ami-0123456789abcdef0\n');
  });
});

describe('retention in status (v3)', () => {
  it('says what retention deregistered, disabled (and until when), kept beyond the rule and why, and that it is pending', () => {
    const outcome = distributionOutcome(
      JSON.stringify({
        copies: [],
        retention: {
          deregistered: [{ region: 'us-east-1', imageId: 'ami-1' }],
          disabled: [
            { region: 'us-east-1', imageId: 'ami-2', until: '2026-07-07T00:00:00.000Z', shared: true },
          ],
          kept: [
            { region: 'us-east-1', imageId: 'ami-9', reason: 'newest' },
            { region: 'us-east-1', imageId: 'ami-3', reason: 'keep=true' },
          ],
          pending: true,
        },
      }),
    );
    expect(distributionLines(outcome)).toEqual([
      'retention  deregistered ami-1',
      'retention  disabled ami-2 (us-east-1), deregistered from 2026-07-07T00:00:00.000Z (shared: 7 days at least)',
      'retention  kept ami-3 (us-east-1): keep=true',
      "retention  pending: the reconciler's retention pass finishes it (the family is above its rule, or an image is in its grace)",
    ]);
  });
});
