/** The export loads in transformers.js (Vision2Seq: encoder_model + decoder_model_merged) and generates transformers' greedy ids. */
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { AutoModelForVision2Seq, env, pipeline as transformersPipeline, Tensor } from '@huggingface/transformers';
import { PNG } from 'pngjs';
import { pipeline } from '../../../src/apps/pipeline.js';
import { loadF32 } from '../../../src/io/safetensors.js';
import { exportVisionEncoderDecoder } from '../../../src/models/vision-encoder-decoder/export-onnx.js';
import { fixturePath } from '../../helpers/fixtures.js';

env.allowRemoteModels = false;
env.allowLocalModels = true;

const tmp = mkdtempSync(join(tmpdir(), 'forja-ved-export-'));
after(() => rmSync(tmp, { recursive: true, force: true }));

const out = join(tmp, 'vit-gpt2-tiny');

test('vit-gpt2-tiny exported: transformers.js generates the golden greedy ids for both images', async () => {
  const result = await exportVisionEncoderDecoder(fixturePath('vit-gpt2-tiny'), out);
  for (const file of ['onnx/encoder_model.onnx', 'onnx/decoder_model_merged.onnx', 'config.json', 'generation_config.json', 'tokenizer.json', 'preprocessor_config.json']) {
    assert.ok(existsSync(join(out, file)) && result.files.includes(file), `${file} is written`);
  }
  const config = JSON.parse(readFileSync(join(out, 'config.json'), 'utf8')) as Record<string, unknown>;
  assert.deepEqual(config['transformers.js_config'], { dtype: 'fp32' });

  const golden = JSON.parse(readFileSync(fixturePath('vit-gpt2-tiny', 'golden.json'), 'utf8')) as { greedy_output_ids: number[][] };
  const pixels = (await loadF32(fixturePath('vit-gpt2-tiny', 'golden.safetensors'))).get('pixel_values')!;
  const model = await AutoModelForVision2Seq.from_pretrained(out, { dtype: 'fp32', local_files_only: true });
  try {
    const output = (await model.generate({ pixel_values: new Tensor('float32', pixels.data, pixels.shape), max_new_tokens: 12, do_sample: false })) as Tensor;
    assert.deepEqual(output.dims, [2, 13]);
    const ids = Array.from(output.data as BigInt64Array, Number);
    assert.deepEqual([ids.slice(0, 13), ids.slice(13)], golden.greedy_output_ids);
  } finally {
    await model.dispose();
  }
});

test("transformers.js' image-to-text pipeline on the export captions a PNG as Forja's pipeline does", async () => {
  assert.ok(existsSync(join(out, 'onnx/decoder_model_merged.onnx')), 'the export test ran first');
  // 32×32, the model's size: transformers.js resizes with sharp, not Pillow, so other sizes would differ in the pixels.
  const png = new PNG({ width: 32, height: 32 });
  for (let i = 0; i < 32 * 32; i++) png.data.set([(i * 7) % 256, (i * 13) % 256, (i * 29) % 256, 255], i * 4);
  const path = join(tmp, 'image.png');
  writeFileSync(path, PNG.sync.write(png));
  const theirs = await transformersPipeline('image-to-text', out, { dtype: 'fp32', local_files_only: true });
  const ours = await pipeline('image-to-text', fixturePath('vit-gpt2-tiny'));
  try {
    const expected = (await theirs(path, { max_new_tokens: 8 })) as { generated_text: string }[];
    assert.ok(expected[0]!.generated_text.length > 0);
    // Forja keeps transformers' (Python) text; transformers.js trims it.
    const [caption] = await ours(path, { max_new_tokens: 8 });
    assert.equal(caption!.generated_text.trim(), expected[0]!.generated_text);
  } finally {
    await theirs.dispose();
    await ours.dispose();
  }
});
