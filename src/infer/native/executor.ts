// The native engine's inference executor: an optimized graph (src/infer/graph.ts after the passes)
// lowered onto a plan of oneDNN primitives in the addon (native/src/infer.cc), one plan per batch
// size, each run as a few addon calls per prediction. Here:
//   - precision (the 'assign-precision' step): which type each value is stored in (float32;
//     bfloat16 between the convolutions; int8 with the calibrated scales), and the reorders where a
//     reader wants another type;
//   - the parameters: folded convolution weights (weights.ts) computed once, and again when the
//     model's variables change (a new tensor behind a variable, or an in-place optimizer update);
//     int8 plans are then built again, since their scales come from the weights;
//   - layers the graph does not know run through their own `call` between native ranges of the
//     plan, on float32 arrays bound to the plan (zero-copy for their outputs).
// Node-only (the addon); it registers itself with compile.ts when imported.
import * as tf from '../../tf.js';
import { loadAddon, type InferenceAddon, type NativeAddon, type PlanValueType } from '../../engine/native/addon.js';
import { inPlaceUpdates } from '../../engine/native/optimizer.js';
import { f32, type KernelArgs } from '../../engine/native/kernel_util.js';
import { NATIVE_BACKEND_NAME, nativePrecision } from '../../engine/native/backend.js';
import { registerInferenceExecutor, type ActivationRanges, type CompiledModel, type InferenceOptions, type InferencePrecision } from '../compile.js';
import type { Graph, Operation, Value } from '../graph.js';
import { batchNormParams, denseWeights, foldedConvWeights, sourceTensors } from '../weights.js';

type Addon = NativeAddon & InferenceAddon;

/** Plans kept per compiled model (one per batch size; the least recently used goes first). */
const MAX_PLANS = 3;
/** The largest int8 magnitudes: unsigned and signed. */
const U8_MAX = 255, S8_MAX = 127;

interface PlanValue {
  id: number;
  type: PlanValueType;
  scale: number;
}

type Step =
  | { kind: 'native'; from: number; to: number }
  | { kind: 'layer'; operation: Operation & { op: 'layer' }; inputs: { value: number; array: Float32Array; shape: number[] }[]; output: number; shape: number[] };

/** One batch size's plan: the addon's plan id, its steps, and where each parametric operation is. */
interface PlanInstance {
  id: number;
  batch: number;
  input: number;
  output: { value: number; shape: number[] } | null;
  steps: Step[];
  /** Addon operation index of each graph operation with parameters. */
  parameterOps: Map<Operation, number>;
  /** Plan value of each graph value in float32 (calibration reads these by name). */
  float32Values: Map<string, number>;
  /** Graph values written by JavaScript layers (the graph's input included): bound arrays, for calibration. */
  boundValues: Map<string, number>;
  /** What each addon operation computes, for profiles: the layers it stands for, and its shape. */
  labels: string[];
  memory: { slots: number; bytes: number; inPlace: number };
}

const isInt8 = (t: PlanValueType) => t === 'u8' || t === 's8';

function scaleFor(type: PlanValueType, range: [number, number]): number {
  const [lo, hi] = range;
  const magnitude = type === 'u8' ? Math.max(hi, 0) / U8_MAX : Math.max(Math.abs(lo), Math.abs(hi)) / S8_MAX;
  return magnitude > 0 && Number.isFinite(magnitude) ? magnitude : 1;
}

/** Window of a convolution or pooling: [KH, KW, sh, sw, dh, dw, top, bottom, left, right]. */
function windowOf(inShape: number[], kernel: [number, number], strides: [number, number], dilation: [number, number],
  padding: 'same' | 'valid', extra: [number, number, number, number], channels: [number, number]): Int32Array {
  const [H, W] = inShape;
  const padded: [number, number, number, number] = [1, H + extra[0] + extra[1], W + extra[2] + extra[3], channels[0]];
  const info = tf.backend_util.computeConv2DInfo(padded, [kernel[0], kernel[1], channels[0], channels[1]], strides, dilation, padding,
    undefined, false, 'channelsLast');
  const p = info.padInfo;
  return Int32Array.from([kernel[0], kernel[1], strides[0], strides[1], dilation[0], dilation[1],
    p.top + extra[0], p.bottom + extra[1], p.left + extra[2], p.right + extra[3]]);
}

