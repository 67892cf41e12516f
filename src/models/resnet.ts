// The ResNet family on one generic builder, in the style of keras-hub / torchvision: blocks are plain
// functions `apply*Block(x, ..., name)` on symbolic tensors, a stack function chains them, and each
// network is one line of configuration (`FAMILY`). Covers
//   - ImageNet-style ResNet-18/34 (basic blocks) and 50/101/152 (bottlenecks, v1.5: stride on the 3x3),
//     bias-free convolutions + batch norm, projection shortcuts (option B) where shapes change: the
//     trainable parameters equal torchvision's;
//   - CIFAR-style ResNet-6n+2 (He et al. 2015, section 4.2) with shortcut option A (zero-padding) or B;
//   - the plain twin of each (same layers, no shortcuts) and pre-activation (v2) blocks;
//   - with options (stride placement, conv biases, batch-norm constants), keras.applications' ResNet
//     v1 and v2 layer for layer (src/models/keras-applications.ts).
// Separate from the course ResNet-50 (src/models/resnet50.ts), which keeps Keras's conv biases.
import * as tf from '../tf.js';
import type { Initializer } from '../blocks.js';
import { UserError } from '../errors.js';
import { SubsampleZeroPad } from './cifar.js';
import { Preprocessing, type PreprocessingConfig } from './preprocessing.js';

type Sym = tf.SymbolicTensor;

export type StemKind = 'imagenet' | 'cifar';
export type BlockKind = 'basic' | 'bottleneck';
/** 'A': parameter-free subsample + zero channels; 'B': 1x1 projection + BN; 'none': the plain twin. */
export type ShortcutKind = 'A' | 'B' | 'none';
export type InitializerName = 'glorot' | 'he';

/** One network of the family: everything that is not an option. */
export interface Architecture {
  stem: StemKind;
  block: BlockKind;
  /** Blocks in each stage, input to output. */
  blocksPerStage: number[];
}

export interface ResNetOptions {
  /** [height, width, channels] of one image. */
  inputShape: [number, number, number];
  classes: number;
  /** Default: 'B' for the ImageNet stem, 'A' for the CIFAR stem. */
  shortcut?: ShortcutKind;
  /** Pre-activation (v2) blocks: BN -> ReLU -> conv, nothing after the add. Default false. */
  preActivation?: boolean;
  /** Batch normalisation after (v1) or before (v2) each convolution. Default true; without it convolutions get biases. */
  batchNorm?: boolean;
  /** Kernel initializer of every conv and dense layer: Glorot uniform (Keras's default), He normal (std sqrt(2 / fan_in)), or a factory. Default 'he'. */
  kernelInitializer?: InitializerName | ((seed: number) => Initializer);
  /**
   * The k-th main-path weight layer (k = 1, 2, ... input to output) gets seed + k, so that a network
   * and its plain twin start equal (never seed 0: TF.js's normal draws read 0 as "no seed"). Default 0.
   */
  seed?: number;
  /** Activation of the dense head: 'softmax' (default) or 'linear' for logits (a numerically stable loss). */
  headActivation?: 'softmax' | 'linear';
  /**
   * Bottleneck blocks: the convolution that carries a block's stride, the 3x3 (torchvision's v1.5,
   * default) or the first 1x1 (keras.applications' ResNet50 v1, the original paper).
   */
  strideOn?: '3x3' | '1x1';
  /**
   * The block of a stage that downsamples: the 'first' (default; stages 3, 4, 5 stride 2), or the
   * 'last' (keras.applications' ResNetV2: stages 2, 3, 4 end with a stride-2 block).
   */
  strideBlock?: 'first' | 'last';
  /**
   * Convolution biases: 'auto' (only without batch norm, default), 'all' (keras.applications' v1), or
   * 'unnormalized' (those that no batch norm directly follows: keras.applications' v2).
   */
  convBias?: 'auto' | 'all' | 'unnormalized';
  /** Batch-norm epsilon (default 1e-5, torchvision's; Keras's applications use 1.001e-5). */
  batchNormEpsilon?: number;
  /** Batch-norm momentum of the moving statistics (default 0.9, torchvision's 0.1; Keras's default 0.99). */
  batchNormMomentum?: number;
  /** A per-channel affine first layer (the normalisation pretrained weights expect); default none. */
  preprocessing?: PreprocessingConfig;
  /** 'zeros': every kernel starts at zero instead of a random draw (weights about to be loaded); default 'random'. */
  initialWeights?: 'random' | 'zeros';
  name?: string;
}

