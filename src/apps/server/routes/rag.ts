/**
 * Retrieval-augmented answers over the store of `--rag`: POST /v1/rag/ask returns the answer with its numbered
 * sources (document id, path for display, page, heading path, offsets, passage text) and which of them it
 * cites; and each served text model is also a model `rag:<model>` (plain `rag` too when one is served), so a
 * plain /v1/chat/completions client gets a grounded answer whose text ends with the sources it cites (the last
 * user message is the question, a system message the instructions; earlier turns are not used). The
 * answering model runs on the server's batching engine beside every other request.
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { ask, AskError, type AskResult, type SourceRef } from '../../../rag/answer/ask.js';
import type { PromptInput } from '../../../rag/answer/prompt.js';
import { retrieve, RETRIEVAL_MODES, type RetrievalMode, type RetrieveOptions } from '../../../rag/retrieve.js';
import type { ChunkFilter } from '../../../rag/store/types.js';
import type { AnswerGenerator } from '../../../rag/answer/ask.js';
import type { SequenceResult } from '../../../text/batching/types.js';
import type { ChatMessage } from '../../../text/chat-template.js';
import type { ServerContext } from '../app.js';
import { ApiError, badRequest } from '../errors.js';
import type { MediaModels, ServedRagStore } from '../media-models.js';
import { stopTokenIds, type ServedTextModel } from '../models.js';
import { clientGone, responseId } from '../sequences.js';
import { sendSse } from '../stream.js';

export const RAG_PREFIX = 'rag:';
export const MAX_K = 50;
const DEFAULT_K = 5;
const DEFAULT_MAX_TOKENS = 256;
/** End-of-turn markers of common chat templates (as chat.ts stops on them). */
const END_OF_TURN = ['<|im_end|>', '<|eot_id|>', '<|end|>', '<end_of_turn>', '<|endoftext|>'];

export interface RagFilters {
  path?: string;
  document_ids?: string[];
  pages?: { from?: number; to?: number };
}

export interface RagAskBody {
  question: string;
  model?: string;
  k?: number;
  mode?: RetrievalMode;
  filters?: RagFilters;
  max_tokens?: number;
  temperature?: number;
  seed?: number;
  min_score?: number;
  /** What the model is told before the sources (default `ask`'s: answer from the sources, cite them as [n]). */
  instructions?: string;
}

const page = { type: 'integer', minimum: 1 } as const;

export const ragAskSchema = {
  type: 'object',
  required: ['question'],
  additionalProperties: false,
  properties: {
    question: { type: 'string', minLength: 1, maxLength: 8000 },
    model: { type: 'string', minLength: 1 },
    k: { type: 'integer', minimum: 1, maximum: MAX_K },
    mode: { type: 'string', enum: RETRIEVAL_MODES },
    filters: {
      type: 'object',
      additionalProperties: false,
      properties: {
        path: { type: 'string', minLength: 1 },
        document_ids: { type: 'array', items: { type: 'string' }, minItems: 1 },
        pages: { type: 'object', additionalProperties: false, properties: { from: page, to: page } },
      },
    },
    max_tokens: { type: 'integer', minimum: 1 },
    temperature: { type: 'number', minimum: 0, maximum: 2 },
    seed: { type: 'integer' },
    min_score: { type: 'number' },
    instructions: { type: 'string', minLength: 1, maxLength: 8000 },
  },
} as const;

/** The store's filter from the request's. */
export function chunkFilter(filters: RagFilters | undefined): ChunkFilter | undefined {
  if (!filters) return undefined;
  const { from, to } = filters.pages ?? {};
  if (from !== undefined && to !== undefined && from > to) throw badRequest(`'filters.pages' runs from ${from} to ${to}; 'from' must not be after 'to'`, 'filters.pages');
  const filter: ChunkFilter = {
    ...(filters.path !== undefined && { pathGlob: filters.path }),
    ...(filters.document_ids !== undefined && { docIds: filters.document_ids }),
    ...(filters.pages !== undefined && { pages: { ...(from !== undefined && { from }), ...(to !== undefined && { to }) } }),
  };
  return Object.keys(filter).length > 0 ? filter : undefined;
}

