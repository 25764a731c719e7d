import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Rng } from '../../../src/core/rng.js';
import { elementCount } from '../../../src/core/shape.js';
import { parseVitConfig, type VitConfig, type VitOverrides } from '../../../src/models/vit/config.js';
import { PixelShapeError, VitEncoder, vitNaming, vitTensors, type VitNaming } from '../../../src/models/vit/model.js';
import { bindWeights, type CheckpointTensor } from '../../../src/models/transformer/weights.js';
import { assertClose } from '../../helpers/causal-lm.js';
import { runGraph } from '../../helpers/run-graph.js';

const VIT_JSON = {
  hidden_size: 8, num_hidden_layers: 2, num_attention_heads: 2, intermediate_size: 12,
  image_size: 8, patch_size: 4, num_channels: 3, hidden_act: 'gelu', layer_norm_eps: 1e-12,
};

/** CLIP's vision tower names, to show another naming and layout run on the same encoder. */
const clipNaming: VitNaming = {
  patch: 'embeddings.patch_embedding',
  classToken: 'embeddings.class_embedding',
  positions: 'embeddings.position_embedding.weight',
  embeddingLayout: 'flat',
  preNorm: 'pre_layrnorm',
  layer: (i) => {
    const l = `encoder.layers.${i}.`;
    return { norm1: `${l}layer_norm1`, query: `${l}self_attn.q_proj`, key: `${l}self_attn.k_proj`, value: `${l}self_attn.v_proj`, out: `${l}self_attn.out_proj`, norm2: `${l}layer_norm2`, fc1: `${l}mlp.fc1`, fc2: `${l}mlp.fc2` };
  },
};

function randomCheckpoint(c: VitConfig, naming: VitNaming, rng: Rng): Map<string, CheckpointTensor> {
  return new Map(vitTensors(c, naming).map(({ name, shape }) => {
    const data = Float32Array.from({ length: elementCount(shape) }, () => 0.5 * rng.normal());
    return [name, { shape, data }];
  }));
}

// ---- an independent float64 reference, written from the HF modules' definitions ----
type Mat = number[][];
const get = (w: Map<string, CheckpointTensor>, name: string) => w.get(name)!;
/** nn.Linear: y = x Wᵀ + b with W [out, in]. */
function dense(x: Mat, w: Map<string, CheckpointTensor>, m: string): Mat {
  const W = get(w, `${m}.weight`);
  const b = w.get(`${m}.bias`);
  const [out, inp] = W.shape as [number, number];
  return x.map((row) => Array.from({ length: out }, (_, o) => {
    let s = b ? b.data[o]! : 0;
    for (let i = 0; i < inp; i++) s += row[i]! * W.data[o * inp + i]!;
    return s;
  }));
}
function norm(x: Mat, w: Map<string, CheckpointTensor>, m: string, eps: number): Mat {
  const g = get(w, `${m}.weight`).data;
  const b = get(w, `${m}.bias`).data;
  return x.map((row) => {
    const mean = row.reduce((a, v) => a + v, 0) / row.length;
    const variance = row.reduce((a, v) => a + (v - mean) ** 2, 0) / row.length;
    return row.map((v, i) => ((v - mean) / Math.sqrt(variance + eps)) * g[i]! + b[i]!);
  });
}
const erf = (x: number): number => {
  // Abramowitz–Stegun 7.1.26 is too coarse; integrate the series instead.
  let sum = 0;
  let term = x;
  for (let n = 0; n < 60; n++) {
    sum += term / (2 * n + 1);
    term *= (-x * x) / (n + 1);
  }
  return (2 / Math.sqrt(Math.PI)) * sum;
};
const acts: Record<string, (v: number) => number> = {
  gelu: (v) => 0.5 * v * (1 + erf(v / Math.SQRT2)),
  quick_gelu: (v) => v / (1 + Math.exp(-1.702 * v)),
};
const add = (a: Mat, b: Mat): Mat => a.map((r, i) => r.map((v, j) => v + b[i]![j]!));

