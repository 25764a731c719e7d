/**
 * CLIP image-embedding throughput of a clip-vit-base-patch32-shaped model (ViT-B/32 vision tower,
 * 12 × 768, 224×224 in 32-pixel patches, projection 512; random seeded weights stored as F16):
 * Forja's ClipModel against transformers.js's CLIPVisionModelWithProjection running Forja's ONNX
 * export of the same tower (onnx/vision_model.onnx), both on onnxruntime-node with the same
 * intra-op threads, in the same process, alternating.
 *
 *   npm run bench:vision -- [--threads N] [--reps N] [--images N] [--batch N]
 *
 * "files" rows time what a user calls: JPEG photos on disk (640×480 and other camera sizes) →
 * normalised embeddings, decoding and preprocessing included (transformers.js: RawImage.read and
 * its CLIPImageProcessor over sharp; Forja: sharp's decoder and its Pillow-exact resampler, the next
 * batch decoding while this one runs). "pixels" rows feed the same pixel_values to both, so the
 * difference there is the runtime alone: the same graph on the same kernels, with Forja's vision
 * session not spinning idle threads. "images per CPU-s" divides by the process's CPU time (all
 * threads), which other jobs on a busy machine do not inflate the way they inflate wall time.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { availableParallelism, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import jpeg from 'jpeg-js';
import { Rng } from '../src/core/rng.js';
import type { PixelValues } from '../src/image/processor.js';
import { ClipModel, unitVector } from '../src/models/clip/clip-model.js';
import { setThreads } from '../src/runtime/session.js';
import { visionParameters, writeRandomClipBase, writeVisionOnnx } from './random-clip.js';
import { maxAbsDiff, median } from './stats.js';
import { parseIntFlags } from './args.js';

interface Options {
  threads: number;
  reps: number;
  images: number;
  batch: number;
}

function parseArgs(argv: string[]): Options {
  const defaults: Options = { threads: Math.min(2, availableParallelism()), reps: 3, images: 48, batch: 16 };
  return parseIntFlags(argv, defaults, { '--threads': 'threads', '--reps': 'reps', '--images': 'images', '--batch': 'batch' });
}

const SIZES: ReadonlyArray<[number, number]> = [
  [640, 480],
  [480, 640],
  [800, 600],
  [500, 375],
];

/** Photo-like JPEGs: smooth colour fields with texture and edges (not noise, which no camera makes). */
function writePhotos(dir: string, n: number): string[] {
  const rng = new Rng(42);
  return Array.from({ length: n }, (_, i) => {
    const [w, h] = SIZES[i % SIZES.length]!;
    const data = new Uint8Array(w * h * 4);
    const [fx, fy, phase] = [rng.next() * 0.05, rng.next() * 0.05, rng.next() * 6];
    for (let y = 0; y < h; y++) {
      for (let x = 0; x < w; x++) {
        const o = (y * w + x) * 4;
        const edge = (x * 3 + y * 2) % 211 < 6 ? 60 : 0;
        data[o] = 128 + 90 * Math.sin(fx * x + phase) + edge;
        data[o + 1] = 128 + 90 * Math.cos(fy * y + phase) - edge;
        data[o + 2] = 128 + 60 * Math.sin(0.01 * (x + y)) + 20 * Math.sin(0.3 * x) * Math.sin(0.3 * y);
        data[o + 3] = 255;
      }
    }
    const path = join(dir, `photo-${i}.jpg`);
    writeFileSync(path, jpeg.encode({ data, width: w, height: h }, 85).data);
    return path;
  });
}

interface Runner {
  name: string;
  files(paths: string[]): Promise<Float32Array[]>;
  pixels(px: PixelValues): Promise<Float32Array[]>;
  release(): Promise<void>;
}

function forjaRunner(clip: ClipModel): Runner {
  return {
    name: 'Forja',
    files: (paths) => clip.getImageEmbeddings(paths),
    pixels: (px) => clip.getImageEmbeddings(px),
    release: () => clip.release(),
  };
}

async function transformersJsRunner(dir: string, threads: number, batch: number): Promise<Runner> {
  const { AutoImageProcessor, CLIPVisionModelWithProjection, RawImage, Tensor, env } = await import('@huggingface/transformers');
  env.allowRemoteModels = false;
  const processor = await AutoImageProcessor.from_pretrained(dir, { local_files_only: true });
  const model = await CLIPVisionModelWithProjection.from_pretrained(dir, {
    dtype: 'fp32',
    local_files_only: true,
    session_options: { intraOpNumThreads: threads, interOpNumThreads: 1 },
  });
  const rows = (t: { data: unknown; dims: number[] }) => {
    const data = t.data as Float32Array;
    const d = t.dims[1]!;
    return Array.from({ length: t.dims[0]! }, (_, r) => unitVector(data.slice(r * d, (r + 1) * d)));
  };
  return {
    name: 'transformers.js',
    files: async (paths) => {
      const out: Float32Array[] = [];
      for (let b = 0; b < paths.length; b += batch) {
        const images = await Promise.all(paths.slice(b, b + batch).map((p) => RawImage.read(p)));
        const inputs = await processor(images);
        out.push(...rows((await model(inputs)).image_embeds));
      }
      return out;
    },
    pixels: async (px) => {
      const out: Float32Array[] = [];
      const size = px.dims[1] * px.dims[2] * px.dims[3];
      for (let b = 0; b < px.dims[0]; b += batch) {
        const n = Math.min(batch, px.dims[0] - b);
        const pixel_values = new Tensor('float32', px.data.subarray(b * size, (b + n) * size), [n, ...px.dims.slice(1)]);
        out.push(...rows((await model({ pixel_values })).image_embeds));
      }
      return out;
    },
    release: async () => {
      await model.dispose();
    },
  };
}

