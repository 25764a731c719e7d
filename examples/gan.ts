// The seed article's Keras GAN, line for line in Forja: two models, two
// optimizers, the discriminator frozen while the generator trains.
// Run: node --import tsx examples/gan.ts (EPOCHS=n; OUT_DIR=dir, default runs/examples)
import { layers, optimizers, sequential, Rng } from '../src/index.js';
import { mnistSplit } from '../src/data/index.js';
import { writeImageGrid } from '../src/viz/index.js';

const epochs = Number(process.env.EPOCHS ?? 20);
const outDir = process.env.OUT_DIR ?? 'runs/examples';
const batchSize = 128;
const { train } = mnistSplit({ seed: 0 });
const rng = new Rng(0);
const noise = (n: number) => Float32Array.from({ length: n * 100 }, () => rng.normal());

const generator = sequential([
  layers.dense({ units: 128, inputShape: [100] }),
  layers.leakyReLU({ alpha: 0.01 }),
  layers.dense({ units: 784, activation: 'sigmoid' }),
]);
const discriminator = sequential([
  layers.dense({ units: 128, inputShape: [784] }),
  layers.leakyReLU({ alpha: 0.01 }),
  layers.dense({ units: 1, activation: 'sigmoid' }),
]);
discriminator.compile({ optimizer: optimizers.adam({ learningRate: 2e-4, beta1: 0.5 }), loss: 'binaryCrossentropy' });
discriminator.trainable = false;
const gan = sequential([generator, discriminator]);
gan.compile({ optimizer: optimizers.adam({ learningRate: 2e-4, beta1: 0.5 }), loss: 'binaryCrossentropy' });

const ones = new Float32Array(batchSize).fill(1);
const zeros = new Float32Array(batchSize);
for (let epoch = 0; epoch < epochs; epoch++) {
  let d = 0;
  let g = 0;
  const steps = Math.floor(train.count / batchSize);
  for (let s = 0; s < steps; s++) {
    const real = train.images.subarray(s * batchSize * 784, (s + 1) * batchSize * 784);
    const fake = (await generator.predict(noise(batchSize))).data as Float32Array;
    d += ((await discriminator.trainOnBatch(real, ones)).loss + (await discriminator.trainOnBatch(fake, zeros)).loss) / 2;
    g += (await gan.trainOnBatch(noise(batchSize), ones)).loss;
  }
  console.log(`epoch ${epoch + 1}: d_loss ${(d / steps).toFixed(4)}  g_loss ${(g / steps).toFixed(4)}`);
}
const samples = await generator.predict(noise(64));
await writeImageGrid(`${outDir}/gan.png`, samples.data as Float32Array, { rows: 28, cols: 28, gridCols: 8 });
