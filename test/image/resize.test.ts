import assert from 'node:assert/strict';
import { test } from 'node:test';
import { PIL_RESAMPLE, resize, type Resample } from '../../src/image/resize.js';
import type { RgbImage } from '../../src/image/types.js';
import { byteDiff, PILLOW_VERSION, resizeCases, resizeSource } from './fixtures/pil-goldens.js';

/** A one-row grey image. */
const row = (...v: number[]): RgbImage => ({ width: v.length, height: 1, data: Uint8Array.from(v.flatMap((x) => [x, x, x])) });
const greys = (im: RgbImage): number[] => Array.from({ length: im.width * im.height }, (_, p) => im.data[p * 3]!);

test(`every filter matches Pillow ${PILLOW_VERSION} exactly, down, up and mixed`, () => {
  assert.equal(resizeCases.length, 36);
  for (const c of resizeCases) {
    const out = resize(resizeSource, c.width, c.height, c.filter as Resample);
    assert.equal(byteDiff(out.data, c.expected).max, 0, `${c.filter} 13×9 → ${c.width}×${c.height}`);
  }
});

test("a window of the result is Pillow's result cropped there, for every filter and size", () => {
  const crop = (data: Uint8Array, width: number, w: { left: number; top: number; width: number; height: number }) => {
    const out = new Uint8Array(w.width * w.height * 3);
    for (let y = 0; y < w.height; y++) out.set(data.subarray(((w.top + y) * width + w.left) * 3, ((w.top + y) * width + w.left + w.width) * 3), y * w.width * 3);
    return out;
  };
  let windows = 0;
  for (const c of resizeCases) {
    // Corners, the centre, single rows and columns, and the whole image.
    const { width: W, height: H } = c;
    const candidates = [
      { left: 0, top: 0, width: W, height: H },
      { left: Math.floor(W / 4), top: Math.floor(H / 3), width: Math.ceil(W / 2), height: Math.ceil(H / 2) },
      { left: W - 1, top: 0, width: 1, height: H },
      { left: 0, top: H - 1, width: W, height: 1 },
    ];
    for (const w of candidates) {
      const out = resize(resizeSource, W, H, c.filter as Resample, w);
      assert.deepEqual([out.width, out.height], [w.width, w.height]);
      assert.equal(byteDiff(out.data, crop(c.expected, W, w)).max, 0, `${c.filter} 13×9 → ${W}×${H}, window ${JSON.stringify(w)}`);
      windows++;
    }
  }
  assert.equal(windows, 144);
  assert.throws(() => resize(resizeSource, 6, 4, 'bicubic', { left: 3, top: 0, width: 4, height: 4 }), /the window 4×4 at \(3, 0\) is not inside the 6×4 result/);
});

test('bilinear 4 → 2 antialiases over three taps of 3/7, 3/7, 1/7 (worked out by hand)', () => {
  // Output 0 is centred on input 1 with support 2 (the filter widens ×2): weights 0.75, 0.75, 0.25 on
  // inputs 0, 1, 2, normalised to 3/7, 3/7, 1/7. (0·3 + 100·3 + 200)/7 = 71.4 → 71; (100 + 200·3 + 40·3)/7 = 117.1 → 117.
  assert.deepEqual(greys(resize(row(0, 100, 200, 40), 2, 1, 'bilinear')), [71, 117]);
});

test('box 4 → 2 averages pairs, rounding halves up', () => {
  assert.deepEqual(greys(resize(row(0, 101, 200, 40), 2, 1, 'box')), [51, 120]);
});

test('nearest picks the source pixel under each output centre', () => {
  // 5 → 2: centres at 1.25 and 3.75 → inputs 1 and 3.
  assert.deepEqual(greys(resize(row(10, 20, 30, 40, 50), 2, 1, 'nearest')), [20, 40]);
  assert.deepEqual(greys(resize(row(10, 20), 4, 1, 'nearest')), [10, 10, 20, 20]);
});

test('the same size is a copy; a bad size or filter is an error naming it', () => {
  const im = row(1, 2, 3);
  const same = resize(im, 3, 1, 'bicubic');
  assert.deepEqual(same.data, im.data);
  assert.notEqual(same.data, im.data);
  assert.throws(() => resize(im, 0, 1, 'bicubic'), /positive integers, received 0×1/);
  assert.throws(() => resize(im, 2, 1, 'cubic' as Resample), /unknown resample "cubic"/);
});

test("PIL's resample numbers map to their filters", () => {
  assert.deepEqual(PIL_RESAMPLE, { 0: 'nearest', 1: 'lanczos', 2: 'bilinear', 3: 'bicubic', 4: 'box', 5: 'hamming' });
});
