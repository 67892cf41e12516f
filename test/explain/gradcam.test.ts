// Grad-CAM against a computation by hand: on conv -> ReLU -> global average pooling -> dense softmax,
// the class score's gradient with respect to the feature map A is W[k, c] / (H * W) everywhere, so
// the map is ReLU(sum_k W[k, c] / (H W) * A_k) scaled to [0, 1], with A computed here by plain loops.
// Also: the feature map is found automatically in the model family, probabilities agree with
// model.predict, and no tensor is left behind.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import * as tf from '../../src/tf.js';
import '@tensorflow/tfjs-backend-cpu';
import { gradCam, gradCamParts, overlay, turbo, upsample } from '../../src/explain/gradcam.js';
import { buildModel } from '../../src/models/registry.js';
import { mulberry32 } from '../../src/data/random.js';

const [H, W, CIN, K, CLASSES] = [5, 6, 2, 3, 4];

function randoms(n: number, seed: number, scale = 1): Float32Array {
  const random = mulberry32(seed);
  return Float32Array.from({ length: n }, () => (random() * 2 - 1) * scale);
}

function smallModel(): { model: tf.LayersModel; kernel: Float32Array; bias: Float32Array; dense: Float32Array; denseBias: Float32Array } {
  const input = tf.input({ shape: [H, W, CIN] });
  const conv = tf.layers.conv2d({ filters: K, kernelSize: 3, padding: 'same', name: 'conv' });
  const relu = tf.layers.activation({ activation: 'relu', name: 'features' });
  const pool = tf.layers.globalAveragePooling2d({ name: 'pool' });
  const head = tf.layers.dense({ units: CLASSES, activation: 'softmax', name: 'head' });
  const model = tf.model({ inputs: input, outputs: head.apply(pool.apply(relu.apply(conv.apply(input)))) as tf.SymbolicTensor });
  const kernel = randoms(3 * 3 * CIN * K, 1);
  const bias = randoms(K, 2, 0.3);
  const dense = randoms(K * CLASSES, 3, 2);
  const denseBias = randoms(CLASSES, 4, 0.5);
  conv.setWeights([tf.tensor4d(kernel, [3, 3, CIN, K]), tf.tensor1d(bias)]);
  head.setWeights([tf.tensor2d(dense, [K, CLASSES]), tf.tensor1d(denseBias)]);
  return { model, kernel, bias, dense, denseBias };
}

/** A[y][x][k] = ReLU(bias[k] + sum over the 3x3 window ('same' zero padding) and input channels). */
function featuresByHand(image: Float32Array, kernel: Float32Array, bias: Float32Array): Float32Array {
  const a = new Float32Array(H * W * K);
  for (let y = 0; y < H; y++)
    for (let x = 0; x < W; x++)
      for (let k = 0; k < K; k++) {
        let s = bias[k];
        for (let dy = 0; dy < 3; dy++)
          for (let dx = 0; dx < 3; dx++) {
            const [yy, xx] = [y + dy - 1, x + dx - 1];
            if (yy < 0 || yy >= H || xx < 0 || xx >= W) continue;
            for (let c = 0; c < CIN; c++) s += image[(yy * W + xx) * CIN + c] * kernel[((dy * 3 + dx) * CIN + c) * K + k];
          }
        a[(y * W + x) * K + k] = Math.max(0, s);
      }
  return a;
}

