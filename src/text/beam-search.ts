/**
 * Beam search with the semantics of transformers' (vectorised) `_beam_search`: per prompt,
 * `num_beams` running beams; each step keeps the best max(2, 1 + #eos) × num_beams candidates,
 * candidates that hit a stopping criterion (EOS, max length, stop string) within the top num_beams
 * become finished hypotheses scored `logprob / generated_length ** length_penalty`, the best
 * non-finished candidates run on, and `early_stopping` (true / false / 'never') decides when the
 * finished set can no longer improve. Scores are kept in float32 like transformers', so its
 * -1e9 masking behaves identically.
 */
import type { Rng } from '../core/rng.js';
import type { ResolvedGenerationConfig } from './generation-config.js';
import { applyLogitsProcessors, type LogitsProcessor } from './logits-processors.js';
import { logSoftmax, sampleWithoutReplacement, softmax } from './sampling.js';
import type { StoppingCriterion } from './stopping.js';

/** How beam search asks for more logits; generate.ts implements it on a LanguageModel. */
export interface NextTokenLogits {
  /** Row i continues row `sourceRows[i]` of the previous call with `tokens[i]`; returns [rows, vocab] logits. */
  advance(sourceRows: readonly number[], tokens: readonly number[]): Promise<Float32Array>;
}

/** What every decoding loop (greedy/sampling or beams) starts from. */
export interface DecodeInputs {
  /** Next-token logits after each prompt: [batch, vocab]. */
  promptLogits: Float32Array;
  next: NextTokenLogits;
  config: ResolvedGenerationConfig;
  processors: readonly LogitsProcessor[];
  isDone: StoppingCriterion;
  vocabSize: number;
}

export interface BeamSearchInput extends DecodeInputs {
  /** One left-padded prompt per batch item, all the same length. */
  prompts: readonly (readonly number[])[];
  /** Needed when config.doSample (beam sampling). */
  rng?: Rng;
}

export interface BeamSearchOutput {
  /** Best hypothesis per batch item: prompt + new tokens, filled to a common length as transformers does. */
  sequences: number[][];
  /** New tokens of each best hypothesis (EOS included when it ended one). */
  newTokens: number[][];
  /** Length-normalised log-probability of each best hypothesis. */
  scores: number[];
}

interface Beam {
  tokens: number[];
  score: number;
}

interface Hypothesis extends Beam {
  finished: boolean;
}

interface Candidate extends Beam {
  sourceBeam: number;
  hitsStop: boolean;
}

const MASKED = -1e9;
const f32 = Math.fround;

/** Indices of the k largest values, largest first (earlier index first on ties). */
export function topIndices(values: ArrayLike<number>, k: number): number[] {
  const best: number[] = [];
  for (let i = 0; i < values.length; i++) {
    const v = values[i]!;
    if (best.length === k && !(v > values[best[k - 1]!]!)) continue;
    let at = best.length === k ? k - 1 : best.length;
    while (at > 0 && v > values[best[at - 1]!]!) at--;
    best.splice(at, 0, i);
    if (best.length > k) best.pop();
  }
  return best;
}

function bestByScore<T extends Beam>(items: readonly T[], k: number): T[] {
  return topIndices(
    items.map((item) => item.score),
    k,
  ).map((i) => items[i]!);
}

/** transformers fills short outputs with `pad_token_id or eos_token_id[0]` when an EOS exists, else -1 (so a pad id of 0 falls through to EOS). */
function outputFillToken(config: ResolvedGenerationConfig): number {
  if (config.eosTokenIds.length === 0) return -1;
  return config.padTokenId || config.eosTokenIds[0]!;
}

class BeamSearch {
  private readonly numBeams: number;
  private readonly candidatesPerStep: number;
  private readonly promptLength: number;
  private running: Beam[][];
  private finished: Hypothesis[][];
  private canImprove: boolean[];
  private curLength: number;

  constructor(private readonly input: BeamSearchInput) {
    const { config, prompts } = input;
    if (config.doSample && !input.rng) throw new Error('beam search: sampling (do_sample) needs an rng');
    this.numBeams = config.numBeams;
    this.candidatesPerStep = Math.max(2, 1 + config.eosTokenIds.length) * this.numBeams;
    if (this.candidatesPerStep > this.numBeams * input.vocabSize) {
      throw new Error(`beam search: num_beams ${this.numBeams} is too large for a vocabulary of ${input.vocabSize}`);
    }
    this.promptLength = prompts[0]?.length ?? 0;
    this.curLength = this.promptLength;
    // Only beam 0 starts live, so the first step does not pick the same token num_beams times.
    this.running = prompts.map((p) => Array.from({ length: this.numBeams }, (_, k) => ({ tokens: [...p], score: k === 0 ? 0 : MASKED })));
    this.finished = prompts.map((p) => Array.from({ length: this.numBeams }, () => ({ tokens: [...p], score: MASKED, finished: false })));
    this.canImprove = prompts.map(() => true);
  }

