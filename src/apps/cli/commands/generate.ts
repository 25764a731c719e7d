/**
 * `forja generate --model DIR|ID "prompt"`: stream a continuation to stdout, or with --json print
 * one JSON object (generated_text, token_ids, prompt_tokens, new_tokens, tokens_per_second) as the
 * last line. Sampling is on with --do-sample or any sampling flag (--temperature, --top-k, --top-p),
 * off with --greedy, else generation_config.json's do_sample decides; --seed only seeds it.
 */
import { totalmem } from 'node:os';
import type { Command } from 'commander';
import { CausalLM } from '../../../models/causal-lm.js';
import { generate, type GenerateOptions } from '../../../text/generate.js';
import { normalizeGenerationOptions, resolveGenerationConfig, type GenerationOptions } from '../../../text/generation-config.js';
import type { LanguageModel } from '../../../text/language-model.js';
import { decodeReply, pipeline, type TextGenerationPipeline } from '../../pipeline.js';
import { CliError, cliErrorFrom } from '../errors.js';
import { existingDirectory, nonNegativeInt, numberInRange, positiveInt, positiveNumber } from '../options.js';
import { loadInOption, quantizeCliError } from '../quantize-options.js';

interface GenerateFlags {
  model: string;
  adapter?: string;
  loadIn?: '8bit' | '4bit';
  assistant?: string;
  assistantTokens?: number;
  maxNewTokens?: number;
  temperature?: number;
  topK?: number;
  topP?: number;
  numBeams?: number;
  greedy?: boolean;
  doSample?: boolean;
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
  /** With --assistant: target passes after the prompt, drafted and kept draft tokens. */
  assisted?: { rounds: number; drafted: number; accepted: number };
}

const SAMPLING_FLAGS = ['temperature', 'topK', 'topP'] as const;
const FLAG_NAMES: Record<(typeof SAMPLING_FLAGS)[number], string> = { temperature: '--temperature', topK: '--top-k', topP: '--top-p' };

function generationOptions(flags: GenerateFlags): GenerationOptions {
  const sampling = SAMPLING_FLAGS.filter((f) => flags[f] !== undefined);
  if (flags.greedy && flags.doSample) throw new CliError('--greedy cannot be combined with --do-sample');
  if (flags.greedy && sampling.length > 0) {
    throw new CliError(`--greedy cannot be combined with ${sampling.map((f) => FLAG_NAMES[f]).join(', ')} (they only apply when sampling)`);
  }
  if (flags.greedy && flags.numBeams !== undefined && flags.numBeams > 1) {
    throw new CliError(`--greedy cannot be combined with --num-beams ${flags.numBeams} (greedy decoding follows one sequence)`);
  }
  const options: GenerationOptions = {};
  if (flags.greedy) {
    options.do_sample = false;
    options.num_beams = 1;
  } else if (flags.doSample || sampling.length > 0) options.do_sample = true;
  if (flags.maxNewTokens !== undefined) options.max_new_tokens = flags.maxNewTokens;
  if (flags.temperature !== undefined) options.temperature = flags.temperature;
  if (flags.topK !== undefined) options.top_k = flags.topK;
  if (flags.topP !== undefined) options.top_p = flags.topP;
  if (flags.numBeams !== undefined) options.num_beams = flags.numBeams;
  if (flags.seed !== undefined) options.seed = flags.seed;
  return options;
}

async function load(model: string, adapter: string | undefined, loadIn: GenerateFlags['loadIn']): Promise<TextGenerationPipeline> {
  try {
    return await pipeline('text-generation', model, { ...(adapter === undefined ? {} : { adapter }), ...(loadIn ? { loadIn } : {}) });
  } catch (err) {
    throw quantizeCliError(`generate --model ${model}${adapter === undefined ? '' : ` --adapter ${adapter}`}${loadIn ? ` --load-in ${loadIn}` : ''}`, err, { bits: '--load-in' });
  }
}

const tokens = (n: number): string => `${n} token${n === 1 ? '' : 's'}`;
const gib = (bytes: number): string => (bytes / 2 ** 30).toFixed(1);

/**
 * Bytes one beam (or sampled row) needs at `length` positions: float32 keys and values of every
 * layer, held twice while beams are reordered, plus a few vocabulary-sized rows of logits.
 */
function bytesPerRow(model: LanguageModel, length: number): number | undefined {
  if (!(model instanceof CausalLM)) return undefined;
  const { layers, kvHeads, headDim, vocabSize } = model.model.dims;
  return 4 * (2 * (2 * layers * kvHeads * headDim * length) + 4 * vocabSize);
}

