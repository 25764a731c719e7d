/**
 * A fine-tuning dataset from files and folders: read, validate, tokenize and label, truncate to
 * maxLength, split (seeded), then pad or pack into rows. Bad records are counted and skipped (or
 * thrown at the first one when strict); the summary says what was read, kept and skipped, and where.
 *
 * Text files (.txt, .md) are documents for the causal-LM objective: joined with EOS and cut into
 * blocks of maxLength tokens (nothing is truncated). JSONL records are examples, each truncated to
 * maxLength (its start kept). The split holds out whole examples: records, or text blocks.
 */
import { epochOrder, batchCount } from '../../data/batches.js';
import { type CollateOptions, type Example, type FinetuneBatch, type Row, collate, packExamples, rowsOf, supervisedTokens, textBlocks, truncateExample } from '../../data/finetune/batching.js';
import { FinetuneDataError, ProblemLog, type RecordProblem, type SkipReport, formatLocation } from '../../data/finetune/problems.js';
import { type RecordFormat, looksLikeJsonArray, parseRecordLine } from '../../data/finetune/records.js';
import { type DataSource, type SourceKind, listSources, readLines, readTextDocument } from '../../data/finetune/sources.js';
import { splitExamples } from '../../data/finetune/split.js';
import { type AssistantMaskMethod, type FinetuneTokenizer, encodeDocument, recordEncoder } from './encode.js';

export interface FinetuneDataOptions {
  /** Longest row in tokens: records are truncated to it, text is cut into blocks of it. */
  maxLength: number;
  /** Pack several sequences into each row (position ids restart, segmentIds separate them). Default false: one per row. */
  packing?: boolean;
  /** Held-out examples: a fraction in (0, 1) or a count. Default 0. */
  validation?: number;
  /** Seeds the split (default 0). Batch order takes its own seed in `batches`. */
  seed?: number;
  /** Throw a BadRecordError at the first bad record instead of skipping it. Default false. */
  strict?: boolean;
  /** End text and completion records with EOS. Default: whenever the tokenizer has one. */
  appendEos?: boolean;
  /** Overrides the tokenizer's eos_token_id. */
  eosTokenId?: number;
  /** Overrides the pad id (default pad_token_id, else eos_token_id). */
  padTokenId?: number;
  /** Overrides the tokenizer's chat template. */
  chatTemplate?: string;
  /** 'max-length' (default): every batch is [B, maxLength], one step-graph signature. 'longest': pad to the batch's longest row. */
  padTo?: 'longest' | 'max-length';
  /** Round padded lengths up to a multiple of this (default 1). */
  padToMultipleOf?: number;
  /** How many skipped records the summary lists with file and line (default 10). */
  keepProblems?: number;
  /** Called after each file is read. */
  onFile?: (file: FileSummary) => void;
}

export interface FileSummary {
  path: string;
  kind: SourceKind;
  /** Records read (non-blank JSONL lines; 1 for a text file). */
  records: number;
  kept: number;
  skipped: number;
}

export interface SplitSummary {
  examples: number;
  rows: number;
  tokens: number;
  supervisedTokens: number;
}

export interface FinetuneDataSummary {
  files: FileSummary[];
  recordsRead: number;
  kept: number;
  skipped: SkipReport;
  /** Records cut to maxLength. */
  truncated: number;
  /** Kept records by format ('text-file' for text files). */
  formats: Partial<Record<RecordFormat | 'text-file', number>>;
  /** How chat assistant tokens were found; undefined without chat records. */
  assistantMask: AssistantMaskMethod | undefined;
  maxLength: number;
  packing: boolean;
  /** Tokens of all kept examples (train and validation), after truncation. */
  tokens: number;
  /** Of those, the tokens that take part in the loss. */
  supervisedTokens: number;
  train: SplitSummary;
  validation: SplitSummary;
}

export interface BatchesOptions {
  /** Each epoch gets its own order (default 0). */
  epoch?: number;
  /** Seeds the order (default 0). */
  seed?: number;
  /** Default true. */
  shuffle?: boolean;
  /** Skip a last batch smaller than batchSize (default false). */
  dropRemainder?: boolean;
}

/** The rows of one split, batched on demand. */
export class FinetuneSplit {
  readonly tokens: number;
  readonly supervisedTokens: number;

  constructor(
    readonly rows: readonly Row[],
    /** Examples (records or text blocks) in the rows. */
    readonly examples: number,
    private readonly collateOptions: CollateOptions,
  ) {
    this.tokens = rows.reduce((n, r) => n + r.inputIds.length, 0);
    this.supervisedTokens = rows.reduce((n, r) => n + supervisedTokens(r.labels, r.segmentStarts), 0);
  }

  get size(): number {
    return this.rows.length;
  }

  batchCount(batchSize: number, dropRemainder = false): number {
    return batchCount(this.rows.length, batchSize, dropRemainder);
  }

