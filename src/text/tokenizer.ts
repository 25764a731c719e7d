/**
 * Tokenizers for Forja's text models.
 *
 * `Tokenizer` wraps @huggingface/tokenizers (a JS port of HF `tokenizers`) loaded from a model
 * directory's tokenizer.json + tokenizer_config.json. Older GPT-2-style repos that ship only
 * vocab.json + merges.txt get the equivalent byte-level BPE tokenizer.json built in memory.
 *
 * `CharTokenizer` is a character-level vocabulary (sorted unique code points of a text, as in
 * char-level GPT tutorials). It saves as a real HF WordLevel tokenizer.json, so `Tokenizer.fromDir`
 * and Python `tokenizers` can load it too.
 */
import * as fs from 'node:fs';
import * as fsp from 'node:fs/promises';
import { join } from 'node:path';
import { Tokenizer as HfTokenizer } from '@huggingface/tokenizers';
import { writeJsonAtomic } from '../io/atomic.js';
import { resolveModelDir, type HubOptions } from '../io/hub.js';
import { applyChatTemplate, type ChatMessage, type ChatTemplateOptions } from './chat-template.js';

export interface EncodeOptions {
  /** Add the model's special tokens (BOS etc., per its post-processor). Default true, as in transformers. */
  addSpecialTokens?: boolean;
}

export interface DecodeOptions {
  /** Drop special tokens (EOS, padding, ...) from the output. Default false. */
  skipSpecialTokens?: boolean;
  /**
   * Remove spaces before punctuation (" ." -> "."). Default: tokenizer_config's
   * clean_up_tokenization_spaces, else false so decode(encode(x)) === x.
   */
  cleanUpTokenizationSpaces?: boolean;
}

/** What generation/training code needs from any tokenizer. */
export interface TextTokenizer {
  encode(text: string, opts?: EncodeOptions): number[];
  decode(ids: readonly number[], opts?: DecodeOptions): string;
  readonly vocabSize: number;
  readonly eosTokenId: number | undefined;
  readonly bosTokenId: number | undefined;
  readonly padTokenId: number | undefined;
}

type Json = Record<string, unknown>;

/**
 * The part of @huggingface/tokenizers' Tokenizer we use. Its .d.ts files use extensionless relative
 * imports that NodeNext cannot resolve, so the export is typed `any`; this pins the shape instead.
 */
interface HfTokenizerApi {
  encode(text: string, options?: { add_special_tokens?: boolean }): { ids: (number | undefined)[]; tokens: string[] };
  decode(ids: number[], options?: { skip_special_tokens?: boolean; clean_up_tokenization_spaces?: boolean }): string;
  tokenize(text: string): string[];
  token_to_id(token: string): number | undefined;
  id_to_token(id: number): string | undefined;
  get_vocab(withAddedTokens?: boolean): Map<string, number>;
  get_added_tokens_decoder(): Map<number, { content: string; special: boolean }>;
}
const HfTokenizerCtor: new (tokenizerJson: object, config: object) => HfTokenizerApi = HfTokenizer;

const SPECIAL_KEYS = ['bos_token', 'eos_token', 'unk_token', 'pad_token', 'sep_token', 'cls_token', 'mask_token'] as const;

// Special tokens appear as "<s>" or as {"content": "<s>", ...} (AddedToken dicts) in configs.
function tokenContent(v: unknown): string | undefined {
  if (typeof v === 'string') return v;
  if (v !== null && typeof v === 'object' && typeof (v as { content?: unknown }).content === 'string') {
    return (v as { content: string }).content;
  }
  return undefined;
}

