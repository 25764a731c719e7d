/**
 * The GPT-2 graph builder is also the training path: gradients through it
 * (weights as graph inputs, no cache, no mask) match PyTorch's for one step.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, test } from 'node:test';
import { grad } from '../../src/autodiff/grad.js';
import { trace } from '../../src/core/graph.js';
import * as F from '../../src/core/ops/index.js';
import { loadHfCheckpoint } from '../../src/io/hf-checkpoint.js';
import { loadF32 } from '../../src/io/safetensors.js';
import { Rng } from '../../src/core/rng.js';
import { Gpt2, parseGpt2Config } from '../../src/models/gpt2/model.js';
import { CompiledGraph, int64 } from '../../src/runtime/session.js';
import { fixturePath } from '../helpers/fixtures.js';
import { assertClose } from '../helpers/causal-lm.js';

interface TrainStep {
  input_ids: number[];
  loss: number;
  params: string[];
  wte_rows: number[];
}

describe('GPT-2 training path', () => {
  test('loss and gradients match the PyTorch train-step golden', async () => {
    const step = JSON.parse(readFileSync(fixturePath('gpt2-tiny-trainstep', 'golden.json'), 'utf8')) as TrainStep;
    const golden = await loadF32(fixturePath('gpt2-tiny-trainstep', 'golden.safetensors'));
    const ckpt = await loadHfCheckpoint(fixturePath('gpt2-tiny'));
    const model = Gpt2.fromCheckpoint(ckpt.config, ckpt.weights);
    const T = step.input_ids.length;
    const V = model.dims.vocabSize;
    // Next-token targets as a one-hot [T-1, V] constant: position t predicts ids[t+1].
    const targets = new Float32Array((T - 1) * V);
    step.input_ids.slice(1).forEach((id, t) => (targets[t * V + id] = 1));

    const names = [...step.params, 'transformer.wte.weight'];
    const { graph, ids, loss, grads } = trace((g) => {
      const ids = g.input('input_ids', [1, T], 'int64');
      const { logits } = model.forward({ inputIds: ids });
      const predicted = F.slice(F.reshape(logits, [T, V]), [0], [T - 1], [0]);
      const nll = F.neg(F.sum(F.mul(F.logSoftmax(predicted), g.constant(targets, [T - 1, V], 'float32')), [1]));
      const loss = F.mean(nll);
      const params = names.map((n) => g.param(model.weights.get(n)!));
      return { graph: g, ids, loss, grads: grad(loss, params) };
    });
    const outputs = Object.fromEntries([['loss', loss], ...names.map((n, i) => [`grad.${n}`, grads[i]!])]);
    const cg = await CompiledGraph.compile({ graph, inputs: [ids], outputs, variables: 'inputs' });
    try {
      const out = await cg.run({ input_ids: int64(step.input_ids, [1, T]) });
      assert.ok(Math.abs((out.loss!.data as Float32Array)[0]! - step.loss) < 1e-4, `loss ${(out.loss!.data as Float32Array)[0]} vs ${step.loss}`);
      for (const name of step.params) {
        const expected = golden.get(`grad.${name}`)!.data;
        const scale = Math.max(...expected.map(Math.abs));
        assertClose(out[`grad.${name}`]!.data as Float32Array, expected, 1e-5 * scale + 1e-7, `grad ${name}`);
      }
      // The tied embedding gets gradient from both the lookup and the LM head.
      const wteGrad = out['grad.transformer.wte.weight']!.data as Float32Array;
      const rows = golden.get('grad.transformer.wte.weight.rows')!.data;
      const d = model.dims.hidden;
      step.wte_rows.forEach((row, i) => assertClose(wteGrad.subarray(row * d, (row + 1) * d), rows.subarray(i * d, (i + 1) * d), 1e-5, `wte row ${row}`));
    } finally {
      await cg.release();
    }
  });
});

describe('Gpt2.init', () => {
  test("initialises as HF's GPT2PreTrainedModel: N(0, 0.02), residual projections / √(2·n_layer), unit LayerNorm gains, zero biases", () => {
    const config = parseGpt2Config({ vocab_size: 1000, n_positions: 64, n_embd: 64, n_layer: 4, n_head: 4, initializer_range: 0.02 });
    const model = Gpt2.init(config, new Rng(3));
    const std = (name: string) => {
      const v = model.weights.get(name)!.value;
      const mean = v.reduce((a, b) => a + b, 0) / v.length;
      return Math.sqrt(v.reduce((a, b) => a + (b - mean) ** 2, 0) / v.length);
    };
    assert.ok(Math.abs(std('transformer.wte.weight') - 0.02) < 0.001);
    assert.ok(Math.abs(std('transformer.h.0.attn.c_attn.weight') - 0.02) < 0.001);
    assert.ok(Math.abs(std('transformer.h.3.mlp.c_proj.weight') - 0.02 / Math.sqrt(8)) < 0.0005);
    assert.ok(model.weights.get('transformer.h.2.ln_1.weight')!.value.every((x) => x === 1));
    assert.ok(model.weights.get('transformer.h.2.mlp.c_fc.bias')!.value.every((x) => x === 0));
    assert.equal(model.weights.size, 2 + 4 * 12 + 2);
  });
});
