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
  const sampled = inverseCdf(F.cast(F.softmax(scaled), 'float64'), uniforms, vocabSize);
  return { inputs: [bias, rows, temperatures, uniforms], outputs: { [GREEDY_TOKENS]: F.argmax(biased, -1), [SAMPLED_TOKENS]: sampled } };
}

/** Tokens per block of the two-level inverse CDF. */
const BLOCK = 256;

/**
 * Per row of `probs` (S, V), float64: the first token whose running sum passes u · total. In two
 * levels, blocks of BLOCK tokens then the tokens of the chosen block, because ORT's CumSum over the
 * whole vocabulary costs ~3 ms for 16 rows of 50k. In float64, since a float32 running sum drops
 * every increment under half an ulp of the sum so far (~3e-8 at 0.5): the long tail would lose its
 * mass. A zero-probability token is not picked (its running sum equals the one before; only float64
 * rounding at a block's edge could), and u < 1 keeps the target below the total.
 */
function inverseCdf(probs: Tensor, uniforms: Tensor, vocabSize: number): Tensor {
  const blocks = Math.ceil(vocabSize / BLOCK);
  const grid = F.reshape(F.pad(probs, [0, 0, 0, blocks * BLOCK - vocabSize]), [probs.shape[0]!, blocks, BLOCK]); // (S, NB, BLOCK)
  const blockMass = F.sum(grid, [2]); // (S, NB)
  const blockCdf = F.cumsum(blockMass, 1);
  const target = F.unsqueeze(F.mul(uniforms, F.max(blockCdf, [1])), [1]); // (S, 1)
  const passedBefore = (cdf: Tensor, at: Tensor, last: number): Tensor => F.cast(F.minimum(F.sum(F.cast(F.lessOrEqual(cdf, at), 'float64'), [1], true), last), 'int64');
  const block = passedBefore(blockCdf, target, blocks - 1); // (S, 1)
  const rest = F.sub(target, F.sub(F.gatherElements(blockCdf, block, 1), F.gatherElements(blockMass, block, 1)));
  const inBlock = F.add(F.unsqueeze(block, [2]), F.reshape(F.mul(F.range(0, BLOCK), 0), [1, 1, BLOCK])); // (S, 1, BLOCK): the block's index, repeated
  const within = passedBefore(F.cumsum(F.squeeze(F.gatherElements(grid, inBlock, 1), [1]), 1), rest, BLOCK - 1); // (S, 1)
  return F.squeeze(F.minimum(F.add(F.mul(block, BLOCK), within), vocabSize - 1), [1]);
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
