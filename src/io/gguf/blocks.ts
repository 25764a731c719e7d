/**
 * Typed views of ggml's quantized blocks. Every type decoded here stores, per
 * sub-block of `subBlock` values, unsigned integer codes q of `bits` bits, a
 * float scale and a float offset, with w = scale·q − offset; the types whose
 * offset is an integer multiple of the scale (Q4_0, Q5_0, Q8_0, Q6_K) say so
 * in `zero` (w = (q − zero)·scale, ggml's own formula for them). Layouts
 * (ggml-common.h; f16 = IEEE half, little-endian):
 *   Q4_0 [d f16][qs 16]: value j < 16 is qs[j] & 15, value j ≥ 16 is qs[j−16] >> 4; zero 8
 *   Q4_1 [d f16][m f16][qs 16]: as Q4_0, w = d·q + m
 *   Q5_0 [d f16][qh u32][qs 16]: as Q4_0 plus bit j of qh as bit 4 of value j; zero 16
 *   Q5_1 [d f16][m f16][qh u32][qs 16]: as Q5_0, w = d·q + m
 *   Q8_0 [d f16][qs i8 × 32]: w = d·q (codes stored here as q + 128; zero 128)
 *   Q4_K (256 values) [d f16][dmin f16][scales 12][qs 128]: 8 sub-blocks of 32 with 6-bit (sc, m)
 *     packed in `scales`; sub-block s reads nibble s & 1 of qs[32·⌊s/2⌋ + l]; w = d·sc·q − dmin·m
 *   Q5_K (256) [d][dmin][scales 12][qh 32][qs 128]: as Q4_K plus bit s of qh[l] as bit 4
 *   Q6_K (256) [ql 128][qh 64][scales i8 × 16][d f16]: 16 sub-blocks of 16, w = d·sc·(q − 32)
 */
import { f16ToF32 } from '../safetensors/floats.js';
import { GGML_TYPES, GgmlType } from './types.js';

let halfTable: Float32Array | undefined;
/** IEEE half bits → float, by table. */
export function half(bits: number): number {
  if (!halfTable) halfTable = f16ToF32(Uint16Array.from({ length: 65536 }, (_, i) => i));
  return halfTable[bits]!;
}

const u16 = (b: Uint8Array, at: number): number => b[at]! | (b[at + 1]! << 8);
const u32 = (b: Uint8Array, at: number): number => (b[at]! | (b[at + 1]! << 8) | (b[at + 2]! << 16) | (b[at + 3]! << 24)) >>> 0;

/** One ggml block decoded: codes [blockSize], and per sub-block scales and offsets. */
export interface BlockCodes {
  codes: Uint8Array;
  scales: Float32Array;
  offsets: Float32Array;
}

export interface CodeLayout {
  type: number;
  blockSize: number;
  typeSize: number;
  subBlock: number;
  /** Width of the codes. */
  bits: number;
  /** The integer zero point, when w = (q − zero)·scale exactly. */
  zero?: number;
  /** Decode block `block` (counting from the start of `bytes`) into `out`. */
  read(bytes: Uint8Array, block: number, out: BlockCodes): void;
}

/** 6-bit scale and min j (0..7) of a Q4_K/Q5_K `scales` field at `at`. */
export function scaleMinK4(b: Uint8Array, at: number, j: number): [number, number] {
  if (j < 4) return [b[at + j]! & 63, b[at + j + 4]! & 63];
  return [(b[at + j + 4]! & 0xf) | ((b[at + j - 4]! >> 6) << 4), (b[at + j + 4]! >> 4) | ((b[at + j]! >> 6) << 4)];
}

function legacy(type: number, bits: 4 | 5 | 8, withMin: boolean, zero: number | undefined): CodeLayout {
  const { blockSize, typeSize } = GGML_TYPES[type]!;
  const qhAt = withMin ? 4 : 2;
  const qsAt = qhAt + (bits === 5 ? 4 : 0);
  return {
    type, blockSize, typeSize, subBlock: 32, bits, ...(zero === undefined ? {} : { zero }),
    read(bytes, block, out) {
      const at = block * typeSize;
      const d = half(u16(bytes, at));
      out.scales[0] = d;
      out.offsets[0] = withMin ? -half(u16(bytes, at + 2)) : Math.fround(zero! * d);
      if (bits === 8) {
        for (let j = 0; j < 32; j++) out.codes[j] = bytes[at + 2 + j]! ^ 0x80; // int8 + 128
        return;
      }
      const qh = bits === 5 ? u32(bytes, at + qhAt) : 0;
      for (let j = 0; j < 16; j++) {
        const byte = bytes[at + qsAt + j]!;
        out.codes[j] = (byte & 0xf) | (((qh >>> j) & 1) << 4);
        out.codes[j + 16] = (byte >> 4) | (((qh >>> (j + 16)) & 1) << 4);
      }
    },
  };
}

