import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Graph, type Tensor } from '../../../src/core/graph.js';
import { CausalLM } from '../../../src/models/causal-lm.js';
import { loadCausalLm } from '../../../src/models/quantize/load.js';
import type { ModuleOverrides } from '../../../src/models/transformer/layers.js';
import { OverriddenModel } from '../../../src/models/transformer/overridden-model.js';
import { big, maxAbsDiff } from '../../helpers/causal-lm.js';
import { fixturePath } from '../../helpers/fixtures.js';

/** Supplies no module of its own; exposes the per-graph constants. */
class Plain extends OverriddenModel {
  overrides(): ModuleOverrides {
    return { linear: () => undefined, embedding: () => undefined };
  }
  constantIn(graph: Graph, name: string): Tensor {
    return this.constant(graph, name, Float32Array.of(1, 2), [2]);
  }
}

async function logitsOf(lm: CausalLM, ids: number[]): Promise<Float32Array> {
  try {
    return (await lm.forward({ ids: big(ids), batch: 1, attentionMask: big(ids.map(() => 1)), positionIds: big(ids.map((_, i) => i)), allLogits: true })).logits;
  } finally {
    await lm.release();
  }
}

test('a model that overrides nothing is its base: same architecture, dims, weights and logits', async () => {
  const { model: base } = await loadCausalLm(fixturePath('gpt2-tiny'));
  const plain = new Plain(base);
  assert.equal(plain.architecture, base.architecture);
  assert.deepEqual(plain.dims, base.dims);
  assert.equal(plain.weights, base.weights);
  const ids = [1, 5, 9, 2];
  const d = maxAbsDiff(await logitsOf(await CausalLM.fromModel(plain), ids), await logitsOf(await CausalLM.fromModel(base), ids));
  assert.equal(d, 0);
});

test('constants are one tensor per graph and name', async () => {
  const { model: base } = await loadCausalLm(fixturePath('gpt2-tiny'));
  const plain = new Plain(base);
  const a = new Graph();
  const b = new Graph();
  assert.equal(plain.constantIn(a, 'x'), plain.constantIn(a, 'x'));
  assert.notEqual(plain.constantIn(a, 'x'), plain.constantIn(a, 'y'));
  assert.notEqual(plain.constantIn(a, 'x'), plain.constantIn(b, 'x'));
  assert.equal(plain.constantIn(a, 'x').name, 'x');
});
