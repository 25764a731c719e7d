/** The export loads in transformers.js and generates the golden greedy tokens, as Forja does. */
import assert from 'node:assert/strict';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { AutoModelForCausalLM, env, pipeline, Tensor } from '@huggingface/transformers';
import { CausalLM } from '../../src/models/causal-lm.js';
import { exportOnnx } from '../../src/models/export-onnx.js';
import { fixturePath } from '../helpers/fixtures.js';
import { greedy, readGolden } from '../helpers/causal-lm.js';

env.allowRemoteModels = false;
env.allowLocalModels = true;

const tmp = mkdtempSync(join(tmpdir(), 'forja-export-'));
after(() => rmSync(tmp, { recursive: true, force: true }));

/** Greedy ids from transformers.js' generate on a one-row prompt. */
async function transformersJsGreedy(dir: string, prompt: number[], newTokens: number): Promise<number[]> {
  const model = await AutoModelForCausalLM.from_pretrained(dir, { dtype: 'fp32', local_files_only: true });
  try {
    const ids = new Tensor('int64', BigInt64Array.from(prompt, BigInt), [1, prompt.length]);
    const mask = new Tensor('int64', BigInt64Array.from(prompt, () => 1n), [1, prompt.length]);
    const out = await model.generate({ input_ids: ids, attention_mask: mask, max_new_tokens: newTokens, do_sample: false });
    return Array.from((out as Tensor).data as BigInt64Array, Number);
  } finally {
    await model.dispose();
  }
}

for (const name of ['gpt2-tiny', 'llama-tiny']) {
  describe(`exportOnnx (${name})`, () => {
    test('writes the transformers.js layout; transformers.js and Forja both generate the golden greedy ids', async () => {
      const out = join(tmp, name);
      const result = await exportOnnx(fixturePath(name), out);
      for (const file of ['onnx/model.onnx', 'config.json', 'generation_config.json', 'tokenizer.json', 'tokenizer_config.json']) {
        assert.ok(existsSync(join(out, file)), `${file} is written`);
        assert.ok(result.files.includes(file));
      }
      const config = JSON.parse(readFileSync(join(out, 'config.json'), 'utf8')) as Record<string, unknown>;
      assert.deepEqual(config['transformers.js_config'], { dtype: 'fp32' });

      const { golden } = await readGolden(name);
      const g = golden.greedy[0]!;
      const newTokens = g.output_ids.length - g.input_ids.length;
      assert.deepEqual(await transformersJsGreedy(out, g.input_ids, newTokens), g.output_ids);

      const lm = await CausalLM.load(fixturePath(name));
      try {
        assert.deepEqual((await greedy(lm, [g.input_ids], [g.input_ids.map(() => 1)], newTokens))[0], g.output_ids);
      } finally {
        await lm.release();
      }
    });
  });
}

describe('exportOnnx through the text-generation pipeline', () => {
  test('tokenizer and model load from the export; the text is the golden greedy text', async () => {
    const out = join(tmp, 'pipeline-gpt2');
    await exportOnnx(fixturePath('gpt2-tiny'), out);
    const golden = JSON.parse(readFileSync(fixturePath('gpt2-tiny', 'golden.json'), 'utf8')) as { prompts: string[]; greedy: { text: string; output_ids: number[]; input_ids: number[] }[] };
    const generator = await pipeline('text-generation', out, { dtype: 'fp32', local_files_only: true });
    try {
      const g = golden.greedy[0]!;
      const [result] = (await generator(golden.prompts[0]!, { max_new_tokens: g.output_ids.length - g.input_ids.length, do_sample: false })) as { generated_text: string }[];
      assert.equal(result!.generated_text, golden.prompts[0]! + g.text);
    } finally {
      await generator.dispose();
    }
  });
});

