// onnxruntime-node's side of bench/inference.sh: times an ONNX model (bench/export_onnx.py) on random
// NHWC images in [0, 1), as `resnet bench --predict-only` times the project's compiled prediction.
// Session: CPU execution provider, all graph optimizations (batch norm folded into the convolutions,
// activations fused, NCHWc layouts), sequential execution, intraOpNumThreads = --threads (the same
// count as the native engine's RESNET_NATIVE_THREADS), interOpNumThreads 1. One warm-up run, then
// --steps timed runs. Prints one JSON line: images per second (mean) and the batch latency median and
// p99 in milliseconds.
// Usage: node bench/onnxruntime.mjs --model FILE --batch 32 --size 64 [--steps 8] [--threads 2]
import { parseArgs } from 'node:util';
import ort from 'onnxruntime-node';

const { values: args } = parseArgs({
  options: {
    model: { type: 'string' }, batch: { type: 'string', default: '1' }, size: { type: 'string', default: '224' },
    steps: { type: 'string', default: '8' }, threads: { type: 'string', default: '2' },
  },
});
const [batch, size, steps, threads] = [args.batch, args.size, args.steps, args.threads].map(Number);
if (!args.model || ![batch, size, steps, threads].every((n) => Number.isInteger(n) && n > 0)) {
  console.error('usage: node bench/onnxruntime.mjs --model FILE --batch N --size S [--steps N] [--threads N]');
  process.exit(2);
}
const session = await ort.InferenceSession.create(args.model, {
  executionProviders: ['cpu'], graphOptimizationLevel: 'all', executionMode: 'sequential',
  intraOpNumThreads: threads, interOpNumThreads: 1,
});
const pixels = new Float32Array(batch * size * size * 3);
let seed = 1;
for (let i = 0; i < pixels.length; i++) pixels[i] = (seed = (Math.imul(seed, 1664525) + 1013904223) >>> 0) / 2 ** 32;
const feeds = { [session.inputNames[0]]: new ort.Tensor('float32', pixels, [batch, size, size, 3]) };
const runOnce = async () => (await session.run(feeds))[session.outputNames[0]].data;
await runOnce();
const times = [];
for (let i = 0; i < steps; i++) {
  const start = performance.now();
  await runOnce();
  times.push(performance.now() - start);
}
const sorted = [...times].sort((a, b) => a - b);
const at = (q) => sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))];
const mean = times.reduce((a, b) => a + b, 0) / steps;
const round = (x, d = 3) => Math.round(x * 10 ** d) / 10 ** d;
console.log(JSON.stringify({
  backend: 'onnxruntime-node', version: ort.env.versions?.node ?? 'unknown', model: args.model, input: [size, size, 3], batch_size: batch,
  threads, steps, predict_images_per_sec: round(batch / (mean / 1000), 2), predict_batch_ms_median: round(at(0.5)), predict_batch_ms_p99: round(at(0.99)),
}));
