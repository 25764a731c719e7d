/**
 * What chat and legacy completions share: OpenAI's sampling fields turned into engine requests (max_tokens
 * clamped to the context, a 400 naming the numbers when the prompt alone fills it), n sequences submitted
 * together (all or none), cancelled when the client goes away, and their results counted in the metrics
 * however the request ends.
 */
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { FinishReason, SequenceHandle, SequenceRequest, SequenceResult } from '../../text/batching/types.js';
import { offsetting, type LogitsProcessor } from '../../text/logits-processors.js';
import type { ServerContext } from './app.js';
import { ApiError, badRequest } from './errors.js';
import { stopTokenIds, type ServedTextModel } from './models.js';

/** The sampling fields both endpoints take, with OpenAI's names. */
export interface SamplingBody {
  model: string;
  max_tokens?: number | null;
  temperature?: number | null;
  top_p?: number | null;
  seed?: number | null;
  stop?: string | string[] | null;
  n?: number | null;
  presence_penalty?: number | null;
  frequency_penalty?: number | null;
  logit_bias?: Record<string, number> | null;
  stream?: boolean | null;
  stream_options?: { include_usage?: boolean } | null;
  user?: string;
}

/** OpenAI's limits: n up to 128, four stop sequences, penalties in [-2, 2], temperature in [0, 2]. */
export const MAX_N = 128;
const nullable = <T extends object>(schema: T) => ({ anyOf: [schema, { type: 'null' }] });

export const samplingProperties = {
  model: { type: 'string', minLength: 1 },
  max_tokens: nullable({ type: 'integer', minimum: 1 }),
  temperature: nullable({ type: 'number', minimum: 0, maximum: 2 }),
  top_p: nullable({ type: 'number', exclusiveMinimum: 0, maximum: 1 }),
  seed: nullable({ type: 'integer' }),
  stop: nullable({ anyOf: [{ type: 'string', minLength: 1 }, { type: 'array', items: { type: 'string', minLength: 1 }, maxItems: 4 }] }),
  n: nullable({ type: 'integer', minimum: 1, maximum: MAX_N }),
  presence_penalty: nullable({ type: 'number', minimum: -2, maximum: 2 }),
  frequency_penalty: nullable({ type: 'number', minimum: -2, maximum: 2 }),
  logit_bias: nullable({ type: 'object', patternProperties: { '^[0-9]+$': { type: 'number', minimum: -100, maximum: 100 } }, additionalProperties: false }),
  stream: nullable({ type: 'boolean' }),
  stream_options: nullable({ type: 'object', additionalProperties: false, properties: { include_usage: { type: 'boolean' } } }),
  user: { type: 'string' },
} as const;

const value = <T>(v: T | null | undefined): T | undefined => (v === null ? undefined : v);

/** max_tokens for a prompt: what was asked, cut to the room the context leaves; the room when nothing was asked. */
export function maxNewTokens(model: ServedTextModel, promptTokens: number, requested: number | undefined, param: string): number {
  const context = model.lm.maxPositions;
  if (promptTokens >= context) {
    throw new ApiError(400, `This model's maximum context length is ${context} tokens. However, your ${param} resulted in ${promptTokens} tokens, which leaves no room for a completion. Please reduce the length of the ${param}.`, { param, code: 'context_length_exceeded' });
  }
  const room = context - promptTokens;
  const fallback = model.generationConfig.max_new_tokens ?? room;
  return Math.min(requested ?? fallback, room);
}

function logitBias(bias: Record<string, number>, vocabSize: number): LogitsProcessor {
  const entries = Object.entries(bias).map(([id, b]) => {
    const token = Number(id);
    if (token >= vocabSize) throw badRequest(`Invalid key in 'logit_bias': token id ${token} is outside the vocabulary (${vocabSize} tokens)`, 'logit_bias');
    return [token, b] as const;
  });
  return offsetting(new Map(entries));
}

export interface Submission {
  handles: SequenceHandle[];
  promptTokens: number;
  /** Aborts when the client goes away before the answer is complete. */
  signal: AbortSignal;
}

/**
 * Submit `n` sequences of one prompt (seeded requests get seed, seed+1, … so the n differ but repeat).
 * When the engine refuses one (queue full), the others are cancelled and the error goes up.
 */
