/**
 * Text generation over a LanguageModel with transformers' semantics: greedy, multinomial sampling
 * (seeded) and beam search; logits processors in transformers' order; left-padded batches with
 * attention_mask and position_ids built as transformers builds them; rows that finish early are
 * filled with the pad token. `stream` yields decoded text as it is generated. Greedy decoding on a
 * model that `choosesTokens`, when every processor only adds fixed amounts (bans, logit biases),
 * passes them as a bias and takes the model's own argmax, so the logits never leave it.
 */
import { Rng } from '../core/rng.js';
import { beamSearch, type DecodeInputs, type NextTokenLogits } from './beam-search.js';
import {
  normalizeGenerationOptions,
  resolveGenerationConfig,
  type GenerationConfig,
  type GenerationOptions,
  type ResolvedGenerationConfig,
} from './generation-config.js';
import { checkForwardOutput, type ForwardInput, type ForwardOutput, type KVCache, type LanguageModel, type TokenChoice } from './language-model.js';
import { applyLogitsProcessors, buildLogitsProcessors, type LogitsProcessor } from './logits-processors.js';
import { argmax, sampleCategorical, softmax } from './sampling.js';
import { anyCriterion, eosCriterion, maxLengthCriterion, stopStringCriterion, type StoppingCriterion } from './stopping.js';
import { assistedDecode, resolveAssisted, type AssistedOptions, type AssistedStats } from './speculative.js';
import { AsyncChannel, IncrementalDetokenizer } from './streamer.js';
import { TokenBias } from './token-bias.js';
import type { TextTokenizer } from './tokenizer.js';

/** The part of a tokenizer generation uses (stop strings, streamed text). */
export type GenerationTokenizer = Pick<TextTokenizer, 'decode'>;

/** Text that became complete for one row. */
export interface StreamChunk {
  /** Which prompt of the batch. */
  row: number;
  text: string;
}

export interface GenerateOptions extends GenerationOptions, AssistedOptions {
  /**
   * 1 for real tokens, 0 for padding, when the prompts are already padded to one length (as
   * transformers' `attention_mask`). Without it, prompts of different lengths are left-padded here.
   */
  attention_mask?: number[][];
  /** Defaults under the call options, usually the model's generation_config.json. */
  generation_config?: GenerationConfig;
  /** Needed for stop_strings and onText. */
  tokenizer?: GenerationTokenizer;
  /** Receives each row's new text as soon as it is complete (awaited, so a slow consumer slows generation). */
  onText?: (chunk: StreamChunk) => void | Promise<void>;
  /** Skip special tokens (EOS, padding) in streamed text. Default true. */
  skip_special_tokens?: boolean;
  /** Stops generation between steps; generate then rejects with the signal's reason. */
  signal?: AbortSignal;
  /** More processors (a model's own, e.g. Whisper's timestamp rules), run after the built-in ones and before sampling warpers, as transformers merges `logits_processor`. */
  logits_processor?: readonly LogitsProcessor[];
}

export interface GenerateOutput {
  /** Per row: the left-padded prompt then the new tokens; rows that finished early end in padding (transformers' `sequences`). */
  sequences: number[][];
  /** Per row: only the new tokens, up to and including the token that stopped the row. */
  newTokens: number[][];
  /** Length of the padded prompt part of `sequences`. */
  promptLength: number;
  /** The settings used. */
  config: ResolvedGenerationConfig;
  /** With an assistant_model: rounds, drafted and accepted tokens. */
  assisted?: AssistedStats;
}

/** Prompts padded to one length, with their attention masks. */
interface PaddedPrompts {
  rows: number[][];
  masks: number[][];
}

function checkPromptIds(promptIds: readonly (readonly number[])[], vocabSize: number): void {
  if (!Array.isArray(promptIds) || promptIds.length === 0 || !promptIds.every(Array.isArray)) {
    throw new Error('generate: promptIds must be a non-empty array of token id arrays (number[][])');
  }
  promptIds.forEach((row, r) => {
    if (row.length === 0) throw new Error(`generate: prompt ${r} is empty; it needs at least one token (e.g. the BOS token)`);
    row.forEach((id, i) => {
      if (!Number.isInteger(id) || id < 0 || id >= vocabSize) {
        throw new Error(`generate: prompt ${r}, position ${i}: token id ${id} is outside the model's vocabulary (size ${vocabSize})`);
      }
    });
  });
}

