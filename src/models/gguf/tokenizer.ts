/**
 * The tokenizer embedded in a GGUF file (tokenizer.ggml.*) as the
 * tokenizer.json and tokenizer_config.json @huggingface/tokenizers reads:
 *   "gpt2": byte-level BPE from tokens + merges, the pre-tokenizer regex that
 *     tokenizer.ggml.pre names (GPT-2's, Llama 3's, Qwen2's);
 *   "llama": SentencePiece BPE with byte fallback, its merges rebuilt from
 *     the token scores as transformers' SentencePieceExtractor does.
 * Control tokens (token_type 3) become special added tokens, user-defined
 * ones (4) plain added tokens.
 */
import { GgufMetadataError } from '../../io/gguf/errors.js';
import type { GgufMetadata } from '../../io/gguf/metadata.js';
import type { JsonObject } from '../../io/hf-checkpoint.js';
import { byteLevelBpeTokenizerJson, type TokenizerSource } from '../../text/tokenizer.js';

const CONTROL = 3;
const USER_DEFINED = 4;

const LLAMA3_SPLIT = "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}{1,3}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+";
const QWEN2_SPLIT = "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+";

/** tokenizer.ggml.pre → the regex split before byte-level BPE (undefined: GPT-2's own, inside ByteLevel). */
const PRE_TOKENIZERS: Readonly<Record<string, string | undefined>> = {
  default: undefined,
  'gpt-2': undefined,
  gpt2: undefined,
  'llama-bpe': LLAMA3_SPLIT,
  llama3: LLAMA3_SPLIT,
  'smaug-bpe': LLAMA3_SPLIT,
  qwen2: QWEN2_SPLIT,
  'deepseek-r1-qwen': QWEN2_SPLIT,
};

interface Specials {
  bos?: number;
  eos?: number;
  unk?: number;
  pad?: number;
}

function specials(meta: GgufMetadata, tokens: readonly string[], types: readonly number[] | undefined): Specials {
  const out: Specials = {};
  for (const [name, key] of [['bos', 'bos_token_id'], ['eos', 'eos_token_id'], ['unk', 'unknown_token_id'], ['pad', 'padding_token_id']] as const) {
    const id = meta.int(`tokenizer.ggml.${key}`, `the ${name} token`, false);
    if (id === undefined) continue;
    if (id >= tokens.length) throw new GgufMetadataError(meta.file.path, `tokenizer.ggml.${key}`, `tokenizer.ggml.${key} is ${id}, beyond the ${tokens.length} tokens`);
    out[name] = id;
  }
  if (out.unk === undefined && types) {
    const unk = types.indexOf(2);
    if (unk >= 0) out.unk = unk;
  }
  return out;
}

function templateProcessor(bos: string, bosId: number): JsonObject {
  return {
    type: 'TemplateProcessing',
    single: [{ SpecialToken: { id: bos, type_id: 0 } }, { Sequence: { id: 'A', type_id: 0 } }],
    pair: [{ SpecialToken: { id: bos, type_id: 0 } }, { Sequence: { id: 'A', type_id: 0 } }, { SpecialToken: { id: bos, type_id: 1 } }, { Sequence: { id: 'B', type_id: 1 } }],
    special_tokens: { [bos]: { id: bos, ids: [bosId], tokens: [bos] } },
  };
}

function gpt2Json(meta: GgufMetadata, tokens: readonly string[], types: readonly number[] | undefined, s: Specials): JsonObject {
  const path = meta.file.path;
  const merges = meta.strings('tokenizer.ggml.merges', 'the BPE merges').map((m, i): [string, string] => {
    const parts = m.split(' ');
    if (parts.length !== 2 || !parts[0] || !parts[1]) throw new GgufMetadataError(path, 'tokenizer.ggml.merges', `tokenizer.ggml.merges item ${i} is ${JSON.stringify(m)}, not "left right"`);
    return [parts[0], parts[1]];
  });
  const pre = meta.string('tokenizer.ggml.pre', 'the pre-tokenizer', false) ?? 'default';
  if (!(pre in PRE_TOKENIZERS)) {
    throw new GgufMetadataError(path, 'tokenizer.ggml.pre', `tokenizer.ggml.pre "${pre}" is not supported (supported: ${Object.keys(PRE_TOKENIZERS).join(', ')})`);
  }
  const vocab: Record<string, number> = {};
  tokens.forEach((t, i) => (vocab[t] ??= i));
  const added: Record<string, number> = {};
  const special: string[] = [];
  types?.forEach((type, i) => {
    if (type !== CONTROL && type !== USER_DEFINED) return;
    added[tokens[i]!] ??= i;
    if (type === CONTROL) special.push(tokens[i]!);
  });
  for (const id of [s.bos, s.eos, s.pad]) if (id !== undefined && !special.includes(tokens[id]!)) special.push(tokens[id]!);
  const json: JsonObject = byteLevelBpeTokenizerJson(vocab, merges, { specialTokens: special, addedTokens: added });
  const split = PRE_TOKENIZERS[pre];
  if (split !== undefined) {
    json.pre_tokenizer = {
      type: 'Sequence',
      pretokenizers: [
        { type: 'Split', pattern: { Regex: split }, behavior: 'Isolated', invert: false },
        { type: 'ByteLevel', add_prefix_space: false, trim_offsets: true, use_regex: false },
      ],
    };
  }
  if (meta.bool('tokenizer.ggml.add_bos_token', 'whether to prepend BOS', false) === true && s.bos !== undefined) json.post_processor = templateProcessor(tokens[s.bos]!, s.bos);
  return json;
}

