/**
 * The float formats safetensors stores that JavaScript has no typed array for: IEEE half (F16,
 * through @petamoriken/float16), bfloat16 and the two F8 formats, to and from Float32Array.
 */
import { Float16Array } from '@petamoriken/float16';

let f16Table: Uint32Array | undefined;

// F32 bits of all 65536 F16 patterns, from @petamoriken/float16 once: a lookup per element is about
// 50x faster than calling its getFloat16 per element.
function getF16Table(): Uint32Array {
  if (!f16Table) {
    const all = new Uint16Array(65536);
    for (let h = 0; h < 65536; h++) all[h] = h;
    f16Table = new Uint32Array(new Float32Array(new Float16Array(all.buffer)).buffer);
  }
  return f16Table;
}

/** IEEE half bits -> Float32Array (exact, including subnormals and ±inf; NaN stays NaN). */
export function f16ToF32(src: Uint16Array): Float32Array {
  const table = getF16Table();
  const dst = new Float32Array(src.length);
  const out = new Uint32Array(dst.buffer);
  for (let i = 0; i < src.length; i++) out[i] = table[src[i]!]!;
  return dst;
}

/** Float32 -> IEEE half bits, round to nearest even; overflow gives ±inf, NaN stays NaN. */
export function f32ToF16(src: Float32Array): Uint16Array {
  const half = new Float16Array(src);
  return new Uint16Array(half.buffer, half.byteOffset, half.length);
}

// @petamoriken/float16 covers IEEE binary16 only. bfloat16 is the top half of an F32, so it is a
// 16-bit shift each way (plus rounding on the way down) and needs no table.

/** bfloat16 bits -> Float32Array. */
export function bf16ToF32(src: Uint16Array): Float32Array {
  const dst = new Float32Array(src.length);
  const out = new Uint32Array(dst.buffer);
  for (let i = 0; i < src.length; i++) out[i] = src[i]! << 16;
  return dst;
}

/** Float32 -> bfloat16 bits, round to nearest even; NaN stays NaN. */
export function f32ToBf16(src: Float32Array): Uint16Array {
  const bits = new Uint32Array(src.buffer, src.byteOffset, src.length);
  const dst = new Uint16Array(src.length);
  for (let i = 0; i < src.length; i++) {
    const x = bits[i]!;
    if ((x & 0x7f800000) === 0x7f800000 && (x & 0x7fffff) !== 0) {
      dst[i] = (x >>> 16) | 0x40; // quiet NaN (truncation could turn it into inf)
    } else {
      dst[i] = (x + 0x7fff + ((x >>> 16) & 1)) >>> 16;
    }
  }
  return dst;
}

let e4m3Table: Float32Array | undefined;

// F8 E4M3 "fn" (torch.float8_e4m3fn): bias 7, no infinities, S.1111.111 is NaN. Not IEEE, so not in
// @petamoriken/float16; 256 entries computed from the definition.
function getE4m3Table(): Float32Array {
  if (e4m3Table) return e4m3Table;
  const t = new Float32Array(256);
  for (let b = 0; b < 256; b++) {
    const sign = b & 0x80 ? -1 : 1;
    const exp = (b >> 3) & 0xf;
    const mant = b & 7;
    if (exp === 0xf && mant === 7) t[b] = NaN;
    else if (exp === 0) t[b] = sign * (mant / 8) * 2 ** -6;
    else t[b] = sign * (1 + mant / 8) * 2 ** (exp - 7);
  }
  e4m3Table = t;
  return t;
}

/** F8 bits -> Float32Array. E5M2 is exactly the top byte of an F16. */
export function f8ToF32(src: Uint8Array, dtype: 'F8_E4M3' | 'F8_E5M2'): Float32Array {
  const out = new Float32Array(src.length);
  if (dtype === 'F8_E4M3') {
    const t = getE4m3Table();
    for (let i = 0; i < src.length; i++) out[i] = t[src[i]!]!;
  } else {
    const t = getF16Table();
    const o = new Uint32Array(out.buffer);
    for (let i = 0; i < src.length; i++) o[i] = t[src[i]! << 8]!;
  }
  return out;
}
