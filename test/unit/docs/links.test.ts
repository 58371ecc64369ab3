/**
 * The README and docs/ are a front door with rooms behind it: every relative link between them
 * (and every #anchor) leads somewhere, and nothing sends a reader outside the project.
 */
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { describe, expect, it } from 'vitest';
import { PROJECT_ROOT } from '../../../local/index.ts';
import { anchors, linkTargets, markdownPages, readPage, slug } from './markdown.ts';

const pages = markdownPages();

/** Where a link leads, or why it does not. */
function broken(page: string, target: string): string | undefined {
  if (/^[a-z][a-z0-9+.-]*:/i.test(target)) return undefined; // https:, mailto: …: not ours to check
  const [path = '', anchor] = target.split('#');
  const file = path === '' ? join(PROJECT_ROOT, page) : join(PROJECT_ROOT, dirname(page), decodeURI(path));
  const from = relative(PROJECT_ROOT, file);
  if (from.startsWith('..')) return `${target} leaves the project`;
  if (!existsSync(file)) return `${target}: ${from} does not exist`;
  if (anchor === undefined) return undefined;
  if (statSync(file).isDirectory() || !file.endsWith('.md'))
    return `${target}: an anchor into ${from}, not a page`;
  return anchors(readFileSync(file, 'utf8')).has(anchor)
    ? undefined
    : `${target}: ${from} has no heading #${anchor}`;
}

describe('links in the README and docs/', () => {
  it('finds the pages the README sends readers to', () => {
    for (const page of [
      'docs/tag-contract.md',
      'docs/events.md',
      'docs/cli.md',
      'docs/deploying.md',
      'docs/operations.md',
      'docs/local.md',
      'docs/performance.md',
    ])
      expect(pages).toContain(page);
  });

  it.each(pages)('every relative link and anchor in %s resolves', (page) => {
    const targets = linkTargets(readPage(page));
    const problems = targets.flatMap((target) => broken(page, target) ?? []);
    expect(problems).toEqual([]);
  });

  it('reads links and anchors as GitHub does', () => {
    expect(slug("A registration's status, and `redrive`")).toBe('a-registrations-status-and-redrive');
    expect(slug('Keeping it running: `--keep`')).toBe('keeping-it-running---keep');
    expect(anchors('# A\n## A\n```\n# not a heading\n```\n').has('a-1')).toBe(true);
    expect(linkTargets('[`x`](a.md#b) `[y](c.md)`\n```\n[z](d.md)\n```\n')).toEqual(['a.md#b']);
    expect(broken('README.md', 'docs/nowhere.md')).toBe('docs/nowhere.md: docs/nowhere.md does not exist');
    expect(broken('README.md', '#no-such-heading')).toBe(
      '#no-such-heading: README.md has no heading #no-such-heading',
    );
    const outside = ['..', 'shared', 'spec', 'events.md'].join('/');
    expect(broken('README.md', outside)).toBe(`${outside} leaves the project`);
  });
});

/** The folders the project's code and docs live in (node_modules, .venv and dist are not the project's). */
const SOURCES = [
  'README.md',
  'docs',
  'functions',
  'shared',
  'cli',
  'local',
  'scripts',
  'bench',
  'test',
  'resources',
];

function files(path: string): string[] {
  const full = join(PROJECT_ROOT, path);
  if (!statSync(full).isDirectory()) return [path];
  return readdirSync(full, { withFileTypes: true }).flatMap((entry) =>
    entry.name === '__pycache__' ? [] : files(join(path, entry.name)),
  );
}

describe('nothing refers to a file outside the project', () => {
  it('every ../shared/… path named in the code and docs is a file of this project', () => {
    const outside = SOURCES.flatMap(files)
      .filter((file) => /\.(ts|md|py|yml|json)$/.test(file))
      .flatMap((file) =>
        [...readFileSync(join(PROJECT_ROOT, file), 'utf8').matchAll(/(?:\.\.\/)+shared\/[\w./-]*\w/g)]
          .map((match) => match[0])
          .filter((path) => {
            const target = join(PROJECT_ROOT, dirname(file), path);
            return relative(PROJECT_ROOT, target).startsWith('..') || !existsSync(target);
          })
          .map((path) => `${file}: ${path}`),
      );
    expect(outside).toEqual([]);
  });
});
