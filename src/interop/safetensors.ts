// Reads a .safetensors file (Hugging Face's format for PyTorch state dicts): an 8-byte little-endian
// header length N, N bytes of JSON {name: {dtype, shape, data_offsets: [begin, end]}, __metadata__},
// then the raw little-endian tensor bytes. Written here because no maintained JavaScript reader of
// local files exists on npm (Hugging Face's own @huggingface/hub parses only remote headers); the
// format is deliberately this simple. Every declared length, offset and shape is checked against the
// file before anything is allocated. Browser-safe: it parses bytes, the caller reads the file.
import { UserError } from '../errors.js';
import { elementCount, type LazyArray } from './tensors.js';

/** The header may not exceed 100 MB (the limit the reference implementation enforces). */
export const MAX_HEADER_BYTES = 100_000_000;

const BYTES_PER_ELEMENT: Record<string, number> = { F64: 8, F32: 4, F16: 2, BF16: 2, I64: 8, I32: 4, I16: 2, I8: 1, U8: 1, BOOL: 1 };
const FLOAT_DTYPES = new Set(['F64', 'F32', 'F16', 'BF16']);

export interface SafetensorsEntry {
  dtype: string;
  shape: number[];
  /** Byte range within the data section. */
  begin: number;
  end: number;
}

export interface SafetensorsFile {
  tensors: Map<string, SafetensorsEntry>;
  metadata: Record<string, string>;
  /** A floating-point tensor, read as float32 values (F16, BF16 and F64 converted) when asked. */
  get(name: string): LazyArray;
}

function halfToFloat(h: number): number {
  const sign = h & 0x8000 ? -1 : 1;
  const exponent = (h >> 10) & 0x1f;
  const fraction = h & 0x3ff;
  if (exponent === 0) return sign * 2 ** -14 * (fraction / 1024);
  if (exponent === 0x1f) return fraction ? NaN : sign * Infinity;
  return sign * 2 ** (exponent - 15) * (1 + fraction / 1024);
}

export function parseSafetensors(bytes: Uint8Array, source: string): SafetensorsFile {
  if (bytes.length < 8) throw new UserError(`${source}: not a safetensors file (${bytes.length} bytes, shorter than its 8-byte header length)`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const declared = view.getBigUint64(0, true);
  if (declared > BigInt(bytes.length - 8)) {
    throw new UserError(`${source}: the safetensors header declares ${declared} bytes, beyond the end of the ${bytes.length}-byte file (truncated or not a safetensors file)`);
  }
  const headerLength = Number(declared);
  if (headerLength > MAX_HEADER_BYTES) throw new UserError(`${source}: the safetensors header declares ${headerLength} bytes (over ${MAX_HEADER_BYTES}): refused`);
  let header: unknown;
  try {
    header = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(bytes.subarray(8, 8 + headerLength)));
  } catch {
    throw new UserError(`${source}: the safetensors header is not valid JSON (damaged or not a safetensors file)`);
  }
  if (typeof header !== 'object' || header === null || Array.isArray(header)) throw new UserError(`${source}: the safetensors header is not a JSON object`);
  const dataStart = 8 + headerLength;
  const dataLength = bytes.length - dataStart;
  const tensors = new Map<string, SafetensorsEntry>();
  let metadata: Record<string, string> = {};
  for (const [name, entry] of Object.entries(header as Record<string, unknown>)) {
    if (name === '__metadata__') {
      if (typeof entry === 'object' && entry !== null) metadata = entry as Record<string, string>;
      continue;
    }
    const e = entry as { dtype?: unknown; shape?: unknown; data_offsets?: unknown };
    const what = `${source}: tensor '${name.slice(0, 100)}'`;
    const size = typeof e?.dtype === 'string' ? BYTES_PER_ELEMENT[e.dtype] : undefined;
    if (size === undefined) throw new UserError(`${what} has an unknown dtype ${JSON.stringify(e?.dtype)?.slice(0, 40)}`);
    const count = elementCount(e.shape, what);
    const offsets = e.data_offsets;
    if (!Array.isArray(offsets) || offsets.length !== 2 || !offsets.every((o) => Number.isSafeInteger(o) && o >= 0) || offsets[0] > offsets[1]) {
      throw new UserError(`${what} has invalid data_offsets ${JSON.stringify(offsets)?.slice(0, 60)}`);
    }
    const [begin, end] = offsets as [number, number];
    if (end > dataLength) throw new UserError(`${what} ends at byte ${end} of a ${dataLength}-byte data section (truncated file)`);
    if (end - begin !== count * size) throw new UserError(`${what}: ${end - begin} bytes for shape [${(e.shape as number[]).join(', ')}] of ${e.dtype} (${count * size} expected)`);
    tensors.set(name, { dtype: e.dtype as string, shape: e.shape as number[], begin, end });
  }
  const get = (name: string): LazyArray => {
    const entry = tensors.get(name);
    if (!entry) throw new UserError(`${source}: no tensor '${name}'`);
    if (!FLOAT_DTYPES.has(entry.dtype)) throw new UserError(`${source}: tensor '${name}' holds ${entry.dtype}, not floating-point weights`);
    return { shape: [...entry.shape], read: () => read(entry) };
  };
  const read = (entry: SafetensorsEntry): Float32Array => {
    const start = dataStart + entry.begin;
    const length = entry.end - entry.begin;
    // slice() copies into a fresh, aligned buffer (the data section need not be 4-byte aligned).
    const raw = bytes.buffer.slice(bytes.byteOffset + start, bytes.byteOffset + start + length);
    let values: Float32Array;
    if (entry.dtype === 'F32') values = new Float32Array(raw);
    else if (entry.dtype === 'F64') values = Float32Array.from(new Float64Array(raw));
    else if (entry.dtype === 'F16') values = Float32Array.from(new Uint16Array(raw), halfToFloat);
    else values = new Float32Array(Uint32Array.from(new Uint16Array(raw), (b) => b << 16).buffer); // BF16: the top half of a float32
    return values;
  };
  return { tensors, metadata, get };
}