class NativeCompiled implements CompiledModel {
  readonly report: CompiledModel['report'];
  private plans = new Map<number, PlanInstance>();
  /** By operation: the data ids of the variables its parameters were computed from (assign() changes a variable's). */
  private sources = new Map<Operation, object[]>();
  private updates = -1;
  private disposed = false;
  private readonly registry: FinalizationRegistry<number>;

  constructor(private readonly addon: Addon, private readonly graph: Graph, private readonly precision: InferencePrecision,
    private readonly ranges: ActivationRanges | undefined) {
    const fallbacks = graph.operations.filter((o): o is Operation & { op: 'layer' } => o.op === 'layer').map((o) => `${o.layers[0]} (${o.why})`);
    this.report = { executor: 'native', precision, passes: {}, operations: {}, fallbacks, reason: '' };
    this.registry = new FinalizationRegistry((id) => addon.inferDisposePlan(id));
    this.noteSources();
  }

  private parametric(): Operation[] {
    return this.graph.operations.filter((o) => o.op === 'conv' || o.op === 'dense' || o.op === 'batchNorm');
  }

  private noteSources(): void {
    this.updates = inPlaceUpdates();
    for (const o of this.parametric()) this.sources.set(o, sourceTensors(o).map((t) => t.dataId));
  }

  /** The operations whose variables changed since their parameters were last computed. */
  private changed(): Operation[] {
    const everything = inPlaceUpdates() !== this.updates;
    return this.parametric().filter((o) => {
      if (everything) return true;
      const before = this.sources.get(o)!;
      return sourceTensors(o).some((t, i) => t.dataId !== before[i]);
    });
  }

  /** Brings every plan's parameters up to date with the model's variables. */
  private refresh(): void {
    const changed = this.changed();
    if (changed.length === 0) return;
    if (this.plans.size === 0) {
      // nothing packed yet: plans built from now on read the current variables
    } else if (this.precision === 'int8') {
      for (const plan of this.plans.values()) this.drop(plan); // int8 scales come from the weights: build again
    } else {
      for (const o of changed) {
        const params = this.parameters(o);
        for (const plan of this.plans.values()) this.addon.inferSetParams(plan.id, plan.parameterOps.get(o)!, ...params);
      }
    }
    this.noteSources();
  }

  private parameters(o: Operation): (Float32Array | null)[] {
    if (o.op === 'conv') {
      const { weights, bias } = foldedConvWeights(o.conv);
      return [weights, bias];
    }
    if (o.op === 'dense') {
      const { weights, bias } = denseWeights(o);
      return [weights, bias];
    }
    if (o.op === 'batchNorm') {
      const p = batchNormParams(o.batchNorm);
      return [p.mean, p.variance, p.gamma, p.beta];
    }
    return [];
  }

  private drop(plan: PlanInstance): void {
    this.plans.delete(plan.batch);
    this.registry.unregister(plan);
    this.addon.inferDisposePlan(plan.id);
  }

  private planFor(batch: number): PlanInstance {
    let plan = this.plans.get(batch);
    if (plan) {
      this.plans.delete(batch); // most recently used last
      this.plans.set(batch, plan);
      return plan;
    }
    if (this.plans.size >= MAX_PLANS) this.drop(this.plans.values().next().value!);
    plan = buildPlan(this.addon, this.graph, batch, this.precision, this.ranges, (o) => this.parameters(o));
    this.registry.register(plan, plan.id, plan);
    this.plans.set(batch, plan);
    return plan;
  }

  predict(x: tf.Tensor): tf.Tensor {
    if (this.disposed) throw new Error('this compiled model was disposed');
    const shape = this.graph.input.shape;
    if (x.rank !== 4 || x.shape.slice(1).some((d, i) => d !== shape[i])) {
      throw new Error(`predict: expected images [N, ${shape.join(', ')}], got [${x.shape.join(', ')}]`);
    }
    this.refresh();
    return tf.tidy(() => {
      const input = x.dtype === 'float32' ? x : tf.cast(x, 'float32');
      const values = f32(tf.backend() as KernelArgs['backend'], input) ?? (input.dataSync() as Float32Array);
      return this.run(this.planFor(x.shape[0]), values);
    });
  }

