/** `forja rag ingest` of images with a CLIP model, and `forja rag query` by text and by --image. */
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { fixturePath } from '../../../../helpers/fixtures.js';
import { forja, lastJsonLine } from '../../../../helpers/forja-cli.js';
import { decodeCase, gray16 } from '../../../../image/fixtures/pil-goldens.js';
import { clipTinyWithTokenizer } from '../../../../models/clip/clip-tiny.js';

const tmp = mkdtempSync(join(tmpdir(), 'forja-cli-rag-images-'));
after(() => rmSync(tmp, { recursive: true, force: true }));
const clip = clipTinyWithTokenizer(tmp);
const docs = join(tmp, 'docs');
const store = join(tmp, 'store.sqlite');
const jsonLines = (stdout: string) => stdout.trim().split('\n').filter(Boolean).map((l) => JSON.parse(l) as Record<string, unknown>);

before(async () => {
  mkdirSync(join(docs, 'pics'), { recursive: true });
  writeFileSync(join(docs, 'pics', 'cat.png'), decodeCase('png-rgb8').bytes);
  writeFileSync(join(docs, 'pics', 'dog.jpg'), decodeCase('jpeg-444').bytes);
  writeFileSync(join(docs, 'pics', 'cut.jpg'), decodeCase('jpeg-444').bytes.subarray(0, 300));
  writeFileSync(join(docs, 'pics', 'deep.png'), gray16.bytes);
  writeFileSync(join(docs, 'notes.txt'), 'a photo of a red cat on the mat');
  const run = await forja(['rag', 'ingest', docs, '--store', store, '--embed-model', clip, '--json']);
  assert.equal(run.code, 0, run.stderr);
  const summary = lastJsonLine(run.stdout);
  assert.deepEqual([summary.added, summary.skipped], [4, 1]);
  assert.match(run.stderr, /skipped .*cut\.jpg: the JPEG is truncated/);
  assert.match(run.stderr, /note: .*deep\.png: 16-bit grayscale expanded to RGB; 16-bit channels reduced to 8 bits/);
});

test('ingest with a CLIP model indexes images beside texts; a text model skips images and says how to index them', async () => {
  const text = await forja(['rag', 'ingest', docs, '--store', join(tmp, 'text.sqlite'), '--embed-model', fixturePath('bert-tiny-embed'), '--chunk-size', '64', '--json']);
  assert.equal(text.code, 0, text.stderr);
  assert.match(text.stderr, /skipped .*cat\.png: an image, and .*bert-tiny-embed embeds text only: images need a model that embeds them \(CLIP\) \(ingest with a CLIP model as --embed-model to index images\)/);
});

test('a text query finds images; --image finds that image first with cosine 1', async () => {
  const byText = await forja(['rag', 'query', 'cat', '--store', store, '--mode', 'dense', '--k', '4', '--json']);
  assert.equal(byText.code, 0, byText.stderr);
  assert.deepEqual(new Set(jsonLines(byText.stdout).map((r) => r.docId)), new Set(['pics/cat.png', 'pics/deep.png', 'pics/dog.jpg', 'notes.txt']));
  const byImage = await forja(['rag', 'query', '--image', join(docs, 'pics', 'cat.png'), '--store', store, '--k', '2', '--json']);
  assert.equal(byImage.code, 0, byImage.stderr);
  const [top] = jsonLines(byImage.stdout);
  assert.equal(top!.docId, 'pics/cat.png');
  assert.ok(Math.abs((top!.score as number) - 1) < 1e-5);
  const plain = await forja(['rag', 'query', '--image', join(docs, 'pics', 'dog.jpg'), '--store', store, '--k', '1']);
  assert.match(plain.stdout, /^1\. 1\.0000 {2}.*dog\.jpg/);
});

test('--image errors name the flag', async () => {
  const both = await forja(['rag', 'query', 'cat', '--image', join(docs, 'pics', 'cat.png'), '--store', store]);
  assert.equal(both.code, 2);
  assert.match(both.stderr, /give a text query or --image FILE \(one of the two\)/);
  const mode = await forja(['rag', 'query', '--image', join(docs, 'pics', 'cat.png'), '--store', store, '--mode', 'hybrid']);
  assert.equal(mode.code, 2);
  assert.match(mode.stderr, /--image searches by vector alone: drop --mode hybrid/);
  const broken = await forja(['rag', 'query', '--image', join(docs, 'pics', 'cut.jpg'), '--store', store]);
  assert.notEqual(broken.code, 0);
  assert.match(broken.stderr, /--image .*cut\.jpg: .*the JPEG is truncated/);
  const textStore = await forja(['rag', 'query', '--image', join(docs, 'pics', 'cat.png'), '--store', join(tmp, 'text.sqlite')]);
  assert.equal(textStore.code, 2);
  assert.match(textStore.stderr, /--image searches by image, which needs a store built with a CLIP --embed-model; .*text\.sqlite was built with .*bert-tiny-embed/);
});
