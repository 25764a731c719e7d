import assert from 'node:assert/strict';
import { test } from 'node:test';
import { applyOrientation, exifOrientation } from '../../src/image/exif.js';
import type { RgbImage } from '../../src/image/types.js';

/** A 3×2 image whose pixels are A..F (grey levels 1..6), row by row. */
const img: RgbImage = { width: 3, height: 2, data: Uint8Array.from([1, 2, 3, 4, 5, 6].flatMap((v) => [v, v, v])) };
const grey = (im: RgbImage): number[] => Array.from({ length: im.width * im.height }, (_, p) => im.data[p * 3]!);

test('each orientation gives the upright image worked out by hand', () => {
  // A B C      orientation 6 (rotate 90° clockwise):  D A / E B / F C
  // D E F      orientation 8 (90° counter-clockwise): C F / B E / A D
  const cases: Array<[number, number, number, number[]]> = [
    [2, 3, 2, [3, 2, 1, 6, 5, 4]],
    [3, 3, 2, [6, 5, 4, 3, 2, 1]],
    [4, 3, 2, [4, 5, 6, 1, 2, 3]],
    [5, 2, 3, [1, 4, 2, 5, 3, 6]],
    [6, 2, 3, [4, 1, 5, 2, 6, 3]],
    [7, 2, 3, [6, 3, 5, 2, 4, 1]],
    [8, 2, 3, [3, 6, 2, 5, 1, 4]],
  ];
  for (const [o, w, h, expected] of cases) {
    const out = applyOrientation(img, o);
    assert.deepEqual([out.width, out.height, grey(out)], [w, h, expected], `orientation ${o}`);
  }
  assert.equal(applyOrientation(img, 1), img);
});

/** A TIFF block with one IFD entry (tag, type, value), little- or big-endian. */
function tiff(tag: number, type: number, value: number, little: boolean): Uint8Array {
  const b = new DataView(new ArrayBuffer(26));
  b.setUint8(0, little ? 0x49 : 0x4d);
  b.setUint8(1, little ? 0x49 : 0x4d);
  b.setUint16(2, 42, little);
  b.setUint32(4, 8, little);
  b.setUint16(8, 1, little);
  b.setUint16(10, tag, little);
  b.setUint16(12, type, little);
  b.setUint32(14, 1, little);
  b.setUint16(18, value, little);
  return new Uint8Array(b.buffer);
}

test('the orientation tag is read in both byte orders; anything else reads as 1', () => {
  assert.equal(exifOrientation(tiff(0x0112, 3, 6, true)), 6);
  assert.equal(exifOrientation(tiff(0x0112, 3, 8, false)), 8);
  assert.equal(exifOrientation(tiff(0x0110, 3, 6, true)), 1); // another tag
  assert.equal(exifOrientation(tiff(0x0112, 3, 9, true)), 1); // out of range
  assert.equal(exifOrientation(new Uint8Array([1, 2, 3])), 1);
});