  /**
   * Runs a plan on `input` (float32 NHWC): the output tensor. JavaScript layers read their inputs
   * from arrays the plan writes (or the bound arrays themselves) and their outputs are bound to the
   * plan as they are; those tensors are kept until the plan is done.
   */
  private run(plan: PlanInstance, input: Float32Array, onLayerOutput?: (name: string, values: Float32Array) => void): tf.Tensor {
    const a = this.addon;
    const arrays = new Map<number, Float32Array>([[plan.input, input]]);
    a.inferBind(plan.id, plan.input, input);
    const result = plan.output ? new Float32Array(plan.output.shape.reduce((p, d) => p * d, 1)) : null;
    if (plan.output) a.inferBind(plan.id, plan.output.value, result!);
    const held: tf.Tensor[] = [];
    try {
      for (const step of plan.steps) {
        if (step.kind === 'native') {
          a.inferRun(plan.id, step.from, step.to);
          continue;
        }
        const out = tf.tidy(() => {
          const inputs = step.inputs.map((i) => tf.tensor(i.array.length > 0 ? i.array : arrays.get(i.value)!, i.shape, 'float32'));
          const y = step.operation.layer.apply(inputs.length === 1 ? inputs[0] : inputs, { training: false }) as tf.Tensor;
          return y.dtype === 'float32' ? y : tf.cast(y, 'float32');
        });
        held.push(out);
        if (!tf.util.arraysEqual(out.shape, step.shape)) {
          throw new Error(`layer ${step.operation.layers[0]}: output [${out.shape.join(', ')}], expected [${step.shape.join(', ')}]`);
        }
        const values = f32(tf.backend() as KernelArgs['backend'], out) ?? Float32Array.from(out.dataSync());
        a.inferBind(plan.id, step.output, values);
        arrays.set(step.output, values);
        onLayerOutput?.(step.operation.output.name, values);
      }
      if (!plan.output) return held.pop()!; // a JavaScript layer wrote the model's output
      return tf.tensor(result!, plan.output.shape, 'float32');
    } finally {
      tf.dispose(held);
    }
  }

  /** Calibration: the [min, max] of every value over `batches` (float32 plans only). */
  observeRanges(batches: Iterable<tf.Tensor>): ActivationRanges {
    if (this.precision !== 'float32') throw new Error('calibration runs in float32');
    const ranges: ActivationRanges = {};
    const widen = (name: string, lo: number, hi: number) => {
      const r = ranges[name];
      ranges[name] = r ? [Math.min(r[0], lo), Math.max(r[1], hi)] : [lo, hi];
    };
    const span = (values: Float32Array): [number, number] => {
      let lo = Infinity, hi = -Infinity;
      for (const v of values) {
        if (v < lo) lo = v;
        if (v > hi) hi = v;
      }
      return [lo, hi];
    };
    const used = new Set<PlanInstance>();
    for (const batch of batches) {
      this.refresh();
      const plan = this.planFor(batch.shape[0]);
      if (!used.has(plan)) {
        this.addon.inferObserve(plan.id, true);
        used.add(plan);
      }
      const input = Float32Array.from(batch.dataSync());
      widen(this.graph.input.name, ...span(input));
      tf.dispose(this.run(plan, input, (name, values) => widen(name, ...span(values))));
    }
    for (const plan of used) {
      const flat = this.addon.inferRanges(plan.id);
      for (const [name, id] of plan.float32Values) {
        if (flat[2 * id] <= flat[2 * id + 1]) widen(name, flat[2 * id], flat[2 * id + 1]);
      }
      this.addon.inferObserve(plan.id, false);
    }
    return ranges;
  }

