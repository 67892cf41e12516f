// Where the page's models come from: the server's models.json (resnet serve), a model.json URL, or a
// model folder's files (model.json + weights, or a .zip of the folder). Every path goes through the
// library's checks (src/train/model-folder.ts), so a broken folder gives one clear line.
import { unzipSync } from 'fflate';
import { tf, modelArtifacts, modelFromArtifacts, UserError, type ModelMetadata } from '../src/index.js';
import { gradCamParts, type GradCamParts } from '../src/explain/gradcam.js';
import { disposeModels } from '../src/models/cut.js';

/** model.json's userDefinedMetadata as the page reads it (preprocessing: see src/models/preprocessing.ts). */
export type PageMetadata = ModelMetadata & { preprocessing?: unknown };

export interface LoadedModel {
  model: tf.LayersModel;
  metadata: PageMetadata;
  /** Weights and topology in memory: fresh copies of the model for fine-tuning come from here. */
  artifacts: tf.io.ModelArtifacts;
  /** Where it came from, for people. */
  source: string;
  /** The Grad-CAM split of `model`, made once. */
  parts: GradCamParts | null;
  /** Frees the model's weights (and those of any copy it was made from). */
  dispose(): void;
}

export interface ServedEntry {
  id: string;
  name: string;
  url: string;
  classNames: string[];
  inputShape: number[];
}

/** The models `resnet serve` offers (an empty list from a static host without models.json). */
export async function servedModels(): Promise<ServedEntry[]> {
  const response = await fetch('models.json', { cache: 'no-cache' }).catch(() => null);
  if (!response?.ok) return [];
  const list = (await response.json().catch(() => [])) as ServedEntry[];
  return Array.isArray(list) ? list : [];
}

async function finish(json: unknown, where: string, read: (path: string) => Promise<Uint8Array>, source: string): Promise<LoadedModel> {
  const { artifacts, metadata } = await modelArtifacts(json, where, read);
  const model = await modelFromArtifacts(artifacts, where);
  return { model, metadata: metadata as PageMetadata, artifacts, source, parts: explainable(model), dispose: () => disposeModels(model) };
}

/** The Grad-CAM split of a model, or null for a model without an image-shaped layer (classify only). */
export function explainable(model: tf.LayersModel): GradCamParts | null {
  try {
    return gradCamParts(model);
  } catch {
    return null;
  }
}

function parseJson(text: string, where: string): unknown {
  try {
    return JSON.parse(text);
  } catch (error) {
    throw new UserError(`${where}: not valid JSON (${(error as Error).message})`);
  }
}

/** Loads model.json at `url` and the weights it names, relative to it. */
export async function loadFromUrl(url: string): Promise<LoadedModel> {
  const base = new URL(url, document.baseURI);
  const response = await fetch(base).catch((error: unknown) => {
    throw new UserError(`${url}: cannot fetch (${(error as Error).message})`);
  });
  if (!response.ok) throw new UserError(`${url}: the server answered ${response.status} ${response.statusText}`);
  const json = parseJson(await response.text(), url);
  const read = async (path: string) => {
    const r = await fetch(new URL(path, base)).catch(() => null);
    if (!r?.ok) throw new UserError(`${new URL(path, base).pathname}: weights file missing (the model folder is incomplete)`);
    return new Uint8Array(await r.arrayBuffer());
  };
  return finish(json, url, read, url);
}

/** Loads a model from dropped or chosen files: model.json and its weights, or one .zip of the folder. */
export async function loadFromFiles(files: File[]): Promise<LoadedModel> {
  const zip = files.find((f) => f.name.toLowerCase().endsWith('.zip'));
  let entries: Map<string, Uint8Array>;
  if (zip) {
    let unzipped: Record<string, Uint8Array>;
    try {
      unzipped = unzipSync(new Uint8Array(await zip.arrayBuffer()));
    } catch (error) {
      throw new UserError(`${zip.name}: not a readable zip file (${(error as Error).message})`);
    }
    entries = new Map(Object.entries(unzipped));
  } else {
    entries = new Map(await Promise.all(files.map(async (f): Promise<[string, Uint8Array]> => [f.name, new Uint8Array(await f.arrayBuffer())])));
  }
  const jsonName = [...entries.keys()].filter((name) => name === 'model.json' || name.endsWith('/model.json')).sort((a, b) => a.length - b.length)[0];
  if (!jsonName) throw new UserError(`no model.json among ${zip ? zip.name : files.map((f) => f.name).join(', ')}`);
  const folder = jsonName.slice(0, jsonName.length - 'model.json'.length);
  const json = parseJson(new TextDecoder().decode(entries.get(jsonName)), jsonName);
  const read = async (path: string) => {
    const bytes = entries.get(folder + path) ?? (zip ? undefined : entries.get(path.split('/').pop()!));
    if (!bytes) throw new UserError(`${path}: weights file missing (add it next to model.json)`);
    return bytes;
  };
  return finish(json, zip ? `${zip.name}:${jsonName}` : jsonName, read, zip ? zip.name : files.map((f) => f.name).join(' + '));
}

/** A fresh copy of a loaded model (its own weights), for fine-tuning without touching the original. */
export function freshCopy(loaded: LoadedModel): Promise<tf.LayersModel> {
  return modelFromArtifacts(loaded.artifacts, loaded.source);
}

/** One line about a loaded model. */
export function describe(loaded: LoadedModel): string {
  const m = loaded.metadata;
  const params = loaded.model.countParams().toLocaleString('en');
  const pre = m.preprocessing === undefined ? 'pixels / 255' : typeof m.preprocessing === 'string' ? m.preprocessing : JSON.stringify(m.preprocessing);
  return `${loaded.source}: ${m.model}, ${m.classNames.length} classes (${m.classNames.join(', ')}), input ${m.inputShape.join('×')}, preprocessing ${pre}, ${params} parameters`;
}
