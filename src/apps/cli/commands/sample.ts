/** `forja sample DIR [--n N] [--out FILE.png] [--seed N]`: new digits from a trained VAE, GAN or DCGAN. */
import type { Command } from 'commander';
import { extname, join } from 'node:path';
import { loadRunModel } from '../../../models/mnist/index.js';
import { writeImageGrid } from '../../../viz/index.js';
import { CliError, cliErrorFrom, EXIT } from '../errors.js';
import { existingDirectory, nonNegativeInt, positiveInt } from '../options.js';
import { checkWritableFile } from '../output.js';

interface SampleFlags {
  n: number;
  out?: string;
  seed: number;
}

const MAX_SAMPLES = 10_000;

export function register(program: Command): void {
  program
    .command('sample')
    .description('Draw new digits from a model trained with `forja train vae|gan|dcgan`')
    .argument('<dir>', 'run directory written by forja train', existingDirectory('run directory'))
    .option('--n <count>', `digits to draw (at most ${MAX_SAMPLES})`, positiveInt('--n'), 64)
    .option('--out <file.png>', 'PNG grid to write (default <dir>/sample.png)')
    .option('--seed <n>', 'noise seed', nonNegativeInt('--seed'), 0)
    .action(async (dir: string, flags: SampleFlags) => {
    const out = flags.out ?? join(dir, 'sample.png');
    if (extname(out).toLowerCase() !== '.png') throw new CliError(`sample: --out must name a .png file, got '${out}'`);
    if (flags.n > MAX_SAMPLES) throw new CliError(`sample: --n must be at most ${MAX_SAMPLES}, got ${flags.n}`);
    await checkWritableFile(out, '--out');
    const images = await drawSamples(dir, flags.n, flags.seed);
    await writeImageGrid(out, images, { rows: 28, cols: 28, scale: 2 }).catch((err: unknown) => {
      throw cliErrorFrom(`sample: --out ${out}`, err);
    });
    process.stdout.write(`wrote ${flags.n} samples to ${out}\n`);
  });
}

async function drawSamples(dir: string, n: number, seed: number): Promise<Float32Array> {
  let model;
  try {
    model = await loadRunModel(dir);
  } catch (err) {
    throw cliErrorFrom(`sample ${dir}`, err);
  }
  if (!model.sample) {
    throw new CliError(`sample ${dir}: this is a '${model.name}' run, which reconstructs digits but cannot draw new ones; sample needs a vae, gan or dcgan run`, EXIT.failure);
  }
  return model.sample(n, seed);
}
