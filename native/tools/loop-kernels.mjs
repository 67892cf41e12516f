// Times the addon's own per-channel loops (moments, the batch-norm training gradient) on the raw addon,
// for channel counts 64..2048 over 2,097,152 floats, and prints one JSON line of milliseconds per call.
// Usage: node native/tools/loop-kernels.mjs [path/to/tfjs_native.node] [threads=2]
// (one addon per process: to compare two builds, alternate processes, e.g. under `cpulock -x`).
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);
const path = process.argv[2] ?? new URL('../build/Release/tfjs_native.node', import.meta.url).pathname;
const threads = Number(process.argv[3] ?? 2);
const addon = require(path);
addon.setThreads(threads, threads);
const n = 2 ** 21, reps = 60;
const x = Float32Array.from({ length: n }, () => Math.random());
const dy = Float32Array.from({ length: n }, () => Math.random());
const dx = new Float32Array(n);
const msPerCall = (f) => {
  for (let i = 0; i < 5; i++) f();
  const t = performance.now();
  for (let i = 0; i < reps; i++) f();
  return +((performance.now() - t) / reps).toFixed(3);
};
const out = { addon: path, threads, floats: n };
for (const C of [64, 128, 256, 512, 1024, 2048]) {
  const [mean, sumDeviation, dscale, doffset, dxSums] = [0, 0, 0, 0, 0].map(() => new Float32Array(C));
  const variance = new Float32Array(C).fill(1), scale = new Float32Array(C).fill(1);
  out[`moments_${C}_ms`] = msPerCall(() => addon.moments(x, mean, variance, sumDeviation));
  out[`batch_norm_grad_${C}_ms`] = msPerCall(() =>
    addon.batchNormTrainingGrad(x, mean, variance, scale, dy, 1e-3, dx, dscale, doffset, dxSums));
}
console.log(JSON.stringify(out));
