/**
 * From token ids to model inputs: the tokenizer's own special-token template
 * (tokenizer.json's post_processor) applied after truncation, so truncation
 * never cuts [SEP]; padding; and batches of similar length.
 */
import { ConfigError } from '../transformer/config.js';

type Json = Readonly<Record<string, unknown>>;

/** One model input row before padding. */
export interface EncodedText {
  ids: number[];
  /** Segment of each id (0 for the first text, 1 for the second of a pair). */
  typeIds: number[];
}

type Piece = { special: number[]; typeId: number } | { sequence: 'A' | 'B'; typeId: number };

const isObject = (v: unknown): v is Json => v !== null && typeof v === 'object' && !Array.isArray(v);

/** Where a tokenizer puts its special tokens around one text or a pair (HF TemplateProcessing). */
export class SpecialTokenTemplate {
  private constructor(
    private readonly singlePieces: readonly Piece[],
    private readonly pairPieces: readonly Piece[],
  ) {}

  /** No special tokens: a tokenizer.json without a post_processor. */
  static none(): SpecialTokenTemplate {
    return new SpecialTokenTemplate([{ sequence: 'A', typeId: 0 }], [{ sequence: 'A', typeId: 0 }, { sequence: 'B', typeId: 1 }]);
  }

  /** From tokenizer.json's post_processor: TemplateProcessing, BertProcessing, or a Sequence holding one. */
  static fromTokenizerJson(tokenizerJson: Json, where: string): SpecialTokenTemplate {
    const pp = tokenizerJson.post_processor;
    if (pp === null || pp === undefined) return SpecialTokenTemplate.none();
    if (!isObject(pp)) throw new ConfigError(`${where}: "post_processor" must be an object, received ${JSON.stringify(pp)}`);
    if (pp.type === 'Sequence' && Array.isArray(pp.processors)) {
      const inner = pp.processors.filter((p) => isObject(p) && (p.type === 'TemplateProcessing' || p.type === 'BertProcessing'));
      if (inner.length === 0) return SpecialTokenTemplate.none();
      return SpecialTokenTemplate.fromTokenizerJson({ post_processor: inner[0] }, where);
    }
    if (pp.type === 'BertProcessing') {
      const cls = specialPair(pp.cls, `${where} post_processor.cls`);
      const sep = specialPair(pp.sep, `${where} post_processor.sep`);
      return new SpecialTokenTemplate(
        [{ special: [cls], typeId: 0 }, { sequence: 'A', typeId: 0 }, { special: [sep], typeId: 0 }],
        [{ special: [cls], typeId: 0 }, { sequence: 'A', typeId: 0 }, { special: [sep], typeId: 0 }, { sequence: 'B', typeId: 1 }, { special: [sep], typeId: 1 }],
      );
    }
    if (pp.type === 'TemplateProcessing') {
      const specials = isObject(pp.special_tokens) ? pp.special_tokens : {};
      const parse = (key: 'single' | 'pair'): Piece[] => {
        const list = pp[key];
        if (!Array.isArray(list)) throw new ConfigError(`${where}: post_processor.${key} must be a list, received ${JSON.stringify(list)}`);
        return list.map((item, i) => templatePiece(item, specials, `${where} post_processor.${key}[${i}]`));
      };
      return new SpecialTokenTemplate(parse('single'), parse('pair'));
    }
    throw new ConfigError(`${where}: post_processor type ${JSON.stringify(pp.type)} is not supported (supported: TemplateProcessing, BertProcessing)`);
  }

  /** Special tokens the template adds around one text. */
  get singleSpecials(): number {
    return countSpecials(this.singlePieces);
  }

  get pairSpecials(): number {
    return countSpecials(this.pairPieces);
  }

  single(a: readonly number[]): EncodedText {
    return fill(this.singlePieces, a, []);
  }

  pair(a: readonly number[], b: readonly number[]): EncodedText {
    return fill(this.pairPieces, a, b);
  }
}

function specialPair(v: unknown, where: string): number {
  if (!Array.isArray(v) || typeof v[1] !== 'number') throw new ConfigError(`${where}: expected ["token", id], received ${JSON.stringify(v)}`);
  return v[1];
}

