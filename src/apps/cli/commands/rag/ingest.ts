/** `forja rag ingest PATH... --store FILE|URL [--embed-model ID] [--chunk-size N] [--overlap N] [--sync] [--json]` */
import cliProgress from 'cli-progress';
import type { Command } from 'commander';
import { ingest, type IngestSummary } from '../../../../rag/ingest.js';
import type { SkippedSource } from '../../../../rag/sources/types.js';
import { CliError, EXIT } from '../../errors.js';
import { interruptible } from '../../interrupt.js';
import { positiveInt } from '../../options.js';
import { loadEmbedder, openStore, ragError, releaseAll } from './shared.js';

interface IngestFlags {
  store: string;
  embedModel?: string;
  chunkSize?: number;
  overlap?: number;
  batchSize?: number;
  sync: boolean;
  json: boolean;
}

const where = (s: SkippedSource): string => (s.line === undefined ? s.path : `${s.path}:${s.line}`);

export function register(rag: Command): void {
  rag
    .command('ingest')
    .description('Add files, folders (.txt .md .html .pdf; .png .jpg with a CLIP --embed-model) or a BEIR corpus.jsonl to a store; unchanged documents are skipped')
    .argument('<paths...>', 'files, folders or corpus.jsonl files')
    .requiredOption('--store <file|url>', 'a SQLite file (created if missing) or a postgres:// URL')
    .option('--embed-model <dir|id>', 'a sentence-transformers model for dense vectors, or a CLIP model, which embeds images too (the store remembers it)')
    .option('--chunk-size <n>', 'tokens per chunk, measured with the embedding model\'s tokenizer (default 256)', positiveInt('--chunk-size'))
    .option('--overlap <n>', 'tokens a chunk repeats from the one before (default 32)', positiveInt('--overlap'))
    .option('--batch-size <n>', 'documents per transaction (default 64)', positiveInt('--batch-size'))
    .option('--sync', 'remove stored documents whose files are gone from the ingested folders', false)
    .option('--json', 'print the summary as one JSON line', false)
    .action(async (paths: string[], flags: IngestFlags) => run(paths, flags));
}

async function run(paths: string[], flags: IngestFlags): Promise<void> {
  const store = await openStore(flags.store);
  const embedder = flags.embedModel === undefined ? undefined : await loadEmbedder(flags.embedModel);
  const tty = process.stderr.isTTY && !flags.json;
  const bar = new cliProgress.SingleBar({ format: 'ingest [{bar}] {value}/{total} documents | {chunks} chunks | {rate} docs/s | {skipped} skipped', hideCursor: true, stream: process.stderr }, cliProgress.Presets.shades_classic);
  let started = false;
  let summary: IngestSummary;
  try {
    summary = await interruptible(
      (signal) => ingest(store, paths, {
        ...(embedder && { embedder }),
        ...(flags.chunkSize !== undefined && { chunkSize: flags.chunkSize }),
        ...(flags.overlap !== undefined && { overlap: flags.overlap }),
        ...(flags.batchSize !== undefined && { batchSize: flags.batchSize }),
        sync: flags.sync,
        signal,
        onSkip: (s) => {
          if (tty) bar.stop();
          const hint = s.reason === 'no-image-embedder' ? ' (ingest with a CLIP model as --embed-model to index images)' : '';
          process.stderr.write(`forja: skipped ${where(s)}: ${s.message}${hint}\n`);
          started = false;
        },
        onImageConversion: (path, conversions) => {
          if (tty) bar.stop();
          process.stderr.write(`forja: note: ${path}: ${conversions.join('; ')}\n`);
          started = false;
        },
        onProgress: (p) => {
          if (!tty) return;
          const payload = { chunks: p.chunks, rate: p.docsPerSecond.toFixed(0), skipped: p.skipped };
          if (!started) {
            bar.start(p.total, p.done, payload);
            started = true;
          } else bar.update(p.done, payload);
        },
      }),
      'stopping after this batch; the documents written so far stay (run the same command again to go on)',
    );
  } catch (err) {
    if (err instanceof DOMException && err.name === 'AbortError') throw new CliError('rag ingest: interrupted; run the same command again to resume (written documents are skipped)', EXIT.interrupted);
    throw ragError('rag ingest', err);
  } finally {
    if (tty) bar.stop();
    await releaseAll(embedder, store);
  }
  const info = { store: store.location, ...summary, skipped: summary.skipped.length, skippedFiles: summary.skipped.map((s) => ({ path: where(s), reason: s.reason })) };
  if (flags.json) process.stdout.write(`${JSON.stringify(info)}\n`);
  else {
    process.stdout.write(
      `${store.location}: ${summary.added} added, ${summary.updated} updated, ${summary.unchanged} unchanged, ${summary.deleted} deleted, ` +
        `${summary.skipped.length} skipped; ${summary.chunks} chunks written in ${summary.seconds.toFixed(1)} s\n`,
    );
  }
}
