/**
 * `npm run bench:diffusion -- [--run DIR] [--threads N]`: the MNIST diffusion
 * model's speed. DDIM sampling of one batch of 100 digits (10 of each) at
 * the default 25 steps with guidance (each step one network run on 200 rows),
 * and training images/s over a few steps of the default batch. With --run, the
 * sampling uses that trained run's weights (the speed does not depend on
 * them); otherwise a freshly initialised network of the default size.
 */
import { parseArgs } from 'node:util';
import { loadMnist } from '../src/data/index.js';
import { loadRunModel } from '../src/models/mnist/registry.js';
import { buildDiffusionModel, diffusion, diffusionSampler, diffusionTrainer, DEFAULT_SAMPLING } from '../src/models/mnist/diffusion/model.js';
import { NoiseSchedule } from '../src/models/mnist/diffusion/schedule.js';
import { setThreads } from '../src/runtime/session.js';
import { loadavg } from 'node:os';

const { values } = parseArgs({ options: { run: { type: 'string' }, threads: { type: 'string' }, 'train-steps': { type: 'string', default: '10' } } });
if (values.threads) setThreads(Number(values.threads));
const load = () => loadavg().map((l) => l.toFixed(1)).join(' ');

const model = values.run ? await loadRunModel(values.run) : diffusionSampler(buildDiffusionModel(), new NoiseSchedule());
const labels = Array.from({ length: 100 }, (_, i) => Math.floor(i / 10));
await model.sampleDigits!(labels.slice(0, 10), { seed: 0, steps: 1 }); // compile the session
let started = performance.now();
await model.sampleDigits!(labels, { seed: 1, steps: DEFAULT_SAMPLING.steps, guidance: DEFAULT_SAMPLING.guidance });
const sampleSeconds = (performance.now() - started) / 1000;
console.log(`DDIM ${DEFAULT_SAMPLING.steps} steps, guidance ${DEFAULT_SAMPLING.guidance}, batch 100: ${sampleSeconds.toFixed(1)} s, ${(100 / sampleSeconds).toFixed(2)} samples/s (load ${load()})`);

const trainer = diffusionTrainer(1e-3, 0);
const { images, labels: digits } = loadMnist();
const batch = diffusion.defaults.batchSize;
await trainer.trainBatch(images.subarray(0, batch * 784), batch, digits.subarray(0, batch)); // compile the step
const steps = Number(values['train-steps']);
started = performance.now();
for (let s = 1; s <= steps; s++) await trainer.trainBatch(images.subarray(s * batch * 784, (s + 1) * batch * 784), batch, digits.subarray(s * batch, (s + 1) * batch));
const trainSeconds = (performance.now() - started) / 1000;
console.log(`training, batch ${batch}: ${((steps * batch) / trainSeconds).toFixed(1)} images/s over ${steps} steps (load ${load()})`);
