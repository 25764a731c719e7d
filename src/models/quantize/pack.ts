/**
 * Round-to-nearest block quantization of a float matrix into ONNX Runtime's
 * MatMulNBits layout (see core/ops/quantized.ts), and back. Each row of an
 * [N, K] matrix (an output feature) is cut into blocks of `group` values
 * along K; each block gets a float32 scale and, asymmetric, a uint8 zero
 * point:
 *   asymmetric: the block's range, widened to hold 0, split into 2^bits − 1
 *     steps; zero = round(−min / scale), so 0 is exact;
 *   symmetric: the value of largest magnitude m maps to −2^(bits−1)
 *     (scale = m / −2^(bits−1), as llama.cpp's Q4_0/Q8_0), the implicit zero
 *     point 2^(bits−1), so no zero points are stored.
 */
import type { QuantizedBits } from '../../core/ops/quantized.js';

export interface QuantizeSpec {
  bits: QuantizedBits;
  /** Values per block along K (a power of two ≥ 16 dividing K). */
  group: number;
  symmetric: boolean;
}

/** An [n, k] matrix, quantized. */
export interface QuantizedMatrix extends QuantizeSpec {
  n: number;
  k: number;
  /** uint8 [n, k/group, group·bits/8]. */
  data: Uint8Array;
  /** [n, k/group]. */
  scales: Float32Array;
  /** uint8 [n, ⌈(k/group)·bits/8⌉] (4 bits: block 2j in the low nibble, 2j+1 in the high); absent when symmetric. */
  zeros?: Uint8Array;
}

/** Shapes of a quantized matrix's tensors, as stored and as MatMulNBits takes them. */
export function packedShapes(n: number, k: number, { bits, group }: Pick<QuantizeSpec, 'bits' | 'group'>): { data: number[]; scales: number[]; zeros: number[] } {
  const blocks = k / group;
  return { data: [n, blocks, (group * bits) / 8], scales: [n, blocks], zeros: [n, Math.ceil((blocks * bits) / 8)] };
}

/** Scale and zero point of one block of values. */
function blockParams(values: Float32Array, from: number, to: number, bits: number, symmetric: boolean): { scale: number; zero: number } {
  const maxq = (1 << bits) - 1;
  if (symmetric) {
    let m = 0;
    for (let i = from; i < to; i++) if (Math.abs(values[i]!) > Math.abs(m)) m = values[i]!;
    const half = 1 << (bits - 1);
    return { scale: m === 0 ? 1 : m / -half, zero: half };
  }
  let lo = 0;
  let hi = 0;
  for (let i = from; i < to; i++) {
    const v = values[i]!;
    if (v < lo) lo = v;
    if (v > hi) hi = v;
  }
  if (hi === lo) return { scale: 1, zero: 0 };
  const scale = (hi - lo) / maxq;
  return { scale, zero: Math.min(maxq, Math.max(0, Math.round(-lo / scale))) };
}

/**
 * Quantize `rows` ([n, k] row-major: row i is output feature i). The caller
 * checks that `spec.group` divides k (it names the tensor).
 */
export function quantizeRows(rows: Float32Array, n: number, k: number, spec: QuantizeSpec): QuantizedMatrix {
  const { bits, group, symmetric } = spec;
  if (rows.length !== n * k) throw new RangeError(`quantizeRows: ${rows.length} values do not make a [${n}, ${k}] matrix`);
  if (k % group !== 0) throw new RangeError(`quantizeRows: group ${group} does not divide K = ${k}`);
  const blocks = k / group;
  const blockBytes = (group * bits) / 8;
  const zeroBytes = Math.ceil((blocks * bits) / 8);
  const data = new Uint8Array(n * blocks * blockBytes);
  const scales = new Float32Array(n * blocks);
  const zeros = symmetric ? undefined : new Uint8Array(n * zeroBytes);
  const maxq = (1 << bits) - 1;
  for (let r = 0; r < n; r++) {
    for (let b = 0; b < blocks; b++) {
      const from = r * k + b * group;
      const { scale, zero } = blockParams(rows, from, from + group, bits, symmetric);
      scales[r * blocks + b] = scale;
      if (zeros) zeros[r * zeroBytes + ((b * bits) >> 3)]! |= bits === 8 ? zero : zero << ((b & 1) * 4);
      const out = (r * blocks + b) * blockBytes;
      const inv = 1 / scale;
      for (let j = 0; j < group; j++) {
        const q = Math.min(maxq, Math.max(0, Math.round(rows[from + j]! * inv) + zero));
        if (bits === 8) data[out + j] = q;
        else data[out + (j >> 1)]! |= q << ((j & 1) * 4);
      }
    }
  }
  return { bits, group, symmetric, n, k, data, scales, ...(zeros ? { zeros } : {}) };
}

/** The zero point of block `b` of row `r`. */
export function zeroPoint(q: QuantizedMatrix, r: number, b: number): number {
  if (!q.zeros) return 1 << (q.bits - 1);
  const blocks = q.k / q.group;
  const byte = q.zeros[r * Math.ceil((blocks * q.bits) / 8) + ((b * q.bits) >> 3)]!;
  return q.bits === 8 ? byte : (byte >> ((b & 1) * 4)) & 0xf;
}

/** The [n, k] row-major float matrix a quantized one stands for. */
export function dequantizeRows(q: QuantizedMatrix): Float32Array {
  const { n, k, group, bits } = q;
  const blocks = k / group;
  const blockBytes = (group * bits) / 8;
  const out = new Float32Array(n * k);
  for (let r = 0; r < n; r++) {
    for (let b = 0; b < blocks; b++) {
      const scale = q.scales[r * blocks + b]!;
      const zero = zeroPoint(q, r, b);
      const src = (r * blocks + b) * blockBytes;
      for (let j = 0; j < group; j++) {
        const v = bits === 8 ? q.data[src + j]! : (q.data[src + (j >> 1)]! >> ((j & 1) * 4)) & 0xf;
        out[r * k + b * group + j] = (v - zero) * scale;
      }
    }
  }
  return out;
}

/** One zero point a byte, [n, k/group] (GatherBlockQuantized's layout for a table's zero points). */
export function unpackedZeros(q: QuantizedMatrix): Uint8Array | undefined {
  if (!q.zeros) return undefined;
  const blocks = q.k / q.group;
  const out = new Uint8Array(q.n * blocks);
  for (let r = 0; r < q.n; r++) for (let b = 0; b < blocks; b++) out[r * blocks + b] = zeroPoint(q, r, b);
  return out;
}

/** Bytes a quantized matrix stores. */
export const quantizedBytes = (q: QuantizedMatrix): number => q.data.byteLength + q.scales.byteLength + (q.zeros?.byteLength ?? 0);
