import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ImageDecodeError } from '../../src/image/errors.js';
import { decodeJpeg } from '../../src/image/jpeg.js';
import { byteDiff, decodeCase, decodeCases } from './fixtures/pil-goldens.js';

// PIL decodes with libjpeg-turbo, and so does sharp: the same pixels, except CMYK, which both
// engines leave to jpeg-js's profile-free conversion (PIL's too, within 1 level). The jpeg-js
// engine reproduces libjpeg's fancy upsampling and fixed-point colour conversion; what remains is
// its IDCT, measured at most 3 levels off and 0.17 on average.
const TOLERANCE = { sharp: { max: 0, mean: 0 }, 'jpeg-js': { max: 3, mean: 0.25 } } as const;

for (const engine of ['sharp', 'jpeg-js'] as const) {
  test(`JPEG goldens decode as PIL does with the ${engine} engine (max ${TOLERANCE[engine].max} levels), grayscale exactly`, async () => {
    const cases = decodeCases('jpeg-');
    assert.ok(cases.length >= 9);
    for (const c of cases) {
      const im = await decodeJpeg(c.bytes, c.name, { engine });
      assert.deepEqual([im.width, im.height], [c.expected.width, c.expected.height], c.name);
      const { max, mean } = byteDiff(im.data, c.expected.data);
      const bound = c.name === 'jpeg-cmyk' ? { max: 1, mean: 0.01 } : c.name === 'jpeg-gray' ? { max: 0, mean: 0 } : TOLERANCE[engine];
      assert.ok(max <= bound.max && mean <= bound.mean, `${c.name}: max ${max}, mean ${mean.toFixed(3)}`);
    }
  });
}

test('the default engine is sharp when it loads', async () => {
  const c = decodeCase('jpeg-420');
  assert.equal(byteDiff((await decodeJpeg(c.bytes, c.name)).data, c.expected.data).max, 0);
});

test('4:2:0 chroma is upsampled as libjpeg does in jpeg-js too (replicating it would be 8 levels off)', async () => {
  const c = decodeCase('jpeg-420');
  assert.ok(byteDiff((await decodeJpeg(c.bytes, c.name, { engine: 'jpeg-js' })).data, c.expected.data).mean < 0.25);
});

test('EXIF orientation is applied as transformers load_image does, and said', async () => {
  for (const [o, words] of [[3, /rotated 180/], [6, /rotated 90° clockwise/], [8, /counter-clockwise/], [5, /transposed/]] as const) {
    const im = await decodeJpeg(decodeCase(`jpeg-exif${o}`).bytes, 'x.jpg');
    assert.match(im.conversions.join(), words);
    assert.match(im.conversions.join(), new RegExp(`EXIF orientation ${o}`));
  }
});

test('Adobe CMYK is converted to RGB, saying so', async () => {
  const im = await decodeJpeg(decodeCase('jpeg-cmyk').bytes, 'c.jpg');
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

test('a 4-channel JPEG without an Adobe marker is refused, saying why and what to do', async () => {
  const bare = withoutSegment(decodeCase('jpeg-cmyk').bytes, 0xee);
  await assert.rejects(
    decodeJpeg(bare, 'scan.jpg'),
    (e: unknown) => e instanceof ImageDecodeError && e.code === 'unsupported' && /^scan\.jpg: a 4-channel \(CMYK or YCCK\) JPEG without an Adobe marker.*convert it/.test(e.message),
  );
});

test('lossless, arithmetic-coded and 12-bit JPEGs are refused by name', async () => {
  const base = Buffer.from(decodeCase('jpeg-444').bytes);
  const sof = base.indexOf(Buffer.from([0xff, 0xc0]));
  for (const [marker, precision, words] of [[0xc3, 8, /a lossless JPEG/], [0xc9, 8, /an arithmetic-coded JPEG/], [0xc0, 12, /a 12-bit JPEG/]] as const) {
    const b = Buffer.from(base);
    b[sof + 1] = marker;
    b[sof + 4] = precision;
    await assert.rejects(decodeJpeg(b, 'odd.jpg'), (e: unknown) => e instanceof ImageDecodeError && e.code === 'unsupported' && words.test(e.message));
  }
});

test('a JPEG cut short is truncated, in its header or its image data', async () => {
  const whole = decodeCase('jpeg-420').bytes;
  for (const keep of [10, 200, whole.length - 100, whole.length - 1]) {
    await assert.rejects(
      decodeJpeg(whole.subarray(0, keep), 'cut.jpg'),
      (e: unknown) => e instanceof ImageDecodeError && e.code === 'truncated' && e.message.startsWith('cut.jpg: the JPEG is truncated') && e.message.includes(`byte ${keep}`),
      `cut at ${keep}`,
    );
  }
});

test('bytes after the end-of-image marker do not make a JPEG truncated', async () => {
  const c = decodeCase('jpeg-444');
  const im = await decodeJpeg(Buffer.concat([c.bytes, Buffer.from([1, 2, 3])]), 'x');
  assert.equal(byteDiff(im.data, c.expected.data).max, 0);
});

test('damaged image data is corrupt, naming the file', async () => {
  const bad = Buffer.from(decodeCase('jpeg-444').bytes);
  // A Huffman table claiming more codes than its segment holds is an error for libjpeg and jpeg-js alike.
  const dht = bad.indexOf(Buffer.from([0xff, 0xc4]));
  bad.fill(0xff, dht + 5, dht + 21);
  for (const engine of ['sharp', 'jpeg-js'] as const) {
    await assert.rejects(decodeJpeg(bad, 'bad.jpg', { engine }), (e: unknown) => e instanceof ImageDecodeError && e.code === 'corrupt' && /^bad\.jpg: the JPEG cannot be decoded/.test(e.message), engine);
  }
});