  /** Rows `indices` as one batch. */
  batch(indices: ArrayLike<number>): FinetuneBatch {
    return collate(this.rows, indices, this.collateOptions);
  }

  /** Batches covering every row once, in an order seeded by (seed, epoch). */
  *batches(batchSize: number, opts: BatchesOptions = {}): Generator<FinetuneBatch, void, undefined> {
    const n = this.batchCount(batchSize, opts.dropRemainder ?? false);
    const order = epochOrder(this.rows.length, { shuffle: opts.shuffle ?? true, seed: opts.seed ?? 0, epoch: opts.epoch ?? 0 });
    for (let i = 0; i < n; i++) yield this.batch(order.subarray(i * batchSize, Math.min((i + 1) * batchSize, order.length)));
  }

  summary(): SplitSummary {
    return { examples: this.examples, rows: this.rows.length, tokens: this.tokens, supervisedTokens: this.supervisedTokens };
  }
}

export interface FinetuneData {
  train: FinetuneSplit;
  /** Empty (size 0) without validation. */
  validation: FinetuneSplit;
  summary: FinetuneDataSummary;
  /** The pad id the batches use. */
  padTokenId: number;
}

function checkOptions(o: FinetuneDataOptions): void {
  const positive = (name: keyof FinetuneDataOptions, v: number | undefined, min: number): void => {
    if (v !== undefined && !(Number.isInteger(v) && v >= min)) throw new FinetuneDataError('option', `${name} must be an integer >= ${min}, got ${v}`, [], name);
  };
  if (o.maxLength === undefined) throw new FinetuneDataError('option', 'maxLength is required', [], 'maxLength');
  positive('maxLength', o.maxLength, 2);
  positive('padToMultipleOf', o.padToMultipleOf, 1);
  positive('keepProblems', o.keepProblems, 0);
  positive('eosTokenId', o.eosTokenId, 0);
  positive('padTokenId', o.padTokenId, 0);
}

/** Why nothing can be trained on, in the words of the skips. */
function refuse(log: ProblemLog, read: number, files: readonly string[], maxLength: number): never {
  const report = log.report();
  if (read === 0) throw new FinetuneDataError('no-data', `no records in ${files.join(', ')}`, files);
  const where = log.filesWithProblems();
  const first = report.first.slice(0, 3).map((p: RecordProblem) => `${formatLocation(p)}: ${p.message}`).join('; ');
  const masked = log.count('no-supervised-tokens');
  if (masked > 0) {
    throw new FinetuneDataError(
      'all-masked',
      `every label is masked in ${where.join(', ')}: ${masked} of ${read} records have no completion or assistant token within maxLength ` +
        `(${maxLength}) tokens, usually because the prompt alone is that long` +
        (masked < report.total ? `, and ${report.total - masked} more were skipped` : '') +
        ` (first: ${first})`,
      where,
    );
  }
  const reasons = Object.entries(report.byReason).map(([r, n]) => `${n} ${r}`).join(', ');
  throw new FinetuneDataError('no-data', `every one of the ${read} records was skipped (${reasons}); first: ${first}`, where);
}

interface Collected {
  examples: Example[];
  documents: Int32Array[];
  files: FileSummary[];
  formats: FinetuneDataSummary['formats'];
  truncated: number;
  read: number;
}

