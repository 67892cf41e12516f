import * as tf from '../../dist/src/tf.js';
import '@tensorflow/tfjs-backend-cpu';
import { registerNativeBackend } from '../../dist/src/engine/native/backend.js';
console.log('registered', registerNativeBackend());
const x = tf.randomNormal([2, 9, 9, 5]), w = tf.randomNormal([3, 3, 5, 7]), b = tf.randomNormal([7]);
function run() {
  return tf.tidy(() => {
    const f = (x, w, b) => tf.sum(tf.square(tf.fused.conv2d({ x, filter: w, bias: b, strides: 2, pad: 'same', activation: 'relu' })));
    const g = tf.grads(f)([x, w, b]);
    return [tf.fused.conv2d({ x, filter: w, bias: b, strides: 2, pad: 'same', activation: 'relu' }), ...g].map(t => t.dataSync());
  });
}
await tf.setBackend('cpu'); const a = run();
await tf.setBackend('native'); const n = run();
for (let i = 0; i < a.length; i++) { let m = 0; for (let j = 0; j < a[i].length; j++) m = Math.max(m, Math.abs(a[i][j] - n[i][j])); console.log(i, a[i].length, m); }
