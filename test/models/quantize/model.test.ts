/**
 * Quantized gpt2-tiny and llama-tiny: the graph computes x @ dequant(W) (the
 * float model over dequantized weights gives the same logits), greedy ids
 * mostly follow fp32's, and a quantized model holds no float32 copy of a
 * quantized weight.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { Variable } from '../../../src/core/variable.js';
import { CausalLM } from '../../../src/models/causal-lm.js';
import { dequantizeRows, GroupSizeError, loadCausalLm, QuantizedModel, quantizeModel, QuantizeSettingError } from '../../../src/models/quantize/index.js';
import type { CausalLmModel } from '../../../src/models/transformer/types.js';
import { transpose2d } from '../../../src/models/transformer/weights.js';
import { fixturePath } from '../../helpers/fixtures.js';
import { argmax, big, greedy, maxAbsDiff, readGolden } from '../../helpers/causal-lm.js';

const FIXTURES = ['gpt2-tiny', 'llama-tiny'] as const;

async function logitsOf(model: CausalLmModel, ids: number[]): Promise<Float32Array> {
  const lm = await CausalLM.fromModel(model);
  try {
    const out = await lm.forward({ ids: big(ids), batch: 1, attentionMask: big(ids.map(() => 1)), positionIds: big(ids.map((_, i) => i)), allLogits: true });
    return out.logits;
  } finally {
    await lm.release();
  }
}

/** The float model with every quantized weight replaced by its dequantization (the head too: untied, so it can differ from the table). */
function dequantizedTwin(float: CausalLmModel, q: QuantizedModel): CausalLmModel {
  const weights = new Map(float.weights);
  for (const m of q.arch.linears) {
    const mat = q.linears.get(m.module);
    if (mat && m.tensor) weights.set(m.tensor, new Variable(m.tensor, [m.k, m.n], transpose2d(dequantizeRows(mat), m.n, m.k)));
  }
  return q.arch.build(weights);
}

/** Of the positions after the prompt, how many the model's argmax predicts as `seq` has it (teacher forcing on fp32's greedy output). */
function top1Agreement(logits: Float32Array, seq: number[], promptLength: number, vocab: number): number {
  let same = 0;
  for (let t = promptLength - 1; t + 1 < seq.length; t++) if (argmax(logits.subarray(t * vocab, (t + 1) * vocab)) === seq[t + 1]) same++;
  return same / (seq.length - promptLength);
}

