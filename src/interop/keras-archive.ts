// Reads a Keras 3 .keras archive (Node-only): a zip of config.json (the model), metadata.json (Keras's
// version, and for files this project exported, the registry name and preprocessing it recorded) and
// model.weights.h5 (variables keyed by class-name counters, mapped through config.json). The weights
// member is inflated into a private temporary file for h5wasm, never under its own name.
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { UserError } from '../errors.js';
import { parseKerasConfigText } from './keras-config.js';
import { readKeras3Weights } from './keras-h5.js';
import type { KerasSource } from './keras-mapping.js';
import { quietly } from './hdf5.js';
import { readZipMembers } from './zip.js';

const MiB = 2 ** 20;
/** Most bytes each member may declare: config.json of ResNet-152 is about 0.6 MB, its weights about 240 MB. */
export const ARCHIVE_LIMITS: Record<string, number> = { 'config.json': 64 * MiB, 'metadata.json': 1 * MiB, 'model.weights.h5': 2047 * MiB };

export interface OpenedKerasArchive {
  source: KerasSource;
  /** Closes the weights file and removes the temporary copy. */
  close(): Promise<void>;
}

export async function readKerasArchive(bytes: Uint8Array, source: string): Promise<OpenedKerasArchive> {
  const members = readZipMembers(bytes, ARCHIVE_LIMITS, source);
  const config = members.get('config.json');
  const weights = members.get('model.weights.h5');
  if (!config) throw new UserError(`${source}: a zip without config.json (not a Keras .keras archive)`);
  if (!weights) throw new UserError(`${source}: no model.weights.h5 in the archive (sharded or missing weights are not read)`);
  const info = parseKerasConfigText(new TextDecoder().decode(config), source);
  let marker: KerasSource['marker'];
  const metadata = members.get('metadata.json');
  if (metadata) {
    try {
      const json = JSON.parse(new TextDecoder().decode(metadata)) as { resnet_ts?: KerasSource['marker'] };
      if (typeof json?.resnet_ts === 'object' && json.resnet_ts !== null) marker = json.resnet_ts;
    } catch {
      throw new UserError(`${source}: metadata.json is not valid JSON`);
    }
  }
  const dir = await mkdtemp(join(tmpdir(), 'resnet-keras-'));
  const cleanup = () => rm(dir, { recursive: true, force: true });
  try {
    const path = join(dir, 'weights.h5');
    await writeFile(path, weights);
    const { layers, file } = await readKeras3Weights(path, info, source);
    return {
      source: { format: 'Keras 3 .keras archive', info, layers, marker },
      close: async () => {
        quietly(() => file.close());
        await cleanup();
      },
    };
  } catch (error) {
    await cleanup();
    throw error;
  }
}
