import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { loadF32, writeSafetensors } from '../../../src/io/safetensors.js';
import { ClipModel, NoTokenizerError } from '../../../src/models/clip/clip-model.js';
import { ConfigError } from '../../../src/models/transformer/config.js';
import { decodeCase } from '../../image/fixtures/pil-goldens.js';
import { clipGoldens, clipTinyWithTokenizer, CLIP_TINY, GOLDEN_TEXTS } from './clip-tiny.js';

const tmp = mkdtempSync(join(tmpdir(), 'forja-clip-'));
const g = await clipGoldens();
const clip = await ClipModel.load(CLIP_TINY);
const withTokenizer = await ClipModel.load(clipTinyWithTokenizer(tmp));
after(async () => {
  await Promise.all([clip.release(), withTokenizer.release()]);
  rmSync(tmp, { recursive: true, force: true });
});

// The goldens come from transformers in float32 over the same F16 weights upcast exactly, so only
// float32 summation order differs: measured 1.5e-7 (text), 6e-8 (image), 2.3e-6 (logits, which are
// cosines × exp(logit_scale) ≈ 14.3). The bounds leave ~10× room; a wrong pooling position or
// mask moves embeddings by > 1e-2.
const EMBED_TOL = 2e-6;
const LOGIT_TOL = 3e-5;

function maxDiff(a: readonly Float32Array[], b: readonly Float32Array[]): number {
  assert.equal(a.length, b.length);
  let m = 0;
  a.forEach((row, i) => {
    assert.equal(row.length, b[i]!.length);
    row.forEach((v, j) => (m = Math.max(m, Math.abs(v - b[i]![j]!))));
  });
  return m;
}

test('parity with transformers: text_embeds, image_embeds and logits_per_image of clip-tiny', async () => {
  const { textEmbeds, imageEmbeds, logitsPerImage } = await clip.scores(g.pixelValues, g.inputIds);
  assert.ok(maxDiff(textEmbeds, g.textEmbeds) < EMBED_TOL, `text ${maxDiff(textEmbeds, g.textEmbeds)}`);
  assert.ok(maxDiff(imageEmbeds, g.imageEmbeds) < EMBED_TOL, `image ${maxDiff(imageEmbeds, g.imageEmbeds)}`);
  assert.ok(maxDiff(logitsPerImage, g.logitsPerImage) < LOGIT_TOL, `logits ${maxDiff(logitsPerImage, g.logitsPerImage)}`);
});

test('texts go through the tokenizer to the same ids, and so to the same embeddings', async () => {
  assert.deepEqual(GOLDEN_TEXTS.map((t) => withTokenizer.tokenize(t)), g.inputIds);
  assert.ok(maxDiff(await withTokenizer.getTextEmbeddings(GOLDEN_TEXTS), g.textEmbeds) < EMBED_TOL);
  assert.equal(withTokenizer.countTokens('a photo of'), 3);
  // TextEmbedder: what retrieval calls.
  assert.ok(maxDiff(await withTokenizer.embed(['cat'], 'query'), [g.textEmbeds[1]!]) < EMBED_TOL);
});

test('a text longer than maxTokens is cut before its end-of-text token', () => {
  assert.equal(withTokenizer.maxTokens, 32);
  const ids = withTokenizer.tokenize(Array(50).fill('cat').join(' '));
  assert.equal(ids.length, 32);
  assert.deepEqual([ids[0], ids[30], ids[31]], [998, 300, 999]);
});

test('normalize: false gives the projected features, whose direction is the embedding', async () => {
  const [raw] = await clip.getTextEmbeddings([g.inputIds[0]!], { normalize: false });
  const norm = Math.hypot(...raw!);
  assert.ok(Math.abs(norm - 1) > 1e-3);
  raw!.forEach((v, j) => assert.ok(Math.abs(v / norm - g.textEmbeds[0]![j]!) < EMBED_TOL));
});

test('image files, bytes and decoded images go through preprocessor_config.json to the vision tower', async () => {
  const png = decodeCase('png-rgb8');
  const path = join(tmp, 'img.png');
  writeFileSync(path, png.bytes);
  const [fromPath, fromBytes, fromImage] = await clip.getImageEmbeddings([path, png.bytes, png.expected]);
  assert.equal(fromPath!.length, 24);
  assert.deepEqual(fromPath, fromBytes);
  assert.deepEqual(fromPath, fromImage);
  const [viaPixels] = await clip.getImageEmbeddings(await clip.processor.preprocess(path));
  assert.ok(maxDiff([fromPath!], [viaPixels!]) < 1e-7);
  assert.ok(Math.abs(Math.hypot(...fromPath!) - 1) < 1e-6);
});

test('batches of any size give the vectors one call at a time gives', async () => {
  const small = await ClipModel.load(CLIP_TINY, { batchSize: 2 });
  const texts = [...g.inputIds, g.inputIds[0]!, [998, 17, 999]];
  assert.ok(maxDiff(await small.getTextEmbeddings(texts), await clip.getTextEmbeddings(texts)) < 1e-6);
  await small.release();
});

test('F32 and BF16 copies of the checkpoint load too (BF16 within its 8-bit mantissa)', async () => {
  const f16 = await loadF32(join(CLIP_TINY, 'model.safetensors'));
  for (const dtype of ['F32', 'BF16'] as const) {
    const dir = mkdtempSync(join(tmp, `${dtype}-`));
    for (const f of ['config.json', 'preprocessor_config.json']) symlinkSync(join(CLIP_TINY, f), join(dir, f));
    await writeSafetensors(join(dir, 'model.safetensors'), new Map([...f16].map(([n, t]) => [n, { ...t, dtype }])));
    const model = await ClipModel.load(dir);
    const d = maxDiff(await model.getTextEmbeddings(g.inputIds), g.textEmbeds);
    assert.ok(dtype === 'F32' ? d < EMBED_TOL : d < 5e-2 && d > EMBED_TOL, `${dtype}: ${d}`);
    await model.release();
  }
});

test('bad inputs and a checkpoint without a tokenizer are errors that say what to pass', async () => {
  await assert.rejects(clip.getTextEmbeddings(['a cat']), (e: unknown) => e instanceof NoTokenizerError && /has no tokenizer \(tokenizer\.json\), so it embeds token ids, not text/.test(e.message));
  await assert.rejects(clip.getTextEmbeddings([[998, 5000]]), /text 0 must be a string or a non-empty list of token ids below the vocabulary size 1000/);
  await assert.rejects(clip.getTextEmbeddings([Array(40).fill(5)]), /text 0 has 40 token ids, more than the 32 positions/);
  await assert.rejects(clip.getImageEmbeddings({ data: new Float32Array(3 * 16 * 16), dims: [1, 3, 16, 16] }), /pixel_values must have shape \[batch, 3, 32, 32\]/);
  await assert.rejects(ClipModel.load(join(CLIP_TINY, '..', 'gpt2-tiny')), (e: unknown) => e instanceof ConfigError && /is not a CLIP model/.test(e.message));
});
