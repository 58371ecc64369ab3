/** The packaging lock (local/stack-resources.ts): held for as long as its holder works. */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { PROJECT_ROOT, withPackageLock } from '../../local/index.ts';

describe('withPackageLock', () => {
  it('holds the lock until an async holder has finished, not only until it has started', async () => {
    const held = await withPackageLock(async () => {
      await new Promise((resolve) => setTimeout(resolve, 50));
      return existsSync(join(PROJECT_ROOT, '.serverless.lock'));
    });
    expect(held).toBe(true);
  });
});
