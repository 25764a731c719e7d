/**
 * A small GGUF writer for tests (ggml's docs/gguf.md, version 3), the
 * quantizers llama.cpp's reference code describes (Q8_0, Q4_0, Q4_K:
 * round-to-nearest, written here from the format description), and
 * `checkpointToGguf`: what llama.cpp's convert_hf_to_gguf.py makes of a
 * Llama/Qwen2 checkpoint directory (metadata, embedded tokenizer, Q/K rows
 * permuted for its rotary layout, tensors renamed and typed).
 */
import { writeFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { f32ToF16 } from '../../src/io/safetensors/floats.js';
import { loadHfCheckpoint } from '../../src/io/hf-checkpoint.js';

export type Scalar = 'u8' | 'i8' | 'u16' | 'i16' | 'u32' | 'i32' | 'f32' | 'bool' | 'string' | 'u64' | 'i64' | 'f64';
export type MetaValue = { type: Scalar; value: number | bigint | boolean | string } | { type: 'array'; item: Scalar; value: (number | bigint | boolean | string)[] };

export const str = (value: string): MetaValue => ({ type: 'string', value });
export const u32 = (value: number): MetaValue => ({ type: 'u32', value });
export const f32 = (value: number): MetaValue => ({ type: 'f32', value });
export const bool = (value: boolean): MetaValue => ({ type: 'bool', value });
export const arr = (item: Scalar, value: (number | bigint | boolean | string)[]): MetaValue => ({ type: 'array', item, value });

export interface WriterTensor {
  name: string;
  /** ggml order: innermost first. */
  dims: number[];
  type: number;
  data: Uint8Array;
}

export interface WriteOptions {
  alignment?: number;
  /** Written as the header's tensor_count instead of the real one. */
  tensorCount?: number;
  version?: number;
}

const CODES: Record<Scalar | 'array', number> = { u8: 0, i8: 1, u16: 2, i16: 3, u32: 4, i32: 5, f32: 6, bool: 7, string: 8, array: 9, u64: 10, i64: 11, f64: 12 };

class Bytes {
  private chunks: Buffer[] = [];
  length = 0;
  push(b: Buffer | Uint8Array): void {
    const buf = Buffer.from(b.buffer, b.byteOffset, b.byteLength);
    this.chunks.push(buf);
    this.length += buf.length;
  }
  num(type: Scalar, v: number | bigint | boolean | string): void {
    if (type === 'string') return this.string(v as string);
    const size = { u8: 1, i8: 1, bool: 1, u16: 2, i16: 2, u32: 4, i32: 4, f32: 4, u64: 8, i64: 8, f64: 8 }[type];
    const b = Buffer.alloc(size);
    if (type === 'u8') b.writeUInt8(v as number);
    else if (type === 'i8') b.writeInt8(v as number);
    else if (type === 'bool') b.writeUInt8(v ? 1 : 0);
    else if (type === 'u16') b.writeUInt16LE(v as number);
    else if (type === 'i16') b.writeInt16LE(v as number);
    else if (type === 'u32') b.writeUInt32LE(v as number);
    else if (type === 'i32') b.writeInt32LE(v as number);
    else if (type === 'f32') b.writeFloatLE(v as number);
    else if (type === 'f64') b.writeDoubleLE(v as number);
    else if (type === 'u64') b.writeBigUInt64LE(BigInt(v as number));
    else b.writeBigInt64LE(BigInt(v as number));
    this.push(b);
  }
  string(s: string): void {
    const utf8 = Buffer.from(s, 'utf8');
    this.num('u64', utf8.length);
    this.push(utf8);
  }
  pad(alignment: number): void {
    const n = (alignment - (this.length % alignment)) % alignment;
    if (n) this.push(Buffer.alloc(n));
  }
  concat(): Buffer {
    return Buffer.concat(this.chunks);
  }
}

/** A GGUF file's bytes. */
export function serializeGguf(metadata: Record<string, MetaValue>, tensors: readonly WriterTensor[], opts: WriteOptions = {}): Buffer {
  const alignment = opts.alignment ?? 32;
  const meta: Record<string, MetaValue> = alignment === 32 ? metadata : { ...metadata, 'general.alignment': u32(alignment) };
  const out = new Bytes();
  out.push(Buffer.from('GGUF', 'latin1'));
  out.num('u32', opts.version ?? 3);
  out.num('u64', opts.tensorCount ?? tensors.length);
  out.num('u64', Object.keys(meta).length);
  for (const [key, v] of Object.entries(meta)) {
    out.string(key);
    out.num('u32', CODES[v.type]);
    if (v.type === 'array') {
      out.num('u32', CODES[v.item]);
      out.num('u64', v.value.length);
      for (const x of v.value) out.num(v.item, x);
    } else out.num(v.type, v.value);
  }
  let offset = 0;
  for (const t of tensors) {
    out.string(t.name);
    out.num('u32', t.dims.length);
    for (const d of t.dims) out.num('u64', d);
    out.num('u32', t.type);
    out.num('u64', offset);
    offset += Math.ceil(t.data.length / alignment) * alignment;
  }
  out.pad(alignment);
  for (const t of tensors) {
    out.push(t.data);
    out.pad(alignment);
  }
  return out.concat();
}

export function writeGguf(path: string, metadata: Record<string, MetaValue>, tensors: readonly WriterTensor[], opts: WriteOptions = {}): void {
  writeFileSync(path, serializeGguf(metadata, tensors, opts));
}

// ---- quantizers (round to nearest), from ggml's block descriptions ----

export const TYPE = { F32: 0, F16: 1, Q4_0: 2, Q8_0: 8, Q2_K: 10, Q4_K: 12, Q6_K: 14 } as const;

const halfBytes = (v: number): [number, number] => {
  const h = f32ToF16(Float32Array.of(v))[0]!;
  return [h & 0xff, h >> 8];
};
/** The float an f16 rounds `v` to (IEEE half decoded by hand, independently of the reader). */
const halfValue = (v: number): number => {
  const h = f32ToF16(Float32Array.of(v))[0]!;
  const sign = h & 0x8000 ? -1 : 1;
  const e = (h >> 10) & 0x1f;
  const f = h & 0x3ff;
  return e === 0 ? sign * f * 2 ** -24 : sign * (1 + f / 1024) * 2 ** (e - 15);
};

export function f32Bytes(x: Float32Array): Uint8Array {
  return new Uint8Array(Float32Array.from(x).buffer);
}

export function f16Bytes(x: Float32Array): Uint8Array {
  return new Uint8Array(f32ToF16(x).buffer);
}

/** Q8_0: per 32 values d = max|x| / 127, q = round(x / d) as int8. */
export function quantizeQ8_0(x: Float32Array): Uint8Array {
  const out = new Uint8Array((x.length / 32) * 34);
  for (let b = 0; b < x.length / 32; b++) {
    let amax = 0;
    for (let j = 0; j < 32; j++) amax = Math.max(amax, Math.abs(x[b * 32 + j]!));
    const d = amax / 127;
    out.set(halfBytes(d), b * 34);
    for (let j = 0; j < 32; j++) out[b * 34 + 2 + j] = (d ? Math.round(x[b * 32 + j]! / d) : 0) & 0xff;
  }
  return out;
}

/** Q4_0: d = (value of largest magnitude) / −8, q = min(15, ⌊x / d + 8.5⌋); value j in the low nibble of byte j, j + 16 in its high nibble. */
export function quantizeQ4_0(x: Float32Array): Uint8Array {
  const out = new Uint8Array((x.length / 32) * 18);
  for (let b = 0; b < x.length / 32; b++) {
    let max = 0;
    for (let j = 0; j < 32; j++) if (Math.abs(x[b * 32 + j]!) > Math.abs(max)) max = x[b * 32 + j]!;
    const d = max / -8;
    const id = d ? 1 / d : 0;
    out.set(halfBytes(d), b * 18);
    const q = (j: number) => Math.min(15, Math.max(0, Math.floor(x[b * 32 + j]! * id + 8.5)));
    for (let j = 0; j < 16; j++) out[b * 18 + 2 + j] = q(j) | (q(j + 16) << 4);
  }
  return out;
}

/**
 * Q4_K: per 256 values, 8 sub-blocks of 32 with a range [min ≤ 0, max]; their
 * scales (max − min)/15 and mins −min quantized to 6 bits against the
 * super-block's d = max scale / 63 and dmin = max min / 63, then
 * q = round((x + dmin·m) / (d·sc)) in 0..15. `zeroScaleAt` forces sub-block 0
 * of that super-block to sc = 0 with m ≠ 0 (a block no MatMulNBits form has).
 */
export function quantizeQ4_K(x: Float32Array, zeroScaleAt?: number): Uint8Array {
  const out = new Uint8Array((x.length / 256) * 144);
  for (let sb = 0; sb < x.length / 256; sb++) {
    const at = sb * 144;
    const scales: number[] = [];
    const mins: number[] = [];
    for (let s = 0; s < 8; s++) {
      let lo = 0;
      let hi = 0;
      for (let l = 0; l < 32; l++) {
        const v = x[sb * 256 + s * 32 + l]!;
        lo = Math.min(lo, v);
        hi = Math.max(hi, v);
      }
      scales.push((hi - lo) / 15);
      mins.push(-lo);
    }
    const d = halfValue(Math.max(...scales) / 63);
    const dmin = halfValue(Math.max(...mins) / 63);
    const sc = scales.map((s) => (d ? Math.min(63, Math.round(s / d)) : 0));
    const m = mins.map((v) => (dmin ? Math.min(63, Math.round(v / dmin)) : 0));
    if (zeroScaleAt === sb) {
      sc[0] = 0;
      m[0] = Math.max(1, m[0]!);
    }
    out.set(halfBytes(d), at);
    out.set(halfBytes(dmin), at + 2);
    for (let j = 0; j < 8; j++) {
      if (j < 4) {
        out[at + 4 + j]! |= sc[j]! & 63;
        out[at + 4 + j + 4]! |= m[j]! & 63;
      } else {
        out[at + 4 + j + 4]! |= (sc[j]! & 0xf) | ((m[j]! & 0xf) << 4);
        out[at + 4 + j - 4]! |= (sc[j]! >> 4) << 6;
        out[at + 4 + j]! |= (m[j]! >> 4) << 6;
      }
    }
    for (let s = 0; s < 8; s++) {
      const scale = d * sc[s]!;
      const min = dmin * m[s]!;
      for (let l = 0; l < 32; l++) {
        const q = scale ? Math.min(15, Math.max(0, Math.round((x[sb * 256 + s * 32 + l]! + min) / scale))) : 0;
        out[at + 16 + 32 * (s >> 1) + l]! |= q << ((s & 1) * 4);
      }
    }
  }
  return out;
}

// ---- a checkpoint directory as llama.cpp's converter writes it ----

/** llama.cpp's permute(): rows of each head reordered from [first half; second half] to interleaved pairs. */
export function permuteQk(w: Float32Array, rows: number, cols: number, heads: number): Float32Array {
  const out = new Float32Array(w.length);
  const d = rows / heads;
  // numpy: w.reshape(heads, 2, d/2, cols).swapaxes(1, 2).reshape(rows, cols)
  for (let h = 0; h < heads; h++) for (let half = 0; half < 2; half++) for (let j = 0; j < d / 2; j++) {
    out.set(w.subarray((h * d + half * (d / 2) + j) * cols, (h * d + half * (d / 2) + j + 1) * cols), (h * d + j * 2 + half) * cols);
  }
  return out;
}

const LAYER_NAMES: Record<string, string> = {
  input_layernorm: 'attn_norm', 'self_attn.q_proj': 'attn_q', 'self_attn.k_proj': 'attn_k', 'self_attn.v_proj': 'attn_v', 'self_attn.o_proj': 'attn_output',
  post_attention_layernorm: 'ffn_norm', 'mlp.gate_proj': 'ffn_gate', 'mlp.up_proj': 'ffn_up', 'mlp.down_proj': 'ffn_down',
};

function ggufName(hf: string): string {
  if (hf === 'model.embed_tokens.weight') return 'token_embd.weight';
  if (hf === 'model.norm.weight') return 'output_norm.weight';
  if (hf === 'lm_head.weight') return 'output.weight';
  const m = /^model\.layers\.(\d+)\.(.+)\.(weight|bias)$/.exec(hf)!;
  return `blk.${m[1]}.${LAYER_NAMES[m[2]!]}.${m[3]}`;
}

/** Bytes of `values` ([rows, k] row-major) as ggml `type`. */
export function encode(type: number, values: Float32Array): Uint8Array {
  if (type === TYPE.F32) return f32Bytes(values);
  if (type === TYPE.F16) return f16Bytes(values);
  if (type === TYPE.Q8_0) return quantizeQ8_0(values);
  if (type === TYPE.Q4_0) return quantizeQ4_0(values);
  if (type === TYPE.Q4_K) return quantizeQ4_K(values);
  // Right-sized zero blocks: enough for tests of types the loader must refuse.
  if (type === TYPE.Q2_K) return new Uint8Array((values.length / 256) * 84);
  throw new Error(`encode: no quantizer for type ${type} in the test writer`);
}

export interface ConvertOptions {
  /** ggml type of each 2-D weight by GGUF name (1-D tensors stay F32, as llama.cpp keeps them). */
  typeOf?: (name: string, dims: number[]) => number;
  /** Override metadata entries (undefined deletes one). */
  metadata?: Record<string, MetaValue | undefined>;
  /** Override the float weights, by HF name. */
  weights?: ReadonlyMap<string, { shape: readonly number[]; data: Float32Array }>;
  /** Use this config.json instead of the directory's (the directory still gives the tokenizer, cut to its vocab_size). */
  config?: Record<string, unknown>;
  /** Further tensors written as they are (e.g. rope_freqs.weight). */
  extraTensors?: readonly WriterTensor[];
  /** Write Q/K rows unpermuted (a file llama.cpp would not write), to show the permutation matters. */
  skipPermute?: boolean;
}

/** The GGUF llama.cpp's converter writes for a llama-family checkpoint directory with a byte-level BPE tokenizer.json. */
export async function checkpointToGguf(dir: string, path: string, opts: ConvertOptions = {}): Promise<void> {
  const ckpt = await loadHfCheckpoint(dir);
  const c = (opts.config ?? ckpt.config) as Record<string, number | string | boolean | Record<string, number>>;
  const qwen = (c.architectures as unknown as string[])[0] === 'Qwen2ForCausalLM';
  const arch = qwen ? 'qwen2' : 'llama';
  const tj = JSON.parse(await readFile(join(dir, 'tokenizer.json'), 'utf8')) as { model: { vocab: Record<string, number>; merges: [string, string][] }; added_tokens: { id: number; content: string; special: boolean }[] };
  const vocabSize = c.vocab_size as number;
  const tokens: string[] = new Array(vocabSize).fill('');
  for (const [t, id] of Object.entries(tj.model.vocab)) if (id < vocabSize) tokens[id] = t;
  const types = new Array(vocabSize).fill(1);
  for (const a of tj.added_tokens) {
    if (a.id >= vocabSize) continue;
    tokens[a.id] = a.content;
    types[a.id] = a.special ? 3 : 4;
  }
  const heads = c.num_attention_heads as number;
  const kvHeads = (c.num_key_value_heads as number) ?? heads;
  const rope = (c.rope_parameters as Record<string, number> | undefined)?.rope_theta ?? (c.rope_theta as number) ?? 10000;
  const meta: Record<string, MetaValue | undefined> = {
    'general.architecture': str(arch),
    'general.name': str('test'),
    [`${arch}.context_length`]: u32(c.max_position_embeddings as number),
    [`${arch}.embedding_length`]: u32(c.hidden_size as number),
    [`${arch}.block_count`]: u32(c.num_hidden_layers as number),
    [`${arch}.feed_forward_length`]: u32(c.intermediate_size as number),
    [`${arch}.attention.head_count`]: u32(heads),
    [`${arch}.attention.head_count_kv`]: u32(kvHeads),
    [`${arch}.attention.layer_norm_rms_epsilon`]: f32(c.rms_norm_eps as number),
    [`${arch}.rope.freq_base`]: f32(rope),
    [`${arch}.rope.dimension_count`]: u32(c.head_dim as number),
    [`${arch}.attention.key_length`]: u32(c.head_dim as number),
    [`${arch}.attention.value_length`]: u32(c.head_dim as number),
    'general.file_type': u32(0),
    'tokenizer.ggml.model': str('gpt2'),
    'tokenizer.ggml.pre': str(qwen ? 'qwen2' : 'gpt-2'),
    'tokenizer.ggml.tokens': arr('string', tokens),
    'tokenizer.ggml.token_type': arr('i32', types),
    'tokenizer.ggml.merges': arr('string', tj.model.merges.map((m) => m.join(' '))),
    'tokenizer.ggml.bos_token_id': u32(c.bos_token_id as number),
    'tokenizer.ggml.eos_token_id': u32(c.eos_token_id as number),
    'tokenizer.ggml.add_bos_token': bool(false),
    ...opts.metadata,
  };
  const tensors: WriterTensor[] = [];
  for (const [hf, t] of opts.weights ?? ckpt.weights) {
    if (hf === 'lm_head.weight' && c.tie_word_embeddings) continue;
    let data = t.data;
    const [rows, cols] = t.shape.length === 2 ? [t.shape[0]!, t.shape[1]!] : [t.shape[0]!, 1];
    if (!qwen && !opts.skipPermute && /\.(q_proj|k_proj)\./.test(hf)) data = permuteQk(data, rows, cols, hf.includes('q_proj') ? heads : kvHeads);
    const name = ggufName(hf);
    const dims = [...t.shape].reverse();
    const type = t.shape.length === 2 ? (opts.typeOf?.(name, dims) ?? TYPE.F32) : TYPE.F32;
    tensors.push({ name, dims, type, data: encode(type, data) });
  }
  tensors.push(...(opts.extraTensors ?? []));
  const metadata = Object.fromEntries(Object.entries(meta).filter((e): e is [string, MetaValue] => e[1] !== undefined));
  writeGguf(path, metadata, tensors);
}
