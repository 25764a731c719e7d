/**
 * POST /v1/chat/completions: messages through the model's chat template, n sequences in the engine,
 * OpenAI's chat.completion (or chat.completion.chunk events with stream: true), logprobs per token with
 * their top alternatives, usage always (in the last chunk with stream_options.include_usage), and
 * response_format enforced by constrained decoding.
 */
import type { FastifyInstance } from 'fastify';
import type { SequenceResult, TokenEvent, TokenLogprob } from '../../../text/batching/types.js';
import type { ChatMessage } from '../../../text/chat-template.js';
import type { ServerContext } from '../app.js';
import { badRequest } from '../errors.js';
import { stopTokenIds, type ServedTextModel } from '../models.js';
import { responseFormatProcessors, responseFormatSchema, type ResponseFormat } from '../response-format.js';
import { clientGone, openAiFinish, responseId, samplingProperties, submitSequences, toUtf8Bytes, usageOf, type SamplingBody, type Usage } from '../sequences.js';
import { mergeHandles, sendSse } from '../stream.js';

interface ChatBody extends SamplingBody {
  messages: ChatMessage[];
  max_completion_tokens?: number | null;
  logprobs?: boolean | null;
  top_logprobs?: number | null;
  response_format?: ResponseFormat | null;
}

const textPart = { type: 'object', required: ['type', 'text'], additionalProperties: false, properties: { type: { const: 'text' }, text: { type: 'string' } } } as const;

const message = {
  type: 'object',
  required: ['role'],
  additionalProperties: false,
  properties: {
    role: { type: 'string', enum: ['system', 'developer', 'user', 'assistant', 'tool'] },
    content: { anyOf: [{ type: 'string' }, { type: 'array', items: textPart }, { type: 'null' }] },
    name: { type: 'string' },
    tool_call_id: { type: 'string' },
    refusal: { anyOf: [{ type: 'string' }, { type: 'null' }] },
  },
} as const;

export const chatSchema = {
  type: 'object',
  required: ['model', 'messages'],
  additionalProperties: false,
  properties: {
    ...samplingProperties,
    messages: { type: 'array', minItems: 1, items: message },
    max_completion_tokens: { anyOf: [{ type: 'integer', minimum: 1 }, { type: 'null' }] },
    logprobs: { anyOf: [{ type: 'boolean' }, { type: 'null' }] },
    top_logprobs: { anyOf: [{ type: 'integer', minimum: 0, maximum: 20 }, { type: 'null' }] },
    response_format: { anyOf: [responseFormatSchema, { type: 'null' }] },
    // Accepted and ignored, as they do not change what a local model generates.
    store: { anyOf: [{ type: 'boolean' }, { type: 'null' }] },
    metadata: { anyOf: [{ type: 'object', additionalProperties: { type: 'string' } }, { type: 'null' }] },
  },
} as const;

/** End-of-turn markers of common chat templates, when the tokenizer has them as single tokens. */
const END_OF_TURN = ['<|im_end|>', '<|eot_id|>', '<|end|>', '<end_of_turn>', '<|endoftext|>'];

function chatPrompt(model: ServedTextModel, messages: ChatMessage[]): number[] {
  const t = model.tokenizer;
  if (t.chatTemplate === undefined) {
    throw badRequest(`The model \`${model.id}\` has no chat template (tokenizer_config.json has no chat_template and there is no chat_template.jinja); use /v1/completions with a plain prompt`, 'messages', 'no_chat_template');
  }
  const normalised = messages.map((m) => ({ ...m, content: Array.isArray(m.content) ? m.content.map((p) => p.text ?? '').join('') : (m.content ?? '') }));
  let text: string;
  try {
    text = t.applyChatTemplate(normalised, { addGenerationPrompt: true });
  } catch (err) {
    throw badRequest(`The chat template of \`${model.id}\` failed on these messages: ${(err as Error).message}`, 'messages');
  }
  // The template already holds the special tokens it wants.
  return t.encode(text, { addSpecialTokens: false });
}

