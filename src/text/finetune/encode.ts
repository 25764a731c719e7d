/**
 * Fine-tuning records → token ids and labels (unshifted, -100 where no loss is taken).
 *
 * This sits in text/, not data/, because it needs the tokenizer and the chat template renderer,
 * and data/ is below text/ in the layers: data/finetune holds everything that needs no tokenizer
 * (reading, validation, batching, splitting) and this file joins the two.
 *
 * - text: every token is learned; EOS is appended (appendEos).
 * - prompt/completion: ids of prompt + completion, labels -100 on the prompt's tokens; EOS appended.
 *   The boundary is the common prefix of the ids of the prompt and of the whole text, so a token
 *   that straddles it (BPE merging across) counts as completion, as in TRL.
 * - chat: the conversation rendered by the chat template, encoded without special tokens (the
 *   template writes them), labels -100 outside the assistant messages. If the template has
 *   {% generation %} blocks, those are the assistant spans. Otherwise each assistant message i is
 *   found by rendering the prefix messages[0..i) with the generation prompt (where it starts) and
 *   messages[0..i] (where it ends, the end-of-turn tokens included); both must be prefixes of the
 *   whole rendering. Character boundaries become token boundaries by encoding the text up to each
 *   and taking the common prefix with the whole text's ids.
 */
import type { Example } from '../../data/finetune/batching.js';
import { IGNORE_INDEX } from '../../data/finetune/batching.js';
import type { FinetuneRecord, RecordRejection } from '../../data/finetune/records.js';
import type { EncodeOptions } from '../tokenizer.js';
import { type ChatMessage, type ChatTemplateOptions, applyChatTemplate, hasGenerationBlocks, markGenerationBlocks, takeGenerationSpans } from '../chat-template.js';

/** What encoding needs from a tokenizer; `Tokenizer` has all of it. */
export interface FinetuneTokenizer {
  encode(text: string, opts?: EncodeOptions): number[];
  readonly eosTokenId: number | undefined;
  readonly padTokenId: number | undefined;
  /** The default chat template (tokenizer_config.json's chat_template or chat_template.jinja). */
  readonly chatTemplate?: string | undefined;
  /** Renders with the tokenizer's special tokens filled in; without it the template gets none. */
  applyChatTemplate?(messages: readonly ChatMessage[], opts?: ChatTemplateOptions & { template?: string }): string;
}

/** How assistant tokens of a chat are found (see the file comment). */
export type AssistantMaskMethod = 'generation-blocks' | 'prefix-render';

export interface RecordEncoder {
  encode(record: FinetuneRecord): { ok: true; example: Example } | RecordRejection;
  /** How chat records are masked; undefined without a chat template. */
  readonly assistantMask: AssistantMaskMethod | undefined;
}

export interface RecordEncoderOptions {
  /** End text and completion records with EOS, so the model learns to stop. */
  appendEos: boolean;
  eosTokenId: number | undefined;
  /** The chat template; undefined when the data has no chat records or the tokenizer no template. */
  chatTemplate: string | undefined;
}

function commonPrefix(a: readonly number[], b: readonly number[]): number {
  const n = Math.min(a.length, b.length);
  let i = 0;
  while (i < n && a[i] === b[i]) i++;
  return i;
}

function labelled(ids: readonly number[], spans: readonly [number, number][]): Example {
  const labels = new Int32Array(ids.length).fill(IGNORE_INDEX);
  for (const [s, e] of spans) for (let t = s; t < e; t++) labels[t] = ids[t]!;
  return { inputIds: Int32Array.from(ids), labels };
}

const chatProblem = (message: string): RecordRejection => ({ ok: false, reason: 'chat-template', message });

/** Build the encoder for one dataset: one tokenizer, one template, one EOS policy. */
export function recordEncoder(tokenizer: FinetuneTokenizer, opts: RecordEncoderOptions): RecordEncoder {
  const { chatTemplate: template, eosTokenId: eos } = opts;
  const marked = template !== undefined && hasGenerationBlocks(template) ? markGenerationBlocks(template) : undefined;
  const withEos = (ids: number[]): number[] => (opts.appendEos && eos !== undefined && ids.at(-1) !== eos ? [...ids, eos] : ids);

  const render = (messages: readonly ChatMessage[], addGenerationPrompt: boolean, tools: unknown[] | undefined, tpl: string): string => {
    const o: ChatTemplateOptions & { template: string } = { template: tpl, addGenerationPrompt, ...(tools && { tools }) };
    return tokenizer.applyChatTemplate ? tokenizer.applyChatTemplate(messages, o) : applyChatTemplate(tpl, messages, o);
  };

  const encodeChat = (messages: readonly ChatMessage[], tools: unknown[] | undefined): { ok: true; example: Example } | RecordRejection => {
    if (template === undefined) throw new Error('recordEncoder: a chat record reached an encoder without a chat template');
    let full: string;
    let charSpans: [number, number][];
    try {
      full = render(messages, false, tools, template);
      if (marked !== undefined) {
        const taken = takeGenerationSpans(render(messages, false, tools, marked));
        if (taken.text !== full) return chatProblem('the template renders differently with its {% generation %} blocks marked');
        charSpans = taken.spans;
        if (charSpans.length === 0) return chatProblem('the template has {% generation %} blocks but none was rendered for this conversation');
      } else {
        charSpans = [];
        for (let i = 0; i < messages.length; i++) {
          if (messages[i]!.role !== 'assistant') continue;
          const before = render(messages.slice(0, i), true, tools, template);
          const through = render(messages.slice(0, i + 1), false, tools, template);
          if (!full.startsWith(before) || !full.startsWith(through) || through.length < before.length) {
            return chatProblem(
              `the template renders the conversation up to messages[${i}] differently from the start of the whole conversation, ` +
                'so the assistant tokens cannot be told apart; a template with {% generation %} blocks marks them',
            );
          }
          charSpans.push([before.length, through.length]);
        }
      }
    } catch (err) {
      return chatProblem((err as Error).message);
    }
    const ids = tokenizer.encode(full, { addSpecialTokens: false });
    const tokenAt = new Map<number, number>([[0, 0], [full.length, ids.length]]);
    const at = (c: number): number => {
      let t = tokenAt.get(c);
      if (t === undefined) tokenAt.set(c, (t = commonPrefix(tokenizer.encode(full.slice(0, c), { addSpecialTokens: false }), ids)));
      return t;
    };
    return { ok: true, example: labelled(ids, charSpans.map(([s, e]) => [at(s), at(e)])) };
  };

  return {
    assistantMask: template === undefined ? undefined : marked !== undefined ? 'generation-blocks' : 'prefix-render',
    encode(record) {
      switch (record.format) {
        case 'text': {
          const ids = withEos(tokenizer.encode(record.text));
          return { ok: true, example: labelled(ids, [[0, ids.length]]) };
        }
        case 'prompt-completion': {
          const ids = withEos(tokenizer.encode(record.prompt + record.completion));
          const start = commonPrefix(tokenizer.encode(record.prompt), ids);
          return { ok: true, example: labelled(ids, [[start, ids.length]]) };
        }
        case 'chat':
          return encodeChat(record.messages, record.tools);
      }
    },
  };
}

/** A text file's document: its ids (with the tokenizer's special tokens) and EOS, if there is one. */
export function encodeDocument(text: string, tokenizer: FinetuneTokenizer, eosTokenId: number | undefined): Int32Array {
  const ids = tokenizer.encode(text);
  if (eosTokenId !== undefined && ids.at(-1) !== eosTokenId) ids.push(eosTokenId);
  return Int32Array.from(ids);
}
