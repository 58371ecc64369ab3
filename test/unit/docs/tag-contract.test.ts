/** docs/tag-contract.md documents every key the planner accepts, and the README's five tags are keys. */
import { describe, expect, it } from 'vitest';
import { FAMILIES, KEYS } from '#shared/contract/keys.ts';
import { readPage } from './markdown.ts';

describe('docs/tag-contract.md', () => {
  const page = readPage('docs/tag-contract.md');

  it.each(Object.keys(KEYS))('documents <p>%s', (name) => {
    expect(page).toContain(`\`<p>${name}\``);
  });

  it.each(FAMILIES)('documents the keys <p>%s…', (family) => {
    expect(page).toMatch(new RegExp(`\`<p>${family}<`));
  });

  it("names only keys of the contract in the README's table of tags", () => {
    const readme = readPage('README.md');
    const table = readme.slice(readme.indexOf('## The five tags'), readme.indexOf('## The command line'));
    const named = [...table.matchAll(/^\| `snap2ami:([a-z-]+)` \|/gm)].map((match) => match[1] ?? '');
    expect(named).toHaveLength(5);
    for (const name of named) expect(Object.keys(KEYS)).toContain(name);
  });
});
