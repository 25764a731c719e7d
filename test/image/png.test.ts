import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ImageDecodeError } from '../../src/image/errors.js';
import { decodePng } from '../../src/image/png.js';
import { byteDiff, decodeCase, decodeCases, gray16 } from './fixtures/pil-goldens.js';

test('every PNG golden decodes to exactly what PIL convert("RGB") gives', () => {
  const cases = decodeCases('png-');
  assert.ok(cases.length >= 12, `expected the PNG goldens, found ${cases.length}`);
  for (const c of cases) {
    const im = decodePng(c.bytes, c.name);
    assert.equal(im.width, c.expected.width, c.name);
    assert.equal(im.height, c.expected.height, c.name);
    assert.equal(byteDiff(im.data, c.expected.data).max, 0, c.name);
  }
});

test('conversions say what was changed to reach 8-bit RGB', () => {
  assert.deepEqual(decodePng(decodeCase('png-rgb8').bytes, 'x').conversions, []);
  assert.match(decodePng(decodeCase('png-rgba8').bytes, 'x').conversions.join('; '), /alpha dropped/);
  assert.match(decodePng(decodeCase('png-palette-trns').bytes, 'x').conversions.join('; '), /palette expanded.*alpha dropped/);
  assert.match(decodePng(decodeCase('png-rgb16').bytes, 'x').conversions.join('; '), /16-bit channels reduced to 8 bits/);
  assert.match(decodePng(decodeCase('png-gray2').bytes, 'x').conversions.join('; '), /2-bit grayscale expanded/);
});

test('16-bit grayscale keeps the high byte of each sample (PIL would clip it at 255)', () => {
  const im = decodePng(gray16.bytes, 'g16.png');
  assert.equal(im.width * im.height, gray16.samples.length);
  gray16.samples.forEach((s, p) => {
    for (let c = 0; c < 3; c++) assert.equal(im.data[p * 3 + c], s >> 8);
  });
  assert.match(im.conversions.join('; '), /16-bit grayscale expanded to RGB; 16-bit channels reduced/);
});

test('a PNG cut short is reported as truncated, with the byte where it ends', () => {
  const whole = decodeCase('png-rgb8').bytes;
  for (const keep of [20, 40, whole.length - 30, whole.length - 6]) {
    assert.throws(
      () => decodePng(whole.subarray(0, keep), 'cut.png'),
      (e: unknown) => e instanceof ImageDecodeError && e.code === 'truncated' && e.source === 'cut.png' && e.message.includes(`byte ${keep}`),
      `cut at ${keep}`,
    );
  }
});

test('bytes after IEND are ignored, as PIL ignores them', () => {
  const c = decodeCase('png-rgb8');
  const padded = Buffer.concat([c.bytes, Buffer.from('trailing junk')]);
  assert.equal(byteDiff(decodePng(padded, 'x').data, c.expected.data).max, 0);
});

test('a PNG whose image data is damaged is corrupt, naming the file', () => {
  const bad = Buffer.from(decodeCase('png-rgb8').bytes);
  // The IDAT payload starts after signature (8) + IHDR chunk (25) + IDAT length and type (8).
  for (let i = 41; i < 51; i++) bad[i] = 0x55;
  assert.throws(() => decodePng(bad, 'bad.png'), (e: unknown) => e instanceof ImageDecodeError && e.code === 'corrupt' && /^bad\.png: the PNG cannot be decoded/.test(e.message));
});
