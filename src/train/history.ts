/** What fit() returns: per-epoch logs, Keras' History. */

/** Named values for one batch or epoch: loss, metrics, val_loss... */
export type Logs = Record<string, number>;

/** Logs that always hold the loss: what trainOnBatch, evaluate and testOnBatch return. */
export type Results = { loss: number } & Logs;

/** One epoch's logs with its index, as a checkpoint stores it. */
export type HistoryRow = { epoch: number } & Logs;

export class History {
  /** Epoch indices (0-based) in the order they ran. */
  readonly epoch: number[] = [];
  /** Each log key's value per epoch: history.loss[i] belongs to epoch[i]. */
  readonly history: Record<string, number[]> = {};
  /** What the run was asked for (fit: epochs, steps per epoch, batch size, samples). */
  params: Record<string, number> = {};

  record(epoch: number, logs: Logs): void {
    const row = this.epoch.push(epoch) - 1;
    // By row, not push: a key missing from some epochs (restored rows) must not shift the later ones.
    for (const [key, value] of Object.entries(logs)) (this.history[key] ??= [])[row] = value;
  }

  /** One row per epoch. */
  rows(): HistoryRow[] {
    return this.epoch.map((epoch, i) => {
      const row: HistoryRow = { epoch };
      for (const [key, values] of Object.entries(this.history)) if (values[i] !== undefined) row[key] = values[i]!;
      return row;
    });
  }

  /** Replace the contents with saved rows (a resumed run). */
  restore(rows: readonly HistoryRow[]): void {
    this.epoch.length = 0;
    for (const key of Object.keys(this.history)) delete this.history[key];
    for (const { epoch, ...logs } of rows) this.record(epoch, logs);
  }
}
