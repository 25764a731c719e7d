import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { ImageProcessorConfigError } from '../../src/image/errors.js';
import { centerCrop, ImageProcessor, resizedSize } from '../../src/image/processor.js';
import type { RgbImage } from '../../src/image/types.js';
import { fixturePath } from '../helpers/fixtures.js';
import { decodeCase, processorCases } from './fixtures/pil-goldens.js';

const tmp = mkdtempSync(join(tmpdir(), 'forja-processor-'));
after(() => rmSync(tmp, { recursive: true, force: true }));

/** W×H image whose pixel (x, y) is (10·x + y, 100 + 10·x + y, 200 + y): each value says where it came from. */
function numbered(width: number, height: number): RgbImage {
  const data = new Uint8Array(width * height * 3);
  for (let y = 0; y < height; y++) for (let x = 0; x < width; x++) data.set([10 * x + y, 100 + 10 * x + y, 200 + y], (y * width + x) * 3);
  return { width, height, data };
}

test('3×3, ViT semantics by hand: no resize at the same size, (v/255 − 0.5)/0.5, channels first', async () => {
  const p = ImageProcessor.fromJson({ image_processor_type: 'ViTImageProcessor', size: { height: 3, width: 3 } });
  const im: RgbImage = { width: 3, height: 3, data: Uint8Array.from({ length: 27 }, (_, i) => [0, 51, 255][i % 3]!) };
  const { data, dims } = await p.preprocess(im);
  assert.deepEqual(dims, [1, 3, 3, 3]);
  // Channel 0 is all 0 → −1, channel 1 all 51 → (0.2 − 0.5)/0.5 = −0.6, channel 2 all 255 → 1.
  for (let i = 0; i < 9; i++) {
    assert.equal(data[i], -1);
    assert.ok(Math.abs(data[9 + i]! + 0.6) < 1e-6);
    assert.equal(data[18 + i], 1);
  }
});

test('5×7, CLIP semantics by hand: the shortest edge already fits, crop 3×3 from (1, 2)', async () => {
  const p = ImageProcessor.fromJson({ size: { shortest_edge: 5 }, crop_size: { height: 3, width: 3 }, do_normalize: false, do_rescale: false });
  const { data, dims } = await p.preprocess(numbered(5, 7));
  assert.deepEqual(dims, [1, 3, 3, 3]);
  // Offsets ⌊(5 − 3)/2⌋ = 1 and ⌊(7 − 3)/2⌋ = 2: output (x, y) is input (x + 1, y + 2).
  for (let y = 0; y < 3; y++) {
    for (let x = 0; x < 3; x++) {
      assert.equal(data[y * 3 + x], 10 * (x + 1) + (y + 2));
      assert.equal(data[9 + y * 3 + x], 100 + 10 * (x + 1) + (y + 2));
      assert.equal(data[18 + y * 3 + x], 200 + (y + 2));
    }
  }
});

test('the shortest edge scales the long one, truncating as Python int() does', () => {
  const rule = { kind: 'shortest-edge', shortestEdge: 3 } as const;
  assert.deepEqual(resizedSize(rule, 7, 5), { height: 4, width: 3 }); // 3·7/5 = 4.2
  assert.deepEqual(resizedSize(rule, 5, 7), { height: 3, width: 4 });
  assert.deepEqual(resizedSize(rule, 224, 224), { height: 3, width: 3 });
  assert.deepEqual(resizedSize({ kind: 'fixed', height: 9, width: 2 }, 100, 50), { height: 9, width: 2 });
});

test('a crop larger than the image pads with zeros, ⌈·/2⌉ before (transformers center_crop)', () => {
  const out = centerCrop(numbered(2, 2), 3, 4);
  const red = Array.from({ length: 12 }, (_, p) => out.data[p * 3]);
  // Input values: (0,0)=0, (1,0)=10, (0,1)=1, (1,1)=11; one row and one column of padding before.
  assert.deepEqual(red, [0, 0, 0, 0, 0, 0, 10, 0, 0, 1, 11, 0]);
  assert.equal(out.data[(1 * 4 + 1) * 3 + 1], 100);
  assert.equal(out.data[1], 0);
});

test('pixel_values match a PIL + numpy CLIPImageProcessor run (bicubic down, crop, rescale, normalise)', async () => {
  for (const c of processorCases) {
    const { data, dims } = await ImageProcessor.fromJson(c.config).preprocess(c.image);
    assert.deepEqual(dims.slice(1), c.dims);
    let max = 0;
    for (let i = 0; i < data.length; i++) max = Math.max(max, Math.abs(data[i]! - c.pixelValues[i]!));
    // Same uint8 pixels after resize and the same float32 steps: equal up to float32 rounding.
    assert.ok(max <= 1e-6, `max difference ${max}`);
  }
});

test('a batch of paths, bytes and images comes out as one (N, 3, H, W) tensor in order', async () => {
  const p = await ImageProcessor.fromDir(fixturePath('clip-tiny'));
  const path = join(tmp, 'a.png');
  const png = decodeCase('png-rgb8');
  writeFileSync(path, png.bytes);
  const batch = await p.preprocess([path, decodeCase('jpeg-444').bytes, png.expected]);
  assert.deepEqual(batch.dims, [3, 3, 32, 32]);
  const size = 3 * 32 * 32;
  assert.deepEqual(batch.data.subarray(0, size), batch.data.subarray(2 * size, 3 * size));
  assert.notDeepEqual(batch.data.subarray(0, size), batch.data.subarray(size, 2 * size));
});

test('without a crop or fixed size, images of different sizes cannot share a batch', async () => {
  const p = ImageProcessor.fromJson({ do_resize: false, do_center_crop: false });
  await assert.rejects(p.preprocess([numbered(2, 2), numbered(3, 2)]), /image 1 comes out 3×2 and image 0 2×2/);
  assert.equal(p.outputSize, undefined);
});

test('a directory without preprocessor_config.json, or with a broken one, is an error naming it', async () => {
  await assert.rejects(ImageProcessor.fromDir(tmp), (e: unknown) => e instanceof ImageProcessorConfigError && e.message.includes('preprocessor_config.json" is missing'));
  const dir = mkdtempSync(join(tmp, 'bad-'));
  writeFileSync(join(dir, 'preprocessor_config.json'), '{"resample": 9}');
  await assert.rejects(ImageProcessor.fromDir(dir), (e: unknown) => e instanceof ImageProcessorConfigError && e.message.startsWith(join(dir, 'preprocessor_config.json')) && /"resample" = 9/.test(e.message));
});

test('an image with the wrong number of bytes is refused before processing', () => {
  const p = ImageProcessor.fromJson({});
  assert.throws(() => p.prepare({ width: 2, height: 2, data: new Uint8Array(11) }), /a 2×2 RGB image holds 12 bytes, received 11/);
});
