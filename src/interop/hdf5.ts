// h5wasm for the importers and the Keras exporter (Node-only): opening a file with one clear message
// when it is damaged, HDF5's own diagnostics kept off stderr, attributes as strings, and datasets as
// lazily read float32 arrays whose declared shape is checked before anything is read.
import fs from 'node:fs';
import { resolve } from 'node:path';
import h5wasm, { Dataset, Group, type File as H5File } from 'h5wasm/node';
import { UserError } from '../errors.js';
import { elementCount, type LazyArray } from './tensors.js';

export { Dataset, Group, type H5File };

/** HDF5's type classes as h5wasm reports them (H5T_class_t). */
const H5T_FLOAT = 1;

/**
 * Runs synchronous h5wasm calls with stderr muted: on a damaged file HDF5's C library prints its error
 * stack ("HDF5-DIAG: ...") through fs.writeSync(2, ...), while the UserError thrown says what is wrong
 * in one line. Nothing else can write in between, since the calls are synchronous.
 */
export function quietly<T>(run: () => T): T {
  const writeSync = fs.writeSync;
  fs.writeSync = ((fd: number, ...rest: unknown[]) => {
    if (fd !== 2) return (writeSync as (fd: number, ...rest: unknown[]) => number)(fd, ...rest);
    const [data, offset, length] = rest;
    if (typeof data === 'string') return Buffer.byteLength(data);
    if (typeof length === 'number') return length;
    return (data as ArrayBufferView).byteLength - (typeof offset === 'number' ? offset : 0);
  }) as typeof fs.writeSync;
  try {
    return run();
  } finally {
    fs.writeSync = writeSync;
  }
}

/** Opens an HDF5 file for reading; a damaged one is a UserError. */
export async function openHdf5(path: string, source: string): Promise<H5File> {
  await h5wasm.ready;
  return quietly(() => {
    try {
      const file = new h5wasm.File(resolve(path), 'r');
      file.keys();
      return file;
    } catch {
      throw new UserError(`${source}: cannot read the HDF5 file (truncated or corrupt)`);
    }
  });
}

/** Creates (replaces) an HDF5 file for writing. */
export async function createHdf5(path: string): Promise<H5File> {
  await h5wasm.ready;
  return new h5wasm.File(resolve(path), 'w');
}

/** An attribute as a list of strings (HDF5 stores Keras's names as fixed or variable-length strings); [] when absent. */
export function stringsAttribute(entity: Group | Dataset, name: string, source: string): string[] {
  return quietly(() => {
    if (!(name in entity.attrs)) return [];
    const value = entity.get_attribute(name, true) as unknown;
    const list = Array.isArray(value) ? value : [value];
    if (!list.every((v) => typeof v === 'string')) throw new UserError(`${source}: attribute '${name}' of '${entity.path}' is not a list of strings`);
    return list as string[];
  });
}

/** A float dataset as a LazyArray; its shape is checked on the spot, its values read only when asked. */
export function lazyDataset(dataset: Dataset, source: string): LazyArray {
  const what = `${source}: dataset '${dataset.path}'`;
  const { shape, metadata } = quietly(() => ({ shape: dataset.shape ?? [], metadata: dataset.metadata }));
  const count = elementCount(shape, what);
  if (metadata.type !== H5T_FLOAT || (metadata.size !== 4 && metadata.size !== 8)) throw new UserError(`${what} does not hold float32 or float64 weights`);
  return {
    shape: [...shape],
    read: () =>
      quietly(() => {
        let value: unknown;
        try {
          value = dataset.value;
        } catch {
          throw new UserError(`${what} cannot be read (truncated or corrupt file)`);
        }
        if (!(value instanceof Float32Array || value instanceof Float64Array) || value.length !== count) {
          throw new UserError(`${what} could not be read in full (truncated or corrupt file)`);
        }
        return value instanceof Float32Array ? value : Float32Array.from(value);
      }),
  };
}

/** The entity at `path` below `group` if it is a dataset, else a UserError. */
export function datasetAt(group: Group, path: string, source: string): Dataset {
  const entity = quietly(() => {
    try {
      return group.get(path);
    } catch {
      return null;
    }
  });
  if (!(entity instanceof Dataset)) throw new UserError(`${source}: no dataset '${path.slice(0, 200)}' in '${group.path}' (damaged file)`);
  return entity;
}

/** The entity at `path` below `group` if it is a group, else undefined. */
export function groupAt(group: Group, path: string): Group | undefined {
  const entity = quietly(() => {
    try {
      return group.get(path);
    } catch {
      return null;
    }
  });
  return entity instanceof Group ? entity : undefined;
}
