/** A small tokenizer for the constrained-decoding tests, built in memory. */
import { Tokenizer } from '../../../src/text/tokenizer.js';

/** A Llama-style SentencePiece BPE: ▁ for spaces, <0xNN> byte fallback, <s> and </s> special. */
export function sentencePieceTokenizer(): Tokenizer {
  const pieces = ['<unk>', '<s>', '</s>', ...Array.from({ length: 256 }, (_, b) => `<0x${b.toString(16).toUpperCase().padStart(2, '0')}>`)];
  const words = ['▁', '{', '}', '"', ':', ',', '[', ']', 'a', 'b', 'n', 'u', 'l', 't', 'r', 'e', 'f', 's', '1', '2', '0', '-', '.', 'é', '▁{', '"a', '":', '▁"', 'nu', 'll', 'null', 'tr', 'true', '12', '▁▁'];
  const vocab: Record<string, number> = {};
  for (const p of [...pieces, ...words]) vocab[p] = Object.keys(vocab).length;
  const merges = [['▁', '{'], ['"', 'a'], ['"', ':'], ['▁', '"'], ['n', 'u'], ['l', 'l'], ['nu', 'll'], ['t', 'r'], ['tr', 'u'], ['1', '2'], ['▁', '▁']].filter(([l, r]) => vocab[l! + r!] !== undefined);
  return new Tokenizer({
    tokenizerJson: {
      version: '1.0',
      truncation: null,
      padding: null,
      added_tokens: [0, 1, 2].map((id) => ({ id, content: pieces[id], single_word: false, lstrip: false, rstrip: false, normalized: false, special: true })),
      normalizer: { type: 'Sequence', normalizers: [{ type: 'Prepend', prepend: '▁' }, { type: 'Replace', pattern: { String: ' ' }, content: '▁' }] },
      pre_tokenizer: null,
      post_processor: null,
      decoder: { type: 'Sequence', decoders: [{ type: 'Replace', pattern: { String: '▁' }, content: ' ' }, { type: 'ByteFallback' }, { type: 'Fuse' }, { type: 'Strip', content: ' ', start: 1, stop: 0 }] },
      model: { type: 'BPE', dropout: null, unk_token: '<unk>', continuing_subword_prefix: null, end_of_word_suffix: null, fuse_unk: true, byte_fallback: true, ignore_merges: false, vocab, merges },
    },
    tokenizerConfig: { bos_token: '<s>', eos_token: '</s>', unk_token: '<unk>' },
    source: 'sentencepiece-test',
  });
}
