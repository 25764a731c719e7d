/** The prompt `ask` gives the model: numbered sources under a token budget, then the question. */
import type { ChatMessage } from '../../text/chat-template.js';
import type { RetrievalResult } from '../retrieve.js';

export const DEFAULT_INSTRUCTIONS =
  'Answer the question using only the numbered sources below. Cite the sources you use with their numbers in ' +
  'square brackets, like [1] or [2, 3]. If the sources do not contain the answer, say that you do not know.';

export type PromptInput = string | ChatMessage[];

export interface PromptParts {
  instructions: string;
  question: string;
  /** The sources, in the order they are numbered (source n is sources[n - 1]). */
  sources: readonly RetrievalResult[];
  /** Chat messages (for a model with a chat template) or one plain-text prompt. */
  chat: boolean;
}

/** "[1] Title › Heading (p. 3)" then the chunk text. */
export function formatSource(n: number, result: RetrievalResult): string {
  const { chunk } = result;
  const where = [chunk.title ?? chunk.path, ...chunk.headings.filter((h) => h !== chunk.title)].join(' › ');
  const page = chunk.page === undefined ? '' : ` (p. ${chunk.page})`;
  return `[${n}] ${where}${page}\n${chunk.text.trim()}`;
}

export function buildPrompt(parts: PromptParts): PromptInput {
  const sources = parts.sources.map((s, i) => formatSource(i + 1, s)).join('\n\n');
  const context = `Sources:\n\n${sources}\n\nQuestion: ${parts.question}`;
  if (parts.chat) {
    return [
      { role: 'system', content: parts.instructions },
      { role: 'user', content: context },
    ];
  }
  return `${parts.instructions}\n\n${context}\nAnswer:`;
}

/**
 * The longest prefix of `ranked` whose prompt fits `budget` tokens, by `count`. Sources are dropped
 * whole, never cut, so a citation always points at text the model saw in full.
 */
export function fitSources(ranked: readonly RetrievalResult[], budget: number, count: (sources: readonly RetrievalResult[]) => number): RetrievalResult[] {
  let lo = 0;
  let hi = ranked.length;
  // Prompt length grows with every source added, so binary search the cut.
  while (lo < hi) {
    const mid = Math.ceil((lo + hi) / 2);
    if (count(ranked.slice(0, mid)) <= budget) lo = mid;
    else hi = mid - 1;
  }
  return ranked.slice(0, lo);
}