/** How the store is searched: hybrid when it has an embedding model, else BM25; dense needs the embedder. */
export function retrieveOptions(rag: ServedRagStore, body: Pick<RagAskBody, 'k' | 'mode' | 'filters'>): RetrieveOptions {
  const embedder = rag.embedder?.textEmbedder;
  const mode = body.mode ?? (embedder ? 'hybrid' : 'bm25');
  if (mode !== 'bm25' && !embedder) throw badRequest(`'mode' ${mode} needs embeddings, and the store ${rag.store.location} was built without an embedding model; use bm25`, 'mode');
  const filter = chunkFilter(body.filters);
  return { mode, k: body.k ?? DEFAULT_K, ...(filter && { filter }), ...(mode !== 'bm25' && { embedder: embedder! }) };
}

/** A served text model as `ask`'s generator, on the engine; `last` holds the finished sequence (for usage). */
export function engineGenerator(ctx: ServerContext, model: ServedTextModel, sampling: { temperature?: number; seed?: number }): AnswerGenerator & { last?: SequenceResult } {
  const t = model.tokenizer;
  const endOfTurn = END_OF_TURN.map((tok) => t.tokenToId(tok)).filter((id): id is number => id !== undefined);
  const encode = (input: PromptInput): number[] =>
    typeof input === 'string' ? t.encode(input) : t.encode(t.applyChatTemplate(input as ChatMessage[], { addGenerationPrompt: true }), { addSpecialTokens: false });
  const generator: AnswerGenerator & { last?: SequenceResult } = {
    model: { maxPositions: model.lm.maxPositions },
    encode,
    async *stream(input, options = {}) {
      const engine = ctx.engine;
      if (!engine) throw new ApiError(503, 'No text models are loaded to answer with');
      const handle = engine.submit({
        promptIds: encode(input),
        maxNewTokens: options.max_new_tokens ?? DEFAULT_MAX_TOKENS,
        sampling: { temperature: sampling.temperature ?? 0, ...(sampling.seed !== undefined && { seed: sampling.seed }) },
        stopTokenIds: [...stopTokenIds(model), ...endOfTurn],
        model: model.id,
        ...(options.signal && { signal: options.signal }),
      });
      for await (const event of handle) if (event.delta !== '') yield event.delta;
      generator.last = await handle.result;
    },
  };
  return generator;
}

export interface RagSource {
  number: number;
  document_id: string;
  /** Where the document was read from at ingest time; for display only. */
  path: string;
  title?: string;
  page?: number;
  headings: string[];
  start: number;
  end: number;
  score: number;
  text: string;
  cited: boolean;
}

export function ragSources(result: AskResult): RagSource[] {
  const texts = new Map(result.retrieved.map((r) => [r.chunk.id, r.chunk.text]));
  const cited = new Set(result.cited.map((s) => s.number));
  return result.sources.map((s) => ({
    number: s.number,
    document_id: s.docId,
    path: s.path,
    ...(s.title !== undefined && { title: s.title }),
    ...(s.page !== undefined && { page: s.page }),
    headings: s.headings,
    start: s.start,
    end: s.end,
    score: s.score,
    text: texts.get(s.chunkId) ?? '',
    cited: cited.has(s.number),
  }));
}

const usage = (result: AskResult, last: SequenceResult | undefined) => {
  const completion = last?.completionTokens ?? 0;
  return { prompt_tokens: result.promptTokens, completion_tokens: completion, total_tokens: result.promptTokens + completion };
};

/** "[1] guide.md p. 3 › Install › Linux": one line per cited source, for chat clients that show only text. */
export function citationLines(cited: readonly SourceRef[]): string {
  if (cited.length === 0) return '';
  const line = (s: SourceRef) => `[${s.number}] ${s.title ?? s.path}${s.page === undefined ? '' : ` p. ${s.page}`}${s.headings.length ? ` › ${s.headings.join(' › ')}` : ''}`;
  return `\n\nSources:\n${cited.map(line).join('\n')}`;
}

interface RagServing {
  rag: ServedRagStore;
  /** rag model name → the text model that answers. */
  models: Map<string, ServedTextModel>;
}

