// PyTorch ResNet state dicts (torchvision's and timm's keys: conv1, bn1, layerK.i.convN / bnN,
// layerK.i.downsample.0 / .1, fc) onto the family's resnet18/34/50-imagenet/101/152, which have
// torchvision's architecture layer for layer: convolution kernels OIHW -> HWIO, the Linear weight
// transposed, running statistics -> moving statistics (num_batches_tracked dropped), batch norm
// epsilon 1e-5 and momentum 0.1 (Keras's 0.9) as the family already uses. Browser-safe.
import { UserError } from '../errors.js';
import { FAMILY } from '../models/resnet.js';
import type { LayerWeights } from './assign.js';
import type { ImportPlan } from './plan.js';
import type { SafetensorsFile } from './safetensors.js';
import { converted, oihwToHwio, transpose2d, type LazyArray } from './tensors.js';

/** torchvision's ImageNet input size. */
const IMAGENET_SIZE = 224;
const BN_KEYS = ['weight', 'bias', 'running_mean', 'running_var'];
/** The family names whose architecture is torchvision's, by depth. */
const TORCHVISION_NAMES: Record<string, string> = { '18': 'resnet18', '34': 'resnet34', '50': 'resnet50-imagenet', '101': 'resnet101', '152': 'resnet152' };

/** The target layer and role of one state-dict key, or undefined for keys that carry no weights here. */
function targetOf(key: string): { layer: string; role: string; kind: 'conv' | 'bn' | 'fc' } | undefined | 'ignored' {
  let m: RegExpExecArray | null;
  if ((m = /^conv1\.weight$/.exec(key))) return { layer: 'conv1_conv', role: 'weight', kind: 'conv' };
  if ((m = /^bn1\.(\w+)$/.exec(key))) return m[1] === 'num_batches_tracked' ? 'ignored' : { layer: 'conv1_bn', role: m[1], kind: 'bn' };
  if ((m = /^fc\.(weight|bias)$/.exec(key))) return { layer: 'predictions', role: m[1], kind: 'fc' };
  if ((m = /^layer([1-4])\.(\d+)\.(conv|bn)([1-3])\.(\w+)$/.exec(key))) {
    const [, stage, block, kind, index, role] = m;
    if (role === 'num_batches_tracked') return 'ignored';
    return { layer: `conv${Number(stage) + 1}_block${Number(block) + 1}_${index}_${kind}`, role, kind: kind as 'conv' | 'bn' };
  }
  if ((m = /^layer([1-4])\.(\d+)\.downsample\.([01])\.(\w+)$/.exec(key))) {
    const [, stage, block, index, role] = m;
    if (role === 'num_batches_tracked') return 'ignored';
    return { layer: `conv${Number(stage) + 1}_block${Number(block) + 1}_0_${index === '0' ? 'conv' : 'bn'}`, role, kind: index === '0' ? 'conv' : 'bn' };
  }
  return undefined;
}

/** The family name whose blocks match the state dict's (basic vs bottleneck, blocks per stage). */
function detectArchitecture(keys: string[], source: string): string {
  const blocks = [1, 2, 3, 4].map((stage) => {
    const indices = keys.map((k) => new RegExp(`^layer${stage}\\.(\\d+)\\.`).exec(k)).filter((m) => m).map((m) => Number(m![1]));
    return indices.length ? Math.max(...indices) + 1 : 0;
  });
  const block = keys.some((k) => /^layer1\.0\.conv3\./.test(k)) ? 'bottleneck' : 'basic';
  for (const [depth, name] of Object.entries(TORCHVISION_NAMES)) {
    const arch = FAMILY[`resnet${depth}`];
    if (arch.block === block && arch.blocksPerStage.join() === blocks.join()) return name;
  }
  throw new UserError(`${source}: not a torchvision/timm ResNet-18/34/50/101/152 (${block} blocks per stage: ${blocks.join(', ')}); pass --model NAME to choose one`);
}

/** The plan for a safetensors state dict; `model` overrides the detected architecture. */
export function planTorchvisionImport(file: SafetensorsFile, source: string, model?: string): ImportPlan {
  // A state dict saved from nn.DataParallel prefixes every key with 'module.'.
  const prefix = [...file.tensors.keys()].every((k) => k.startsWith('module.')) ? 'module.' : '';
  const keys = [...file.tensors.keys()].map((k) => k.slice(prefix.length));
  if (!keys.includes('conv1.weight')) {
    throw new UserError(`${source}: no 'conv1.weight': not a torchvision/timm ResNet state dict (keys: ${keys.slice(0, 5).join(', ')}${keys.length > 5 ? ', ...' : ''})`);
  }
  const name = model ?? detectArchitecture(keys, source);
  const roles = new Map<string, Map<string, { array: LazyArray; kind: string }>>();
  for (const key of keys) {
    const target = targetOf(key);
    if (target === 'ignored') continue;
    if (!target) throw new UserError(`${source}: unexpected key '${key.slice(0, 100)}' for a torchvision ResNet (a different architecture?)`);
    if (!roles.has(target.layer)) roles.set(target.layer, new Map());
    roles.get(target.layer)!.set(target.role, { array: file.get(prefix + key), kind: target.kind });
  }
  const weights: LayerWeights = new Map();
  for (const [layer, byRole] of roles) {
    const kind = [...byRole.values()][0].kind;
    const order = kind === 'bn' ? BN_KEYS : kind === 'fc' ? ['weight', 'bias'] : ['weight', 'bias'].filter((r) => byRole.has(r));
    const missing = order.find((r) => !byRole.has(r));
    if (missing) throw new UserError(`${source}: layer '${layer}' lacks its '${missing}' tensor`);
    const extra = [...byRole.keys()].find((r) => !order.includes(r));
    if (extra) throw new UserError(`${source}: layer '${layer}' has an unexpected '${extra}' tensor`);
    weights.set(
      layer,
      order.map((role) => {
        const a = byRole.get(role)!.array;
        if (role !== 'weight' || kind === 'bn') return a;
        const rank = kind === 'conv' ? 4 : 2;
        if (a.shape.length !== rank) throw new UserError(`${source}: '${layer}' weight has rank ${a.shape.length}, expected ${rank}`);
        if (kind === 'conv') return converted(a, [a.shape[2], a.shape[3], a.shape[1], a.shape[0]], oihwToHwio);
        return converted(a, [a.shape[1], a.shape[0]], transpose2d);
      }),
    );
  }
  const head = weights.get('predictions');
  return {
    model: name,
    defaultSize: IMAGENET_SIZE,
    classes: head ? head[0].shape[1] : undefined,
    preprocessing: 'torch',
    weights,
    headLayer: head ? 'predictions' : undefined,
    firstConv: 'conv1_conv',
    format: 'PyTorch state dict (safetensors, torchvision/timm ResNet keys)',
  };
}
