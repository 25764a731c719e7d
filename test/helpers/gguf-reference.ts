/**
 * Reference dequantization of ggml blocks for the GGUF tests, written from the
 * block descriptions in ggml's ggml-common.h / dequantize_row_* loops
 * (independently of src/io/gguf/blocks.ts), in float32 arithmetic as ggml's
 * C code does it.
 */
const fr = Math.fround;

export function halfToFloat(h: number): number {
  const s = h & 0x8000 ? -1 : 1;
  const e = (h >> 10) & 0x1f;
  const f = h & 0x3ff;
  if (e === 0) return s * f * 2 ** -24;
  if (e === 31) return f ? NaN : s * Infinity;
  return s * (1 + f / 1024) * 2 ** (e - 15);
}

const half = (b: Uint8Array, at: number) => halfToFloat(b[at]! | (b[at + 1]! << 8));

export function refQ8_0(b: Uint8Array, n: number): Float32Array {
  const y = new Float32Array(n);
  for (let i = 0; i < n / 32; i++) {
    const d = half(b, i * 34);
    for (let j = 0; j < 32; j++) y[i * 32 + j] = fr(((b[i * 34 + 2 + j]! << 24) >> 24) * d);
  }
  return y;
}

export function refQ4_0(b: Uint8Array, n: number): Float32Array {
  const y = new Float32Array(n);
  for (let i = 0; i < n / 32; i++) {
    const d = half(b, i * 18);
    for (let j = 0; j < 16; j++) {
      const q = b[i * 18 + 2 + j]!;
      y[i * 32 + j] = fr(((q & 0x0f) - 8) * d);
      y[i * 32 + j + 16] = fr(((q >> 4) - 8) * d);
    }
  }
  return y;
}

function scaleMin(j: number, q: Uint8Array, at: number): [number, number] {
  if (j < 4) return [q[at + j]! & 63, q[at + j + 4]! & 63];
  return [(q[at + j + 4]! & 0xf) | ((q[at + j - 4]! >> 6) << 4), (q[at + j + 4]! >> 4) | ((q[at + j]! >> 6) << 4)];
}

export function refQ4_K(b: Uint8Array, n: number): Float32Array {
  const y = new Float32Array(n);
  let out = 0;
  for (let i = 0; i < n / 256; i++) {
    const at = i * 144;
    const d = half(b, at);
    const min = half(b, at + 2);
    let q = at + 16;
    let is = 0;
    for (let j = 0; j < 256; j += 64) {
      const [sc1, m1] = scaleMin(is, b, at + 4);
      const [sc2, m2] = scaleMin(is + 1, b, at + 4);
      const d1 = fr(d * sc1), mm1 = fr(min * m1), d2 = fr(d * sc2), mm2 = fr(min * m2);
      for (let l = 0; l < 32; l++) y[out++] = fr(fr(d1 * (b[q + l]! & 0xf)) - mm1);
      for (let l = 0; l < 32; l++) y[out++] = fr(fr(d2 * (b[q + l]! >> 4)) - mm2);
      q += 32;
      is += 2;
    }
  }
  return y;
}

export function refQ6_K(b: Uint8Array, n: number): Float32Array {
  const y = new Float32Array(n);
  for (let i = 0; i < n / 256; i++) {
    const at = i * 210;
    const d = half(b, at + 208);
    let ql = at;
    let qh = at + 128;
    let sc = at + 192;
    let out = i * 256;
    for (let half128 = 0; half128 < 2; half128++) {
      for (let l = 0; l < 32; l++) {
        const is = l >> 4;
        const q1 = ((b[ql + l]! & 0xf) | (((b[qh + l]! >> 0) & 3) << 4)) - 32;
        const q2 = ((b[ql + l + 32]! & 0xf) | (((b[qh + l]! >> 2) & 3) << 4)) - 32;
        const q3 = ((b[ql + l]! >> 4) | (((b[qh + l]! >> 4) & 3) << 4)) - 32;
        const q4 = ((b[ql + l + 32]! >> 4) | (((b[qh + l]! >> 6) & 3) << 4)) - 32;
        const s = (k: number) => (b[sc + k]! << 24) >> 24;
        y[out + l] = fr(fr(d * s(is)) * q1);
        y[out + l + 32] = fr(fr(d * s(is + 2)) * q2);
        y[out + l + 64] = fr(fr(d * s(is + 4)) * q3);
        y[out + l + 96] = fr(fr(d * s(is + 6)) * q4);
      }
      out += 128;
      ql += 64;
      qh += 32;
      sc += 8;
    }
  }
  return y;
}

