import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { promisify } from 'node:util';
import { loadMnist, mnistSplit, splitValidation } from '../../src/data/index.js';
import { setCacheEnabled, writeCacheEntry } from '../../src/io/cache.js';
import { REPO_ROOT } from '../helpers/fixtures.js';

const execFileAsync = promisify(execFile);

// Per-digit image counts of the JSON files in the `mnist` package.
const PER_DIGIT = [1001, 1127, 991, 1032, 980, 863, 1014, 1070, 944, 978];

function rawDigit(d: number): number[] {
  const pkg = createRequire(import.meta.url).resolve('mnist/package.json');
  const file = join(dirname(pkg), 'src', 'digits', `${d}.json`);
  return (JSON.parse(readFileSync(file, 'utf8')) as { data: number[] }).data;
}

function histogram(labels: Uint8Array): number[] {
  const h = new Array<number>(10).fill(0);
  for (const l of labels) h[l]!++;
  return h;
}

test('loadMnist holds all 10,000 digits with shapes and labels', () => {
  const ds = loadMnist();
  assert.equal(ds.count, 10000);
  assert.equal(ds.rows, 28);
  assert.equal(ds.cols, 28);
  assert.equal(ds.images.length, 10000 * 784);
  assert.equal(ds.labels.length, 10000);
  assert.deepEqual(histogram(ds.labels), PER_DIGIT);
});

test('loadMnist values lie in [0, 1] and every image has ink', () => {
  const { images, count } = loadMnist();
  let min = Infinity;
  let max = -Infinity;
  for (const v of images) {
    if (v < min) min = v;
    if (v > max) max = v;
  }
  assert.equal(min, 0);
  assert.equal(max, 1);
  for (let i = 0; i < count; i++) {
    let ink = 0;
    for (let p = 0; p < 784; p++) ink += images[i * 784 + p]!;
    assert.ok(ink > 10, `image ${i} is nearly blank (ink ${ink})`);
  }
});

test('loadMnist order is label-sorted, each digit in file order', () => {
  const ds = loadMnist();
  for (let i = 1; i < ds.count; i++) assert.ok(ds.labels[i]! >= ds.labels[i - 1]!);
  // Spot-check rows against the package's JSON files.
  for (const d of [0, 3, 9]) {
    const start = PER_DIGIT.slice(0, d).reduce((a, b) => a + b, 0);
    const raw = rawDigit(d);
    for (const k of [0, 1, PER_DIGIT[d]! - 1]) {
      const row = ds.images.subarray((start + k) * 784, (start + k + 1) * 784);
      assert.equal(ds.labels[start + k], d);
      assert.deepEqual(Array.from(row), Array.from(Float32Array.from(raw.slice(k * 784, (k + 1) * 784))));
    }
  }
});

test('loadMnist is cached for the process', () => {
  assert.equal(loadMnist(), loadMnist());
  assert.equal(loadMnist().images, loadMnist().images);
});

test('mnistSplit gives 9,000 / 1,000 covering every digit once', () => {
  const { train, val } = mnistSplit({ seed: 7 });
  assert.equal(train.count, 9000);
  assert.equal(val.count, 1000);
  assert.equal(train.images.length, 9000 * 784);
  assert.equal(val.images.length, 1000 * 784);
  assert.equal(train.rows, 28);
  const h = histogram(train.labels).map((n, d) => n + histogram(val.labels)[d]!);
  assert.deepEqual(h, PER_DIGIT);
  // Shuffled: the validation set is a mix of digits, not the first 1,000.
  assert.ok(histogram(val.labels).every((n) => n > 50));
  // Copies, not views of the cached arrays.
  assert.notEqual(train.images.buffer, loadMnist().images.buffer);
});

test("mnistSplit's rows are loadMnist's rows, bit for bit, in the split's order", () => {
  const all = loadMnist();
  const idx = splitValidation(all.count, 1000, 7);
  const { train, val } = mnistSplit({ seed: 7 });
  for (const [ds, rows] of [[train, idx.train], [val, idx.val]] as const) {
    rows.forEach((row, j) => {
      assert.equal(ds.labels[j], all.labels[row]);
      assert.deepEqual(ds.images.subarray(j * 784, (j + 1) * 784), all.images.subarray(row * 784, (row + 1) * 784), `row ${j}`);
    });
  }
});