async function answer(ctx: ServerContext, serving: RagServing, model: ServedTextModel, body: RagAskBody, signal: AbortSignal, onText?: (t: string) => void) {
  const options = retrieveOptions(serving.rag, body);
  const generator = engineGenerator(ctx, model, { ...(body.temperature !== undefined && { temperature: body.temperature }), ...(body.seed !== undefined && { seed: body.seed }) });
  const maxNewTokens = Math.min(body.max_tokens ?? DEFAULT_MAX_TOKENS, model.lm.maxPositions - 1);
  try {
    const result = await ask(body.question, {
      retrieve: (q) => retrieve(serving.rag.store, q, options),
      generator,
      chat: model.tokenizer.chatTemplate !== undefined,
      maxNewTokens,
      ...(body.min_score !== undefined && { minScore: body.min_score }),
      ...(body.instructions !== undefined && { instructions: body.instructions }),
      ...(onText && { onText }),
      signal,
    });
    return { result, usage: usage(result, generator.last), finish: generator.last?.finishReason === 'length' ? ('length' as const) : ('stop' as const) };
  } catch (err) {
    if (err instanceof AskError) {
      const empty = /question is empty/.test(err.message);
      throw badRequest(err.message.replace(/^ask: /, ''), empty ? 'question' : 'max_tokens', empty ? null : 'context_length_exceeded');
    }
    throw err;
  }
}

/** The text model a /v1/rag/ask request names (a text model or its rag: name), or the only one served. */
function askModel(ctx: ServerContext, serving: RagServing, model: string | undefined): ServedTextModel {
  if (model === undefined) {
    if (ctx.textModels.length === 1) return ctx.textModels[0]!;
    throw badRequest(`'model' is required: the server answers with ${ctx.textModels.length === 0 ? 'no text models (start forja serve with --model)' : `one of ${ctx.textModels.map((m) => m.id).join(', ')}`}`, 'model');
  }
  return serving.models.get(model) ?? ctx.textModel(model);
}

const textOf = (m: ChatMessage | undefined): string => {
  const content = m?.content;
  return typeof content === 'string' ? content : Array.isArray(content) ? content.map((p) => (p as { text?: string }).text ?? '').join('') : '';
};

/** The question of a chat (the last user message's text), and its system message as the instructions. */
function chatQuestion(messages: readonly ChatMessage[]): { question: string; instructions?: string } {
  const question = textOf([...messages].reverse().find((m) => m.role === 'user'));
  if (question.trim() === '') throw badRequest('a rag model answers the last user message, and there is none with text', 'messages');
  const instructions = textOf(messages.find((m) => m.role === 'system' || m.role === 'developer'));
  return { question, ...(instructions.trim() !== '' && { instructions }) };
}

interface ChatLikeBody {
  model: string;
  messages: ChatMessage[];
  max_tokens?: number | null;
  max_completion_tokens?: number | null;
  temperature?: number | null;
  seed?: number | null;
  n?: number | null;
  stream?: boolean | null;
  stream_options?: { include_usage?: boolean } | null;
  response_format?: unknown;
  logprobs?: boolean | null;
}

