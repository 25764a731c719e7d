import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { trace } from '../../../src/core/graph.js';
import { CompiledGraph, float32 } from '../../../src/runtime/session.js';
import { input, layers, model } from '../../../src/index.js';
import { runLayerTest } from '../../helpers/layer-test.js';

describe('Dropout', () => {
  test('passes the layer test', async () => {
    await runLayerTest(() => layers.dropout({ rate: 0.25, seed: 1 }), [6], { outputShape: [6], params: 0 });
  });

  test('is the identity in inference', async () => {
    const inp = input({ shape: [3] });
    const m = model({ inputs: inp, outputs: layers.dropout({ rate: 0.5 }).apply(inp) });
    assert.deepEqual((await m.predict(Float32Array.from([1, 2, 3]))).toArray(), [1, 2, 3]);
  });

  test('in training zeroes about `rate` of the inputs and scales the rest by 1/(1 − rate)', async () => {
    const layer = layers.dropout({ rate: 0.25, seed: 7 });
    const n = 20000;
    const { g, x, y } = trace((g) => {
      const x = g.input('x', [1, n]);
      return { g, x, y: layer.apply(x, { training: true }) };
    });
    const cg = await CompiledGraph.compile({ graph: g, inputs: [x], outputs: { y }, variables: 'inputs' });
    const out = (await cg.run({ x: float32(new Float32Array(n).fill(3), [1, n]) })).y!.data as Float32Array;
    const zeros = out.filter((v) => v === 0).length;
    assert.ok(Math.abs(zeros / n - 0.25) < 0.02, `zero fraction ${zeros / n}`);
    assert.ok(out.every((v) => v === 0 || Math.abs(v - 4) < 1e-6));
  });

  test('rate must be in [0, 1)', () => {
    assert.throws(() => layers.dropout({ rate: 1 }), /rate must be in \[0, 1\)\. Received: rate=1/);
  });
});
