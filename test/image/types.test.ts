import assert from 'node:assert/strict';
import { test } from 'node:test';
import { checkRgbImage } from '../../src/image/types.js';

test('an image built by hand must have a positive size and 3 bytes per pixel', () => {
  checkRgbImage({ width: 2, height: 1, data: new Uint8Array(6) }, 'x');
  assert.throws(() => checkRgbImage({ width: 0, height: 1, data: new Uint8Array(0) }, 'here'), /^RangeError: here: an image needs a positive integer width and height, received 0×1/);
  assert.throws(() => checkRgbImage({ width: 2, height: 2, data: new Uint8Array(16) }, 'here'), /a 2×2 RGB image holds 12 bytes, received 16/);
  assert.throws(() => checkRgbImage({ width: 1, height: 1, data: [1, 2, 3] as unknown as Uint8Array }, 'here'), /received object/);
});