/** /v1/chat/completions on a rag model: answered here, before the chat route's handler runs. */
async function ragChat(ctx: ServerContext, serving: RagServing, model: ServedTextModel, request: FastifyRequest, reply: FastifyReply): Promise<FastifyReply> {
  const body = request.body as ChatLikeBody;
  if ((body.n ?? 1) !== 1) throw badRequest(`a rag model gives one grounded answer; 'n' must be 1`, 'n');
  if (body.response_format != null || body.logprobs) throw badRequest(`a rag model answers in text with citations; drop '${body.response_format != null ? 'response_format' : 'logprobs'}'`, body.response_format != null ? 'response_format' : 'logprobs');
  const ask: RagAskBody = {
    ...chatQuestion(body.messages),
    ...((body.max_completion_tokens ?? body.max_tokens) != null && { max_tokens: (body.max_completion_tokens ?? body.max_tokens)! }),
    ...(body.temperature != null && { temperature: body.temperature }),
    ...(body.seed != null && { seed: body.seed }),
  };
  const gone = clientGone(request, reply, ctx);
  const id = responseId('chatcmpl');
  const created = Math.floor(Date.now() / 1000);
  const head = { id, created, model: body.model, system_fingerprint: 'forja' };
  const finish = (r: AskResult) => (r.outcome === 'answered' ? r.answer + citationLines(r.cited) : `No relevant source: ${r.reason}.`);
  if (!body.stream) {
    const { result, usage, finish: reason } = await answer(ctx, serving, model, ask, gone.signal);
    return reply.send({
      ...head,
      object: 'chat.completion',
      choices: [{ index: 0, message: { role: 'assistant', content: finish(result), refusal: null }, logprobs: null, finish_reason: reason }],
      usage,
      sources: ragSources(result),
    });
  }
  const chunk = { ...head, object: 'chat.completion.chunk' };
  return sendSse(reply, (async function* () {
    const pieces: string[] = [];
    let wake: (() => void) | undefined;
    let done = false;
    const running = answer(ctx, serving, model, ask, gone.signal, (t) => {
      pieces.push(t);
      wake?.();
    }).finally(() => {
      done = true;
      wake?.();
    });
    running.catch(() => undefined);
    yield { ...chunk, choices: [{ index: 0, delta: { role: 'assistant', content: '' }, logprobs: null, finish_reason: null }] };
    while (!done || pieces.length > 0) {
      if (pieces.length === 0) await new Promise<void>((resolve) => (wake = resolve));
      wake = undefined;
      for (const content of pieces.splice(0)) yield { ...chunk, choices: [{ index: 0, delta: { content }, logprobs: null, finish_reason: null }] };
    }
    const { result, usage: total, finish: reason } = await running;
    const tail = result.outcome === 'answered' ? citationLines(result.cited) : finish(result);
    if (tail !== '') yield { ...chunk, choices: [{ index: 0, delta: { content: tail }, logprobs: null, finish_reason: null }] };
    yield { ...chunk, choices: [{ index: 0, delta: {}, logprobs: null, finish_reason: reason }], sources: ragSources(result) };
    if (body.stream_options?.include_usage) yield { ...chunk, choices: [], usage: total };
  })());
}

/** The rag model names: `rag:<model>` for each text model, and `rag` when there is only one. */
export function ragModelNames(textModels: readonly ServedTextModel[]): Map<string, ServedTextModel> {
  const names = new Map(textModels.map((m) => [`${RAG_PREFIX}${m.id}`, m]));
  if (textModels.length === 1) names.set('rag', textModels[0]!);
  return names;
}

export function registerRagRoutes(app: FastifyInstance, ctx: ServerContext, media: MediaModels): void {
  const rag = media.rag;
  if (!rag) return;
  const serving: RagServing = { rag, models: ragModelNames(ctx.textModels) };
  const created = Math.floor(Date.now() / 1000);
  for (const [id, m] of serving.models) ctx.addModel({ id, created, owned_by: m.id, kind: 'rag' });

  app.post<{ Body: RagAskBody }>('/v1/rag/ask', { schema: { body: ragAskSchema } }, async (request, reply) => {
    const model = askModel(ctx, serving, request.body.model);
    const gone = clientGone(request, reply, ctx);
    const { result, usage } = await answer(ctx, serving, model, request.body, gone.signal);
    return {
      id: responseId('rag'),
      object: 'rag.answer',
      created: Math.floor(Date.now() / 1000),
      model: model.id,
      outcome: result.outcome,
      ...(result.reason !== undefined && { reason: result.reason }),
      answer: result.answer,
      sources: ragSources(result),
      cited: result.cited.map((s) => s.number),
      unknown_citations: result.unknownCitations,
      usage,
    };
  });

  // A chat request on a rag model is answered before the chat route's handler (the body is already validated).
  app.addHook('preHandler', async (request, reply) => {
    if (request.routeOptions.url !== '/v1/chat/completions' || request.method !== 'POST') return;
    const model = serving.models.get((request.body as { model?: string } | undefined)?.model ?? '');
    if (model) return ragChat(ctx, serving, model, request, reply);
  });
}
