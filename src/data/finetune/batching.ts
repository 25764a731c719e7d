/**
 * Tokenized fine-tuning sequences → rows → batches.
 *
 * Labels follow transformers: unshifted, -100 where no loss is taken; the model shifts them
 * (logits[t] predicts labels[t + 1]), so labels[0] of a row never counts.
 *
 * A row holds one sequence (padding) or several (packing). Each sequence of a row is a segment:
 * its position ids restart at 0, and a training graph must keep attention inside it, causal:
 *   token q may attend to token k  ⇔  segmentIds[q] = segmentIds[k] ≠ 0  and  k ≤ q.
 * `packedAttentionMask` spells that out as a [B, T, T] mask. A segment's first label is -100, as
 * transformers' DataCollatorWithFlattening does, so no token is predicted from another sequence.
 */

/** transformers' ignore_index. */
export const IGNORE_INDEX = -100;

/** One tokenized sequence: ids and unshifted labels (-100 = no loss), of equal length. */
export interface Example {
  inputIds: Int32Array;
  labels: Int32Array;
  /** Where documents start inside the sequence (ascending, first 0); absent = one document. */
  documentStarts?: Int32Array;
}

/** A batch row before padding: one or more sequences, each starting a segment. */
export interface Row {
  inputIds: Int32Array;
  /** Labels with every segment's first label -100. */
  labels: Int32Array;
  /** Offsets where segments start (ascending, first 0). */
  segmentStarts: Int32Array;
}

/** Cut to the first `maxLength` tokens (the start is kept, as transformers truncates on the right). */
export function truncateExample(ex: Example, maxLength: number): { example: Example; truncated: boolean } {
  if (ex.inputIds.length <= maxLength) return { example: ex, truncated: false };
  const example: Example = { inputIds: ex.inputIds.slice(0, maxLength), labels: ex.labels.slice(0, maxLength) };
  if (ex.documentStarts) example.documentStarts = ex.documentStarts.filter((s) => s < maxLength);
  return { example, truncated: true };
}

/** Labels that take part in the loss: not -100, and not at a segment's first position. */
export function supervisedTokens(labels: Int32Array, segmentStarts: ArrayLike<number> = [0]): number {
  let n = 0;
  for (let t = 1; t < labels.length; t++) if (labels[t] !== IGNORE_INDEX) n++;
  for (let j = 0; j < segmentStarts.length; j++) {
    const s = segmentStarts[j]!;
    if (s > 0 && labels[s] !== IGNORE_INDEX) n--;
  }
  return n;
}

/**
 * Documents (each already ending in EOS) joined into one stream and cut into blocks of `maxLength`
 * tokens, as transformers' run_clm group_texts does, but keeping a short last block (if it has
 * something to predict) and remembering where each document starts. Labels are the ids.
 */
export function textBlocks(documents: readonly Int32Array[], maxLength: number): Example[] {
  const total = documents.reduce((n, d) => n + d.length, 0);
  const stream = new Int32Array(total);
  const starts: number[] = [];
  let at = 0;
  for (const d of documents) {
    if (d.length === 0) continue;
    starts.push(at);
    stream.set(d, at);
    at += d.length;
  }
  const blocks: Example[] = [];
  let next = 0;
  for (let b = 0; b < total; b += maxLength) {
    const end = Math.min(b + maxLength, total);
    if (end - b < 2) break;
    const inside: number[] = [0];
    while (next < starts.length && starts[next]! < end) {
      if (starts[next]! > b) inside.push(starts[next]! - b);
      next++;
    }
    const ids = stream.slice(b, end);
    blocks.push({ inputIds: ids, labels: ids.slice(), documentStarts: Int32Array.from(inside) });
  }
  return blocks;
}

function concatRow(parts: readonly Example[]): Row {
  const length = parts.reduce((n, p) => n + p.inputIds.length, 0);
  const inputIds = new Int32Array(length);
  const labels = new Int32Array(length);
  const starts: number[] = [];
  let at = 0;
  for (const p of parts) {
    inputIds.set(p.inputIds, at);
    labels.set(p.labels, at);
    for (const s of p.documentStarts ?? [0]) starts.push(at + s);
    at += p.inputIds.length;
  }
  for (const s of starts) if (s > 0) labels[s] = IGNORE_INDEX;
  return { inputIds, labels, segmentStarts: Int32Array.from(starts) };
}

/** One row per example (padding). */
export function rowsOf(examples: readonly Example[]): Row[] {
  return examples.map((e) => concatRow([e]));
}

/**
 * Examples packed into rows of at most `maxLength` tokens by first-fit decreasing (longest first,
 * each into the first row with room; ties keep reading order), so rows are nearly full and the
 * result depends only on the lengths. A segment tree over the rows' free space finds the first
 * row with room in O(log n).
 */
