/**
 * `forja sample DIR [--n N] [--out FILE.png] [--seed N]`: new digits from a
 * trained VAE, GAN, DCGAN or diffusion model; for diffusion also
 * `--digit 0-9|all --guidance X --steps N [--sampler ddim|ddpm] [--eta X]`.
 */
import type { Command } from 'commander';
import { extname, join } from 'node:path';
import { loadRunModel, type ConditionalSampleOptions, type MnistModel } from '../../../models/mnist/index.js';
import { writeImageGrid } from '../../../viz/index.js';
import { CliError, cliErrorFrom, EXIT } from '../errors.js';
import { conditionalSamplingOptions, digitChoice, hasConditionalFlags, samplingOptions, type ConditionalFlags } from '../diffusion-options.js';
import { existingDirectory, nonNegativeInt, positiveInt } from '../options.js';
import { checkWritableFile } from '../output.js';

interface SampleFlags extends ConditionalFlags {
  n: number;
  out?: string;
  seed: number;
  digit?: number | 'all';
}

const MAX_SAMPLES = 10_000;
const DIGITS = 10;

export function register(program: Command): void {
  const command = program
    .command('sample')
    .description('Draw new digits from a model trained with `forja train vae|gan|dcgan|diffusion`')
    .argument('<dir>', 'run directory written by forja train', existingDirectory('run directory'))
    .option('--n <count>', `digits to draw (at most ${MAX_SAMPLES})`, positiveInt('--n'), 64)
    .option('--out <file.png>', 'PNG grid to write (default <dir>/sample.png)')
    .option('--seed <n>', 'noise seed', nonNegativeInt('--seed'), 0)
    .option('--digit <d>', "diffusion: the digit to draw (0-9), or 'all' for a 10×10 grid, one row per digit", digitChoice('--digit'));
  conditionalSamplingOptions(command).action(async (dir: string, flags: SampleFlags) => {
    const out = flags.out ?? join(dir, 'sample.png');
    if (extname(out).toLowerCase() !== '.png') throw new CliError(`sample: --out must name a .png file, got '${out}'`);
    if (flags.n > MAX_SAMPLES) throw new CliError(`sample: --n must be at most ${MAX_SAMPLES}, got ${flags.n}`);
    if (flags.digit === 'all' && command.getOptionValueSource('n') === 'cli') throw new CliError("sample: --digit all draws 10 of each digit; drop --n or pass one digit");
    await checkWritableFile(out, '--out');
    const model = await loadModel(dir);
    const { images, columns } = await drawSamples(dir, model, flags);
    await writeImageGrid(out, images, { rows: 28, cols: 28, scale: 2, ...(columns ? { gridCols: columns } : {}) }).catch((err: unknown) => {
      throw cliErrorFrom(`sample: --out ${out}`, err);
    });
    process.stdout.write(`wrote ${images.length / 784} samples to ${out}\n`);
  });
}

async function loadModel(dir: string): Promise<MnistModel> {
  try {
    return await loadRunModel(dir);
  } catch (err) {
    throw cliErrorFrom(`sample ${dir}`, err);
  }
}

/** The digits, and the grid's columns when they are not the default square-ish grid (one row per digit). */
async function drawSamples(dir: string, model: MnistModel, flags: SampleFlags): Promise<{ images: Float32Array; columns?: number }> {
  const conditionalFlags = flags.digit !== undefined || hasConditionalFlags(flags);
  if (!model.sampleDigits) {
    if (conditionalFlags) throw new CliError(`sample ${dir}: --digit, --guidance, --steps, --sampler and --eta need a diffusion run; this is a '${model.name}' run`);
    if (!model.sample) {
      throw new CliError(`sample ${dir}: this is a '${model.name}' run, which reconstructs digits but cannot draw new ones; sample needs a vae, gan, dcgan or diffusion run`, EXIT.failure);
    }
    return { images: await model.sample(flags.n, flags.seed) };
  }
  const labels =
    flags.digit === 'all'
      ? Array.from({ length: DIGITS * DIGITS }, (_, i) => Math.floor(i / DIGITS))
      : Array.from({ length: flags.n }, (_, i) => (flags.digit === undefined ? i % DIGITS : (flags.digit as number)));
  const options: ConditionalSampleOptions = { seed: flags.seed, ...samplingOptions(flags) };
  try {
    const images = await model.sampleDigits(labels, options);
    return flags.digit === 'all' ? { images, columns: DIGITS } : { images };
  } catch (err) {
    throw cliErrorFrom(`sample ${dir}`, err);
  }
}
