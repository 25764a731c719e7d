import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PNG } from 'pngjs';
import { gridGeometry, imageGridPng, readPng, writeImageGrid } from '../../src/viz/index.js';

let dir = '';
before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'forja-grid-'));
});
after(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** RGBA of pixel (x, y). */
function px(png: PNG, x: number, y: number): number[] {
  const o = (y * png.width + x) * 4;
  return Array.from(png.data.subarray(o, o + 4));
}

// 5 grey 2×3 images; image n has value (n*6 + r*3 + c) / 29 at (r, c).
const N = 5;
const grey = Float32Array.from({ length: N * 6 }, (_, i) => i / 29);

test('grid has the documented size and pixels land where expected', () => {
  const opts = { rows: 2, cols: 3, gridCols: 2, pad: 1, scale: 2 };
  const png = PNG.sync.read(imageGridPng(grey, opts));
  // 2 columns of 3*2 px, 3 gaps of 1*2 px; 3 rows of 2*2 px, 4 gaps.
  assert.equal(png.width, 2 * 6 + 3 * 2);
  assert.equal(png.height, 3 * 4 + 4 * 2);
  assert.equal(png.colorType, 0);
  assert.deepEqual(gridGeometry(grey, opts), { count: 5, gridCols: 2, gridRows: 3, width: 18, height: 20 });
  for (let n = 0; n < N; n++) {
    const x0 = 2 + (n % 2) * 8;
    const y0 = 2 + Math.floor(n / 2) * 6;
    for (let r = 0; r < 2; r++) {
      for (let c = 0; c < 3; c++) {
        const v = Math.round(((n * 6 + r * 3 + c) / 29) * 255);
        // Every pixel of the 2×2 block carries the value.
        for (const [dx, dy] of [[0, 0], [1, 0], [0, 1], [1, 1]] as const) {
          assert.deepEqual(px(png, x0 + 2 * c + dx, y0 + 2 * r + dy), [v, v, v, 255], `image ${n} (${r},${c})`);
        }
      }
    }
  }
  // Padding and the empty sixth cell are background grey.
  assert.deepEqual(px(png, 0, 0), [128, 128, 128, 255]);
  assert.deepEqual(px(png, 12, 15), [128, 128, 128, 255]);
});

test('range maps lo to black and hi to white, clipping outside', () => {
  const img = Float32Array.of(-1, 0, 1, 5, Number.NaN, -7);
  const png = PNG.sync.read(imageGridPng(img, { rows: 1, cols: 6, pad: 0, range: [-1, 1] }));
  assert.deepEqual([0, 1, 2, 3, 4, 5].map((x) => px(png, x, 0)[0]), [0, 128, 255, 255, 0, 0]);
});

test('RGB grids read planar (chw) and interleaved (hwc) data', () => {
  // One 1×2 image: pixel 0 red, pixel 1 green.
  const chw = Float32Array.of(1, 0, 0, 1, 0, 0);
  const hwc = Float32Array.of(1, 0, 0, 0, 1, 0);
  const a = PNG.sync.read(imageGridPng(chw, { rows: 1, cols: 2, channels: 3, pad: 0 }));
  const b = PNG.sync.read(imageGridPng(hwc, { rows: 1, cols: 2, channels: 3, pad: 0, layout: 'hwc' }));
  assert.equal(a.colorType, 2);
  assert.deepEqual([px(a, 0, 0), px(a, 1, 0)], [[255, 0, 0, 255], [0, 255, 0, 255]]);
  assert.deepEqual([px(b, 0, 0), px(b, 1, 0)], [[255, 0, 0, 255], [0, 255, 0, 255]]);
});

test('imageGridPng rejects inconsistent arguments', () => {
  assert.throws(() => imageGridPng(new Float32Array(7), { rows: 2, cols: 3 }), /length 7 is not a multiple of rows\*cols\*channels = 6/);
  assert.throws(() => imageGridPng(grey, { rows: 2, cols: 3, count: 6 }), /6 images of 2x3x1 need 36 values, got 30/);
  assert.throws(() => imageGridPng(grey, { rows: 2, cols: 3, scale: 0 }), /scale must be an integer >= 1/);
  assert.throws(() => imageGridPng(grey, { rows: 2, cols: 3, range: [1, 1] }), /range must be finite/);
});

test('writeImageGrid writes atomically and readPng reads it back', async () => {
  const path = join(dir, 'nested', 'grid.png');
  await writeImageGrid(path, grey, { rows: 2, cols: 3, gridCols: 5, pad: 0 });
  assert.deepEqual(await readdir(join(dir, 'nested')), ['grid.png']); // no temp file left
  const img = await readPng(path);
  assert.equal(img.width, 15);
  assert.equal(img.height, 2);
  assert.equal(img.channels, 1);
  // Pixel (r, c) of image n sits at x = 3n + c.
  for (let n = 0; n < N; n++) {
    for (let r = 0; r < 2; r++) {
      for (let c = 0; c < 3; c++) {
        const got = img.data[r * 15 + 3 * n + c]!;
        assert.ok(Math.abs(got - grey[n * 6 + r * 3 + c]!) <= 0.5 / 255 + 1e-6);
      }
    }
  }
});

test('readPng returns RGB in chw or hwc, or converts to grey', async () => {
  const path = join(dir, 'rgb.png');
  // Pixel 0 red, pixel 1 green.
  await writeImageGrid(path, Float32Array.of(1, 0, 0, 1, 0, 0), { rows: 1, cols: 2, channels: 3, pad: 0 });
  const chw = await readPng(path);
  assert.equal(chw.channels, 3);
  assert.deepEqual([chw.width, chw.height], [2, 1]);
  assert.deepEqual(Array.from(chw.data), [1, 0, 0, 1, 0, 0]);
  const hwc = await readPng(path, { layout: 'hwc' });
  assert.deepEqual(Array.from(hwc.data), [1, 0, 0, 0, 1, 0]);
  const g = await readPng(path, { channels: 1 });
  assert.equal(g.channels, 1);
  assert.ok(Math.abs(g.data[0]! - 0.299) < 1e-6);
  assert.ok(Math.abs(g.data[1]! - 0.587) < 1e-6);
  await writeFile(join(dir, 'junk.png'), 'not a png');
  await assert.rejects(readPng(join(dir, 'junk.png')), /readPng: .*junk\.png is not a valid PNG/);
  await assert.rejects(readPng(join(dir, 'absent.png')), /readPng: cannot read .*absent\.png/);
});