  /**
   * One prediction of `x`, timed operation by operation (after one untimed run): milliseconds by
   * operation kind, largest first, and each operation with what it computes.
   */
  profile(x: tf.Tensor): { kind: string; calls: number; ms: number }[] & { operations?: { op: string; ms: number }[] } {
    tf.dispose(this.predict(x));
    const plan = this.planFor(x.shape[0]);
    this.addon.inferProfile(plan.id, true);
    tf.dispose(this.predict(x));
    const rows = this.addon.inferProfile(plan.id, false);
    const byKind = new Map<string, { calls: number; ms: number }>();
    for (const [kind, ms] of rows) {
      const e = byKind.get(kind) ?? { calls: 0, ms: 0 };
      e.calls++;
      e.ms += ms;
      byKind.set(kind, e);
    }
    const result: { kind: string; calls: number; ms: number }[] & { operations?: { op: string; ms: number }[] } =
      [...byKind.entries()].map(([kind, e]) => ({ kind, ...e })).sort((a, b) => b.ms - a.ms);
    result.operations = rows.map(([, ms], i) => ({ op: plan.labels[i], ms }));
    return result;
  }

  /** Buffers of the plans kept (for tests: memory stays flat). */
  planMemory(): { batch: number; slots: number; bytes: number; inPlace: number }[] {
    return [...this.plans.values()].map((p) => ({ batch: p.batch, ...p.memory }));
  }

  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    for (const plan of [...this.plans.values()]) this.drop(plan);
    this.sources.clear();
  }
}

/** Lowers `graph` onto a new addon plan for batches of `batch` images. */
function buildPlan(a: Addon, graph: Graph, batch: number, precision: InferencePrecision, ranges: ActivationRanges | undefined,
  parameters: (o: Operation) => (Float32Array | null)[]): PlanInstance {
  const id = a.inferCreatePlan();
  try {
    return lower(a, id, graph, batch, precision, ranges, parameters);
  } catch (error) {
    a.inferDisposePlan(id);
    throw error;
  }
}

