// The seed article's Keras autoencoder, line for line in Forja.
// Run: node --import tsx examples/autoencoder.ts (EPOCHS=n; OUT_DIR=dir, default runs/examples)
import { input, layers, model } from '../src/index.js';
import { mnistSplit } from '../src/data/index.js';
import { writeImageGrid } from '../src/viz/index.js';

const epochs = Number(process.env.EPOCHS ?? 10);
const outDir = process.env.OUT_DIR ?? 'runs/examples';
const { train, val } = mnistSplit({ seed: 0 }); // 9,000 / 1,000 real digits, pixels in [0, 1]

const inp = input({ shape: [784] });
const encoded = layers.dense({ units: 32, activation: 'relu' }).apply(inp);
const decoded = layers.dense({ units: 784, activation: 'sigmoid' }).apply(encoded);
const autoencoder = model({ inputs: inp, outputs: decoded });
autoencoder.compile({ optimizer: 'adam', loss: 'binaryCrossentropy' });

const history = await autoencoder.fit(train.images, train.images, { epochs, batchSize: 256, shuffle: true, validationData: [val.images, val.images] });
console.log('val_loss per epoch:', history.history.val_loss);

const reconstructions = await autoencoder.predict(val.images.subarray(0, 16 * 784));
await writeImageGrid(`${outDir}/autoencoder.png`, Float32Array.from([...val.images.subarray(0, 16 * 784), ...(reconstructions.data as Float32Array)]), { rows: 28, cols: 28, gridCols: 16 });
