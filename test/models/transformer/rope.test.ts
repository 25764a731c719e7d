import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { Rng } from '../../../src/core/rng.js';
import { ConfigError, ConfigReader } from '../../../src/models/transformer/config.js';
import { applyRope, defaultInverseFrequencies, ropeFrequencies, ropeTables } from '../../../src/models/transformer/rope.js';
import { assertClose } from '../../helpers/gradcheck.js';
import { runGraph } from '../../helpers/run-graph.js';

const config = (json: Record<string, unknown>) => new ConfigReader(json, 'TestLM config.json');
/** θ^(−2i/d) in float64. */
const exactFrequencies = (d: number, theta: number) => Array.from({ length: d / 2 }, (_, i) => theta ** (-(2 * i) / d));

describe('inverse frequencies', () => {
  test('defaultInverseFrequencies is θ^(−2i/d) to float32 precision', () => {
    assert.deepEqual([...defaultInverseFrequencies(4, 10000)], [1, Math.fround(0.01)]);
    const f = defaultInverseFrequencies(64, 500000);
    assert.equal(f.length, 32);
    // torch rounds 2i/d, the power and the quotient to float32: three roundings, < 4 ulp in all.
    assertClose(f, exactFrequencies(64, 500000), { rtol: 4 * 2 ** -24 }, 'inverse frequencies');
  });

  test('θ from rope_parameters (transformers 5), else the top-level rope_theta, else 10000', () => {
    assert.deepEqual(ropeFrequencies(config({}), 8), defaultInverseFrequencies(8, 10000));
    assert.deepEqual(ropeFrequencies(config({ rope_theta: 500000 }), 8), defaultInverseFrequencies(8, 500000));
    const v5 = config({ rope_theta: 3, rope_parameters: { rope_theta: 1e6, rope_type: 'default' } });
    assert.deepEqual(ropeFrequencies(v5, 8), defaultInverseFrequencies(8, 1e6));
    // Older rope_scaling blocks carry no θ: the top-level one applies.
    const old = config({ rope_theta: 500000, rope_scaling: { type: 'linear', factor: 4 } });
    assertClose(ropeFrequencies(old, 8), Array.from(defaultInverseFrequencies(8, 500000), (f) => f / 4), { rtol: 1e-7 }, 'linear, legacy "type"');
  });

  test('linear scaling divides every frequency by the factor', () => {
    const c = config({ rope_parameters: { rope_theta: 10000, rope_type: 'linear', factor: 2 } });
    assertClose(ropeFrequencies(c, 8), exactFrequencies(8, 10000).map((f) => f / 2), { rtol: 4 * 2 ** -24 }, 'linear');
  });

  test('llama3 scaling: high frequencies kept, low ones divided, the band between interpolated', () => {
    // Llama 3.1's settings. With d = 16, θ = 5e5 the wavelengths 2π/f are 6.3, 32, 167, 861 (< 8192/4: kept),
    // 4441 (between 8192/4 and 8192: smoothed) and 22903, 1.2e5, 6.1e5 (> 8192: divided by 8).
    const params = { rope_theta: 500000, rope_type: 'llama3', factor: 8, low_freq_factor: 1, high_freq_factor: 4, original_max_position_embeddings: 8192 };
    const scaled = ropeFrequencies(config({ rope_parameters: params }), 16);
    const base = defaultInverseFrequencies(16, 500000);
    assert.deepEqual([...scaled.subarray(0, 4)], [...base.subarray(0, 4)]);
    assertClose(scaled.subarray(5), Array.from(base.subarray(5), (f) => f / 8), { rtol: 1e-7 }, 'low frequencies');
    // HF's formula for the band: smooth = (context / wavelength − low) / (high − low).
    const smooth = (8192 / ((2 * Math.PI) / base[4]!) - 1) / 3;
    assert.ok(smooth > 0.2 && smooth < 0.4, `smooth ${smooth}`);
    assertClose([scaled[4]!], [(1 - smooth) * (base[4]! / 8) + smooth * base[4]!], { rtol: 1e-6 }, 'the smoothed frequency');
  });

  test('unsupported types and missing parameters are ConfigErrors naming the key', () => {
    const yarn = config({ rope_parameters: { rope_theta: 1e4, rope_type: 'yarn' } });
    assert.throws(() => ropeFrequencies(yarn, 12), (e: unknown) => e instanceof ConfigError && /TestLM config\.json: rope_type "yarn" is not supported \(supported: default, linear, llama3\)/.test(e.message));
    const noFactor = config({ rope_parameters: { rope_type: 'linear' } });
    assert.throws(() => ropeFrequencies(noFactor, 8), /TestLM config\.json "rope_parameters": "factor" must be a number, received nothing/);
    const llama3 = config({ rope_scaling: { rope_type: 'llama3', factor: 8, low_freq_factor: 1, high_freq_factor: 4 } });
    assert.throws(() => ropeFrequencies(llama3, 8), /"rope_scaling": "original_max_position_embeddings" must be a number/);
  });
});

