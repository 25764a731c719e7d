import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { PNG } from 'pngjs';
import type { ImageToTextPipeline } from '../../src/apps/image-to-text.js';
import { pipeline } from '../../src/apps/pipeline.js';
import { loadF32 } from '../../src/io/safetensors.js';
import type { EncoderInput } from '../../src/models/encoder-decoder/session.js';
import { generate } from '../../src/text/generate.js';
import { fixturePath } from '../helpers/fixtures.js';

const DIR = fixturePath('vit-gpt2-tiny');
const golden = JSON.parse(readFileSync(fixturePath('vit-gpt2-tiny', 'golden.json'), 'utf8')) as { greedy_output_ids: number[][] };

/** A 32×32 RGB image (the model's size, so the processor's resize is the identity) and its pixel_values computed here. */
function syntheticImage(seed: number): { png: Buffer; pixels: Float32Array } {
  const png = new PNG({ width: 32, height: 32 });
  const pixels = new Float32Array(3 * 32 * 32);
  for (let y = 0; y < 32; y++) {
    for (let x = 0; x < 32; x++) {
      const rgb = [(x * 8 + seed * 40) % 256, (y * 8 + seed * 90) % 256, ((x ^ y) * 8 + seed) % 256];
      rgb.forEach((v, c) => {
        png.data[(y * 32 + x) * 4 + c] = v;
        // ViTImageProcessor: rescale 1/255 then normalise with mean 0.5, std 0.5.
        pixels[c * 1024 + y * 32 + x] = Math.fround(Math.fround(Math.fround(v / 255) - 0.5) / 0.5);
      });
      png.data[(y * 32 + x) * 4 + 3] = 255;
    }
  }
  return { png: PNG.sync.write(png), pixels };
}

describe("pipeline('image-to-text')", () => {
  let captioner: ImageToTextPipeline;
  let pixels: EncoderInput;
  let tmp: string;

  before(async () => {
    captioner = await pipeline('image-to-text', DIR);
    const t = (await loadF32(fixturePath('vit-gpt2-tiny', 'golden.safetensors'))).get('pixel_values')!;
    pixels = { data: t.data, dims: t.shape };
    tmp = mkdtempSync(join(tmpdir(), 'forja-image-to-text-'));
  });
  after(async () => {
    await captioner.dispose();
    rmSync(tmp, { recursive: true, force: true });
  });

  test('greedy: a pixel batch gives one caption list per image, the text of transformers’ ids', async () => {
    const out = await captioner(pixels, { max_new_tokens: 12 });
    const expected = golden.greedy_output_ids.map((ids) => [{ generated_text: captioner.tokenizer.decode(ids, { skipSpecialTokens: true }) }]);
    assert.deepEqual(out, expected);
    assert.ok(expected.every(([c]) => c!.generated_text.length > 0));
  });

  test('sampling is seeded; top_k 1 sampling is greedy', async () => {
    const options = { do_sample: true, seed: 11, max_new_tokens: 12, top_k: 0 };
    const a = await captioner(pixels, options);
    assert.deepEqual(await captioner(pixels, options), a);
    assert.notDeepEqual(await captioner(pixels, { ...options, seed: 12 }), a);
    assert.deepEqual(await captioner(pixels, { do_sample: true, seed: 3, top_k: 1, max_new_tokens: 12 }), await captioner(pixels, { max_new_tokens: 12 }));
  });

  test('beam search runs through text/generate, rows expanded with their cross-attention', async () => {
    const beams = await captioner(pixels, { num_beams: 3, max_new_tokens: 8 });
    const { captioner: c, tokenizer } = captioner;
    const session = c.session;
    const ref = await generate(session.bind(await session.encode(pixels)), [[50256], [50256]], { num_beams: 3, max_new_tokens: 8, generation_config: c.generationConfig });
    assert.deepEqual(beams, ref.sequences.map((ids) => [{ generated_text: tokenizer.decode(ids, { skipSpecialTokens: true }) }]));
  });

  test('an image file, a Buffer and a list of images go through preprocessor_config.json', async () => {
    const images = [syntheticImage(1), syntheticImage(2)];
    const path = join(tmp, 'one.png');
    writeFileSync(path, images[0]!.png);
    const byHand = await captioner({ data: Float32Array.from([...images[0]!.pixels, ...images[1]!.pixels]), dims: [2, 3, 32, 32] }, { max_new_tokens: 6 });
    assert.deepEqual(await captioner(path, { max_new_tokens: 6 }), byHand[0]);
    assert.deepEqual(await captioner(images[1]!.png, { max_new_tokens: 6 }), byHand[1]);
    assert.deepEqual(await captioner([path, images[1]!.png], { max_new_tokens: 6 }), byHand);
  });

  test('bad input: a wrong pixel shape names the expected one; a non-image file is named', async () => {
    await assert.rejects(captioner({ data: new Float32Array(2 * 3 * 24 * 24), dims: [2, 3, 24, 24] }), /pixel_values must have shape \[batch, 3, 32, 32\].*received \[2, 3, 24, 24\]/);
    const text = join(tmp, 'notes.png');
    writeFileSync(text, 'not an image');
    await assert.rejects(captioner(text), (e: Error) => e.message.includes('notes.png'));
  });
});
