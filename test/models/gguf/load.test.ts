/**
 * llama-tiny through GGUF: the converter's file (test/helpers/gguf-writer.ts: metadata, embedded
 * tokenizer, Q/K permuted as llama.cpp does) loads through CausalLM.load and reproduces the HF goldens.
 * F32 files must match the golden logits to the fixtures' float32 tolerance (1e-4: the same
 * float32 weights as the BF16 checkpoint upcast, only renamed and row-permuted, so nothing but
 * summation order differs). Q8_0 quantizes the maps whose rows are whole blocks of 32 (llama-tiny's
 * hidden size 48 is not: llama.cpp keeps such tensors in float too), i.e. every ffn_down (K = 96).
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { CausalLM } from '../../../src/models/causal-lm.js';
import { GgufModel } from '../../../src/models/gguf/model.js';
import { pipeline } from '../../../src/apps/pipeline.js';
import { assertClose, fullForward, greedy, maxAbsDiff, readGolden, rowOf, type Golden } from '../../helpers/causal-lm.js';
import { fixturePath } from '../../helpers/fixtures.js';
import { checkpointToGguf, TYPE } from '../../helpers/gguf-writer.js';

const FIXTURE = fixturePath('llama-tiny');

describe('GGUF llama-tiny', () => {
  const dir = mkdtempSync(join(tmpdir(), 'forja-gguf-'));
  let golden: Golden;
  let tensors: Map<string, { shape: number[]; data: Float32Array }>;
  before(async () => {
    ({ golden, tensors } = await readGolden('llama-tiny'));
    await checkpointToGguf(FIXTURE, join(dir, 'f32.gguf'));
    await checkpointToGguf(FIXTURE, join(dir, 'q8.gguf'), { typeOf: (_name, dims) => (dims[0]! % 32 === 0 ? TYPE.Q8_0 : TYPE.F32) });
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  test('an F32 file gives the golden logits within 1e-4 and the golden greedy ids', async () => {
    const lm = await CausalLM.load(join(dir, 'f32.gguf'));
    try {
      for (const s of golden.single) {
        const { logits } = await fullForward(lm, s.input_ids);
        const actual = s.positions === 'all' ? logits : rowOf(logits, s.input_ids.length - 1, lm.vocabSize);
        assertClose(actual, tensors.get(s.logits)!.data, 1e-4, s.logits);
      }
      for (const g of golden.greedy) {
        const [out] = await greedy(lm, [g.input_ids], [g.input_ids.map(() => 1)], g.output_ids.length - g.input_ids.length);
        assert.deepEqual(out, g.output_ids);
      }
    } finally {
      await lm.release();
    }
  });

  test('a file whose Q/K rows were not permuted gives other logits (the un-permute is what matches)', async () => {
    await checkpointToGguf(FIXTURE, join(dir, 'unpermuted.gguf'), { skipPermute: true });
    const lm = await CausalLM.load(join(dir, 'unpermuted.gguf'));
    try {
      const { logits } = await fullForward(lm, golden.single[0]!.input_ids);
      const d = maxAbsDiff(logits, tensors.get('logits_0')!.data);
      assert.ok(d > 1e-2, `unpermuted Q/K rows change the logits (max diff ${d})`);
    } finally {
      await lm.release();
    }
  });

  test('a Q8_0 file keeps ffn_down on MatMulNBits and gives the golden greedy ids', async () => {
    const lm = await CausalLM.load(join(dir, 'q8.gguf'));
    try {
      const model = lm.model as GgufModel;
      assert.ok(model instanceof GgufModel);
      assert.deepEqual([...model.linears.keys()].sort(), ['model.layers.0.mlp.down_proj', 'model.layers.1.mlp.down_proj']);
      assert.equal(model.tensorTypes.get('blk.0.ffn_down.weight')?.loadedAs, 'MatMulNBits 8-bit, block 32');
      assert.equal(model.tensorTypes.get('blk.0.attn_q.weight')?.loadedAs, 'float32');
      let worst = 0;
      for (const s of golden.single) {
        const { logits } = await fullForward(lm, s.input_ids);
        const actual = s.positions === 'all' ? logits : rowOf(logits, s.input_ids.length - 1, lm.vocabSize);
        const want = tensors.get(s.logits)!.data;
        for (let i = 0; i < want.length; i++) worst = Math.max(worst, Math.abs(actual[i]! - want[i]!));
      }
      assert.ok(worst > 0 && worst < 0.05, `Q8_0 logits stay near the float ones (max diff ${worst})`);
      for (const g of golden.greedy) {
        const [out] = await greedy(lm, [g.input_ids], [g.input_ids.map(() => 1)], g.output_ids.length - g.input_ids.length);
        assert.deepEqual(out, g.output_ids);
      }
    } finally {
      await lm.release();
    }
  });

  test('the text-generation pipeline reads the embedded tokenizer and generation config', async () => {
    const gen = await pipeline('text-generation', join(dir, 'f32.gguf'));
    try {
      const g = golden.greedy[0]!;
      const prompt = (JSON.parse((await import('node:fs')).readFileSync(join(FIXTURE, 'golden.json'), 'utf8')) as { prompts: string[] }).prompts[0]!;
      assert.deepEqual(gen.tokenizer.encode(prompt), g.input_ids);
      const [out] = (await gen(prompt, { max_new_tokens: g.output_ids.length - g.input_ids.length, do_sample: false })) as { generated_text: string }[];
      assert.equal(out!.generated_text, prompt + gen.tokenizer.decode(g.output_ids.slice(g.input_ids.length)));
      assert.equal(gen.tokenizer.eosTokenId, 50256);
    } finally {
      await gen.dispose?.();
    }
  });
});
