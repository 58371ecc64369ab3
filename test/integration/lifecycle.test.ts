/**
 * Distribution and lifecycle (tag contract v2, ADR 0008), the deployed definition on the
 * emulator (multi-Region): copies in two Regions with their SSM parameters, sharing,
 * deprecation and protection; a redrive after a failure in each lifecycle step finishes
 * without a second copy; racing and out-of-order registrations of one family never move a
 * parameter back; the record, the notification and the EventBridge event carry it all.
 */
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import {
  DescribeImageAttributeCommand,
  DescribeImagesCommand,
  DescribeSnapshotsCommand,
  EC2Client,
  type Image,
} from '@aws-sdk/client-ec2';
import { SFNClient } from '@aws-sdk/client-sfn';
import { GetParameterCommand, SSMClient } from '@aws-sdk/client-ssm';
import { beforeAll, describe, expect, inject, it } from 'vitest';
import { startAttempt } from '#shared/aws/executions.ts';
import type { Plan } from '#shared/contract/types.ts';
import { PermanentError } from '#shared/errors.ts';
import { executionInput } from '#shared/workflow.ts';
import { redrive } from '../../cli/records.ts';
import {
  createPipeline,
  dynamoDbError,
  EMULATOR_ACCOUNT,
  EMULATOR_REGION,
  type Pipeline,
  type PipelineOptions,
  SETTINGS,
  startFaultProxy,
  startLocalStepFunctions,
} from '../../local/index.ts';
import { executionArn as arn, at, planFor, unique } from '../support/pipeline.ts';

const HOME = 'us-east-1';
const ec2 = new EC2Client({});
const ec2In = (region: string) => new EC2Client({ region });
const ssmIn = (region: string) => new SSMClient({ region });
let pipeline: Pipeline;

beforeAll(async () => {
  pipeline = await createPipeline();
});

async function imagesNamed(region: string, name: string): Promise<Image[]> {
  return (
    (await ec2In(region).send(new DescribeImagesCommand({ Filters: [{ Name: 'name', Values: [name] }] })))
      .Images ?? []
  );
}

async function parameter(region: string, name: string) {
  return (await ssmIn(region).send(new GetParameterCommand({ Name: name }))).Parameter;
}

async function run(p: Pipeline, plan: Plan, attempt = '') {
  const execution = await p.workflow.run(executionInput(plan, {}, new Date()), arn(`${plan.key}${attempt}`));
  return execution;
}

