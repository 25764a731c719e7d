/** Training: the one Trainer loop, step graphs, TrainStep (the custom loop), callbacks, checkpoints, metrics. */
export { Trainer, type Position, type StepResult as TaskStepResult, type TrainingState, type TrainingTask, type TrainerOptions, type TrainOutcome } from './trainer.js';
export { History, type HistoryRow, type Logs, type Results } from './history.js';
export { CallbackList, earlyStopping, lambdaCallback, type Callback, type EarlyStoppingArgs } from './callbacks.js';
export { backupAndRestore, modelCheckpoint, type BackupAndRestore, type BackupAndRestoreArgs, type ModelCheckpointArgs } from './checkpoint-callbacks.js';
export { csvLogger, jsonLogger, historyCsv } from './loggers.js';
export { CHECKPOINT_FILE, readCheckpoint, readCheckpointRun, writeCheckpoint, type CheckpointContents, type LegacyReader, type StoredRun } from './checkpoint.js';
export { CheckpointError, ResumeMismatchError, SettingsError, TrainingDivergedError } from './errors.js';
export { TrainStep, type StepInput, type StepLoss, type StepResult, type TrainStepArgs } from './train-step.js';
export { binaryAccuracy, categoricalAccuracy, sparseCategoricalAccuracy, type MetricName } from './metrics.js';
export { StepRunner, type StepGraphSpec, type StepInputSpec, type StepOutcome } from './step-runner.js';
export { EvalRunner } from './eval-runner.js';
