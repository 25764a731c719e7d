import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { after, before, describe, test } from 'node:test';
import { loadHfCheckpoint } from '../../../src/io/hf-checkpoint.js';
import { loadF32 } from '../../../src/io/safetensors.js';
import type { EncoderInput } from '../../../src/models/encoder-decoder/session.js';
import { Captioner } from '../../../src/models/vision-encoder-decoder/captioner.js';
import { VisionEncoderDecoder } from '../../../src/models/vision-encoder-decoder/model.js';
import { fixturePath } from '../../helpers/fixtures.js';

const DIR = fixturePath('vit-gpt2-tiny');
const golden = JSON.parse(readFileSync(fixturePath('vit-gpt2-tiny', 'golden.json'), 'utf8')) as { greedy_output_ids: number[][] };

describe('Captioner', () => {
  let captioner: Captioner;
  let pixels: EncoderInput;

  before(async () => {
    captioner = await Captioner.load(DIR);
    const t = (await loadF32(fixturePath('vit-gpt2-tiny', 'golden.safetensors'))).get('pixel_values')!;
    pixels = { data: t.data, dims: t.shape };
  });
  after(() => captioner.release());

  test('greedy captions start from decoder_start_token_id and match transformers', async () => {
    const out = await captioner.generate(pixels, { max_new_tokens: 12 });
    assert.deepEqual(out.sequences, golden.greedy_output_ids);
  });

  test("generation_config.json's defaults apply: max_length 20 counts the start token, as transformers does", async () => {
    const out = await captioner.generate(pixels);
    assert.deepEqual(out.sequences.map((s) => s.length), [20, 20]);
    assert.equal(out.config.maxLength, 20);
    assert.deepEqual(out.sequences.map((s) => s.slice(0, 13)), golden.greedy_output_ids);
  });

  test('reads the image processor from preprocessor_config.json', () => {
    assert.deepEqual(captioner.processor?.outputSize, { height: 32, width: 32 });
  });

  test('without preprocessor_config.json images must come as pixel_values, and the error says so', async () => {
    const ckpt = await loadHfCheckpoint(DIR);
    const bare = await Captioner.fromModel(VisionEncoderDecoder.fromCheckpoint(ckpt.config, ckpt.weights));
    try {
      await assert.rejects(bare.preprocess('/nonexistent.png'), /has no preprocessor_config\.json, so images must be given as pixel_values \(\{ data, dims: \[batch, 3, 32, 32\] \}\)/);
    } finally {
      await bare.release();
    }
  });

  test('a causal-LM checkpoint is refused with its architecture named', async () => {
    await assert.rejects(Captioner.load(fixturePath('gpt2-tiny')), /architecture "GPT2LMHeadModel" is not an image-to-text model \(supported: VisionEncoderDecoderModel\)/);
  });
});
