/** Every example event in docs/events.md is one the parser turns into snapshots to plan, the ones it shows. */
import { describe, expect, it } from 'vitest';
import { parseMessageBody } from '#shared/events.ts';
import { readPage } from './markdown.ts';

const page = readPage('docs/events.md');
/** The page's ```json blocks: each a message body as the queue delivers it. */
const examples = [...page.matchAll(/^```json\n([\s\S]*?)^```$/gm)].map((match) => match[1] ?? '');
const headingOf = (example: string) =>
  [...page.slice(0, page.indexOf(example)).matchAll(/^#{2,4} (.+)$/gm)].at(-1)?.[1] ?? '';

/** The account and Region of the examples, and the account that shares a snapshot in one. */
const settings = {
  account: '123456789012',
  region: 'us-east-1',
  allowedSourceAccounts: ['210987654321'],
  prefix: 'snap2ami:',
};

describe('the examples in docs/events.md', () => {
  it('has an example of every kind the pipeline accepts', () => {
    const kinds = examples.map((example) => {
      const outcome = parseMessageBody(example, settings);
      return outcome.outcome === 'snapshots' ? outcome.kind : outcome.outcome;
    });
    expect(new Set(kinds)).toEqual(
      new Set([
        'createSnapshot',
        'copySnapshot',
        'shareSnapshot',
        'createSnapshots',
        'backupJob',
        'copyJob',
        'recoveryPoint',
        'createTags',
        'registerSnapshots',
      ]),
    );
  });

  it.each(examples.map((example) => [headingOf(example), example]))(
    '%s: yields the snapshots the example names',
    (_, example) => {
      const outcome = parseMessageBody(example, settings);
      expect(outcome, JSON.stringify(outcome)).toMatchObject({ outcome: 'snapshots' });
      if (outcome.outcome !== 'snapshots') return;
      const ids = outcome.groups.flatMap((group) => group.snapshotIds);
      expect(ids.length).toBeGreaterThan(0);
      for (const id of ids) expect(example).toContain(id);
    },
  );
});
