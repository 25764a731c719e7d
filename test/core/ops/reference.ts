/**
 * Plain-JS reference implementations (float64 loops straight from the
 * definitions) that the op tests compare ONNX Runtime's results against.
 */

/** Row-major strides of `dims`. */
export function stridesOf(dims: readonly number[]): number[] {
  const s = new Array<number>(dims.length).fill(1);
  for (let i = dims.length - 2; i >= 0; i--) s[i] = s[i + 1]! * dims[i + 1]!;
  return s;
}

const size = (dims: readonly number[]): number => dims.reduce((a, b) => a * b, 1);

/** Multi-index of flat position `flat` in `dims`. */
export function unravel(flat: number, dims: readonly number[]): number[] {
  const idx = new Array<number>(dims.length);
  for (let i = dims.length - 1; i >= 0; i--) {
    idx[i] = flat % dims[i]!;
    flat = Math.floor(flat / dims[i]!);
  }
  return idx;
}

export const ravel = (idx: readonly number[], dims: readonly number[]): number =>
  idx.reduce((acc, v, i) => acc * dims[i]! + v, 0);

/** Numpy broadcast of `a` (dims ad) and `b` (dims bd) through `fn`. */
export function broadcast2(
  a: ArrayLike<number>,
  ad: readonly number[],
  b: ArrayLike<number>,
  bd: readonly number[],
  fn: (x: number, y: number) => number,
): { data: number[]; dims: number[] } {
  const rank = Math.max(ad.length, bd.length);
  const pa = [...Array(rank - ad.length).fill(1), ...ad];
  const pb = [...Array(rank - bd.length).fill(1), ...bd];
  const dims = pa.map((d, i) => Math.max(d, pb[i]!));
  const data: number[] = [];
  for (let f = 0; f < size(dims); f++) {
    const idx = unravel(f, dims);
    const ia = ravel(idx.map((v, i) => (pa[i] === 1 ? 0 : v)), pa);
    const ib = ravel(idx.map((v, i) => (pb[i] === 1 ? 0 : v)), pb);
    data.push(fn(a[ia]!, b[ib]!));
  }
  return { data, dims };
}

/** Reduce `x` over `axes` with `fn` starting from `init`. */
export function reduceRef(
  x: ArrayLike<number>,
  dims: readonly number[],
  axes: readonly number[],
  keepdims: boolean,
  fn: (acc: number, v: number) => number,
  init: number,
): { data: number[]; dims: number[] } {
  const kept = dims.map((d, i) => (axes.includes(i) ? 1 : d));
  const out = new Array<number>(size(kept)).fill(init);
  for (let f = 0; f < x.length; f++) {
    const idx = unravel(f, dims).map((v, i) => (axes.includes(i) ? 0 : v));
    const o = ravel(idx, kept);
    out[o] = fn(out[o]!, x[f]!);
  }
  return { data: out, dims: keepdims ? kept : dims.filter((_, i) => !axes.includes(i)) };
}

export interface ConvRefOptions {
  strides?: [number, number];
  pads?: [number, number, number, number];
  dilations?: [number, number];
  groups?: number;
}

/** Cross-correlation, NCHW, w [O, C/groups, kh, kw]. */
export function conv2dRef(
  x: ArrayLike<number>,
  xd: readonly number[],
  w: ArrayLike<number>,
  wd: readonly number[],
  b: ArrayLike<number> | null,
  o: ConvRefOptions = {},
): { data: number[]; dims: number[] } {
  const [n, c, h, wid] = xd as [number, number, number, number];
  const [oc, cg, kh, kw] = wd as [number, number, number, number];
  const [sh, sw] = o.strides ?? [1, 1];
  const [pt, pl, pb, pr] = o.pads ?? [0, 0, 0, 0];
  const [dh, dw] = o.dilations ?? [1, 1];
  const groups = o.groups ?? 1;
  const oh = Math.floor((h + pt + pb - dh * (kh - 1) - 1) / sh) + 1;
  const ow = Math.floor((wid + pl + pr - dw * (kw - 1) - 1) / sw) + 1;
  const out: number[] = [];
  const perGroup = oc / groups;
  for (let ni = 0; ni < n; ni++)
    for (let oi = 0; oi < oc; oi++)
      for (let i = 0; i < oh; i++)
        for (let j = 0; j < ow; j++) {
          let acc = b ? b[oi]! : 0;
          const group = Math.floor(oi / perGroup);
          for (let ci = 0; ci < cg; ci++)
            for (let a = 0; a < kh; a++)
              for (let e = 0; e < kw; e++) {
                const y = i * sh + a * dh - pt;
                const xx = j * sw + e * dw - pl;
                if (y < 0 || y >= h || xx < 0 || xx >= wid) continue;
                const cin = group * cg + ci;
                acc += x[((ni * c + cin) * h + y) * wid + xx]! * w[((oi * cg + ci) * kh + a) * kw + e]!;
              }
          out.push(acc);
        }
  return { data: out, dims: [n, oc, oh, ow] };
}

