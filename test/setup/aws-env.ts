/**
 * Points every SDK client in the test worker at the worker's own emulator (test/setup/emulator.ts),
 * through the standard settings; `inject('awsEndpoint')` answers that emulator too.
 */
import { afterAll, beforeAll, inject } from 'vitest';
import { closeAmiEventQueues } from '../../local/ami-events.ts';
import { amiEventControl, throttleControl } from '../../local/emulator-controls.ts';
import { awsEnvironment } from '../../local/moto-emulator.ts';

const endpoints = inject('awsEndpoints');
const endpoint = endpoints[(Number(process.env.VITEST_POOL_ID ?? 1) - 1) % endpoints.length] as string;
// vitest provides the same values to every worker, and `inject` reads the worker's own copy of
// them: that copy is given this worker's emulator, and checked, so that a vitest that keeps the
// copy elsewhere fails here rather than points a test at another worker's emulator.
const worker = (globalThis as { __vitest_worker__?: { providedContext?: Record<string, unknown> } })
  .__vitest_worker__;
if (worker?.providedContext) worker.providedContext.awsEndpoint = endpoint;
if (inject('awsEndpoint') !== endpoint)
  throw new Error("test/setup/aws-env.ts: inject('awsEndpoint') does not answer this worker's emulator");
Object.assign(process.env, awsEnvironment(endpoint));

// A file's AMI-event rules go with it: each rule on the emulator's default buses gets every AMI
// event of the worker's later files, and its queue, read by nobody, grows.
afterAll(() => closeAmiEventQueues());

// Each file starts from the emulator's defaults: full token buckets (a burst in the worker's
// file before may have emptied RegisterImage's), no throttling or AMI-event settings left over.
beforeAll(async () => {
  await throttleControl(endpoint).reset();
  await amiEventControl(endpoint).reset();
});