test('mnistSplit is deterministic per seed', () => {
  const a = mnistSplit({ seed: 3 });
  const b = mnistSplit({ seed: 3 });
  const c = mnistSplit({ seed: 4 });
  assert.deepEqual(a.val.labels, b.val.labels);
  assert.deepEqual(a.train.labels, b.train.labels);
  assert.deepEqual(a.val.images, b.val.images);
  assert.notDeepEqual(a.val.labels, c.val.labels);
});

test('mnistSplit accepts a validation fraction or count and rejects nonsense', () => {
  assert.equal(mnistSplit({ seed: 1, validation: 0.2 }).val.count, 2000);
  assert.equal(mnistSplit({ seed: 1, validation: 500 }).train.count, 9500);
  assert.throws(() => mnistSplit({ seed: 1, validation: 20000 }), /validation must be/);
  assert.throws(() => mnistSplit({ seed: 1, validation: -1 }), /validation must be/);
});

describe('loadMnist and the cache (src/io/cache.ts)', () => {
  const scratch = mkdtempSync(join(tmpdir(), 'forja-mnist-cache-'));
  after(() => rmSync(scratch, { recursive: true, force: true }));
  const cacheDir = join(scratch, 'cache');
  const mnistDir = join(cacheDir, 'mnist');
  const src = (f: string) => pathToFileURL(join(REPO_ROOT, 'src', f)).href;
  // A fresh process with the cache on: the digest and count of what loadMnist returned.
  const child = async (env: Record<string, string> = {}): Promise<{ digest: string; count: number }> => {
    const script = `import { setCacheEnabled } from '${src('io/cache.ts')}'; import { loadMnist } from '${src('data/mnist.ts')}';
      import { createHash } from 'node:crypto'; setCacheEnabled(true); const d = loadMnist();
      console.log(JSON.stringify({ digest: createHash('sha256').update(d.images).update(d.labels).digest('hex'), count: d.count }));`;
    const { stdout } = await execFileAsync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], {
      cwd: REPO_ROOT,
      env: { ...process.env, FORJA_CACHE: cacheDir, FORJA_NO_CACHE: '', ...env },
    });
    return JSON.parse(stdout) as { digest: string; count: number };
  };
  const entry = () => readdirSync(mnistDir);

  test('the first process stores the decoded digits, the next reads them from the cache, a corrupt entry is rebuilt', async () => {
    const decoded = await child();
    assert.equal(decoded.count, 10000);
    // This process has the cache off, so its digits come straight from the JSON: the palette coding is exact.
    const plain = loadMnist();
    assert.equal(decoded.digest, createHash('sha256').update(plain.images).update(plain.labels).digest('hex'));
    assert.equal(entry().length, 1);
    const file = join(mnistDir, entry()[0]!);
    const key = entry()[0]!.replace(/\.bin$/, '');

    // A valid entry with other contents under the same key: what the next process returns shows it read the cache.
    process.env.FORJA_CACHE = cacheDir;
    setCacheEnabled(true);
    try {
      // The entry's layout: a palette of 256 float32 intensities, a byte per pixel indexing it, a byte per label.
      const palette = new Float32Array(256);
      palette[1] = 0.5;
      await writeCacheEntry('mnist', key, [palette, new Uint8Array(784).fill(1), Uint8Array.of(3)]);
    } finally {
      setCacheEnabled(false);
      delete process.env.FORJA_CACHE;
    }
    const fake = await child();
    assert.equal(fake.count, 1);
    const pixels = new Float32Array(784).fill(0.5);
    assert.equal(fake.digest, createHash('sha256').update(pixels).update(Uint8Array.of(3)).digest('hex'));

    writeFileSync(file, 'not an entry');
    assert.deepEqual(await child(), decoded, 'a corrupt entry is ignored');
    assert.equal(readFileSync(file).length, 40 + 256 * 4 + 10000 * 785, 'and rewritten');
  });

  test('FORJA_NO_CACHE=1: decoded from the JSON, nothing written', async () => {
    rmSync(cacheDir, { recursive: true, force: true });
    assert.equal((await child({ FORJA_NO_CACHE: '1' })).count, 10000);
    assert.equal(existsSync(mnistDir), false);
  });
});