function referenceVit(c: VitConfig, n: VitNaming, w: Map<string, CheckpointTensor>, pixels: Float32Array): Mat {
  const [H, W] = c.imageSize;
  const p = c.patchSize;
  const d = c.hiddenSize;
  const conv = get(w, `${n.patch}.weight`).data;
  const convBias = w.get(`${n.patch}.bias`)?.data;
  let x: Mat = [Array.from(get(w, n.classToken).data)];
  for (let py = 0; py < H / p; py++) {
    for (let px = 0; px < W / p; px++) {
      x.push(Array.from({ length: d }, (_, o) => {
        let s = convBias ? convBias[o]! : 0;
        for (let ch = 0; ch < c.channels; ch++)
          for (let ky = 0; ky < p; ky++)
            for (let kx = 0; kx < p; kx++) s += conv[((o * c.channels + ch) * p + ky) * p + kx]! * pixels[(ch * H + py * p + ky) * W + px * p + kx]!;
        return s;
      }));
    }
  }
  const pos = get(w, n.positions).data;
  x = x.map((row, t) => row.map((v, i) => v + pos[t * d + i]!));
  if (c.preLayerNorm) x = norm(x, w, n.preNorm!, c.layerNormEps);
  const hs = d / c.heads;
  for (let i = 0; i < c.layers; i++) {
    const l = n.layer(i);
    const h = norm(x, w, l.norm1, c.layerNormEps);
    const [q, k, v] = [dense(h, w, l.query), dense(h, w, l.key), dense(h, w, l.value)];
    const ctx = q.map((qr) => new Array<number>(d).fill(0));
    for (let head = 0; head < c.heads; head++) {
      const o = head * hs;
      q.forEach((qr, t) => {
        const scores = k.map((kr) => kr.slice(o, o + hs).reduce((a, kv, j) => a + kv * qr[o + j]!, 0) / Math.sqrt(hs));
        const m = Math.max(...scores);
        const e = scores.map((s) => Math.exp(s - m));
        const z = e.reduce((a, b) => a + b, 0);
        for (let j = 0; j < hs; j++) ctx[t]![o + j] = e.reduce((a, es, s) => a + (es / z) * v[s]![o + j]!, 0);
      });
    }
    x = add(x, dense(ctx, w, l.out));
    const act = acts[c.activation]!;
    x = add(x, dense(dense(norm(x, w, l.norm2, c.layerNormEps), w, l.fc1).map((r) => r.map(act)), w, l.fc2));
  }
  return c.finalLayerNorm ? norm(x, w, n.finalNorm!, c.layerNormEps) : x;
}

async function checkAgainstReference(naming: VitNaming, overrides: VitOverrides, seed: number): Promise<void> {
  const c = parseVitConfig(VIT_JSON, 'test ViT config', overrides);
  const rng = new Rng(seed);
  const ckpt = randomCheckpoint(c, naming, rng);
  const vit = new VitEncoder(c, naming, bindWeights('test ViT', vitTensors(c, naming), ckpt));
  const pixels = Float32Array.from({ length: 2 * 3 * 8 * 8 }, () => rng.normal());
  const out = await runGraph({ pixel_values: { shape: ['batch', 3, 8, 8], dims: [2, 3, 8, 8], data: pixels } }, (ins) => ({ hidden: vit.forward(ins.pixel_values!) }));
  assert.deepEqual(out.hidden!.dims, [2, 5, 8]);
  for (let b = 0; b < 2; b++) {
    const expected = referenceVit(c, naming, ckpt, pixels.subarray(b * 192, (b + 1) * 192)).flat();
    // float32 graph vs float64 reference through two blocks of unit-scale weights.
    assertClose(out.hidden!.data.slice(b * 40, (b + 1) * 40), expected, 2e-5, `image ${b}`);
  }
}

test('ViT encoder (HF names, conv bias, final LayerNorm, gelu) matches a float64 reference', async () => {
  await checkAgainstReference(vitNaming('encoder.'), {}, 1);
});

test('the same encoder runs a CLIP-style tower: flat embeddings, pre-LayerNorm, quick_gelu, no patch bias or final norm', async () => {
  await checkAgainstReference(clipNaming, { activation: 'quick_gelu', preLayerNorm: true, finalLayerNorm: false, patchBias: false, layerNormEps: 1e-5 }, 2);
});

test('checkPixels names the expected shape', () => {
  const c = parseVitConfig(VIT_JSON, 'test ViT config');
  const vit = new VitEncoder(c, vitNaming(), new Map());
  assert.doesNotThrow(() => vit.checkPixels([4, 3, 8, 8], 'here'));
  assert.throws(() => vit.checkPixels([3, 8, 8], 'here'), (e: Error) => e instanceof PixelShapeError && /\[batch, 3, 8, 8\].*received \[3, 8, 8\]/.test(e.message));
  assert.throws(() => vit.checkPixels([1, 3, 16, 16], 'here'), /must have shape \[batch, 3, 8, 8\]/);
});

test('parseVitConfig rejects an unknown activation and a patch size that does not divide the image', () => {
  assert.throws(() => parseVitConfig({ ...VIT_JSON, hidden_act: 'mish' }, 'cfg'), /"hidden_act" = "mish" is not supported/);
  assert.throws(() => parseVitConfig({ ...VIT_JSON, patch_size: 3 }, 'cfg'), /image_size 8×8 is not a multiple of patch_size 3/);
  assert.deepEqual(parseVitConfig({ ...VIT_JSON, image_size: [8, 4] }, 'cfg').imageSize, [8, 4]);
});