export function submitSequences(
  ctx: ServerContext,
  model: ServedTextModel,
  body: SamplingBody,
  promptIds: readonly number[],
  extra: Pick<SequenceRequest, 'topLogprobs'> & {
    /** Processors of one sequence (made per sequence: constrained decoding keeps state). */
    processors?: () => LogitsProcessor[];
    stopTokenIds?: readonly number[];
    maxTokens?: number;
    param: string;
  },
  signal: AbortSignal,
  n = value(body.n) ?? 1,
): SequenceHandle[] {
  const engine = ctx.engine;
  if (!engine) throw new ApiError(503, 'No text models are loaded');
  const maxTokens = maxNewTokens(model, promptIds.length, extra.maxTokens, extra.param);
  const stop = value(body.stop);
  const bias = value(body.logit_bias);
  const biasProcessor = bias && Object.keys(bias).length > 0 ? logitBias(bias, model.lm.vocabSize) : undefined;
  const seed = value(body.seed);
  const handles: SequenceHandle[] = [];
  try {
    for (let i = 0; i < n; i++) {
      const processors = [...(biasProcessor ? [biasProcessor] : []), ...(extra.processors?.() ?? [])];
      const sampling = {
        temperature: value(body.temperature) ?? 1,
        top_p: value(body.top_p) ?? 1,
        ...(seed !== undefined && { seed: seed + i }),
        presence_penalty: value(body.presence_penalty) ?? 0,
        frequency_penalty: value(body.frequency_penalty) ?? 0,
      };
      handles.push(
        engine.submit({
          promptIds,
          maxNewTokens: maxTokens,
          sampling,
          stopTokenIds: [...stopTokenIds(model), ...(extra.stopTokenIds ?? [])],
          ...(stop !== undefined && { stopStrings: typeof stop === 'string' ? [stop] : stop }),
          ...(extra.topLogprobs !== undefined && { topLogprobs: extra.topLogprobs }),
          ...(processors.length > 0 && { logitsProcessors: processors }),
          model: model.id,
          signal,
        }),
      );
    }
  } catch (err) {
    for (const h of handles) h.cancel();
    throw err;
  }
  // Recorded however the request ends (answered, streamed, its client gone).
  void Promise.all(handles.map((h) => h.result)).then(
    (results) => recordResults(ctx, model.id, results, promptIds.length),
    () => undefined,
  );
  return handles;
}

function recordResults(ctx: ServerContext, model: string, results: readonly SequenceResult[], promptTokens: number): void {
  results.forEach((r, i) => {
    ctx.metrics.recordSequence(model, { ...r, promptTokens: i === 0 ? promptTokens : 0 });
    if (r.finishReason === 'cancelled') ctx.metrics.cancelled.inc({ model });
  });
}

/**
 * An AbortSignal that fires when the client disconnects before the reply is finished (the socket closes
 * first), or when the server closes. The raw response's close event is the one that fires for both.
 */
export function clientGone(request: FastifyRequest, reply: FastifyReply, ctx: ServerContext): AbortController {
  const controller = new AbortController();
  const onClose = (): void => {
    if (!reply.raw.writableFinished) controller.abort();
  };
  reply.raw.on('close', onClose);
  request.raw.on('aborted', () => controller.abort());
  const onClosing = (): void => controller.abort();
  ctx.closing.addEventListener('abort', onClosing, { once: true });
  controller.signal.addEventListener('abort', () => ctx.closing.removeEventListener('abort', onClosing), { once: true });
  reply.raw.on('finish', () => ctx.closing.removeEventListener('abort', onClosing));
  return controller;
}

/** OpenAI has no "cancelled": a sequence cut by the server closing reports where it stopped. */
export const openAiFinish = (reason: FinishReason): 'stop' | 'length' => (reason === 'length' ? 'length' : 'stop');

export interface Usage {
  prompt_tokens: number;
  completion_tokens: number;
  total_tokens: number;
}

/** Usage over all sequences of a request, each prompt counted once. */
export function usageOf(results: readonly SequenceResult[], promptTokens: number): Usage {
  const completion = results.reduce((sum, r) => sum + r.completionTokens, 0);
  return { prompt_tokens: promptTokens, completion_tokens: completion, total_tokens: promptTokens + completion };
}

export const toUtf8Bytes = (text: string): number[] => [...Buffer.from(text, 'utf8')];

let counter = 0;
/** Response ids: unique within the process, not guessable across it. */
export function responseId(prefix: string): string {
  counter = (counter + 1) % 1e9;
  return `${prefix}-${Date.now().toString(36)}${counter.toString(36)}${Math.random().toString(36).slice(2, 10)}`;
}

/** Server-sent events: one `data:` line per JSON chunk, then `data: [DONE]`. */
export const sseData = (chunk: unknown): string => `data: ${JSON.stringify(chunk)}\n\n`;
export const SSE_DONE = 'data: [DONE]\n\n';
export const SSE_HEADERS = { 'content-type': 'text/event-stream; charset=utf-8', 'cache-control': 'no-cache', connection: 'keep-alive', 'x-accel-buffering': 'no' } as const;
