/**
 * Ingestion: files, folders and BEIR corpora → chunks → terms (and vectors) → a Store, incrementally.
 *
 * The store's settings are bound first, so a store built with another analyzer, embedding model or
 * chunking is refused before anything is read. A source whose content hash and path match the stored
 * document is skipped without being parsed; a changed one replaces its document. Documents are written
 * in batches, one transaction each: a crash loses at most the batch in flight, and running again resumes,
 * since what was written is skipped by its hash. With `sync`, documents of an ingested folder (or corpus)
 * whose files are gone are deleted, after everything else is written; a file that is there but skipped
 * (now unreadable, binary...) keeps its stored document.
 */
import { StoreMismatchError } from './errors.js';
import { ANALYZER, termFrequencies } from './lexical/analyzer.js';
import { chunkText, DEFAULT_CHUNK_SIZE, DEFAULT_OVERLAP, type TextChunk } from './chunk/splitter.js';
import { whitespaceCounter } from './chunk/counter.js';
import { checkChunkSettings, checkInteger, IngestSettingsError } from './chunk/settings.js';
import { inScope, planSources, readSources, SourceSkipError, type SkippedSource, type SourceDocument, type SourceItem } from './sources/index.js';
import type { DocumentInput, Store, StoreSettings } from './store/types.js';
import type { TextEmbedder, TokenCounter } from '../text/embedder.js';
import { isImageEmbedder, type ImageEmbedder } from '../image/embedder.js';
import { ImageDecodeError } from '../image/errors.js';

export { IngestSettingsError } from './chunk/settings.js';

/** The text analyzer that fills the term index; its name is bound in the store. */
export interface Analyzer {
  readonly name: string;
  termFrequencies(text: string): ReadonlyMap<string, number>;
}

export const DEFAULT_ANALYZER: Analyzer = { name: ANALYZER, termFrequencies };
export const DEFAULT_BATCH_SIZE = 64;
export const DEFAULT_EMBED_BATCH_SIZE = 32;

export interface IngestProgress {
  /** Documents handled so far: written, unchanged or skipped. */
  done: number;
  /** Documents expected (a BEIR corpus counts its non-blank lines). */
  total: number;
  /** Chunks written so far. */
  chunks: number;
  skipped: number;
  docsPerSecond: number;
}

export interface IngestOptions {
  /**
   * Adds dense vectors (texts embedded with role 'passage'); its tokenizer then measures chunks. When it
   * also embeds images (a CLIP model: ImageEmbedder), PNG and JPEG files become one-chunk documents
   * whose vector is the image's, so text and image queries search them alongside the texts.
   */
  embedder?: TextEmbedder | (TextEmbedder & ImageEmbedder);
  /** Measures chunk sizes; default the embedder, else whitespace-separated words. */
  tokenCounter?: TokenCounter;
  /** Tokens per chunk; default what the store was built with, else 256 (or the embedder's maxTokens when fewer). */
  chunkSize?: number;
  /** Tokens a chunk repeats from the previous one; default what the store was built with, else 32 (an eighth of a smaller chunkSize). */
  overlap?: number;
  /** Delete stored documents of the ingested folders (and corpora) that are no longer there. */
  sync?: boolean;
  /** Documents per transaction; default 64. */
  batchSize?: number;
  /** Texts per embedder call; default 32. */
  embedBatchSize?: number;
  /** Default: forja-en-1 from src/rag/lexical. */
  analyzer?: Analyzer;
  onProgress?: (progress: IngestProgress) => void;
  /** Each skipped source, as it is skipped. */
  onSkip?: (skipped: SkippedSource) => void;
  /** Each image that was converted to reach 8-bit RGB (16-bit, CMYK, alpha...), with what was done. */
  onImageConversion?: (path: string, conversions: readonly string[]) => void;
  /** Stops between documents; batches already written stay. Ingest then rejects with the signal's reason. */
  signal?: AbortSignal;
}

export interface IngestSummary {
  added: number;
  updated: number;
  unchanged: number;
  deleted: number;
  skipped: SkippedSource[];
  /** Chunks written by this run. */
  chunks: number;
  seconds: number;
}

/** A document ready to write, with what it counts as. */
interface Pending {
  doc: SourceDocument;
  chunks: TextChunk[];
  replaces: boolean;
}

function settingsOf(options: IngestOptions, analyzer: Analyzer, chunkSize: number, overlap: number): StoreSettings {
  const e = options.embedder;
  return { analyzer: analyzer.name, embedModel: e?.modelId, dimension: e?.dimension, chunkSize, overlap };
}