describe('distribution and lifecycle', () => {
  it('copies to two Regions, shares, deprecates, protects and writes the parameter in each Region; record, notification and event carry it', async () => {
    const name = unique('lc-full');
    const parameterName = `/lc/${name}`;
    const plan = await planFor(ec2, {
      'snap2ami:name': name,
      'snap2ami:copy-to': 'us-west-2,eu-central-1',
      'snap2ami:copy-kms-key:eu-central-1': 'alias/ami',
      'snap2ami:share-with':
        '111122223333,arn:aws:organizations::111122223333:organization/o-abc123def4,arn:aws:organizations::111122223333:ou/o-abc123def4/ou-ab12-cdef5678',
      'snap2ami:ssm-parameter': parameterName,
      'snap2ami:deprecate-after': '2w',
      'snap2ami:deregistration-protection': 'with-cooldown',
      'snap2ami:family': name,
    });
    expect(plan.lifecycle?.copyTo).toHaveLength(2);
    const execution = await run(pipeline, plan);
    expect(execution.status, `${execution.error}: ${execution.cause}`).toBe('SUCCEEDED');
    const { imageId } = execution.output as { imageId: string };

    const [home] = await imagesNamed(HOME, name);
    const copies = {
      'us-west-2': await imagesNamed('us-west-2', name),
      'eu-central-1': await imagesNamed('eu-central-1', name),
    };
    expect(home?.ImageId).toBe(imageId);
    for (const [region, images] of Object.entries(copies)) {
      expect(images, region).toHaveLength(1);
      const copy = images[0] as Image;
      expect(copy.State).toBe('available');
      expect(copy.SourceImageId).toBe(imageId);
      expect(copy.Tags).toEqual(
        expect.arrayContaining([
          { Key: 'snap2ami:key', Value: plan.key },
          { Key: 'snap2ami:family', Value: name },
        ]),
      );
      expect(copy.DeprecationTime).toBe(home?.DeprecationTime);
      expect(copy.DeregistrationProtection).toBe('enabled-with-cooldown');
      const snapshotId = copy.BlockDeviceMappings?.[0]?.Ebs?.SnapshotId as string;
      const snapshot = (await ec2In(region).send(new DescribeSnapshotsCommand({ SnapshotIds: [snapshotId] })))
        .Snapshots?.[0];
      expect(snapshot?.Tags).toEqual(
        expect.arrayContaining([{ Key: 'snap2ami:image-id', Value: copy.ImageId }]),
      );
      const stored = await parameter(region, parameterName);
      expect(stored).toMatchObject({ Value: copy.ImageId, DataType: 'aws:ec2:image' });
    }
    expect(copies['eu-central-1'][0]?.BlockDeviceMappings?.[0]?.Ebs).toMatchObject({
      Encrypted: true,
      KmsKeyId: 'alias/ami',
    });
    expect(copies['us-west-2'][0]?.BlockDeviceMappings?.[0]?.Ebs?.Encrypted).toBe(false);
    expect(await parameter(HOME, parameterName)).toMatchObject({ Value: imageId, DataType: 'aws:ec2:image' });

    // Creation + 14 days, to the minute.
    const expected = new Date(Date.parse(home?.CreationDate as string) + 14 * 86_400_000);
    expected.setUTCSeconds(0, 0);
    expect(home?.DeprecationTime).toBe(expected.toISOString());
    expect(home?.DeregistrationProtection).toBe('enabled-with-cooldown');
    for (const image of [home, copies['us-west-2'][0], copies['eu-central-1'][0]]) {
      const region =
        image === home ? HOME : (Object.entries(copies).find(([, v]) => v[0] === image)?.[0] as string);
      const permissions = await ec2In(region).send(
        new DescribeImageAttributeCommand({ ImageId: image?.ImageId, Attribute: 'launchPermission' }),
      );
      expect(permissions.LaunchPermissions).toHaveLength(3);
    }

    const distribution = {
      copies: [
        { region: 'us-west-2', imageId: copies['us-west-2'][0]?.ImageId },
        { region: 'eu-central-1', imageId: copies['eu-central-1'][0]?.ImageId },
      ],
      launchPermissions: expect.arrayContaining(['111122223333']),
      protection: { deprecationTime: expected.toISOString(), deregistrationProtection: 'with-cooldown' },
      ssmParameters: [
        { region: HOME, name: parameterName, value: imageId, written: true },
        { region: 'us-west-2', name: parameterName, value: copies['us-west-2'][0]?.ImageId, written: true },
        {
          region: 'eu-central-1',
          name: parameterName,
          value: copies['eu-central-1'][0]?.ImageId,
          written: true,
        },
      ],
      retention: { deregistered: [], disabled: [], kept: [], pending: false },
    };
    const record = await pipeline.record(plan.key);
    expect(record).toMatchObject({ status: 'COMPLETED', imageId });
    expect(JSON.parse(record?.distribution as string)).toEqual(distribution);
    const notification = (await pipeline.notifications()).find((n) => n.message.key === plan.key);
    expect(notification?.message.distribution).toEqual(distribution);
    const event = (await pipeline.events()).find((e) => e.detail.key === plan.key);
    expect(event).toMatchObject({
      source: 'snap2ami',
      'detail-type': 'AMI Registered',
      detail: { imageId, distribution },
    });
  });

  it('a registration without lifecycle tags distributes nothing and says so', async () => {
    const name = unique('lc-none');
    const plan = await planFor(ec2, { 'snap2ami:name': name });
    const execution = await run(pipeline, plan);
    expect(execution.status, `${execution.error}: ${execution.cause}`).toBe('SUCCEEDED');
    expect(execution.events.some((e) => e.state?.name === 'CopyImages')).toBe(false);
    expect(JSON.stringify(await pipeline.record(plan.key))).not.toContain('distribution');
    const event = (await pipeline.events()).find((e) => e.detail.key === plan.key);
    expect(event).toMatchObject({ 'detail-type': 'AMI Registered', detail: { distribution: {} } });
  });

  it.each(['copyImages', 'checkCopies', 'share', 'protect', 'publishParameters'])(
    'a redrive after the %s step failed (its work done, the answer lost) finishes without a second copy',
    async (action) => {
      let failed = false;
      const failing: PipelineOptions['aroundLifecycle'] = async (task, next) => {
        const result = await next();
        if (task.action === action && !failed) {
          failed = true;
          throw new PermanentError(`injected: ${action} lost its answer`);
        }
        return result;
      };
      const p = await createPipeline({ aroundLifecycle: failing });
      const name = unique(`lc-redrive-${action}`);
      const parameterName = `/lc/${name}`;
      const plan = await planFor(ec2, {
        'snap2ami:name': name,
        'snap2ami:copy-to': 'us-west-2,eu-west-1',
        'snap2ami:share-with': '111122223333',
        'snap2ami:ssm-parameter': parameterName,
        'snap2ami:deprecate-after': '30d',
        'snap2ami:deregistration-protection': 'true',
        'snap2ami:family': name,
      });
      const first = await run(p, plan);
      expect(first.status).toBe('FAILED');
      const step = {
        copyImages: 'CopyImages',
        checkCopies: 'TagCopies',
        share: 'ShareImages',
        protect: 'ProtectImages',
        publishParameters: 'PublishParameters',
      }[action];
      const failedRecord = await p.record(plan.key);
      expect(failedRecord).toMatchObject({
        status: 'FAILED',
        failedStep: step,
        imageId: expect.stringMatching(/^ami-/),
      });
      expect((await p.events()).find((e) => e.detail.key === plan.key)).toMatchObject({
        'detail-type': 'AMI Registration Failed',
        detail: { outcome: 'FAILED', failedStep: step },
      });

      const second = await run(p, plan, '-2');
      expect(second.status, `${second.error}: ${second.cause}`).toBe('SUCCEEDED');
      expect(await p.record(plan.key)).toMatchObject({
        status: 'COMPLETED',
        imageId: failedRecord?.imageId,
        attempts: '2',
      });
      for (const region of ['us-west-2', 'eu-west-1']) {
        const images = await imagesNamed(region, name);
        expect(images, region).toHaveLength(1);
        expect(images[0]?.DeregistrationProtection).toBe('enabled-without-cooldown');
        expect(images[0]?.DeprecationTime).toBeDefined();
        expect((await parameter(region, parameterName))?.Value).toBe(images[0]?.ImageId);
      }
      expect(await imagesNamed(HOME, name)).toHaveLength(1);
    },
  );

  it('a redrive after RecordDistribution failed (its write landed, its answer lost, then throttled past its retries) finishes without a second copy', async () => {
    // RecordDistribution is the definition's own DynamoDB integration: its fault is injected
    // at the HTTP level, on the integration's endpoint, and only into its UpdateItem.
    const proxy = await startFaultProxy(inject('awsEndpoint'));
    const p = await createPipeline({
      dynamodb: new DynamoDBClient({ endpoint: proxy.endpoint, maxAttempts: 1 }),
    });
    const sfn = await startLocalStepFunctions(
      `arn:aws:states:${EMULATOR_REGION}:${EMULATOR_ACCOUNT}:stateMachine:snap2ami-lc-${Date.now()}`,
      p.workflow,
    );
    const sfnClient = new SFNClient({ endpoint: sfn.endpoint });
    try {
      const name = unique('lc-redrive-record');
      const parameterName = `/lc/${name}`;
      const regions = ['us-west-2', 'eu-west-1'];
      const plan = await planFor(ec2, {
        'snap2ami:name': name,
        'snap2ami:copy-to': regions.join(','),
        'snap2ami:ssm-parameter': parameterName,
        'snap2ami:family': name,
      });
      // RecordDistribution's one write: the status, the image and the distribution.
      const distributionWrite = {
        action: 'DynamoDB.UpdateItem',
        bodyIncludes: 'distribution = :distribution',
      };
      proxy.inject({
        ...distributionWrite,
        forward: true,
        times: 1,
        status: 500,
        body: dynamoDbError('InternalServerError', 'injected: the answer was lost'),
      });
      proxy.inject({
        ...distributionWrite,
        times: 5,
        status: 400,
        body: dynamoDbError('ProvisionedThroughputExceededException', 'injected: throttled'),
      });
      await startAttempt(sfnClient, sfn.stateMachineArn, plan, {}, new Date());
      await sfn.idle();

      const failed = await p.record(plan.key);
      expect(failed).toMatchObject({
        status: 'FAILED',
        failedStep: 'RecordDistribution',
        error: 'DynamoDB.ProvisionedThroughputExceededException',
        imageId: expect.stringMatching(/^ami-/),
      });
      const copies = Object.fromEntries(
        await Promise.all(regions.map(async (region) => [region, await imagesNamed(region, name)] as const)),
      );
      for (const region of regions) expect(copies[region], region).toHaveLength(1);

      const started = await redrive(
        {
          dynamo: new DynamoDBClient({}),
          sfn: sfnClient,
          ec2,
          table: p.table,
          stateMachineArn: sfn.stateMachineArn,
          prefix: SETTINGS.prefix,
          allowedSourceAccounts: [],
        },
        { keys: [plan.key] },
        {},
      );
      expect(started).toEqual([expect.objectContaining({ key: plan.key, action: 'started' })]);
      await sfn.idle();

      const record = await p.record(plan.key);
      expect(record).toMatchObject({ status: 'COMPLETED', imageId: failed?.imageId, attempts: '2' });
      expect(await imagesNamed(HOME, name)).toHaveLength(1);
      const home = { region: HOME, imageId: failed?.imageId as string };
      const expected = [
        home,
        ...regions.map((region) => {
          const images = copies[region] as Image[];
          return { region, imageId: images[0]?.ImageId as string };
        }),
      ];
      for (const { region, imageId } of expected) {
        const images = await imagesNamed(region, name);
        expect(
          images.map((image) => image.ImageId),
          region,
        ).toEqual([imageId]);
        expect((await parameter(region, parameterName))?.Value, region).toBe(imageId);
      }
      const distribution = JSON.parse(record?.distribution as string);
      expect(distribution.copies).toEqual(expected.slice(1));
      expect(distribution.ssmParameters).toEqual(
        expected.map(({ region, imageId }) => ({
          region,
          name: parameterName,
          value: imageId,
          written: true,
        })),
      );
    } finally {
      await sfn.close();
      await proxy.close();
    }
  });

  it('two registrations of one family racing leave the parameter on the newer, in every Region', async () => {
    for (const round of [1, 2, 3]) {
      const family = unique(`lc-race-${round}`);
      const parameterName = `/lc/${family}`;
      // Both reach PublishParameters before either writes: they contend for the lock.
      let arrived = 0;
      let release: () => void = () => {};
      const together = new Promise<void>((resolve) => {
        release = resolve;
      });
      const p = await createPipeline({
        aroundLifecycle: async (task, next) => {
          if (task.action === 'publishParameters') {
            arrived += 1;
            if (arrived === 2) release();
            await together;
          }
          return next();
        },
      });
      const tags = (n: string) => ({
        'snap2ami:name': `${family}-${n}`,
        'snap2ami:copy-to': 'us-west-2',
        'snap2ami:ssm-parameter': parameterName,
        'snap2ami:family': family,
      });
      const older = at(await planFor(ec2, tags('older')), '2026-01-01T00:00:00Z');
      const newer = at(await planFor(ec2, tags('newer')), '2026-01-02T00:00:00Z');
      const runs = round % 2 ? [run(p, older), run(p, newer)] : [run(p, newer), run(p, older)];
      const [a, b] = await Promise.all(runs);
      expect(a?.status, `${a?.error}: ${a?.cause}`).toBe('SUCCEEDED');
      expect(b?.status, `${b?.error}: ${b?.cause}`).toBe('SUCCEEDED');
      const newest: Record<string, string | undefined> = {
        [HOME]: (await imagesNamed(HOME, `${family}-newer`))[0]?.ImageId,
        'us-west-2': (await imagesNamed('us-west-2', `${family}-newer`))[0]?.ImageId,
      };
      for (const region of [HOME, 'us-west-2'])
        expect((await parameter(region, parameterName))?.Value, `round ${round}, ${region}`).toBe(
          newest[region],
        );
    }
  });

  it('an older snapshot registered after a newer one never moves the parameter back', async () => {
    const family = unique('lc-order');
    const parameterName = `/lc/${family}`;
    const tags = (n: string) => ({
      'snap2ami:name': `${family}-${n}`,
      'snap2ami:copy-to': 'eu-west-1',
      'snap2ami:ssm-parameter': parameterName,
      'snap2ami:family': family,
    });
    const newer = at(await planFor(ec2, tags('newer')), '2026-03-02T00:00:00Z');
    const older = at(await planFor(ec2, tags('older')), '2026-03-01T00:00:00Z');
    expect((await run(pipeline, newer)).status).toBe('SUCCEEDED');
    const execution = await run(pipeline, older);
    expect(execution.status, `${execution.error}: ${execution.cause}`).toBe('SUCCEEDED');
    const newerHome = (await imagesNamed(HOME, `${family}-newer`))[0]?.ImageId;
    const newerCopy = (await imagesNamed('eu-west-1', `${family}-newer`))[0]?.ImageId;
    expect((await parameter(HOME, parameterName))?.Value).toBe(newerHome);
    expect((await parameter('eu-west-1', parameterName))?.Value).toBe(newerCopy);
    const record = JSON.parse((await pipeline.record(older.key))?.distribution as string);
    expect(record.ssmParameters).toEqual([
      { region: HOME, name: parameterName, value: newerHome, written: false },
      { region: 'eu-west-1', name: parameterName, value: newerCopy, written: false },
    ]);
  });
});
