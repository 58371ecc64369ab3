/**
 * The workflow's distribution and lifecycle steps (tag contract v2), one file each (copy.ts,
 * share.ts, protect.ts, parameter.ts, retention.ts; their types in types.ts), dispatched here
 * after the AMI is available and its snapshots tagged: copy to other Regions, then, once the
 * copies are available, in one invocation (distribute.ts): tag their snapshots, share,
 * deprecate and protect, write the SSM parameters, apply retention. Every step is idempotent, so a retry or a redrive finishes only what is
 * missing: copies carry a client token from the key and the Region (and a duplicate name is
 * adopted as Register adopts), grants and protection are set-to-a-value calls, parameters are
 * written under a lock in the records table and only forward in `<p>snapshot-time`. The pure
 * decisions are in shared/distribution.ts; errors are typed (shared/errors.ts).
 * docs/adr/0008-distribution-and-lifecycle.md.
 */

import { checkCopies, copyImages } from './copy.ts';
import { distribute, type LifecycleStep } from './distribute.ts';
import { publishParameters } from './parameter.ts';
import { protect } from './protect.ts';
import { retain } from './retention.ts';
import { share } from './share.ts';
import type { LifecycleDeps, LifecycleTask } from './types.ts';

export type { LifecycleStep } from './distribute.ts';
export type { Copy, LifecycleDeps, LifecycleTask, RetentionDeps, RetentionResult } from './types.ts';

/**
 * One step. Distribute runs the steps after the copies through `run` (by default this function;
 * the local pipeline's tests wrap each step there as they wrap a task).
 */
export async function runLifecycleTask(
  task: LifecycleTask,
  deps: LifecycleDeps,
  run: LifecycleStep = (step) => runLifecycleTask(step, deps),
): Promise<unknown> {
  switch (task.action) {
    case 'distribute':
      return distribute(task, run);
    case 'copyImages':
      return { copies: await copyImages(task, deps) };
    case 'checkCopies':
      return checkCopies(task, deps);
    case 'share':
      return share(task, deps);
    case 'protect':
      return protect(task, deps);
    case 'publishParameters':
      return publishParameters(task, deps);
    case 'retain':
      return retain(task, deps);
  }
}
