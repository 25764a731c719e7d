import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { before, describe, test } from 'node:test';
import { loadHfCheckpoint } from '../../../src/io/hf-checkpoint.js';
import { loadF32 } from '../../../src/io/safetensors.js';
import { emitModel } from '../../../src/onnx/emit.js';
import { encoderModelGraph, mergedDecoderGraph } from '../../../src/models/encoder-decoder/export.js';
import { VisionEncoderDecoder } from '../../../src/models/vision-encoder-decoder/model.js';
import { createSession, float32, int64, ortTensor } from '../../../src/runtime/session.js';
import { maxAbsDiff } from '../../helpers/causal-lm.js';
import { fixturePath } from '../../helpers/fixtures.js';

describe('encoder-decoder export graphs (vit-gpt2-tiny)', () => {
  let model: VisionEncoderDecoder;
  before(async () => {
    const ckpt = await loadHfCheckpoint(fixturePath('vit-gpt2-tiny'));
    model = VisionEncoderDecoder.fromCheckpoint(ckpt.config, ckpt.weights);
  });

  test("inputs and outputs carry transformers.js' Vision2Seq names", () => {
    const encoder = emitModel(encoderModelGraph(model));
    assert.deepEqual([encoder.inputNames, encoder.outputNames], [['pixel_values'], ['last_hidden_state']]);
    const decoder = emitModel(mergedDecoderGraph(model, 32));
    const cache = (prefix: string) => [0, 1].flatMap((i) => [`${prefix}.${i}.key`, `${prefix}.${i}.value`]);
    assert.deepEqual(decoder.inputNames, ['input_ids', 'encoder_hidden_states', ...cache('past_key_values'), 'use_cache_branch']);
    assert.deepEqual(decoder.outputNames, ['logits', ...cache('present')]);
  });

  test('encoder_model then decoder_model_merged (empty past, then one cached step) reproduce the golden logits', async () => {
    const tensors = await loadF32(fixturePath('vit-gpt2-tiny', 'golden.safetensors'));
    const ids = (JSON.parse(readFileSync(fixturePath('vit-gpt2-tiny', 'golden.json'), 'utf8')) as { decoder_input_ids: number[][] }).decoder_input_ids;
    const pixels = tensors.get('pixel_values')!;
    const encoder = await createSession(emitModel(encoderModelGraph(model)).bytes);
    const decoder = await createSession(emitModel(mergedDecoderGraph(model, 32)).bytes);
    try {
      const { last_hidden_state: hidden } = await encoder.run({ pixel_values: float32(pixels.data, pixels.shape) });
      assert.deepEqual(hidden!.dims, [2, 17, 32]);
      const empty = Object.fromEntries([0, 1].flatMap((i) => ['key', 'value'].map((k) => [`past_key_values.${i}.${k}`, float32(new Float32Array(0), [2, 4, 0, 12])])));
      const prefix = await decoder.run({
        input_ids: int64(ids.flatMap((r) => r.slice(0, 3)), [2, 3]),
        encoder_hidden_states: hidden!,
        ...empty,
        use_cache_branch: ortTensor('bool', [false], [1]),
      });
      const past = Object.fromEntries([0, 1].flatMap((i) => ['key', 'value'].map((k) => [`past_key_values.${i}.${k}`, prefix[`present.${i}.${k}`]!])));
      const last = await decoder.run({ input_ids: int64(ids.map((r) => r[3]!), [2, 1]), encoder_hidden_states: hidden!, ...past, use_cache_branch: ortTensor('bool', [true], [1]) });
      const expected = tensors.get('logits')!.data;
      const V = 50257;
      const got = new Float32Array(2 * 4 * V);
      for (const b of [0, 1]) {
        got.set((prefix.logits!.data as Float32Array).subarray(b * 3 * V, (b + 1) * 3 * V), b * 4 * V);
        got.set((last.logits!.data as Float32Array).subarray(b * V, (b + 1) * V), (b * 4 + 3) * V);
      }
      // The same tolerance as the runtime's parity test (see vision-encoder-decoder/model.test.ts).
      assert.ok(maxAbsDiff(got, expected) <= 1e-4, `max |diff| ${maxAbsDiff(got, expected)}`);
    } finally {
      await encoder.release();
      await decoder.release();
    }
  });
});
