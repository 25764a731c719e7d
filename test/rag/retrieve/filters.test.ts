import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { checkFilter, compileFilter, globToRegExp } from '../../../src/rag/retrieve/filters.js';
import { RetrievalSettingsError } from '../../../src/rag/retrieve/errors.js';

describe('globToRegExp', () => {
  const matches = (glob: string, path: string): boolean => globToRegExp(glob).test(path);

  test('* stays within a segment, ** crosses them, ? is one character', () => {
    assert.ok(matches('docs/*.md', 'docs/a.md'));
    assert.ok(!matches('docs/*.md', 'docs/sub/a.md'));
    assert.ok(matches('docs/**/*.md', 'docs/sub/deep/a.md'));
    assert.ok(matches('docs/**/*.md', 'docs/a.md'));
    assert.ok(matches('**', 'any/thing'));
    assert.ok(matches('docs/**', 'docs/x/y'));
    assert.ok(matches('ch?.pdf', 'ch1.pdf'));
    assert.ok(!matches('ch?.pdf', 'ch12.pdf'));
    assert.ok(!matches('a?b', 'a/b'));
  });

  test('regular-expression characters are literal', () => {
    assert.ok(matches('a+b (1).txt', 'a+b (1).txt'));
    assert.ok(!matches('a.txt', 'abtxt'));
    assert.ok(matches('[x]', '[x]'));
  });
});

describe('compileFilter', () => {
  const chunk = { docId: 'd1', path: 'books/guide.pdf', page: 3 };

  test('every part must match', () => {
    assert.ok(compileFilter(undefined)(chunk));
    assert.ok(compileFilter({ pathGlob: 'books/*.pdf', docIds: ['d1', 'd9'], pages: { from: 2, to: 3 } })(chunk));
    assert.ok(!compileFilter({ pathGlob: '*.pdf' })(chunk));
    assert.ok(!compileFilter({ docIds: [] })(chunk));
    assert.ok(!compileFilter({ pages: { from: 4 } })(chunk));
    assert.ok(!compileFilter({ pages: { to: 2 } })(chunk));
  });

  test('a chunk without a page never matches a page range', () => {
    assert.ok(!compileFilter({ pages: {} })({ docId: 'd', path: 'a.txt' }));
  });

  test('bad filters name their part', () => {
    const fails = (f: Parameters<typeof checkFilter>[0], setting: string, text: RegExp): void => {
      assert.throws(() => checkFilter(f), (e: unknown) => e instanceof RetrievalSettingsError && e.setting === setting && text.test(e.message));
    };
    fails({ pathGlob: '' }, 'pathGlob', /non-empty/);
    fails({ pages: { from: 0 } }, 'pages', /from 1, not 0/);
    fails({ pages: { from: 5, to: 2 } }, 'pages', /from 5 to 2/);
    fails({ pages: { to: 1.5 } }, 'pages', /not 1.5/);
  });
});
