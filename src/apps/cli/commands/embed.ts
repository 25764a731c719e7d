/**
 * `forja embed --model DIR|ID [--query] TEXT... | --file FILE [--json]`: sentence embeddings,
 * one JSON line per text in input order: the vector as an array, or with --json an object
 * {index, tokens, truncated, embedding}. --file reads one text per line ('-' is stdin).
 */
import { readFile } from 'node:fs/promises';
import type { Command } from 'commander';
import { loadSentenceEmbedder, type SentenceEmbedder } from '../../../models/bert/embedder.js';
import { downloadBars } from '../download-progress.js';
import { CliError, cliErrorFrom } from '../errors.js';

interface EmbedFlags {
  model: string;
  file?: string;
  query?: boolean;
  prefix?: string;
  json?: boolean;
}

async function readStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

async function readTexts(texts: string[], file: string | undefined): Promise<string[]> {
  if (file === undefined) {
    if (texts.length === 0) throw new CliError('embed: give texts to embed as arguments, or --file FILE');
    return texts;
  }
  if (texts.length > 0) throw new CliError('embed: give texts as arguments or --file, not both');
  let content: string;
  try {
    content = file === '-' ? await readStdin() : await readFile(file, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw new CliError(code === 'ENOENT' ? `--file '${file}' does not exist` : `--file '${file}' cannot be read (${code ?? (err as Error).message})`);
  }
  const lines = content.split(/\r?\n/);
  if (lines.at(-1) === '') lines.pop();
  return lines;
}

export async function run(texts: string[], flags: EmbedFlags): Promise<void> {
  const inputs = await readTexts(texts, flags.file);
  const role = flags.query ? 'query' : 'passage';
  const bars = downloadBars();
  let embedder: SentenceEmbedder;
  try {
    embedder = await loadSentenceEmbedder(flags.model, {
      onProgress: bars.onProgress,
      ...(flags.prefix !== undefined && { prefixes: { [role]: flags.prefix } }),
      onTruncate: (i, tokens, max) => process.stderr.write(`forja: warning: text ${i + 1} has ${tokens} tokens; only the first ${max} (the model's limit) are embedded\n`),
    });
  } catch (err) {
    throw cliErrorFrom(`embed --model ${flags.model}`, err);
  } finally {
    bars.stop();
  }
  try {
    const vectors = await embedder.embed(inputs, role).catch((err: unknown) => {
      throw cliErrorFrom('embed', err);
    });
    vectors.forEach((v, index) => {
      const embedding = Array.from(v);
      if (!flags.json) return process.stdout.write(`${JSON.stringify(embedding)}\n`);
      const encoded = embedder.tokenize(inputs[index]!, role);
      process.stdout.write(`${JSON.stringify({ index, tokens: encoded.ids.length, truncated: encoded.truncatedFrom !== undefined, embedding })}\n`);
    });
  } finally {
    await embedder.release();
  }
}

export function register(program: Command): void {
  program
    .command('embed')
    .description('Embed texts with a sentence-transformers model: one JSON line per text')
    .argument('[texts...]', 'texts to embed')
    .requiredOption('--model <dir|id>', 'sentence-transformers model directory or hub id (modules.json, 1_Pooling, 2_Normalize)')
    .option('--file <file>', "one text per line ('-' reads stdin)")
    .option('--query', "embed the texts as queries (the model's query prompt) instead of passages")
    .option('--prefix <text>', 'text put before each input instead of the model\'s prompt (e5: "query: " or "passage: ")')
    .option('--json', 'print {index, tokens, truncated, embedding} objects instead of bare vectors')
    .action(run);
}
