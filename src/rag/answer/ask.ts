/**
 * Retrieval-augmented answering: retrieve, number the sources that fit the model's context, generate
 * (streaming), and map the answer's `[n]` markers back to documents, pages and offsets.
 */
import type { GenerationOptions } from '../../text/generation-config.js';
import type { RetrievalResult } from '../retrieve.js';
import { parseCitations } from './citations.js';
import { buildPrompt, DEFAULT_INSTRUCTIONS, fitSources, type PromptInput } from './prompt.js';

/** What `ask` needs from a text generator; the text-generation pipeline is one. */
export interface AnswerGenerator {
  /** Prompt token ids of `input` (the chat template applied to messages). */
  encode(input: PromptInput): number[];
  /** The reply's text increments. */
  stream(input: PromptInput, options?: GenerationOptions & { return_full_text?: boolean; signal?: AbortSignal }): AsyncGenerator<string, unknown>;
  readonly model: { readonly maxPositions: number };
}

export interface AskOptions {
  /** Ranked results for the question, best first (usually `(q) => retrieve(store, q, …)`). */
  retrieve: (question: string) => Promise<RetrievalResult[]>;
  generator: AnswerGenerator;
  /** Chat messages through the model's chat template (default), or one plain prompt for a base model. */
  chat?: boolean;
  instructions?: string;
  /** Tokens the prompt may take; default the model's context minus maxNewTokens. */
  contextTokens?: number;
  /** Default 256. */
  maxNewTokens?: number;
  /** Below this best retrieval score, answer "no relevant source" without generating. */
  minScore?: number;
  /** Sampling and the rest of generation (greedy by default). */
  generation?: GenerationOptions;
  onText?: (text: string) => void | Promise<void>;
  signal?: AbortSignal;
}

/** A numbered source given to the model. */
export interface SourceRef {
  /** The number the prompt gave it. */
  number: number;
  chunkId: number;
  docId: string;
  path: string;
  title?: string;
  page?: number;
  start: number;
  end: number;
  headings: string[];
  score: number;
}

export type AskOutcome = 'answered' | 'no-relevant-source';

export interface AskResult {
  outcome: AskOutcome;
  /** Why no source was relevant, when outcome is 'no-relevant-source'. */
  reason?: string;
  answer: string;
  /** The sources in the prompt, numbered as the model saw them. */
  sources: SourceRef[];
  /** The sources the answer cites, in order of first citation. */
  cited: SourceRef[];
  /** `[n]` markers naming no source. */
  unknownCitations: number[];
  /** Everything retrieval returned, including what did not fit the context. */
  retrieved: RetrievalResult[];
  promptTokens: number;
}

export class AskError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'AskError';
  }
}

const sourceRef = (result: RetrievalResult, index: number): SourceRef => {
  const { chunk } = result;
  return {
    number: index + 1, chunkId: chunk.id, docId: chunk.docId, path: chunk.path, ...(chunk.title !== undefined && { title: chunk.title }),
    ...(chunk.page !== undefined && { page: chunk.page }), start: chunk.start, end: chunk.end, headings: chunk.headings, score: result.score,
  };
};

export async function ask(question: string, options: AskOptions): Promise<AskResult> {
  if (question.trim() === '') throw new AskError('ask: the question is empty');
  const { generator } = options;
  const maxNewTokens = options.maxNewTokens ?? 256;
  const budget = options.contextTokens ?? generator.model.maxPositions - maxNewTokens;
  if (!(budget > 0) || budget + maxNewTokens > generator.model.maxPositions) {
    throw new AskError(`ask: a prompt of ${budget} tokens plus ${maxNewTokens} new ones does not fit the model's ${generator.model.maxPositions} positions`);
  }
  const retrieved = await options.retrieve(question);
  const none = (reason: string, promptTokens = 0): AskResult => ({ outcome: 'no-relevant-source', reason, answer: '', sources: [], cited: [], unknownCitations: [], retrieved, promptTokens });
  if (retrieved.length === 0) return none('retrieval found nothing');
  const best = retrieved[0]!.score;
  if (options.minScore !== undefined && best < options.minScore) return none(`the best source scored ${best.toFixed(4)}, below the threshold ${options.minScore}`);

  const parts = { instructions: options.instructions ?? DEFAULT_INSTRUCTIONS, question, chat: options.chat ?? true };
  const tokens = (sources: readonly RetrievalResult[]) => generator.encode(buildPrompt({ ...parts, sources })).length;
  const given = fitSources(retrieved, budget, tokens);
  if (given.length === 0) return none(`the best source does not fit a prompt of ${budget} tokens`, tokens([]));
  const prompt = buildPrompt({ ...parts, sources: given });

  let answer = '';
  const reply = generator.stream(prompt, { ...options.generation, max_new_tokens: maxNewTokens, return_full_text: false, ...(options.signal && { signal: options.signal }) });
  for await (const text of reply) {
    answer += text;
    await options.onText?.(text);
  }
  const sources = given.map(sourceRef);
  const marks = parseCitations(answer, sources.length);
  return { outcome: 'answered', answer, sources, cited: marks.cited.map((n) => sources[n - 1]!), unknownCitations: marks.unknown, retrieved, promptTokens: tokens(given) };
}
