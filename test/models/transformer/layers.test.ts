import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { Rng } from '../../../src/core/rng.js';
import { ACTIVATIONS, gatedMlp, linear, mlp, rmsNorm } from '../../../src/models/transformer/layers.js';
import { assertClose } from '../../helpers/gradcheck.js';
import { runGraph } from '../../helpers/run-graph.js';

const rng = new Rng(17);
const randoms = (n: number, scale = 1) => Array.from({ length: n }, () => Math.fround(scale * rng.normal()));

/** [rows, inner] @ [inner, cols], in float64. */
function matmul(a: number[], b: number[], rows: number, inner: number, cols: number): number[] {
  const out = new Array<number>(rows * cols).fill(0);
  for (let r = 0; r < rows; r++) for (let k = 0; k < inner; k++) for (let c = 0; c < cols; c++) out[r * cols + c]! += a[r * inner + k]! * b[k * cols + c]!;
  return out;
}
const addRow = (m: number[], row: number[]) => m.map((v, i) => v + row[i % row.length]!);

/** erf by Abramowitz & Stegun 7.1.26 (|error| < 1.5e-7). */
function erf(x: number): number {
  const t = 1 / (1 + 0.3275911 * Math.abs(x));
  const y = 1 - ((((1.061405429 * t - 1.453152027) * t + 1.421413741) * t - 0.284496736) * t + 0.254829592) * t * Math.exp(-x * x);
  return x >= 0 ? y : -y;
}
const geluErf = (x: number) => 0.5 * x * (1 + erf(x / Math.SQRT2));
const geluTanh = (x: number) => 0.5 * x * (1 + Math.tanh(Math.sqrt(2 / Math.PI) * (x + 0.044715 * x ** 3)));
const silu = (x: number) => x / (1 + Math.exp(-x));

describe('linear', () => {
  test('x @ W (+ b) with W stored [in, out]', async () => {
    const [x, w, b] = [randoms(2 * 3 * 4), randoms(4 * 5), randoms(5)];
    const out = await runGraph(
      { x: { shape: [2, 3, 4], dims: [2, 3, 4], data: x }, w: { shape: [4, 5], dims: [4, 5], data: w }, b: { shape: [5], dims: [5], data: b } },
      ({ x, w, b }) => ({ plain: linear(x!, { weight: w! }), biased: linear(x!, { weight: w!, bias: b! }) }),
    );
    assert.deepEqual(out.plain!.dims, [2, 3, 5]);
    const xw = matmul(x, w, 6, 4, 5);
    assertClose(out.plain!.data, xw, { atol: 1e-5 }, 'x @ W');
    assertClose(out.biased!.data, addRow(xw, b), { atol: 1e-5 }, 'x @ W + b');
  });
});

describe('rmsNorm', () => {
  test('x / √(mean(x²) + ε) · w over the last axis, ε inside the root', async () => {
    const [x, w] = [randoms(3 * 4), randoms(4)];
    // A large ε makes "inside the root" and "added to the root" differ by ~10%.
    const eps = 0.5;
    const { y } = await runGraph({ x: { shape: [3, 4], dims: [3, 4], data: x }, w: { shape: [4], dims: [4], data: w } }, ({ x, w }) => ({ y: rmsNorm(x!, w!, eps) }));
    const expected = x.map((v, i) => {
      const row = x.slice(i - (i % 4), i - (i % 4) + 4);
      return (v / Math.sqrt(row.reduce((s, r) => s + r * r, 0) / 4 + eps)) * w[i % 4]!;
    });
    assertClose(y!.data, expected, { atol: 1e-6, rtol: 1e-5 }, 'rmsNorm');
  });
});

describe('ACTIVATIONS', () => {
  const xs = Array.from({ length: 33 }, (_, i) => Math.fround(-4 + i * 0.25));
  const references: Record<string, (x: number) => number> = {
    gelu: geluErf,
    gelu_new: geluTanh,
    gelu_pytorch_tanh: geluTanh,
    gelu_fast: geluTanh,
    relu: (x) => Math.max(0, x),
    silu,
    swish: silu,
  };

  test('covers the HF names Forja accepts, and nothing else', () => {
    assert.deepEqual(Object.keys(ACTIVATIONS).sort(), Object.keys(references).sort());
  });

  test("each matches its formula; exact and tanh GELU are told apart", async () => {
    // The two GELUs differ by up to ~5e-4 on [−4, 4], far above the 1e-5 tolerance.
    const gap = Math.max(...xs.map((x) => Math.abs(geluErf(x) - geluTanh(x))));
    assert.ok(gap > 1e-4, `erf vs tanh GELU gap ${gap}`);
    const out = await runGraph({ x: { shape: [xs.length], dims: [xs.length], data: xs } }, ({ x }) =>
      Object.fromEntries(Object.entries(ACTIVATIONS).map(([name, act]) => [name, act(x!)])),
    );
    for (const [name, ref] of Object.entries(references)) assertClose(out[name]!.data, xs.map(ref), { atol: 1e-5 }, name);
  });
});

describe('mlp and gatedMlp', () => {
  const [T, C, H] = [3, 4, 6];
  const x = randoms(T * C);
  const [fc, fcB, proj, projB] = [randoms(C * H, 0.5), randoms(H), randoms(H * C, 0.5), randoms(C)];
  const [gate, up, down] = [randoms(C * H, 0.5), randoms(C * H, 0.5), randoms(H * C, 0.5)];
  const inputs = {
    x: { shape: [T, C], dims: [T, C], data: x },
    fc: { shape: [C, H], dims: [C, H], data: fc },
    fcB: { shape: [H], dims: [H], data: fcB },
    proj: { shape: [H, C], dims: [H, C], data: proj },
    projB: { shape: [C], dims: [C], data: projB },
    gate: { shape: [C, H], dims: [C, H], data: gate },
    up: { shape: [C, H], dims: [C, H], data: up },
    down: { shape: [H, C], dims: [H, C], data: down },
  };

  test("GPT-2's proj(act(fc(x))) and Llama's down(act(gate(x)) · up(x))", async () => {
    const out = await runGraph(inputs, (i) => ({
      mlp: mlp(i.x!, { weight: i.fc!, bias: i.fcB! }, { weight: i.proj!, bias: i.projB! }, ACTIVATIONS.gelu_new!),
      gated: gatedMlp(i.x!, { weight: i.gate! }, { weight: i.up! }, { weight: i.down! }, ACTIVATIONS.silu!),
    }));
    const hidden = addRow(matmul(x, fc, T, C, H), fcB).map(geluTanh);
    assertClose(out.mlp!.data, addRow(matmul(hidden, proj, T, H, C), projB), { atol: 1e-5 }, 'mlp');
    const g = matmul(x, gate, T, C, H).map(silu);
    const u = matmul(x, up, T, C, H);
    assertClose(out.gated!.data, matmul(g.map((v, k) => v * u[k]!), down, T, H, C), { atol: 1e-5 }, 'gatedMlp');
  });
});
