/**
 * libjpeg's colour path over jpeg-js's component samples, so that decoded JPEGs match what PIL
 * (libjpeg-turbo) returns: chroma upsampled with libjpeg's "fancy" triangle filter (h2v1, h1v2, h2v2;
 * other factors replicate, as libjpeg does) and YCbCr → RGB in its 16-bit fixed point.
 * jpeg-js itself replicates chroma and converts in floating point, truncating, which is up to 8
 * levels off on 4:2:0 files.
 */

/** Horizontal and vertical sampling factor of each component, from the frame header. */
export interface Sampling {
  h: number;
  v: number;
}

const SCALEBITS = 16;
const ONE_HALF = 1 << (SCALEBITS - 1);
const fix = (x: number): number => Math.floor(x * (1 << SCALEBITS) + 0.5);
// jdcolor.c's build_ycc_rgb_table; floor division is C's RIGHT_SHIFT of a signed value.
const CR_R = new Int32Array(256);
const CB_B = new Int32Array(256);
const CR_G = new Float64Array(256);
const CB_G = new Float64Array(256);
for (let i = 0; i < 256; i++) {
  const x = i - 128;
  CR_R[i] = Math.floor((fix(1.402) * x + ONE_HALF) / (1 << SCALEBITS));
  CB_B[i] = Math.floor((fix(1.772) * x + ONE_HALF) / (1 << SCALEBITS));
  CR_G[i] = -fix(0.71414) * x;
  CB_G[i] = -fix(0.34414) * x + ONE_HALF;
}
const clamp = (v: number): number => (v < 0 ? 0 : v > 255 ? 255 : v);

/**
 * RGB from the raw, replicated YCbCr samples jpeg-js returns with its colour transform off
 * (width × height × 3), given each component's sampling factors.
 */
export function yccToRgb(raw: Uint8Array, width: number, height: number, sampling: readonly Sampling[]): Uint8Array {
  const maxH = Math.max(...sampling.map((s) => s.h));
  const maxV = Math.max(...sampling.map((s) => s.v));
  const planes = sampling.map((s, c) => upsample(raw, width, height, c, maxH / s.h, maxV / s.v));
  const [y, cb, cr] = planes as [Uint8Array, Uint8Array, Uint8Array];
  const out = new Uint8Array(width * height * 3);
  for (let p = 0, o = 0; p < width * height; p++, o += 3) {
    const l = y[p]!;
    const b = cb[p]!;
    const r = cr[p]!;
    out[o] = clamp(l + CR_R[r]!);
    out[o + 1] = clamp(l + Math.floor((CB_G[b]! + CR_G[r]!) / (1 << SCALEBITS)));
    out[o + 2] = clamp(l + CB_B[b]!);
  }
  return out;
}

/** Component `c` at full size: its stored samples recovered from the replicated ones, then upsampled. */
function upsample(raw: Uint8Array, width: number, height: number, c: number, fx: number, fy: number): Uint8Array {
  const full = new Uint8Array(width * height);
  const fancy = (fx === 2 || fx === 1) && (fy === 2 || fy === 1) && fx * fy > 1;
  if (!fancy) {
    // Full resolution, or a factor libjpeg replicates (as jpeg-js already did).
    for (let p = 0; p < width * height; p++) full[p] = raw[p * 3 + c]!;
    return full;
  }
  const dw = Math.ceil(width / fx);
  const dh = Math.ceil(height / fy);
  const at = (row: number, col: number): number => {
    const r = row < 0 ? 0 : row >= dh ? dh - 1 : row; // libjpeg repeats the edge rows as context
    return raw[(r * fy * width + col * fx) * 3 + c]!;
  };
  // Output column pairs from column sums s(col) (already weighted vertically), as jdsample.c writes them.
  // At the edges the missing neighbour is the column itself, which gives jdsample.c's special cases.
  const horizontal = (sum: (col: number) => number, outRow: number, shift: number, biasL: number, biasR: number): void => {
    const put = (x: number, v: number) => {
      if (x < width) full[outRow * width + x] = v;
    };
    for (let col = 0; col < dw; col++) {
      const here = sum(col) * 3;
      const left = col === 0 ? sum(0) : sum(col - 1);
      const right = col === dw - 1 ? sum(col) : sum(col + 1);
      put(2 * col, (here + left + biasL) >> shift);
      put(2 * col + 1, (here + right + biasR) >> shift);
    }
  };
  for (let row = 0; row < dh; row++) {
    for (let v = 0; v < fy; v++) {
      const outRow = row * fy + v;
      if (outRow >= height) break;
      if (fy === 1) horizontal((col) => at(row, col), outRow, 2, 1, 2);
      else {
        const other = v === 0 ? row - 1 : row + 1;
        const sum = (col: number): number => at(row, col) * 3 + at(other, col);
        if (fx === 1) for (let col = 0; col < dw; col++) full[outRow * width + col] = (sum(col) + (v === 0 ? 1 : 2)) >> 2;
        else horizontal(sum, outRow, 4, 8, 7);
      }
    }
  }
  return full;
}
