import { test } from 'node:test';
import assert from 'node:assert/strict';
import { globToRegExp, globToRegExpSource } from '../../../src/rag/store/glob.js';

const cases: [glob: string, matches: string[], misses: string[]][] = [
  ['*.md', ['a.md', '.md'], ['dir/a.md', 'a.mdx', 'a.txt']],
  ['docs/*', ['docs/a', 'docs/'], ['docs/a/b', 'docs']],
  ['docs/**', ['docs/a', 'docs/a/b/c'], ['doc/a', 'docs']],
  ['docs/**/*.md', ['docs/a.md', 'docs/x/a.md', 'docs/x/y/a.md'], ['docs/a.txt', 'other/a.md']],
  ['**/*.pdf', ['a.pdf', 'x/y/a.pdf'], ['a.pdf.txt']],
  ['a**b', ['ab', 'a/x/b'], ['a/x/c']],
  ['?.txt', ['a.txt'], ['ab.txt', '/.txt']],
  ['[ab].md', ['a.md', 'b.md'], ['c.md', '[ab].md']],
  ['[!ab].md', ['c.md'], ['a.md', '/.md']],
  ['[a-c]?', ['bz'], ['dz']],
  ['a[b', ['a[b'], ['ab']],
  ['f(1)+{x}|$.^', ['f(1)+{x}|$.^'], ['f1x']],
];

test('globs: * within a segment, ** across segments, ? one character, [sets]; the rest is literal', () => {
  for (const [glob, matches, misses] of cases) {
    const re = globToRegExp(glob);
    for (const m of matches) assert.ok(re.test(m), `${glob} matches ${m} (${re.source})`);
    for (const m of misses) assert.ok(!re.test(m), `${glob} does not match ${m} (${re.source})`);
  }
});

test('the regex source is anchored and uses only syntax PostgreSQL shares', () => {
  for (const [glob] of cases) {
    const src = globToRegExpSource(glob);
    assert.ok(src.startsWith('^') && src.endsWith('$'), src);
    // No lookarounds, named groups or flags: JavaScript-only constructs.
    assert.doesNotMatch(src, /\(\?[=!<]/);
  }
});
