import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import ort from 'onnxruntime-node';
import { loadF32 } from '../../../src/io/safetensors.js';
import { exportWhisper } from '../../../src/models/whisper/export.js';
import { fixturePath } from '../../helpers/fixtures.js';

const FIXTURE = fixturePath('whisper-tiny-random');
const golden = JSON.parse(readFileSync(join(FIXTURE, 'golden.json'), 'utf8')) as { decoder_input_ids: number[][]; greedy_ids: number[][] };

describe('models/whisper/export', () => {
  let out: string;
  let tensors: Map<string, { data: Float32Array; shape: number[] }>;

  before(async () => {
    out = mkdtempSync(join(tmpdir(), 'forja-whisper-export-'));
    tensors = await loadF32(join(FIXTURE, 'golden.safetensors'));
  });
  after(() => rmSync(out, { recursive: true, force: true }));

  it("writes transformers.js' layout, and the merged decoder gives the golden logits on the first step (empty cache, use_cache_branch false)", async () => {
    const result = await exportWhisper(FIXTURE, out);
    assert.deepEqual(result.files.slice(0, 2), ['onnx/encoder_model.onnx', 'onnx/decoder_model_merged.onnx']);
    assert.ok(result.files.includes('preprocessor_config.json'));
    const encoder = await ort.InferenceSession.create(join(out, 'onnx/encoder_model.onnx'));
    const decoder = await ort.InferenceSession.create(join(out, 'onnx/decoder_model_merged.onnx'));
    try {
      const { last_hidden_state: hidden } = await encoder.run({ input_features: new ort.Tensor('float32', tensors.get('input_features')!.data, [1, 80, 3000]) });
      assert.deepEqual(hidden!.dims, [1, 1500, 32]);
      const ids = golden.decoder_input_ids[0]!;
      const empty = (kind: string, i: number) => [`past_key_values.${i}.${kind}.key`, `past_key_values.${i}.${kind}.value`];
      const feeds: Record<string, ort.Tensor> = {
        input_ids: new ort.Tensor('int64', BigInt64Array.from(ids, BigInt), [1, ids.length]),
        encoder_hidden_states: hidden!,
        use_cache_branch: new ort.Tensor('bool', [false], [1]),
      };
      for (let i = 0; i < 2; i++) for (const name of [...empty('decoder', i), ...empty('encoder', i)]) feeds[name] = new ort.Tensor('float32', new Float32Array(0), [1, 4, 0, 8]);
      const first = await decoder.run(feeds);
      const want = tensors.get('logits')!.data;
      const got = first.logits!.data as Float32Array;
      let max = 0;
      for (let i = 0; i < want.length; i++) max = Math.max(max, Math.abs(got[i]! - want[i]!));
      assert.ok(max < 2e-4, `first-step logits differ by ${max}`);
      assert.deepEqual(first['present.0.encoder.key']!.dims, [1, 4, 1500, 8]);
      // A cached step: the cross K/V come from the cache, encoder_hidden_states is not projected again.
      const step: Record<string, ort.Tensor> = { input_ids: new ort.Tensor('int64', BigInt64Array.of(BigInt(golden.greedy_ids[0]![4]!)), [1, 1]), encoder_hidden_states: hidden!, use_cache_branch: new ort.Tensor('bool', [true], [1]) };
      for (const [name, t] of Object.entries(first)) if (name.startsWith('present.')) step[name.replace('present.', 'past_key_values.')] = t;
      const second = await decoder.run(step);
      assert.deepEqual(second['present.0.decoder.key']!.dims, [1, 4, 5, 8]);
      assert.deepEqual(second['present.0.encoder.key']!.dims, [1, 4, 0, 8], 'nothing re-projected once cached');
      const row = second.logits!.data as Float32Array;
      let best = 0;
      for (let v = 1; v < row.length; v++) if (row[v]! > row[best]!) best = v;
      assert.equal(best, golden.greedy_ids[0]![5], 'the cached step continues the golden greedy decode');
    } finally {
      await encoder.release();
      await decoder.release();
    }
  });

  it("transformers.js loads the export and its greedy decode equals the fixture's greedy_ids", async () => {
    const { WhisperForConditionalGeneration, Tensor, env } = await import('@huggingface/transformers');
    env.allowRemoteModels = false;
    const model = await WhisperForConditionalGeneration.from_pretrained(out, { dtype: 'fp32', local_files_only: true });
    try {
      const prompt = golden.decoder_input_ids[0]!;
      const ids = (await model.generate({
        inputs: new Tensor('float32', tensors.get('input_features')!.data, [1, 80, 3000]),
        decoder_input_ids: new Tensor('int64', BigInt64Array.from(prompt, BigInt), [1, prompt.length]),
        max_new_tokens: golden.greedy_ids[0]!.length - prompt.length,
        do_sample: false,
        begin_suppress_tokens: null,
      } as never)) as unknown as { data: BigInt64Array };
      assert.deepEqual(Array.from(ids.data, Number), golden.greedy_ids[0]);
    } finally {
      await model.dispose();
    }
  });
});
