/**
 * Cropping a KV cache: CausalLM.cropCache giving the same next logits as a prefill of the shorter prompt (gpt2-tiny),
 * and the encoder-decoder's crop (vit-gpt2-tiny) keeping its cross K/V, so assisted decoding works there.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { loadHfCheckpoint } from '../../../src/io/hf-checkpoint.js';
import { loadF32 } from '../../../src/io/safetensors.js';
import { CausalLM } from '../../../src/models/causal-lm.js';
import { EncoderDecoderSession } from '../../../src/models/encoder-decoder/session.js';
import { VisionEncoderDecoder } from '../../../src/models/vision-encoder-decoder/model.js';
import { checkCropLength } from '../../../src/models/transformer/kv-crop.js';
import { generate } from '../../../src/text/generate.js';
import { assertClose, big } from '../../helpers/causal-lm.js';
import { fixturePath } from '../../helpers/fixtures.js';

describe('checkCropLength', () => {
  test('refuses lengths outside [0, cached]', () => {
    assert.doesNotThrow(() => checkCropLength(3, 0, 'x'));
    assert.doesNotThrow(() => checkCropLength(3, 3, 'x'));
    assert.throws(() => checkCropLength(3, 4, 'gpt2.cropCache'), /gpt2\.cropCache: cannot crop a cache of 3 positions to 4/);
    assert.throws(() => checkCropLength(3, -1, 'x'), /to -1/);
    assert.throws(() => checkCropLength(3, 1.5, 'x'), /to 1\.5/);
  });
});

describe('CausalLM.cropCache (gpt2-tiny)', () => {
  let lm: CausalLM;
  before(async () => {
    lm = await CausalLM.load(fixturePath('gpt2-tiny'));
  });
  after(() => lm.release());

  const ids = [7454, 2402, 257, 640, 612, 373, 257, 9379, 326, 4499];
  const prefill = (n: number) => lm.forward({ ids: big(ids.slice(0, n)), batch: 1, attentionMask: big(ids.slice(0, n).map(() => 1)), positionIds: big(ids.slice(0, n).map((_, i) => i)) });

  test('a cache cropped from 10 to 6 positions continues as a 6-token prefill does', async () => {
    const long = await prefill(10);
    const cropped = lm.cropCache(long.cache, 6);
    assert.deepEqual([cropped.length, cropped.batch], [6, 1]);
    const step = { ids: big([ids[6]!]), batch: 1, attentionMask: big(new Array<number>(7).fill(1)), positionIds: big([6]) };
    const fromCrop = await lm.forward({ ...step, cache: cropped });
    const fresh = await lm.forward({ ...step, cache: (await prefill(6)).cache });
    assertClose(fromCrop.logits, fresh.logits, 1e-5, 'next logits');
    assert.throws(() => lm.cropCache(long.cache, 11), /cannot crop a cache of 10 positions to 11/);
  });
});

describe('encoder-decoder cropCache (vit-gpt2-tiny)', () => {
  let session: EncoderDecoderSession;
  before(async () => {
    const ckpt = await loadHfCheckpoint(fixturePath('vit-gpt2-tiny'));
    session = await EncoderDecoderSession.fromModel(VisionEncoderDecoder.fromCheckpoint(ckpt.config, ckpt.weights));
  });
  after(() => session.release());

  test("assisted greedy over one image, drafted by the decoder looking at the other: the plain greedy ids", async () => {
    const t = (await loadF32(fixturePath('vit-gpt2-tiny', 'golden.safetensors'))).get('pixel_values')!;
    const image = async (b: number) => session.encode({ data: t.data.slice(b * 3072, (b + 1) * 3072), dims: [1, 3, 32, 32] });
    const target = session.bind(await image(0));
    const plain = await generate(target, [[50256]], { do_sample: false, max_new_tokens: 20 });
    const out = await generate(target, [[50256]], { do_sample: false, max_new_tokens: 20, assistant_model: session.bind(await image(1)), num_assistant_tokens: 4, assistant_confidence_threshold: 0 });
    assert.deepEqual(out.sequences, plain.sequences);
    // Some drafts were rejected, so both caches were cropped along the way.
    assert.ok(out.assisted!.accepted < out.assisted!.drafted, `${out.assisted!.accepted} of ${out.assisted!.drafted} kept`);
  });
});