function templatePiece(item: unknown, specials: Json, where: string): Piece {
  if (isObject(item) && isObject(item.Sequence)) {
    const { id, type_id } = item.Sequence;
    if (id !== 'A' && id !== 'B') throw new ConfigError(`${where}: sequence id must be "A" or "B", received ${JSON.stringify(id)}`);
    return { sequence: id, typeId: typeof type_id === 'number' ? type_id : 0 };
  }
  if (isObject(item) && isObject(item.SpecialToken)) {
    const { id, type_id } = item.SpecialToken;
    const entry = typeof id === 'string' ? specials[id] : undefined;
    const ids = isObject(entry) ? entry.ids : undefined;
    if (!Array.isArray(ids) || !ids.every((x) => Number.isInteger(x))) {
      throw new ConfigError(`${where}: special token ${JSON.stringify(id)} has no ids in post_processor.special_tokens`);
    }
    return { special: ids as number[], typeId: typeof type_id === 'number' ? type_id : 0 };
  }
  throw new ConfigError(`${where}: expected {"Sequence": …} or {"SpecialToken": …}, received ${JSON.stringify(item)}`);
}

const countSpecials = (pieces: readonly Piece[]): number => pieces.reduce((n, p) => n + ('special' in p ? p.special.length : 0), 0);

function fill(pieces: readonly Piece[], a: readonly number[], b: readonly number[]): EncodedText {
  const ids: number[] = [];
  const typeIds: number[] = [];
  for (const p of pieces) {
    const part = 'special' in p ? p.special : p.sequence === 'A' ? a : b;
    for (const id of part) {
      ids.push(id);
      typeIds.push(p.typeId);
    }
  }
  return { ids, typeIds };
}

/**
 * Lengths of (query, passage) that fit `budget` tokens. The passage is cut and the
 * query kept whole, unless that leaves the passage less than half the budget (or
 * less than all of itself, when shorter): then the query is cut instead, so a
 * runaway query cannot crowd out the text being scored.
 */
export function pairLengths(query: number, passage: number, budget: number): [number, number] {
  if (query + passage <= budget) return [query, passage];
  if (query <= budget - Math.min(passage, Math.floor(budget / 2))) return [query, budget - query];
  const p = Math.min(passage, Math.floor(budget / 2));
  return [budget - p, p];
}

/** A padded batch, row-major [rows, length], ready to be fed as int64. */
export interface PaddedBatch {
  rows: number;
  length: number;
  inputIds: BigInt64Array;
  attentionMask: BigInt64Array;
  tokenTypeIds: BigInt64Array;
}

/** Right-pad `texts` to the longest with `padId` (attention 0, type 0 there). */
export function padBatch(texts: readonly EncodedText[], padId: number): PaddedBatch {
  const length = Math.max(1, ...texts.map((t) => t.ids.length));
  const size = texts.length * length;
  const batch: PaddedBatch = {
    rows: texts.length,
    length,
    inputIds: new BigInt64Array(size).fill(BigInt(padId)),
    attentionMask: new BigInt64Array(size),
    tokenTypeIds: new BigInt64Array(size),
  };
  texts.forEach((t, r) => {
    t.ids.forEach((id, i) => {
      batch.inputIds[r * length + i] = BigInt(id);
      batch.attentionMask[r * length + i] = 1n;
      batch.tokenTypeIds[r * length + i] = BigInt(t.typeIds[i]!);
    });
  });
  return batch;
}

export interface BatchLimits {
  /** Rows per batch. */
  batchSize: number;
  /** Rows × padded length per batch, which bounds attention memory for long inputs. */
  maxBatchTokens: number;
}

/**
 * Indices of `lengths` grouped into batches of similar length (longest first),
 * so little padding is computed; callers put results back by index.
 */
export function lengthBatches(lengths: readonly number[], { batchSize, maxBatchTokens }: BatchLimits): number[][] {
  const order = lengths.map((_, i) => i).sort((a, b) => lengths[b]! - lengths[a]! || a - b);
  const batches: number[][] = [];
  let current: number[] = [];
  for (const i of order) {
    // Longest first: the batch's padded length is its first row's.
    const padded = current.length ? lengths[current[0]!]! : lengths[i]!;
    if (current.length && (current.length >= batchSize || (current.length + 1) * padded > maxBatchTokens)) {
      batches.push(current);
      current = [];
    }
    current.push(i);
  }
  if (current.length) batches.push(current);
  return batches;
}