export function packExamples(examples: readonly Example[], maxLength: number): Row[] {
  const n = examples.length;
  if (n === 0) return [];
  for (const [i, e] of examples.entries()) {
    if (e.inputIds.length > maxLength) throw new RangeError(`packExamples: example ${i} has ${e.inputIds.length} tokens, more than maxLength ${maxLength}`);
  }
  const order = [...examples.keys()].sort((a, b) => examples[b]!.inputIds.length - examples[a]!.inputIds.length || a - b);
  let size = 1;
  while (size < n) size *= 2;
  // free[size + i] is row i's free space; inner nodes hold the maximum below them.
  const free = new Int32Array(2 * size).fill(maxLength);
  const members: number[][] = [];
  for (const i of order) {
    const len = examples[i]!.inputIds.length;
    let node = 1;
    while (node < size) node = free[2 * node]! >= len ? 2 * node : 2 * node + 1;
    const row = node - size;
    (members[row] ??= []).push(i);
    free[node] = free[node]! - len;
    for (node >>= 1; node >= 1; node >>= 1) free[node] = Math.max(free[2 * node]!, free[2 * node + 1]!);
  }
  return members.map((m) => concatRow(m.map((i) => examples[i]!)));
}

export interface CollateOptions {
  /** Token id of padding (pad_token_id, else eos_token_id). */
  padTokenId: number;
  /** 'longest': pad to the longest row of the batch; 'max-length': always to maxLength (one graph signature). */
  padTo: 'longest' | 'max-length';
  maxLength: number;
  /** Round the padded length up to a multiple of this (default 1), to bound the number of shapes. */
  padToMultipleOf?: number;
}

/** What a training step feeds: row-major [batchSize, seqLength] tensors, right padded. */
export interface FinetuneBatch {
  batchSize: number;
  seqLength: number;
  inputIds: BigInt64Array;
  /** 1 on tokens, 0 on padding. */
  attentionMask: BigInt64Array;
  /** Unshifted (the model shifts), -100 on prompts, padding and each segment's first token. */
  labels: BigInt64Array;
  /** Restart at 0 at each segment; 0 on padding. */
  positionIds: BigInt64Array;
  /** 1, 2, ... for the segments of a row, 0 on padding. */
  segmentIds: Int32Array;
  /** Some row holds several sequences: attention must follow segmentIds, not only attentionMask. */
  packed: boolean;
  /** Tokens that are not padding. */
  tokens: number;
  /** Labels that take part in the loss (after the shift). */
  supervisedTokens: number;
}

/** Rows `indices` of `rows`, right padded into one batch. */
export function collate(rows: readonly Row[], indices: ArrayLike<number>, opts: CollateOptions): FinetuneBatch {
  const B = indices.length;
  if (B === 0) throw new RangeError('collate: a batch needs at least one row');
  const picked: Row[] = [];
  let longest = 0;
  for (let j = 0; j < B; j++) {
    const r = rows[indices[j]!];
    if (!r) throw new RangeError(`collate: indices[${j}] = ${indices[j]} is outside 0..${rows.length - 1}`);
    picked.push(r);
    longest = Math.max(longest, r.inputIds.length);
  }
  const multiple = opts.padToMultipleOf ?? 1;
  let T = opts.padTo === 'max-length' ? Math.max(opts.maxLength, longest) : longest;
  T = Math.ceil(T / multiple) * multiple;
  const inputIds = new BigInt64Array(B * T).fill(BigInt(opts.padTokenId));
  const attentionMask = new BigInt64Array(B * T);
  const labels = new BigInt64Array(B * T).fill(BigInt(IGNORE_INDEX));
  const positionIds = new BigInt64Array(B * T);
  const segmentIds = new Int32Array(B * T);
  let packed = false;
  let tokens = 0;
  let supervised = 0;
  picked.forEach((r, b) => {
    const base = b * T;
    let seg = 0;
    let segStart = 0;
    for (let t = 0; t < r.inputIds.length; t++) {
      if (seg < r.segmentStarts.length && r.segmentStarts[seg] === t) {
        seg++;
        segStart = t;
      }
      inputIds[base + t] = BigInt(r.inputIds[t]!);
      labels[base + t] = BigInt(r.labels[t]!);
      attentionMask[base + t] = 1n;
      positionIds[base + t] = BigInt(t - segStart);
      segmentIds[base + t] = seg;
    }
    if (r.segmentStarts.length > 1) packed = true;
    tokens += r.inputIds.length;
    supervised += supervisedTokens(r.labels, r.segmentStarts);
  });
  return { batchSize: B, seqLength: T, inputIds, attentionMask, labels, positionIds, segmentIds, packed, tokens, supervisedTokens: supervised };
}

/**
 * The attention a batch allows, [batchSize, T, T] row-major: 1 where query q may attend to key k
 * (same non-zero segment, k ≤ q). Padding queries attend to nothing. Add log(mask) to the scores.
 */
export function packedAttentionMask(batch: Pick<FinetuneBatch, 'batchSize' | 'seqLength' | 'segmentIds'>): Uint8Array {
  const { batchSize: B, seqLength: T, segmentIds } = batch;
  const mask = new Uint8Array(B * T * T);
  for (let b = 0; b < B; b++) {
    for (let q = 0; q < T; q++) {
      const s = segmentIds[b * T + q]!;
      if (s === 0) continue;
      const row = (b * T + q) * T;
      for (let k = q; k >= 0 && segmentIds[b * T + k] === s; k--) mask[row + k] = 1;
    }
  }
  return mask;
}
