// A consumer project's script for test/package.test.ts: plain JavaScript that only sees the installed
// package 'forja' (no tsx, no sources). Usage: node package-consumer.mjs GPT2_TINY_DIR PROMPT NEW_TOKENS
// Prints one JSON line with what it measured; the test holds the expectations.
import { data, generate, input, layers, model, pipeline } from 'forja';

const [modelDir, prompt, newTokens] = process.argv.slice(2);
if (!modelDir || prompt === undefined || !newTokens) throw new Error('usage: package-consumer.mjs GPT2_TINY_DIR PROMPT NEW_TOKENS');

// The seed's autoencoder, one epoch on a slice of MNIST.
const PIXELS = 784;
const { train, val } = data.mnistSplit({ seed: 0 });
const xTrain = train.images.subarray(0, 2048 * PIXELS);
const xTest = val.images.subarray(0, 256 * PIXELS);
const inp = input({ shape: [PIXELS] });
const encoded = layers.dense({ units: 32, activation: 'relu' }).apply(inp);
const decoded = layers.dense({ units: PIXELS, activation: 'sigmoid' }).apply(encoded);
const autoencoder = model({ inputs: inp, outputs: decoded });
autoencoder.compile({ optimizer: 'adam', loss: 'binaryCrossentropy' });
const before = await autoencoder.evaluate(xTest, xTest);
const history = await autoencoder.fit(xTrain, xTrain, { epochs: 1, batchSize: 256, shuffle: true, validationData: [xTest, xTest] });
const after = await autoencoder.evaluate(xTest, xTest);

// Greedy text generation with the gpt2-tiny fixture.
const generator = await pipeline('text-generation', modelDir);
const max_new_tokens = Number(newTokens);
const [{ generated_text }] = await generator(prompt, { max_new_tokens, do_sample: false });
const promptIds = generator.encode(prompt);
const { sequences } = await generate(generator.model, [promptIds], { generation_config: generator.generationConfig, max_new_tokens });
await generator.dispose();

console.log(JSON.stringify({ before: before.loss, after: after.loss, history: history.history, promptIds, sequence: sequences[0], generated_text }));
