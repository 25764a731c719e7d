import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { checkFilter, compileFilter } from '../../../src/rag/retrieve/filters.js';
import { RetrievalSettingsError } from '../../../src/rag/retrieve/errors.js';

describe('compileFilter', () => {
  const chunk = { docId: 'd1', path: 'books/guide.pdf', page: 3 };

  test('every part must match', () => {
    assert.ok(compileFilter(undefined)(chunk));
    assert.ok(compileFilter({ pathGlob: 'books/*.pdf', docIds: ['d1', 'd9'], pages: { from: 2, to: 3 } })(chunk));
    assert.ok(!compileFilter({ pathGlob: '*.pdf' })(chunk), '* stays within a segment');
    assert.ok(compileFilter({ pathGlob: '**/*.pdf' })(chunk));
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