function endOfTurnIds(model: ServedTextModel): number[] {
  return END_OF_TURN.map((tok) => model.tokenizer.tokenToId(tok)).filter((id): id is number => id !== undefined);
}

const logprobEntry = (l: TokenLogprob) => ({ token: l.text, logprob: l.logprob, bytes: toUtf8Bytes(l.text) });
const tokenLogprob = (e: TokenEvent) => ({ ...logprobEntry(e), top_logprobs: (e.top ?? []).map(logprobEntry) });

export function registerChat(app: FastifyInstance, ctx: ServerContext): void {
  app.post<{ Body: ChatBody }>('/v1/chat/completions', { schema: { body: chatSchema } }, async (request, reply) => {
    const body = request.body;
    const model = ctx.textModel(body.model);
    if (body.top_logprobs != null && !body.logprobs) throw badRequest("'top_logprobs' needs 'logprobs': true", 'top_logprobs');
    const promptIds = chatPrompt(model, body.messages);
    const stopIds = [...stopTokenIds(model), ...endOfTurnIds(model)];
    const constrained = responseFormatProcessors(model, body.response_format ?? undefined, stopIds);
    const gone = clientGone(request, reply, ctx);
    const handles = submitSequences(
      ctx,
      model,
      body,
      promptIds,
      {
        param: 'messages',
        stopTokenIds: stopIds,
        ...((body.max_completion_tokens ?? body.max_tokens) != null && { maxTokens: (body.max_completion_tokens ?? body.max_tokens)! }),
        ...(body.logprobs && { topLogprobs: body.top_logprobs ?? 0 }),
        ...(constrained && { processors: () => [constrained()] }),
      },
      gone.signal,
    );
    const id = responseId('chatcmpl');
    const created = Math.floor(Date.now() / 1000);
    const head = { id, object: 'chat.completion.chunk', created, model: model.id, system_fingerprint: 'forja' };
    if (body.stream) {
      const includeUsage = body.stream_options?.include_usage === true;
      return sendSse(reply, (async function* () {
        const results: SequenceResult[] = [];
        const started = new Set<number>();
        const usage = includeUsage ? { usage: null } : {};
        for await (const e of mergeHandles(handles)) {
          if (!started.has(e.index)) {
            started.add(e.index);
            yield { ...head, choices: [{ index: e.index, delta: { role: 'assistant', content: '' }, logprobs: null, finish_reason: null }], ...usage };
          }
          if ('token' in e) {
            const logprobs = body.logprobs ? { content: [tokenLogprob(e.token)] } : null;
            if (e.token.delta === '' && !logprobs) continue;
            yield { ...head, choices: [{ index: e.index, delta: { content: e.token.delta }, logprobs, finish_reason: null }], ...usage };
          } else {
            results[e.index] = e.result;
            yield { ...head, choices: [{ index: e.index, delta: {}, logprobs: null, finish_reason: openAiFinish(e.result.finishReason) }], ...usage };
          }
        }
        const total: Usage = usageOf(results, promptIds.length);
        if (includeUsage) yield { ...head, choices: [], usage: total };
      })());
    }
    const tokens: TokenEvent[][] = handles.map(() => []);
    const results = await Promise.all(
      handles.map(async (h, i) => {
        if (body.logprobs) for await (const t of h) tokens[i]!.push(t);
        return h.result;
      }),
    );
    const usage = usageOf(results, promptIds.length);
    return {
      id,
      object: 'chat.completion',
      created,
      model: model.id,
      system_fingerprint: 'forja',
      choices: results.map((r, index) => ({
        index,
        message: { role: 'assistant', content: r.text, refusal: null },
        logprobs: body.logprobs ? { content: tokens[index]!.map(tokenLogprob), refusal: null } : null,
        finish_reason: openAiFinish(r.finishReason),
      })),
      usage,
    };
  });
}
