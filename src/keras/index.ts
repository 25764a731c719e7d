/** The Keras-style model API: Model (a layer graph with compile/fit/evaluate/predict), Functional, Sequential, saving. */
export { Model, type PredictOptions } from './model.js';
export { Functional, model, type FunctionalArgs } from './functional.js';
export { Sequential, sequential } from './sequential.js';
export { saveModel, loadModel, CONFIG_FILE } from './saving.js';
export { formatKerasShape } from './summary.js';
export type { CompileArgs, Data, EvaluateArgs, FitArgs } from './model-trainer.js';
