import assert from 'node:assert/strict';
import { test } from 'node:test';
import { yccToRgb } from '../../src/image/jpeg-color.js';

/** Interleaved Y, Cb, Cr triples. */
const ycc = (...px: Array<[number, number, number]>): Uint8Array => Uint8Array.from(px.flat());

test('YCbCr → RGB rounds as libjpeg does (worked out by hand)', () => {
  const out = yccToRgb(ycc([100, 128, 128], [128, 128, 200], [0, 255, 0]), 3, 1, [{ h: 1, v: 1 }, { h: 1, v: 1 }, { h: 1, v: 1 }]);
  // Neutral chroma is grey. Cr 200: R = 128 + round(1.402·72) = 229, G = 128 − round(0.71414·72) = 77.
  // Y 0 with Cb 255: B = round(1.772·127) = 225, G = round(−0.34414·127 − 0.71414·−128) = 48, R = round(1.402·−128) → 0.
  assert.deepEqual([...out], [100, 100, 100, 229, 77, 128, 0, 48, 225]);
});

test('2:1 horizontal chroma is upsampled with the 3/4 + 1/4 triangle filter', () => {
  // Stored Cb samples 100 and 200, replicated by jpeg-js: 100 100 200 200 → 100, 125, 175, 200
  // ((3·100 + 200 + 2) >> 2 = 125, (3·200 + 100 + 1) >> 2 = 175); then B = 128 + round(1.772·(cb − 128)).
  const raw = ycc([128, 100, 128], [128, 100, 128], [128, 200, 128], [128, 200, 128]);
  const out = yccToRgb(raw, 4, 1, [{ h: 2, v: 1 }, { h: 1, v: 1 }, { h: 1, v: 1 }]);
  const blue = [0, 1, 2, 3].map((p) => out[p * 3 + 2]);
  assert.deepEqual(blue, [100, 125, 175, 200].map((cb) => Math.min(255, 128 + Math.round(1.772 * (cb - 128)))));
  assert.deepEqual([0, 1, 2, 3].map((p) => out[p * 3]), [128, 128, 128, 128]);
});

test('2:2 chroma weighs the nearer row 3/4 and the edge rows repeat', () => {
  // A 2×4 image, Cr stored as one column of two rows: 40 (top) and 200 (bottom).
  const rows = [40, 40, 200, 200];
  const raw = ycc(...rows.flatMap((cr): Array<[number, number, number]> => [[128, 128, cr], [128, 128, cr]]));
  const out = yccToRgb(raw, 2, 4, [{ h: 2, v: 2 }, { h: 1, v: 1 }, { h: 1, v: 1 }]);
  // Column sums 3·near + far: row 0 uses itself above (160), row 1: 3·40 + 200 = 320, row 2: 3·200 + 40 = 640, row 3: 800;
  // each output pixel is (4·sum + 8) >> 4 at the left edge and (4·sum + 7) >> 4 at the right edge.
  const cr = [160, 320, 640, 800].map((s) => [(4 * s + 8) >> 4, (4 * s + 7) >> 4]);
  const red = Array.from({ length: 8 }, (_, p) => out[p * 3]);
  assert.deepEqual(red, cr.flat().map((c) => Math.max(0, Math.min(255, 128 + Math.round(1.402 * (c - 128))))));
});
