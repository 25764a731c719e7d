/**
 * Modules trained in full beside the adapters (PEFT's modules_to_save), and
 * the vocabulary resize that needs them: the base keeps its own weights,
 * frozen; the adapted model sees trainable copies of the saved modules
 * (resized, for the embedding and the head) and shares every other Variable
 * with the base.
 */
import { Variable } from '../../core/variable.js';
import type { CausalLmModel } from '../transformer/types.js';
import { transpose2d, weightOf, type ExpectedTensor } from '../transformer/weights.js';
import { LoraConfigError } from './errors.js';
import { HEAD, moduleOf, type LoraArchitecture } from './targets.js';

/** PEFT's name of a base tensor inside an adapter file. */
export const peftName = (tensor: string): string => `base_model.model.${tensor}`;

const HEAD_WEIGHT = `${HEAD}.weight`;

/**
 * A copy of a [rows, cols] matrix with `rows2` rows: old rows kept, new rows
 * the mean of the old ones. transformers' resize_token_embeddings (mean_resizing,
 * its default) draws them from N(mean, 1e-9·Σ), i.e. the mean up to ~3e-5 of
 * the rows' spread; Forja takes the mean itself, so a resize is deterministic.
 */
export function resizeRows(data: Float32Array, rows: number, cols: number, rows2: number): Float32Array {
  const out = new Float32Array(rows2 * cols);
  out.set(data.subarray(0, Math.min(rows, rows2) * cols));
  if (rows2 <= rows) return out;
  const mean = new Float64Array(cols);
  for (let r = 0; r < rows; r++) for (let c = 0; c < cols; c++) mean[c]! += data[r * cols + c]!;
  for (let c = 0; c < cols; c++) mean[c]! /= rows;
  for (let r = rows; r < rows2; r++) for (let c = 0; c < cols; c++) out[r * cols + c] = mean[c]!;
  return out;
}

/** The same for a [rows, cols] matrix whose columns are the vocabulary (the head in Forja's [hidden, vocab] layout). */
function resizeColumns(data: Float32Array, rows: number, cols: number, cols2: number): Float32Array {
  const out = new Float32Array(rows * cols2);
  for (let r = 0; r < rows; r++) {
    const row = data.subarray(r * cols, (r + 1) * cols);
    let mean = 0;
    for (let c = 0; c < cols; c++) mean += row[c]!;
    mean /= cols;
    const dst = out.subarray(r * cols2, (r + 1) * cols2);
    dst.set(row.subarray(0, Math.min(cols, cols2)));
    if (cols2 > cols) dst.fill(mean, cols);
  }
  return out;
}

export interface SavedModules {
  /** The model the adapters run on: the base with the saved modules' copies swapped in. */
  model: CausalLmModel;
  /** The copies, by checkpoint tensor name (for a tied head that stays tied: only the embedding). */
  variables: Map<string, Variable>;
  /** The head is its own matrix in `model` though the base ties it. */
  untied: boolean;
}

/**
 * Swap trainable copies of `saved` modules into `base`, the embedding and head
 * resized to `vocabSize`. A tied base stays tied when both the embedding and
 * the head are saved (one matrix trained for both) unless `untie` is set
 * (an adapter whose two copies differ), and is untied when only one of them
 * is, as PEFT's copies would be.
 */
export function withSavedModules(base: CausalLmModel, arch: LoraArchitecture, saved: readonly string[], vocabSize: number, untie = false): SavedModules {
  const v0 = base.dims.vocabSize;
  const hidden = base.dims.hidden;
  if (vocabSize !== v0 && !(saved.includes(arch.embedding) && saved.includes(HEAD))) {
    throw new LoraConfigError('modules_to_save', `a vocabulary of ${vocabSize} (the base has ${v0}) needs ${arch.embedding} and ${HEAD} in modules_to_save`);
  }
  const untied = arch.tied && (untie || saved.includes(HEAD) !== saved.includes(arch.embedding));
  const weights = new Map(base.weights);
  const variables = new Map<string, Variable>();
  const swap = (name: string, shape: readonly number[], value: Float32Array) => {
    const v = new Variable(peftName(name), shape, value);
    weights.set(name, v);
    variables.set(name, v);
  };
  for (const t of arch.tensors) {
    if (!saved.includes(moduleOf(t.name))) continue;
    const v = weightOf(base.weights, t.name);
    if (t.name === `${arch.embedding}.weight`) swap(t.name, [vocabSize, hidden], resizeRows(v.value, v0, hidden, vocabSize));
    else if (t.name === HEAD_WEIGHT) swap(t.name, [hidden, vocabSize], resizeColumns(v.value, hidden, v0, vocabSize));
    else swap(t.name, v.shape, v.value.slice());
  }
  if (untied) {
    // The head becomes its own [hidden, vocab] matrix, from the base's embedding: trained if it is
    // saved, frozen (the base's head, as before) if only the embedding is.
    const wte = weightOf(base.weights, `${arch.embedding}.weight`);
    const head = transpose2d(resizeRows(wte.value, v0, hidden, vocabSize), vocabSize, hidden);
    if (saved.includes(HEAD)) swap(HEAD_WEIGHT, [hidden, vocabSize], head);
    else weights.set(HEAD_WEIGHT, new Variable(HEAD_WEIGHT, [hidden, vocabSize], head, false));
  }
  const model = vocabSize === v0 && !untied && variables.size === 0 ? base : arch.rebuild({ vocabSize, tied: arch.tied && !untied }, weights);
  return { model, variables, untied };
}

export interface SavedTensor extends ExpectedTensor {
  /** The weight of the adapted model it is read from. */
  from: string;
}

/**
 * The checkpoint tensors the saved modules write, for `arch` of the adapted
 * model. A tied head that stays tied writes the embedding's matrix under
 * lm_head.weight too, so PEFT (which copies each module) loads the same function.
 */
export function savedTensors(arch: LoraArchitecture, saved: readonly string[], model: CausalLmModel): SavedTensor[] {
  const out: SavedTensor[] = arch.tensors.filter((t) => saved.includes(moduleOf(t.name))).map((t) => ({ ...t, from: t.name }));
  if (arch.tied && saved.includes(HEAD)) {
    out.push({ name: HEAD_WEIGHT, shape: [model.dims.vocabSize, model.dims.hidden], from: `${arch.embedding}.weight` });
  }
  return out;
}