/** Transposed convolution, NCHW, w [Cin, Cout, kh, kw]: scatter each input pixel through the kernel. */
export function conv2dTransposeRef(
  x: ArrayLike<number>,
  xd: readonly number[],
  w: ArrayLike<number>,
  wd: readonly number[],
  b: ArrayLike<number> | null,
  o: { strides?: [number, number]; pads?: [number, number, number, number]; outputPadding?: [number, number]; dilations?: [number, number] } = {},
): { data: number[]; dims: number[] } {
  const [n, cin, h, wid] = xd as [number, number, number, number];
  const [, cout, kh, kw] = wd as [number, number, number, number];
  const [sh, sw] = o.strides ?? [1, 1];
  const [pt, pl, pb, pr] = o.pads ?? [0, 0, 0, 0];
  const [oph, opw] = o.outputPadding ?? [0, 0];
  const [dh, dw] = o.dilations ?? [1, 1];
  const oh = sh * (h - 1) + oph + dh * (kh - 1) + 1 - pt - pb;
  const ow = sw * (wid - 1) + opw + dw * (kw - 1) + 1 - pl - pr;
  const out = new Array<number>(n * cout * oh * ow).fill(0);
  for (let ni = 0; ni < n; ni++)
    for (let co = 0; co < cout; co++) for (let k = 0; k < oh * ow; k++) out[(ni * cout + co) * oh * ow + k] = b ? b[co]! : 0;
  for (let ni = 0; ni < n; ni++)
    for (let ci = 0; ci < cin; ci++)
      for (let i = 0; i < h; i++)
        for (let j = 0; j < wid; j++) {
          const v = x[((ni * cin + ci) * h + i) * wid + j]!;
          for (let co = 0; co < cout; co++)
            for (let a = 0; a < kh; a++)
              for (let e = 0; e < kw; e++) {
                const y = i * sh + a * dh - pt;
                const xx = j * sw + e * dw - pl;
                if (y < 0 || y >= oh || xx < 0 || xx >= ow) continue;
                out[((ni * cout + co) * oh + y) * ow + xx]! += v * w[((ci * cout + co) * kh + a) * kw + e]!;
              }
        }
  return { data: out, dims: [n, cout, oh, ow] };
}

/** Batched matrix product with numpy broadcasting of the batch axes. */
export function matmulRef(a: ArrayLike<number>, ad: readonly number[], b: ArrayLike<number>, bd: readonly number[]): { data: number[]; dims: number[] } {
  const [m, k] = ad.slice(-2) as [number, number];
  const n = bd[bd.length - 1]!;
  const batchA = ad.slice(0, -2);
  const batchB = bd.slice(0, -2);
  const rank = Math.max(batchA.length, batchB.length);
  const pa = [...Array(rank - batchA.length).fill(1), ...batchA];
  const pb = [...Array(rank - batchB.length).fill(1), ...batchB];
  const batch = pa.map((d, i) => Math.max(d, pb[i]!));
  const data: number[] = [];
  for (let f = 0; f < size(batch); f++) {
    const idx = unravel(f, batch);
    const oa = ravel(idx.map((v, i) => (pa[i] === 1 ? 0 : v)), pa) * m * k;
    const ob = ravel(idx.map((v, i) => (pb[i] === 1 ? 0 : v)), pb) * k * n;
    for (let i = 0; i < m; i++)
      for (let j = 0; j < n; j++) {
        let acc = 0;
        for (let q = 0; q < k; q++) acc += a[oa + i * k + q]! * b[ob + q * n + j]!;
        data.push(acc);
      }
  }
  return { data, dims: [...batch, m, n] };
}

/** Permute axes of a row-major tensor. */
export function transposeRef(x: ArrayLike<number>, dims: readonly number[], perm: readonly number[]): { data: number[]; dims: number[] } {
  const out = perm.map((p) => dims[p]!);
  const data: number[] = [];
  for (let f = 0; f < size(out); f++) {
    const idx = unravel(f, out);
    const src = new Array<number>(dims.length);
    perm.forEach((p, i) => (src[p] = idx[i]!));
    data.push(x[ravel(src, dims)]!);
  }
  return { data, dims: out };
}

/** Deterministic pseudo-random values in [-1, 1) from an integer seed (for fixed test inputs). */
export function fixedValues(n: number, seed: number, scale = 1): Float32Array {
  let s = seed >>> 0;
  return Float32Array.from({ length: n }, () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return ((s / 4294967296) * 2 - 1) * scale;
  });
}
