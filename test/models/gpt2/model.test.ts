import assert from 'node:assert/strict';
import { copyFileSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { before, describe, test } from 'node:test';
import { loadHfCheckpoint, type HfCheckpoint } from '../../../src/io/hf-checkpoint.js';
import { writeSafetensors } from '../../../src/io/safetensors.js';
import { CausalLM } from '../../../src/models/causal-lm.js';
import { loadCausalLmModel } from '../../../src/models/registry.js';
import { fixturePath } from '../../helpers/fixtures.js';
import { assertClose, big, parityTests, positionsFromMask, rowOf } from '../../helpers/causal-lm.js';

const DIR = fixturePath('gpt2-tiny');
const VOCAB = 50257;

describe('GPT-2 (gpt2-tiny fixture)', () => {
  const fx = parityTests('gpt2-tiny');
  let ckpt: HfCheckpoint;
  before(async () => {
    ckpt = await loadHfCheckpoint(DIR);
  });

  test('selectCache reorders and duplicates rows (beam search)', async () => {
    const { input_ids, attention_mask } = fx.golden.batch;
    const [mask0, mask1] = attention_mask as [number[], number[]];
    const res = await fx.lm.forward({ ids: big(input_ids.flat()), batch: 2, attentionMask: big(attention_mask.flat()), positionIds: big(attention_mask.flatMap(positionsFromMask)) });
    // Rows [1, 0, 1] take tokens [11, 13, 11]; row 0 has 10 real tokens, row 1 has 18.
    const beams = await fx.lm.forward({
      ids: big([11, 13, 11]),
      batch: 3,
      attentionMask: big([...mask1, 1, ...mask0, 1, ...mask1, 1]),
      positionIds: big([18, 10, 18]),
      cache: fx.lm.selectCache(res.cache, [1, 0, 1]),
    });
    const direct = await fx.lm.forward({ ids: big([13, 11]), batch: 2, attentionMask: big([...mask0, 1, ...mask1, 1]), positionIds: big([10, 18]), cache: res.cache });
    assertClose(rowOf(beams.logits, 0, VOCAB), rowOf(direct.logits, 1, VOCAB), 1e-5, 'row 1 moved to 0');
    assertClose(rowOf(beams.logits, 1, VOCAB), rowOf(direct.logits, 0, VOCAB), 1e-5, 'row 0 moved to 1');
    assertClose(rowOf(beams.logits, 2, VOCAB), rowOf(direct.logits, 1, VOCAB), 1e-5, 'row 1 duplicated');
  });

  test("loads the hub's unprefixed tensor names", async () => {
    const dir = mkdtempSync(join(tmpdir(), 'forja-gpt2-'));
    try {
      const renamed = new Map([...ckpt.weights].map(([k, t]) => [k.replace(/^transformer\./, ''), t]));
      assert.ok(renamed.has('wte.weight') && renamed.has('h.0.attn.c_attn.weight'));
      // The hub's files also carry the causal-mask buffer, which is ignored.
      renamed.set('h.0.attn.bias', { shape: [1, 1, 4, 4], data: new Float32Array(16) });
      await writeSafetensors(join(dir, 'model.safetensors'), renamed);
      copyFileSync(join(DIR, 'config.json'), join(dir, 'config.json'));
      const plain = await CausalLM.load(dir);
      try {
        const ids = fx.golden.single[2]!.input_ids;
        const res = await plain.forward({ ids: big(ids), batch: 1, attentionMask: big(ids.map(() => 1)), positionIds: big(ids.map((_, i) => i)) });
        assertClose(res.logits, fx.tensors.get('logits_2')!.data, 1e-4, 'unprefixed checkpoint');
      } finally {
        await plain.release();
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test('a missing, mis-shaped or leftover tensor and an unknown architecture are clear errors', () => {
    const without = new Map(ckpt.weights);
    without.delete('transformer.h.1.mlp.c_fc.bias');
    assert.throws(() => loadCausalLmModel(ckpt.config, without), /GPT2LMHeadModel: checkpoint has no tensor 'transformer\.h\.1\.mlp\.c_fc\.bias' \(expected shape \[192\]\)/);

    const misShaped = new Map(ckpt.weights);
    misShaped.set('transformer.h.0.attn.c_attn.weight', { shape: [144, 48], data: ckpt.weights.get('transformer.h.0.attn.c_attn.weight')!.data });
    assert.throws(() => loadCausalLmModel(ckpt.config, misShaped), /tensor 'transformer\.h\.0\.attn\.c_attn\.weight' has shape \[144, 48\] in the checkpoint, expected \[48, 144\]/);

    const extra = new Map(ckpt.weights);
    extra.set('transformer.h.2.ln_1.weight', { shape: [48], data: new Float32Array(48) });
    assert.throws(() => loadCausalLmModel(ckpt.config, extra), /unexpected tensor in the checkpoint: 'transformer\.h\.2\.ln_1\.weight' \[48\]/);

    const config = { ...ckpt.config, architectures: ['FalconForCausalLM'] };
    assert.throws(
      () => loadCausalLmModel(config, ckpt.weights, 'my/config.json'),
      /my\/config\.json: architecture "FalconForCausalLM" is not supported \(supported: GPT2LMHeadModel, LlamaForCausalLM, Qwen2ForCausalLM, MistralForCausalLM\)/,
    );
  });

  test('a sequence longer than n_positions is refused before running', async () => {
    const n = fx.lm.maxPositions + 1;
    await assert.rejects(
      fx.lm.forward({ ids: big(Array(n).fill(1)), batch: 1, attentionMask: big(Array(n).fill(1)), positionIds: big(Array.from({ length: n }, (_, i) => i)) }),
      /GPT2LMHeadModel\.forward: 129 positions exceed the model's maximum of 128/,
    );
  });
});