  async run(): Promise<BeamSearchOutput> {
    const { vocabSize } = this.input;
    let logits = this.input.promptLogits;
    // Before the first step every beam of item b continues prompt row b.
    let rowOf = (b: number, _beam: number) => b;
    for (;;) {
      const sources: number[] = [];
      const tokens: number[] = [];
      let everyCandidateStops = true;
      for (let b = 0; b < this.running.length; b++) {
        const candidates = this.candidates(b, (beam) => logits.subarray(rowOf(b, beam) * vocabSize, (rowOf(b, beam) + 1) * vocabSize));
        everyCandidateStops &&= candidates.every((c) => c.hitsStop);
        this.updateFinished(b, candidates);
        const nextRunning = this.nextRunning(candidates);
        this.running[b] = nextRunning;
        for (const beam of nextRunning) {
          sources.push(rowOf(b, beam.sourceBeam));
          tokens.push(beam.tokens[beam.tokens.length - 1]!);
        }
      }
      this.curLength++;
      this.updateCanImprove();
      if (!this.shouldContinue(everyCandidateStops)) break;
      logits = await this.input.next.advance(sources, tokens);
      rowOf = (b, beam) => b * this.numBeams + beam;
    }
    return this.output();
  }

  /** Scored continuations of item b's beams: the best candidatesPerStep (or a sample of them). */
  private candidates(b: number, rowLogits: (beam: number) => Float32Array): Candidate[] {
    const { vocabSize, processors, isDone, config } = this.input;
    const accumulated = new Float32Array(this.numBeams * vocabSize);
    this.running[b]!.forEach((beam, k) => {
      const logProbs = applyLogitsProcessors(processors, beam.tokens, logSoftmax(rowLogits(k)));
      for (let v = 0; v < vocabSize; v++) accumulated[k * vocabSize + v] = logProbs[v]! + beam.score;
    });
    const picked = config.doSample
      ? sampleWithoutReplacement(softmax(accumulated), this.candidatesPerStep, this.input.rng!)
      : topIndices(accumulated, this.candidatesPerStep);
    return picked.map((index) => {
      const sourceBeam = Math.floor(index / vocabSize);
      const tokens = [...this.running[b]![sourceBeam]!.tokens, index % vocabSize];
      return { tokens, score: accumulated[index]!, sourceBeam, hitsStop: isDone(tokens) };
    });
  }

  /** The best candidates that did not stop run on (stopped ones only if there are too few others). */
  private nextRunning(candidates: readonly Candidate[]): Candidate[] {
    const masked = candidates.map((c) => ({ ...c, score: c.hitsStop ? f32(c.score + MASKED) : c.score }));
    return bestByScore(masked, this.numBeams);
  }

  /** Merge newly stopped candidates (only those ranked within the top num_beams) into item b's finished set. */
  private updateFinished(b: number, candidates: readonly Candidate[]): void {
    const { lengthPenalty, earlyStopping } = this.input.config;
    const lengthNorm = f32((this.curLength + 1 - this.promptLength) ** lengthPenalty);
    const full = earlyStopping === true && this.finished[b]!.every((h) => h.finished);
    const fresh = candidates.map((c, rank): Hypothesis => {
      const finished = c.hitsStop && rank < this.numBeams;
      let score = f32(c.score / lengthNorm);
      if (full) score = f32(score + MASKED);
      if (!this.canImprove[b]) score = f32(score + MASKED);
      if (!finished) score = f32(score + MASKED);
      return { tokens: c.tokens, score, finished };
    });
    this.finished[b] = bestByScore([...this.finished[b]!, ...fresh], this.numBeams);
  }

  /** transformers' `_check_early_stop_heuristic`: can the best running beam still beat the worst finished one? */
  private updateCanImprove(): void {
    const { earlyStopping, lengthPenalty, maxLength } = this.input.config;
    const bestLength = earlyStopping === 'never' && lengthPenalty > 0 ? maxLength - this.promptLength : this.curLength - this.promptLength;
    this.canImprove = this.canImprove.map((can, b) => {
      const bestPossible = f32(this.running[b]![0]!.score / f32(bestLength ** lengthPenalty));
      const hyps = this.finished[b]!;
      const worstFinished = Math.min(...hyps.map((h) => h.score));
      return can && hyps.some((h) => bestPossible > (h.finished ? worstFinished : MASKED));
    });
  }

  private shouldContinue(everyCandidateStops: boolean): boolean {
    const improvementPossible = this.canImprove.some(Boolean);
    const allFull = this.finished.every((hyps) => hyps.every((h) => h.finished));
    const openBeam = !(allFull && this.input.config.earlyStopping === true);
    return improvementPossible && openBeam && !everyCandidateStops;
  }

  private output(): BeamSearchOutput {
    const best = this.finished.map((hyps) => hyps[0]!);
    const length = Math.max(...best.map((h) => h.tokens.length));
    const fill = outputFillToken(this.input.config);
    return {
      sequences: best.map((h) => [...h.tokens, ...new Array<number>(length - h.tokens.length).fill(fill)]),
      newTokens: best.map((h) => h.tokens.slice(this.promptLength)),
      scores: best.map((h) => h.score),
    };
  }
}

export async function beamSearch(input: BeamSearchInput): Promise<BeamSearchOutput> {
  if (input.prompts.length === 0) return { sequences: [], newTokens: [], scores: [] };
  return new BeamSearch(input).run();
}