/** Filters of the 3x3 convolutions of each stage; bottleneck outputs have BOTTLENECK_EXPANSION times more. */
const STAGE_WIDTHS: Record<StemKind, number[]> = { imagenet: [64, 128, 256, 512], cifar: [16, 32, 64] };
const BOTTLENECK_EXPANSION = 4;
/** torchvision's batch-norm constants (its momentum 0.1 is Keras's 0.9). */
const BN_EPSILON = 1e-5;
const BN_MOMENTUM = 0.9;
/** Standard deviation of a unit normal truncated to [-2, 2]. */
const TRUNCATED_NORMAL_STD = 0.87962566103423978;
/** Projection shortcuts draw seeds from here on, so they do not shift the main path's seeds. */
const SHORTCUT_SEED_OFFSET = 100_000;

/** Everything the block functions need besides their arguments. */
export interface BuildContext {
  shortcut: ShortcutKind;
  preActivation: boolean;
  batchNorm: boolean;
  strideOn: '3x3' | '1x1';
  convBias: 'auto' | 'all' | 'unnormalized';
  batchNormEpsilon: number;
  batchNormMomentum: number;
  initializer: (seed: number) => Initializer;
  nextSeed: () => number;
  nextShortcutSeed: () => number;
}

function initializerFactory(choice: ResNetOptions['kernelInitializer']): (seed: number) => Initializer {
  if (typeof choice === 'function') return choice;
  if (choice === 'glorot') return (seed) => tf.initializers.glorotUniform({ seed });
  // TF.js's heNormal draws a normal truncated at 2 stddev without Keras's correction, so its spread is
  // 12% short of He's sqrt(2 / fan_in); a plain 56-layer stack would lose a factor 0.88 per layer.
  if (choice === undefined || choice === 'he') {
    return (seed) => tf.initializers.varianceScaling({ scale: 2 / TRUNCATED_NORMAL_STD ** 2, mode: 'fanIn', distribution: 'normal', seed });
  }
  throw new UserError(`unknown kernel initializer '${choice}' (expected 'glorot' or 'he')`);
}

function batchNorm(x: Sym, ctx: BuildContext, name: string): Sym {
  return tf.layers.batchNormalization({ axis: -1, epsilon: ctx.batchNormEpsilon, momentum: ctx.batchNormMomentum, name }).apply(x) as Sym;
}

function relu(x: Sym, name: string): Sym {
  return tf.layers.activation({ activation: 'relu', name }).apply(x) as Sym;
}

/** Whether a convolution has a bias, given whether a batch norm directly follows it. */
function hasBias(ctx: BuildContext, normalizedNext: boolean): boolean {
  if (ctx.convBias === 'all') return true;
  if (ctx.convBias === 'unnormalized') return !(ctx.batchNorm && normalizedNext);
  return !ctx.batchNorm;
}

/**
 * A k x k convolution; strided ones pad explicitly by k//2 on every side (torchvision's rule, not TF's
 * 'same'). `normalizedNext`: a batch norm directly follows it (see ResNetOptions.convBias).
 */
function conv(x: Sym, filters: number, kernel: number, stride: number, seed: number, ctx: BuildContext, name: string, normalizedNext: boolean): Sym {
  const pad = Math.floor(kernel / 2);
  let input = x;
  if (stride > 1 && pad > 0) input = tf.layers.zeroPadding2d({ padding: pad, name: `${name}_pad` }).apply(x) as Sym;
  return tf.layers
    .conv2d({
      filters,
      kernelSize: kernel,
      strides: stride,
      padding: stride > 1 ? 'valid' : 'same',
      useBias: hasBias(ctx, normalizedNext),
      kernelInitializer: ctx.initializer(seed),
      name: `${name}_conv`,
    })
    .apply(input) as Sym;
}

/**
 * conv -> BN -> ReLU (v1), or conv alone (v2, whose BN/ReLU come before the next conv; `last`: the
 * block's last conv, which no batch norm follows).
 */
function convUnit(x: Sym, filters: number, kernel: number, stride: number, ctx: BuildContext, name: string, activate: boolean, last = false): Sym {
  let y = conv(x, filters, kernel, stride, ctx.nextSeed(), ctx, name, !(ctx.preActivation && last));
  if (ctx.preActivation) return y;
  if (ctx.batchNorm) y = batchNorm(y, ctx, `${name}_bn`);
  return activate ? relu(y, `${name}_relu`) : y;
}

