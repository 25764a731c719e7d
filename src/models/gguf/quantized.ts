/**
 * ggml blocks → ONNX Runtime's MatMulNBits blocks, without dequantizing:
 *   Q4_0 → 4 bits, blocks of 32, ORT's implicit zero point 8 (symmetric)
 *   Q4_1, Q4_K → 4 bits, blocks of 32 (Q4_K: its 8 sub-blocks), scale d·sc and
 *     a float zero point dmin·m / (d·sc), since w = d·sc·q − dmin·m
 *   Q8_0 → 8 bits, blocks of 32, codes int8 + 128 (implicit zero 128)
 *   Q5_0 → 8 bits, blocks of 32, codes q + 112 (w = d·(q − 16), implicit zero 128)
 *   Q6_K → 8 bits, blocks of 16, codes q + 96 (w = d·sc·(q − 32))
 * Q5_1 and Q5_K would need 8-bit codes with float zero points, which ORT's
 * CPU kernel does not take (it unpacks float zero points for 2 and 4 bits
 * only), and a block whose scale is 0 but whose offset is not (all its values
 * equal and non-zero) has no (q − zero)·scale form: for those the result is
 * undefined and the caller dequantizes the tensor to float.
 */
import { CODE_LAYOUTS, newBlockCodes, subBlockOf } from '../../io/gguf/blocks.js';
import type { QuantizedBits } from '../../core/ops/quantized.js';

/** An [n, k] matrix in MatMulNBits' layout (core/ops/quantized.ts). */
export interface MappedMatrix {
  n: number;
  k: number;
  bits: QuantizedBits;
  group: number;
  /** uint8 [n, k/group, group·bits/8]. */
  data: Uint8Array;
  /** [n, k/group]. */
  scales: Float32Array;
  /** float32 [n, k/group] (fractional zero points); absent: ORT's implicit 2^(bits−1). */
  zeros?: Float32Array;
  /** The ggml type it came from. */
  source: number;
}

/** Map `bytes`, n rows of k values of ggml type `type`, or undefined when some block has no MatMulNBits form. */
export function mapToMatMulNBits(type: number, bytes: Uint8Array, n: number, k: number): MappedMatrix | undefined {
  const l = CODE_LAYOUTS[type];
  if (!l) return undefined;
  const bits: QuantizedBits = l.bits === 4 ? 4 : 8;
  const group = l.subBlock;
  const groupsPerRow = k / group;
  const symmetric = l.zero !== undefined;
  if (bits === 8 && !symmetric) return undefined;
  // Integer zeros become ORT's implicit 2^(bits−1) by shifting the codes.
  const shift = symmetric ? (1 << (bits - 1)) - l.zero! : 0;
  const data = new Uint8Array((n * k * bits) / 8);
  const scales = new Float32Array(n * groupsPerRow);
  const zeros = symmetric ? undefined : new Float32Array(n * groupsPerRow);
  const b = newBlockCodes(l);
  const blocks = (n * k) / l.blockSize;
  for (let blk = 0; blk < blocks; blk++) {
    l.read(bytes, blk, b);
    const first = blk * l.blockSize; // flat index of the block's first value; rows hold whole blocks
    for (let e = 0; e < l.blockSize; e += group) {
      const s = subBlockOf(l, e);
      const g = (first + e) / group; // flat group index = row · groupsPerRow + group in row
      const scale = b.scales[s]!;
      scales[g] = scale;
      if (zeros) {
        const offset = b.offsets[s]!;
        if (scale === 0 && offset !== 0) return undefined;
        zeros[g] = scale === 0 ? 0 : offset / scale;
      }
    }
    for (let e = 0; e < l.blockSize; e++) {
      const q = b.codes[e]! + shift;
      const at = first + e;
      if (bits === 8) data[at] = q;
      else data[at >> 1]! |= q << ((at & 1) * 4);
    }
  }
  return { n, k, bits, group, data, scales, ...(zeros ? { zeros } : {}), source: type };
}

/** The [n, k] floats a mapped matrix stands for, (q − zero)·scale as MatMulNBits computes them. */
export function dequantizeMapped(m: MappedMatrix): Float32Array {
  const out = new Float32Array(m.n * m.k);
  const half = 1 << (m.bits - 1);
  for (let i = 0; i < out.length; i++) {
    const g = Math.floor(i / m.group);
    const q = m.bits === 8 ? m.data[i]! : (m.data[i >> 1]! >> ((i & 1) * 4)) & 0xf;
    out[i] = (q - (m.zeros ? m.zeros[g]! : half)) * m.scales[g]!;
  }
  return out;
}
