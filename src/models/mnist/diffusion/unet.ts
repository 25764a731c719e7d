/**
 * The noise-prediction network of the MNIST diffusion model: a small U-Net
 * (Ronneberger et al. 2015, as DDPM uses it: Ho et al. 2020) taking the noisy
 * image x_t [B, 1, 28, 28], the timestep t [B, 1] and the class [B, 1]
 * (0–9, or NULL_CLASS for "no class", the classifier-free guidance token) and
 * returning the predicted noise ε [B, 1, 28, 28].
 *
 *   28×28  conv_in → res(c0) ───────────────────────────── concat → res(c0) → GN, SiLU, conv → ε
 *   14×14    ↓ conv/2 → res(c1) ─────────────── concat → res(c1) ↑ ×2
 *    7×7       ↓ conv/2 → res(c1), attention, res(c1) ↑ ×2
 *
 * Each residual block is GN → SiLU → conv3×3, plus the projected embedding
 * (sinusoidal time features → MLP, plus a learned class embedding) as a
 * per-channel bias, → GN → SiLU → conv3×3, added to its input (a 1×1 conv
 * when the channels change). One decoder block per level, rather than DDPM's
 * two or three, keeps a step cheap on a CPU: most of the cost is at 28×28.
 */
import type { Tensor } from '../../../core/graph.js';
import * as F from '../../../core/ops/index.js';
import type { Shape } from '../../../core/shape.js';
import { layers, Layer, registerLayer, type CallContext, type LayerArgs, type LayerConfig } from '../../../nn/index.js';

/** Class index meaning "unconditional" (the label dropped at training, the guidance baseline at sampling). */
export const NULL_CLASS = 10;
export const CLASSES = 10;

export interface UNetConfig {
  /** Channels at 28×28 and at 14×14 / 7×7. */
  channels: readonly [number, number];
  /** GroupNorm groups (must divide both channel counts). */
  groups: number;
  /** Width of the time + class embedding. */
  embedDim: number;
}

export const DEFAULT_UNET: UNetConfig = { channels: [32, 64], groups: 8, embedDim: 128 };

export interface UNetArgs extends LayerArgs, Partial<UNetConfig> {}

interface ResBlock {
  norm1: Layer;
  conv1: Layer;
  embed: Layer;
  norm2: Layer;
  conv2: Layer;
  skip?: Layer;
}

interface AttentionBlock {
  norm: Layer;
  qkv: Layer;
  proj: Layer;
}

export class UNet extends Layer {
  readonly className = 'DiffusionUNet';
  readonly config: UNetConfig;
  private readonly all: Layer[] = [];
  private readonly convIn: Layer;
  private readonly timeMlp: [Layer, Layer];
  private readonly classEmbed: Layer;
  private readonly down0: ResBlock;
  private readonly downsample0: Layer;
  private readonly down1: ResBlock;
  private readonly downsample1: Layer;
  private readonly mid1: ResBlock;
  private readonly midAttention: AttentionBlock;
  private readonly mid2: ResBlock;
  private readonly up1: ResBlock;
  private readonly up0: ResBlock;
  private readonly outNorm: Layer;
  private readonly convOut: Layer;

  constructor(args: UNetArgs = {}) {
    super(args, 'unet');
    const config: UNetConfig = {
      channels: args.channels ?? DEFAULT_UNET.channels,
      groups: args.groups ?? DEFAULT_UNET.groups,
      embedDim: args.embedDim ?? DEFAULT_UNET.embedDim,
    };
    const [c0, c1] = config.channels;
    for (const c of config.channels) {
      if (!Number.isInteger(c) || c < 1 || c % config.groups !== 0) throw new Error(`${this.where}: channels must be positive multiples of groups (${config.groups}), received ${config.channels.join(', ')}`);
    }
    if (!Number.isInteger(config.embedDim) || config.embedDim < 2 || config.embedDim % 2 !== 0) throw new Error(`${this.where}: embedDim must be an even integer ≥ 2, received ${config.embedDim}`);
    this.config = config;
    const add = <L extends Layer>(l: L): L => (this.all.push(l), l);
    const conv = (filters: number, name: string, extra: { kernelSize?: number; strides?: number; kernelInitializer?: 'zeros' } = {}) =>
      add(layers.conv2d({ filters, kernelSize: extra.kernelSize ?? 3, strides: extra.strides ?? 1, padding: 'same', name, ...(extra.kernelInitializer ? { kernelInitializer: extra.kernelInitializer } : {}) }));
    const norm = (name: string) => add(layers.groupNormalization({ groups: config.groups, epsilon: 1e-5, name }));
    const res = (cin: number, cout: number, name: string): ResBlock => ({
      norm1: norm(`${name}_norm1`),
      conv1: conv(cout, `${name}_conv1`),
      embed: add(layers.dense({ units: cout, name: `${name}_embed` })),
      norm2: norm(`${name}_norm2`),
      conv2: conv(cout, `${name}_conv2`),
      ...(cin === cout ? {} : { skip: conv(cout, `${name}_skip`, { kernelSize: 1 }) }),
    });
    this.convIn = conv(c0, 'conv_in');
    this.timeMlp = [add(layers.dense({ units: config.embedDim, name: 'time_mlp1' })), add(layers.dense({ units: config.embedDim, name: 'time_mlp2' }))];
    this.classEmbed = add(layers.embedding({ inputDim: CLASSES + 1, outputDim: config.embedDim, embeddingsInitializer: { className: 'randomNormal', config: { stddev: 1 } }, name: 'class_embed' }));
    this.down0 = res(c0, c0, 'down0');
    this.downsample0 = conv(c1, 'downsample0', { strides: 2 });
    this.down1 = res(c1, c1, 'down1');
    this.downsample1 = conv(c1, 'downsample1', { strides: 2 });
    this.mid1 = res(c1, c1, 'mid1');
    this.midAttention = { norm: norm('mid_attn_norm'), qkv: add(layers.dense({ units: 3 * c1, name: 'mid_attn_qkv' })), proj: add(layers.dense({ units: c1, name: 'mid_attn_proj' })) };
    this.mid2 = res(c1, c1, 'mid2');
    this.up1 = res(2 * c1, c1, 'up1');
    this.up0 = res(c1 + c0, c0, 'up0');
    this.outNorm = norm('out_norm');
    this.convOut = conv(1, 'conv_out', { kernelInitializer: 'zeros' });
  }