/** BN -> ReLU ahead of a v2 convolution (ReLU alone without batch norm). */
function preActivate(x: Sym, ctx: BuildContext, name: string): Sym {
  return relu(ctx.batchNorm ? batchNorm(x, ctx, `${name}_bn`) : x, `${name}_relu`);
}

function channelsOf(x: Sym): number {
  return x.shape[x.shape.length - 1] as number;
}

/**
 * The shortcut branch of a block whose output has `outChannels` channels at `stride`: the input
 * itself when shapes agree, every `stride`-th pixel when only the size changes (a 1x1 max pool, as in
 * keras.applications' v2), else option A (subsample + zero channels) or B (1x1 projection + BN).
 * `preact` is the pre-activated input of a v2 block (projections read it, as in He et al. 2016).
 */
function applyShortcut(x: Sym, preact: Sym, outChannels: number, stride: number, ctx: BuildContext, name: string): Sym {
  if (channelsOf(x) === outChannels) {
    if (stride === 1) return x;
    return tf.layers.maxPooling2d({ poolSize: 1, strides: stride, name: `${name}_0_pool` }).apply(x) as Sym;
  }
  if (ctx.shortcut === 'A') return new SubsampleZeroPad({ stride, channels: outChannels, name: `${name}_0_pad` }).apply(x) as Sym;
  const normalized = ctx.batchNorm && !ctx.preActivation;
  let y = conv(preact, outChannels, 1, stride, ctx.nextShortcutSeed(), ctx, `${name}_0`, normalized);
  if (normalized) y = batchNorm(y, ctx, `${name}_0_bn`);
  return y;
}

/** Adds the shortcut to the main path (v1: then ReLU); the plain twin just activates the main path. */
function closeBlock(main: Sym, shortcut: () => Sym, ctx: BuildContext, name: string): Sym {
  if (ctx.shortcut === 'none') return ctx.preActivation ? main : relu(main, `${name}_out`);
  const sum = tf.layers.add({ name: `${name}_add` }).apply([shortcut(), main]) as Sym;
  return ctx.preActivation ? sum : relu(sum, `${name}_out`);
}

/** Basic block: two 3x3 convolutions (expansion 1). */
export function applyBasicBlock(x: Sym, filters: number, stride: number, ctx: BuildContext, name: string): Sym {
  const input = ctx.preActivation ? preActivate(x, ctx, `${name}_preact`) : x;
  let y = convUnit(input, filters, 3, stride, ctx, `${name}_1`, true);
  if (ctx.preActivation) y = preActivate(y, ctx, `${name}_1`);
  y = convUnit(y, filters, 3, 1, ctx, `${name}_2`, false, true);
  return closeBlock(y, () => applyShortcut(x, input, filters, stride, ctx, name), ctx, name);
}

/** Bottleneck block: 1x1 reduce, 3x3 (carries the stride in v1.5, see strideOn), 1x1 expand by 4. */
export function applyBottleneckBlock(x: Sym, filters: number, stride: number, ctx: BuildContext, name: string): Sym {
  const input = ctx.preActivation ? preActivate(x, ctx, `${name}_preact`) : x;
  const [stride1x1, stride3x3] = ctx.strideOn === '1x1' ? [stride, 1] : [1, stride];
  let y = convUnit(input, filters, 1, stride1x1, ctx, `${name}_1`, true);
  if (ctx.preActivation) y = preActivate(y, ctx, `${name}_1`);
  y = convUnit(y, filters, 3, stride3x3, ctx, `${name}_2`, true);
  if (ctx.preActivation) y = preActivate(y, ctx, `${name}_2`);
  y = convUnit(y, filters * BOTTLENECK_EXPANSION, 1, 1, ctx, `${name}_3`, false, true);
  return closeBlock(y, () => applyShortcut(x, input, filters * BOTTLENECK_EXPANSION, stride, ctx, name), ctx, name);
}

