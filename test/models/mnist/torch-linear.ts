/** PyTorch goldens for the MNIST models: Linear weights are [out, in], Keras Dense kernels [in, out]. */
import type { TorchFixture } from '../../helpers/torch-fixtures.js';

/** The fixture's Linear `name` (weight and bias) as a Dense layer's [kernel, bias]. */
export function denseFromLinear(fixture: TorchFixture, name: string): Float32Array[] {
  const w = fixture.get(`${name}.weight`);
  const [out, inp] = w.shape as [number, number];
  const kernel = new Float32Array(w.data.length);
  for (let o = 0; o < out; o++) for (let i = 0; i < inp; i++) kernel[i * out + o] = w.data[o * inp + i]!;
  return [kernel, Float32Array.from(fixture.get(`${name}.bias`).data)];
}
