/** Direct JS convolutions (NCHW) to check the conv layers against. */

export interface Image {
  data: number[];
  c: number;
  h: number;
  w: number;
}

/** Cross-correlation; kernel [out, in, kh, kw]; pads [top, left, bottom, right]. */
export function conv2dReference(x: Image, kernel: number[], out: number, kh: number, kw: number, stride: number, pads: number[], bias: number[]): Image {
  const [top, left, bottom, right] = pads as [number, number, number, number];
  const oh = Math.floor((x.h + top + bottom - kh) / stride) + 1;
  const ow = Math.floor((x.w + left + right - kw) / stride) + 1;
  const data = new Array<number>(out * oh * ow).fill(0);
  for (let o = 0; o < out; o++)
    for (let i = 0; i < oh; i++)
      for (let j = 0; j < ow; j++) {
        let s = bias[o]!;
        for (let c = 0; c < x.c; c++)
          for (let u = 0; u < kh; u++)
            for (let v = 0; v < kw; v++) {
              const y = i * stride + u - top;
              const z = j * stride + v - left;
              if (y >= 0 && y < x.h && z >= 0 && z < x.w) s += x.data[(c * x.h + y) * x.w + z]! * kernel[((o * x.c + c) * kh + u) * kw + v]!;
            }
        data[(o * oh + i) * ow + j] = s;
      }
  return { data, c: out, h: oh, w: ow };
}

/** Transposed convolution; kernel [in, out, kh, kw]; the full output cropped to rows/cols [begin, begin + size). */
export function conv2dTransposeReference(x: Image, kernel: number[], out: number, k: number, stride: number, begin: number, size: number, bias: number[]): Image {
  const full = (x.h - 1) * stride + k;
  const acc = new Array<number>(out * full * full).fill(0);
  for (let c = 0; c < x.c; c++)
    for (let i = 0; i < x.h; i++)
      for (let j = 0; j < x.w; j++)
        for (let o = 0; o < out; o++)
          for (let u = 0; u < k; u++)
            for (let v = 0; v < k; v++) acc[(o * full + i * stride + u) * full + j * stride + v]! += x.data[(c * x.h + i) * x.w + j]! * kernel[((c * out + o) * k + u) * k + v]!;
  const data: number[] = [];
  for (let o = 0; o < out; o++)
    for (let i = begin; i < begin + size; i++)
      for (let j = begin; j < begin + size; j++) data.push((i < full && j < full ? acc[(o * full + i) * full + j]! : 0) + bias[o]!);
  return { data, c: out, h: size, w: size };
}
