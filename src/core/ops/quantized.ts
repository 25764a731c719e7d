/**
 * Weight-only quantized ops of ONNX Runtime's com.microsoft domain, for
 * inference graphs: a float activation times (or a gather from) an [N, K]
 * matrix stored as 4- or 8-bit integers in blocks along K, each block with
 * its own float32 scale and, optionally, a uint8 zero point. No gradient
 * flows through them: the weights are constants, and integers have none.
 *
 * The layout is ORT's: `data` is uint8 [N, K/block, block·bits/8], and
 * element k of a block is byte k (8 bits) or the low (k even) / high (k odd)
 * nibble of byte ⌊k/2⌋ (4 bits); w[n, k] = (q − zero) · scale of its block.
 * Without zero points ORT uses 2^(bits−1) (symmetric). Row n is an output
 * feature of a linear map (nn.Linear's [out, in]) or a row of an embedding
 * table, so a tied embedding and LM head share one `data` tensor.
 */
import { currentGraph, nonDifferentiable, type Attrs, type OpDef, type Tensor } from '../graph.js';
import { dimAt, formatShape, ShapeError, type Shape } from '../shape.js';
import { reshape } from './movement.js';

export const MICROSOFT_DOMAIN = 'com.microsoft';

/** The integer widths both ops support. */
export const QUANTIZED_BITS = [4, 8] as const;
export type QuantizedBits = (typeof QUANTIZED_BITS)[number];

/** An [N, K] matrix in ORT's block layout, as graph tensors, for `matmulNBits`. */
export interface BlockQuantized {
  /** uint8 [N, K/block, block·bits/8]. */
  data: Tensor;
  /** float32 [N, K/block]. */
  scales: Tensor;
  /** uint8 [N, ⌈(K/block)·bits/8⌉] (4 bits: two blocks a byte), or float32 [N, K/block] (GGUF's K-quants: w = (q − zero)·scale with a fractional zero; ORT's CPU kernel runs these at 4 bits only); omitted: symmetric. */
  zeros?: Tensor | undefined;
  bits: QuantizedBits;
  block: number;
}

const sameDims = (s: Shape, want: readonly number[]): boolean => s.length === want.length && s.every((d, i) => d === want[i]);

interface Packing {
  n: number;
  k: number;
  bits: number;
  block: number;
}

function checkPacking(where: string, { n, k, bits, block }: Packing): void {
  if (!QUANTIZED_BITS.includes(bits as QuantizedBits)) throw new ShapeError(`${where}: bits must be 4 or 8, got ${bits}`);
  if (block < 16 || (block & (block - 1)) !== 0) throw new ShapeError(`${where}: the block size must be a power of two ≥ 16, got ${block}`);
  if (k % block !== 0) throw new ShapeError(`${where}: the block size ${block} does not divide K = ${k}`);
  if (!(n > 0)) throw new ShapeError(`${where}: N must be positive, got ${n}`);
}

function expectTensor(where: string, t: Tensor | undefined, what: string, dtype: 'uint8' | 'float32', dims: readonly number[]): void {
  if (!t) return;
  if (t.dtype !== dtype) throw new ShapeError(`${where}: ${what} must be ${dtype}, got ${t.dtype}`);
  if (!sameDims(t.shape, dims)) throw new ShapeError(`${where}: ${what} has shape ${formatShape(t.shape)}, expected ${formatShape(dims)}`);
}

interface MatMulNBitsAttrs extends Attrs {
  K: number;
  N: number;
  bits: number;
  block_size: number;
  /** ORT's compute type: 0 its choice, 1 fp32, 2 fp16, 3 bf16, 4 int8 (the activation quantized per block). */
  accuracy_level: number;
}

