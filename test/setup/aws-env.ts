/** Points every SDK client in the test worker at the emulator, through the standard settings. */
import { inject } from 'vitest';
import { awsEnvironment } from '../../local/index.ts';

Object.assign(process.env, awsEnvironment(inject('awsEndpoint')));
