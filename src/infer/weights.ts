// The parameters an inference operation needs, computed from its layers' current variables:
// convolution weights with their batch norm folded in (in float64, rounded once to float32), dense
// weights, batch-norm statistics; and the tensors they come from, whose identities tell an executor
// when to compute them again (a variable's assign() gives it a new tensor data id).
import * as tf from '../tf.js';
import type { BatchNormSpec, ConvSpec, Operation, Weight } from './graph.js';

const values = (w: Weight): Float32Array => w.variable.read().dataSync() as Float32Array;

/** The tensors whose values an operation's parameters are computed from. */
export function sourceTensors(o: Operation): tf.Tensor[] {
  const list: (Weight | null)[] = [];
  const bn = (s: BatchNormSpec | null) => (s ? [s.gamma, s.beta, s.mean, s.variance] : []);
  if (o.op === 'conv') list.push(o.conv.kernel instanceof Float32Array ? null : o.conv.kernel, o.conv.bias, ...bn(o.conv.batchNorm));
  else if (o.op === 'dense') list.push(o.kernel, o.bias);
  else if (o.op === 'batchNorm') list.push(...bn(o.batchNorm));
  return list.filter((w): w is Weight => w !== null).map((w) => w.variable.read());
}

/**
 * A convolution's HWIO weights and bias (null: none) with its batch norm folded in: per output
 * channel o, k = gamma / sqrt(variance + epsilon), w' = w k, b' = (b - mean) k + beta, each computed
 * in float64 from the float32 variables and rounded once.
 */
export function foldedConvWeights(conv: ConvSpec): { weights: Float32Array; bias: Float32Array | null } {
  const kernel = conv.kernel instanceof Float32Array ? conv.kernel : values(conv.kernel);
  const bias = conv.bias ? values(conv.bias) : null;
  const bn = conv.batchNorm;
  if (!bn) return { weights: Float32Array.from(kernel), bias: bias && Float32Array.from(bias) };
  const O = conv.filters;
  const gamma = bn.gamma ? values(bn.gamma) : null, beta = bn.beta ? values(bn.beta) : null;
  const mean = values(bn.mean), variance = values(bn.variance);
  const k = new Float64Array(O);
  const folded = new Float32Array(O);
  for (let o = 0; o < O; o++) {
    k[o] = (gamma ? gamma[o] : 1) / Math.sqrt(variance[o] + bn.epsilon);
    folded[o] = ((bias ? bias[o] : 0) - mean[o]) * k[o] + (beta ? beta[o] : 0);
  }
  const weights = new Float32Array(kernel.length);
  for (let row = 0; row < kernel.length; row += O) {
    for (let o = 0; o < O; o++) weights[row + o] = kernel[row + o] * k[o];
  }
  return { weights, bias: folded };
}

/** A dense layer's [K, units] kernel and bias. */
export function denseWeights(o: Operation & { op: 'dense' }): { weights: Float32Array; bias: Float32Array | null } {
  return { weights: values(o.kernel), bias: o.bias ? values(o.bias) : null };
}

/** A batch norm's moving statistics and affine parameters (null where the layer has none). */
export function batchNormParams(s: BatchNormSpec): { mean: Float32Array; variance: Float32Array; gamma: Float32Array | null; beta: Float32Array | null } {
  return { mean: values(s.mean), variance: values(s.variance), gamma: s.gamma ? values(s.gamma) : null, beta: s.beta ? values(s.beta) : null };
}
