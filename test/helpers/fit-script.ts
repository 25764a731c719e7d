/**
 * A user's training script, run in a child process by the kill/resume tests:
 * fits a small net with backupAndRestore, prints one line per epoch, stops
 * cleanly on SIGINT (as a script wiring an AbortController would), and prints
 * the final weights as JSON.  Usage: fit-script.ts BACKUP_PATH EPOCHS
 */
import { backupAndRestore, HostTensor, layers, optimizers, sequential, setRandomSeed } from '../../src/index.js';

const [backup, epochsArg] = process.argv.slice(2);
const x = new Float32Array(400 * 3).map((_, i) => Math.sin(i * 0.37));
const y = new Float32Array(400).map((_, i) => x[i * 3]! - 2 * x[i * 3 + 2]!);
setRandomSeed(3);
const net = sequential([layers.dense({ units: 16, activation: 'tanh', inputShape: [3] }), layers.dense({ units: 1 })]);
net.compile({ optimizer: optimizers.adam({ learningRate: 0.01 }), loss: 'mse' });
const stop = new AbortController();
process.on('SIGINT', () => stop.abort());
await net.fit(new HostTensor(x, [400, 3]), y, {
  epochs: Number(epochsArg),
  batchSize: 4,
  signal: stop.signal,
  callbacks: [
    ...(backup ? [backupAndRestore({ path: backup })] : []),
    { onEpochEnd: (epoch) => void process.stdout.write(`epoch ${epoch + 1}\n`) },
    // Slow enough that a signal sent after the first epoch lands mid-run.
    { onBatchEnd: () => new Promise<void>((resolve) => setTimeout(resolve, 2)) },
  ],
});
process.stdout.write(`${JSON.stringify({ interrupted: stop.signal.aborted, weights: net.weights.map((w) => Array.from(w.value)) })}\n`);