for (const name of FIXTURES) {
  describe(`quantized ${name}`, () => {
    test('MatMulNBits at fp32 compute gives the logits of the float graph over dequantized weights', async () => {
      const { model: float } = await loadCausalLm(fixturePath(name));
      const { golden } = await readGolden(name);
      const ids = golden.greedy[0]!.output_ids;
      for (const bits of [8, 4]) {
        // The head stays float here: the twin's tied head reads the float table.
        const q = quantizeModel(float, { bits, group_size: 16, lm_head: false, embedding: 'float32' }, { accuracyLevel: 1 });
        const d = maxAbsDiff(await logitsOf(q, ids), await logitsOf(dequantizedTwin(float, q), ids));
        // Same weights, same products: float32 reassociation only.
        assert.ok(d < 2e-4, `${bits} bits: max |Δlogit| ${d}`);
      }
    });

    test('greedy ids: int8 follows fp32, int4 mostly (teacher-forced top-1 agreement on fp32\'s greedy output)', async (t) => {
      const { golden } = await readGolden(name);
      const fp32 = await CausalLM.load(fixturePath(name));
      const prompts = golden.greedy.map((g) => g.input_ids);
      const steps = golden.greedy[0]!.output_ids.length - prompts[0]!.length;
      const reference: number[][] = [];
      for (const p of prompts) reference.push((await greedy(fp32, [p], [p.map(() => 1)], steps))[0]!); // one run at a time per session
      await fp32.release();
      for (const loadIn of ['8bit', '4bit'] as const) {
        const lm = await CausalLM.load(fixturePath(name), { loadIn });
        assert.ok(lm.model instanceof QuantizedModel && lm.model.config.group_size === 16, '128 (the default) does not divide 48, so loadIn takes 16');
        let agree = 0;
        let freeRunning = 0;
        for (const [i, p] of prompts.entries()) {
          const seq = reference[i]!;
          const out = await lm.forward({ ids: big(seq), batch: 1, attentionMask: big(seq.map(() => 1)), positionIds: big(seq.map((_, j) => j)), allLogits: true });
          agree += top1Agreement(out.logits, seq, p.length, lm.vocabSize) / prompts.length;
          const own = (await greedy(lm, [p], [p.map(() => 1)], steps))[0]!;
          freeRunning += own.slice(p.length).findIndex((tok, j) => tok !== seq[p.length + j]) === -1 ? 1 : 0;
        }
        await lm.release();
        t.diagnostic(`${name} ${loadIn}: top-1 agreement ${(100 * agree).toFixed(1)}%, ${freeRunning}/${prompts.length} greedy continuations identical`);
        // Measured 100% / 47% (gpt2-tiny) and 86% / 28% (llama-tiny). These random weights leave fp32's top two logits close
        // (median gap 0.27–0.31, a tenth of them under 0.08) while int4's rounding moves logits by up to ~1.7, so int4 flips many
        // near-ties; broken packing would agree about 1 time in 50,257. The trained model's numbers are in the README (bench:quantize).
        assert.ok(agree >= (loadIn === '8bit' ? 0.8 : 0.2), `${loadIn}: top-1 agreement ${agree}`);
      }
    });

    test('the quantized model holds no float32 weight of a quantized module, and a float16 embedding', async () => {
      const { model: float } = await loadCausalLm(fixturePath(name));
      const q = quantizeModel(float, { bits: 4, group_size: 16 });
      const arch = q.arch;
      for (const m of arch.linears) {
        assert.ok(q.linears.has(m.module), `${m.module} is quantized`);
        if (m.tensor) assert.equal(q.weights.has(m.tensor), false, `${m.tensor} has no float Variable`);
      }
      assert.equal(q.weights.has(arch.embedding.tensor), false);
      assert.equal(q.embeddingTable?.kind, 'float16');
      // What is left: the float Variables (norms, biases, positions), half a byte plus a scale and zero point per 16 weights, 2 bytes per table entry.
      const left = [...q.weights.values()].reduce((n, v) => n + v.value.byteLength, 0);
      const packed = arch.linears.reduce((n, m) => n + (m.n * m.k) / 2 + ((m.n * m.k) / 16) * 4 + m.n * Math.ceil(m.k / 16 / 2), 0);
      assert.equal(q.weightBytes, left + packed + 2 * arch.embedding.vocab * arch.embedding.hidden);
      assert.ok(left < 0.01 * [...float.weights.values()].reduce((n, v) => n + v.value.byteLength, 0), `${left} bytes of float32 left`);
    });
  });
}

describe('quantizeModel refuses', () => {
  test('bits other than 8 and 4, naming bits', async () => {
    const { model } = await loadCausalLm(fixturePath('gpt2-tiny'));
    assert.throws(() => quantizeModel(model, { bits: 3 }), (e: Error) => e instanceof QuantizeSettingError && e.key === 'bits' && /bits must be 4 or 8.*got 3/.test(e.message));
  });

  test('a group size that does not divide a linear map\'s input dimension, naming the module and K', async () => {
    const { model } = await loadCausalLm(fixturePath('llama-tiny'));
    assert.throws(
      () => quantizeModel(model, { bits: 4, group_size: 32 }),
      (e: Error) => e instanceof GroupSizeError && e.module === 'model.layers.0.self_attn.q_proj' && e.k === 48 && /group_size 32 does not divide the input dimension K = 48 of model\.layers\.0\.self_attn\.q_proj \(group sizes that divide it: 16\)/.test(e.message),
    );
  });

  test('a float embedding dropped from a tied model whose head stays float', async () => {
    const { model } = await loadCausalLm(fixturePath('gpt2-tiny'));
    assert.throws(() => quantizeModel(model, { bits: 8, group_size: 16, lm_head: false, embedding: 'float16' }), /needs lm_head quantized in a tied model/);
    const q = quantizeModel(model, { bits: 8, group_size: 16, lm_head: false });
    assert.equal(q.config.embedding, 'float32');
    assert.equal(q.linears.has('lm_head'), false);
  });
});
