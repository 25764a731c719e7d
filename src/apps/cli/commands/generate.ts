/**
 * `forja generate --model DIR|ID "prompt"`: stream a continuation to stdout, or with --json print
 * one JSON object (generated_text, token_ids, prompt_tokens, new_tokens, tokens_per_second) as the
 * last line. Sampling is on when any sampling flag is given (else generation_config.json decides);
 * --greedy turns it off.
 */
import type { Command } from 'commander';
import { generate } from '../../../text/generate.js';
import type { GenerationOptions } from '../../../text/generation-config.js';
import { decodeReply, pipeline, type TextGenerationPipeline } from '../../pipeline.js';
import { CliError } from '../errors.js';
import { nonNegativeInt, numberInRange, positiveInt, positiveNumber } from '../options.js';

interface GenerateFlags {
  model: string;
  maxNewTokens?: number;
  temperature?: number;
  topK?: number;
  topP?: number;
  numBeams?: number;
  greedy?: boolean;
  seed?: number;
  json?: boolean;
}

export interface GenerateReport {
  generated_text: string;
  /** The new tokens only. */
  token_ids: number[];
  prompt_tokens: number;
  new_tokens: number;
  tokens_per_second: number;
}

const SAMPLING_FLAGS = ['temperature', 'topK', 'topP'] as const;
const FLAG_NAMES: Record<(typeof SAMPLING_FLAGS)[number], string> = { temperature: '--temperature', topK: '--top-k', topP: '--top-p' };

function generationOptions(flags: GenerateFlags): GenerationOptions {
  const sampling = SAMPLING_FLAGS.filter((f) => flags[f] !== undefined);
  if (flags.greedy && sampling.length > 0) {
    throw new CliError(`--greedy cannot be combined with ${sampling.map((f) => FLAG_NAMES[f]).join(', ')} (they only apply when sampling)`);
  }
  const options: GenerationOptions = {};
  if (flags.greedy) options.do_sample = false;
  else if (sampling.length > 0 || flags.seed !== undefined) options.do_sample = true;
  if (flags.maxNewTokens !== undefined) options.max_new_tokens = flags.maxNewTokens;
  if (flags.temperature !== undefined) options.temperature = flags.temperature;
  if (flags.topK !== undefined) options.top_k = flags.topK;
  if (flags.topP !== undefined) options.top_p = flags.topP;
  if (flags.numBeams !== undefined) options.num_beams = flags.numBeams;
  if (flags.seed !== undefined) options.seed = flags.seed;
  return options;
}

async function load(model: string): Promise<TextGenerationPipeline> {
  try {
    return await pipeline('text-generation', model);
  } catch (err) {
    throw new CliError(`generate --model ${model}: ${(err as Error).message}`);
  }
}

/** Writes the prompt with the first text, so a request that fails validation prints nothing. */
function terminalPrinter(prompt: string): (text: string) => void {
  let echoed = false;
  return (text) => {
    if (!echoed) process.stdout.write(prompt);
    echoed = true;
    process.stdout.write(text);
  };
}

async function generateReport(generator: TextGenerationPipeline, prompt: string, options: GenerationOptions, onText?: (text: string) => void): Promise<GenerateReport> {
  const promptIds = generator.encode(prompt);
  const started = performance.now();
  const out = await generate(generator.model, [promptIds], {
    ...options,
    generation_config: generator.generationConfig,
    tokenizer: generator.tokenizer,
    ...(onText && { onText: ({ text }) => onText(text) }),
  }).catch((err: unknown) => {
    throw new CliError((err as Error).message);
  });
  const seconds = (performance.now() - started) / 1000;
  const newTokens = out.newTokens[0]!;
  return {
    generated_text: prompt + decodeReply(generator.tokenizer, promptIds, newTokens),
    token_ids: newTokens,
    prompt_tokens: promptIds.length,
    new_tokens: newTokens.length,
    tokens_per_second: Math.round((newTokens.length / seconds) * 100) / 100,
  };
}

async function run(prompt: string, flags: GenerateFlags): Promise<void> {
  const options = generationOptions(flags);
  const generator = await load(flags.model);
  try {
    if (flags.json) {
      process.stdout.write(`${JSON.stringify(await generateReport(generator, prompt, options))}\n`);
    } else {
      const print = terminalPrinter(prompt);
      await generateReport(generator, prompt, options, print);
      print('\n');
    }
  } finally {
    await generator.dispose();
  }
}

export function register(program: Command): void {
  program
    .command('generate')
    .description('Generate text from a prompt with a causal language model (streams to the terminal)')
    .argument('<prompt>', 'text to continue')
    .requiredOption('--model <dir|id>', 'Hugging Face checkpoint directory or hub id')
    .option('--max-new-tokens <n>', 'tokens to generate (default: generation_config.json, else 256, capped by the context length)', positiveInt('--max-new-tokens'))
    .option('--temperature <x>', 'sampling temperature', positiveNumber('--temperature'))
    .option('--top-k <n>', 'sample from the k most likely tokens (0: no limit)', nonNegativeInt('--top-k'))
    .option('--top-p <x>', 'nucleus sampling mass', numberInRange('--top-p', 0, 1))
    .option('--num-beams <n>', 'beam search with n beams', positiveInt('--num-beams'))
    .option('--greedy', 'always take the most likely token')
    .option('--seed <n>', 'seed for reproducible sampling', nonNegativeInt('--seed'))
    .option('--json', 'print one JSON object instead of streaming text')
    .action(run);
}
