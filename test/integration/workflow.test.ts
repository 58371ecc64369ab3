/**
 * The deployed workflow definition, executed by a real ASL interpreter (aws-local-stepfunctions)
 * against the emulator's EC2, DynamoDB and SNS.
 */
import { DescribeImagesCommand, DescribeSnapshotsCommand, EC2Client } from '@aws-sdk/client-ec2';
import { beforeAll, describe, expect, it } from 'vitest';
import { executionInput } from '#shared/workflow.ts';
import { createPipeline, type Pipeline } from '../../local/index.ts';
import { executionArn as arn, planFor as planWith } from '../support/pipeline.ts';

const ec2 = new EC2Client({});
let pipeline: Pipeline;

beforeAll(async () => {
  pipeline = await createPipeline();
});

describe('workflow', () => {
  it('registers one AMI, tags the snapshot, records COMPLETED and notifies once', async () => {
    const name = `wf-happy-${Date.now()}`;
    const plan = await planWith(ec2, { 'snap2ami:name': name });
    const execution = await pipeline.workflow.run(executionInput(plan, {}, new Date()), arn(plan.key));
    expect(execution.status, `${execution.error}: ${execution.cause}`).toBe('SUCCEEDED');
    const { imageId } = execution.output as { imageId: string };
    expect(execution.output).toEqual({
      outcome: 'REGISTERED',
      key: plan.key,
      imageId: expect.stringMatching(/^ami-/),
    });

    const images = await ec2.send(new DescribeImagesCommand({ Filters: [{ Name: 'name', Values: [name] }] }));
    expect(images.Images?.map((image) => image.ImageId)).toEqual([imageId]);
    const snapshot = (await ec2.send(new DescribeSnapshotsCommand({ SnapshotIds: plan.snapshotIds })))
      .Snapshots?.[0];
    expect(snapshot?.Tags).toContainEqual({ Key: 'snap2ami:image-id', Value: imageId });
    expect(await pipeline.record(plan.key)).toMatchObject({
      status: 'COMPLETED',
      imageId,
      imageName: name,
      attempts: '1',
    });
    const notifications = await pipeline.notifications();
    expect(notifications).toEqual([
      {
        message: expect.objectContaining({ outcome: 'REGISTERED', key: plan.key, imageId, imageName: name }),
        attributes: { outcome: 'REGISTERED', key: plan.key, snapshotId: plan.snapshotIds[0], imageId },
      },
    ]);
  });

  it('registers one AMI for the same plan started three times, and for two racing executions', async () => {
    const name = `wf-dup-${Date.now()}`;
    const plan = await planWith(ec2, { 'snap2ami:name': name });
    const input = executionInput(plan, {}, new Date());
    const racing = await Promise.all([
      pipeline.workflow.run(input, arn(`${plan.key}-a`)),
      pipeline.workflow.run(input, arn(`${plan.key}-b`)),
    ]);
    const again = await pipeline.workflow.run(input, arn(`${plan.key}-c`));
    for (const execution of [...racing, again])
      expect(execution.status, `${execution.error}: ${execution.cause}`).toBe('SUCCEEDED');
    const outcomes = [...racing, again]
      .map((execution) => (execution.output as { outcome: string }).outcome)
      .sort();
    expect(outcomes).toEqual(['ALREADY_REGISTERED', 'DUPLICATE', 'REGISTERED'].sort());
    const images = await ec2.send(new DescribeImagesCommand({ Filters: [{ Name: 'name', Values: [name] }] }));
    expect(images.Images).toHaveLength(1);
    expect((again.output as { imageId: string }).imageId).toBe(images.Images?.[0]?.ImageId);
  });
});
