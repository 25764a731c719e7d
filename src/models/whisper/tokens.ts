/**
 * Whisper's special tokens: start of transcript, one token per language, the two tasks,
 * <|notimestamps|> and the 1501 timestamps <|0.00|>..<|30.00|>. Ids come from
 * generation_config.json (lang_to_id, task_to_id, no_timestamps_token_id) when it has them, else
 * from the tokenizer's added tokens, else from OpenAI's fixed layout after <|startoftranscript|>:
 * languages in the order below, then translate, transcribe, startoflm, startofprev, nospeech,
 * notimestamps, timestamps (the vocabulary size says how many languages there are: 99, or 100
 * with Cantonese in large-v3).
 */

/** OpenAI's language codes in token order, with the names transformers also accepts. */
export const WHISPER_LANGUAGES: readonly (readonly [string, string])[] = Object.entries({
  en: 'english', zh: 'chinese', de: 'german', es: 'spanish', ru: 'russian', ko: 'korean', fr: 'french', ja: 'japanese',
  pt: 'portuguese', tr: 'turkish', pl: 'polish', ca: 'catalan', nl: 'dutch', ar: 'arabic', sv: 'swedish', it: 'italian',
  id: 'indonesian', hi: 'hindi', fi: 'finnish', vi: 'vietnamese', he: 'hebrew', uk: 'ukrainian', el: 'greek', ms: 'malay',
  cs: 'czech', ro: 'romanian', da: 'danish', hu: 'hungarian', ta: 'tamil', no: 'norwegian', th: 'thai', ur: 'urdu',
  hr: 'croatian', bg: 'bulgarian', lt: 'lithuanian', la: 'latin', mi: 'maori', ml: 'malayalam', cy: 'welsh', sk: 'slovak',
  te: 'telugu', fa: 'persian', lv: 'latvian', bn: 'bengali', sr: 'serbian', az: 'azerbaijani', sl: 'slovenian', kn: 'kannada',
  et: 'estonian', mk: 'macedonian', br: 'breton', eu: 'basque', is: 'icelandic', hy: 'armenian', ne: 'nepali', mn: 'mongolian',
  bs: 'bosnian', kk: 'kazakh', sq: 'albanian', sw: 'swahili', gl: 'galician', mr: 'marathi', pa: 'punjabi', si: 'sinhala',
  km: 'khmer', sn: 'shona', yo: 'yoruba', so: 'somali', af: 'afrikaans', oc: 'occitan', ka: 'georgian', be: 'belarusian',
  tg: 'tajik', sd: 'sindhi', gu: 'gujarati', am: 'amharic', yi: 'yiddish', lo: 'lao', uz: 'uzbek', fo: 'faroese',
  ht: 'haitian creole', ps: 'pashto', tk: 'turkmen', nn: 'nynorsk', mt: 'maltese', sa: 'sanskrit', lb: 'luxembourgish',
  my: 'myanmar', bo: 'tibetan', tl: 'tagalog', mg: 'malagasy', as: 'assamese', tt: 'tatar', haw: 'hawaiian', ln: 'lingala',
  ha: 'hausa', ba: 'bashkir', jw: 'javanese', su: 'sundanese', yue: 'cantonese',
});

export type WhisperTask = 'transcribe' | 'translate';

export interface WhisperTokens {
  startOfTranscript: number;
  endOfText: number;
  /** Language code → token id, for the languages this model has. */
  languages: ReadonlyMap<string, number>;
  tasks: Readonly<Record<WhisperTask, number>>;
  noTimestamps: number;
  /** <|0.00|>; timestamp i (0.02 s steps) is timestampBegin + i. */
  timestampBegin: number;
  /** Seconds per timestamp step. */
  timePrecision: number;
  /** English-only (.en) models take no language or task tokens. */
  multilingual: boolean;
}

/** A language nobody could map to a token; names what is available. */
export class UnknownLanguageError extends Error {
  override name = 'UnknownLanguageError';
  constructor(
    readonly language: string,
    readonly known: readonly string[],
  ) {
    super(`unknown language '${language}' for this Whisper model (known: ${known.join(', ')}; or a name such as 'spanish')`);
  }
}

/** The part of a tokenizer these ids can be read from. */
export interface TokenLookup {
  tokenToId(token: string): number | undefined;
}

type Json = Readonly<Record<string, unknown>>;

function idMap(json: Json, key: string): Record<string, number> | undefined {
  const v = json[key];
  if (v === null || typeof v !== 'object' || Array.isArray(v)) return undefined;
  return Object.fromEntries(Object.entries(v as Record<string, unknown>).filter((e): e is [string, number] => Number.isInteger(e[1])));
}

export interface WhisperTokenSources {
  vocabSize: number;
  decoderStartTokenId: number;
  eosTokenId: number;
  generationConfig?: Json | undefined;
  tokenizer?: TokenLookup | undefined;
}

/** The special token ids of one Whisper model (see the module doc for where each comes from). */
export function whisperTokens({ vocabSize, decoderStartTokenId: sot, eosTokenId, generationConfig = {}, tokenizer }: WhisperTokenSources): WhisperTokens {
  const fixedLanguages = vocabSize - sot - 1 - 6 - 1501;
  const fixed = (offset: number): number => sot + 1 + fixedLanguages + offset;
  const byName = (token: string, fallback: number): number => tokenizer?.tokenToId(token) ?? fallback;
  const langToId = idMap(generationConfig, 'lang_to_id');
  const taskToId = idMap(generationConfig, 'task_to_id');
  const languages = new Map<string, number>();
  WHISPER_LANGUAGES.forEach(([code], i) => {
    const token = `<|${code}|>`;
    const id = langToId ? langToId[token] : (tokenizer?.tokenToId(token) ?? (i < fixedLanguages ? sot + 1 + i : undefined));
    if (id !== undefined) languages.set(code, id);
  });
  const noTimestamps = typeof generationConfig.no_timestamps_token_id === 'number' ? generationConfig.no_timestamps_token_id : byName('<|notimestamps|>', fixed(5));
  return {
    startOfTranscript: sot,
    endOfText: eosTokenId,
    languages,
    tasks: {
      translate: taskToId?.translate ?? byName('<|translate|>', fixed(0)),
      transcribe: taskToId?.transcribe ?? byName('<|transcribe|>', fixed(1)),
    },
    noTimestamps,
    timestampBegin: noTimestamps + 1,
    timePrecision: 0.02,
    // transformers: generation_config's is_multilingual, else the vocabulary size (.en models have 51864).
    multilingual: typeof generationConfig.is_multilingual === 'boolean' ? generationConfig.is_multilingual : vocabSize >= 51865,
  };
}

/** The language token for a code ('es') or a name ('Spanish'), or UnknownLanguageError. */
export function languageToken(tokens: WhisperTokens, language: string): number {
  const wanted = language.trim().toLowerCase().replace(/^<\|(.*)\|>$/, '$1');
  const code = WHISPER_LANGUAGES.find(([c, name]) => c === wanted || name === wanted)?.[0];
  const id = code === undefined ? undefined : tokens.languages.get(code);
  if (id === undefined) throw new UnknownLanguageError(language, [...tokens.languages.keys()]);
  return id;
}

/** The language code of a language token id. */
export function languageOf(tokens: WhisperTokens, id: number): string | undefined {
  for (const [code, token] of tokens.languages) if (token === id) return code;
  return undefined;
}