function checkAttentionMask(mask: readonly (readonly number[])[], promptIds: readonly (readonly number[])[]): void {
  if (mask.length !== promptIds.length) {
    throw new Error(`generate: attention_mask has ${mask.length} rows but there are ${promptIds.length} prompts`);
  }
  mask.forEach((m, r) => {
    if (m.length !== promptIds[r]!.length) {
      throw new Error(`generate: attention_mask row ${r} has length ${m.length}, prompt ${r} has ${promptIds[r]!.length} tokens`);
    }
    if (!m.every((v) => v === 0 || v === 1)) throw new Error(`generate: attention_mask row ${r} must hold only 0 and 1`);
    if (!m.includes(1)) throw new Error(`generate: attention_mask row ${r} masks every token`);
  });
}

/** Left-pad (the side decoder-only generation needs) unless the caller already padded and gave a mask. */
function padPrompts(promptIds: readonly (readonly number[])[], mask: number[][] | undefined, padId: number): PaddedPrompts {
  if (mask) {
    checkAttentionMask(mask, promptIds);
    return { rows: promptIds.map((r) => [...r]), masks: mask.map((m) => [...m]) };
  }
  const length = Math.max(...promptIds.map((r) => r.length));
  return {
    rows: promptIds.map((r) => [...new Array<number>(length - r.length).fill(padId), ...r]),
    masks: promptIds.map((r) => [...new Array<number>(length - r.length).fill(0), ...new Array<number>(r.length).fill(1)]),
  };
}

/** transformers' position_ids: cumsum(mask) - 1, with padded positions set to 1. */
function positionsOf(mask: readonly number[]): number[] {
  let seen = 0;
  return mask.map((m) => (m === 1 ? seen++ : 1));
}

const toInt64 = (values: readonly number[]): BigInt64Array => BigInt64Array.from(values, (v) => BigInt(v));

/** What a step gives the decoding loops: logits, or the model's own greedy tokens (ForwardInput.choice). */
type StepOutput = Pick<ForwardOutput, 'logits' | 'tokens'>;

/** Runs a LanguageModel one token per row at a time, keeping its cache, masks and positions. */
class ModelStepper {
  private cache: KVCache | undefined;
  private masks: number[][];
  private nextPositions: number[];

  constructor(
    private readonly model: LanguageModel,
    private readonly prompts: PaddedPrompts,
    private readonly signal: AbortSignal | undefined,
  ) {
    this.masks = prompts.masks.map((m) => [...m]);
    this.nextPositions = prompts.masks.map((m) => m.reduce((a, b) => a + b, 0));
  }

  async prefill(choice?: TokenChoice): Promise<StepOutput> {
    const { rows, masks } = this.prompts;
    return this.forward({
      ids: toInt64(rows.flat()),
      batch: rows.length,
      attentionMask: toInt64(masks.flat()),
      positionIds: toInt64(masks.flatMap(positionsOf)),
      ...(choice && { choice }),
    });
  }

  /** Row i continues row `sourceRows[i]` of the previous call with `tokens[i]`. */
  async advance(sourceRows: readonly number[], tokens: readonly number[], choice?: TokenChoice): Promise<StepOutput> {
    const identity = sourceRows.length === this.masks.length && sourceRows.every((s, i) => s === i);
    if (!identity) {
      this.cache = this.model.selectCache(this.cache!, sourceRows);
      this.masks = sourceRows.map((s) => [...this.masks[s]!]);
      this.nextPositions = sourceRows.map((s) => this.nextPositions[s]!);
    }
    for (const mask of this.masks) mask.push(1);
    const positions = this.nextPositions;
    this.nextPositions = positions.map((p) => p + 1);
    return this.forward({
      ids: toInt64(tokens),
      batch: tokens.length,
      attentionMask: toInt64(this.masks.flat()),
      positionIds: toInt64(positions),
      cache: this.cache!,
      ...(choice && { choice }),
    });
  }

  /** Beam search's view: logits only. */
  logits(): NextTokenLogits {
    return { advance: async (sourceRows, tokens) => (await this.advance(sourceRows, tokens)).logits };
  }

  private async forward(input: ForwardInput): Promise<StepOutput> {
    this.signal?.throwIfAborted();
    const out = await this.model.forward(input);
    checkForwardOutput(out, input, this.model.vocabSize, 'generate');
    const { logits, tokens, cache } = out;
    this.cache = cache;
    return { logits, ...(tokens && { tokens }) };
  }
}

