// The graph transformations on the library's models, structurally (no engine needed): what each
// pass folds or fuses, what it must leave alone, and the graph the executor then runs.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '../../src/tf.js';
import '@tensorflow/tfjs-backend-cpu';
import { buildModel } from '../../src/models/registry.js';
import { optimizedGraph } from '../../src/infer/compile.js';
import type { Operation } from '../../src/infer/graph.js';

await tf.setBackend('cpu');

function graphOf(name: string, size: number) {
  const model = buildModel(name, { inputShape: [size, size, 3], classes: 6 });
  const result = optimizedGraph(model);
  model.dispose();
  return result;
}

const count = (ops: Operation[], op: Operation['op']) => ops.filter((o) => o.op === op).length;
const convs = (ops: Operation[]) => ops.filter((o): o is Operation & { op: 'conv' } => o.op === 'conv');

describe('inference passes', () => {
  test('course ResNet-50: 53 batch norms folded, 16 Adds and 49 ReLUs fused, the stem padding folded', () => {
    const { graph, passes } = graphOf('resnet50', 64);
    assert.deepEqual(passes, {
      'remove-identity': 0, 'lower-subsample-zero-pad': 0, 'fold-batch-norm': 53, 'fuse-activation': 49,
      'fuse-residual-add': 16, 'fold-zero-padding': 1,
    });
    assert.deepEqual(graph.operations.map((o) => o.op).filter((op) => op !== 'conv'), ['input', 'maxPool', 'avgPool', 'flatten', 'dense']);
    const c = convs(graph.operations);
    assert.equal(c.length, 53);
    assert.ok(c.every((o) => o.conv.batchNorm !== null && o.conv.bias !== null), 'every conv keeps its bias and folds its batch norm');
    assert.equal(c.filter((o) => o.conv.residual).length, 16);
    assert.ok(c.filter((o) => o.conv.residual).every((o) => o.conv.reluAfterSum && !o.conv.relu));
    assert.deepEqual(c[0].conv.extraPadding, [3, 3, 3, 3], 'the stem reads the image with ZeroPadding2D folded in');
    assert.deepEqual(c[0].layers, ['zero_padding2d', 'conv1', 'bn_conv1', 'relu_conv1']);
    // The identity block 2b: its last conv takes the block's input (the previous block's output) as the residual.
    const b = c.find((o) => o.layers.includes('res2b_branch2c'))!;
    assert.deepEqual(b.layers, ['res2b_branch2c', 'bn2b_branch2c', 'add2b', 'relu2b']);
    assert.equal(b.conv.residual, c.find((o) => o.layers.includes('add2a'))!.output);
    // The convolutional block 2a: of its two convs read only by the Add (the main path's last and the
    // projection), the later in the order takes the sum, the other's output is its residual.
    const a = c.find((o) => o.layers.includes('add2a'))!;
    assert.deepEqual(a.layers, ['res2a_branch1', 'bn2a_branch1', 'add2a', 'relu2a']);
    assert.equal(a.conv.residual, c.find((o) => o.layers.includes('res2a_branch2c'))!.output);
  });

  test('ImageNet ResNet-18: explicit padding folded into strided convs and, after the ReLU, into max pooling', () => {
    const { graph, passes } = graphOf('resnet18', 32);
    assert.equal(passes['fold-zero-padding'], 5); // conv1_pad, pool1_pad and the three strided 3x3s
    assert.equal(count(graph.operations, 'zeroPad'), 0);
    const pool = graph.operations.find((o): o is Operation & { op: 'maxPool' } => o.op === 'maxPool')!;
    assert.deepEqual(pool.pool.extraPadding, [1, 1, 1, 1]);
  });

  test('pre-activation (v2): batch norms after an Add stay (with their ReLU fused); padding before the stem pool stays', () => {
    const { graph, passes } = graphOf('resnet18-v2', 32);
    assert.equal(count(graph.operations, 'batchNorm'), 9); // 8 blocks' pre-activations + the final one
    assert.ok(graph.operations.filter((o) => o.op === 'batchNorm').every((o) => o.op === 'batchNorm' && o.relu));
    assert.equal(passes['fold-batch-norm'], 8); // the BN between each block's two convs
    // The stem conv has no ReLU in v2: max pooling over zero padding would differ from pooling with padding.
    assert.equal(count(graph.operations, 'zeroPad'), 1);
  });

  test('CIFAR option A: SubsampleZeroPad lowered to a 1x1 strided conv that copies channels into the middle', () => {
    const { graph, passes } = graphOf('resnet20', 16);
    assert.equal(passes['lower-subsample-zero-pad'], 2);
    const lowered = convs(graph.operations).filter((o) => o.conv.kernel instanceof Float32Array);
    assert.equal(lowered.length, 2);
    const k = lowered[0].conv.kernel as Float32Array; // 16 -> 32 channels: input c goes to output 8 + c
    assert.equal(k.length, 16 * 32);
    for (let c = 0; c < 16; c++) for (let o = 0; o < 32; o++) assert.equal(k[c * 32 + o], o === 8 + c ? 1 : 0);
    assert.deepEqual(lowered[0].conv.strides, [2, 2]);
  });

  test('plain twins: no Add to fuse; a conv read twice keeps its batch norm apart', () => {
    assert.equal(graphOf('plain20', 16).passes['fuse-residual-add'], 0);
    const input = tf.input({ shape: [6, 6, 2] });
    const conv = tf.layers.conv2d({ filters: 4, kernelSize: 3, padding: 'same' }).apply(input) as tf.SymbolicTensor;
    const bn = tf.layers.batchNormalization().apply(conv) as tf.SymbolicTensor;
    const sum = tf.layers.add().apply([bn, conv]) as tf.SymbolicTensor;
    const model = tf.model({ inputs: input, outputs: tf.layers.activation({ activation: 'relu' }).apply(sum) as tf.SymbolicTensor });
    const { graph, passes } = optimizedGraph(model);
    assert.equal(passes['fold-batch-norm'], 0);
    assert.deepEqual(graph.operations.map((o) => o.op), ['input', 'conv', 'batchNorm', 'add']);
    model.dispose();
  });

  test('unknown layers stay layers, with the reason', () => {
    const input = tf.input({ shape: [4, 4, 3] });
    const y = tf.layers.conv2d({ filters: 2, kernelSize: 1, activation: 'tanh' }).apply(input) as tf.SymbolicTensor;
    const model = tf.model({ inputs: input, outputs: tf.layers.flatten().apply(y) as tf.SymbolicTensor });
    const { graph } = optimizedGraph(model);
    const layer = graph.operations.find((o) => o.op === 'layer');
    assert.ok(layer && layer.op === 'layer' && layer.why === 'activation tanh');
    model.dispose();
  });
});
