/**
 * `forja generate-image PROMPT --model DIR [--n N] [--out FILE.png]`: text to image for the
 * class-conditional diffusion model. The prompt ("7", "a seven", "un siete") picks the digit;
 * the sampling flags are `forja sample`'s.
 */
import type { Command } from 'commander';
import { extname, join } from 'node:path';
import { digitFromPrompt, loadRunModel } from '../../../models/mnist/index.js';
import { writeImageGrid } from '../../../viz/index.js';
import { CliError, cliErrorFrom, EXIT } from '../errors.js';
import { conditionalSamplingOptions, samplingOptions, type ConditionalFlags } from '../diffusion-options.js';
import { existingDirectory, nonNegativeInt, positiveInt } from '../options.js';
import { checkWritableFile } from '../output.js';

interface GenerateImageFlags extends ConditionalFlags {
  model: string;
  n: number;
  out?: string;
  seed: number;
}

const MAX_IMAGES = 1000;

export function register(program: Command): void {
  const command = program
    .command('generate-image')
    .description('Draw digits from a prompt ("7", "a seven", "un siete") with a model trained by `forja train diffusion`')
    .argument('<prompt>', 'a digit, or an English or Spanish number word')
    .requiredOption('--model <dir>', 'run directory written by forja train diffusion', existingDirectory('--model'))
    .option('--n <count>', `images to draw (at most ${MAX_IMAGES})`, positiveInt('--n', MAX_IMAGES), 8)
    .option('--out <file.png>', 'PNG grid to write (default <model>/generate-image.png)')
    .option('--seed <n>', 'noise seed', nonNegativeInt('--seed'), 0);
  conditionalSamplingOptions(command).action(async (prompt: string, flags: GenerateImageFlags) => {
    let digit: number;
    try {
      digit = digitFromPrompt(prompt);
    } catch (err) {
      throw new CliError(`generate-image: ${(err as Error).message}`);
    }
    const out = flags.out ?? join(flags.model, 'generate-image.png');
    if (extname(out).toLowerCase() !== '.png') throw new CliError(`generate-image: --out must name a .png file, got '${out}'`);
    await checkWritableFile(out, '--out');
    const model = await loadRunModel(flags.model).catch((err: unknown) => {
      throw cliErrorFrom(`generate-image --model ${flags.model}`, err);
    });
    if (!model.sampleDigits) {
      throw new CliError(`generate-image --model ${flags.model}: this is a '${model.name}' run; generate-image needs a run of forja train diffusion`, EXIT.failure);
    }
    const images = await model.sampleDigits(new Array<number>(flags.n).fill(digit), { seed: flags.seed, ...samplingOptions(flags) }).catch((err: unknown) => {
      throw cliErrorFrom(`generate-image --model ${flags.model}`, err);
    });
    await writeImageGrid(out, images, { rows: 28, cols: 28, scale: 2 }).catch((err: unknown) => {
      throw cliErrorFrom(`generate-image: --out ${out}`, err);
    });
    process.stdout.write(`wrote ${flags.n} images of the digit ${digit} ("${prompt}") to ${out}\n`);
  });
}
