/** What every `forja rag` subcommand shares: opening the store and its models, wording library errors as flags. */
import { loadCrossEncoder, type CrossEncoder } from '../../../../models/bert/cross-encoder.js';
import { loadSentenceEmbedder, type SentenceEmbedder } from '../../../../models/bert/embedder.js';
import { ClipModel, isClipCheckpoint } from '../../../../models/clip/clip-model.js';
import { SettingsError } from '../../../../train/errors.js';
import { createStore } from '../../../../rag/store/open.js';
import type { ChunkFilter, Store } from '../../../../rag/store/types.js';
import type { RetrievalWarning } from '../../../../rag/retrieve.js';
import { downloadBars } from '../../download-progress.js';
import { CliError, cliErrorFrom, EXIT } from '../../errors.js';

/** Library setting names → the flags that set them. */
const FLAGS: Record<string, string> = {
  chunkSize: '--chunk-size', overlap: '--overlap', batchSize: '--batch-size', embedBatchSize: '--embed-batch-size',
  k: '--k', mode: '--mode', modes: '--mode', embedder: '--embed-model', reranker: '--rerank', rerankTop: '--rerank-top',
  'rerank.top': '--rerank-top', filter: '--path/--doc/--pages', mmr: '--mmr', 'mmr.lambda': '--mmr', minScore: '--min-score',
};
export const flagOf = (setting: string): string => FLAGS[setting] ?? setting;

/** A library error as the CLI says it: settings errors as usage errors naming flags. */
export function ragError(context: string, err: unknown): CliError {
  if (err instanceof SettingsError) return new CliError(`${context}: ${err.wordWith(flagOf)}`, EXIT.usage);
  return cliErrorFrom(context, err);
}

export async function openStore(location: string): Promise<Store> {
  try {
    return await createStore(location);
  } catch (err) {
    throw ragError(`--store ${location}`, err);
  }
}

/** A sentence-transformers model, or a CLIP model (which also embeds images). */
export type Embedder = SentenceEmbedder | ClipModel;

export async function loadEmbedder(id: string): Promise<Embedder> {
  const bars = downloadBars();
  try {
    // A model that cannot be resolved at all gets the sentence-transformers loader's error.
    const clip = await isClipCheckpoint(id, { onProgress: bars.onProgress }).catch(() => false);
    return clip ? await ClipModel.load(id, { onProgress: bars.onProgress }) : await loadSentenceEmbedder(id, { onProgress: bars.onProgress });
  } catch (err) {
    throw ragError(`--embed-model ${id}`, err);
  } finally {
    bars.stop();
  }
}

export async function loadReranker(id: string): Promise<CrossEncoder> {
  const bars = downloadBars();
  try {
    return await loadCrossEncoder(id, { onProgress: bars.onProgress });
  } catch (err) {
    throw ragError(`--rerank ${id}`, err);
  } finally {
    bars.stop();
  }
}

/** The embedder a query needs: --embed-model, else the one the store was built with, else none. */
export async function queryEmbedder(store: Store, flag: string | undefined, needed: boolean): Promise<Embedder | undefined> {
  const id = flag ?? (await store.info()).embedModel;
  if (id === undefined) {
    if (needed) throw new CliError(`${store.location} has no embeddings (ingested without --embed-model): use --mode bm25, or re-ingest with --embed-model`);
    return undefined;
  }
  return loadEmbedder(id);
}

export interface FilterFlags {
  path?: string;
  doc?: string[];
  pages?: string;
}

export const FILTER_HELP = {
  path: 'only documents whose path matches this glob (* within a folder, ** across)',
  doc: 'only these document ids (repeatable)',
  pages: 'only chunks on these PDF pages: N, N-M, N- or -M',
};

export function filterOf(flags: FilterFlags): ChunkFilter | undefined {
  const filter: ChunkFilter = {};
  if (flags.path !== undefined) filter.pathGlob = flags.path;
  if (flags.doc?.length) filter.docIds = flags.doc;
  if (flags.pages !== undefined) {
    const m = /^(\d*)\s*(-?)\s*(\d*)$/.exec(flags.pages.trim());
    if (!m || (m[1] === '' && m[3] === '') || (m[2] === '' && m[3] !== '')) throw new CliError(`--pages '${flags.pages}' is not N, N-M, N- or -M`);
    const from = m[1] ? Number(m[1]) : undefined;
    const to = m[2] ? (m[3] ? Number(m[3]) : undefined) : from;
    filter.pages = { ...(from !== undefined && { from }), ...(to !== undefined && { to }) };
  }
  return Object.keys(filter).length ? filter : undefined;
}

export const collect = (value: string, previous: string[] = []): string[] => [...previous, value];

export function warnTruncated(w: RetrievalWarning): void {
  process.stderr.write(`forja: warning: ${w.message}\n`);
}

/** Free the models' sessions and close the store, whatever happened. */
export async function releaseAll(...things: ({ release?(): Promise<void> } | { close(): Promise<void> } | undefined)[]): Promise<void> {
  for (const t of things) {
    if (!t) continue;
    if ('close' in t) await t.close();
    else await t.release?.();
  }
}
