import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Variable } from '../../src/core/variable.js';
import { layers, sequential } from '../../src/index.js';
import { assignTensors, loadWeights, saveWeights, weightPaths } from '../../src/nn/weights.js';

const build = () =>
  sequential([layers.dense({ units: 2, inputShape: [3], name: 'w_hidden' }), layers.dense({ units: 1, name: 'w_out', useBias: false })], { name: 'w_model' });

test('weightPaths keys a model by <layer>/<weight>, nested models adding their name', () => {
  const inner = build();
  assert.deepEqual([...weightPaths(inner).keys()], ['w_hidden/kernel', 'w_hidden/bias', 'w_out/kernel']);
  const outer = sequential([inner, layers.dense({ units: 4, name: 'w_head' })], { name: 'w_outer' });
  assert.deepEqual([...weightPaths(outer).keys()], ['w_model/w_hidden/kernel', 'w_model/w_hidden/bias', 'w_model/w_out/kernel', 'w_head/kernel', 'w_head/bias']);
});

test('saveWeights then loadWeights restores every value; a bad file changes nothing', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'forja-weights-'));
  try {
    const a = build();
    const b = build();
    const path = join(dir, 'model.safetensors');
    await saveWeights(a, path);
    await loadWeights(b, path);
    for (const [key, v] of weightPaths(a)) assert.deepEqual([...weightPaths(b).get(key)!.value], [...v.value], key);

    const c = sequential([layers.dense({ units: 2, inputShape: [4], name: 'w_hidden' }), layers.dense({ units: 1, name: 'w_out', useBias: false })], { name: 'w_model' });
    const before = [...weightPaths(c).values()].map((v) => [...v.value]);
    await assert.rejects(loadWeights(c, path), /loadWeights: tensor 'w_hidden\/kernel' has shape \[3, 2\] in .*model\.safetensors but the model expects \[4, 2\]/);
    assert.deepEqual([...weightPaths(c).values()].map((v) => [...v.value]), before);

    await writeFile(join(dir, 'junk.safetensors'), 'not safetensors');
    await assert.rejects(loadWeights(b, join(dir, 'junk.safetensors')), /loadWeights: cannot read weights .*junk\.safetensors: /);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('assignTensors checks names, shapes, dtype and leftovers before assigning anything', () => {
  const v = new Variable('a', [2], Float32Array.of(1, 2));
  const u = new Variable('b', [1], Float32Array.of(3));
  const vars = new Map<string, Variable>([['x/a', v], ['x/b', u]]);
  type T = { shape: number[]; data: unknown; dtype?: string };
  const ok = { shape: [2], data: Float32Array.of(5, 6) };
  assert.throws(() => assignTensors(vars, new Map<string, T>([['x/a', ok]]), 'load', 'f.st'), /load: f\.st has no tensor 'x\/b' \(the model needs shape \[1\]\)/);
  assert.throws(() => assignTensors(vars, new Map<string, T>([['x/a', ok], ['x/b', { shape: [1], data: Float64Array.of(1), dtype: 'F64' }]]), 'load', 'f.st'), /load: tensor 'x\/b' in f\.st is F64, expected F32/);
  assert.throws(
    () => assignTensors(vars, new Map<string, T>([['x/a', ok], ['x/b', { shape: [1], data: Float32Array.of(7) }], ['x/c', ok]]), 'load', 'f.st'),
    /load: f\.st has tensors the model does not have: x\/c/,
  );
  assert.deepEqual([...v.value, ...u.value], [1, 2, 3]);
  assignTensors(vars, new Map<string, T>([['x/a', ok], ['x/b', { shape: [1], data: Float32Array.of(7) }]]), 'load', 'f.st');
  assert.deepEqual([...v.value, ...u.value], [5, 6, 7]);
});
