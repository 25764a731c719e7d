import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ImageDecodeError } from '../../src/image/errors.js';
import { decodeJpeg } from '../../src/image/jpeg.js';
import { byteDiff, decodeCase, decodeCases } from './fixtures/pil-goldens.js';

// PIL decodes with libjpeg-turbo. Forja reproduces its fancy upsampling and fixed-point colour
// conversion; what remains is jpeg-js's IDCT, measured at most 3 levels off and 0.17 on average.
const MAX_LEVELS = 3;
const MEAN_LEVELS = 0.25;

test('JPEG goldens decode within 3 levels of PIL (libjpeg-turbo), grayscale exactly', () => {
  const cases = decodeCases('jpeg-');
  assert.ok(cases.length >= 9);
  for (const c of cases) {
    const im = decodeJpeg(c.bytes, c.name);
    assert.deepEqual([im.width, im.height], [c.expected.width, c.expected.height], c.name);
    const { max, mean } = byteDiff(im.data, c.expected.data);
    assert.ok(max <= (c.name === 'jpeg-gray' ? 0 : MAX_LEVELS) && mean <= MEAN_LEVELS, `${c.name}: max ${max}, mean ${mean.toFixed(3)}`);
  }
});

test('4:2:0 chroma is upsampled as libjpeg does (replicating it would be 8 levels off)', () => {
  const c = decodeCase('jpeg-420');
  assert.ok(byteDiff(decodeJpeg(c.bytes, c.name).data, c.expected.data).mean < 0.25);
});

test('EXIF orientation is applied as transformers load_image does, and said', () => {
  for (const [o, words] of [[3, /rotated 180/], [6, /rotated 90° clockwise/], [8, /counter-clockwise/], [5, /transposed/]] as const) {
    const im = decodeJpeg(decodeCase(`jpeg-exif${o}`).bytes, 'x.jpg');
    assert.match(im.conversions.join(), words);
    assert.match(im.conversions.join(), new RegExp(`EXIF orientation ${o}`));
  }
});

test('Adobe CMYK is converted to RGB, saying so', () => {
  const im = decodeJpeg(decodeCase('jpeg-cmyk').bytes, 'c.jpg');
  assert.deepEqual(im.conversions, ['CMYK converted to RGB without a colour profile, as PIL does']);
});

/** The file without its segments of `marker` (e.g. 0xee, the Adobe APP14). */
function withoutSegment(bytes: Uint8Array, marker: number): Uint8Array {
  const parts: Uint8Array[] = [bytes.subarray(0, 2)];
  let at = 2;
  while (bytes[at + 1] !== 0xda) {
    const end = at + 2 + ((bytes[at + 2]! << 8) | bytes[at + 3]!);
    if (bytes[at + 1] !== marker) parts.push(bytes.subarray(at, end));
    at = end;
  }
  parts.push(bytes.subarray(at));
  return Buffer.concat(parts);
}

test('a 4-channel JPEG without an Adobe marker is refused, saying why and what to do', () => {
  const bare = withoutSegment(decodeCase('jpeg-cmyk').bytes, 0xee);
  assert.throws(
    () => decodeJpeg(bare, 'scan.jpg'),
    (e: unknown) => e instanceof ImageDecodeError && e.code === 'unsupported' && /^scan\.jpg: a 4-channel \(CMYK or YCCK\) JPEG without an Adobe marker.*convert it/.test(e.message),
  );
});

test('lossless, arithmetic-coded and 12-bit JPEGs are refused by name', () => {
  const base = Buffer.from(decodeCase('jpeg-444').bytes);
  const sof = base.indexOf(Buffer.from([0xff, 0xc0]));
  for (const [marker, precision, words] of [[0xc3, 8, /a lossless JPEG/], [0xc9, 8, /an arithmetic-coded JPEG/], [0xc0, 12, /a 12-bit JPEG/]] as const) {
    const b = Buffer.from(base);
    b[sof + 1] = marker;
    b[sof + 4] = precision;
    assert.throws(() => decodeJpeg(b, 'odd.jpg'), (e: unknown) => e instanceof ImageDecodeError && e.code === 'unsupported' && words.test(e.message));
  }
});

test('a JPEG cut short is truncated, in its header or its image data', () => {
  const whole = decodeCase('jpeg-420').bytes;
  for (const keep of [10, 200, whole.length - 100, whole.length - 1]) {
    assert.throws(
      () => decodeJpeg(whole.subarray(0, keep), 'cut.jpg'),
      (e: unknown) => e instanceof ImageDecodeError && e.code === 'truncated' && e.message.startsWith('cut.jpg: the JPEG is truncated') && e.message.includes(`byte ${keep}`),
      `cut at ${keep}`,
    );
  }
});

test('bytes after the end-of-image marker do not make a JPEG truncated', () => {
  const c = decodeCase('jpeg-444');
  const im = decodeJpeg(Buffer.concat([c.bytes, Buffer.from([1, 2, 3])]), 'x');
  assert.ok(byteDiff(im.data, c.expected.data).max <= MAX_LEVELS);
});
