/** `forja rag ask "…" --store FILE|URL --model DIR|ID`: an answer with numbered, cited sources, streamed. */
import type { Command } from 'commander';
import { ask, type AskResult, type SourceRef } from '../../../../rag/answer/ask.js';
import { retrieve } from '../../../../rag/retrieve.js';
import { pipeline } from '../../../pipeline.js';
import { cliErrorFrom } from '../../errors.js';
import { interruptible } from '../../interrupt.js';
import { positiveInt, positiveNumber } from '../../options.js';
import { openRetrieval, retrievalOptions, type RetrievalFlags } from './query.js';
import { ragError } from './shared.js';

interface AskFlags extends RetrievalFlags {
  model: string;
  maxNewTokens: number;
  contextTokens?: number;
  minScore?: number;
  temperature?: number;
  seed?: number;
  json: boolean;
}

const cite = (s: SourceRef): string => `[${s.number}] ${s.path}${s.page === undefined ? '' : ` p. ${s.page}`} (characters ${s.start}-${s.end})${s.headings.length ? ` › ${s.headings.join(' › ')}` : ''}`;

function report(result: AskResult, json: boolean): void {
  if (json) {
    process.stdout.write(`${JSON.stringify({ outcome: result.outcome, reason: result.reason, answer: result.answer, sources: result.sources, cited: result.cited.map((s) => s.number), unknownCitations: result.unknownCitations, promptTokens: result.promptTokens })}\n`);
    return;
  }
  if (result.outcome === 'no-relevant-source') {
    process.stdout.write(`No relevant source: ${result.reason}.\n`);
    return;
  }
  process.stdout.write('\n\nSources cited:\n');
  if (result.cited.length === 0) process.stdout.write('  (the answer cites none)\n');
  for (const s of result.cited) process.stdout.write(`  ${cite(s)}\n`);
  const uncited = result.sources.filter((s) => !result.cited.includes(s));
  if (uncited.length) process.stdout.write(`Also given to the model: ${uncited.map((s) => `[${s.number}] ${s.path}`).join(', ')}\n`);
  if (result.unknownCitations.length) process.stdout.write(`The answer cites sources that do not exist: ${result.unknownCitations.map((n) => `[${n}]`).join(' ')}\n`);
}

export function register(rag: Command): void {
  retrievalOptions(rag.command('ask').description('Answer a question from a store with a causal LM, citing its sources').argument('<question>', 'the question'), 5)
    .requiredOption('--model <dir|id>', 'the causal LM that answers (its chat template is used when it has one)')
    .option('--max-new-tokens <n>', 'longest answer in tokens', positiveInt('--max-new-tokens'), 256)
    .option('--context-tokens <n>', "tokens the prompt may take (default the model's context minus --max-new-tokens)", positiveInt('--context-tokens'))
    .option('--min-score <x>', 'answer "no relevant source" when the best result scores below this', Number)
    .option('--temperature <x>', 'sample at this temperature (default greedy)', positiveNumber('--temperature'))
    .option('--seed <n>', 'seed for sampling', positiveInt('--seed'))
    .option('--json', 'print the answer, sources and citations as one JSON line instead of streaming', false)
    .action(async (question: string, flags: AskFlags) => {
      const open = await openRetrieval(flags);
      let generator: Awaited<ReturnType<typeof pipeline>> | undefined;
      try {
        generator = await pipeline('text-generation', flags.model).catch((err: unknown) => {
          throw cliErrorFrom(`--model ${flags.model}`, err);
        });
        const gen = generator;
        const chat = typeof (gen.tokenizer as { chatTemplate?: unknown }).chatTemplate === 'string';
        const result = await interruptible(
          (signal) => ask(question, {
            retrieve: (q) => retrieve(open.store, q, open.options),
            generator: gen,
            chat,
            maxNewTokens: flags.maxNewTokens,
            ...(flags.contextTokens !== undefined && { contextTokens: flags.contextTokens }),
            ...(flags.minScore !== undefined && { minScore: flags.minScore }),
            generation: flags.temperature === undefined ? {} : { do_sample: true, temperature: flags.temperature, ...(flags.seed !== undefined && { seed: flags.seed }) },
            ...(!flags.json && { onText: (t: string) => void process.stdout.write(t) }),
            signal,
          }),
          'stopping the answer (Ctrl-C again to quit at once)',
        ).catch((err: unknown) => {
          throw ragError('rag ask', err);
        });
        report(result, flags.json);
      } finally {
        await generator?.dispose();
        await open.release();
      }
    });
}