async function embedAll(embedder: TextEmbedder, texts: readonly string[], batch: number): Promise<Float32Array[]> {
  const out: Float32Array[] = [];
  for (let i = 0; i < texts.length; i += batch) {
    const slice = texts.slice(i, i + batch);
    const vectors = await embedder.embed(slice, 'passage');
    if (vectors.length !== slice.length) throw new Error(`${embedder.modelId} returned ${vectors.length} vectors for ${slice.length} texts`);
    for (const v of vectors) {
      if (v.length !== embedder.dimension) throw new Error(`${embedder.modelId} returned a vector of ${v.length} values, not its dimension ${embedder.dimension}`);
      out.push(v);
    }
  }
  return out;
}

/**
 * Ingests `paths` (files, folders, BEIR corpus.jsonl files) into `store`. A named path that does not
 * exist throws a SourceUnreadableError before the store is touched; a source that cannot be read is
 * skipped, reported through `onSkip` and listed in the summary.
 */
export async function ingest(store: Store, paths: string | readonly string[], options: IngestOptions = {}): Promise<IngestSummary> {
  const started = performance.now();
  const list = typeof paths === 'string' ? [paths] : paths;
  const { embedder, signal } = options;
  const analyzer = options.analyzer ?? DEFAULT_ANALYZER;
  const counter = options.tokenCounter ?? embedder ?? whitespaceCounter;
  const batchSize = options.batchSize ?? DEFAULT_BATCH_SIZE;
  const embedBatchSize = options.embedBatchSize ?? DEFAULT_EMBED_BATCH_SIZE;
  checkInteger('batchSize', batchSize, 1);
  checkInteger('embedBatchSize', embedBatchSize, 1);
  if (options.chunkSize !== undefined) checkInteger('chunkSize', options.chunkSize, 1);
  if (options.overlap !== undefined) checkInteger('overlap', options.overlap, 0);
  signal?.throwIfAborted();

  const summary: IngestSummary = { added: 0, updated: 0, unchanged: 0, deleted: 0, skipped: [], chunks: 0, seconds: 0 };
  let done = 0;
  let total = 0;
  const report = (): void => {
    if (!options.onProgress) return;
    const seconds = (performance.now() - started) / 1000;
    options.onProgress({ done, total: Math.max(total, done), chunks: summary.chunks, skipped: summary.skipped.length, docsPerSecond: seconds > 0 ? done / seconds : 0 });
  };
  // Files skipped now may hold stored documents: a sync keeps those rather than lose them.
  const skippedFiles = new Set<string>();
  const skip = (s: SkippedSource): void => {
    summary.skipped.push(s);
    if (s.line === undefined) skippedFiles.add(s.path);
    done++;
    options.onSkip?.(s);
    report();
  };

  const plan = await planSources(list, skip);
  total = plan.total + done;
  // Chunking left unset follows what the store was built with, so a re-ingest needs no settings.
  const info = await store.info();
  const chunkSize = options.chunkSize ?? info.chunkSize ?? Math.min(DEFAULT_CHUNK_SIZE, embedder?.maxTokens ?? DEFAULT_CHUNK_SIZE);
  const overlap = options.overlap ?? info.overlap ?? Math.min(DEFAULT_OVERLAP, Math.floor(chunkSize / 8));
  checkChunkSettings(chunkSize, overlap);
  if (embedder && chunkSize > embedder.maxTokens) {
    throw new IngestSettingsError('chunkSize', `{chunkSize} (${chunkSize}) is more than ${embedder.modelId} reads (${embedder.maxTokens} tokens)`);
  }
  // Without an embedder the new chunks would have no vectors, which a dense store refuses.
  if (!embedder && info.embedModel !== undefined) throw new StoreMismatchError(store.location, 'embedModel', info.embedModel, 'none');
  await store.bind(settingsOf(options, analyzer, chunkSize, overlap));
  const stored = new Map((await store.documents()).map((d) => [d.id, d]));
  const seen = new Set<string>();

  let batch: Pending[] = [];
  const flush = async (): Promise<void> => {
    if (batch.length === 0) return;
    const { docs, broken } = await toInputs(batch, analyzer, embedder, embedBatchSize, options.onImageConversion);
    signal?.throwIfAborted();
    // Images that passed the structural check but not decoding: already counted as done, now skipped.
    for (const { pending, error } of broken) {
      const s: SkippedSource = { path: pending.doc.path, reason: 'broken-image', message: error.reason };
      summary.skipped.push(s);
      skippedFiles.add(s.path);
      options.onSkip?.(s);
    }
    batch = batch.filter((p) => !broken.some((b) => b.pending === p));
    if (docs.length > 0) await store.writeDocuments(docs);
    for (const p of batch) {
      if (p.replaces) summary.updated++;
      else summary.added++;
      summary.chunks += p.chunks.length;
    }
    batch = [];
    report();
  };

  for await (const item of readSources(plan, skip)) {
    signal?.throwIfAborted();
    seen.add(item.id);
    const old = stored.get(item.id);
    if (old && old.hash === item.hash && old.path === item.path) {
      summary.unchanged++;
      done++;
      report();
      continue;
    }
    const doc = await load(item, skip);
    if (!doc) continue;
    if (doc.format === 'image' && !isImageEmbedder(embedder)) {
      const model = embedder ? `${embedder.modelId} embeds text only` : 'there is no embedding model';
      skip({ path: doc.path, reason: 'no-image-embedder', message: `an image, and ${model}: images need a model that embeds them (CLIP)` });
      continue;
    }
    const chunks = doc.format === 'image' ? [imageChunk(doc)] : chunkText(doc, { chunkSize, overlap, counter });
    batch.push({ doc, chunks, replaces: old !== undefined });
    done++;
    if (batch.length >= batchSize) await flush();
    else report();
  }
  await flush();

  if (options.sync) {
    const gone = [...stored.values()].filter((d) => !seen.has(d.id) && !skippedFiles.has(d.path) && plan.scopes.some((s) => inScope(s, d.path))).map((d) => d.id);
    signal?.throwIfAborted();
    if (gone.length > 0) await store.deleteDocuments(gone);
    summary.deleted = gone.length;
  }
  summary.seconds = (performance.now() - started) / 1000;
  report();
  return summary;
}