describe('exportOnnx without generation_config.json or tokenizer files', () => {
  test('derives generation_config.json from config.json (bos/eos/pad when set) and copies only what exists', async () => {
    const src = join(tmp, 'bare-gpt2');
    mkdirSync(src);
    for (const file of ['config.json', 'model.safetensors']) copyFileSync(fixturePath('gpt2-tiny', file), join(src, file));
    const out = join(tmp, 'bare-gpt2-export');
    const result = await exportOnnx(src, out);
    assert.deepEqual(result.files, ['onnx/model.onnx', 'config.json', 'generation_config.json']);
    assert.equal(result.modelBytes, statSync(join(out, 'onnx/model.onnx')).size);
    // gpt2-tiny's config.json has bos and eos 50256 and pad_token_id null, which is left out.
    assert.deepEqual(JSON.parse(readFileSync(join(out, 'generation_config.json'), 'utf8')), { bos_token_id: 50256, eos_token_id: 50256 });
  });
});

describe('exportOnnx --quantize (q4, q8)', () => {
  /** Greedy ids from transformers.js with `dtype`, which picks the file. */
  async function transformersJsGreedyAs(dir: string, dtype: 'q4' | 'q8', prompt: number[], newTokens: number): Promise<number[]> {
    const model = await AutoModelForCausalLM.from_pretrained(dir, { dtype, local_files_only: true });
    try {
      const ids = new Tensor('int64', BigInt64Array.from(prompt, BigInt), [1, prompt.length]);
      const mask = new Tensor('int64', BigInt64Array.from(prompt, () => 1n), [1, prompt.length]);
      const out = await model.generate({ input_ids: ids, attention_mask: mask, max_new_tokens: newTokens, do_sample: false });
      return Array.from((out as Tensor).data as BigInt64Array, Number);
    } finally {
      await model.dispose();
    }
  }

  for (const name of ['gpt2-tiny', 'llama-tiny']) {
    for (const [dtype, file, loadIn] of [['q4', 'onnx/model_q4.onnx', '4bit'], ['q8', 'onnx/model_quantized.onnx', '8bit']] as const) {
      test(`${name} ${dtype}: ${file} loads in transformers.js and gives the greedy ids of Forja's quantized model`, async () => {
        const out = join(tmp, `${name}-${dtype}`);
        const result = await exportOnnx(fixturePath(name), out, { quantize: dtype });
        assert.equal(result.modelFile, file);
        assert.ok(result.files.includes(file) && !existsSync(join(out, 'onnx/model.onnx')));
        const config = JSON.parse(readFileSync(join(out, 'config.json'), 'utf8')) as Record<string, unknown>;
        assert.deepEqual(config['transformers.js_config'], { dtype });
        assert.equal(config.quantization_config, undefined);
        // These tiny models are mostly their float16 embedding table (50257 × 48), so the file shrinks by less than the maps do.
        const floatBytes = (await exportOnnx(fixturePath(name), join(tmp, `${name}-${dtype}-fp32`))).modelBytes;
        assert.ok(result.modelBytes < 0.85 * floatBytes, `${result.modelBytes} bytes against ${floatBytes} in float32`);

        const { golden } = await readGolden(name);
        const g = golden.greedy[0]!;
        const newTokens = g.output_ids.length - g.input_ids.length;
        const lm = await CausalLM.load(fixturePath(name), { loadIn });
        try {
          const forja = (await greedy(lm, [g.input_ids], [g.input_ids.map(() => 1)], newTokens))[0];
          assert.deepEqual(await transformersJsGreedyAs(out, dtype, g.input_ids, newTokens), forja);
        } finally {
          await lm.release();
        }
      });
    }
  }

  test('a quantized checkpoint exports as its bits say, and refuses other bits', async () => {
    const { quantizeCheckpoint } = await import('../../src/models/quantize/index.js');
    const q8 = join(tmp, 'gpt2-q8-ckpt');
    await quantizeCheckpoint(fixturePath('gpt2-tiny'), q8, { bits: 8, group_size: 16 });
    assert.equal((await exportOnnx(q8, join(tmp, 'gpt2-q8-ckpt-export'))).modelFile, 'onnx/model_quantized.onnx');
    await assert.rejects(exportOnnx(q8, join(tmp, 'gpt2-q8-as-q4'), { quantize: 'q4' }), /already quantized to 8 bits/);
  });
});
