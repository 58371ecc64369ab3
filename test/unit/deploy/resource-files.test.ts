/**
 * The plugin that merges resource files into serverless.yml's `resources`
 * (scripts/serverless-resource-files.ts): objects key by key, in order, anything else
 * replaced; a part that is not an object refused by name.
 */
import { describe, expect, it } from 'vitest';
import { mergeInto, mergeResourceFiles } from '../../../scripts/serverless-resource-files.ts';

const fail = (message: string) => new Error(message);

describe('mergeResourceFiles', () => {
  it('adds resources and conditions, and an export to an output the base declares', () => {
    const service = {
      custom: {
        resourceFiles: [
          {
            Conditions: { C: { 'Fn::Equals': ['a', 'b'] } },
            Resources: { Alarm: { Type: 'AWS::CloudWatch::Alarm' } },
            Outputs: { QueueUrl: { Export: { Name: 'x-QueueUrl' } } },
          },
        ],
      },
      resources: {
        Resources: { Queue: { Type: 'AWS::SQS::Queue' } },
        Outputs: { QueueUrl: { Value: { Ref: 'Queue' } } },
      },
    };
    mergeResourceFiles(service, fail);
    expect(service.resources).toEqual({
      Resources: { Queue: { Type: 'AWS::SQS::Queue' }, Alarm: { Type: 'AWS::CloudWatch::Alarm' } },
      Outputs: { QueueUrl: { Value: { Ref: 'Queue' }, Export: { Name: 'x-QueueUrl' } } },
      Conditions: { C: { 'Fn::Equals': ['a', 'b'] } },
    });
  });

  it('merges parts in order: a later part replaces a value, and a list whole', () => {
    expect(mergeInto({ a: { b: [1, 2], c: 1 } }, { a: { b: [3], d: 2 } })).toEqual({
      a: { b: [3], c: 1, d: 2 },
    });
    const service = {
      custom: {
        resourceFiles: [
          { Resources: { R: { Properties: { X: 1 } } } },
          { Resources: { R: { Properties: { X: 2 } } } },
        ],
      },
      resources: null,
    };
    mergeResourceFiles(service, fail);
    expect(service.resources).toEqual({ Resources: { R: { Properties: { X: 2 } } } });
  });

  it('leaves the resources as they are without resourceFiles', () => {
    const service = { resources: { Resources: { Q: { Type: 'AWS::SQS::Queue' } } } };
    mergeResourceFiles(service, fail);
    expect(service.resources).toEqual({ Resources: { Q: { Type: 'AWS::SQS::Queue' } } });
  });

  it('refuses a part that is not an object, and a resourceFiles that is not a list', () => {
    expect(() => mergeResourceFiles({ custom: { resourceFiles: [{}, 'resources/x.yml'] } }, fail)).toThrow(
      'custom.resourceFiles[1] is not a CloudFormation part',
    );
    expect(() => mergeResourceFiles({ custom: { resourceFiles: {} } }, fail)).toThrow('must be a list');
  });
});
