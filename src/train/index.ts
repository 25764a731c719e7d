/** Training: Model.compile/fit/evaluate/trainOnBatch (installed on import), TrainStep, callbacks, metrics. */
import './model-training.js';

export type { CompileArgs, Data, EvaluateArgs, FitArgs } from './model-trainer.js';
export { History, type Logs, type Results } from './history.js';
export { earlyStopping, type Callback, type EarlyStoppingArgs } from './callbacks.js';
export { TrainStep, type StepInput, type StepLoss, type StepResult, type TrainStepArgs } from './train-step.js';
export { binaryAccuracy, categoricalAccuracy, sparseCategoricalAccuracy, type MetricName } from './metrics.js';
export { StepRunner, type StepGraphSpec, type StepInputSpec, type StepOutcome } from './step-runner.js';
