// The course's ResNet-50 (see shared spec resnet.md), for timing and profiling the native engine
// until the project's own model and `resnet bench` exist. Plain JS over the compiled library.
export function resnet50(tf, { inputShape = [64, 64, 3], classes = 6 } = {}) {
  const L = tf.layers;
  const init = () => tf.initializers.glorotUniform({ seed: 0 });
  const conv = (x, filters, k, s, padding, name) =>
    L.conv2d({ filters, kernelSize: k, strides: s, padding, name, kernelInitializer: init() }).apply(x);
  const bn = (x, name) => L.batchNormalization({ axis: 3, name }).apply(x);
  const relu = (x) => L.activation({ activation: 'relu' }).apply(x);
  const block = (x, f, [F1, F2, F3], stage, b, s, projection) => {
    const base = `${stage}${b}`;
    let y = relu(bn(conv(x, F1, 1, s, 'valid', `res${base}_branch2a`), `bn${base}_branch2a`));
    y = relu(bn(conv(y, F2, f, 1, 'same', `res${base}_branch2b`), `bn${base}_branch2b`));
    y = bn(conv(y, F3, 1, 1, 'valid', `res${base}_branch2c`), `bn${base}_branch2c`);
    const shortcut = projection ? bn(conv(x, F3, 1, s, 'valid', `res${base}_branch1`), `bn${base}_branch1`) : x;
    return relu(L.add().apply([y, shortcut]));
  };
  const input = tf.input({ shape: inputShape });
  let x = L.zeroPadding2d({ padding: [3, 3] }).apply(input);
  x = relu(bn(conv(x, 64, 7, 2, 'valid', 'conv1'), 'bn_conv1'));
  x = L.maxPooling2d({ poolSize: 3, strides: 2 }).apply(x);
  const stages = [[2, [64, 64, 256], 1, 'bc'], [3, [128, 128, 512], 2, 'bcd'], [4, [256, 256, 1024], 2, 'bcdef'], [5, [512, 512, 2048], 2, 'bc']];
  for (const [stage, filters, s, ids] of stages) {
    x = block(x, 3, filters, stage, 'a', s, true);
    for (const b of ids) x = block(x, 3, filters, stage, b, 1, false);
  }
  x = L.averagePooling2d({ poolSize: 2, name: 'avg_pool' }).apply(x);
  x = L.flatten().apply(x);
  x = L.dense({ units: classes, activation: 'softmax', name: `fc${classes}`, kernelInitializer: init() }).apply(x);
  return tf.model({ inputs: input, outputs: x, name: 'ResNet50' });
}