const MatMulNBits: OpDef<MatMulNBitsAttrs, readonly Tensor[]> = {
  name: 'MatMulNBits',
  domain: MICROSOFT_DOMAIN,
  attrTypes: { K: 'int', N: 'int', bits: 'int', block_size: 'int', accuracy_level: 'int' },
  infer: ([a, data, scales, zeros], { K: k, N: n, bits, block_size: block }, where) => {
    checkPacking(where, { n, k, bits, block });
    if (a!.dtype !== 'float32') throw new ShapeError(`${where}: the activation must be float32, got ${a!.dtype}`);
    const features = dimAt(a!.shape, -1);
    if (typeof features === 'number' && features !== k) throw new ShapeError(`${where}: activation ${formatShape(a!.shape)} has ${features} features, the quantized weight has K = ${k}`);
    const blocks = k / block;
    expectTensor(where, data, 'data', 'uint8', [n, blocks, (block * bits) / 8]);
    expectTensor(where, scales, 'scales', 'float32', [n, blocks]);
    if (zeros?.dtype === 'float32') expectTensor(where, zeros, 'zero points', 'float32', [n, blocks]);
    else expectTensor(where, zeros, 'zero points', 'uint8', [n, Math.ceil((blocks * bits) / 8)]);
    return [{ shape: [...a!.shape.slice(0, -1), n], dtype: 'float32' }];
  },
  vjp: nonDifferentiable,
};

/**
 * x @ Wᵀ for x [..., K] and W the [N, K] block-quantized matrix: [..., N].
 * `accuracyLevel` picks ORT's compute type; on CPU, 8-bit weights have a fast
 * kernel only at 4 (int8), and 4-bit ones run about twice as fast there as at 1.
 */
export function matmulNBits(x: Tensor, w: BlockQuantized, accuracyLevel = 4): Tensor {
  const [n, blocks] = w.data.shape as [number, number];
  const inputs = [x, w.data, w.scales, ...(w.zeros ? [w.zeros] : [])];
  const attrs: MatMulNBitsAttrs = { K: blocks * w.block, N: n, bits: w.bits, block_size: w.block, accuracy_level: accuracyLevel };
  return currentGraph().apply(MatMulNBits, inputs, attrs)[0]!;
}

/** An [N, K] table for `gatherBlockQuantized`: `data` as for matmulNBits, one scale (and zero point) per block as [N, K/block, 1]. */
export interface BlockQuantizedTable {
  data: Tensor;
  /** float32 [N, K/block, 1]. */
  scales: Tensor;
  /** uint8 [N, K/block, 1], one zero point a byte (low nibble for 4 bits); omitted: symmetric. */
  zeros?: Tensor | undefined;
  bits: QuantizedBits;
  block: number;
}

interface GatherBlockQuantizedAttrs extends Attrs {
  gather_axis: number;
  quantize_axis: number;
  block_size: number;
  bits: number;
}

const GatherBlockQuantized: OpDef<GatherBlockQuantizedAttrs, readonly Tensor[]> = {
  name: 'GatherBlockQuantized',
  domain: MICROSOFT_DOMAIN,
  attrTypes: { gather_axis: 'int', quantize_axis: 'int', block_size: 'int', bits: 'int' },
  infer: ([data, indices, scales, zeros], { block_size: block, bits }, where) => {
    if (indices!.dtype !== 'int64' && indices!.dtype !== 'int32') throw new ShapeError(`${where}: indices must be int64 or int32, got ${indices!.dtype}`);
    if (data!.rank !== 3 || !data!.shape.every((d) => typeof d === 'number')) throw new ShapeError(`${where}: data must be a static [N, blocks, bytes] tensor, got ${formatShape(data!.shape)}`);
    const [n, blocks] = data!.shape as [number, number];
    checkPacking(where, { n, k: blocks * block, bits, block });
    expectTensor(where, data, 'data', 'uint8', [n, blocks, (block * bits) / 8]);
    expectTensor(where, scales, 'scales', 'float32', [n, blocks, 1]);
    expectTensor(where, zeros, 'zero points', 'uint8', [n, blocks, 1]);
    return [{ shape: [...indices!.shape, blocks, block], dtype: 'float32' }];
  },
  vjp: nonDifferentiable,
};

/** Rows `indices` of the [N, K] block-quantized table, dequantized: [...indices, K]. */
export function gatherBlockQuantized(w: BlockQuantizedTable, indices: Tensor): Tensor {
  const inputs = [w.data, indices, w.scales, ...(w.zeros ? [w.zeros] : [])];
  const attrs: GatherBlockQuantizedAttrs = { gather_axis: 0, quantize_axis: 2, block_size: w.block, bits: w.bits };
  const rows = currentGraph().apply(GatherBlockQuantized, inputs, attrs)[0]!; // [...indices, blocks, block]
  return reshape(rows, [...indices.shape, (w.data.shape[1] as number) * w.block]);
}
