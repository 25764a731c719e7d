import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { after, before, describe, test } from 'node:test';
import { loadHfCheckpoint, type HfCheckpoint } from '../../../src/io/hf-checkpoint.js';
import { loadF32 } from '../../../src/io/safetensors.js';
import { EncoderDecoderSession, type EncodedBatch } from '../../../src/models/encoder-decoder/session.js';
import { ConfigError } from '../../../src/models/transformer/config.js';
import { WeightError } from '../../../src/models/transformer/weights.js';
import { PixelShapeError } from '../../../src/models/vit/model.js';
import { parseVisionEncoderDecoderConfig, VisionEncoderDecoder } from '../../../src/models/vision-encoder-decoder/model.js';
import type { LanguageModel } from '../../../src/text/language-model.js';
import { argmax, big, maxAbsDiff } from '../../helpers/causal-lm.js';
import { fixturePath } from '../../helpers/fixtures.js';

const DIR = fixturePath('vit-gpt2-tiny');
const golden = JSON.parse(readFileSync(fixturePath('vit-gpt2-tiny', 'golden.json'), 'utf8')) as { decoder_input_ids: number[][]; greedy_output_ids: number[][] };

/**
 * Logits reach |10.4|; float32 keeps ~7 digits, so one rounding is ~1e-6 there, and ORT's fused
 * LayerNorm, Gelu and MatMul sum in a different order from PyTorch through 2 encoder + 2 decoder
 * layers (measured: 2.4e-5). 1e-4 is ~1e-5 relative: a wrong scale, mask, norm or projection
 * moves logits by 1e-2 or more.
 */
const LOGITS_TOLERANCE = 1e-4;

