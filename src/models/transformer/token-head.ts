/**
 * Token choice inside a runtime inference graph: the graph adds a bias to the last selected logits,
 * takes every row's argmax, and draws the rows asked for from softmax((logits + bias) / temperature)
 * by inverse CDF with a uniform number the caller supplies (so a seeded caller stays reproducible).
 * A step then returns one id per row instead of the [batch, vocab] logits: onnxruntime-node copies
 * every fetched output into a fresh ArrayBuffer, and softmax over 50k words is ORT's vectorised
 * kernels here rather than a JavaScript loop per row.
 */
import type ort from 'onnxruntime-node';
import type { Graph, Tensor } from '../../core/graph.js';
import * as F from '../../core/ops/index.js';
import { float32, int64, viewTensor, type CompiledGraph } from '../../runtime/session.js';
import type { ForwardInput, ForwardOutput } from '../../text/language-model.js';

/** Runtime-only inputs: the bias [1 or batch, vocab]; the rows to sample [S], their temperatures and uniform draws (float64) [S]. */
export const TOKEN_BIAS = 'token_bias';
export const SAMPLE_ROWS = 'sample_rows';
export const SAMPLE_TEMPERATURES = 'sample_temperatures';
export const SAMPLE_UNIFORMS = 'sample_uniforms';
/** Runtime-only outputs: argmax(logits + bias) per selected position [batch, num_logits]; the sampled rows' tokens [S]. */
export const GREEDY_TOKENS = 'greedy_tokens';
export const SAMPLED_TOKENS = 'sampled_tokens';

export interface TokenHead {
  inputs: Tensor[];
  outputs: Record<string, Tensor>;
}

/** The head's inputs and outputs over `logits` [B, K, V], traced into `g`. */
export function tokenHead(g: Graph, logits: Tensor, vocabSize: number): TokenHead {
  const bias = g.input(TOKEN_BIAS, ['bias_rows', vocabSize]);
  const rows = g.input(SAMPLE_ROWS, ['sampled'], 'int64');
  const temperatures = g.input(SAMPLE_TEMPERATURES, ['sampled']);
  const uniforms = g.input(SAMPLE_UNIFORMS, ['sampled'], 'float64');
  const biased = F.add(logits, F.unsqueeze(bias, [1])); // (B, K, V)
  const last = F.gather(biased, F.scalar(-1, 'int64'), 1); // (B, V)
  const scaled = F.div(F.gather(last, rows, 0), F.unsqueeze(temperatures, [1])); // (S, V)
  // Summed in float64: a float32 running sum drops each increment under half an ulp of the sum so
  // far (~3e-8 at 0.5), so the long tail of a 50k vocabulary would lose its mass.
  const cdf = F.cumsum(F.cast(F.softmax(scaled), 'float64'), 1);
  // The first token whose cumulative probability passes u · total; zero-probability tokens never
  // pass (their cdf equals the one before), and u < 1 keeps the target below the total.
  const target = F.unsqueeze(F.mul(uniforms, F.max(cdf, [1])), [1]);
  const passed = F.sum(F.cast(F.lessOrEqual(cdf, target), 'float32'), [1]);
  const sampled = F.cast(F.minimum(passed, vocabSize - 1), 'int64');
  return { inputs: [bias, rows, temperatures, uniforms], outputs: { [GREEDY_TOKENS]: F.argmax(biased, -1), [SAMPLED_TOKENS]: sampled } };
}

/** Feeds and fetches of a graph with a token head, for ForwardInput.choice. */
export class TokenHeadRunner {
  private readonly idle: Record<string, ort.Tensor>;
  private readonly logitFetches: string[];
  private readonly tokenFetches: string[];
  private readonly bothFetches: string[];

  constructor(
    graph: CompiledGraph,
    private readonly vocabSize: number,
  ) {
    this.idle = {
      [TOKEN_BIAS]: float32(new Float32Array(vocabSize), [1, vocabSize]),
      [SAMPLE_ROWS]: int64(new BigInt64Array(0), [0]),
      [SAMPLE_TEMPERATURES]: float32(new Float32Array(0), [0]),
      [SAMPLE_UNIFORMS]: viewTensor(new Float64Array(0), [0]),
    };
    const outputs = graph.model.outputNames;
    const tokens = new Set([GREEDY_TOKENS, SAMPLED_TOKENS]);
    this.logitFetches = outputs.filter((n) => !tokens.has(n));
    this.tokenFetches = outputs.filter((n) => n !== 'logits');
    this.bothFetches = [...outputs];
  }

  /** Adds the head's feeds; returns the outputs to fetch. Throws naming what is wrong with `input.choice`. */
  prepare(input: ForwardInput, feeds: Record<string, ort.Tensor>, where: string): string[] {
    const choice = input.choice;
    Object.assign(feeds, this.idle);
    if (!choice) return this.logitFetches;
    const { batch } = input;
    if (input.allLogits) throw new Error(`${where}: choice picks the last position's token; it cannot be combined with allLogits`);
    if (choice.bias.length !== batch * this.vocabSize) {
      throw new Error(`${where}: choice.bias has ${choice.bias.length} entries, expected batch ${batch} × vocab ${this.vocabSize} = ${batch * this.vocabSize}`);
    }
    feeds[TOKEN_BIAS] = float32(choice.bias, [batch, this.vocabSize]);
    const sample = choice.sample;
    if (sample && sample.rows.length > 0) {
      const n = sample.rows.length;
      if (sample.temperatures.length !== n || sample.uniforms.length !== n) {
        throw new Error(`${where}: choice.sample has ${n} rows, ${sample.temperatures.length} temperatures and ${sample.uniforms.length} uniforms; each row needs one of each`);
      }
      sample.rows.forEach((r, i) => {
        if (!Number.isInteger(r) || r < 0 || r >= batch) throw new Error(`${where}: choice.sample row ${r} is outside the batch of ${batch}`);
        const t = sample.temperatures[i]!;
        if (!(t > 0 && Number.isFinite(t))) throw new Error(`${where}: choice.sample temperature ${t} of row ${r} must be positive and finite (0 is greedy: leave the row out)`);
        const u = sample.uniforms[i]!;
        if (!(u >= 0 && u < 1)) throw new Error(`${where}: choice.sample uniform ${u} of row ${r} must be in [0, 1)`);
      });
      feeds[SAMPLE_ROWS] = int64(sample.rows, [n]);
      feeds[SAMPLE_TEMPERATURES] = float32(Float32Array.from(sample.temperatures), [n]);
      feeds[SAMPLE_UNIFORMS] = viewTensor(Float64Array.from(sample.uniforms), [n]);
    }
    return choice.logits ? this.bothFetches : this.tokenFetches;
  }

  /** The forward's logits and tokens: each row's greedy id, or its sampled one. */
  read(input: ForwardInput, out: Readonly<Record<string, ort.Tensor>>): Pick<ForwardOutput, 'logits' | 'tokens'> {
    const choice = input.choice;
    const logits = !choice || choice.logits ? (out.logits!.data as Float32Array) : new Float32Array(0);
    if (!choice) return { logits };
    const tokens = Array.from(out[GREEDY_TOKENS]!.data as BigInt64Array, Number);
    const sampled = out[SAMPLED_TOKENS]!.data as BigInt64Array;
    choice.sample?.rows.forEach((r, i) => (tokens[r] = Number(sampled[i]!)));
    return { logits, tokens };
  }
}
