/**
 * Keras' training methods on Model: compile, fit, evaluate, trainOnBatch,
 * testOnBatch. Model lives in nn, below this layer, so the methods are
 * declared onto it here (module augmentation) and installed on its
 * prototype when this module loads; the package entry point loads it.
 */
import { Model } from '../nn/index.js';
import type { Optimizer } from '../optim/index.js';
import type { History, Results } from './history.js';
import { ModelTrainer, type CompileArgs, type Data, type EvaluateArgs, type FitArgs } from './model-trainer.js';

declare module '../nn/model.js' {
  interface Model {
    /** Choose the optimizer, loss and metrics; captures which weights are trainable now. */
    compile(args: CompileArgs): void;
    /** Train for `epochs` over (x, y); returns the per-epoch History. */
    fit(x: Data, y: Data, args?: FitArgs): Promise<History>;
    /** Loss and metrics over (x, y), in inference mode. */
    evaluate(x: Data, y: Data, args?: EvaluateArgs): Promise<Results>;
    /** One training step on exactly this batch. */
    trainOnBatch(x: Data, y: Data): Promise<Results>;
    /** Loss and metrics on exactly this batch, in inference mode. */
    testOnBatch(x: Data, y: Data): Promise<Results>;
    /** Set from a callback to end fit after the current batch. */
    stopTraining: boolean;
    /** The optimizer compile() chose (undefined before compile). */
    readonly optimizer: Optimizer | undefined;
  }
}

const trainers = new WeakMap<Model, ModelTrainer>();

function trainerOf(model: Model, method: string): ModelTrainer {
  const trainer = trainers.get(model);
  if (!trainer) throw new Error(`${model.where}.${method}: the model must be compiled first; call compile({ optimizer, loss })`);
  return trainer;
}

Model.prototype.compile = function compile(this: Model, args: CompileArgs): void {
  void trainers.get(this)?.release();
  trainers.set(this, new ModelTrainer(this, args));
};

Model.prototype.fit = async function fit(this: Model, x: Data, y: Data, args?: FitArgs): Promise<History> {
  return trainerOf(this, 'fit').fit(x, y, args);
};

Model.prototype.evaluate = async function evaluate(this: Model, x: Data, y: Data, args?: EvaluateArgs): Promise<Results> {
  return trainerOf(this, 'evaluate').evaluate(x, y, args);
};

Model.prototype.trainOnBatch = async function trainOnBatch(this: Model, x: Data, y: Data): Promise<Results> {
  return trainerOf(this, 'trainOnBatch').trainOnBatch(x, y);
};

Model.prototype.testOnBatch = async function testOnBatch(this: Model, x: Data, y: Data): Promise<Results> {
  return trainerOf(this, 'testOnBatch').evaluate(x, y, { batchSize: Number.MAX_SAFE_INTEGER }, 'testOnBatch');
};

Object.defineProperty(Model.prototype, 'stopTraining', {
  get(this: Model): boolean {
    return trainers.get(this)?.stopTraining ?? false;
  },
  set(this: Model, value: boolean) {
    trainerOf(this, 'stopTraining').stopTraining = value;
  },
});

Object.defineProperty(Model.prototype, 'optimizer', {
  get(this: Model): Optimizer | undefined {
    return trainers.get(this)?.optimizer;
  },
});