async function collect(sources: readonly DataSource[], tokenizer: FinetuneTokenizer, opts: FinetuneDataOptions, log: ProblemLog, eos: number | undefined): Promise<Collected & { assistantMask: AssistantMaskMethod | undefined }> {
  const template = opts.chatTemplate ?? tokenizer.chatTemplate;
  const encoder = recordEncoder(tokenizer, { appendEos: opts.appendEos ?? eos !== undefined, eosTokenId: eos, chatTemplate: template });
  const out: Collected = { examples: [], documents: [], files: [], formats: {}, truncated: 0, read: 0 };
  let sawChat = false;
  for (const src of sources) {
    const file: FileSummary = { path: src.path, kind: src.kind, records: 0, kept: 0, skipped: 0 };
    const skip = (p: RecordProblem): void => {
      file.skipped++;
      log.add(p);
    };
    if (src.kind === 'text') {
      file.records = 1;
      const text = await readTextDocument(src.path);
      if (text === undefined) skip({ file: src.path, reason: 'invalid-utf8', message: 'the file is not valid UTF-8' });
      else if (text.trim() === '') skip({ file: src.path, reason: 'empty-content', message: 'the file is empty' });
      else {
        out.documents.push(encodeDocument(text, tokenizer, eos));
        out.formats['text-file'] = (out.formats['text-file'] ?? 0) + 1;
        file.kept++;
      }
    } else {
      for await (const l of readLines(src.path)) {
        const loc = { file: src.path, line: l.line };
        if ('text' in l && l.text.trim() === '') continue;
        if (file.records === 0 && 'text' in l && looksLikeJsonArray(l.text)) {
          throw new FinetuneDataError('unreadable', `${src.path}:${l.line}: the file holds a JSON array; write one JSON object per line (JSONL)`, [src.path]);
        }
        file.records++;
        if (!('text' in l)) {
          skip({ ...loc, reason: 'invalid-utf8', message: 'the line is not valid UTF-8' });
          continue;
        }
        const parsed = parseRecordLine(l.text);
        if (!parsed.ok) {
          skip({ ...loc, reason: parsed.reason, message: parsed.message });
          continue;
        }
        if (parsed.record.format === 'chat' && template === undefined) {
          throw new FinetuneDataError('tokenizer', `${formatLocation(loc)}: a chat record, but the tokenizer has no chat template (no chat_template.jinja and none in tokenizer_config.json)`, [src.path]);
        }
        sawChat ||= parsed.record.format === 'chat';
        const encoded = encoder.encode(parsed.record);
        if (!encoded.ok) {
          skip({ ...loc, reason: encoded.reason, message: encoded.message });
          continue;
        }
        const { example, truncated } = truncateExample(encoded.example, opts.maxLength);
        if (supervisedTokens(example.labels) === 0) {
          const n = encoded.example.inputIds.length;
          const why = truncated ? `the first ${opts.maxLength} of its ${n} tokens (maxLength) hold no completion or assistant token` : `its ${n} tokens leave nothing to predict`;
          skip({ ...loc, reason: 'no-supervised-tokens', message: why });
          continue;
        }
        if (truncated) out.truncated++;
        out.examples.push(example);
        out.formats[parsed.record.format] = (out.formats[parsed.record.format] ?? 0) + 1;
        file.kept++;
      }
    }
    out.read += file.records;
    out.files.push(file);
    opts.onFile?.({ ...file });
  }
  return { ...out, assistantMask: sawChat ? encoder.assistantMask : undefined };
}

/**
 * Read `paths` (files or folders) into train and validation rows for `tokenizer`.
 * Throws FinetuneDataError when nothing can be trained on, BadRecordError (strict) at the first bad record.
 */
export async function loadFinetuneData(paths: string | readonly string[], tokenizer: FinetuneTokenizer, opts: FinetuneDataOptions): Promise<FinetuneData> {
  checkOptions(opts);
  const sources = await listSources(paths);
  const eos = opts.eosTokenId ?? tokenizer.eosTokenId;
  const files = sources.map((s) => s.path);
  if (eos === undefined && opts.appendEos === true) {
    throw new FinetuneDataError('tokenizer', 'appendEos is set but the tokenizer has no eos token; give eosTokenId', files, 'appendEos');
  }
  const padTokenId = opts.padTokenId ?? tokenizer.padTokenId ?? eos;
  if (padTokenId === undefined) throw new FinetuneDataError('tokenizer', 'the tokenizer has neither a pad token nor an eos token to pad with; give padTokenId', files, 'padTokenId');
  const log = new ProblemLog(opts.strict ?? false, opts.keepProblems ?? 10);
  const got = await collect(sources, tokenizer, opts, log, eos);
  if (got.documents.length > 1 && eos === undefined) {
    throw new FinetuneDataError('tokenizer', 'the tokenizer has no eos token to put between text documents; give eosTokenId', files, 'eosTokenId');
  }
  const examples = [...textBlocks(got.documents, opts.maxLength), ...got.examples];
  if (examples.length === 0) refuse(log, got.read, files, opts.maxLength);

  const split = splitExamples(examples.length, opts.validation ?? 0, opts.seed ?? 0);
  const packing = opts.packing ?? false;
  const collateOptions: CollateOptions = {
    padTokenId,
    padTo: opts.padTo ?? 'max-length',
    maxLength: opts.maxLength,
    ...(opts.padToMultipleOf !== undefined && { padToMultipleOf: opts.padToMultipleOf }),
  };
  const toSplit = (indices: Int32Array): FinetuneSplit => {
    const chosen = Array.from(indices, (i) => examples[i]!);
    return new FinetuneSplit(packing ? packExamples(chosen, opts.maxLength) : rowsOf(chosen), chosen.length, collateOptions);
  };
  const train = toSplit(split.train);
  const validation = toSplit(split.validation);
  const kept = got.files.reduce((n, f) => n + f.kept, 0);
  const summary: FinetuneDataSummary = {
    files: got.files,
    recordsRead: got.read,
    kept,
    skipped: log.report(),
    truncated: got.truncated,
    formats: got.formats,
    assistantMask: got.assistantMask,
    maxLength: opts.maxLength,
    packing,
    tokens: train.tokens + validation.tokens,
    supervisedTokens: train.supervisedTokens + validation.supervisedTokens,
    train: train.summary(),
    validation: validation.summary(),
  };
  return { train, validation, summary, padTokenId };
}
