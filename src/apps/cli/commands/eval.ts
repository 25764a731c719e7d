/**
 * `forja eval DIR [--json]`: FID (and reconstruction BCE) of a model trained
 * with `forja train`; for a diffusion run also its conditional accuracy, with
 * the sampling flags of `forja sample`.
 */
import type { Command } from 'commander';
import { evaluateRun, readRunInfo, type EvalResult } from '../../../models/mnist/index.js';
import { setThreads } from '../../../runtime/session.js';
import { CliError, cliErrorFrom } from '../errors.js';
import { conditionalSamplingOptions, hasConditionalFlags, samplingOptions, type ConditionalFlags } from '../diffusion-options.js';
import { existingDirectory, threadCount } from '../options.js';

interface EvalFlags extends ConditionalFlags {
  json: boolean;
  threads?: number;
}

export function register(program: Command): void {
  const command = program
    .command('eval')
    .description(
      'FID between a trained MNIST model\'s digits (samples, or reconstructions for autoencoders) and 1,000 held-out digits, ' +
        'in the feature space of a small classifier trained once and cached in $FORJA_CACHE/mnist-classifier (default ~/.cache/forja)',
    )
    .argument('<dir>', 'run directory written by forja train', existingDirectory('run directory'))
    .option('--json', 'print the result as one JSON line (last line of stdout)', false)
    .option('--threads <n>', 'ONNX Runtime intra-op threads (at most the core count)', threadCount('--threads'));
  conditionalSamplingOptions(command).action(async (dir: string, flags: EvalFlags) => {
    if (flags.threads !== undefined) setThreads(flags.threads);
    if (hasConditionalFlags(flags)) {
      const { model } = await readRunInfo(dir).catch((err: unknown) => {
        throw cliErrorFrom(`eval ${dir}`, err);
      });
      if (model !== 'diffusion') throw new CliError(`eval ${dir}: --guidance, --steps, --sampler and --eta need a diffusion run; this is a '${model}' run`);
    }
    const progress = process.stderr.isTTY ? (done: number, total: number) => process.stderr.write(`\rsampling: step ${done}/${total}${done === total ? '\n' : ''}`) : undefined;
    let result: EvalResult;
    try {
      result = await evaluateRun(dir, {
        log: (message) => process.stderr.write(`${message}\n`),
        conditional: { ...samplingOptions(flags), ...(progress ? { onStep: progress } : {}) },
      });
    } catch (err) {
      throw cliErrorFrom(`eval ${dir}`, err);
    }
    process.stdout.write(flags.json ? `${JSON.stringify(result)}\n` : describe(result));
  });
}

function describe(r: EvalResult): string {
  const lines = [
    `${r.model} (${r.dir})`,
    `  FID (${r.fid_count} ${r.fid_of} vs held-out digits): ${r.fid.toFixed(3)}`,
    ...(r.reconstruction_bce === undefined ? [] : [`  reconstruction BCE: ${r.reconstruction_bce.toFixed(4)}`]),
    ...(r.conditional_accuracy === undefined ? [] : [`  conditional accuracy (the classifier reads the digit asked for): ${(100 * r.conditional_accuracy).toFixed(1)}%`]),
    `  classifier accuracy on held-out digits: ${(100 * r.classifier_accuracy).toFixed(1)}%${r.classifier_cached ? ' (cached)' : ''}`,
  ];
  return `${lines.join('\n')}\n`;
}