/** The flags' sizes against the model's context and this machine's memory, naming the flag. */
function checkSizes(generator: TextGenerationPipeline, promptLength: number, options: GenerationOptions, flags: GenerateFlags): void {
  const { maxPositions } = generator.model;
  const context = `the model's context is ${maxPositions} positions (max_position_embeddings)`;
  if (promptLength >= maxPositions) throw new CliError(`generate: the prompt is ${tokens(promptLength)} and ${context}, which leaves no room for new tokens`);
  const room = maxPositions - promptLength;
  if (flags.maxNewTokens !== undefined && flags.maxNewTokens > room) {
    throw new CliError(`--max-new-tokens ${flags.maxNewTokens} is too many: ${context} and the prompt takes ${promptLength}, so at most ${room}`);
  }
  let resolved;
  try {
    resolved = resolveGenerationConfig(
      normalizeGenerationOptions(options),
      normalizeGenerationOptions(generator.generationConfig, 'generation_config'),
      { promptLength, maxPositions },
    );
  } catch (err) {
    throw cliErrorFrom('generate', err);
  }
  const perRow = bytesPerRow(generator.model, resolved.maxLength);
  const memory = totalmem();
  if (perRow !== undefined && resolved.numBeams * perRow > memory) {
    const which = flags.numBeams !== undefined ? `--num-beams ${resolved.numBeams}` : `num_beams ${resolved.numBeams} (generation_config.json; lower it with --num-beams)`;
    throw new CliError(
      `${which} needs about ${gib(resolved.numBeams * perRow)} GiB for key/value caches and logits at ${resolved.maxLength} positions, ` +
        `more than this machine's ${gib(memory)} GiB; at most ${Math.max(1, Math.floor(memory / perRow))} beams fit`,
    );
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

async function generateReport(
  generator: TextGenerationPipeline,
  prompt: string,
  promptIds: number[],
  options: GenerateOptions,
  onText?: (text: string) => void,
): Promise<GenerateReport> {
  const started = performance.now();
  const out = await generate(generator.model, [promptIds], {
    ...options,
    generation_config: generator.generationConfig,
    tokenizer: generator.tokenizer,
    ...(onText && { onText: ({ text }) => onText(text) }),
  }).catch((err: unknown) => {
    throw cliErrorFrom('generate', err);
  });
  const seconds = (performance.now() - started) / 1000;
  const newTokens = out.newTokens[0]!;
  return {
    generated_text: prompt + decodeReply(generator.tokenizer, promptIds, newTokens),
    token_ids: newTokens,
    prompt_tokens: promptIds.length,
    new_tokens: newTokens.length,
    tokens_per_second: Math.round((newTokens.length / seconds) * 100) / 100,
    ...(out.assisted && { assisted: out.assisted }),
  };
}

/** The --assistant draft, checked against --model; assisted decoding is greedy or sampling, one sequence. */
async function loadAssistant(flags: GenerateFlags, target: LanguageModel): Promise<GenerateOptions> {
  if (flags.assistant === undefined) {
    if (flags.assistantTokens !== undefined) throw new CliError('--assistant-tokens needs --assistant');
    return {};
  }
  if (flags.numBeams !== undefined && flags.numBeams > 1) throw new CliError(`--assistant cannot be combined with --num-beams ${flags.numBeams} (assisted decoding follows one sequence)`);
  let draft: CausalLM;
  try {
    draft = await CausalLM.load(flags.assistant, flags.loadIn ? { loadIn: flags.loadIn } : {});
  } catch (err) {
    throw quantizeCliError(`generate --assistant ${flags.assistant}`, err, { bits: '--load-in' });
  }
  if (draft.vocabSize !== target.vocabSize) {
    await draft.release();
    throw new CliError(`--assistant ${flags.assistant} has a vocabulary of ${draft.vocabSize} tokens and --model ${flags.model} ${target.vocabSize}; the draft must share the model's tokenizer`);
  }
  return { assistant_model: draft, num_beams: 1, ...(flags.assistantTokens !== undefined && { num_assistant_tokens: flags.assistantTokens }) };
}

async function run(prompt: string, flags: GenerateFlags): Promise<void> {
  const generator = await load(flags.model, flags.adapter, flags.loadIn);
  let options: GenerateOptions = generationOptions(flags);
  try {
    options = { ...options, ...(await loadAssistant(flags, generator.model)) };
    const promptIds = generator.encode(prompt);
    checkSizes(generator, promptIds.length, options, flags);
    if (flags.json) {
      process.stdout.write(`${JSON.stringify(await generateReport(generator, prompt, promptIds, options))}\n`);
    } else {
      const print = terminalPrinter(prompt);
      await generateReport(generator, prompt, promptIds, options, print);
      print('\n');
    }
  } finally {
    await generator.dispose();
    await options.assistant_model?.release?.();
  }
}

export function register(program: Command): void {
  program
    .command('generate')
    .description('Generate text from a prompt with a causal language model (streams to the terminal)')
    .argument('<prompt>', 'text to continue')
    .requiredOption('--model <dir|id>', 'Hugging Face checkpoint directory or hub id')
    .option('--adapter <dir>', 'a PEFT LoRA adapter directory (adapter_config.json, adapter_model.safetensors) applied to --model unmerged', existingDirectory('--adapter'))
    .option('--load-in <bits>', 'quantize a float checkpoint while loading it: 8bit or 4bit (MatMulNBits weights; quantized checkpoints load as they are)', loadInOption)
    .option('--assistant <dir|id>', 'a small draft model with the same tokenizer for assisted (speculative) decoding: greedy output unchanged, sampling from the same distribution, fewer passes of --model')
    .option('--assistant-tokens <n>', 'tokens the --assistant drafts per round (default 20, cut short when it is unsure)', positiveInt('--assistant-tokens'))
    .option(
      '--max-new-tokens <n>',
      "tokens to generate, at most the model's context minus the prompt (default: generation_config.json, else 256, capped by the context)",
      positiveInt('--max-new-tokens'),
    )
    .option('--do-sample', 'sample tokens (default: generation_config.json\'s do_sample, else greedy)')
    .option('--temperature <x>', 'sampling temperature (turns sampling on)', positiveNumber('--temperature'))
    .option('--top-k <n>', 'sample from the k most likely tokens, 0: no limit (turns sampling on)', nonNegativeInt('--top-k'))
    .option('--top-p <x>', 'nucleus sampling mass (turns sampling on)', numberInRange('--top-p', 0, 1))
    .option('--num-beams <n>', 'beam search with n beams (as many as fit in memory)', positiveInt('--num-beams'))
    .option('--greedy', 'always take the most likely token (no sampling, one beam)')
    .option('--seed <n>', 'seed for sampling; does not turn sampling on', nonNegativeInt('--seed'))
    .option('--json', 'print one JSON object instead of streaming text')
    .action(run);
}