  override get scopesWeights(): boolean {
    return true;
  }

  override get sublayers(): Layer[] {
    return this.all;
  }

  protected override buildFor(shapes: readonly Shape[]): void {
    if (shapes.length !== 3) throw new Error(`${this.where}: expected 3 inputs (x_t, t, class), received ${shapes.length}`);
    const [x] = shapes;
    if (x!.length !== 4 || x![1] !== 1 || x![2] !== 28 || x![3] !== 28) throw new Error(`${this.where}: x_t must be [batch, 1, 28, 28], received [${x!.join(', ')}]`);
    this.built = true;
  }

  override call(): Tensor {
    throw new Error(`${this.where}: takes three inputs (x_t, t, class); call it through apply([x, t, label])`);
  }

  protected override callAll(inputs: readonly Tensor[], ctx: CallContext): Tensor[] {
    const [x, t, label] = inputs as [Tensor, Tensor, Tensor];
    const run = (l: Layer, v: Tensor): Tensor => l.invoke([v], ctx)[0]!;
    const emb = F.add(
      run(this.timeMlp[1], F.siluFused(run(this.timeMlp[0], this.timeFeatures(t)))),
      F.reshape(run(this.classEmbed, label), [-1, this.config.embedDim]),
    );
    const embAct = F.siluFused(emb);
    const block = (b: ResBlock, h: Tensor): Tensor => {
      let y = run(b.conv1, F.siluFused(run(b.norm1, h)));
      y = F.add(y, F.unsqueeze(run(b.embed, embAct), [2, 3]));
      y = run(b.conv2, F.siluFused(run(b.norm2, y)));
      return F.add(b.skip ? run(b.skip, h) : h, y);
    };
    const h0 = block(this.down0, run(this.convIn, x)); // 28×28, c0
    const h1 = block(this.down1, run(this.downsample0, h0)); // 14×14, c1
    let h = block(this.mid1, run(this.downsample1, h1)); // 7×7, c1
    h = block(this.mid2, this.attention(h, ctx));
    h = block(this.up1, F.concat([F.upsampleNearest(h, 2), h1], 1)); // 14×14
    h = block(this.up0, F.concat([F.upsampleNearest(h, 2), h0], 1)); // 28×28
    return [run(this.convOut, F.siluFused(run(this.outNorm, h)))];
  }

  /** [B, 1] timesteps → [B, embedDim] sin/cos features at geometric frequencies (Vaswani et al. 2017; DDPM's embedding). */
  private timeFeatures(t: Tensor): Tensor {
    const half = this.config.embedDim / 2;
    const freqs = Float32Array.from({ length: half }, (_, i) => Math.exp((-Math.log(10000) * i) / half));
    const angles = F.mul(t, t.graph.constant(freqs, [1, half], 'float32'));
    return F.concat([F.sin(angles), F.cos(angles)], 1);
  }

  /** Single-head self-attention over the 7×7 positions, residual. */
  private attention(h: Tensor, ctx: CallContext): Tensor {
    const { norm, qkv, proj } = this.midAttention;
    const [n, c, hh, ww] = h.shape as [string | number, number, number, number];
    const tokens = F.transpose(F.reshape(norm.invoke([h], ctx)[0]!, [n, c, hh * ww]), [0, 2, 1]); // [B, 49, C]
    const [q, k, v] = F.splitEqual(qkv.invoke([tokens], ctx)[0]!, 3, 2);
    const weights = F.softmax(F.mul(F.matmul(q!, F.transposeLast(k!)), 1 / Math.sqrt(c)), -1);
    const out = proj.invoke([F.matmul(weights, v!)], ctx)[0]!;
    return F.add(h, F.reshape(F.transpose(out, [0, 2, 1]), [n, c, hh, ww]));
  }

  override getConfig(): LayerConfig {
    return { ...super.getConfig(), channels: [...this.config.channels], groups: this.config.groups, embedDim: this.config.embedDim };
  }
}
registerLayer('DiffusionUNet', (args: UNetArgs) => new UNet(args));
