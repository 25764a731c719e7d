/**
 * Token streams for causal language modelling: read a text file, tokenize it,
 * split it into train/validation (first 90% / last 10%, as nanoGPT does), and
 * draw random windows of block_size + 1 tokens. Inputs are the first
 * block_size tokens of a window and targets the last block_size.
 *
 * Every batch is a pure function of (seed, split, index), so a resumed run
 * draws exactly the batches an uninterrupted run would have drawn.
 */
import * as fsp from 'node:fs/promises';
import { Rng } from '../core/rng.js';
import { epochSeed } from './batches.js';

/** What the dataset needs from a tokenizer (text/ sits above data/, so only the shape is named here). */
export interface TokenEncoder {
  encode(text: string): number[];
  readonly vocabSize: number;
}

export type TextSplitName = 'train' | 'val';

/** A window batch: row-major [batch, blockSize] int64 inputs and next-token targets. */
export interface TokenBatch {
  inputs: BigInt64Array;
  targets: BigInt64Array;
  batchSize: number;
  blockSize: number;
}

export interface BlockOptions {
  blockSize: number;
  batchSize: number;
}

/** Read a UTF-8 text file; a missing or empty file is an error naming the path. */
export async function readTextFile(path: string): Promise<string> {
  let text: string;
  try {
    text = await fsp.readFile(path, 'utf8');
  } catch (err) {
    throw new Error(`cannot read text file ${path}: ${(err as Error).message}`, { cause: err });
  }
  if (text.length === 0) throw new Error(`text file ${path} is empty`);
  return text;
}

/** First `trainFraction` of the tokens for training, the rest for validation (no shuffling: held-out text stays contiguous). */
export function splitTokens(ids: ArrayLike<number>, trainFraction = 0.9): { train: Int32Array; val: Int32Array } {
  if (!(trainFraction > 0 && trainFraction < 1)) {
    throw new RangeError(`splitTokens: trainFraction must be in (0, 1), received ${trainFraction}`);
  }
  const all = Int32Array.from(ids);
  const cut = Math.floor(all.length * trainFraction);
  return { train: all.subarray(0, cut), val: all.subarray(cut) };
}

function checkBlockOptions({ blockSize, batchSize }: BlockOptions, where: string): void {
  for (const [name, v] of [['blockSize', blockSize], ['batchSize', batchSize]] as const) {
    if (!Number.isInteger(v) || v < 1) throw new RangeError(`${where}: ${name} must be a positive integer, received ${v}`);
  }
}

/** `batchSize` windows of blockSize + 1 consecutive tokens at uniform random starts, row-major. */
export function randomBlocks(tokens: Int32Array, options: BlockOptions, rng: Rng, where = 'randomBlocks'): Int32Array {
  checkBlockOptions(options, where);
  const span = options.blockSize + 1;
  const starts = tokens.length - span + 1;
  if (starts < 1) {
    throw new RangeError(`${where}: ${tokens.length} tokens are too few for windows of block_size + 1 = ${span} tokens`);
  }
  const out = new Int32Array(options.batchSize * span);
  for (let row = 0; row < options.batchSize; row++) {
    const start = rng.int(starts);
    out.set(tokens.subarray(start, start + span), row * span);
  }
  return out;
}

/** Split windows of blockSize + 1 tokens into inputs (all but the last) and targets (all but the first). */
export function shiftedPair(blocks: Int32Array, options: BlockOptions): TokenBatch {
  checkBlockOptions(options, 'shiftedPair');
  const { blockSize, batchSize } = options;
  const span = blockSize + 1;
  if (blocks.length !== batchSize * span) {
    throw new RangeError(`shiftedPair: expected ${batchSize} × ${span} tokens, received ${blocks.length}`);
  }
  const inputs = new BigInt64Array(batchSize * blockSize);
  const targets = new BigInt64Array(batchSize * blockSize);
  for (let row = 0; row < batchSize; row++) {
    for (let t = 0; t < blockSize; t++) {
      inputs[row * blockSize + t] = BigInt(blocks[row * span + t]!);
      targets[row * blockSize + t] = BigInt(blocks[row * span + t + 1]!);
    }
  }
  return { inputs, targets, batchSize, blockSize };
}

/** Training draws its batches from one stream, evaluation from another, so loss estimates use unseen windows. */
export type BatchStream = 'train' | 'eval';

// Keep the streams of one seed unrelated to each other.
const SALT: Record<`${TextSplitName}/${BatchStream}`, number> = { 'train/train': 0x7472, 'train/eval': 0x7465, 'val/train': 0x76616c, 'val/eval': 0x766165 };

export interface TextDatasetOptions {
  /** Default 0.9. */
  trainFraction?: number;
  /** Default 0. */
  seed?: number;
}

/** A tokenized text split into train/validation streams with deterministic, seeded batches. */
export class TextDataset {
  readonly seed: number;

  constructor(
    readonly train: Int32Array,
    readonly val: Int32Array,
    readonly vocabSize: number,
    seed = 0,
  ) {
    if (!Number.isInteger(seed)) throw new RangeError(`TextDataset: seed must be an integer, received ${seed}`);
    this.seed = seed;
  }

  /** Tokenize `text` and split it. */
  static fromText(text: string, tokenizer: TokenEncoder, options: TextDatasetOptions = {}): TextDataset {
    const { train, val } = splitTokens(tokenizer.encode(text), options.trainFraction ?? 0.9);
    return new TextDataset(train, val, tokenizer.vocabSize, options.seed ?? 0);
  }

  static async fromFile(path: string, tokenizer: TokenEncoder, options: TextDatasetOptions = {}): Promise<TextDataset> {
    return TextDataset.fromText(await readTextFile(path), tokenizer, options);
  }

  tokens(split: TextSplitName): Int32Array {
    return split === 'train' ? this.train : this.val;
  }

  /**
   * Batch number `index` of `split` in `stream`: the same (seed, split, stream,
   * index) always gives the same windows. Training uses the step as index;
   * evaluation uses 0..n-1 of the 'eval' stream, so every evaluation scores the
   * same windows.
   */
  batch(split: TextSplitName, index: number, options: BlockOptions, stream: BatchStream = 'train'): TokenBatch {
    const rng = new Rng(epochSeed(this.seed ^ SALT[`${split}/${stream}`], index));
    const blocks = randomBlocks(this.tokens(split), options, rng, `TextDataset '${split}' split`);
    return shiftedPair(blocks, options);
  }
}
