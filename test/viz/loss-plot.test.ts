import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readFile, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PNG } from 'pngjs';
import { LossPlotter, lossPlotSpec, lossPlotSvg, writeLossCsv, writeLossPlot, type LossSeries } from '../../src/viz/index.js';

let dir = '';
before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'forja-plot-'));
});
after(async () => {
  await rm(dir, { recursive: true, force: true });
});

const series: LossSeries[] = [
  { name: 'train', values: Array.from({ length: 40 }, (_, i) => 1 / (i + 1) + 0.05) },
  { name: 'val', values: [0.6, 0.3, 0.2, 0.15], steps: [10, 20, 30, 40] },
];

test('writeLossPlot writes an SVG with both curves, labels and title', async () => {
  const path = join(dir, 'loss.svg');
  await writeLossPlot(path, series, { title: 'Autoencoder loss', xLabel: 'epoch', yLabel: 'MSE' });
  const svg = await readFile(path, 'utf8');
  assert.match(svg, /^<svg[^>]*width="\d+"/);
  assert.match(svg, /<\/svg>\s*$/);
  for (const text of ['Autoencoder loss', 'epoch', 'MSE', 'train', 'val']) {
    assert.ok(svg.includes(`>${text}<`), `SVG should show "${text}"`);
  }
  // One line path per series, each with many segments.
  const lines = svg.match(/<path[^>]*aria-roledescription="line mark"[^>]*d="M[^"]*"/g) ?? [];
  assert.equal(lines.length, 2);
  assert.deepEqual(await readdir(dir), ['loss.svg']); // no temp file left
});

test('LossPlotter renders on its worker the SVG this thread would, several at once, and here once closed', async () => {
  const options = { title: 'Autoencoder loss', xLabel: 'epoch' };
  const expected = await lossPlotSvg(series, options);
  const plotter = new LossPlotter();
  try {
    const [a, b] = await Promise.all([plotter.svg(series, options), plotter.svg(series.slice(0, 1), options)]);
    assert.equal(a, expected);
    assert.equal(b, await lossPlotSvg(series.slice(0, 1), options));
    assert.equal(plotter.onWorker, true, 'rendered on the worker, not by falling back');
    const sub = await mkdtemp(join(dir, 'plotter-'));
    await plotter.write(join(sub, 'loss.svg'), series, options);
    assert.equal(await readFile(join(sub, 'loss.svg'), 'utf8'), expected);
    assert.deepEqual(await readdir(sub), ['loss.svg']);
    await assert.rejects(plotter.write(join(sub, 'loss.gif'), series), /must end in .svg or .png/);
  } finally {
    await plotter.close();
  }
  assert.equal(plotter.onWorker, false);
  assert.equal(await plotter.svg(series, options), expected);
});

test('writeLossPlot writes a PNG at pixelRatio scale', async () => {
  const path = join(dir, 'loss.png');
  await writeLossPlot(path, series, { title: 'loss', width: 300, height: 200, pixelRatio: 2 });
  const png = PNG.sync.read(await readFile(path));
  // Plot area plus axes, title and legend, doubled.
  assert.ok(png.width > 600 && png.width < 1000, `width ${png.width}`);
  assert.ok(png.height > 400 && png.height < 700, `height ${png.height}`);
  // Not blank: some dark (axis/text) and some coloured (line) pixels.
  let dark = 0;
  let coloured = 0;
  for (let i = 0; i < png.data.length; i += 4) {
    const [r, g, b] = [png.data[i]!, png.data[i + 1]!, png.data[i + 2]!];
    if (r < 80 && g < 80 && b < 80) dark++;
    if (Math.max(r, g, b) - Math.min(r, g, b) > 80) coloured++;
  }
  assert.ok(dark > 200, `dark pixels ${dark}`);
  assert.ok(coloured > 200, `coloured pixels ${coloured}`);
});

test('non-finite losses become gaps; log scale drops non-positive values', () => {
  const spec = lossPlotSpec([{ name: 'a', values: [1, Number.NaN, Infinity, 0, 0.5] }], { logY: true });
  const values = (spec as { data: { values: { y: number | null; x: number }[] } }).data.values;
  assert.deepEqual(values.map((p) => p.y), [1, null, null, null, 0.5]);
  assert.deepEqual(values.map((p) => p.x), [1, 2, 3, 4, 5]);
});

test('writeLossPlot rejects bad input naming the problem', async () => {
  await assert.rejects(writeLossPlot(join(dir, 'x.jpg'), series), /x\.jpg must end in \.svg or \.png/);
  await assert.rejects(writeLossPlot(join(dir, 'x.svg'), []), /series is empty/);
  await assert.rejects(
    writeLossPlot(join(dir, 'x.svg'), [{ name: 'a', values: [1] }, { name: 'a', values: [2] }]),
    /series name 'a' is used twice/,
  );
  await assert.rejects(
    writeLossPlot(join(dir, 'x.svg'), [{ name: 'a', values: [1, 2], steps: [1] }]),
    /series 'a' has 2 values but 1 steps/,
  );
});

test('writeLossCsv writes the union of columns, blanks for missing keys', async () => {
  const path = join(dir, 'csv', 'loss.csv');
  await writeLossCsv(path, [
    { epoch: 1, loss: 0.5 },
    { epoch: 2, loss: 0.25, val_loss: 0.3 },
    { epoch: 3, loss: Number.NaN },
  ]);
  assert.equal(await readFile(path, 'utf8'), 'epoch,loss,val_loss\n1,0.5,\n2,0.25,0.3\n3,NaN,\n');
});