async function readJsonIfExists(path: string): Promise<Json | undefined> {
  let text: string;
  try {
    text = await fsp.readFile(path, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw new Error(`${path}: cannot read (${(err as Error).message})`, { cause: err });
  }
  try {
    const v: unknown = JSON.parse(text);
    if (v === null || typeof v !== 'object' || Array.isArray(v)) throw new Error('expected a JSON object');
    return v as Json;
  } catch (err) {
    throw new Error(`${path}: not a valid JSON object (${(err as Error).message})`);
  }
}

/**
 * tokenizer_config.json merged with special_tokens_map.json (config wins), with AddedToken dicts
 * flattened to strings, which is the shape @huggingface/tokenizers expects.
 */
function normaliseConfig(config: Json, specialMap: Json | undefined): Json {
  const out: Json = { ...config };
  for (const key of SPECIAL_KEYS) {
    const v = tokenContent(out[key]) ?? tokenContent(specialMap?.[key]);
    if (v === undefined) delete out[key];
    else out[key] = v;
  }
  const extra = out.additional_special_tokens ?? specialMap?.additional_special_tokens;
  if (Array.isArray(extra)) {
    out.additional_special_tokens = extra.map(tokenContent).filter((t): t is string => t !== undefined);
  } else {
    delete out.additional_special_tokens;
  }
  return out;
}

function pickChatTemplate(value: unknown): { main?: string; named: Record<string, string> } {
  const named: Record<string, string> = {};
  if (typeof value === 'string') return { main: value, named };
  if (Array.isArray(value)) {
    for (const item of value) {
      const { name, template } = (item ?? {}) as { name?: unknown; template?: unknown };
      if (typeof name === 'string' && typeof template === 'string') named[name] = template;
    }
  } else if (value !== null && typeof value === 'object') {
    for (const [k, v] of Object.entries(value)) if (typeof v === 'string') named[k] = v;
  }
  const main = named.default ?? Object.values(named)[0];
  return main === undefined ? { named } : { main, named };
}

/** Parse merges.txt: optional "#version" line, then one "left right" pair per line. */
export function parseMerges(text: string, source = 'merges.txt'): [string, string][] {
  const merges: [string, string][] = [];
  const lines = text.split('\n');
  lines.forEach((line, i) => {
    const l = line.endsWith('\r') ? line.slice(0, -1) : line;
    if (l === '' || (i === 0 && l.startsWith('#version'))) return;
    const parts = l.split(' ');
    if (parts.length !== 2 || !parts[0] || !parts[1]) {
      throw new Error(`${source}:${i + 1}: expected "left right", got ${JSON.stringify(l)}`);
    }
    merges.push([parts[0], parts[1]]);
  });
  return merges;
}

/**
 * The tokenizer.json that HF's converter builds for a GPT-2-style slow tokenizer (vocab.json +
 * merges.txt): byte-level pre-tokenizer/decoder, BPE without unk, the special tokens as added tokens.
 */
export function byteLevelBpeTokenizerJson(
  vocab: Record<string, number>,
  merges: [string, string][],
  opts: { specialTokens?: string[]; addedTokens?: Record<string, number>; addPrefixSpace?: boolean } = {},
): Json {
  const added: Json[] = [];
  const seen = new Set<string>();
  const push = (content: string, id: number, special: boolean): void => {
    if (seen.has(content)) return;
    seen.add(content);
    added.push({ id, content, single_word: false, lstrip: false, rstrip: false, normalized: !special, special });
  };
  for (const [content, id] of Object.entries(opts.addedTokens ?? {})) push(content, id, (opts.specialTokens ?? []).includes(content));
  for (const t of opts.specialTokens ?? []) {
    const id = vocab[t] ?? opts.addedTokens?.[t];
    if (id !== undefined) push(t, id, true);
  }
  added.sort((a, b) => (a.id as number) - (b.id as number));
  return {
    version: '1.0',
    truncation: null,
    padding: null,
    added_tokens: added,
    normalizer: null,
    pre_tokenizer: { type: 'ByteLevel', add_prefix_space: opts.addPrefixSpace ?? false, trim_offsets: true, use_regex: true },
    post_processor: { type: 'ByteLevel', add_prefix_space: true, trim_offsets: false, use_regex: true },
    decoder: { type: 'ByteLevel', add_prefix_space: true, trim_offsets: true, use_regex: true },
    model: {
      type: 'BPE',
      dropout: null,
      unk_token: null,
      continuing_subword_prefix: '',
      end_of_word_suffix: '',
      fuse_unk: false,
      byte_fallback: false,
      ignore_merges: false,
      vocab,
      merges,
    },
  };
}

export interface TokenizerSource {
  /** Parsed tokenizer.json. */
  tokenizerJson: Json;
  /** Parsed tokenizer_config.json (may be {}). */
  tokenizerConfig?: Json;
  /** Parsed special_tokens_map.json, consulted for special tokens the config lacks. */
  specialTokensMap?: Json;
  /** Overrides the config's chat template (e.g. from chat_template.jinja). */
  chatTemplate?: string;
  /** Where it came from, for error messages. */
  source?: string;
}

export class Tokenizer implements TextTokenizer {
  private readonly hf: HfTokenizerApi;
  private readonly specialIds: Set<number>;
  /** Highest token id + 1 (the embedding rows a model needs), added tokens included. */
  readonly vocabSize: number;
  readonly bosToken: string | undefined;
  readonly eosToken: string | undefined;
  readonly padToken: string | undefined;
  readonly unkToken: string | undefined;
  readonly bosTokenId: number | undefined;
  readonly eosTokenId: number | undefined;
  readonly padTokenId: number | undefined;
  readonly unkTokenId: number | undefined;
  /** The default chat template, if the tokenizer has one. */
  readonly chatTemplate: string | undefined;
  /** Named chat templates (tokenizer_config list form), e.g. {default, tool_use}. */
  readonly chatTemplates: Readonly<Record<string, string>>;
  /** The normalised tokenizer_config (special tokens flattened to strings). */
  readonly config: Readonly<Json>;
  readonly source: string;
  private readonly cleanUp: boolean;

  constructor(src: TokenizerSource) {
    this.source = src.source ?? '<memory>';
    const config = normaliseConfig(src.tokenizerConfig ?? {}, src.specialTokensMap);
    try {
      this.hf = new HfTokenizerCtor(src.tokenizerJson, config);
    } catch (err) {
      throw new Error(`${this.source}: cannot build tokenizer: ${(err as Error).message}`, { cause: err });
    }
    this.config = config;
    let max = -1;
    for (const id of this.hf.get_vocab(true).values()) if (id > max) max = id;
    this.vocabSize = max + 1;
    const idOf = (key: string): [string | undefined, number | undefined] => {
      const tok = typeof config[key] === 'string' ? (config[key] as string) : undefined;
      return [tok, tok === undefined ? undefined : this.hf.token_to_id(tok)];
    };
    [this.bosToken, this.bosTokenId] = idOf('bos_token');
    [this.eosToken, this.eosTokenId] = idOf('eos_token');
    [this.padToken, this.padTokenId] = idOf('pad_token');
    [this.unkToken, this.unkTokenId] = idOf('unk_token');
    this.specialIds = new Set([...this.hf.get_added_tokens_decoder()].filter(([, t]) => t.special).map(([id]) => id));
    const templates = pickChatTemplate(config.chat_template);
    this.chatTemplate = src.chatTemplate ?? templates.main;
    this.chatTemplates = templates.named;
    this.cleanUp = config.clean_up_tokenization_spaces === true;
  }

  /**
   * Load from a model directory: tokenizer.json (+ tokenizer_config.json, special_tokens_map.json,
   * chat_template.jinja/.json), or vocab.json + merges.txt for a byte-level BPE.
   */
  static async fromDir(dir: string): Promise<Tokenizer> {
    const config = (await readJsonIfExists(join(dir, 'tokenizer_config.json'))) ?? {};
    const specialTokensMap = await readJsonIfExists(join(dir, 'special_tokens_map.json'));
    const chatTemplate = await readChatTemplateFile(dir);
    const common = { tokenizerConfig: config, ...(specialTokensMap && { specialTokensMap }), ...(chatTemplate !== undefined && { chatTemplate }) };
    const tjPath = join(dir, 'tokenizer.json');
    const tokenizerJson = await readJsonIfExists(tjPath);
    if (tokenizerJson) return new Tokenizer({ tokenizerJson, ...common, source: tjPath });

    const vocabPath = join(dir, 'vocab.json');
    const mergesPath = join(dir, 'merges.txt');
    if (fs.existsSync(vocabPath) && fs.existsSync(mergesPath)) {
      const vocab = await readJsonIfExists(vocabPath);
      if (!vocab || !Object.values(vocab).every((v) => Number.isInteger(v))) {
        throw new Error(`${vocabPath}: expected an object of token -> integer id`);
      }
      const merges = parseMerges(await fsp.readFile(mergesPath, 'utf8'), mergesPath);
      const addedRaw = await readJsonIfExists(join(dir, 'added_tokens.json'));
      const addedTokens = addedRaw as Record<string, number> | undefined;
      const norm = normaliseConfig(config, specialTokensMap);
      // GPT-2's slow tokenizer defaults: <|endoftext|> is bos, eos and unk.
      if (!SPECIAL_KEYS.some((k) => norm[k] !== undefined) && '<|endoftext|>' in vocab) {
        for (const k of ['bos_token', 'eos_token', 'unk_token'] as const) norm[k] = '<|endoftext|>';
      }
      const specialTokens = [
        ...SPECIAL_KEYS.map((k) => norm[k]).filter((t): t is string => typeof t === 'string'),
        ...((norm.additional_special_tokens as string[] | undefined) ?? []),
      ];
      const tokenizerJson = byteLevelBpeTokenizerJson(vocab as Record<string, number>, merges, {
        specialTokens,
        ...(addedTokens && { addedTokens }),
        addPrefixSpace: norm.add_prefix_space === true,
      });
      return new Tokenizer({ ...common, tokenizerConfig: norm, tokenizerJson, source: `${vocabPath} + merges.txt` });
    }
    throw new Error(`${dir}: no tokenizer: expected tokenizer.json, or vocab.json + merges.txt`);
  }

  /** Resolve a hub id or directory (only config/tokenizer files are fetched) and load its tokenizer. */
  static async fromPretrained(idOrDir: string, opts: HubOptions = {}): Promise<Tokenizer> {
    return Tokenizer.fromDir(await resolveModelDir(idOrDir, { ...opts, weights: false }));
  }

  encode(text: string, opts: EncodeOptions = {}): number[] {
    if (typeof text !== 'string') throw new Error(`${this.source}: encode expects a string, got ${typeof text}`);
    const enc = this.hf.encode(text, { add_special_tokens: opts.addSpecialTokens ?? true });
    const ids: number[] = [];
    enc.ids.forEach((id, i) => {
      if (typeof id !== 'number') {
        throw new Error(`${this.source}: token ${JSON.stringify(enc.tokens[i])} is not in the vocabulary and there is no unk token`);
      }
      ids.push(id);
    });
    return ids;
  }

  decode(ids: readonly number[], opts: DecodeOptions = {}): string {
    if (ids.length === 0) return '';
    for (const id of ids) {
      if (!Number.isInteger(id) || id < 0 || id >= this.vocabSize) {
        throw new Error(`${this.source}: cannot decode token id ${id} (vocabulary has ${this.vocabSize} ids)`);
      }
    }
    return this.hf.decode([...ids], {
      skip_special_tokens: opts.skipSpecialTokens ?? false,
      clean_up_tokenization_spaces: opts.cleanUpTokenizationSpaces ?? this.cleanUp,
    });
  }

  /** The token string of an id (byte-level BPE tokens look like "Ġworld"). */
  idToToken(id: number): string | undefined {
    return this.hf.id_to_token(id);
  }

  tokenToId(token: string): number | undefined {
    return this.hf.token_to_id(token);
  }

  /** Token strings of each id of `text`, without special tokens. */
  tokenize(text: string): string[] {
    return this.hf.tokenize(text);
  }

  isSpecial(id: number): boolean {
    return this.specialIds.has(id);
  }

  /** Render this tokenizer's chat template (or `opts.template`) with its special tokens filled in. */
  applyChatTemplate(messages: readonly ChatMessage[], opts: ChatTemplateOptions & { template?: string } = {}): string {
    const template = opts.template ?? this.chatTemplate;
    if (template === undefined) {
      throw new Error(
        `${this.source}: this tokenizer has no chat template (tokenizer_config.json has no chat_template and there is no chat_template.jinja or chat_template.json); ` +
          "give one: the text-generation pipeline's chat_template option, or template in applyChatTemplate's options",
      );
    }
    const withTokens: ChatTemplateOptions = { ...opts };
    if (withTokens.bosToken === undefined && this.bosToken !== undefined) withTokens.bosToken = this.bosToken;
    if (withTokens.eosToken === undefined && this.eosToken !== undefined) withTokens.eosToken = this.eosToken;
    if (withTokens.padToken === undefined && this.padToken !== undefined) withTokens.padToken = this.padToken;
    if (withTokens.unkToken === undefined && this.unkToken !== undefined) withTokens.unkToken = this.unkToken;
    return applyChatTemplate(template, messages, withTokens);
  }
}

// transformers >= 4.43 saves templates as chat_template.jinja (or chat_template.json); they take precedence.
async function readChatTemplateFile(dir: string): Promise<string | undefined> {
  try {
    return await fsp.readFile(join(dir, 'chat_template.jinja'), 'utf8');
  } catch {
    /* fall through */
  }
  const json = await readJsonIfExists(join(dir, 'chat_template.json'));
  return typeof json?.chat_template === 'string' ? json.chat_template : undefined;
}

// ---------------------------------------------------------------------------------------------

/** Serialised form of a CharTokenizer (`toJSON`). */
export interface CharTokenizerJson {
  type: 'forja-char-tokenizer';
  version: 1;
  /** Character of each id. */
  chars: string[];
}

const byCodePoint = (a: string, b: string): number => a.codePointAt(0)! - b.codePointAt(0)!;

/**
 * Character-level tokenizer: id i is `chars[i]`, one Unicode code point each. No special tokens;
 * an unknown character is an error.
 */
export class CharTokenizer implements TextTokenizer {
  readonly chars: readonly string[];
  private readonly index: Map<string, number>;
  readonly eosTokenId = undefined;
  readonly bosTokenId = undefined;
  readonly padTokenId = undefined;

  constructor(chars: readonly string[]) {
    this.index = new Map();
    chars.forEach((c, i) => {
      if (typeof c !== 'string' || [...c].length !== 1) {
        throw new Error(`CharTokenizer: entry ${i} must be a single character, got ${JSON.stringify(c)}`);
      }
      if (this.index.has(c)) throw new Error(`CharTokenizer: character ${JSON.stringify(c)} appears twice (ids ${this.index.get(c)} and ${i})`);
      this.index.set(c, i);
    });
    this.chars = [...chars];
  }

  /** Vocabulary = the sorted unique characters of `text` (sorted by code point, like Python's sorted(set(text))). */
  static fromText(text: string): CharTokenizer {
    return new CharTokenizer([...new Set(text)].sort(byCodePoint));
  }

  get vocabSize(): number {
    return this.chars.length;
  }

  encode(text: string): number[] {
    const ids: number[] = [];
    let pos = 0;
    for (const c of text) {
      const id = this.index.get(c);
      if (id === undefined) {
        throw new Error(`CharTokenizer: character ${JSON.stringify(c)} (U+${c.codePointAt(0)!.toString(16).toUpperCase().padStart(4, '0')}) at offset ${pos} is not in the vocabulary`);
      }
      ids.push(id);
      pos += c.length;
    }
    return ids;
  }

  decode(ids: readonly number[]): string {
    let out = '';
    for (const id of ids) {
      const c = this.chars[id];
      if (c === undefined) throw new Error(`CharTokenizer: token id ${id} out of range (vocabulary has ${this.chars.length} ids)`);
      out += c;
    }
    return out;
  }

  toJSON(): CharTokenizerJson {
    return { type: 'forja-char-tokenizer', version: 1, chars: [...this.chars] };
  }

  /** Accepts `toJSON()` output or an HF WordLevel tokenizer.json written by `toTokenizerJson`. */
  static fromJSON(json: unknown): CharTokenizer {
    const j = json as Partial<CharTokenizerJson> & { model?: { type?: unknown; vocab?: unknown } };
    if (j?.type === 'forja-char-tokenizer' && Array.isArray(j.chars)) return new CharTokenizer(j.chars);
    if (j?.model?.type === 'WordLevel' && j.model.vocab !== null && typeof j.model.vocab === 'object') {
      const entries = Object.entries(j.model.vocab as Record<string, unknown>);
      const chars = new Array<string>(entries.length);
      for (const [c, id] of entries) {
        if (typeof id !== 'number' || !Number.isInteger(id) || id < 0 || id >= entries.length || chars[id] !== undefined) {
          throw new Error(`CharTokenizer.fromJSON: WordLevel ids must be 0..${entries.length - 1} without gaps, got ${JSON.stringify(c)} -> ${id}`);
        }
        chars[id] = c;
      }
      return new CharTokenizer(chars);
    }
    throw new Error('CharTokenizer.fromJSON: expected {type: "forja-char-tokenizer", chars} or a WordLevel tokenizer.json');
  }

  /**
   * An HF tokenizer.json equivalent to this tokenizer: every character split off by a Split
   * pre-tokenizer, looked up in a WordLevel vocab, joined back by the Fuse decoder.
   */
  toTokenizerJson(): Json {
    const vocab: Record<string, number> = {};
    this.chars.forEach((c, i) => (vocab[c] = i));
    return {
      version: '1.0',
      truncation: null,
      padding: null,
      added_tokens: [],
      normalizer: null,
      pre_tokenizer: { type: 'Split', pattern: { Regex: '[\\s\\S]' }, behavior: 'Isolated', invert: false },
      post_processor: null,
      decoder: { type: 'Fuse' },
      // WordLevel requires an unk token name; it is not in the vocab, so unknown characters error.
      model: { type: 'WordLevel', vocab, unk_token: '<unk>' },
    };
  }

  /** Write `tokenizer.json` (HF WordLevel) and a minimal `tokenizer_config.json` into `dir`, atomically. */
  async save(dir: string): Promise<void> {
    await writeJsonAtomic(join(dir, 'tokenizer.json'), this.toTokenizerJson());
    await writeJsonAtomic(join(dir, 'tokenizer_config.json'), {
      tokenizer_class: 'PreTrainedTokenizerFast',
      clean_up_tokenization_spaces: false,
    });
  }

  /** Load from a directory written by `save` (or a tokenizer.json path). */
  static async load(dirOrFile: string): Promise<CharTokenizer> {
    const path = dirOrFile.endsWith('.json') ? dirOrFile : join(dirOrFile, 'tokenizer.json');
    const json = await readJsonIfExists(path);
    if (!json) throw new Error(`${path}: not found`);
    try {
      return CharTokenizer.fromJSON(json);
    } catch (err) {
      throw new Error(`${path}: ${(err as Error).message}`, { cause: err });
    }
  }
}
