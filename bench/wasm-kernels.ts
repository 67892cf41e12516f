// The wasm engine's own kernels against this project's replacements (src/engine/wasm), on the
// shapes of a ResNet-50 (64x64, batch 32) training step, in one process, interleaved (A, B, A, B...)
// and timed in process CPU time, so that load from other programs affects both alike.
// Usage: node dist/bench/wasm-kernels.js [--rounds 3]   (prints one JSON line)
import * as tf from '../src/tf.js';
import '@tensorflow/tfjs-backend-wasm';
import { registerWasmTrainingKernels } from '../src/engine/wasm/kernels.js';

const i = process.argv.indexOf('--rounds');
const ROUNDS = i >= 0 ? Number(process.argv[i + 1]) : 3;
const CALLS_PER_TIMING = 3;
const BATCH = 32;

await tf.setBackend('wasm'); // runs the engine kernels' setup, so they can be called directly below
const backend = tf.backend();
const replaced = ['Conv2DBackpropInput', 'Tile', 'Sum', 'Mean', 'FusedBatchNorm', 'Identity'];
const engineKernels = new Map(replaced.map((name) => [name, tf.getKernel(name, 'wasm')!.kernelFunc]));
registerWasmTrainingKernels();

/** CPU milliseconds per call of `run` (after one warm-up call). */
function cpuMs(run: () => void): number {
  run();
  const start = process.cpuUsage();
  for (let k = 0; k < CALLS_PER_TIMING; k++) run();
  const used = process.cpuUsage(start);
  return (used.user + used.system) / 1000 / CALLS_PER_TIMING;
}

interface Case {
  name: string;
  kernel: string;
  count: number; // calls per training step
  inputs: Record<string, tf.Tensor>;
  attrs: Record<string, unknown>;
}

const cases: Case[] = [];
// [input size, in channels, out channels, kernel, stride, calls per step] of the course ResNet-50.
const convs: Array<[number, number, number, number, number, number]> = [
  [15, 64, 64, 1, 1, 1], [15, 64, 64, 3, 1, 3], [15, 64, 256, 1, 1, 4], [15, 256, 64, 1, 1, 2],
  [15, 256, 128, 1, 2, 1], [15, 256, 512, 1, 2, 1], [8, 128, 128, 3, 1, 4], [8, 128, 512, 1, 1, 4],
  [8, 512, 128, 1, 1, 3], [8, 512, 256, 1, 2, 1], [8, 512, 1024, 1, 2, 1], [4, 256, 256, 3, 1, 6],
  [4, 256, 1024, 1, 1, 6], [4, 1024, 256, 1, 1, 5], [4, 1024, 512, 1, 2, 1], [4, 1024, 2048, 1, 2, 1],
  [2, 512, 512, 3, 1, 3], [2, 512, 2048, 1, 1, 3], [2, 2048, 512, 1, 1, 2],
];
for (const [size, inC, outC, k, stride, count] of convs) {
  const pad = k === 3 ? 'same' : 'valid';
  const inputShape: [number, number, number, number] = [BATCH, size, size, inC];
  const outSize = pad === 'same' ? Math.ceil(size / stride) : Math.floor((size - k) / stride) + 1;
  cases.push({
    name: `dx ${size}x${size}x${inC} ${k}x${k}/${stride} -> ${outC}`,
    kernel: 'Conv2DBackpropInput',
    count,
    inputs: { dy: tf.randomNormal([BATCH, outSize, outSize, outC]), filter: tf.randomNormal([k, k, inC, outC]) },
    attrs: { strides: stride, pad, dataFormat: 'NHWC', inputShape },
  });
}
const activation = tf.randomNormal([BATCH, 15, 15, 256]);
const perChannel = () => tf.randomUniform([256], 0.5, 1.5);
cases.push(
  { name: 'tile [1,1,1,256] to 32x15x15x256', kernel: 'Tile', count: 1, inputs: { x: tf.randomNormal([1, 1, 1, 256]) }, attrs: { reps: [BATCH, 15, 15, 1] } },
  { name: 'sum 32x15x15x256 over N,H,W', kernel: 'Sum', count: 1, inputs: { x: activation }, attrs: { axis: [0, 1, 2], keepDims: false } },
  { name: 'mean 32x15x15x256 over N,H,W', kernel: 'Mean', count: 1, inputs: { x: activation }, attrs: { axis: [0, 1, 2], keepDims: true } },
  {
    name: 'batch norm 32x15x15x256',
    kernel: 'FusedBatchNorm',
    count: 1,
    inputs: { x: activation, mean: perChannel(), variance: perChannel(), offset: perChannel(), scale: perChannel() },
    attrs: { varianceEpsilon: 1e-3 },
  },
  { name: 'identity 32x15x15x256', kernel: 'Identity', count: 1, inputs: { x: activation }, attrs: {} },
);

const results = cases.map((c) => {
  const viaEngine = () => {
    const out = engineKernels.get(c.kernel)!({ inputs: c.inputs, attrs: c.attrs as tf.NamedAttrMap, backend }) as tf.TensorInfo;
    backend.disposeData(out.dataId);
  };
  const viaOurs = () => tf.dispose(tf.engine().runKernel(c.kernel, c.inputs, c.attrs as tf.NamedAttrMap) as tf.Tensor);
  let engineMs = 0;
  let oursMs = 0;
  for (let r = 0; r < ROUNDS; r++) {
    engineMs += cpuMs(viaEngine) / ROUNDS;
    oursMs += cpuMs(viaOurs) / ROUNDS;
  }
  return { case: c.name, calls_per_step: c.count, engine_ms: +engineMs.toFixed(2), ours_ms: +oursMs.toFixed(2) };
});
const dx = results.filter((r) => r.case.startsWith('dx'));
const perStep = (key: 'engine_ms' | 'ours_ms') => Math.round(dx.reduce((s, r) => s + r[key] * r.calls_per_step, 0));
console.log(
  JSON.stringify({
    timing: `process CPU ms per call, mean of ${ROUNDS} interleaved rounds of ${CALLS_PER_TIMING} calls`,
    conv2d_backprop_input_ms_per_step: { engine: perStep('engine_ms'), ours: perStep('ours_ms') },
    cases: results,
  }),
);