function lower(a: Addon, id: number, graph: Graph, batch: number, precision: InferencePrecision, ranges: ActivationRanges | undefined,
  parameters: (o: Operation) => (Float32Array | null)[]): PlanInstance {
  const dims = (v: Value) => Int32Array.from([batch, ...v.shape]);
  const produced = new Map<Value, PlanValue>();
  const conversions = new Map<string, PlanValue>();
  const bound = new Set<number>();
  const float32Values = new Map<string, number>();
  const boundValues = new Map<string, number>();
  const parameterOps = new Map<Operation, number>();
  const steps: Step[] = [];
  let ops = 0, rangeStart = 0;
  const labels: string[] = [];
  let label = '';

  const newValue = (v: Value, type: PlanValueType, scale = 1, external = false): PlanValue => {
    const pv = { id: a.inferValue(id, dims(v), type, scale, external), type, scale };
    if (external) bound.add(pv.id);
    if (type === 'f32' && !float32Values.has(v.name)) float32Values.set(v.name, pv.id);
    return pv;
  };
  const op = (index: number, what = label) => {
    ops = index + 1;
    labels[index] = what;
    return index;
  };
  const rangeOf = (v: Value): [number, number] => {
    const r = ranges?.[v.name];
    if (!r) throw new Error(`int8: no calibration range for '${v.name}' (calibrated on another model?)`);
    return r;
  };
  const int8Type = (v: Value): PlanValueType => (rangeOf(v)[0] >= 0 ? 'u8' : 's8');
  /** v in `type` (its int8 type and scale from calibration for 'int8'), converted once per type. */
  const want = (v: Value, type: PlanValueType | 'int8'): PlanValue => {
    const have = produced.get(v)!;
    if (type === 'int8' ? isInt8(have.type) : have.type === type) return have;
    const concrete = type === 'int8' ? int8Type(v) : type;
    const key = `${v.id}/${concrete}`;
    let converted = conversions.get(key);
    if (!converted) {
      converted = newValue(v, concrete, isInt8(concrete) ? scaleFor(concrete, rangeOf(v)) : 1);
      op(a.inferUnary(id, 'reorder', have.id, converted.id), `to ${concrete}: ${v.name}`);
      conversions.set(key, converted);
    }
    return converted;
  };
  /** The float32 value JavaScript reads v from: bound storage the plan writes (one array per plan). */
  const exported = (v: Value): { value: number; array: Float32Array; shape: number[] } => {
    const have = want(v, 'f32');
    const shape = [batch, ...v.shape];
    if (bound.has(have.id)) return { value: have.id, array: new Float32Array(0), shape };
    const key = `${v.id}/export`;
    let out = conversions.get(key);
    if (!out) {
      out = newValue(v, 'f32', 1, true);
      op(a.inferUnary(id, 'reorder', have.id, out.id), `export: ${v.name}`);
      conversions.set(key, out);
    }
    return { value: out.id, array: new Float32Array(shape.reduce((p, d) => p * d, 1)), shape };
  };
  const closeRange = () => {
    if (ops > rangeStart) steps.push({ kind: 'native', from: rangeStart, to: ops });
    rangeStart = ops;
  };
  /** Types of convolution inputs and outputs, and of the values between them. */
  const activationType = (): PlanValueType | 'int8' => (precision === 'bfloat16' ? 'bf16' : precision === 'int8' ? 'int8' : 'f32');
  const wantsFloat = (o: Operation) => !['conv', 'maxPool', 'avgPool', 'zeroPad'].includes(o.op);
  const readersOf = (v: Value) => graph.operations.filter((o) => o.inputs.includes(v) || (o.op === 'conv' && o.conv.residual === v));

  const inputValue = newValue(graph.input, 'f32', 1, true);
  produced.set(graph.input, inputValue);
  boundValues.set(graph.input.name, inputValue.id);
  const exportsByStep: Step[] = [];

  for (const o of graph.operations) {
    if (o.op === 'input') continue;
    const x = o.inputs[0];
    label = `${o.op} [${x.shape.join('x')} -> ${o.output.shape.join('x')}] ${o.layers.join('+')}`;
    if (o.op === 'conv') {
      const c = o.conv;
      label = `conv ${c.kernelSize.join('x')}/${c.strides[0]} [${x.shape.join('x')} -> ${o.output.shape.join('x')}]` +
        `${c.residual ? ' +sum' : ''} ${o.layers.filter((l) => !/relu|bn|add|pad/i.test(l)).join('+') || o.layers[0]}`;
    }
    switch (o.op) {
      case 'conv': {
        const c = o.conv;
        const t = activationType();
        const src = want(x, t);
        let outType: PlanValueType;
        let scale = 1;
        if (t === 'int8') {
          const floatOnly = graph.output !== o.output && readersOf(o.output).every(wantsFloat);
          outType = floatOnly ? 'f32' : int8Type(o.output);
          if (!floatOnly) scale = scaleFor(outType, rangeOf(o.output));
        } else outType = t;
        const y = newValue(o.output, outType, scale);
        const inChannels = x.shape[2];
        const window = windowOf(x.shape, c.kernelSize, c.strides, c.dilation, c.padding, c.extraPadding, [inChannels, c.filters]);
        const residual = c.residual ? produced.get(c.residual)! : null;
        const [weights, bias] = parameters(o);
        parameterOps.set(o, op(a.inferConv(id, src.id, y.id, weights!, bias, window, c.relu, residual ? residual.id : -1, c.reluAfterSum)));
        produced.set(o.output, y);
        break;
      }
      case 'maxPool': case 'avgPool': {
        const src = produced.get(x)!;
        const y = newValue(o.output, src.type, src.scale);
        const window = windowOf(x.shape, o.pool.poolSize, o.pool.strides, [1, 1], o.pool.padding, o.pool.extraPadding, [x.shape[2], x.shape[2]]);
        op(a.inferPool(id, src.id, y.id, o.op === 'maxPool' ? 'max' : 'avg', window));
        produced.set(o.output, y);
        break;
      }
      case 'zeroPad': {
        const src = produced.get(x)!;
        const y = newValue(o.output, src.type, src.scale);
        op(a.inferPad(id, src.id, y.id, o.padding[0], o.padding[2]));
        produced.set(o.output, y);
        break;
      }
      case 'globalAvgPool': {
        const src = want(x, 'f32');
        const y = newValue(o.output, 'f32');
        const [H, W] = x.shape;
        op(a.inferPool(id, src.id, y.id, 'avg', Int32Array.from([H, W, 1, 1, 1, 1, 0, 0, 0, 0])));
        produced.set(o.output, y);
        break;
      }
      case 'batchNorm': case 'relu': case 'add': {
        const t: PlanValueType = precision === 'bfloat16' && x.shape.length === 3 ? 'bf16' : 'f32';
        const srcs = o.inputs.map((v) => want(v, t));
        const y = newValue(o.output, t);
        if (o.op === 'batchNorm') {
          const [mean, variance, gamma, beta] = parameters(o);
          parameterOps.set(o, op(a.inferBatchNorm(id, srcs[0].id, y.id, mean!, variance!, gamma, beta, o.batchNorm.epsilon, o.relu)));
        } else if (o.op === 'relu') {
          op(a.inferUnary(id, 'relu', srcs[0].id, y.id));
        } else {
          op(a.inferAdd(id, srcs[0].id, srcs[1].id, y.id, o.relu));
        }
        produced.set(o.output, y);
        break;
      }
      case 'flatten': case 'softmax': {
        const src = want(x, 'f32');
        const y = newValue(o.output, 'f32');
        op(a.inferUnary(id, o.op, src.id, y.id));
        produced.set(o.output, y);
        break;
      }
      case 'dense': {
        const src = want(x, 'f32');
        const y = newValue(o.output, 'f32');
        const [weights, bias] = parameters(o);
        parameterOps.set(o, op(a.inferDense(id, src.id, y.id, weights!, bias, o.relu)));
        if (o.softmax) {
          const probabilities = newValue(o.output, 'f32');
          op(a.inferUnary(id, 'softmax', y.id, probabilities.id));
          produced.set(o.output, probabilities);
        } else produced.set(o.output, y);
        break;
      }
      case 'layer': {
        const inputs = o.inputs.map(exported);
        closeRange();
        const y = newValue(o.output, 'f32', 1, true);
        boundValues.set(o.output.name, y.id);
        const step: Step = { kind: 'layer', operation: o, inputs, output: y.id, shape: [batch, ...o.output.shape] };
        steps.push(step);
        exportsByStep.push(step);
        produced.set(o.output, y);
        break;
      }
      default:
        throw new Error(`inference: no lowering for operation '${o.op}'`);
    }
  }
  // The output: written into a bound array by a last reorder (none when a JavaScript layer wrote it).
  let output: PlanInstance['output'] = null;
  const last = produced.get(graph.output)!;
  if (!bound.has(last.id)) {
    const out = newValue(graph.output, 'f32', 1, true);
    op(a.inferUnary(id, 'reorder', last.id, out.id), 'output');
    output = { value: out.id, shape: [batch, ...graph.output.shape] };
  }
  closeRange();
  const memory = a.inferFinalize(id);
  for (const step of exportsByStep) {
    if (step.kind !== 'layer') continue;
    for (const i of step.inputs) if (i.array.length > 0) a.inferBind(id, i.value, i.array);
  }
  return { id, batch, input: inputValue.id, output, steps, parameterOps, float32Values, boundValues, memory, labels };
}

let registered = false;

/** Registers the native executor with compile.ts (once the native engine is registered). */
export function registerNativeInference(): void {
  if (registered) return;
  const addon = loadAddon() as Addon | null;
  if (!addon || typeof addon.inferCreatePlan !== 'function') return;
  registered = true;
  registerInferenceExecutor({
    name: 'native',
    applies: () => tf.getBackend() === NATIVE_BACKEND_NAME,
    defaultPrecision: () => nativePrecision() ?? 'float32',
    refuses: (precision) => {
      if (precision === 'bfloat16' && !addon.convPrecisions().includes('bfloat16')) {
        return 'precision bfloat16 is not available: this CPU has no bfloat16 instructions (AVX512_BF16)';
      }
      if (precision === 'int8' && !addon.inferInt8()) return 'precision int8 is not available: this CPU has no VNNI instructions (AVX512_VNNI)';
      return '';
    },
    compile: (_model, graph, options: InferenceOptions & { precision: InferencePrecision }) =>
      new NativeCompiled(addon, graph, options.precision, options.ranges),
  });
}

export type { NativeCompiled };
