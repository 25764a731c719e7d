// Preloaded by bench/start.ts (`node --import`): writes the wall-clock time (ms since the epoch) at which the
// process starts its first ONNX Runtime session.run, the first training step of `forja train`, to stderr.
import ort from 'onnxruntime-node';

const proto = ort.InferenceSession.prototype;
const run = proto.run;
let seen = false;
proto.run = function (...args) {
  if (!seen) {
    seen = true;
    process.stderr.write(`first-step-at ${Date.now()}\n`);
  }
  return run.apply(this, args);
};
