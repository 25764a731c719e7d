import { test } from 'node:test';
import assert from 'node:assert/strict';
import { exactSearchLimit } from '../../../src/rag/store/settings.js';

test('exactSearchLimit: the option, else the old annThreshold less one, else the backend default', () => {
  assert.equal(exactSearchLimit({}, 20_000, 'S'), 20_000);
  assert.equal(exactSearchLimit({ exactSearchLimit: 0 }, 20_000, 'S'), 0);
  assert.equal(exactSearchLimit({ exactSearchLimit: 500 }, 20_000, 'S'), 500);
  // HNSW from annThreshold chunks on means exact search up to one less.
  assert.equal(exactSearchLimit({ annThreshold: 1000 }, 20_000, 'S'), 999);
  assert.equal(exactSearchLimit({ annThreshold: 0 }, 20_000, 'S'), 0);
  assert.equal(exactSearchLimit({ exactSearchLimit: 999, annThreshold: 1000 }, 20_000, 'S'), 999);
});

test('exactSearchLimit refuses bad values and two names that disagree, naming the backend', () => {
  assert.throws(() => exactSearchLimit({ exactSearchLimit: 1.5 }, 1, 'PostgresStore'), /^RangeError: PostgresStore: exactSearchLimit must be a non-negative integer, got 1.5$/);
  assert.throws(() => exactSearchLimit({ annThreshold: -1 }, 1, 'SqliteStore'), /SqliteStore: annThreshold must be a non-negative integer, got -1/);
  assert.throws(() => exactSearchLimit({ exactSearchLimit: 1000, annThreshold: 1000 }, 1, 'SqliteStore'), /exactSearchLimit 1000 and annThreshold 1000 .* disagree/);
});