function rowScores(logits: Float32Array, row: number, vocabSize: number): Float32Array {
  return logits.slice(row * vocabSize, (row + 1) * vocabSize);
}

function stoppingCriterion(config: ResolvedGenerationConfig, tokenizer: GenerationTokenizer | undefined): StoppingCriterion {
  const criteria = [maxLengthCriterion(config.maxLength)];
  if (config.eosTokenIds.length > 0) criteria.push(eosCriterion(config.eosTokenIds));
  if (config.stopStrings.length > 0) {
    if (!tokenizer) throw new Error('generate: stop_strings need the tokenizer (pass options.tokenizer)');
    criteria.push(stopStringCriterion(config.stopStrings, (ids) => tokenizer.decode(ids)));
  }
  return anyCriterion(criteria);
}

/** Streams each row's new tokens as text through onText. */
class TextEmitter {
  private readonly decoders: IncrementalDetokenizer[];

  constructor(
    prompts: PaddedPrompts,
    tokenizer: GenerationTokenizer,
    skipSpecialTokens: boolean,
    private readonly onText: (chunk: StreamChunk) => void | Promise<void>,
  ) {
    const decode = (ids: number[]): string => tokenizer.decode(ids, { skipSpecialTokens });
    // A few prompt tokens as context, so the first new token decodes as it would mid-text.
    this.decoders = prompts.rows.map((row, r) => new IncrementalDetokenizer(decode, row.filter((_, i) => prompts.masks[r]![i] === 1).slice(-5)));
  }

  async push(row: number, tokens: readonly number[]): Promise<void> {
    await this.emit(row, this.decoders[row]!.push(tokens));
  }

  async flush(): Promise<void> {
    for (let row = 0; row < this.decoders.length; row++) await this.emit(row, this.decoders[row]!.flush());
  }

  private async emit(row: number, text: string): Promise<void> {
    if (text.length > 0) await this.onText({ row, text });
  }
}

interface DecodeLoopInput extends Omit<DecodeInputs, 'promptLogits' | 'next'> {
  prompts: PaddedPrompts;
  stepper: ModelStepper;
  /** Set when the model picks greedy tokens itself, from the processors' offsets as a bias. */
  bias: TokenBias | undefined;
  rng: Rng;
  emitter: TextEmitter | undefined;
}

/** Greedy or multinomial decoding, as transformers' `_sample`. */
async function decodeLoop(input: DecodeLoopInput): Promise<{ sequences: number[][]; newTokens: number[][] }> {
  const { prompts, stepper, bias, config, processors, isDone, vocabSize, rng, emitter } = input;
  const choiceAfter = (sequences: readonly (readonly number[])[]): TokenChoice | undefined => {
    if (!bias) return undefined;
    const rows = bias.begin(sequences.length);
    sequences.forEach((tokens, row) => bias.addProcessors(row, processors, tokens));
    return { bias: rows };
  };
  const sequences = prompts.rows.map((r) => [...r]);
  const newTokens = sequences.map((): number[] => []);
  const running = sequences.map(() => true);
  const identity = sequences.map((_, i) => i);
  const fill = config.padTokenId;
  let step = await stepper.prefill(choiceAfter(sequences));
  for (;;) {
    const chosen = sequences.map((tokens, r) => {
      if (!running[r] && fill !== undefined) return fill;
      if (step.tokens) return step.tokens[r]!;
      const scores = applyLogitsProcessors(processors, tokens, rowScores(step.logits, r, vocabSize));
      return config.doSample ? sampleCategorical(softmax(scores), rng) : argmax(scores);
    });
    for (let r = 0; r < sequences.length; r++) {
      sequences[r]!.push(chosen[r]!);
      if (!running[r]) continue;
      newTokens[r]!.push(chosen[r]!);
      if (isDone(sequences[r]!)) running[r] = false;
      await emitter?.push(r, [chosen[r]!]);
    }
    if (!running.includes(true)) break;
    step = await stepper.advance(identity, chosen, choiceAfter(sequences));
  }
  return { sequences, newTokens };
}

function randomSeed(): number {
  return Math.floor(Math.random() * 2 ** 32);
}

/**
 * Generate continuations of `promptIds` (one token id array per prompt). Options use
 * transformers' names (`max_new_tokens`, `do_sample`, `top_p`, `num_beams`, ...) or camelCase;
 * `generation_config` supplies defaults (the model's generation_config.json).
 */
