/** `forja rag query "…"|--image FILE --store FILE|URL [--mode bm25|dense|hybrid] [--rerank ID] [--k N] [--json]` */
import type { Command } from 'commander';
import { Option } from 'commander';
import { RETRIEVAL_MODES, retrieve, type RetrievalMode, type RetrievalResult, type RetrieveOptions } from '../../../../rag/retrieve.js';
import { ClipModel } from '../../../../models/clip/clip-model.js';
import type { Store } from '../../../../rag/store/types.js';
import type { TextEmbedder, TextReranker } from '../../../../text/embedder.js';
import { CliError } from '../../errors.js';
import { numberInRange, positiveInt } from '../../options.js';
import { collect, FILTER_HELP, filterOf, loadReranker, openStore, queryEmbedder, ragError, releaseAll, warnTruncated, type FilterFlags } from './shared.js';

export interface RetrievalFlags extends FilterFlags {
  store: string;
  mode?: RetrievalMode;
  embedModel?: string;
  rerank?: string;
  rerankTop?: number;
  k: number;
  mmr?: number;
}

/** The retrieval flags `query` and `ask` share. */
export function retrievalOptions(command: Command, k: number): Command {
  return command
    .requiredOption('--store <file|url>', 'the store to search (a SQLite file or a postgres:// URL)')
    .addOption(new Option('--mode <mode>', 'bm25, dense or hybrid (default hybrid when the store has embeddings, else bm25)').choices(RETRIEVAL_MODES))
    .option('--embed-model <dir|id>', "the query embedder (default the store's own)")
    .option('--rerank <dir|id>', 'a cross-encoder that reorders the top candidates')
    .option('--rerank-top <n>', 'candidates the cross-encoder scores (default --k)', positiveInt('--rerank-top'))
    .option('--k <n>', `results (default ${k})`, positiveInt('--k'), k)
    .option('--mmr <lambda>', 'diversify with maximal marginal relevance (1 = relevance only, 0 = diversity only)', numberInRange('--mmr', 0, 1))
    .option('--path <glob>', FILTER_HELP.path)
    .option('--doc <id>', FILTER_HELP.doc, collect)
    .option('--pages <range>', FILTER_HELP.pages);
}

export interface OpenRetrieval {
  store: Store;
  embedder?: TextEmbedder & { release?(): Promise<void> };
  reranker?: TextReranker & { release?(): Promise<void> };
  options: RetrieveOptions;
  release(): Promise<void>;
}

export async function openRetrieval(flags: RetrievalFlags): Promise<OpenRetrieval> {
  const filter = filterOf(flags);
  const store = await openStore(flags.store);
  try {
    const embedder = await queryEmbedder(store, flags.embedModel, flags.mode === 'dense' || flags.mode === 'hybrid');
    const useEmbedder = flags.mode !== 'bm25' ? embedder : undefined;
    const reranker = flags.rerank === undefined ? undefined : await loadReranker(flags.rerank);
    const options: RetrieveOptions = {
      mode: flags.mode ?? (useEmbedder ? 'hybrid' : 'bm25'),
      k: flags.k,
      ...(filter && { filter }),
      ...(useEmbedder && { embedder: useEmbedder }),
      ...(reranker && { reranker }),
      ...(flags.rerankTop !== undefined && { rerankTop: flags.rerankTop }),
      ...(flags.mmr !== undefined && { mmr: { lambda: flags.mmr } }),
      onWarning: warnTruncated,
    };
    return { store, ...(embedder && { embedder }), ...(reranker && { reranker }), options, release: () => releaseAll(embedder, reranker, store) };
  } catch (err) {
    await store.close();
    throw err;
  }
}

const preview = (text: string, width = 160): string => {
  const flat = text.replace(/\s+/g, ' ').trim();
  return flat.length <= width ? flat : `${flat.slice(0, width - 1)}…`;
};

export function describeSource(r: RetrievalResult): string {
  const c = r.chunk;
  const page = c.page === undefined ? '' : ` p. ${c.page}`;
  const headings = c.headings.length ? ` › ${c.headings.join(' › ')}` : '';
  return `${c.path}${page} [${c.start}-${c.end}]${headings}`;
}

export function resultJson(r: RetrievalResult): Record<string, unknown> {
  const { chunk, score, rank, stages } = r;
  return { rank, score, docId: chunk.docId, path: chunk.path, title: chunk.title, page: chunk.page, start: chunk.start, end: chunk.end, headings: chunk.headings, chunkId: chunk.id, stages, text: chunk.text };
}

/** With --image: the query is that image's vector (dense search only), through the store's CLIP model. */
async function imageSearch(open: OpenRetrieval, image: string): Promise<RetrieveOptions> {
  const model = open.embedder;
  if (!(model instanceof ClipModel)) {
    throw new CliError(`--image searches by image, which needs a store built with a CLIP --embed-model; ${open.store.location} was built with ${model?.modelId ?? 'no embedding model'}`);
  }
  try {
    return { ...open.options, mode: 'dense', embedder: await model.imageQuery(image) };
  } catch (err) {
    throw ragError(`--image ${image}`, err);
  }
}

export function register(rag: Command): void {
  retrievalOptions(rag.command('query').description('Search a store by text (or by image with --image): each result with its score, source and offsets').argument('[query]', 'what to search for'), 10)
    .option('--image <file|url>', 'search by this PNG or JPEG instead of text: the stored images and texts nearest to it (a store built with a CLIP model)')
    .option('--json', 'print one JSON line per result', false)
    .action(async (query: string | undefined, flags: RetrievalFlags & { json: boolean; image?: string }) => {
      if ((query === undefined) === (flags.image === undefined)) throw new CliError('rag query: give a text query or --image FILE (one of the two)');
      if (flags.image !== undefined && flags.mode !== undefined && flags.mode !== 'dense') throw new CliError(`--image searches by vector alone: drop --mode ${flags.mode}`);
      if (flags.image !== undefined && flags.rerank !== undefined) throw new CliError('--image cannot be combined with --rerank: a cross-encoder scores text against text');
      const open = await openRetrieval(flags.image === undefined ? flags : { ...flags, mode: 'dense' });
      try {
        const options = flags.image === undefined ? open.options : await imageSearch(open, flags.image);
        const results = await retrieve(open.store, query ?? '', options).catch((err: unknown) => {
          throw ragError('rag query', err);
        });
        for (const r of results) {
          if (flags.json) process.stdout.write(`${JSON.stringify(resultJson(r))}\n`);
          else process.stdout.write(`${r.rank}. ${r.score.toFixed(4)}  ${describeSource(r)}\n   ${preview(r.chunk.text)}\n`);
        }
        if (results.length === 0 && !flags.json) process.stdout.write('no results\n');
      } finally {
        await open.release();
      }
    });
}
