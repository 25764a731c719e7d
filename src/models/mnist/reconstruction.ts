/**
 * Training an image-to-image model the Keras way, shared by the autoencoder
 * and the conv autoencoder: compile(Adam, binary cross-entropy), then
 * trainOnBatch(x, x) and evaluate(x, x).
 */
import { setRandomSeed } from '../../nn/index.js';
import { loadModel, saveModel, type Model } from '../../keras/index.js';
import { Adam } from '../../optim/index.js';
import { imageBatch, predictFloats } from './common.js';
import type { MnistModel, MnistModelName, MnistModelSpec, MnistTrainer, TrainSettings } from './spec.js';

/** Validation rows per evaluation run. */
const EVAL_BATCH = 250;

/** A trained image-to-image model; `exampleShape` is its per-image input shape ([784] or [1, 28, 28]). */
export function reconstructionModel(name: MnistModelName, model: Model, exampleShape: readonly number[]): MnistModel {
  return {
    name,
    reconstruct: (images, count) => predictFloats(model, imageBatch(images, count, exampleShape)),
  };
}

/** Compile `model` with Adam(lr) and mean BCE, and drive it batch by batch. */
export function reconstructionTrainer(name: MnistModelName, model: Model, exampleShape: readonly number[], lr: number): MnistTrainer {
  const optimizer = new Adam({ learningRate: lr });
  model.compile({ optimizer, loss: 'binaryCrossentropy' });
  return {
    ...reconstructionModel(name, model, exampleShape),
    state: { models: { [name]: model }, optimizers: { adam: { optimizer, trains: model } } },
    async trainBatch(images, count) {
      const x = imageBatch(images, count, exampleShape);
      const { loss } = await model.trainOnBatch(x, x);
      return { loss: loss! };
    },
    async validate(images, count) {
      const x = imageBatch(images, count, exampleShape);
      const { loss } = await model.evaluate(x, x, { batchSize: EVAL_BATCH });
      return { val_loss: loss! };
    },
    save: (dir) => saveModel(model, dir),
  };
}

/** Load a saved image-to-image model for reconstruct(). */
export async function loadReconstructionModel(name: MnistModelName, dir: string, exampleShape: readonly number[]): Promise<MnistModel> {
  return reconstructionModel(name, await loadModel(dir), exampleShape);
}

export interface ReconstructionSpecArgs {
  name: MnistModelName;
  description: string;
  defaults: TrainSettings;
  /** The per-image shape the model takes and gives: [784] or NCHW [1, 28, 28]. */
  exampleShape: readonly number[];
  build: () => Model;
  /** Intra-op threads when none are asked for (MnistModelSpec.threads). */
  threads?: number;
}

/** The spec of an image-to-image model trained on mean BCE with Adam. */
export function reconstructionSpec(args: ReconstructionSpecArgs): MnistModelSpec {
  const { name, exampleShape } = args;
  return {
    name,
    description: args.description,
    defaults: args.defaults,
    ...(args.threads === undefined ? {} : { threads: args.threads }),
    lossDoc: 'loss and val_loss are the mean per-pixel binary cross-entropy of the reconstructions (val: the 1,000 held-out digits).',
    create({ lr, seed }) {
      setRandomSeed(seed);
      return reconstructionTrainer(name, args.build(), exampleShape, lr);
    },
    load: (dir) => loadReconstructionModel(name, dir, exampleShape),
  };
}
