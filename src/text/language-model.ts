/**
 * What generation needs from a causal language model. Architectures in
 * src/models implement it; src/text/generate.ts only talks to this.
 */

/** Opaque per-sequence key/value cache owned by the model. */
export interface KVCache {
  /** Number of cached positions (the same for every row; padding is masked). */
  readonly length: number;
  readonly batch: number;
}

export interface ForwardInput {
  /** Token ids, row-major [batch, steps]. */
  ids: BigInt64Array;
  batch: number;
  /** 1 for real tokens, 0 for padding: [batch, cache.length + steps]. */
  attentionMask: BigInt64Array;
  /** Positions of the new tokens: [batch, steps]. */
  positionIds: BigInt64Array;
  cache?: KVCache;
  /** Return logits for every step ([batch, steps, vocab]) instead of the last ([batch, vocab]). */
  allLogits?: boolean;
  /** Only for a model with `choosesTokens`: pick each row's next token inside the model. */
  choice?: TokenChoice;
}

/**
 * Token choice inside the model, from the last position's logits plus `bias`: the argmax, or for the
 * rows in `sample` one draw from softmax((logits + bias) / temperature) by inverse CDF at `uniform`
 * (the caller's random number, so its seeds keep working).
 */
export interface TokenChoice {
  /** [batch, vocab], added to the logits first; -Infinity bans a token. */
  bias: Float32Array;
  sample?: {
    rows: readonly number[];
    /** Per sampled row, > 0. */
    temperatures: ArrayLike<number>;
    /** Per sampled row, in [0, 1). */
    uniforms: ArrayLike<number>;
  };
  /** Return the logits too (rows whose choice needs them in JavaScript); by default they stay in the model. */
  logits?: boolean;
}

export interface ForwardOutput {
  /** Empty when the input had a `choice` without `logits`. */
  logits: Float32Array;
  /** With a `choice`: each row's token. */
  tokens?: number[];
  cache: KVCache;
}

/**
 * Check a forward's input against a cache of `cacheLength` positions, naming `where` in errors: at
 * least one new token per row, mask and positions of the right sizes, and no more positions than the
 * `what` (e.g. "model", "decoder") takes. Returns the new tokens per row and the total length.
 */
export function checkForwardInput(input: ForwardInput, cacheLength: number, maxPositions: number, where: string, what = 'model'): { steps: number; total: number } {
  const { batch } = input;
  const steps = input.ids.length / batch;
  const total = cacheLength + steps;
  if (!Number.isInteger(steps) || steps < 1) throw new Error(`${where}: ${input.ids.length} ids do not split into ${batch} rows of at least one token`);
  if (input.attentionMask.length !== batch * total) {
    throw new Error(`${where}: attentionMask has ${input.attentionMask.length} entries, expected batch ${batch} × (cache ${cacheLength} + steps ${steps}) = ${batch * total}`);
  }
  if (input.positionIds.length !== batch * steps) throw new Error(`${where}: positionIds has ${input.positionIds.length} entries, expected batch ${batch} × steps ${steps}`);
  if (total > maxPositions) throw new Error(`${where}: ${total} positions exceed the ${what}'s maximum of ${maxPositions}`);
  return { steps, total };
}

/**
 * Throw, naming `who`, when a forward's output is not what the input asked for: one token per row with
 * a `choice`, and the last position's logits for every row unless the choice kept them in the model.
 */
export function checkForwardOutput(out: ForwardOutput, input: Pick<ForwardInput, 'batch' | 'choice'>, vocabSize: number, who: string): void {
  const { batch, choice } = input;
  if (choice && out.tokens?.length !== batch) throw new Error(`${who}: the model returned ${out.tokens?.length ?? 'no'} tokens for a batch of ${batch}`);
  const expected = batch * vocabSize;
  if ((!choice || choice.logits) && out.logits.length !== expected) {
    throw new Error(`${who}: the model returned ${out.logits.length} logits, expected batch ${batch} × vocab ${vocabSize} = ${expected}`);
  }
}

export interface LanguageModel {
  readonly vocabSize: number;
  /** Longest sequence (prompt + generated) the model accepts. */
  readonly maxPositions: number;
  /** forward honours `choice`: greedy decoding and plain sampling need not copy the logits out of the model. */
  readonly choosesTokens?: boolean;
  forward(input: ForwardInput): Promise<ForwardOutput>;
  /** A cache holding the given rows, in order (beam reordering, dropping rows). */
  selectCache(cache: KVCache, rows: readonly number[]): KVCache;
  /** The cache's first `length` positions (assisted generation drops the draft tokens the target rejected). */
  cropCache?(cache: KVCache, length: number): KVCache;
  /**
   * One cache holding the rows of `caches` in order; shorter caches are left-padded with zero
   * positions, which the caller masks (continuous batching: joiners merge into the running batch).
   */
  concatCaches?(caches: readonly KVCache[]): KVCache;
  /** The cache without its first `start` positions (columns every row has as padding). */
  trimCache?(cache: KVCache, start: number): KVCache;
  /** Free native resources (sessions); the model is unusable afterwards. */
  release?(): Promise<void>;
}
