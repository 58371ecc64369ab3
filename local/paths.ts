/** Where the project lies on disk: the local harness, the build and the tests find their files from here. */
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const PROJECT_ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');

/** The sample snapshots `snap2ami local` creates on the emulator, each tagged with its expected outcome. */
export const DEFAULT_SAMPLES = join(PROJECT_ROOT, 'examples', 'snapshots.json');
