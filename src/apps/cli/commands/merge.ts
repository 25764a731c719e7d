/**
 * `forja merge --model DIR|ID --adapter DIR --out DIR`: fold a PEFT LoRA
 * adapter into its base (merge_and_unload) and save a plain Hugging Face
 * checkpoint: config.json, model.safetensors, generation_config.json and the
 * tokenizer files (the adapter's when it has them: it may have added tokens).
 * `forja generate --model OUT` then computes what `--model BASE --adapter DIR` does.
 */
import { existsSync } from 'node:fs';
import { mkdir, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import type { Command } from 'commander';
import { writeFileAtomic } from '../../../io/atomic.js';
import type { JsonObject } from '../../../io/hf-checkpoint.js';
import { writeSafetensorsCheckpoint } from '../../../io/safetensors.js';
import { OutputIsBaseModelError } from '../../../models/finetune/errors.js';
import { loadBase } from '../../../models/finetune/open.js';
import { checkNotBase, copyTokenizerFiles, generationConfigOf } from '../../../models/finetune/save.js';
import { mergeAndUnload, plainCheckpoint } from '../../../models/lora/merge.js';
import { loadLoraAdapter } from '../../../models/lora/peft-io.js';
import { resolveModelDir } from '../../../io/hub.js';
import { CliError, cliErrorFrom, EXIT } from '../errors.js';
import { existingDirectory } from '../options.js';
import { prepareOutDir } from '../output.js';

interface MergeFlags {
  model: string;
  adapter: string;
  out: string;
  overwrite: boolean;
  json: boolean;
}

export function register(program: Command): void {
  program
    .command('merge')
    .description('Merge a PEFT LoRA adapter into its base model and save the result as a Hugging Face checkpoint')
    .requiredOption('--model <dir|id>', 'the base model: a Hugging Face checkpoint directory or hub id')
    .requiredOption('--adapter <dir>', 'the adapter: adapter_config.json and adapter_model.safetensors', existingDirectory('--adapter'))
    .requiredOption('--out <dir>', 'where to write the merged checkpoint (not the base\'s or the adapter\'s directory)')
    .option('--overwrite', 'write into a non-empty --out', false)
    .option('--json', 'print what was written as one JSON line', false)
    .action(async (flags: MergeFlags) => {
      await merge(flags);
    });
}

const jsonText = (value: unknown): string => JSON.stringify(value, null, 2) + '\n';

async function merge(flags: MergeFlags): Promise<void> {
  const started = performance.now();
  const context = `merge --model ${flags.model} --adapter ${flags.adapter}`;
  if (existsSync(flags.model)) refuseInside(flags.out, flags.model, '--model');
  refuseInside(flags.out, flags.adapter, '--adapter');
  await prepareOutDir(flags.out, { flag: '--out', overwrite: flags.overwrite });
  let written: string[];
  let parameters: number;
  try {
    const baseDir = await resolveModelDir(flags.model);
    refuseInside(flags.out, baseDir, '--model');
    const base = await loadBase(baseDir);
    const merged = mergeAndUnload(await loadLoraAdapter(flags.adapter, base.model));
    const { config, weights } = plainCheckpoint(merged, base.config);
    parameters = [...new Set(merged.weights.values())].reduce((n, v) => n + v.value.length, 0);
    await mkdir(flags.out, { recursive: true });
    await writeSafetensorsCheckpoint(flags.out, weights);
    await writeFileAtomic(join(flags.out, 'generation_config.json'), jsonText(generationConfigOf(base)));
    const tokenizerFrom = existsSync(join(flags.adapter, 'tokenizer.json')) ? flags.adapter : baseDir;
    const tokenizer = await copyTokenizerFiles(tokenizerFrom, flags.out);
    const full: JsonObject = { ...(config as JsonObject), dtype: 'float32' };
    if ('torch_dtype' in config) full.torch_dtype = 'float32';
    // config.json last: a directory without it is not mistaken for a checkpoint.
    await writeFileAtomic(join(flags.out, 'config.json'), jsonText(full));
    written = (await readdir(flags.out)).sort();
    if (tokenizer.length === 0) process.stderr.write(`forja: warning: ${tokenizerFrom} has no tokenizer files to copy into ${flags.out}\n`);
  } catch (err) {
    throw cliErrorFrom(context, err);
  }
  const seconds = (performance.now() - started) / 1000;
  if (flags.json) process.stdout.write(`${JSON.stringify({ out: flags.out, parameters, files: written, seconds })}\n`);
  else process.stdout.write(`merged ${flags.adapter} into ${flags.model}: ${parameters.toLocaleString('en-US')} parameters; wrote ${flags.out}\n`);
}

/** --out must not be (or hold) an input directory: writing there would replace it. */
function refuseInside(out: string, input: string, flag: string): void {
  try {
    checkNotBase(out, input);
  } catch (err) {
    if (!(err instanceof OutputIsBaseModelError)) throw new CliError(`--out: ${(err as Error).message.replace('output_dir', '--out')}`, EXIT.usage);
    throw new CliError(`--out ${out} is ${flag} ${input}'s directory (or holds it); writing there would overwrite it: choose another --out`, EXIT.usage);
  }
}
