// Cutting a model's graph (src/models/cut.ts): the part after a cut, rebuilt on a new input from the
// model's own layers, computes what the model computes and shares its weights; cuts that a skip
// connection crosses are refused; the last stage starts where the last downsampling block does.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import * as tf from '../../src/tf.js';
import '@tensorflow/tfjs-backend-cpu';
import { buildModel } from '../../src/models/registry.js';
import { disposeModels, headInput, lastStageInput, modelAfter, modelUntil } from '../../src/models/cut.js';

test('backbone then top equals the whole model, at the last stage and at the head', async () => {
  await tf.setBackend('cpu');
  const model = buildModel('resnet18', { inputShape: [32, 32, 3], classes: 4 });
  const x = tf.randomUniform([2, 32, 32, 3], 0, 1, 'float32', 3);
  const whole = model.predict(x) as tf.Tensor;
  for (const cut of [lastStageInput(model), headInput(model)]) {
    const split = tf.tidy(() => modelAfter(model, cut).predict(modelUntil(model, cut).predict(x) as tf.Tensor) as tf.Tensor);
    assert.ok(tf.max(tf.abs(tf.sub(split, whole))).dataSync()[0] < 1e-6, `cut at ${cut.name}`);
    split.dispose();
  }
  const top = modelAfter(model, lastStageInput(model));
  assert.ok(top.layers.some((l) => l.name === 'conv5_block1_1_conv'), 'the last stage begins with its downsampling block');
  assert.ok(!top.layers.some((l) => l.name === 'conv4_block2_out'));
  assert.equal(top.getLayer('predictions'), model.getLayer('predictions'), 'layers (and so weights) are shared, not copied');
  tf.dispose([x, whole]);
  model.dispose();
});

test("the course ResNet-50's last stage starts at stage 4's output; tiny-resnet's at its block's input", async () => {
  const course = buildModel('resnet50', { inputShape: [64, 64, 3], classes: 6 });
  assert.equal(course.layers.find((l) => l.inboundNodes[0].outputTensors[0].id === lastStageInput(course).id)?.name, 'relu4f');
  course.dispose();
  const tiny = buildModel('tiny-resnet', { inputShape: [16, 16, 3], classes: 2 });
  const start = lastStageInput(tiny);
  assert.equal(tiny.layers.find((l) => l.inboundNodes[0].outputTensors[0].id === start.id)?.getClassName(), 'Activation');
  // Cutting inside the residual block leaves the skip connection crossing the cut.
  const inside = tiny.getLayer('block_conv_a').output as tf.SymbolicTensor;
  assert.throws(() => modelAfter(tiny, inside), /reads a tensor from before the cut/);
  tiny.dispose();
});

test('disposeModels frees a model and the parts cut from it, each weight once', async () => {
  await tf.setBackend('cpu');
  const before = tf.memory().numTensors;
  const model = buildModel('resnet18', { inputShape: [32, 32, 3], classes: 4 });
  const top = modelAfter(model, lastStageInput(model));
  const head = tf.layers.dense({ units: 2 });
  const other = tf.model({ inputs: top.inputs, outputs: head.apply(top.outputs[0]) as tf.SymbolicTensor });
  assert.ok(tf.memory().numTensors > before);
  disposeModels(model, top, other);
  assert.equal(tf.memory().numTensors, before);
});
