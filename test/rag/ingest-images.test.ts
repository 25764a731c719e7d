/** Images in a store: ingest with a CLIP model, then text → image and image → image search (src/rag/ingest.ts, sources/files.ts). */
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { ClipModel } from '../../src/models/clip/clip-model.js';
import { ingest } from '../../src/rag/ingest.js';
import { retrieve } from '../../src/rag/retrieve.js';
import type { EmbeddingRole, TextEmbedder } from '../../src/text/embedder.js';
import { MemoryStore } from '../helpers/memory-store.js';
import { decodeCase, gray16 } from '../image/fixtures/pil-goldens.js';
import { clipTinyWithTokenizer } from '../models/clip/clip-tiny.js';

const tmp = mkdtempSync(join(tmpdir(), 'forja-rag-images-'));
const clip = await ClipModel.load(clipTinyWithTokenizer(tmp));
after(async () => {
  await clip.release();
  rmSync(tmp, { recursive: true, force: true });
});

/** Two images, a text, a truncated PNG and a text file named .jpg. */
function folder(name: string): string {
  const dir = join(tmp, name);
  mkdirSync(join(dir, 'pics'), { recursive: true });
  writeFileSync(join(dir, 'pics/cat.png'), decodeCase('png-rgb8').bytes);
  writeFileSync(join(dir, 'pics/dog.jpg'), decodeCase('jpeg-420').bytes);
  writeFileSync(join(dir, 'pics/deep.png'), gray16.bytes);
  writeFileSync(join(dir, 'notes.txt'), 'a photo of a red cat on the mat today');
  const png = decodeCase('png-rgba8').bytes;
  writeFileSync(join(dir, 'pics/cut.png'), png.subarray(0, png.length - 20));
  writeFileSync(join(dir, 'pics/fake.jpg'), 'this is not a photo');
  // Complete, so it passes the check when read, but its image data does not decode: skipped when embedded.
  const damaged = Buffer.from(decodeCase('png-gray8').bytes);
  damaged.fill(0x55, 41, 51);
  writeFileSync(join(dir, 'pics/damaged.png'), damaged);
  return dir;
}

const dot = (a: Float32Array, b: Float32Array) => a.reduce((s, v, i) => s + v * b[i]!, 0);

test('with a CLIP model, images become one-chunk documents holding the image vector; broken ones are skipped and named', async () => {
  const dir = folder('a');
  const store = new MemoryStore();
  const skipped: string[] = [];
  const converted: string[] = [];
  const summary = await ingest(store, dir, {
    embedder: clip,
    onSkip: (s) => skipped.push(`${s.path}: ${s.reason}: ${s.message}`),
    onImageConversion: (path, conversions) => converted.push(`${path}: ${conversions.join('; ')}`),
  });
  assert.deepEqual(converted, [`${join(dir, 'pics/deep.png')}: 16-bit grayscale expanded to RGB; 16-bit channels reduced to 8 bits (the high byte, as PIL reads 16-bit colour PNGs)`]);
  assert.equal(summary.added, 4);
  assert.equal(skipped.length, 3);
  assert.equal(summary.skipped.length, 3);
  assert.match(skipped.find((s) => s.includes('damaged.png'))!, /broken-image: the PNG cannot be decoded/);
  assert.match(skipped.find((s) => s.includes('cut.png'))!, /broken-image: the PNG is truncated/);
  assert.match(skipped.find((s) => s.includes('fake.jpg'))!, /broken-image: not an image/);
  const chunks = store.dump();
  const cat = chunks.find((c) => c.docId === 'pics/cat.png')!;
  assert.equal(cat.text, 'pics/cat.png');
  assert.equal(chunks.filter((c) => c.docId === 'pics/cat.png').length, 1);
  const [expected] = await clip.getImageEmbeddings([join(dir, 'pics/cat.png')]);
  const [stored] = (await store.vectors([cat.id])).values();
  assert.deepEqual(stored, expected);
  // Unchanged files (images too) are skipped by their hash on the next run.
  const again = await ingest(store, dir, { embedder: clip });
  assert.deepEqual([again.added, again.unchanged, again.skipped.length], [0, 4, 3]);
});

test('a text query ranks images and texts by CLIP similarity; an image query finds that image first', async () => {
  const dir = folder('b');
  const store = new MemoryStore();
  await ingest(store, dir, { embedder: clip });
  const results = await retrieve(store, 'cat', { mode: 'dense', embedder: clip, k: 4 });
  const [query] = await clip.getTextEmbeddings(['cat']);
  const vectors = await store.vectors(results.map((r) => r.chunk.id));
  // Scores are cosines with the query's text embedding, best first, over both kinds of document.
  results.forEach((r) => assert.ok(Math.abs(r.score - dot(query!, vectors.get(r.chunk.id)!)) < 1e-5));
  assert.deepEqual(new Set(results.map((r) => r.chunk.docId)), new Set(['pics/cat.png', 'pics/deep.png', 'pics/dog.jpg', 'notes.txt']));
  for (let i = 1; i < results.length; i++) assert.ok(results[i - 1]!.score >= results[i]!.score);

  const byImage = await retrieve(store, '', { mode: 'dense', embedder: await clip.imageQuery(join(dir, 'pics/dog.jpg')), k: 2 });
  assert.equal(byImage[0]!.chunk.docId, 'pics/dog.jpg');
  assert.ok(Math.abs(byImage[0]!.score - 1) < 1e-5);
});

test('without a model that embeds images, image files are skipped saying why', async () => {
  const textOnly: TextEmbedder = {
    modelId: 'text-only',
    dimension: 2,
    maxTokens: 64,
    countTokens: (t) => t.split(/\s+/).length,
    embed: async (texts: readonly string[], _role?: EmbeddingRole) => texts.map(() => Float32Array.of(1, 0)),
  };
  const dir = folder('c');
  for (const embedder of [undefined, textOnly]) {
    const skipped: string[] = [];
    const summary = await ingest(new MemoryStore(), dir, { ...(embedder && { embedder }), onSkip: (s) => s.reason === 'no-image-embedder' && skipped.push(s.message) });
    assert.equal(summary.added, 1); // notes.txt
    assert.equal(skipped.length, 4); // cat.png, damaged.png, deep.png, dog.jpg (cut.png and fake.jpg are broken before that)
    assert.match(skipped[0]!, embedder ? /an image, and text-only embeds text only: images need a model that embeds them \(CLIP\)/ : /there is no embedding model/);
  }
});