/** A stage: `blocks` blocks of one kind, the first one (or with `strideBlock` 'last', the last one) carrying `stride`. */
export function applyStack(x: Sym, block: BlockKind, filters: number, blocks: number, stride: number, ctx: BuildContext, name: string, strideBlock: 'first' | 'last' = 'first'): Sym {
  const apply = block === 'basic' ? applyBasicBlock : applyBottleneckBlock;
  const strided = strideBlock === 'first' ? 0 : blocks - 1;
  for (let b = 0; b < blocks; b++) x = apply(x, filters, b === strided ? stride : 1, ctx, `${name}_block${b + 1}`);
  return x;
}

/** ImageNet stem: 7x7/2 conv with 64 filters, then 3x3/2 max pooling; CIFAR stem: one 3x3 conv with 16 filters. */
function applyStem(x: Sym, stem: StemKind, ctx: BuildContext): Sym {
  if (stem === 'cifar') return convUnit(x, STAGE_WIDTHS.cifar[0], 3, 1, ctx, 'conv1', true, true);
  const y = convUnit(x, STAGE_WIDTHS.imagenet[0], 7, 2, ctx, 'conv1', true, true);
  const padded = tf.layers.zeroPadding2d({ padding: 1, name: 'pool1_pad' }).apply(y) as Sym;
  return tf.layers.maxPooling2d({ poolSize: 3, strides: 2, name: 'pool1_pool' }).apply(padded) as Sym;
}

/** Builds one network of the family as a Keras functional model (softmax output). */
export function buildResNet(arch: Architecture, options: ResNetOptions): tf.LayersModel {
  const { inputShape, classes } = options;
  if (!Number.isInteger(classes) || classes < 1) throw new UserError(`classes must be a positive integer, got ${classes}`);
  if (inputShape.length !== 3 || !inputShape.every((d) => Number.isInteger(d) && d > 0)) {
    throw new UserError(`inputShape must be [height, width, channels] of positive integers, got [${inputShape.join(', ')}]`);
  }
  const widths = STAGE_WIDTHS[arch.stem];
  if (arch.blocksPerStage.length !== widths.length) throw new Error(`${arch.stem} networks have ${widths.length} stages`);
  let seed = options.seed ?? 0;
  let shortcutSeed = seed + SHORTCUT_SEED_OFFSET;
  if (!Number.isInteger(seed) || seed < 0) throw new UserError(`seed must be a non-negative integer, got ${seed}`);
  const ctx: BuildContext = {
    shortcut: options.shortcut ?? (arch.stem === 'cifar' ? 'A' : 'B'),
    preActivation: options.preActivation ?? false,
    batchNorm: options.batchNorm ?? true,
    strideOn: options.strideOn ?? '3x3',
    convBias: options.convBias ?? 'auto',
    batchNormEpsilon: options.batchNormEpsilon ?? BN_EPSILON,
    batchNormMomentum: options.batchNormMomentum ?? BN_MOMENTUM,
    initializer: options.initialWeights === 'zeros' ? () => tf.initializers.zeros() : initializerFactory(options.kernelInitializer),
    nextSeed: () => ++seed,
    nextShortcutSeed: () => ++shortcutSeed,
  };
  const input = tf.input({ shape: inputShape, name: 'input' });
  let x = options.preprocessing ? (new Preprocessing(options.preprocessing).apply(input) as Sym) : input;
  x = applyStem(x, arch.stem, ctx);
  // Downsampling between stages: at the start of stages 2.. ('first'), or at the end of stages ..n-1 ('last').
  const strideBlock = options.strideBlock ?? 'first';
  const last = arch.blocksPerStage.length - 1;
  arch.blocksPerStage.forEach((blocks, s) => {
    const stride = (strideBlock === 'first' ? s > 0 : s < last) ? 2 : 1;
    x = applyStack(x, arch.block, widths[s], blocks, stride, ctx, `conv${s + 2}`, strideBlock);
  });
  if (ctx.preActivation) x = preActivate(x, ctx, 'post');
  x = tf.layers.globalAveragePooling2d({ name: 'avg_pool' }).apply(x) as Sym;
  const output = tf.layers
    .dense({ units: classes, activation: options.headActivation ?? 'softmax', kernelInitializer: ctx.initializer(ctx.nextSeed()), name: 'predictions' })
    .apply(x) as Sym;
  return tf.model({ inputs: input, outputs: output, name: options.name ?? `${arch.stem}_${arch.block}_resnet` });
}

