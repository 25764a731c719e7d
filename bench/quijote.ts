/**
 * The README's fine-tuning result: a small GPT trained on TinyShakespeare
 * (`forja train gpt`, GPT-2 tokenizer) adapted to Don Quijote, once with full
 * fine-tuning and once with LoRA, on the same held-out Quijote blocks. Each
 * phase (the base's validation, full, LoRA) runs in its own child process, so
 * each peak RSS is that phase's own. Samples come from `forja generate` (seeded sampling, the same for every model),
 * the LoRA run's through `--adapter` on the unchanged base.
 *
 *   node --import tsx bench/quijote.ts --base DIR [--data FILE] [--out DIR] [--steps N]
 *     [--full-lr X] [--lora-lr X] [--lora-r N] [--lora-targets LIST|all-linear] [--modules-to-save LIST]
 *     [--batch-size N] [--val-blocks N] [--prompt TEXT] [--sample-tokens N] [--phase before|full|lora]
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { resolveArgs, type TrainingArguments } from '../src/models/finetune/args.js';
import { finetune } from '../src/models/finetune/finetune.js';
import { loadBase, maxLengthFor, openData, trainableModel } from '../src/models/finetune/open.js';
import { FinetuneTask } from '../src/models/finetune/task.js';

interface Options {
  base: string;
  data: string;
  out: string;
  steps: number;
  fullLr: number;
  loraLr: number;
  batchSize: number;
  valBlocks: number;
  prompt: string;
  sampleTokens: number;
  loraR: number;
  loraTargets?: string[] | 'all-linear';
  modulesToSave?: string[];
  phase?: 'before' | 'full' | 'lora';
}

function parseArgs(argv: string[]): Options {
  const o: Partial<Options> = { data: '../shared/data/quijote/quijote.txt', out: '/tmp/quijote', steps: 200, fullLr: 3e-4, loraLr: 1e-3, batchSize: 16, valBlocks: 256, prompt: 'En un lugar de la Mancha', sampleTokens: 40, loraR: 8 };
  const num = (flag: string, v: string | undefined): number => {
    const n = Number(v);
    if (!(n > 0) || !Number.isFinite(n)) throw new Error(`${flag} must be a positive number, got '${v}'`);
    return n;
  };
  const list = (flag: string, v: string | undefined): string[] => {
    const names = (v ?? '').split(',').map((n) => n.trim()).filter(Boolean);
    if (names.length === 0) throw new Error(`${flag} needs a comma-separated list of module names`);
    return names;
  };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    const v = argv[++i];
    if (a === '--base') o.base = v;
    else if (a === '--data') o.data = v;
    else if (a === '--out') o.out = v;
    else if (a === '--prompt') o.prompt = v;
    else if (a === '--phase') o.phase = v as Options['phase'];
    else if (a === '--steps') o.steps = num(a, v);
    else if (a === '--full-lr') o.fullLr = num(a, v);
    else if (a === '--lora-lr') o.loraLr = num(a, v);
    else if (a === '--batch-size') o.batchSize = num(a, v);
    else if (a === '--val-blocks') o.valBlocks = num(a, v);
    else if (a === '--sample-tokens') o.sampleTokens = num(a, v);
    else if (a === '--lora-r') o.loraR = num(a, v);
    else if (a === '--lora-targets') o.loraTargets = v === 'all-linear' ? v : list(a, v);
    else if (a === '--modules-to-save') o.modulesToSave = list(a, v);
    else throw new Error(`unknown argument '${a}'`);
  }
  if (!o.base) throw new Error('--base DIR (a `forja train gpt --out` directory) is required');
  return o as Options;
}

// The same arguments for every phase, so the validation blocks (a seeded split of the same text) are the same.
function trainingArgs(o: Options, lr: number): TrainingArguments {
  return { learning_rate: lr, max_steps: o.steps, per_device_train_batch_size: o.batchSize, per_device_eval_batch_size: o.batchSize, warmup_ratio: 0.05, eval_steps: Math.max(1, Math.floor(o.steps / 3)), seed: 42 };
}

async function phase(o: Options): Promise<Record<string, unknown>> {
  const started = performance.now();
  const base = await loadBase(o.base);
  const given = trainingArgs(o, o.phase === 'lora' ? o.loraLr : o.fullLr);
  const args = { ...resolveArgs(given), max_length: maxLengthFor(given, base.model) };
  const opened = await openData({ data: o.data, validationSplit: o.valBlocks }, base, args);
  const data = opened.dataset;
  const validation = { blocks: data.validation?.size ?? 0, trainBlocks: data.train.size, maxLength: args.max_length };
  if (o.phase === 'before') {
    const task = new FinetuneTask({ trainable: trainableModel(base, undefined, args, opened.vocabSize).trainable, data, args });
    try {
      const valLoss = await task.evaluate(data.validation!);
      const p = task.parameterCounts;
      return { phase: 'before', ...validation, valLoss, valPerplexity: Math.exp(valLoss), totalParameters: p.total, seconds: (performance.now() - started) / 1000 };
    } finally {
      await task.release();
    }
  }
  const lora = o.phase === 'lora';
  const dir = join(o.out, o.phase!);
  const loraConfig = { r: o.loraR, lora_alpha: 2 * o.loraR, ...(o.loraTargets && { target_modules: o.loraTargets }), ...(o.modulesToSave && { modules_to_save: o.modulesToSave }) };
  const r = await finetune({ model: o.base, data, output_dir: dir, overwrite_output_dir: true, ...given, ...(lora && { lora: loraConfig }) });
  return {
    phase: o.phase, ...validation, learningRate: given.learning_rate, steps: r.steps, valLoss: r.valLoss, valPerplexity: r.valPerplexity, trainLoss: r.trainLoss,
    tokensPerSecond: r.tokensPerSecond, trainableParameters: r.trainableParameters, totalParameters: r.totalParameters,
    peakRssBytes: r.peakRssBytes, seconds: r.seconds, trainingSeconds: r.trainingSeconds,
    history: r.history.filter((h) => h.val_loss !== undefined).map((h) => ({ step: h.step, loss: h.loss, val_loss: h.val_loss })),
  };
}

const mb = (b: number): string => `${Math.round(b / 2 ** 20)} MB`;

function sample(o: Options, model: string, adapter?: string): string {
  const cli = fileURLToPath(new URL('../bin/forja.js', import.meta.url));
  const out = execFileSync(process.execPath, [cli, 'generate', o.prompt, '--model', model, ...(adapter ? ['--adapter', adapter] : []), '--temperature', '0.8', '--top-k', '40', '--seed', '1', '--max-new-tokens', String(o.sampleTokens), '--json'], { encoding: 'utf8' });
  return (JSON.parse(out.trim().split('\n').at(-1)!) as { generated_text: string }).generated_text;
}

async function main(): Promise<void> {
  const o = parseArgs(process.argv.slice(2));
  o.base = resolve(o.base);
  if (o.phase) {
    console.log(JSON.stringify(await phase(o)));
    return;
  }
  const self = fileURLToPath(import.meta.url);
  const results: Record<string, Record<string, unknown>> = {};
  for (const p of ['before', 'full', 'lora'] as const) {
    const child = spawnSync(process.execPath, ['--import', 'tsx', self, ...process.argv.slice(2), '--phase', p], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] });
    if (child.status !== 0) throw new Error(`phase ${p} failed (exit ${child.status}): ${child.stdout}`);
    results[p] = JSON.parse(child.stdout.trim().split('\n').at(-1)!);
    console.error(`${p}: ${JSON.stringify(results[p])}`);
  }
  const { before, full, lora } = results as Record<string, Record<string, number>>;
  console.log(`validation: ${before!.blocks} held-out blocks of ${before!.maxLength} tokens; ${before!.trainBlocks} train blocks\n`);
  console.log('| run | trainable params | lr | val ppl (Quijote) | tokens/s | peak RSS | wall time |');
  console.log('| --- | ---: | ---: | ---: | ---: | ---: | ---: |');
  console.log(`| base (TinyShakespeare only) | – | – | ${before!.valPerplexity!.toFixed(1)} | – | – | – |`);
  const loraName = `LoRA r ${o.loraR}, alpha ${2 * o.loraR} (${o.loraTargets ?? 'default targets'}${o.modulesToSave ? `; modules_to_save ${o.modulesToSave}` : ''})`;
  for (const [name, r] of [['full fine-tuning', full!], [loraName, lora!]] as const) {
    console.log(`| ${name} | ${r.trainableParameters!.toLocaleString('en-US')} of ${r.totalParameters!.toLocaleString('en-US')} | ${r.learningRate} | ${r.valPerplexity!.toFixed(1)} | ${Math.round(r.tokensPerSecond!)} | ${mb(r.peakRssBytes!)} | ${r.seconds!.toFixed(0)} s |`);
  }
  console.log('');
  console.log(`base: ${JSON.stringify(sample(o, o.base))}`);
  console.log(`full: ${JSON.stringify(sample(o, join(o.out, 'full')))}`);
  console.log(`LoRA: ${JSON.stringify(sample(o, o.base, join(o.out, 'lora')))}`);
}

await main();