function kQuant(type: number, bits: 4 | 5): CodeLayout {
  const { typeSize } = GGML_TYPES[type]!;
  const qsAt = bits === 5 ? 48 : 16;
  return {
    type, blockSize: 256, typeSize, subBlock: 32, bits,
    read(bytes, block, out) {
      const at = block * typeSize;
      const d = half(u16(bytes, at));
      const dmin = half(u16(bytes, at + 2));
      for (let s = 0; s < 8; s++) {
        const [sc, m] = scaleMinK4(bytes, at + 4, s);
        out.scales[s] = Math.fround(d * sc);
        out.offsets[s] = Math.fround(dmin * m);
        const shift = (s & 1) * 4;
        const qs = at + qsAt + 32 * (s >> 1);
        for (let l = 0; l < 32; l++) {
          const high = bits === 5 ? ((bytes[at + 16 + l]! >> s) & 1) << 4 : 0;
          out.codes[32 * s + l] = ((bytes[qs + l]! >> shift) & 0xf) | high;
        }
      }
    },
  };
}

const q6K: CodeLayout = {
  type: GgmlType.Q6_K, blockSize: 256, typeSize: 210, subBlock: 16, bits: 6, zero: 32,
  read(bytes, block, out) {
    const at = block * 210;
    const d = half(u16(bytes, at + 208));
    for (let s = 0; s < 16; s++) {
      const sc = (bytes[at + 192 + s]! << 24) >> 24; // int8
      out.scales[s] = Math.fround(d * sc);
      out.offsets[s] = Math.fround(32 * out.scales[s]!);
    }
    for (let e = 0; e < 256; e++) {
      const n = e >> 7;
      const g = (e & 127) >> 5;
      const l = e & 31;
      const low = (bytes[at + 64 * n + l + (g & 1 ? 32 : 0)]! >> (g < 2 ? 0 : 4)) & 0xf;
      const high = (bytes[at + 128 + 32 * n + l]! >> (2 * g)) & 3;
      out.codes[e] = low | (high << 4);
    }
  },
};

/** The sub-block scale a Q6_K value e (0..255) uses: scales[8·⌊e/128⌋ + ⌊(e mod 32)/16⌋ + 2·⌊(e mod 128)/32⌋]. */
export const q6KScaleIndex = (e: number): number => 8 * (e >> 7) + ((e & 31) >> 4) + 2 * ((e & 127) >> 5);

/** The block-quantized types decoded here, by ggml type code. */
export const CODE_LAYOUTS: Readonly<Record<number, CodeLayout>> = {
  [GgmlType.Q4_0]: legacy(GgmlType.Q4_0, 4, false, 8),
  [GgmlType.Q4_1]: legacy(GgmlType.Q4_1, 4, true, undefined),
  [GgmlType.Q5_0]: legacy(GgmlType.Q5_0, 5, false, 16),
  [GgmlType.Q5_1]: legacy(GgmlType.Q5_1, 5, true, undefined),
  [GgmlType.Q8_0]: legacy(GgmlType.Q8_0, 8, false, 128),
  [GgmlType.Q4_K]: kQuant(GgmlType.Q4_K, 4),
  [GgmlType.Q5_K]: kQuant(GgmlType.Q5_K, 5),
  [GgmlType.Q6_K]: q6K,
};

/** Types `dequantize` reads: plain floats and every CODE_LAYOUTS entry. */
export const DECODABLE_TYPES: readonly number[] = [GgmlType.F32, GgmlType.F16, GgmlType.BF16, ...Object.keys(CODE_LAYOUTS).map(Number)];

export const newBlockCodes = (l: CodeLayout): BlockCodes => ({
  codes: new Uint8Array(l.blockSize),
  scales: new Float32Array(l.blockSize / l.subBlock),
  offsets: new Float32Array(l.blockSize / l.subBlock),
});

/** The subBlock-th sub-block's scale index of value e in a block (Q6_K's are interleaved). */
export const subBlockOf = (l: CodeLayout, e: number): number => (l.type === GgmlType.Q6_K ? q6KScaleIndex(e) : Math.floor(e / l.subBlock));

/**
 * `elements` values of ggml type `type` as float32, in ggml's formulas:
 * (q − zero)·scale for types with an integer zero, scale·q − offset for the others.
 * Returns undefined for a type it does not decode.
 */
export function dequantize(type: number, bytes: Uint8Array, elements: number): Float32Array | undefined {
  if (type === GgmlType.F32) return new Float32Array(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + elements * 4));
  if (type === GgmlType.F16 || type === GgmlType.BF16) {
    const out = new Float32Array(elements);
    const bits = new Uint32Array(out.buffer);
    for (let i = 0; i < elements; i++) {
      const h = u16(bytes, 2 * i);
      if (type === GgmlType.F16) out[i] = half(h);
      else bits[i] = h << 16;
    }
    return out;
  }
  const l = CODE_LAYOUTS[type];
  if (!l) return undefined;
  const out = new Float32Array(elements);
  const b = newBlockCodes(l);
  for (let blk = 0; blk < elements / l.blockSize; blk++) {
    l.read(bytes, blk, b);
    for (let e = 0; e < l.blockSize; e++) {
      const s = subBlockOf(l, e);
      out[blk * l.blockSize + e] = l.zero === undefined ? b.scales[s]! * b.codes[e]! - b.offsets[s]! : (b.codes[e]! - l.zero) * b.scales[s]!;
    }
  }
  return out;
}
