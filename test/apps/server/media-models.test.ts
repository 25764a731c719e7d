/**
 * MediaModels.load as `forja serve` calls it: embedders by what their config says (sentence-transformers BERT
 * or CLIP), MNIST run directories that can draw, Whisper, and a RAG store whose own embedder is served too;
 * failures name the option and the value, and release what had loaded.
 */
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { MediaLoadError, MediaModels, servedName } from '../../../src/apps/server/media-models.js';
import { autoencoder } from '../../../src/models/mnist/autoencoder.js';
import { gan } from '../../../src/models/mnist/gan.js';
import { trainRun } from '../../../src/models/mnist/run.js';
import { loadSentenceEmbedder } from '../../../src/models/bert/embedder.js';
import { ingest } from '../../../src/rag/ingest.js';
import { createStore } from '../../../src/rag/store/open.js';
import pg from 'pg';
import { fixturePath } from '../../helpers/fixtures.js';
import { postgresUrl, stopPostgres } from '../../helpers/pg-server.js';
import { whisperModelDir } from '../../helpers/whisper.js';

describe('MediaModels.load', () => {
  let root: string;
  let whisper: string;
  let store: string;
  const settings = { epochs: 1, batchSize: 8, lr: 1e-3, seed: 1, limit: 8 };

  before(async () => {
    root = mkdtempSync(join(tmpdir(), 'forja-media-models-'));
    whisper = whisperModelDir();
    await trainRun(gan, { ...settings, outDir: join(root, 'gan-run') });
    await trainRun(autoencoder, { ...settings, outDir: join(root, 'ae-run') });
    const docs = join(root, 'docs');
    mkdirSync(docs);
    writeFileSync(join(docs, 'a.md'), '# A\n\nSome text about towers.\n');
    store = join(root, 'store.db');
    const s = await createStore(store);
    const embedder = await loadSentenceEmbedder(fixturePath('bert-tiny-embed'));
    await ingest(s, docs, { embedder });
    await embedder.release();
    await s.close();
  });
  after(() => {
    rmSync(root, { recursive: true, force: true });
    rmSync(whisper, { recursive: true, force: true });
  });

  test('every kind from the options, named after its directory, with /v1/models cards', async () => {
    const media = await MediaModels.load({ embedModels: [fixturePath('bert-tiny-embed'), fixturePath('clip-tiny')], imageModels: [join(root, 'gan-run')], whisperModels: [whisper], rag: store });
    try {
      assert.deepEqual(media.embedders.map((e) => [e.id, e.dimension]), [['bert-tiny-embed', 32], ['clip-tiny', 24]]);
      assert.deepEqual(media.images.map((m) => [m.id, m.kind]), [['gan-run', 'gan']]);
      assert.deepEqual(media.transcribers.map((t) => t.id), [servedName(whisper)]);
      // The store was built with bert-tiny-embed, which is already served: the same embedder is reused.
      assert.equal(media.rag?.embedder, media.embedders[0]);
      assert.deepEqual(media.cards().map((c) => [c.id, c.kind, c.owned_by]), [['bert-tiny-embed', 'embedding', 'forja'], ['clip-tiny', 'embedding', 'forja'], ['gan-run', 'image', 'forja'], [servedName(whisper), 'audio', 'forja']]);
    } finally {
      await media.release();
    }
  });

  test("a store's own embedding model is loaded and served when no --embed-model names it", async () => {
    const media = await MediaModels.load({ rag: store });
    try {
      assert.deepEqual(media.embedders.map((e) => e.id), ['bert-tiny-embed']);
      assert.equal(media.rag?.embedder, media.embedders[0]);
      assert.equal((await media.rag!.store.info()).documents, 1);
    } finally {
      await media.release();
    }
  });

  test('failures name the option and value: a run that cannot draw, a missing model, a clash of names', async () => {
    await assert.rejects(MediaModels.load({ imageModels: [join(root, 'ae-run')] }), (e: Error) => e instanceof MediaLoadError && e.flag === '--image-model' && /^--image-model .*ae-run: .* is a 'autoencoder' run, which reconstructs digits but cannot draw new ones/.test(e.message));
    await assert.rejects(MediaModels.load({ embedModels: [join(root, 'nowhere')] }), (e: Error) => e instanceof MediaLoadError && e.message.startsWith(`--embed-model ${join(root, 'nowhere')}: `));
    await assert.rejects(MediaModels.load({ whisperModels: [join(root, 'gan-run')] }), (e: Error) => /^--whisper-model .*gan-run: .*config\.json: "d_model"/.test(e.message));
    await assert.rejects(MediaModels.load({ embedModels: [fixturePath('bert-tiny-embed'), fixturePath('bert-tiny-embed')] }), /two models would both be served as "bert-tiny-embed"/);
  });
});

test('--rag takes a postgres:// URL (the store in its own schema), and names it without the password', async () => {
  const base = await postgresUrl();
  const schema = `media_${process.pid}`;
  const url = new URL(base);
  url.searchParams.set('schema', schema);
  const root = mkdtempSync(join(tmpdir(), 'forja-media-pg-'));
  const admin = new pg.Client({ connectionString: base });
  await admin.connect();
  try {
    const docs = join(root, 'docs');
    mkdirSync(docs);
    writeFileSync(join(docs, 'a.md'), '# A\n\nSome text about towers.\n');
    writeFileSync(join(docs, 'b.md'), '# B\n\nSome text about bridges.\n');
    const s = await createStore(url.toString());
    await ingest(s, docs);
    await s.close();
    const media = await MediaModels.load({ rag: url.toString() });
    try {
      assert.equal((await media.rag!.store.info()).documents, 2);
      assert.equal(media.rag!.embedder, undefined, 'a BM25-only store loads no embedder');
    } finally {
      await media.release();
    }
    const secret = new URL(url.toString());
    secret.username = 'nobody';
    secret.password = 's3cret';
    secret.port = '1';
    await assert.rejects(MediaModels.load({ rag: secret.toString() }), (e: Error) => e instanceof MediaLoadError && e.message.startsWith('--rag postgres://nobody@') && !e.message.includes('s3cret'));
  } finally {
    await admin.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
    await admin.end();
    await stopPostgres();
    rmSync(root, { recursive: true, force: true });
  }
});
