// One full training step of the course ResNet-50 (batch 2, 64x64) on the native engine against the
// cpu backend, from the same initial weights: the loss and all 214 weight gradients.
//
// At initialization these gradients are ill-conditioned: multiplying the input images by 1 + 1e-7
// (about one float32 rounding) moves some of them by several percent (batch norm over 2x2 positions
// in stage 5 amplifies rounding), so two correct float32 engines differ by that much too. The tool
// therefore also measures that sensitivity on the native engine and compares the two:
//   difference to cpu  = max over tensors of max|native - cpu| / scale,
//   sensitivity        = the same between native(x) and native(x * (1 + 1e-7)),
// scale = the tensor's largest magnitude, at least 1e-4 of the largest gradient (conv biases under
// batch norm have a zero gradient in exact arithmetic: both engines return rounding noise there).
// Exit status 1 when the losses differ by more than 1e-5 (relative) or the difference to cpu
// exceeds twice the sensitivity. Slow: the cpu backend needs 1-2 minutes.
// Run: node native/tools/step_vs_cpu.mjs [--precision bfloat16]
import * as tf from '../../dist/src/tf.js';
import { useBackend, usePrecision } from '../../dist/src/engine/backends.js';
import { resnet50 } from '../../dist/src/models/resnet50.js';

const precision = process.argv.includes('--precision') ? process.argv[process.argv.indexOf('--precision') + 1] : 'float32';
const PERTURBATION = 1e-7;
const random = (shape, seed) => {
  let s = seed;
  return Float32Array.from({ length: shape.reduce((a, b) => a * b, 1) }, () => ((s = (s * 1664525 + 1013904223) >>> 0) / 2 ** 32));
};
const IMAGE_SHAPE = [2, 64, 64, 3];
const images = random(IMAGE_SHAPE, 1);
let initial = null; // the cpu model's initial weights, given to the native one

async function gradients(backend, scaleImages = 1) {
  const engine = await useBackend(backend);
  await usePrecision(engine, backend === 'native' ? precision : 'float32');
  const model = resnet50({ inputShape: [64, 64, 3], classes: 6 });
  if (initial) model.setWeights(initial.map(([values, shape]) => tf.tensor(values, shape)));
  else initial = model.getWeights().map((w) => [Float32Array.from(w.dataSync()), w.shape]);
  const xs = tf.tensor(images.map((v) => v * scaleImages), IMAGE_SHAPE);
  const ys = tf.cast(tf.oneHot(tf.tensor1d([1, 4], 'int32'), 6), 'float32');
  const weights = model.trainableWeights.map((w) => w.read());
  const started = performance.now();
  const { value, grads } = tf.variableGrads(() => tf.losses.softmaxCrossEntropy(ys, model.apply(xs, { training: true })), weights);
  return {
    loss: value.dataSync()[0], names: model.trainableWeights.map((w) => w.name), seconds: (performance.now() - started) / 1000,
    grads: weights.map((w) => Float32Array.from(grads[w.name].dataSync())),
  };
}

const maxAbs = (v) => v.reduce((m, x) => Math.max(m, Math.abs(x)), 0);
function worstDifference(a, b) {
  const floor = 1e-4 * Math.max(...a.grads.map(maxAbs));
  let worst = 0, name = '';
  a.grads.forEach((e, k) => {
    let diff = 0;
    for (let i = 0; i < e.length; i++) diff = Math.max(diff, Math.abs(e[i] - b.grads[k][i]));
    const rel = diff / Math.max(maxAbs(e), floor);
    if (rel > worst) [worst, name] = [rel, a.names[k]];
  });
  return { worst, name };
}

const cpu = await gradients('cpu');
const native = await gradients('native');
const nudged = await gradients('native', 1 + PERTURBATION);
const toCpu = worstDifference(native, cpu), sensitivity = worstDifference(native, nudged);
const lossDifference = Math.abs(native.loss - cpu.loss) / Math.abs(cpu.loss);
console.log(JSON.stringify({
  precision, loss_cpu: cpu.loss, loss_native: native.loss, loss_relative_difference: +lossDifference.toExponential(2),
  gradients: cpu.grads.length, difference_to_cpu: +toCpu.worst.toExponential(2), at: toCpu.name,
  'sensitivity_to_input_times_(1+1e-7)': +sensitivity.worst.toExponential(2), sensitivity_at: sensitivity.name,
  cpu_seconds: +cpu.seconds.toFixed(1), native_seconds: +native.seconds.toFixed(2),
}));
process.exitCode = lossDifference > 1e-5 || toCpu.worst > 2 * sensitivity.worst ? 1 : 0;
