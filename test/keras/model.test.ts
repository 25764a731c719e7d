import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { HostTensor, input, layers, model, sequential } from '../../src/index.js';

describe('functional models', () => {
  test('wire layers from symbolic inputs to outputs, shapes traced from call', () => {
    const inp = input({ shape: [8] });
    const h = layers.dense({ units: 4 }).apply(inp);
    const out = layers.dense({ units: 2 }).apply(h);
    const m = model({ inputs: inp, outputs: out });
    assert.deepEqual(h.shape, ['batch', 4]);
    assert.deepEqual(out.shape, ['batch', 2]);
    assert.deepEqual(m.layers.map((l) => l.className), ['InputLayer', 'Dense', 'Dense']);
    assert.equal(m.countParams(), 8 * 4 + 4 + 4 * 2 + 2);
  });

  test('a shared layer reuses its weights', async () => {
    const inp = input({ shape: [2] });
    const shared = layers.dense({ units: 2, useBias: false });
    const m = model({ inputs: inp, outputs: shared.apply(shared.apply(inp)) });
    shared.setWeights([Float32Array.from([2, 0, 0, 3])]);
    assert.equal(m.countParams(), 4);
    assert.deepEqual((await m.predict(Float32Array.from([1, 1]))).toArray(), [4, 9]);
  });

  test('multiple inputs and outputs', async () => {
    const a = input({ shape: [2] });
    const b = input({ shape: [2] });
    const da = layers.dense({ units: 1, useBias: false, kernelInitializer: 'ones' });
    const db = layers.dense({ units: 1, useBias: false, kernelInitializer: 'ones' });
    const m = model({ inputs: [a, b], outputs: [da.apply(a), db.apply(b)] });
    const [ya, yb] = await m.predictOutputs([Float32Array.from([1, 2, 3, 4]), Float32Array.from([10, 20, 30, 40])]);
    assert.deepEqual(ya!.toArray(), [3, 7]);
    assert.deepEqual(yb!.toArray(), [30, 70]);
  });

  test('models nest: a model applied inside another', async () => {
    const inner = sequential([layers.dense({ units: 3, inputShape: [2], kernelInitializer: 'ones' })]);
    const inp = input({ shape: [2] });
    const outer = model({ inputs: inp, outputs: layers.dense({ units: 1, kernelInitializer: 'ones' }).apply(inner.apply(inp)) });
    assert.equal(outer.countParams(), 9 + 4);
    assert.deepEqual((await outer.predict(Float32Array.from([1, 2]))).toArray(), [9]);
  });

  test('outputs that depend on an input the model was not given are an error', () => {
    const a = input({ shape: [2] });
    const b = input({ shape: [2], name: 'stray_input' });
    const d = layers.dense({ units: 2 });
    d.apply(a);
    const out = d.apply(b);
    assert.throws(() => model({ inputs: a, outputs: out }), /depend on input 'stray_input', which is not among the model's inputs/);
  });

  test('two layers with one name are an error', () => {
    const inp = input({ shape: [2] });
    const out = layers.dense({ units: 1, name: 'twin' }).apply(layers.dense({ units: 2, name: 'twin' }).apply(inp));
    assert.throws(() => model({ inputs: inp, outputs: out }), /two layers are named 'twin'/);
  });

  test('predict checks the data against the input shape', async () => {
    const inp = input({ shape: [3] });
    const m = model({ inputs: inp, outputs: layers.dense({ units: 1 }).apply(inp), name: 'shape_check' });
    await assert.rejects(m.predict(Float32Array.from([1, 2, 3, 4])), /Functional 'shape_check'\.predict: input 0: 4 values do not divide into examples of shape \[3\]/);
    await assert.rejects(m.predict(new HostTensor(new Float32Array(8), [2, 4])), /expected examples of shape \[3\], received HostTensor\(float32\[2, 4\]\)/);
  });

  test('predict runs in chunks of batchSize and keeps row order', async () => {
    const inp = input({ shape: [1] });
    const m = model({ inputs: inp, outputs: layers.dense({ units: 1, kernelInitializer: 'ones', biasInitializer: 'ones' }).apply(inp) });
    const x = Float32Array.from({ length: 70 }, (_, i) => i);
    const y = await m.predict(x, { batchSize: 32 });
    assert.deepEqual(y.shape, [70, 1]);
    assert.deepEqual(y.toArray(), Array.from({ length: 70 }, (_, i) => i + 1));
  });
});
