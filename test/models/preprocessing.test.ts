// The Preprocessing layer: per-channel x * scale + offset against values worked out by hand, the
// presets against their definitions, and a save/load round trip (the layer is registered).
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '../../src/tf.js';
import '@tensorflow/tfjs-backend-cpu';
import { UserError } from '../../src/errors.js';
import { PREPROCESSING_PRESETS, Preprocessing, preprocessingPreset } from '../../src/models/preprocessing.js';
import { buildModel } from '../../src/models/registry.js';

await tf.setBackend('cpu');

describe('Preprocessing layer', () => {
  test('per-channel affine map on the last axis', () => {
    const layer = new Preprocessing({ scale: [2, 3, 4], offset: [-1, 0, 1] });
    const y = layer.apply(tf.tensor4d([0, 0.5, 1, 1, 1, 0.25], [1, 1, 2, 3])) as tf.Tensor;
    assert.deepEqual(Array.from(y.dataSync()), [-1, 1.5, 5, 1, 3, 2]);
    y.dispose();
  });

  test('presets: caffe gives 255x - mean (RGB order), tf gives [-1, 1], torch gives (x - mean) / std', () => {
    const rgb = [0.2, 0.5, 0.8];
    const apply = (name: string) => {
      const p = preprocessingPreset(name)!;
      return rgb.map((x, c) => x * p.scale[c] + p.offset[c]);
    };
    const close = (a: number[], b: number[]) => a.forEach((v, i) => assert.ok(Math.abs(v - b[i]) < 1e-9, `${a} vs ${b}`));
    close(apply('caffe'), [0.2 * 255 - 123.68, 0.5 * 255 - 116.779, 0.8 * 255 - 103.939]);
    close(apply('tf'), [-0.6, 0, 0.6]);
    close(apply('torch'), [(0.2 - 0.485) / 0.229, (0.5 - 0.456) / 0.224, (0.8 - 0.406) / 0.225]);
    assert.equal(preprocessingPreset('none'), undefined);
    assert.throws(() => preprocessingPreset('bgr'), UserError);
    assert.deepEqual(Object.keys(PREPROCESSING_PRESETS).sort(), ['caffe', 'tf', 'torch']);
  });

  test('rejects a channel count it does not normalise', () => {
    const input = tf.input({ shape: [4, 4, 1] });
    assert.throws(() => new Preprocessing({ scale: [1, 1, 1], offset: [0, 0, 0] }).apply(input), /1 channels/);
  });

  test('a model with it saves and loads back with the same predictions (registered class)', async () => {
    const model = buildModel('tiny-resnet', { inputShape: [8, 8, 3], classes: 3, preprocessing: preprocessingPreset('torch') });
    assert.equal(model.layers[1].getClassName(), 'Preprocessing');
    let saved: tf.io.ModelArtifacts | undefined;
    await model.save(tf.io.withSaveHandler(async (a) => ((saved = a), { modelArtifactsInfo: { dateSaved: new Date(), modelTopologyType: 'JSON' } })));
    const loaded = await tf.loadLayersModel(tf.io.fromMemory(saved!));
    const x = tf.randomUniform([2, 8, 8, 3], 0, 1, 'float32', 5);
    const [a, b] = [model.predict(x) as tf.Tensor, loaded.predict(x) as tf.Tensor];
    assert.deepEqual(Array.from(a.dataSync()), Array.from(b.dataSync()));
    assert.equal((loaded.layers[1] as Preprocessing).preset, 'torch');
    tf.dispose([x, a, b]);
    model.dispose();
    loaded.dispose();
  });
});
