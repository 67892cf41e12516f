// Deferred outputs, so that a ReLU can be folded into the kernel before it. In a ResNet every batch
// norm but one per block, and every residual Add, is followed by a ReLU; run one after the other,
// the first kernel writes a full-size tensor that the ReLU reads once and then nobody reads again.
// TensorFlow.js's eager kernels cannot see what comes next, so the native batch-norm and
// same-shape Add kernels return an output whose values are computed only when first read (its
// storage record's `values` is a getter), and the Relu kernel, given such an output, computes
// ReLU(batch norm) or ReLU(a + b) in one pass from the deferred kernel's own inputs; the deferred
// output itself is then usually disposed unread. Any other reader (a cpu kernel, dataSync, the
// tape) gets the values computed on first access, identical to the eager kernel's.
//
// A deferred output keeps its full-size inputs alive (one backend reference each) until it is
// computed or disposed; per-channel statistics are copied, since the optimizer updates variables in
// place. Relu's gradient reads Relu's output, not its input (gradients.ts), so the tape does not
// keep deferred outputs alive either.
//
// Backward, the same holds for the gradient sums the tape accumulates for a block's input (the
// branch's and the shortcut's gradients): only the ReLU gradient of the block before reads each,
// so the ReLU gradient of a deferred Add computes (a + b) * step(y) from the Add's own operands.
//
// And forward, a block's last batch norm feeds only the residual Add (its gradient needs x, not
// y): an Add of a deferred batch norm is itself deferred, computed as ReLU(batch norm + shortcut)
// in one pass when the ReLU comes, and the batch norm's output is never written.
import * as tf from '../../tf.js';
import type { MathBackendCPU } from '@tensorflow/tfjs-backend-cpu';
import { output, outputArray } from './kernel_util.js';

/** Computes a deferred output into `out`, with a ReLU applied when `relu`. */
export type DeferredKernel = (out: Float32Array, relu: boolean) => void;
/** The same with `residual` (same length) added before the ReLU, in the same pass. */
export type ResidualKernel = (out: Float32Array, relu: boolean, residual: Float32Array) => void;

/** What else a deferred output's kernel offers (see deferredAddends, residualKernel). */
export interface DeferredExtras {
  /** The output is the sum of these two arrays. */
  addends?: [Float32Array, Float32Array];
  /** The kernel can add a residual in its own pass. */
  plusResidual?: ResidualKernel;
}

interface Pending extends DeferredExtras {
  compute: DeferredKernel;
  inputs: tf.DataId[];
}

type Backend = MathBackendCPU & { buffers?: { retain(values: unknown): void } };

/** By storage record: what computes it, while it is not computed yet. */
const pending = new WeakMap<object, Pending>();
let enabled = true;

/** Turns deferral on or off (tests and A/B timing); returns the previous setting. */
export function setDeferral(on: boolean): boolean {
  const before = enabled;
  enabled = on;
  return before;
}

/** Frees a deferred output's hold on its inputs. */
function release(backend: Backend, p: Pending): void {
  for (const id of p.inputs) backend.disposeData(id);
}

/**
 * A float32 output of `shape` computed by `compute` when first read; `inputs` are the tensors
 * `compute` reads in place (kept alive until then). With deferral off, computed now.
 */
export function deferredOutput(backend: Backend, shape: number[], inputs: tf.TensorInfo[], compute: DeferredKernel,
  extras: DeferredExtras = {}): tf.TensorInfo {
  if (!enabled) return output(backend, shape, (out) => compute(out, false));
  for (const t of inputs) backend.incRef(t.dataId);
  const p: Pending = { compute, inputs: inputs.map((t) => t.dataId), ...extras };
  const record = { dtype: 'float32', refCount: 1 } as { dtype: 'float32'; refCount: number; values?: Float32Array };
  const settle = (values: Float32Array) =>
    Object.defineProperty(record, 'values', { value: values, writable: true, enumerable: true, configurable: true });
  Object.defineProperty(record, 'values', {
    enumerable: true, configurable: true,
    get(): Float32Array {
      const out = outputArray(backend, tf.util.sizeFromShape(shape));
      p.compute(out, false);
      settle(out);
      backend.buffers?.retain(out);
      pending.delete(record);
      release(backend, p);
      return out;
    },
    set: settle,
  });
  pending.set(record, p);
  const dataId = {};
  backend.data.set(dataId, record as never);
  return { dataId, shape, dtype: 'float32' };
}

function pendingOf(backend: Backend, dataId: tf.DataId): Pending | undefined {
  return backend.data.has(dataId) ? pending.get(backend.data.get(dataId)) : undefined;
}

/** True while `dataId`'s values are deferred (not computed yet). */
export function isDeferred(backend: Backend, dataId: tf.DataId): boolean {
  return pendingOf(backend, dataId) !== undefined;
}

/**
 * The deferred kernel of `x` with its ReLU, writing into an output array, or null when x's values
 * are not deferred. x stays deferred (and is computed if something reads it later).
 */
export function withRelu(backend: Backend, x: tf.TensorInfo): ((out: Float32Array) => void) | null {
  const p = pendingOf(backend, x.dataId);
  return p ? (out) => p.compute(out, true) : null;
}

/**
 * The two arrays whose sum `x` is, while x is a deferred Add (not computed yet), else null: the
 * ReLU gradient of an accumulated gradient reads them directly (gradients.ts), and the sum itself
 * is usually disposed unread.
 */
export function deferredAddends(backend: Backend, x: tf.TensorInfo): [Float32Array, Float32Array] | null {
  return pendingOf(backend, x.dataId)?.addends ?? null;
}

/**
 * While `x` is deferred and its kernel can add a residual in the same pass (batch norm): that
 * kernel, else null. A residual Add after a block's last batch norm uses it, so that the batch
 * norm's own output is never written.
 */
export function residualKernel(backend: Backend, x: tf.TensorInfo): ResidualKernel | null {
  return pendingOf(backend, x.dataId)?.plusResidual ?? null;
}

/**
 * For NativeBackend.disposeData, before it touches the record: when `dataId` is deferred, drops it
 * without computing it (releasing its inputs once the record is gone) and returns the result of
 * `dispose`; otherwise returns undefined.
 */
export function disposeDeferred(backend: Backend, dataId: tf.DataId, dispose: () => boolean): boolean | undefined {
  const p = pendingOf(backend, dataId);
  if (!p) return undefined;
  const record = backend.data.get(dataId);
  const released = dispose();
  if (!backend.data.has(dataId)) {
    pending.delete(record);
    release(backend, p);
  }
  return released;
}
