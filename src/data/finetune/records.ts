/**
 * The three record formats of a fine-tuning JSONL line, as TRL's SFTTrainer reads them:
 *   {"text": "..."}                                causal LM on the whole text
 *   {"prompt": "...", "completion": "..."}         loss on the completion only
 *   {"messages": [{"role": ..., "content": ...}]}  loss on the assistant messages only
 * A chat record may carry "tools" (passed to the chat template). Other keys are ignored.
 *
 * Validation returns a reason and a message instead of throwing, so one bad line is counted and
 * skipped while the rest of a long file is read.
 */
import type { SkipReason } from './problems.js';

export const CHAT_ROLES = ['system', 'user', 'assistant', 'tool'] as const;
export type ChatRole = (typeof CHAT_ROLES)[number];

/** A message as the chat template sees it; keys besides role and content (tool_calls, name...) pass through. */
export type ChatTurn = { role: ChatRole; content: string; [key: string]: unknown };

export type FinetuneRecord =
  | { format: 'text'; text: string }
  | { format: 'prompt-completion'; prompt: string; completion: string }
  | { format: 'chat'; messages: ChatTurn[]; tools?: unknown[] };

export type RecordFormat = FinetuneRecord['format'];

export type RecordRejection = { ok: false; reason: SkipReason; message: string };
export type ParsedRecord = { ok: true; record: FinetuneRecord } | RecordRejection;

const bad = (reason: SkipReason, message: string): RecordRejection => ({ ok: false, reason, message });

function describe(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'an array';
  return typeof v === 'object' ? 'an object' : `a ${typeof v}`;
}

const isObject = (v: unknown): v is Record<string, unknown> => v !== null && typeof v === 'object' && !Array.isArray(v);

function requireText(obj: Record<string, unknown>, key: string, where = key): RecordRejection | string {
  const v = obj[key];
  if (v === undefined) return bad('missing-field', `"${where}" is missing`);
  if (typeof v !== 'string') return bad('wrong-type', `"${where}" must be a string, got ${describe(v)}`);
  if (v.trim() === '') return bad('empty-content', `"${where}" is empty`);
  return v;
}

/** Text parts joined, or a reason: only text can be fine-tuned. */
function contentText(content: unknown, where: string): RecordRejection | string | undefined {
  if (content === undefined || content === null) return undefined;
  if (typeof content === 'string') return content;
  if (!Array.isArray(content)) return bad('wrong-type', `${where}.content must be a string or a list of text parts, got ${describe(content)}`);
  let text = '';
  for (let j = 0; j < content.length; j++) {
    const part: unknown = content[j];
    if (!isObject(part) || part.type !== 'text' || typeof part.text !== 'string') {
      const kind = isObject(part) && typeof part.type === 'string' ? `a "${part.type}" part` : describe(part);
      return bad('wrong-type', `${where}.content[${j}] is ${kind}; only {"type": "text", "text": ...} parts can be fine-tuned`);
    }
    text += part.text;
  }
  return text;
}

function parseMessage(m: unknown, i: number): RecordRejection | { turn: ChatTurn } {
  const where = `messages[${i}]`;
  if (!isObject(m)) return bad('wrong-type', `${where} must be an object with "role" and "content", got ${describe(m)}`);
  if (m.role === undefined) return bad('missing-field', `${where} has no "role"`);
  if (typeof m.role !== 'string') return bad('wrong-type', `${where}.role must be a string, got ${describe(m.role)}`);
  if (!(CHAT_ROLES as readonly string[]).includes(m.role)) {
    return bad('unknown-role', `unknown role ${JSON.stringify(m.role)} in ${where} (expected ${CHAT_ROLES.join(', ')})`);
  }
  const text = contentText(m.content, where);
  if (typeof text === 'object') return text;
  // An assistant turn that only calls tools has no text, as in the OpenAI format.
  const callsTools = m.role === 'assistant' && Array.isArray(m.tool_calls) && m.tool_calls.length > 0;
  if (text === undefined && !callsTools) {
    return m.content === undefined ? bad('missing-field', `${where} has no "content"`) : bad('wrong-type', `${where}.content is null`);
  }
  if ((text ?? '').trim() === '' && !callsTools) return bad('empty-content', `${where} (${m.role}) has empty content`);
  return { turn: { ...m, role: m.role as ChatRole, content: text ?? '' } };
}

function parseChat(obj: Record<string, unknown>): ParsedRecord {
  const msgs = obj.messages;
  if (!Array.isArray(msgs)) return bad('wrong-type', `"messages" must be an array of messages, got ${describe(msgs)}`);
  if (msgs.length === 0) return bad('empty-content', '"messages" is empty');
  const messages: ChatTurn[] = [];
  for (let i = 0; i < msgs.length; i++) {
    const m = parseMessage(msgs[i], i);
    if (!('turn' in m)) return m;
    messages.push(m.turn);
  }
  if (!messages.some((m) => m.role === 'assistant')) return bad('no-assistant', 'the conversation has no assistant message, so nothing in it is learned');
  if (obj.tools !== undefined && !Array.isArray(obj.tools)) return bad('wrong-type', `"tools" must be an array, got ${describe(obj.tools)}`);
  const record: FinetuneRecord = { format: 'chat', messages };
  if (Array.isArray(obj.tools)) record.tools = obj.tools;
  return { ok: true, record };
}

/** Validate one parsed JSON value as a record. */
export function parseRecordValue(value: unknown): ParsedRecord {
  if (!isObject(value)) return bad('unknown-format', `expected a JSON object with "text", "prompt" and "completion", or "messages"; got ${describe(value)}`);
  const formats = [
    'text' in value && '"text"',
    ('prompt' in value || 'completion' in value) && '"prompt"/"completion"',
    'messages' in value && '"messages"',
  ].filter((f): f is string => typeof f === 'string');
  if (formats.length === 0) {
    const keys = Object.keys(value).slice(0, 6).map((k) => JSON.stringify(k)).join(', ');
    return bad('unknown-format', `expected "text", "prompt" and "completion", or "messages"; the object has ${keys || 'no keys'}`);
  }
  if (formats.length > 1) return bad('unknown-format', `the object has both ${formats.join(' and ')}; a record has one format`);
  if ('messages' in value) return parseChat(value);
  if ('text' in value) {
    const text = requireText(value, 'text');
    return typeof text === 'string' ? { ok: true, record: { format: 'text', text } } : text;
  }
  const prompt = requireText(value, 'prompt');
  if (typeof prompt !== 'string') return prompt;
  const completion = requireText(value, 'completion');
  if (typeof completion !== 'string') return completion;
  return { ok: true, record: { format: 'prompt-completion', prompt, completion } };
}

/** Parse and validate one JSONL line (not blank: callers skip blank lines). */
export function parseRecordLine(text: string): ParsedRecord {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (err) {
    return bad('invalid-json', `not valid JSON (${(err as Error).message})`);
  }
  return parseRecordValue(value);
}

/** A pretty-printed JSON array (a whole-file .json dataset) starts with a line "[" or "[{"...: not JSONL. */
export function looksLikeJsonArray(firstLine: string): boolean {
  return firstLine.trimStart().startsWith('[');
}
