import { beforeEach, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { trace } from '../../src/core/graph.js';
import * as F from '../../src/core/ops/index.js';
import { Variable } from '../../src/core/variable.js';
import { setCacheEnabled } from '../../src/io/cache.js';
import { emitModel } from '../../src/onnx/emit.js';
import { createCachedSession, modelCacheKey } from '../../src/runtime/model-cache.js';
import { float32, sessionOptions } from '../../src/runtime/session.js';
import { useTempCache } from '../helpers/temp-cache.js';

const root = useTempCache('forja-model-cache-');

const dir = join(root, 'onnx-optimized');
const entries = (): string[] => {
  try {
    return readdirSync(dir).sort();
  } catch {
    return [];
  }
};

/** relu(x·W + b) with W, b as initializers (ORT fuses and folds some of it), then ×scale. */
function model(scale: number): Uint8Array {
  const w = new Variable('w', [3, 2], Float32Array.from([1, -2, 0.5, 1, -1, 3]));
  const b = new Variable('b', [2], Float32Array.from([0.25, -0.5]));
  const { g, x, y } = trace((g) => {
    const x = g.input('x', ['batch', 3]);
    return { g, x, y: F.mul(F.relu(F.add(F.matmul(x, g.param(w)), g.param(b))), scale) };
  });
  return emitModel({ graph: g, inputs: [x], outputs: { y }, variables: 'initializers' }).bytes;
}

const X = float32(Float32Array.from([1, 2, 3, -1, 0.5, 2]), [2, 3]);

async function outputOf(bytes: Uint8Array): Promise<{ y: number[]; cache: string }> {
  const { session, cache } = await createCachedSession(bytes, sessionOptions({ spinning: false }));
  try {
    const out = await session.run({ x: X });
    return { y: Array.from(out.y!.data as Float32Array), cache };
  } finally {
    await session.release();
  }
}

describe('runtime/model-cache', () => {
  beforeEach(() => {
    setCacheEnabled(true);
    delete process.env.FORJA_NO_CACHE;
  });

  test('a miss stores the optimized model, the next session of the same graph is a hit with the same outputs', async () => {
    const bytes = model(2);
    const first = await outputOf(bytes);
    assert.equal(first.cache, 'miss');
    const key = modelCacheKey(bytes, sessionOptions({ spinning: false }));
    assert.deepEqual(entries(), [`${key}.bin`]);
    const second = await outputOf(bytes);
    assert.equal(second.cache, 'hit');
    assert.deepEqual(second.y, first.y);
    // relu(xW + b)·2 by hand for the first row: x = [1, 2, 3].
    assert.deepEqual(first.y.slice(0, 2), [2 * Math.max(0, 1 + 1 - 3 + 0.25), 2 * Math.max(0, -2 + 2 + 9 - 0.5)]);
  });

  test('a changed graph or changed session options miss', async () => {
    const before = entries().length;
    assert.equal((await outputOf(model(3))).cache, 'miss');
    const bytes = model(2);
    assert.notEqual(modelCacheKey(bytes, sessionOptions({ spinning: true })), modelCacheKey(bytes, sessionOptions({ spinning: false })));
    const { session, cache } = await createCachedSession(bytes, sessionOptions({ spinning: true }));
    await session.release();
    assert.equal(cache, 'miss');
    assert.equal(entries().length, before + 2);
  });

  test('a corrupt entry is ignored and rebuilt', async () => {
    const bytes = model(4);
    const expected = (await outputOf(bytes)).y;
    const file = join(dir, `${modelCacheKey(bytes, sessionOptions({ spinning: false }))}.bin`);
    writeFileSync(file, 'garbage');
    const rebuilt = await outputOf(bytes);
    assert.equal(rebuilt.cache, 'rebuilt');
    assert.deepEqual(rebuilt.y, expected);
    assert.equal((await outputOf(bytes)).cache, 'hit');
  });

  test('FORJA_NO_CACHE (or the cache turned off) makes plain sessions and writes nothing', async () => {
    const bytes = model(5);
    const before = entries();
    process.env.FORJA_NO_CACHE = '1';
    assert.equal((await outputOf(bytes)).cache, 'off');
    delete process.env.FORJA_NO_CACHE;
    setCacheEnabled(false);
    assert.equal((await outputOf(bytes)).cache, 'off');
    assert.deepEqual(entries(), before);
  });
});
