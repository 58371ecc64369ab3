/** Every command has --help describing every option. */
import { describe, expect, it } from 'vitest';
import { snap2ami } from '../../support/cli.ts';

const commands: Record<string, string[]> = {
  replay: [
    '--dlq-url',
    '--queue-url',
    '--dry-run',
    '--max',
    '--snapshot-id',
    '--reason',
    '--rate',
    '--move-task',
    '--json',
  ],
  redrive: [
    '--table',
    '--state-machine-arn',
    '--key',
    '--snapshot-id',
    '--since',
    '--until',
    '--all',
    '--dry-run',
    '--json',
  ],
  status: ['--table', '--state-machine-arn', '--json', '<snapshot-id|key>'],
};

describe('--help', () => {
  it.each(Object.entries(commands))('snap2ami %s --help describes every option', (command, options) => {
    const result = snap2ami([command, '--help']);
    expect(result.status).toBe(0);
    for (const option of options) expect(result.stdout).toContain(option);
  });

  it('snap2ami --help lists every command', () => {
    const result = snap2ami(['--help']);
    for (const command of ['plan', 'local', 'replay', 'redrive', 'status'])
      expect(result.stdout).toContain(command);
  });
});