/** Random bytes for `blocks` blocks of `typeSize` bytes whose f16 fields at `halfAt` hold small finite scales. */
export function randomBlocks(blocks: number, typeSize: number, halfAt: readonly number[], next: () => number): Uint8Array {
  const b = new Uint8Array(blocks * typeSize);
  for (let i = 0; i < b.length; i++) b[i] = Math.floor(next() * 256);
  for (let i = 0; i < blocks; i++) {
    for (const h of halfAt) {
      // exponent 5..12 (values 2^-10 .. 2^-3), random sign and mantissa
      const bits = ((next() < 0.5 ? 1 : 0) << 15) | ((5 + Math.floor(next() * 8)) << 10) | Math.floor(next() * 1024);
      b[i * typeSize + h] = bits & 0xff;
      b[i * typeSize + h + 1] = bits >> 8;
    }
  }
  return b;
}

export function refQ4_1(b: Uint8Array, n: number): Float32Array {
  const y = new Float32Array(n);
  for (let i = 0; i < n / 32; i++) {
    const d = half(b, i * 20);
    const m = half(b, i * 20 + 2);
    for (let j = 0; j < 16; j++) {
      const q = b[i * 20 + 4 + j]!;
      y[i * 32 + j] = fr(fr((q & 0x0f) * d) + m);
      y[i * 32 + j + 16] = fr(fr((q >> 4) * d) + m);
    }
  }
  return y;
}

/** Q5_0 (withMin false) and Q5_1 (true): bit j of the u32 qh is bit 4 of value j. */
function refQ5(b: Uint8Array, n: number, withMin: boolean): Float32Array {
  const size = withMin ? 24 : 22;
  const y = new Float32Array(n);
  for (let i = 0; i < n / 32; i++) {
    const at = i * size;
    const d = half(b, at);
    const m = withMin ? half(b, at + 2) : 0;
    const h = at + (withMin ? 4 : 2);
    const qh = (b[h]! | (b[h + 1]! << 8) | (b[h + 2]! << 16) | (b[h + 3]! << 24)) >>> 0;
    for (let j = 0; j < 16; j++) {
      const q = b[h + 4 + j]!;
      const xh0 = ((qh >>> j) << 4) & 0x10;
      const xh1 = (qh >>> (j + 12)) & 0x10;
      const x0 = (q & 0x0f) | xh0;
      const x1 = (q >> 4) | xh1;
      y[i * 32 + j] = withMin ? fr(fr(x0 * d) + m) : fr((x0 - 16) * d);
      y[i * 32 + j + 16] = withMin ? fr(fr(x1 * d) + m) : fr((x1 - 16) * d);
    }
  }
  return y;
}
export const refQ5_0 = (b: Uint8Array, n: number) => refQ5(b, n, false);
export const refQ5_1 = (b: Uint8Array, n: number) => refQ5(b, n, true);

export function refQ5_K(b: Uint8Array, n: number): Float32Array {
  const y = new Float32Array(n);
  let out = 0;
  for (let i = 0; i < n / 256; i++) {
    const at = i * 176;
    const d = half(b, at);
    const min = half(b, at + 2);
    let ql = at + 48;
    const qh = at + 16;
    let is = 0;
    let u1 = 1;
    let u2 = 2;
    for (let j = 0; j < 256; j += 64) {
      const [sc1, m1] = scaleMin(is, b, at + 4);
      const [sc2, m2] = scaleMin(is + 1, b, at + 4);
      const d1 = fr(d * sc1), mm1 = fr(min * m1), d2 = fr(d * sc2), mm2 = fr(min * m2);
      for (let l = 0; l < 32; l++) y[out++] = fr(fr(d1 * ((b[ql + l]! & 0xf) + (b[qh + l]! & u1 ? 16 : 0))) - mm1);
      for (let l = 0; l < 32; l++) y[out++] = fr(fr(d2 * ((b[ql + l]! >> 4) + (b[qh + l]! & u2 ? 16 : 0))) - mm2);
      ql += 32;
      is += 2;
      u1 <<= 2;
      u2 <<= 2;
    }
  }
  return y;
}