export async function generate(model: LanguageModel, promptIds: number[][], options: GenerateOptions = {}): Promise<GenerateOutput> {
  checkPromptIds(promptIds, model.vocabSize);
  const config = resolveGenerationConfig(
    normalizeGenerationOptions(options),
    options.generation_config ? normalizeGenerationOptions(options.generation_config, 'generation_config') : {},
    { promptLength: Math.max(...promptIds.map((r) => r.length)), maxPositions: model.maxPositions },
  );
  if (options.onText && !options.tokenizer) throw new Error('generate: onText needs the tokenizer (pass options.tokenizer)');
  const prompts = padPrompts(promptIds, options.attention_mask, config.padTokenId ?? 0);
  const isDone = stoppingCriterion(config, options.tokenizer);
  const rng = new Rng(config.seed ?? randomSeed());
  const assisted = resolveAssisted(options, model);
  if (assisted) {
    if (config.numBeams > 1) throw new Error(`generate: assistant_model works with greedy decoding and sampling, not beam search (num_beams is ${config.numBeams})`);
    if (prompts.rows.length !== 1) throw new Error(`generate: assistant_model generates one prompt at a time (as transformers), received ${prompts.rows.length}`);
    const emitter = options.onText && options.tokenizer ? new TextEmitter(prompts, options.tokenizer, options.skip_special_tokens ?? true, options.onText) : undefined;
    const out = await assistedDecode({
      target: model,
      settings: assisted,
      prompt: prompts.rows[0]!,
      mask: prompts.masks[0]!,
      config,
      processors: buildLogitsProcessors(config, 1, options.logits_processor),
      isDone,
      rng,
      signal: options.signal,
      onTokens: emitter ? (tokens) => emitter.push(0, tokens) : undefined,
    });
    await emitter?.flush();
    return { sequences: [out.sequence], newTokens: [out.newTokens], promptLength: prompts.rows[0]!.length, config, assisted: out.stats };
  }
  const stepper = new ModelStepper(model, prompts, options.signal);
  const emitter =
    options.onText && options.tokenizer
      ? new TextEmitter(prompts, options.tokenizer, options.skip_special_tokens ?? true, options.onText)
      : undefined;
  const common = { config, isDone, vocabSize: model.vocabSize, rng };
  let result: { sequences: number[][]; newTokens: number[][] };
  if (config.numBeams > 1) {
    // Warping beams keeps at least one non-EOS token (transformers: #eos + 1, or 2 without EOS).
    const processors = buildLogitsProcessors(config, config.eosTokenIds.length > 0 ? config.eosTokenIds.length + 1 : 2, options.logits_processor);
    const promptLogits = (await stepper.prefill()).logits;
    result = await beamSearch({ ...common, promptLogits, next: stepper.logits(), prompts: prompts.rows, processors });
    if (emitter) for (const [row, tokens] of result.newTokens.entries()) await emitter.push(row, tokens);
  } else {
    const processors = buildLogitsProcessors(config, 1, options.logits_processor);
    const inModel = model.choosesTokens === true && !config.doSample && TokenBias.covers(processors);
    result = await decodeLoop({ ...common, prompts, stepper, bias: inModel ? new TokenBias(model.vocabSize) : undefined, processors, emitter });
  }
  await emitter?.flush();
  return { ...result, promptLength: prompts.rows[0]!.length, config };
}

/**
 * Generate while yielding text as it becomes complete: `for await (const { row, text } of stream(...))`.
 * The generator's return value is the GenerateOutput.
 */
export async function* stream(
  model: LanguageModel,
  tokenizer: GenerationTokenizer,
  promptIds: number[][],
  options: Omit<GenerateOptions, 'tokenizer' | 'onText'> = {},
): AsyncGenerator<StreamChunk, GenerateOutput> {
  const channel = new AsyncChannel<StreamChunk>();
  // Stop generating when the consumer leaves the loop early.
  const stop = new AbortController();
  const signal = options.signal ? AbortSignal.any([options.signal, stop.signal]) : stop.signal;
  const run = generate(model, promptIds, { ...options, signal, tokenizer, onText: (chunk) => channel.push(chunk) });
  run.then(
    () => channel.close(),
    (err: unknown) => channel.close(err),
  );
  try {
    yield* channel;
    return await run;
  } finally {
    stop.abort();
  }
}