describe('VisionEncoderDecoderModel (vit-gpt2-tiny)', () => {
  let ckpt: HfCheckpoint;
  let session: EncoderDecoderSession;
  let encoded: EncodedBatch;
  let lm: LanguageModel;
  let tensors: Map<string, { shape: number[]; data: Float32Array }>;

  before(async () => {
    ckpt = await loadHfCheckpoint(DIR);
    tensors = await loadF32(fixturePath('vit-gpt2-tiny', 'golden.safetensors'));
    session = await EncoderDecoderSession.fromModel(VisionEncoderDecoder.fromCheckpoint(ckpt.config, ckpt.weights));
    const pixels = tensors.get('pixel_values')!;
    encoded = await session.encode({ data: pixels.data, dims: pixels.shape });
    lm = session.bind(encoded);
  });
  after(() => session.release());

  test('decoder logits for decoder_input_ids match transformers', async () => {
    const ids = golden.decoder_input_ids;
    const steps = ids[0]!.length;
    const out = await lm.forward({
      ids: big(ids.flat()),
      batch: 2,
      attentionMask: big(ids.flat().map(() => 1)),
      positionIds: big(ids.flatMap((r) => r.map((_, i) => i))),
      allLogits: true,
    });
    const expected = tensors.get('logits')!;
    assert.deepEqual(expected.shape, [2, steps, 50257]);
    const diff = maxAbsDiff(out.logits, expected.data);
    assert.ok(diff <= LOGITS_TOLERANCE, `max |diff| ${diff}`);
  });

  test('greedy decoding from decoder_start_token_id gives transformers’ 12 tokens for both images', async () => {
    const rows = [[50256], [50256]];
    let cache;
    let ids = rows.flat();
    let margin = Infinity;
    for (let step = 0; step < 12; step++) {
      const length = rows[0]!.length;
      const out = await lm.forward({ ids: big(ids), batch: 2, attentionMask: big(new Array(2 * length).fill(1)), positionIds: big(rows.map(() => length - ids.length / 2)), ...(cache ? { cache } : {}) });
      cache = out.cache;
      ids = rows.map((r, b) => {
        const logits = out.logits.subarray(b * 50257, (b + 1) * 50257);
        const best = argmax(logits);
        const second = Math.max(...Array.from(logits).filter((_, i) => i !== best));
        margin = Math.min(margin, logits[best]! - second);
        r.push(best);
        return best;
      });
    }
    assert.deepEqual(rows, golden.greedy_output_ids);
    // The choices are not knife-edge: every top-1 leads the runner-up by far more than the logits tolerance.
    assert.ok(margin > 10 * LOGITS_TOLERANCE, `smallest top-1 margin ${margin}`);
  });

  test('a pixel batch of the wrong shape names the expected one', async () => {
    await assert.rejects(session.encode({ data: new Float32Array(3 * 16 * 16), dims: [1, 3, 16, 16] }), (e: Error) => {
      assert.ok(e instanceof PixelShapeError);
      assert.match(e.message, /VisionEncoderDecoderModel\.encode: pixel_values must have shape \[batch, 3, 32, 32\].*received \[1, 3, 16, 16\]/);
      return true;
    });
    await assert.rejects(session.encode({ data: new Float32Array(3 * 32 * 32), dims: [3, 32, 32] }), /\[batch, 3, 32, 32\].*received \[3, 32, 32\]/);
    await assert.rejects(session.encode({ data: new Float32Array(10), dims: [1, 3, 32, 32] }), /10 values do not fill shape \[1, 3, 32, 32\] \(3072 values\)/);
  });

  test('a decoder without cross-attention weights names the missing tensor', () => {
    const weights = new Map([...ckpt.weights].filter(([name]) => !name.includes('crossattention') && !name.includes('ln_cross_attn')));
    const config = { ...ckpt.config, decoder: { ...(ckpt.config.decoder as object), add_cross_attention: false } };
    assert.throws(() => VisionEncoderDecoder.fromCheckpoint(config, weights), (e: Error) => {
      assert.ok(e instanceof WeightError);
      assert.match(e.message, /checkpoint has no tensor 'decoder\.transformer\.h\.0\.ln_cross_attn\.weight' \(expected shape \[48\]\)/);
      return true;
    });
    weights.set('decoder.transformer.h.0.ln_cross_attn.weight', ckpt.weights.get('decoder.transformer.h.0.ln_cross_attn.weight')!);
    weights.set('decoder.transformer.h.0.ln_cross_attn.bias', ckpt.weights.get('decoder.transformer.h.0.ln_cross_attn.bias')!);
    assert.throws(() => VisionEncoderDecoder.fromCheckpoint(config, weights), /no tensor 'decoder\.transformer\.h\.0\.crossattention\.q_attn\.weight'/);
  });

  test("the hub's older decoder names (no transformer. prefix) and a stored ViT pooler load too", () => {
    const renamed = new Map([...ckpt.weights].map(([name, t]) => [name.replace('decoder.transformer.', 'decoder.'), t]));
    renamed.set('encoder.pooler.dense.weight', { shape: [32, 32], data: new Float32Array(32 * 32) });
    const model = VisionEncoderDecoder.fromCheckpoint(ckpt.config, renamed);
    assert.equal(model.weights.get('decoder.transformer.wte.weight')!.value, ckpt.weights.get('decoder.transformer.wte.weight')!.data);
  });

  test('config errors name the sub-config', () => {
    const withEncoder = (encoder: object) => ({ ...ckpt.config, encoder: { ...(ckpt.config.encoder as object), ...encoder } });
    assert.throws(() => parseVisionEncoderDecoderConfig(withEncoder({ model_type: 'swin' })), (e: Error) => e instanceof ConfigError && /"encoder": model_type "swin" is not supported \(supported: "vit"\)/.test(e.message));
    assert.throws(() => parseVisionEncoderDecoderConfig(withEncoder({ patch_size: 5 })), /"encoder": image_size 32×32 is not a multiple of patch_size 5/);
    assert.throws(() => parseVisionEncoderDecoderConfig({ ...ckpt.config, decoder_start_token_id: 60000 }), /decoder_start_token_id 60000 is outside the decoder's vocabulary \(size 50257\)/);
    const c = parseVisionEncoderDecoderConfig(ckpt.config);
    assert.equal(c.projection, true);
    assert.equal(c.decoderStartTokenId, 50256);
  });
});
