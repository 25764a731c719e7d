/**
 * Whisper test material: a tokenizer.json shaped like openai/whisper-*'s (byte-level BPE over 50257
 * base tokens, then <|endoftext|>, <|startoftranscript|>, the language and task tokens,
 * <|notimestamps|> and 1501 timestamps as added tokens), the fixture copied beside it into a temp
 * directory, and espeak-ng speech.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { copyFileSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { WHISPER_LANGUAGES } from '../../src/models/whisper/tokens.js';
import { byteLevelBpeTokenizerJson } from '../../src/text/tokenizer.js';
import { fixturePath } from './fixtures.js';

/** GPT-2's byte → printable character map (bytes_to_unicode). */
function byteChars(): string[] {
  const printable = (b: number): boolean => (b >= 33 && b <= 126) || (b >= 161 && b <= 172) || b >= 174;
  let next = 256;
  return Array.from({ length: 256 }, (_, b) => String.fromCharCode(printable(b) ? b : next++));
}

/**
 * Base tokens: the 256 bytes, then " w256" ... " w50256" (byte-level strings), so decoding text ids
 * gives readable words. `languages` says how many language tokens follow <|startoftranscript|>.
 */
export function whisperTokenizerJson(languages = 99): Record<string, unknown> {
  const chars = byteChars();
  const vocab: Record<string, number> = {};
  chars.forEach((c, i) => (vocab[c] = i));
  for (let id = 256; id < 50257; id++) vocab[`${chars[32]}w${id}`] = id;
  const added: Record<string, number> = {};
  const specials: string[] = [];
  let id = 50257;
  const add = (token: string, special = true): void => {
    added[token] = id++;
    if (special) specials.push(token);
  };
  add('<|endoftext|>');
  add('<|startoftranscript|>');
  for (const [code] of WHISPER_LANGUAGES.slice(0, languages)) add(`<|${code}|>`);
  for (const t of ['translate', 'transcribe', 'startoflm', 'startofprev', 'nospeech', 'notimestamps']) add(`<|${t}|>`);
  for (let i = 0; i <= 1500; i++) add(`<|${(i * 0.02).toFixed(2)}|>`, false);
  return byteLevelBpeTokenizerJson(vocab, [], { specialTokens: specials, addedTokens: added });
}

/** The whisper-tiny-random fixture plus a whisper-shaped tokenizer.json, in a fresh temp directory. */
export function whisperModelDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'forja-whisper-'));
  for (const f of ['config.json', 'generation_config.json', 'model.safetensors', 'preprocessor_config.json']) copyFileSync(fixturePath('whisper-tiny-random', f), join(dir, f));
  writeFileSync(join(dir, 'tokenizer.json'), JSON.stringify(whisperTokenizerJson()));
  writeFileSync(join(dir, 'tokenizer_config.json'), JSON.stringify({ tokenizer_class: 'WhisperTokenizer', eos_token: '<|endoftext|>', bos_token: '<|endoftext|>' }));
  return dir;
}

/** True when Debian's espeak-ng is installed (.ci/run installs it). */
export const hasEspeak = (): boolean => spawnSync('espeak-ng', ['--version'], { stdio: 'ignore' }).status === 0;

/** `text` spoken by espeak-ng's `voice` into a WAV file (22.05 kHz, 16-bit mono). */
export function speak(text: string, voice: string, path: string): string {
  execFileSync('espeak-ng', ['-v', voice, '-w', path, text]);
  return path;
}
