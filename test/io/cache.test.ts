import { beforeEach, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { cacheEnabled, cacheKey, cacheRoot, readCacheEntry, setCacheEnabled, writeCacheEntry } from '../../src/io/cache.js';
import { useTempCache } from '../helpers/temp-cache.js';

const root = useTempCache('forja-cache-');

const entryFile = (kind: string, key: string) => join(root, kind, `${key}.bin`);

describe('io/cache', () => {
  beforeEach(() => {
    setCacheEnabled(true);
    delete process.env.FORJA_NO_CACHE;
  });

  test('the root is $FORJA_CACHE, else ~/.cache/forja', () => {
    assert.equal(cacheRoot(), root);
    process.env.FORJA_CACHE = '';
    try {
      assert.equal(cacheRoot(), join(homedir(), '.cache', 'forja'));
    } finally {
      process.env.FORJA_CACHE = root;
    }
  });

  test('off by default in a process, on after setCacheEnabled(true), off again with FORJA_NO_CACHE', () => {
    setCacheEnabled(false);
    assert.equal(cacheEnabled(), false);
    setCacheEnabled(true);
    assert.equal(cacheEnabled(), true);
    for (const [value, on] of [['1', false], ['yes', false], ['0', true], ['', true]] as const) {
      process.env.FORJA_NO_CACHE = value;
      assert.equal(cacheEnabled(), on, `FORJA_NO_CACHE=${value}`);
    }
  });

  test('keys depend on every part and on where the parts split', () => {
    const k = cacheKey('a', 'bc', Uint8Array.of(1, 2));
    assert.match(k, /^[0-9a-f]{64}$/);
    assert.equal(cacheKey('a', 'bc', Uint8Array.of(1, 2)), k);
    assert.notEqual(cacheKey('ab', 'c', Uint8Array.of(1, 2)), k);
    assert.notEqual(cacheKey('a', 'bc', Uint8Array.of(1, 3)), k);
    assert.notEqual(cacheKey('a', 'bc'), k);
  });

  test('a written entry reads back byte for byte (chunks concatenated); another key misses', async () => {
    const key = cacheKey('roundtrip');
    assert.deepEqual(readCacheEntry('t', key), { corrupt: false });
    const floats = Float32Array.from([1.5, -2, 3.25]);
    await writeCacheEntry('t', key, [floats, Uint8Array.of(7, 8)]);
    const { payload, corrupt } = readCacheEntry('t', key);
    assert.equal(corrupt, false);
    assert.deepEqual([...payload!], [...new Uint8Array(floats.buffer), 7, 8]);
    assert.deepEqual(readCacheEntry('t', cacheKey('other')), { corrupt: false });
    // Atomic writes leave no temp files behind.
    assert.deepEqual(readdirSync(join(root, 't')), [`${key}.bin`]);
  });

  test('a torn, altered or foreign entry is corrupt (a miss), and rewriting it repairs it', async () => {
    const key = cacheKey('corrupt');
    const payload = Uint8Array.from({ length: 1000 }, (_, i) => i % 251);
    await writeCacheEntry('t', key, payload);
    const good = readFileSync(entryFile('t', key));
    const damaged = [good.subarray(0, good.length - 1), Buffer.concat([good.subarray(0, 100), Buffer.from([good[100]! ^ 1]), good.subarray(101)]), Buffer.from('not an entry'), Buffer.alloc(0)];
    for (const bytes of damaged) {
      writeFileSync(entryFile('t', key), bytes);
      assert.deepEqual(readCacheEntry('t', key), { corrupt: true }, `${bytes.length} bytes`);
    }
    await writeCacheEntry('t', key, payload);
    assert.deepEqual([...readCacheEntry('t', key).payload!], [...payload]);
  });

  test('turned off, nothing is read or written', async () => {
    const key = cacheKey('disabled');
    await writeCacheEntry('t', key, Uint8Array.of(1));
    for (const off of [() => setCacheEnabled(false), () => (process.env.FORJA_NO_CACHE = '1')]) {
      setCacheEnabled(true);
      delete process.env.FORJA_NO_CACHE;
      off();
      assert.deepEqual(readCacheEntry('t', key), { corrupt: false }, 'an existing entry is not read');
      const other = cacheKey('disabled', 'write');
      await writeCacheEntry('t', other, Uint8Array.of(2));
      assert.equal(existsSync(entryFile('t', other)), false, 'nothing is written');
    }
  });

  test('entry names are checked', () => {
    assert.throws(() => readCacheEntry('../up', 'k'), /bad entry name '\.\.\/up\/k'/);
    assert.throws(() => readCacheEntry('t', 'a/b'), /bad entry name/);
  });
});
