/** What fit() returns: per-epoch logs, Keras' History. */

/** Named values for one batch or epoch: loss, metrics, val_loss... */
export type Logs = Record<string, number>;

/** Logs that always hold the loss: what trainOnBatch, evaluate and testOnBatch return. */
export type Results = { loss: number } & Logs;

export class History {
  /** Epoch indices (0-based) in the order they ran. */
  readonly epoch: number[] = [];
  /** Each log key's value per epoch: history.loss[i] belongs to epoch[i]. */
  readonly history: Record<string, number[]> = {};

  constructor(readonly params: { epochs: number; steps: number; batchSize: number; samples: number }) {}

  record(epoch: number, logs: Logs): void {
    this.epoch.push(epoch);
    for (const [key, value] of Object.entries(logs)) (this.history[key] ??= []).push(value);
  }
}
