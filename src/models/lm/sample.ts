/**
 * A sample of the model's text at every evaluation, as a callback: the
 * inference graph is compiled over the current weights, `sampleTokens` tokens
 * are drawn (temperature 0.8, top-k 200, seeded), and the report goes to the
 * caller with the evaluation's losses.
 */
import type { TextDataset } from '../../data/text.js';
import { generate } from '../../text/generate.js';
import type { TextTokenizer } from '../../text/tokenizer.js';
import type { Callback } from '../../train/callbacks.js';
import type { Trainer } from '../../train/trainer.js';
import { CausalLM } from '../causal-lm.js';
import type { EvalReport, LmTask } from './task.js';

export interface EvalSample extends EvalReport {
  sample: string;
}

/** `settings.sampleTokens` sampled tokens of the task's current model, decoded. */
export async function sampleText(task: LmTask): Promise<string> {
  const lm = await CausalLM.fromModel(task.model);
  try {
    const { tokenizer } = task.parts.tokenizer;
    const ids = await slidingGenerate(lm, samplePrompt(tokenizer, task.parts.dataset), task.settings.sampleTokens, task.settings.seed);
    return tokenizer.decode(ids, { skipSpecialTokens: true });
  } finally {
    await lm.release();
  }
}

/** After each evaluation: draw a sample and report it with the losses. */
export function sampleCallback(task: LmTask, report: (evaluation: EvalSample) => void | Promise<void>): Callback {
  let trainer!: Trainer;
  return {
    setTrainer: (t) => (trainer = t),
    async onEpochEnd(_epoch, logs) {
      const sample = await sampleText(task);
      await report({ step: trainer.position.globalStep, trainLoss: logs.train_loss!, valLoss: logs.val_loss!, sample });
    },
  };
}

/** A newline when the vocabulary has one (char-level), else BOS/EOS, else the first validation token. */
export function samplePrompt(tokenizer: TextTokenizer, dataset: TextDataset): number[] {
  const newline = (() => {
    try {
      return tokenizer.encode('\n', { addSpecialTokens: false });
    } catch {
      return [];
    }
  })();
  if (newline.length > 0) return newline;
  const special = tokenizer.bosTokenId ?? tokenizer.eosTokenId;
  return special !== undefined ? [special] : [dataset.val[0] ?? 0];
}

/**
 * `count` new tokens; when the context is full, generation restarts from the
 * last half of it (a KV cache cannot slide past its positions).
 */
export async function slidingGenerate(lm: CausalLM, prompt: number[], count: number, seed: number): Promise<number[]> {
  const produced: number[] = [];
  let context = prompt.slice(-Math.floor(lm.maxPositions / 2));
  for (let round = 0; produced.length < count; round++) {
    const room = Math.min(lm.maxPositions - context.length, count - produced.length);
    const out = await generate(lm, [context], { max_new_tokens: room, do_sample: true, temperature: 0.8, top_k: 200, seed: seed + round });
    const fresh = out.newTokens[0]!;
    if (fresh.length === 0) break;
    produced.push(...fresh);
    context = [...context, ...fresh].slice(-Math.floor(lm.maxPositions / 2));
  }
  return produced;
}
