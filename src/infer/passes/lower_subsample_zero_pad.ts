// Pass 'lower-subsample-zero-pad': shortcut option A of the CIFAR ResNets (src/models/cifar.ts: every
// stride-th pixel, channels zero-padded evenly before and after) is a 1x1 convolution with that
// stride whose fixed weights copy input channel c to output channel before + c. Each output is one
// product x * 1 plus zeros, so it is exact in float32; as a convolution it can then be the residual
// of the block's last convolution like any projection shortcut.
import type { Graph } from '../graph.js';

export function lowerSubsampleZeroPad(graph: Graph): number {
  let count = 0;
  for (const [i, o] of graph.operations.entries()) {
    if (o.op !== 'subsampleZeroPad') continue;
    const inChannels = o.inputs[0].shape[2];
    const before = Math.floor((o.channels - inChannels) / 2);
    const kernel = new Float32Array(inChannels * o.channels); // HWIO with H = W = 1
    for (let c = 0; c < inChannels; c++) kernel[c * o.channels + before + c] = 1;
    graph.operations[i] = {
      id: o.id, inputs: o.inputs, output: o.output, layers: o.layers, op: 'conv',
      conv: {
        kernelSize: [1, 1], strides: [o.stride, o.stride], dilation: [1, 1], padding: 'valid', kernel, bias: null,
        filters: o.channels, batchNorm: null, extraPadding: [0, 0, 0, 0], relu: false, residual: null, reluAfterSum: false,
      },
    };
    count++;
  }
  return count;
}