/** transformers' SentencePieceExtractor: every split of a piece into two pieces, ordered by the piece's score (stable), then by the parts' ids. */
export function sentencePieceMerges(tokens: readonly string[], scores: readonly number[]): [string, string][] {
  const ids = new Map<string, number>();
  tokens.forEach((t, i) => ids.has(t) || ids.set(t, i));
  const merges: { l: string; r: string; score: number }[] = [];
  tokens.forEach((piece, i) => {
    const chars = Array.from(piece);
    const local: { l: string; r: string; score: number }[] = [];
    for (let c = 1; c < chars.length; c++) {
      const l = chars.slice(0, c).join('');
      const r = chars.slice(c).join('');
      if (ids.has(l) && ids.has(r)) local.push({ l, r, score: scores[i] ?? 0 });
    }
    local.sort((a, b) => ids.get(a.l)! - ids.get(b.l)! || ids.get(a.r)! - ids.get(b.r)!);
    merges.push(...local);
  });
  merges.sort((a, b) => b.score - a.score); // Array.prototype.sort is stable
  return merges.map((m) => [m.l, m.r]);
}

function llamaJson(meta: GgufMetadata, tokens: readonly string[], types: readonly number[] | undefined, s: Specials): JsonObject {
  const scores = meta.numbers('tokenizer.ggml.scores', 'the SentencePiece scores', false);
  if (!scores || scores.length !== tokens.length) {
    throw new GgufMetadataError(meta.file.path, 'tokenizer.ggml.scores', `tokenizer.ggml.scores must hold one score per token (${tokens.length}), got ${scores ? scores.length : 'none'}`);
  }
  const vocab: Record<string, number> = {};
  tokens.forEach((t, i) => (vocab[t] ??= i));
  const added = (types ?? [])
    .map((type, id) => ({ type, id }))
    .filter(({ type }) => type === CONTROL || type === USER_DEFINED || type === 2)
    .map(({ type, id }) => ({ id, content: tokens[id]!, single_word: false, lstrip: false, rstrip: false, normalized: false, special: type !== USER_DEFINED }));
  const prefix = meta.bool('tokenizer.ggml.add_space_prefix', 'whether to prepend a space', false) ?? true;
  const json: JsonObject = {
    version: '1.0',
    truncation: null,
    padding: null,
    added_tokens: added,
    normalizer: { type: 'Sequence', normalizers: [...(prefix ? [{ type: 'Prepend', prepend: '▁' }] : []), { type: 'Replace', pattern: { String: ' ' }, content: '▁' }] },
    pre_tokenizer: null,
    post_processor: null,
    decoder: {
      type: 'Sequence',
      decoders: [{ type: 'Replace', pattern: { String: '▁' }, content: ' ' }, { type: 'ByteFallback' }, { type: 'Fuse' }, ...(prefix ? [{ type: 'Strip', content: ' ', start: 1, stop: 0 }] : [])],
    },
    model: {
      type: 'BPE',
      dropout: null,
      unk_token: s.unk === undefined ? null : tokens[s.unk],
      continuing_subword_prefix: null,
      end_of_word_suffix: null,
      fuse_unk: true,
      byte_fallback: true,
      ignore_merges: false,
      vocab,
      merges: sentencePieceMerges(tokens, scores),
    },
  };
  if ((meta.bool('tokenizer.ggml.add_bos_token', 'whether to prepend BOS', false) ?? true) && s.bos !== undefined) json.post_processor = templateProcessor(tokens[s.bos]!, s.bos);
  return json;
}

/** What Tokenizer's constructor takes, from a GGUF file's metadata. */
export function ggufTokenizerSource(meta: GgufMetadata): TokenizerSource {
  const path = meta.file.path;
  const model = meta.string('tokenizer.ggml.model', 'the tokenizer type');
  const tokens = meta.strings('tokenizer.ggml.tokens', 'the vocabulary');
  const types = meta.numbers('tokenizer.ggml.token_type', 'the token types', false);
  if (types && types.length !== tokens.length) throw new GgufMetadataError(path, 'tokenizer.ggml.token_type', `tokenizer.ggml.token_type has ${types.length} entries for ${tokens.length} tokens`);
  const s = specials(meta, tokens, types);
  let tokenizerJson: JsonObject;
  if (model === 'gpt2') tokenizerJson = gpt2Json(meta, tokens, types, s);
  else if (model === 'llama') tokenizerJson = llamaJson(meta, tokens, types, s);
  else throw new GgufMetadataError(path, 'tokenizer.ggml.model', `tokenizer.ggml.model "${model}" is not supported (supported: gpt2, llama)`);
  const tokenizerConfig: JsonObject = { clean_up_tokenization_spaces: false };
  for (const [name, id] of Object.entries(s)) if (id !== undefined) tokenizerConfig[`${name}_token`] = tokens[id];
  const template = meta.string('tokenizer.chat_template', 'the chat template', false);
  if (template !== undefined) tokenizerConfig.chat_template = template;
  return { tokenizerJson, tokenizerConfig, source: `${path} (tokenizer.ggml.*)` };
}

/** generation_config.json's token ids, from the tokenizer metadata (eos also lists an end-of-turn token when the file has one). */
export function ggufGenerationConfig(meta: GgufMetadata): JsonObject {
  const id = (key: string) => meta.int(`tokenizer.ggml.${key}`, key, false);
  const out: JsonObject = {};
  const bos = id('bos_token_id');
  const eos = [id('eos_token_id'), id('eot_token_id')].filter((v): v is number => v !== undefined);
  const pad = id('padding_token_id');
  if (bos !== undefined) out.bos_token_id = bos;
  if (eos.length) out.eos_token_id = eos.length === 1 || eos[0] === eos[1] ? eos[0] : eos;
  if (pad !== undefined) out.pad_token_id = pad;
  return out;
}