/** HF's rotation: pairs (i, i + d/2) turn by position · f_i. Angles are float32 products, as in the graph. */
function rotate(x: ArrayLike<number>, position: number, freqs: ArrayLike<number>): number[] {
  const half = freqs.length;
  const out = new Array<number>(2 * half);
  for (let i = 0; i < half; i++) {
    const a = Math.fround(position * freqs[i]!);
    out[i] = x[i]! * Math.cos(a) - x[i + half]! * Math.sin(a);
    out[i + half] = x[i + half]! * Math.cos(a) + x[i]! * Math.sin(a);
  }
  return out;
}

describe('ropeTables and applyRope', () => {
  const ropeGraph = (freqs: Float32Array, B: number, T: number, H: number, x: ArrayLike<number>, positions: number[]) =>
    runGraph(
      {
        x: { shape: [B, 'T', H, 2 * freqs.length], dims: [B, T, H, 2 * freqs.length], data: x },
        pos: { shape: [B, 'T'], dtype: 'int64', dims: [B, T], data: positions },
      },
      ({ x, pos }) => {
        const tables = ropeTables(pos!, freqs);
        return { y: applyRope(x!, tables), cos: tables.cos };
      },
    );

  test('hand-computed: at position 1 the first pair turns by 1 radian, the second by 0.01', async () => {
    const freqs = defaultInverseFrequencies(4, 10000); // [1, 0.01]
    const x = [1, 0, 0, 0, 0, 0, 1, 0, 0, 1, 0, 0]; // three heads: e0, e2, e1
    const { y, cos } = await ropeGraph(freqs, 1, 1, 3, x, [1]);
    assert.deepEqual(cos!.dims, [1, 1, 1, 4], 'tables broadcast over heads');
    const [c1, s1, c01, s01] = [Math.cos(1), Math.sin(1), Math.cos(0.01), Math.sin(0.01)];
    assertClose(y!.data, [c1, 0, s1, 0, -s1, 0, c1, 0, 0, c01, 0, s01], { atol: 1e-6 }, 'rotated unit vectors');
  });

  test('every row, step and head rotates by its own position (left padding, decode offsets)', async () => {
    const freqs = defaultInverseFrequencies(8, 10000);
    const [B, T, H, D] = [2, 3, 2, 8];
    const rng = new Rng(5);
    const x = Array.from({ length: B * T * H * D }, () => rng.normal());
    const positions = [1, 0, 1, 17, 18, 19]; // row 0 left-padded (padding at 1, as HF), row 1 after a 17-token cache
    const { y } = await ropeGraph(freqs, B, T, H, x, positions);
    const expected: number[] = [];
    for (let bt = 0; bt < B * T; bt++) {
      for (let h = 0; h < H; h++) expected.push(...rotate(x.slice((bt * H + h) * D, (bt * H + h + 1) * D), positions[bt]!, freqs));
    }
    // float32 cos/sin of angles below 20 rad, times |x| ≲ 3: a few 1e-7.
    assertClose(y!.data, expected, { atol: 2e-6 }, 'rotation');
  });

  test("the score of q at p and k at p + r depends on r only (RoPE's point)", async () => {
    const freqs = defaultInverseFrequencies(8, 10000);
    const rng = new Rng(9);
    const q = Array.from({ length: 8 }, () => rng.normal());
    const k = Array.from({ length: 8 }, () => rng.normal());
    // Row 0: q, k at positions 0, 3; row 1: at 40, 43.
    const { y } = await ropeGraph(freqs, 2, 2, 1, [...q, ...k, ...q, ...k], [0, 3, 40, 43]);
    const dot = (o: number) => y!.data.slice(o, o + 8).reduce((s, v, i) => s + v * y!.data[o + 8 + i]!, 0);
    const plain = q.reduce((s, v, i) => s + v * k[i]!, 0);
    assert.ok(Math.abs(dot(0) - plain) > 0.05, 'the rotation changes the score');
    assert.ok(Math.abs(dot(0) - dot(16)) < 1e-4, `scores ${dot(0)} vs ${dot(16)}`);
  });
});
