/**
 * Greedy token choice inside a runtime inference graph. The graph adds a bias to the selected
 * logits and takes the argmax, so a greedy step returns one id per row instead of the [batch, vocab]
 * logits: onnxruntime-node copies every fetched output into a fresh ArrayBuffer, and at 50k words
 * that copy is a measurable part of a small model's step.
 */
import type ort from 'onnxruntime-node';
import type { Graph, Tensor } from '../../core/graph.js';
import * as F from '../../core/ops/index.js';
import { float32, type CompiledGraph } from '../../runtime/session.js';
import type { ForwardInput } from '../../text/language-model.js';

/** Runtime-only input: added to every selected position's logits before the argmax, [1 or batch, vocab]. */
export const TOKEN_BIAS = 'token_bias';
/** Runtime-only output: argmax(logits + bias) per selected position, [batch, num_logits] int64. */
export const GREEDY_TOKENS = 'greedy_tokens';

/** The bias input and the greedy output over `logits` [B, K, V], traced into `g`. */
export function greedyHead(g: Graph, logits: Tensor, vocabSize: number): { bias: Tensor; tokens: Tensor } {
  const bias = g.input(TOKEN_BIAS, ['bias_rows', vocabSize]);
  return { bias, tokens: F.argmax(F.add(logits, F.unsqueeze(bias, [1])), -1) };
}

/** The feeds and fetches of a graph with a greedy head: logits, or greedy tokens with the logits left in ONNX Runtime. */
export class GreedyHeadRunner {
  private readonly noBias: ort.Tensor;
  private readonly logitFetches: string[];
  private readonly tokenFetches: string[];

  constructor(
    graph: CompiledGraph,
    private readonly vocabSize: number,
  ) {
    this.noBias = float32(new Float32Array(vocabSize), [1, vocabSize]);
    const outputs = graph.model.outputNames;
    this.logitFetches = outputs.filter((n) => n !== GREEDY_TOKENS);
    this.tokenFetches = outputs.filter((n) => n !== 'logits');
  }

  /** Adds the bias feed; returns the outputs to fetch. Throws when `input` asks for greedy tokens in a way the head cannot give. */
  prepare(input: ForwardInput, feeds: Record<string, ort.Tensor>, where: string): string[] {
    const bias = input.tokenBias;
    if (!bias) {
      feeds[TOKEN_BIAS] = this.noBias;
      return this.logitFetches;
    }
    if (input.allLogits) throw new Error(`${where}: tokenBias picks the last position's token; it cannot be combined with allLogits`);
    if (bias.length !== input.batch * this.vocabSize) {
      throw new Error(`${where}: tokenBias has ${bias.length} entries, expected batch ${input.batch} × vocab ${this.vocabSize} = ${input.batch * this.vocabSize}`);
    }
    feeds[TOKEN_BIAS] = float32(bias, [input.batch, this.vocabSize]);
    return this.tokenFetches;
  }

  /** The forward's token part: each row's greedy id when it asked for them. */
  tokens(input: ForwardInput, out: Readonly<Record<string, ort.Tensor>>): { logits: Float32Array; tokens?: number[] } {
    if (!input.tokenBias) return { logits: out.logits!.data as Float32Array };
    return { logits: new Float32Array(0), tokens: Array.from(out[GREEDY_TOKENS]!.data as BigInt64Array, Number) };
  }
}