async function main(): Promise<void> {
  const opts = parseArgs(process.argv.slice(2));
  const dir = mkdtempSync(join(tmpdir(), 'forja-bench-vision-'));
  try {
    const t0 = performance.now();
    await writeRandomClipBase(dir);
    mkdirSync(join(dir, 'photos'));
    const paths = writePhotos(join(dir, 'photos'), opts.images);
    const t1 = performance.now();
    setThreads(opts.threads);
    const clip = await ClipModel.load(dir, { batchSize: opts.batch });
    const t2 = performance.now();
    await writeVisionOnnx(dir, clip.model);
    const params = visionParameters(clip.model);
    const s = (a: number, b: number) => ((b - a) / 1000).toFixed(1);
    console.log(`wrote the F16 checkpoint and ${paths.length} JPEGs in ${s(t0, t1)} s, loaded it in ${s(t1, t2)} s, wrote onnx/vision_model.onnx in ${s(t2, performance.now())} s`);
    const runners = [forjaRunner(clip), await transformersJsRunner(dir, opts.threads, opts.batch)];
    const pixels = await clip.processor.preprocess(paths);
    console.log(`model: ViT-B/32 vision tower + projection (12 × 768, 224×224, patch 32 → 512), ${(params / 1e6).toFixed(1)}M random parameters stored as F16`);
    console.log(`threads: ${opts.threads} intra-op (both runtimes), batch ${opts.batch}, ${paths.length} images (${SIZES.map(([w, h]) => `${w}×${h}`).join(', ')}), reps ${opts.reps} (median)`);
    console.log(`load average before: ${loadavg().map((l) => l.toFixed(2)).join(' ')} on ${availableParallelism()} CPUs`);
    const table: string[][] = [];
    for (const input of ['files', 'pixels'] as const) {
      const run = (r: Runner) => (input === 'files' ? r.files(paths) : r.pixels(pixels));
      const results: Float32Array[][] = [];
      for (const r of runners) results.push(await (input === 'files' ? r.files(paths.slice(0, opts.batch)) : r.pixels({ data: pixels.data.subarray(0, opts.batch * 3 * 224 * 224), dims: [Math.min(opts.batch, paths.length), 3, 224, 224] }))); // warm-up
      const seconds: number[][] = runners.map(() => []);
      const cpu: number[][] = runners.map(() => []);
      for (let rep = 0; rep < opts.reps; rep++) {
        // Alternate runtimes so that load from other processes falls on both alike.
        for (const [i, r] of runners.entries()) {
          // ORT's intra-op threads spin for a while after a run; let the previous runtime's go idle.
          await new Promise((resolve) => setTimeout(resolve, 300));
          const start = performance.now();
          const used = process.cpuUsage();
          results[i] = await run(r);
          seconds[i]!.push((performance.now() - start) / 1000);
          const { user, system } = process.cpuUsage(used);
          cpu[i]!.push((user + system) / 1e6);
        }
      }
      const rate = seconds.map((s) => paths.length / median(s));
      const best = seconds.map((s) => paths.length / Math.min(...s));
      // CPU time of the whole process (onnxruntime's and sharp's threads included): what a run costs, whatever else runs.
      const perCpu = cpu.map((c) => paths.length / median(c));
      runners.forEach((r, i) =>
        table.push([
          input,
          r.name,
          rate[i]!.toFixed(2),
          `${(rate[i]! / rate[1]!).toFixed(2)}×`,
          best[i]!.toFixed(2),
          `${(best[i]! / best[1]!).toFixed(2)}×`,
          perCpu[i]!.toFixed(2),
          `${(perCpu[i]! / perCpu[1]!).toFixed(2)}×`,
          maxAbsDiff(results[i]!, results[0]!).toExponential(1),
        ]),
      );
    }
    const header = ['input', 'runtime', 'images/s (median)', 'vs tjs', 'best run', 'vs tjs', 'images per CPU-s', 'vs tjs', 'max |diff| vs Forja'];
    const widths = header.map((h, i) => Math.max(h.length, ...table.map((r) => r[i]!.length)));
    const line = (cells: string[]) => cells.map((c, i) => c.padEnd(widths[i]!)).join(' | ');
    console.log(`\n${line(header)}\n${widths.map((w) => '-'.repeat(w)).join('-|-')}`);
    for (const r of table) console.log(line(r));
    console.log(`\nload average after: ${loadavg().map((l) => l.toFixed(2)).join(' ')}`);
    for (const r of runners) await r.release();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

await main();
