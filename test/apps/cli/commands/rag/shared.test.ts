import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { filterOf, flagOf, ragError } from '../../../../../src/apps/cli/commands/rag/shared.js';
import { CliError, EXIT } from '../../../../../src/apps/cli/errors.js';
import { RetrievalSettingsError } from '../../../../../src/rag/retrieve/errors.js';

describe('rag CLI shared', () => {
  test('--pages N, N-M, N- and -M become inclusive page ranges; --path and --doc pass through', () => {
    assert.deepEqual(filterOf({ pages: '3' }), { pages: { from: 3, to: 3 } });
    assert.deepEqual(filterOf({ pages: '2-5' }), { pages: { from: 2, to: 5 } });
    assert.deepEqual(filterOf({ pages: '4-' }), { pages: { from: 4 } });
    assert.deepEqual(filterOf({ pages: '-7' }), { pages: { to: 7 } });
    assert.deepEqual(filterOf({ path: 'docs/**/*.md', doc: ['a', 'b'] }), { pathGlob: 'docs/**/*.md', docIds: ['a', 'b'] });
    assert.equal(filterOf({}), undefined);
    for (const bad of ['', '-', 'x', '1-2-3', '3 4']) assert.throws(() => filterOf({ pages: bad }), (e: unknown) => e instanceof CliError && /--pages/.test(e.message), bad);
  });

  test('library settings errors are usage errors worded with the flags', () => {
    const err = ragError('rag query', new RetrievalSettingsError('k', '{k} must be an integer of at least 1, not 0'));
    assert.equal(err.exitCode, EXIT.usage);
    assert.equal(err.message, 'rag query: --k must be an integer of at least 1, not 0');
    assert.equal(flagOf('embedder'), '--embed-model');
    assert.equal(ragError('rag ask', new Error('boom')).exitCode, EXIT.failure);
  });
});