async function load(item: SourceItem, skip: (s: SkippedSource) => void): Promise<SourceDocument | undefined> {
  try {
    return await item.load();
  } catch (err) {
    if (!(err instanceof SourceSkipError)) throw err;
    skip(err.skipped);
    return undefined;
  }
}

/** An image document is one chunk: its name as text (for BM25 and display), the image's vector. */
function imageChunk(doc: SourceDocument): TextChunk {
  return { ordinal: 0, text: doc.text, start: 0, end: doc.text.length, headings: [], tokens: 0 };
}

interface Broken {
  pending: Pending;
  error: ImageDecodeError;
}

/** Image vectors in batches; a batch with an image that does not decode is redone one image at a time. */
async function embedImages(embedder: ImageEmbedder, images: readonly Pending[], batch: number, onConversion: IngestOptions['onImageConversion']): Promise<{ vectors: Map<Pending, Float32Array>; broken: Broken[] }> {
  const vectors = new Map<Pending, Float32Array>();
  const broken: Broken[] = [];
  // A slice redone one image at a time would report its conversions again.
  const told = new Set<string>();
  const tell = (path: string, conversions: readonly string[]): void => {
    if (!told.has(path)) onConversion?.(path, conversions);
    told.add(path);
  };
  const run = async (slice: readonly Pending[]): Promise<void> => {
    const out = await embedder.embedImages(slice.map((p) => p.doc.path), onConversion ? { onConversion: tell } : {});
    if (out.length !== slice.length) throw new Error(`${embedder.modelId} returned ${out.length} vectors for ${slice.length} images`);
    slice.forEach((p, i) => {
      if (out[i]!.length !== embedder.dimension) throw new Error(`${embedder.modelId} returned a vector of ${out[i]!.length} values for ${p.doc.path}, not its dimension ${embedder.dimension}`);
      vectors.set(p, out[i]!);
    });
  };
  for (let i = 0; i < images.length; i += batch) {
    const slice = images.slice(i, i + batch);
    try {
      await run(slice);
    } catch (err) {
      if (!(err instanceof ImageDecodeError)) throw err;
      for (const p of slice) {
        try {
          await run([p]);
        } catch (e) {
          if (!(e instanceof ImageDecodeError)) throw e;
          broken.push({ pending: p, error: e });
        }
      }
    }
  }
  return { vectors, broken };
}

async function toInputs(
  batch: readonly Pending[],
  analyzer: Analyzer,
  embedder: TextEmbedder | undefined,
  embedBatchSize: number,
  onConversion: IngestOptions['onImageConversion'],
): Promise<{ docs: DocumentInput[]; broken: Broken[] }> {
  const texts = batch.filter((p) => p.doc.format !== 'image');
  const vectors = embedder ? await embedAll(embedder, texts.flatMap((p) => p.chunks.map((c) => c.text)), embedBatchSize) : undefined;
  const images = isImageEmbedder(embedder) ? await embedImages(embedder, batch.filter((p) => p.doc.format === 'image'), embedBatchSize, onConversion) : { vectors: new Map<Pending, Float32Array>(), broken: [] };
  let v = 0;
  const docs = batch
    .filter((p) => !images.broken.some((b) => b.pending === p))
    .map((p) => {
      const { doc, chunks } = p;
      const image = images.vectors.get(p);
      return {
        id: doc.id,
        path: doc.path,
        title: doc.title,
        hash: doc.hash,
        chunks: chunks.map((c) => ({
          ordinal: c.ordinal,
          text: c.text,
          start: c.start,
          end: c.end,
          page: c.page,
          headings: c.headings,
          terms: analyzer.termFrequencies(c.text),
          vector: image ?? vectors?.[v++],
        })),
      };
    });
  return { docs, broken: images.broken };
}
