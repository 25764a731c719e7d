/**
 * POST /v1/completions, OpenAI's legacy text completions: `prompt` as text, a list of texts, token ids or
 * lists of them; n sequences per prompt (choice index = prompt · n + i); `echo`; `logprobs` (0–5) in the
 * legacy layout (tokens, token_logprobs, top_logprobs, text_offset); streaming as text_completion chunks.
 */
import type { FastifyInstance } from 'fastify';
import type { SequenceHandle, SequenceResult, TokenEvent } from '../../../text/batching/types.js';
import type { ServerContext } from '../app.js';
import { badRequest } from '../errors.js';
import type { ServedTextModel } from '../models.js';
import { clientGone, openAiFinish, responseId, samplingProperties, submitSequences, usageOf, type SamplingBody } from '../sequences.js';
import { mergeHandles, sendSse } from '../stream.js';

interface CompletionsBody extends SamplingBody {
  prompt: string | string[] | number[] | number[][];
  echo?: boolean | null;
  logprobs?: number | null;
  suffix?: string | null;
  best_of?: number | null;
}

const tokenIds = { type: 'array', minItems: 1, items: { type: 'integer', minimum: 0 } } as const;

export const completionsSchema = {
  type: 'object',
  required: ['model', 'prompt'],
  additionalProperties: false,
  properties: {
    ...samplingProperties,
    prompt: { anyOf: [{ type: 'string' }, { type: 'array', minItems: 1, items: { type: 'string' } }, tokenIds, { type: 'array', minItems: 1, items: tokenIds }] },
    echo: { anyOf: [{ type: 'boolean' }, { type: 'null' }] },
    logprobs: { anyOf: [{ type: 'integer', minimum: 0, maximum: 5 }, { type: 'null' }] },
    suffix: { anyOf: [{ type: 'string' }, { type: 'null' }] },
    best_of: { anyOf: [{ type: 'integer', minimum: 1, maximum: 20 }, { type: 'null' }] },
  },
} as const;

/** Each prompt as token ids; ids are checked against the vocabulary. */
function promptsOf(model: ServedTextModel, prompt: CompletionsBody['prompt']): { ids: number[]; text: string }[] {
  const list: (string | number[])[] = typeof prompt === 'string' ? [prompt] : typeof prompt[0] === 'number' ? [prompt as number[]] : (prompt as (string | number[])[]);
  return list.map((p, i) => {
    if (typeof p === 'string') return { ids: model.tokenizer.encode(p), text: p };
    const bad = p.find((id) => id >= model.lm.vocabSize);
    if (bad !== undefined) throw badRequest(`Invalid token id ${bad} in 'prompt'${list.length > 1 ? `[${i}]` : ''}: the vocabulary has ${model.lm.vocabSize} tokens`, 'prompt');
    return { ids: p, text: model.tokenizer.decode(p) };
  });
}

/** The legacy logprobs layout for a run of tokens, offsets counted from `offset`. */
function legacyLogprobs(tokens: readonly TokenEvent[], offset: number) {
  const text_offset: number[] = [];
  let at = offset;
  for (const t of tokens) {
    text_offset.push(at);
    at += t.text.length;
  }
  return {
    tokens: tokens.map((t) => t.text),
    token_logprobs: tokens.map((t) => t.logprob),
    top_logprobs: tokens.map((t) => Object.fromEntries((t.top ?? []).map((l) => [l.text, l.logprob]))),
    text_offset,
  };
}

export function registerCompletions(app: FastifyInstance, ctx: ServerContext): void {
  app.post<{ Body: CompletionsBody }>('/v1/completions', { schema: { body: completionsSchema } }, async (request, reply) => {
    const body = request.body;
    const model = ctx.textModel(body.model);
    if (body.suffix != null && body.suffix !== '') throw badRequest("'suffix' (insertion) is not supported by this model", 'suffix');
    const n = body.n ?? 1;
    if (body.best_of != null && body.best_of !== n) throw badRequest(`'best_of' must equal 'n' (${n}) here: choosing the best of several is not supported`, 'best_of');
    if (body.echo && body.logprobs != null) throw badRequest("'echo' with 'logprobs' is not supported: prompt tokens get no logprobs here", 'echo');
    const prompts = promptsOf(model, body.prompt);
    const gone = clientGone(request, reply, ctx);
    const handles: SequenceHandle[] = [];
    try {
      for (const p of prompts) {
        handles.push(
          ...submitSequences(ctx, model, body, p.ids, { param: 'prompt', ...(body.max_tokens != null && { maxTokens: body.max_tokens }), ...(body.logprobs != null && { topLogprobs: body.logprobs }) }, gone.signal, n),
        );
      }
    } catch (err) {
      for (const h of handles) h.cancel();
      throw err;
    }
    const promptTokens = prompts.reduce((s, p) => s + p.ids.length, 0);
    const promptOf = (choice: number) => prompts[Math.floor(choice / n)]!;
    const id = responseId('cmpl');
    const created = Math.floor(Date.now() / 1000);
    const head = { id, object: 'text_completion', created, model: model.id, system_fingerprint: 'forja' };
    if (body.stream) {
      const includeUsage = body.stream_options?.include_usage === true;
      return sendSse(reply, (async function* () {
        const results: SequenceResult[] = [];
        const offsets = handles.map((_, i) => (body.echo ? promptOf(i).text.length : 0));
        const usage = includeUsage ? { usage: null } : {};
        if (body.echo) for (let i = 0; i < handles.length; i++) yield { ...head, choices: [{ text: promptOf(i).text, index: i, logprobs: null, finish_reason: null }], ...usage };
        for await (const e of mergeHandles(handles)) {
          if ('token' in e) {
            const logprobs = body.logprobs != null ? legacyLogprobs([e.token], offsets[e.index]!) : null;
            offsets[e.index]! += e.token.delta.length;
            if (e.token.delta === '' && !logprobs) continue;
            yield { ...head, choices: [{ text: e.token.delta, index: e.index, logprobs, finish_reason: null }], ...usage };
          } else {
            results[e.index] = e.result;
            yield { ...head, choices: [{ text: '', index: e.index, logprobs: null, finish_reason: openAiFinish(e.result.finishReason) }], ...usage };
          }
        }
        const total = usageOf(results, promptTokens);
        if (includeUsage) yield { ...head, choices: [], usage: total };
      })());
    }
    const tokens: TokenEvent[][] = handles.map(() => []);
    const results = await Promise.all(
      handles.map(async (h, i) => {
        if (body.logprobs != null) for await (const t of h) tokens[i]!.push(t);
        return h.result;
      }),
    );
    const usage = usageOf(results, promptTokens);
    return {
      ...head,
      object: 'text_completion',
      choices: results.map((r, index) => ({
        text: (body.echo ? promptOf(index).text : '') + r.text,
        index,
        logprobs: body.logprobs != null ? legacyLogprobs(tokens[index]!, 0) : null,
        finish_reason: openAiFinish(r.finishReason),
      })),
      usage,
    };
  });
}
