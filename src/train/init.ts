// Node-only: opens the model that `--init` names (a model folder written by `resnet train`, or a run
// folder, whose best model it reads) for fine-tuning (finetune.ts).
import { existsSync } from 'node:fs';
import { UserError } from '../errors.js';
import { isDirectory, loadModelFolder, type ModelMetadata } from './checkpoint.js';
import type { InitModel } from './head.js';

/** The model and what its folder says about it; `metadata` carries over into the new run's folders. */
export async function openInitModel(path: string): Promise<InitModel & { metadata: ModelMetadata }> {
  if (!existsSync(path)) throw new UserError(`--init: '${path}' does not exist`);
  if (!(await isDirectory(path)) && !path.endsWith('.json')) {
    throw new UserError(`--init: '${path}' is a file; this build starts from model folders only (written by 'resnet train')`);
  }
  const { model, metadata } = await loadModelFolder(path);
  return { model, metadata, classNames: metadata.classNames, inputShape: metadata.inputShape };
}
