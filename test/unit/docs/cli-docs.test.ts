/** docs/cli.md is what the command line's own definitions say now (`npm run docs` writes it). */
import { readFileSync } from 'node:fs';
import { Command } from 'commander';
import { describe, expect, it } from 'vitest';
import { CLI_DOCS_PATH, cliReference } from '../../../scripts/docs.ts';

describe('docs/cli.md', () => {
  it('is current: run `npm run docs` after changing a command, an option or a description', () => {
    expect(readFileSync(CLI_DOCS_PATH, 'utf8')).toBe(cliReference());
  });

  it('renders each command: usage with required options bare, every option with its default and variable', () => {
    const root = new Command('snap2ami').description('Root.');
    root
      .command('demo')
      .description('Do a thing. More words.')
      .argument('<id...>', 'the IDs')
      .requiredOption('--table <name>', 'the table')
      .option('--grace <age>', 'how long | at least', '1h')
      .option('--dry-run', 'change nothing for <prefix>register');
    const page = cliReference(root);
    expect(page).toContain('| [`demo`](#snap2ami-demo) | Do a thing |');
    expect(page).toContain('snap2ami demo <id...> --table <name> [--grace <age>] [--dry-run]');
    expect(page).toContain('| `<id...>` | the IDs |');
    expect(page).toContain('| `--grace <age>` | how long \\| at least (default: "1h") |');
    expect(page).toContain('| `--dry-run` | change nothing for &lt;prefix&gt;register |');
  });
});
