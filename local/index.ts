/**
 * The local development harness: everything that makes this machine look like an AWS
 * account for snap2ami (the moto emulator and its launcher, a Step Functions endpoint that
 * runs the deployed definition, the SQS event source, the stack's resources from the
 * packaged template, sample snapshots and events, a fault proxy, the emulator's own controls), and the main job built on
 * them (`snap2ami local`). Not deployed, and not for use against AWS: the product is
 * functions/, statemachine/, shared/ and cli/. One entry point for tests, the bench and the
 * local command.
 */
export * from './ami-events.ts';
export * from './burst.ts';
export * from './emulator-controls.ts';
export * from './fault-proxy.ts';
export * from './main-job.ts';
export * from './member-account.ts';
export * from './moto-emulator.ts';
export * from './paths.ts';
export * from './pipeline-fixture.ts';
export * from './sample-events.ts';
export * from './sample-snapshots.ts';
export * from './sqs-event-source.ts';
export * from './stack-resources.ts';
export * from './state-machine-runner.ts';
export * from './step-functions-endpoint.ts';
export * from './workflow-functions.ts';
