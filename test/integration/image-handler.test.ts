/**
 * The image Lambda's handler as Lambda calls it (middy, Powertools Logger and Metrics) on the
 * emulator: its CloudWatch metrics (embedded metric format on stdout) count registered images
 * and the typed errors the workflow retries or fails on.
 */
import { DescribeImagesCommand, EC2Client } from '@aws-sdk/client-ec2';
import { PutParameterCommand, SSMClient } from '@aws-sdk/client-ssm';
import type { Context } from 'aws-lambda';
import { describe, expect, it } from 'vitest';
import { handler } from '../../functions/image/handler.ts';
import { capture } from '../support/lambda.ts';
import { planFor } from '../support/pipeline.ts';

const ec2 = new EC2Client({});
const context = {
  functionName: 'snap2ami-test-image',
  awsRequestId: 'test-request',
  invokedFunctionArn: 'arn:aws:lambda:us-east-1:123456789012:function:snap2ami-test-image',
} as Context;

/** Runs the handler; returns its result (or error), the metrics it published and its output. */
const invoke = (task: Record<string, unknown>, on: Context = context) =>
  capture(() => handler(task as never, on));

describe('image handler metrics', () => {
  it('counts a registered image, and publishes nothing for a step with nothing to count', async () => {
    const plan = await planFor(ec2, { 'snap2ami:name': `metrics-${Date.now()}` });
    const registered = await invoke({ action: 'register', key: plan.key, request: plan.request });
    expect(registered.error).toBeUndefined();
    expect(registered.result).toMatchObject({ adopted: false, imageId: expect.stringMatching(/^ami-/) });
    expect(registered.metrics).toEqual({ ImagesRegistered: 1 });

    const tagged = await invoke({
      action: 'tagSnapshots',
      imageId: registered.result?.imageId,
      snapshotIds: plan.snapshotIds,
    });
    expect(tagged.error).toBeUndefined();
    expect(tagged.metrics).toEqual({});
  });

  it('takes its account from its own ARN: from there, the snapshots are another account’s, and refused', async () => {
    const name = `other-account-${Date.now()}`;
    const plan = await planFor(ec2, { 'snap2ami:name': name });
    const elsewhere = {
      ...context,
      invokedFunctionArn: 'arn:aws:lambda:us-east-1:210987654321:function:snap2ami-test-image',
    } as Context;
    const refused = await invoke({ action: 'register', key: plan.key, request: plan.request }, elsewhere);
    expect(refused.error?.name).toBe('PermanentError');
    expect(refused.error?.message).toBe(
      `RegisterImage dry run refused: snapshot ${plan.snapshotIds[0]} is owned by account 123456789012, which is neither this account (210987654321) nor an allowed source account`,
    );
    expect(refused.metrics).toEqual({ PermanentError: 1 });
    const images = await ec2.send(new DescribeImagesCommand({ Filters: [{ Name: 'name', Values: [name] }] }));
    expect(images.Images).toEqual([]);
  });

  it('reads UefiData under the default parameter path, and logs its length, not the value', async () => {
    const plan = await planFor(ec2, {
      'snap2ami:boot-mode': 'uefi',
      'snap2ami:name': `handler-uefi-${Date.now()}`,
    });
    const name = `/snap2ami/uefi-data/handler-${Date.now()}`;
    const value = Buffer.from('a UEFI variable store, in base64').toString('base64');
    await new SSMClient({}).send(new PutParameterCommand({ Name: name, Value: value, Type: 'String' }));
    const read = await invoke({ action: 'uefiData', source: `ssm:${name}`, request: plan.request });
    expect(read.error).toBeUndefined();
    expect(read.result).toEqual({ ...plan.request, UefiData: value });
    expect(read.output).toContain(`"uefiDataCharacters":${value.length}`);
    expect(read.output).not.toContain(value);
  });

  it('counts a typed error by name and rethrows it for the workflow', async () => {
    const missing = await invoke({ action: 'checkImage', imageId: 'ami-0000000000000dead' });
    expect(missing.error?.name).toMatch(/^(PermanentError|ImageNotAvailableYet)$/);
    expect(missing.metrics).toEqual({ [missing.error?.name as string]: 1 });
  });
});