for (const backend of ['cpu', 'wasm']) {
  test(`Grad-CAM equals the map computed by hand (conv, ReLU, pooling, dense softmax) on ${backend}`, async () => {
    if (backend === 'wasm') await import('@tensorflow/tfjs-backend-wasm');
    await tf.setBackend(backend);
    const { model, kernel, bias, dense, denseBias } = smallModel();
    const pixels = Float32Array.from(randoms(H * W * CIN, 5), (v) => (v + 1) / 2);
    const a = featuresByHand(pixels, kernel, bias);
    // Logits by hand: mean of A over positions, times the dense kernel, plus its bias.
    const pooled = Array.from({ length: K }, (_, k) => a.filter((_, i) => i % K === k).reduce((s, v) => s + v, 0) / (H * W));
    const logits = Array.from({ length: CLASSES }, (_, c) => denseBias[c] + pooled.reduce((s, p, k) => s + p * dense[k * CLASSES + c], 0));
    const z = logits.map((l) => Math.exp(l - Math.max(...logits)));
    const probs = z.map((v) => v / z.reduce((s, u) => s + u, 0));
    const best = probs.indexOf(Math.max(...probs));
    const image = tf.tensor3d(pixels, [H, W, CIN]);
    const before = tf.memory().numTensors;
    for (const c of [undefined, (best + 1) % CLASSES]) {
      const cls = c ?? best;
      const result = gradCam(model, image, { classIndex: c });
      assert.equal(result.layer, 'features', 'the feature map is found automatically: the last image-shaped output before pooling');
      assert.equal(result.classIndex, cls);
      assert.deepEqual([result.height, result.width], [H, W]);
      probs.forEach((p, i) => assert.ok(Math.abs(result.probabilities[i] - p) < 1e-5, `probability ${i}: ${result.probabilities[i]} vs ${p}`));
      const raw = Array.from({ length: H * W }, (_, i) => Math.max(0, Array.from({ length: K }, (_, k) => (dense[k * CLASSES + cls] / (H * W)) * a[i * K + k]).reduce((s, v) => s + v, 0)));
      const peak = Math.max(...raw);
      assert.ok(Math.abs(result.peak - peak) <= 1e-5 * Math.max(1, peak), `peak ${result.peak} vs ${peak}`);
      // Tolerance: float32 sums of a few terms, |error| <= 1e-5 on the [0, 1] map.
      raw.forEach((v, i) => assert.ok(Math.abs(result.cam[i] - (peak > 0 ? v / peak : 0)) < 1e-5, `cam[${i}] ${result.cam[i]} vs ${v / peak}`));
    }
    assert.equal(tf.memory().numTensors, before, 'Grad-CAM leaves no tensor behind');
    image.dispose();
    model.dispose();
    await tf.setBackend('cpu');
  });
}

test('the feature map is found automatically across the family, and probabilities match predict', async () => {
  await tf.setBackend('cpu');
  const expected: Record<string, string> = { resnet50: 'relu5c', resnet18: 'conv5_block2_out', 'tiny-resnet': '' };
  for (const [name, layer] of Object.entries(expected)) {
    const model = buildModel(name, { inputShape: [64, 64, 3], classes: 5 });
    const parts = gradCamParts(model);
    if (layer) assert.equal(parts.layer, layer);
    else assert.equal(model.getLayer(parts.layer).getClassName(), 'Activation');
    if (name === 'tiny-resnet' || name === 'resnet18') {
      const image = tf.randomUniform([64, 64, 3], 0, 1, 'float32', 7) as tf.Tensor3D;
      const result = gradCam(model, image, {}, parts);
      const predicted = tf.tidy(() => (model.predict(tf.expandDims(image, 0)) as tf.Tensor).dataSync());
      predicted.forEach((p, i) => assert.ok(Math.abs(p - result.probabilities[i]) < 1e-5, `${name}: probability ${i} ${result.probabilities[i]} vs predict ${p}`));
      assert.ok(result.cam.every((v) => v >= 0 && v <= 1));
      image.dispose();
    }
    model.dispose();
  }
});

test('upsampling, the colour map and the overlay', () => {
  // [0, 1] on two columns -> four columns with half-pixel centres: 0, 0.25, 0.75, 1.
  assert.deepEqual(Array.from(upsample(Float32Array.from([0, 1]), 1, 2, 1, 4)), [0, 0.25, 0.75, 1]);
  assert.deepEqual(Array.from(upsample(Float32Array.from([0.5]), 1, 1, 2, 2)), [0.5, 0.5, 0.5, 0.5]);
  const [low, mid, high] = [turbo(0), turbo(0.5), turbo(1)];
  assert.ok(low[0] + low[1] + low[2] < 120, 'turbo starts dark');
  assert.ok(mid[1] > mid[0] && mid[1] > mid[2], 'is green in the middle');
  assert.ok(high[0] > 3 * high[2], 'and ends red');
  const pixels = Uint8Array.from([10, 20, 30, 200, 210, 220]);
  const map = { cam: Float32Array.from([1, 0]), height: 1, width: 2 };
  assert.deepEqual(Array.from(overlay(pixels, 1, 2, 3, map, 0)), [10, 20, 30, 255, 200, 210, 220, 255]);
  const full = overlay(pixels, 1, 2, 3, map, 1);
  assert.deepEqual(Array.from(full.slice(0, 3)), turbo(1));
  assert.deepEqual(Array.from(full.slice(4, 7)), turbo(0));
  assert.deepEqual(Array.from(overlay(Uint8Array.from([100]), 1, 1, 1, { cam: Float32Array.from([0]), height: 1, width: 1 }, 0)), [100, 100, 100, 255]);
});
