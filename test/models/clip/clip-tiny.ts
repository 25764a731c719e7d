/**
 * clip-tiny (../shared/fixtures, F16) and its goldens, plus a directory that links to its files and
 * adds a small WordLevel tokenizer whose words are the goldens' ids: "a photo of" → 998 5 17 42 999,
 * "cat" → 998 300 999, "on the red mat today" → 998 7 8 9 10 11 999. Tests can then feed text.
 */
import { mkdtempSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadF32 } from '../../../src/io/safetensors.js';
import { fixturePath } from '../../helpers/fixtures.js';

export const CLIP_TINY = fixturePath('clip-tiny');
export const GOLDEN_TEXTS = ['a photo of', 'cat', 'on the red mat today'];

export async function clipGoldens() {
  const json = JSON.parse(readFileSync(join(CLIP_TINY, 'golden.json'), 'utf8')) as { input_ids: number[][]; attention_mask: number[][] };
  const t = await loadF32(join(CLIP_TINY, 'golden.safetensors'));
  const get = (name: string) => t.get(name)!;
  const rows = (name: string) => {
    const { data, shape } = get(name);
    return Array.from({ length: shape[0]! }, (_, r) => data.slice(r * shape[1]!, (r + 1) * shape[1]!));
  };
  // The ids without their padding (attention 0), as a caller would pass them.
  const ids = json.input_ids.map((row, r) => row.filter((_, i) => json.attention_mask[r]![i] === 1));
  const pixels = get('pixel_values');
  return {
    inputIds: ids,
    paddedIds: json.input_ids,
    pixelValues: { data: pixels.data, dims: pixels.shape as [number, 3, number, number] },
    textEmbeds: rows('text_embeds'),
    imageEmbeds: rows('image_embeds'),
    logitsPerImage: rows('logits_per_image'),
  };
}

const WORDS: Record<string, number> = { '[UNK]': 1, a: 5, photo: 17, of: 42, cat: 300, on: 7, the: 8, red: 9, mat: 10, today: 11, dog: 301, car: 302, this: 20, is: 21, '.': 22 };

function special(content: string, id: number) {
  return { id, content, single_word: false, lstrip: false, rstrip: false, normalized: false, special: true };
}

/** A temporary copy of clip-tiny (files linked, not copied) with a tokenizer; returns its path. */
export function clipTinyWithTokenizer(root = tmpdir()): string {
  const dir = mkdtempSync(join(root, 'forja-clip-tiny-'));
  for (const f of ['config.json', 'model.safetensors', 'preprocessor_config.json']) symlinkSync(join(CLIP_TINY, f), join(dir, f));
  const specials = { '<|startoftext|>': 998, '<|endoftext|>': 999 };
  const tok = (name: keyof typeof specials) => ({ SpecialToken: { id: name, type_id: 0 } });
  writeFileSync(
    join(dir, 'tokenizer.json'),
    JSON.stringify({
      version: '1.0',
      truncation: null,
      padding: null,
      added_tokens: Object.entries(specials).map(([c, id]) => special(c, id)),
      normalizer: { type: 'Lowercase' },
      pre_tokenizer: { type: 'Whitespace' },
      post_processor: {
        type: 'TemplateProcessing',
        single: [tok('<|startoftext|>'), { Sequence: { id: 'A', type_id: 0 } }, tok('<|endoftext|>')],
        pair: [tok('<|startoftext|>'), { Sequence: { id: 'A', type_id: 0 } }, tok('<|endoftext|>'), { Sequence: { id: 'B', type_id: 0 } }, tok('<|endoftext|>')],
        special_tokens: Object.fromEntries(Object.entries(specials).map(([c, id]) => [c, { id: c, ids: [id], tokens: [c] }])),
      },
      decoder: null,
      model: { type: 'WordLevel', vocab: { ...WORDS, ...specials }, unk_token: '[UNK]' },
    }),
  );
  writeFileSync(join(dir, 'tokenizer_config.json'), JSON.stringify({ bos_token: '<|startoftext|>', eos_token: '<|endoftext|>', unk_token: '[UNK]', model_max_length: 32 }));
  return dir;
}
