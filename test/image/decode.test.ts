import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { after, before, test } from 'node:test';
import { decodeImage, loadImage, probeImage } from '../../src/image/decode.js';
import { ImageDecodeError } from '../../src/image/errors.js';
import { byteDiff, decodeCase, gray16 } from './fixtures/pil-goldens.js';

const tmp = mkdtempSync(join(tmpdir(), 'forja-image-'));
const png = decodeCase('png-rgb8');
const jpg = decodeCase('jpeg-444');
let server: Server;
let base = '';

before(async () => {
  server = createServer((req, res) => {
    if (req.url === '/cat.png') res.writeHead(200, { 'content-type': 'image/png' }).end(png.bytes);
    else res.writeHead(404, 'Not Found').end();
  });
  await new Promise<void>((done) => server.listen(0, '127.0.0.1', done));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
after(async () => {
  rmSync(tmp, { recursive: true, force: true });
  await new Promise((done) => server.close(done));
});

const isError = (code: string, message: RegExp) => (e: unknown) => e instanceof ImageDecodeError && e.code === code && message.test(e.message);

test('the format comes from the bytes, not the name', () => {
  const path = join(tmp, 'really-a-png.jpg');
  writeFileSync(path, png.bytes);
  return loadImage(path).then((im) => {
    assert.equal(im.format, 'png');
    assert.equal(im.source, path);
    assert.equal(byteDiff(im.data, png.expected.data).max, 0);
  });
});

test('files, file: URLs, http URLs, data: URLs, Buffers and ArrayBuffers all decode', async () => {
  const path = join(tmp, 'photo.jpg');
  writeFileSync(path, jpg.bytes);
  const fromFile = await loadImage(path);
  assert.equal(fromFile.format, 'jpeg');
  for (const im of [
    await loadImage(pathToFileURL(path)),
    await loadImage(pathToFileURL(path).href),
    await loadImage(jpg.bytes),
    await loadImage(new Uint8Array(jpg.bytes).buffer),
  ]) {
    assert.deepEqual(im.data, fromFile.data);
  }
  const web = await loadImage(`${base}/cat.png`);
  assert.equal(web.source, `${base}/cat.png`);
  assert.equal(byteDiff(web.data, png.expected.data).max, 0);
  const data = await loadImage(`data:image/png;base64,${Buffer.from(png.bytes).toString('base64')}`);
  assert.equal(data.source, 'data:image/png…');
  assert.equal(byteDiff(data.data, png.expected.data).max, 0);
});

test('a Buffer is named "<buffer>" in errors unless given a name', async () => {
  await assert.rejects(decodeImage(new Uint8Array([1, 2, 3])), isError('not-an-image', /^<buffer>: not an image/));
  return assert.rejects(loadImage(new Uint8Array([1, 2, 3]), { name: 'upload #3' }), isError('not-an-image', /^upload #3: /));
});

test('a text file, an empty file and other image formats are refused, saying what they are', async () => {
  await assert.rejects(decodeImage(Buffer.from('hello, not an image'), 'notes.png'), isError('not-an-image', /^notes\.png: not an image \(Forja reads PNG and JPEG; the first bytes are 68 65 6c 6c/));
  await assert.rejects(decodeImage(new Uint8Array(0), 'empty.png'), isError('not-an-image', /empty\.png: the file is empty/));
  await assert.rejects(decodeImage(Buffer.from('GIF89a......'), 'a.gif'), isError('not-an-image', /a\.gif: a GIF image \(Forja reads PNG and JPEG/));
  const webp = Buffer.concat([Buffer.from('RIFF'), Buffer.alloc(4), Buffer.from('WEBPVP8 ')]);
  await assert.rejects(decodeImage(webp, 'a.webp'), isError('not-an-image', /a WebP image/));
});

test('a file cut inside the PNG signature or the JPEG header is truncated', async () => {
  await assert.rejects(decodeImage(png.bytes.subarray(0, 5), 'p.png'), isError('truncated', /p\.png: the PNG is truncated: it ends at byte 5, inside its signature/));
  await assert.rejects(decodeImage(jpg.bytes.subarray(0, 3), 'j.jpg'), isError('truncated', /j\.jpg: the JPEG is truncated/));
});

test('a missing file, a directory and an HTTP error are unreadable, naming the path or URL', async () => {
  await assert.rejects(loadImage(join(tmp, 'nope.png')), isError('unreadable', /nope\.png: no such file/));
  await assert.rejects(loadImage(tmp), isError('unreadable', /a directory, not an image file/));
  await assert.rejects(loadImage(`${base}/missing.png`), isError('unreadable', new RegExp(`^${base}/missing.png: the server answered HTTP 404`)));
});

test('probeImage checks structure only: a complete PNG with damaged pixels passes, a cut one does not', async () => {
  assert.equal(probeImage(png.bytes, 'a.png'), 'png');
  assert.equal(probeImage(jpg.bytes, 'a.jpg'), 'jpeg');
  const damaged = Buffer.from(png.bytes);
  damaged.fill(0x55, 41, 51);
  assert.equal(probeImage(damaged, 'd.png'), 'png');
  await assert.rejects(decodeImage(damaged, 'd.png'), isError('corrupt', /d\.png: the PNG cannot be decoded/));
  assert.throws(() => probeImage(jpg.bytes.subarray(0, jpg.bytes.length - 50), 'c.jpg'), isError('truncated', /c\.jpg: the JPEG is truncated/));
  assert.throws(() => probeImage(Buffer.from('plain text'), 't.png'), isError('not-an-image', /t\.png: not an image/));
});

test('onConversion hears what a 16-bit or CMYK image went through; a plain RGB image says nothing', async () => {
  const heard: string[] = [];
  const onConversion = (source: string, conversions: readonly string[]) => heard.push(`${source}: ${conversions.join('; ')}`);
  await loadImage(gray16.bytes, { name: 'deep.png', onConversion });
  await loadImage(decodeCase('jpeg-cmyk').bytes, { name: 'print.jpg', onConversion });
  await loadImage(png.bytes, { name: 'plain.png', onConversion });
  assert.deepEqual(heard, [
    'deep.png: 16-bit grayscale expanded to RGB; 16-bit channels reduced to 8 bits (the high byte, as PIL reads 16-bit colour PNGs)',
    'print.jpg: CMYK converted to RGB without a colour profile, as PIL does',
  ]);
});
