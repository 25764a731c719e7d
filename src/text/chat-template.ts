/**
 * Render Hugging Face chat templates (Jinja, as stored in tokenizer_config.json or chat_template.jinja)
 * with @huggingface/jinja, passing the same variables transformers' apply_chat_template does:
 * messages, add_generation_prompt, tools, documents, the special-token strings, plus any extras.
 */
import { Template } from '@huggingface/jinja';

export interface ChatContentPart {
  type: string;
  text?: string;
  [key: string]: unknown;
}

export interface ChatMessage {
  role: string;
  content: string | ChatContentPart[] | null;
  /** Anything else the template reads (tool_calls, name, tool_call_id, ...). */
  [key: string]: unknown;
}

export interface ChatTemplateOptions {
  /** Append the prompt that starts an assistant turn (default false). */
  addGenerationPrompt?: boolean;
  /**
   * Leave the final message open so generation continues it: the output is cut right after that
   * message's text (as transformers' continue_final_message). Incompatible with addGenerationPrompt.
   */
  continueFinalMessage?: boolean;
  bosToken?: string;
  eosToken?: string;
  unkToken?: string;
  padToken?: string;
  tools?: unknown[];
  documents?: unknown[];
  /** More template variables (e.g. enable_thinking, date_string). */
  extra?: Record<string, unknown>;
}

// Parsing is the slow part and the same few templates are rendered over and over.
const cache = new Map<string, Template>();
const CACHE_MAX = 16;

function compile(template: string): Template {
  const hit = cache.get(template);
  if (hit) return hit;
  let compiled: Template;
  try {
    compiled = new Template(template);
  } catch (err) {
    throw new Error(`chat template does not parse: ${(err as Error).message} (template starts ${JSON.stringify(template.slice(0, 60))})`, {
      cause: err,
    });
  }
  if (cache.size >= CACHE_MAX) cache.delete(cache.keys().next().value as string);
  cache.set(template, compiled);
  return compiled;
}

function validate(messages: readonly ChatMessage[]): void {
  if (!Array.isArray(messages)) throw new Error('applyChatTemplate: messages must be an array');
  messages.forEach((m, i) => {
    if (m === null || typeof m !== 'object' || typeof m.role !== 'string') {
      throw new Error(`applyChatTemplate: messages[${i}] must be an object with a string "role"`);
    }
    const c = m.content;
    if (c !== null && c !== undefined && typeof c !== 'string' && !Array.isArray(c)) {
      throw new Error(`applyChatTemplate: messages[${i}].content must be a string, an array of parts or null`);
    }
  });
}

function finalText(m: ChatMessage): string {
  if (typeof m.content === 'string') return m.content;
  if (Array.isArray(m.content)) {
    const texts = m.content.filter((p) => typeof p.text === 'string').map((p) => p.text as string);
    const last = texts.at(-1);
    if (last !== undefined) return last;
  }
  throw new Error('applyChatTemplate: continueFinalMessage needs the final message to have text content');
}

/** Render `template` for `messages`. Returns the prompt text (encode it without adding special tokens). */
export function applyChatTemplate(template: string, messages: readonly ChatMessage[], opts: ChatTemplateOptions = {}): string {
  if (typeof template !== 'string' || template.length === 0) throw new Error('applyChatTemplate: template is empty');
  validate(messages);
  if (opts.continueFinalMessage && opts.addGenerationPrompt) {
    throw new Error('applyChatTemplate: continueFinalMessage and addGenerationPrompt cannot both be set');
  }
  const vars: Record<string, unknown> = {
    ...opts.extra,
    messages,
    add_generation_prompt: opts.addGenerationPrompt ?? false,
  };
  // Only defined values: templates test `bos_token is defined`.
  const optional: [string, unknown][] = [
    ['bos_token', opts.bosToken],
    ['eos_token', opts.eosToken],
    ['unk_token', opts.unkToken],
    ['pad_token', opts.padToken],
    ['tools', opts.tools],
    ['documents', opts.documents],
  ];
  for (const [k, v] of optional) if (v !== undefined) vars[k] = v;
  let out: string;
  try {
    out = compile(template).render(vars);
  } catch (err) {
    if ((err as Error).message.startsWith('chat template does not parse')) throw err;
    throw new Error(`chat template failed to render: ${(err as Error).message}`, { cause: err });
  }
  if (opts.continueFinalMessage) {
    const last = messages.at(-1);
    if (!last) throw new Error('applyChatTemplate: continueFinalMessage needs at least one message');
    const text = finalText(last).trim();
    const at = out.lastIndexOf(text);
    if (at < 0) throw new Error('applyChatTemplate: continueFinalMessage: the final message text does not appear in the rendered prompt');
    out = out.slice(0, at + text.length);
  }
  return out;
}

// Private-use code points: they print where {% generation %} blocks open and close.
const GENERATION_OPEN = '\uE000';
const GENERATION_CLOSE = '\uE001';
const GENERATION_TAG = /\{%(-?)\s*(end)?generation\s*(-?)%\}/g;

/** Whether the template marks assistant output with {% generation %} … {% endgeneration %}. */
export function hasGenerationBlocks(template: string): boolean {
  return new RegExp(GENERATION_TAG.source).test(template);
}

/**
 * The template with each {% generation %} / {% endgeneration %} tag made to print a marker
 * (@huggingface/jinja drops the tags). Each tag becomes an {% if %} block so whitespace control,
 * trim_blocks and lstrip_blocks act on it as on the tag.
 */
export function markGenerationBlocks(template: string): string {
  return template.replace(GENERATION_TAG, (_, left: string, end: string | undefined, right: string) => {
    const mark = end ? GENERATION_CLOSE : GENERATION_OPEN;
    return `{%${left} if true %}{{ '${mark}' }}{% endif ${right}%}`;
  });
}

/**
 * Text rendered by a `markGenerationBlocks` template, without its markers, and the [start, end)
 * character spans of the generation blocks in it (as transformers' return_assistant_tokens_mask).
 */
export function takeGenerationSpans(rendered: string): { text: string; spans: [number, number][] } {
  const spans: [number, number][] = [];
  let text = '';
  let open: number | undefined;
  let from = 0;
  for (let i = 0; i < rendered.length; i++) {
    const c = rendered[i];
    if (c !== GENERATION_OPEN && c !== GENERATION_CLOSE) continue;
    text += rendered.slice(from, i);
    from = i + 1;
    if (c === GENERATION_OPEN) {
      if (open !== undefined) throw new Error('chat template: a {% generation %} block opens inside another');
      open = text.length;
    } else {
      if (open === undefined) throw new Error('chat template: {% endgeneration %} without {% generation %}');
      if (text.length > open) spans.push([open, text.length]);
      open = undefined;
    }
  }
  if (open !== undefined) throw new Error('chat template: a {% generation %} block is never closed');
  return { text: text + rendered.slice(from), spans };
}