/** The CIFAR network with `depth` = 6n + 2 weight layers (n basic blocks per stage). */
export function cifarArchitecture(depth: number): Architecture {
  const n = (depth - 2) / 6;
  if (!Number.isInteger(n) || n < 1) throw new UserError(`a CIFAR ResNet has depth 6n+2 (8, 14, 20, 32, 44, 56, 110, ...), got ${depth}`);
  return { stem: 'cifar', block: 'basic', blocksPerStage: [n, n, n] };
}

/** Each network is one line: the family's named architectures (plain and v2 variants derive from these). */
export const FAMILY: Record<string, Architecture> = {
  resnet18: { stem: 'imagenet', block: 'basic', blocksPerStage: [2, 2, 2, 2] },
  resnet34: { stem: 'imagenet', block: 'basic', blocksPerStage: [3, 4, 6, 3] },
  resnet50: { stem: 'imagenet', block: 'bottleneck', blocksPerStage: [3, 4, 6, 3] },
  resnet101: { stem: 'imagenet', block: 'bottleneck', blocksPerStage: [3, 4, 23, 3] },
  resnet152: { stem: 'imagenet', block: 'bottleneck', blocksPerStage: [3, 8, 36, 3] },
  resnet20: cifarArchitecture(20),
  resnet32: cifarArchitecture(32),
  resnet44: cifarArchitecture(44),
  resnet56: cifarArchitecture(56),
  resnet110: cifarArchitecture(110),
};

/** A family name resolved: which architecture, with which options. */
export interface FamilyMember {
  arch: Architecture;
  shortcut: ShortcutKind;
  preActivation: boolean;
}

/**
 * Family names: 'resnet18' ... 'resnet152' (ImageNet; the bottleneck 50 is 'resnet50-imagenet'
 * because 'resnet50' is the course model), 'resnet20' ... 'resnet110' and any other 6n+2 (CIFAR, option A;
 * '-b' suffix: option B), 'plain<depth>' for the plain twin, and '-v2' for pre-activation blocks.
 */
export function familyMemberOf(name: string): FamilyMember | undefined {
  const m = /^(resnet|plain)(\d+)(-imagenet)?(-b)?(-v2)?$/.exec(name);
  if (!m) return undefined;
  const [, kind, depth, imagenet, optionB, v2] = m;
  // The named networks first, then any other CIFAR depth 6n+2 (resnet8, plain14, ...).
  const arch = FAMILY[`resnet${depth}`] ?? ((Number(depth) - 2) % 6 === 0 && Number(depth) >= 8 ? cifarArchitecture(Number(depth)) : undefined);
  if (!arch) return undefined;
  // 'resnet50' alone is the course model; the family's bottleneck 50 must say '-imagenet'.
  if (depth === '50' && kind === 'resnet' && !imagenet) return undefined;
  if (imagenet && depth !== '50') return undefined;
  if (optionB && (kind === 'plain' || arch.stem !== 'cifar')) return undefined;
  const shortcut: ShortcutKind = kind === 'plain' ? 'none' : optionB || arch.stem === 'imagenet' ? 'B' : 'A';
  return { arch, shortcut, preActivation: v2 !== undefined };
}

/** All family names: each residual network, its '-v2' (and for CIFAR '-b') variant, and its plain twin. */
export function familyNames(): string[] {
  const names: string[] = [];
  for (const [key, arch] of Object.entries(FAMILY)) {
    const depth = key.slice('resnet'.length);
    const residual = arch.block === 'bottleneck' && depth === '50' ? 'resnet50-imagenet' : key;
    names.push(residual, `${residual}-v2`);
    if (arch.stem === 'cifar') names.push(`${key}-b`);
    names.push(`plain${depth}`);
  }
  return names;
}

/** Builds a family network by name; other options (batch norm, initializer, seed) pass through. */
export function buildFamilyModel(name: string, options: Omit<ResNetOptions, 'shortcut' | 'preActivation'>): tf.LayersModel {
  const member = familyMemberOf(name);
  if (!member) throw new UserError(`unknown model '${name}' (family: ${familyNames().join(', ')})`);
  return buildResNet(member.arch, { ...options, shortcut: member.shortcut, preActivation: member.preActivation, name: options.name ?? name });
}

/** Trainable parameters: what torchvision and the papers count (Keras's total adds the BN moving statistics). */
export function countTrainableParams(model: tf.LayersModel): number {
  return model.trainableWeights.reduce((sum, w) => sum + (w.shape as number[]).reduce((a, b) => a * b, 1), 0);
}
