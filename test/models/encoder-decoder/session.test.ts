import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { loadHfCheckpoint } from '../../../src/io/hf-checkpoint.js';
import { loadF32 } from '../../../src/io/safetensors.js';
import { EncoderDecoderSession, type EncoderInput } from '../../../src/models/encoder-decoder/session.js';
import { VisionEncoderDecoder } from '../../../src/models/vision-encoder-decoder/model.js';
import { generate } from '../../../src/text/generate.js';
import { big, maxAbsDiff } from '../../helpers/causal-lm.js';
import { fixturePath } from '../../helpers/fixtures.js';

const VOCAB = 50257;
const START = 50256;

/** The generic runtime, exercised through the one encoder-decoder with a fixture (vit-gpt2-tiny). */
describe('EncoderDecoderSession', () => {
  let session: EncoderDecoderSession;
  let other: EncoderDecoderSession;
  let pixels: EncoderInput;
  const image = (b: number): EncoderInput => ({ data: pixels.data.slice(b * 3072, (b + 1) * 3072), dims: [1, 3, 32, 32] });

  before(async () => {
    const ckpt = await loadHfCheckpoint(fixturePath('vit-gpt2-tiny'));
    const model = VisionEncoderDecoder.fromCheckpoint(ckpt.config, ckpt.weights);
    session = await EncoderDecoderSession.fromModel(model);
    other = await EncoderDecoderSession.fromModel(model);
    const t = (await loadF32(fixturePath('vit-gpt2-tiny', 'golden.safetensors'))).get('pixel_values')!;
    pixels = { data: t.data, dims: t.shape };
  });
  after(async () => {
    await session.release();
    await other.release();
  });

  test('the encoder runs once per batch; each prompt row attends to its own image', async () => {
    const encoded = await session.encode(pixels);
    assert.equal(encoded.batch, 2);
    assert.equal(encoded.length, 17); // 16 patches + the class token
    const step = { ids: big([START, START]), batch: 2, attentionMask: big([1, 1]), positionIds: big([0, 0]) };
    const both = await session.bind(encoded).forward(step);
    for (const b of [0, 1]) {
      const alone = await session.bind(await session.encode(image(b))).forward({ ids: big([START]), batch: 1, attentionMask: big([1]), positionIds: big([0]) });
      assert.ok(maxAbsDiff(alone.logits, both.logits.subarray(b * VOCAB, (b + 1) * VOCAB)) < 1e-5, `image ${b}`);
    }
    assert.ok(maxAbsDiff(both.logits.subarray(0, VOCAB), both.logits.subarray(VOCAB)) > 1e-3, 'the two images give different logits');
  });

  test('selectCache reorders the cross-attention K/V with the self-attention cache', async () => {
    const lm = session.bind(await session.encode(pixels));
    const first = await lm.forward({ ids: big([START, START]), batch: 2, attentionMask: big([1, 1]), positionIds: big([0, 0]) });
    const next = { ids: big([464, 464]), batch: 2, attentionMask: big([1, 1, 1, 1]), positionIds: big([1, 1]) };
    const inOrder = await lm.forward({ ...next, cache: first.cache });
    const swapped = await lm.forward({ ...next, cache: lm.selectCache(first.cache, [1, 0]) });
    // Row 0 of the swapped batch is image 1 throughout: its cross K/V moved with its self-attention cache.
    assert.ok(maxAbsDiff(swapped.logits.subarray(0, VOCAB), inOrder.logits.subarray(VOCAB)) < 1e-5);
    assert.ok(maxAbsDiff(swapped.logits.subarray(VOCAB), inOrder.logits.subarray(0, VOCAB)) < 1e-5);
    const expanded = lm.selectCache(first.cache, [1, 1, 0]);
    assert.equal(expanded.batch, 3);
    assert.throws(() => lm.selectCache(first.cache, [2]), /row 2 is out of range for a cache of 2 rows/);
  });

  test('beam search over a batch (2 images × 3 beams) equals beam search over each image alone', async () => {
    const options = { num_beams: 3, max_new_tokens: 8, early_stopping: true, eos_token_id: START, pad_token_id: START };
    const batch = await generate(session.bind(await session.encode(pixels)), [[START], [START]], options);
    for (const b of [0, 1]) {
      const alone = await generate(session.bind(await session.encode(image(b))), [[START]], options);
      assert.deepEqual(batch.sequences[b], alone.sequences[0], `image ${b}`);
    }
    const greedy = await generate(session.bind(await session.encode(pixels)), [[START], [START]], { ...options, num_beams: 1 });
    assert.notDeepEqual(batch.sequences, greedy.sequences, 'three beams find other captions than greedy on this fixture');
  });

  test('prompts must be one row per encoded input; batches stay with their session', async () => {
    const encoded = await session.encode(pixels);
    await assert.rejects(session.bind(encoded).forward({ ids: big([START]), batch: 1, attentionMask: big([1]), positionIds: big([0]) }), /1 prompt rows for 2 encoded inputs/);
    assert.throws(() => other.bind(encoded), /the encoded batch comes from another session/);
  });
});
