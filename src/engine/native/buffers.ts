// Recycles the Float32Arrays of the native kernels' outputs. A training step allocates ~1 GB of
// short-lived tensors; as fresh ArrayBuffers they cost page faults and frequent full garbage
// collections (V8 collects on external-memory growth). Arrays go back to a free list when the
// last tensor data entry using their buffer is disposed, and are never recycled once they may be
// visible outside the backend (read by readSync/read: dataSync() returns the array itself).
import { totalmem } from 'node:os';
import { UserError } from '../../errors.js';

/**
 * Default for the most bytes kept on the free lists (beyond it, released arrays are left to the
 * GC): 1/8 of the machine's memory, at least 512 MiB. A ResNet-50 step at 64x64, batch 32
 * releases ~1.4 GB of arrays; with a 512 MiB pool 0.8 GB a step were fresh allocations (page
 * faults, GC), about a quarter of the step's CPU time. RESNET_NATIVE_POOL_MB (MiB, >= 0) overrides
 * it; any other value set is a UserError.
 */
export function defaultPoolLimitBytes(env: NodeJS.ProcessEnv = process.env, memoryBytes = totalmem()): number {
  const MIB = 1024 * 1024;
  const value = env.RESNET_NATIVE_POOL_MB;
  if (value !== undefined && value !== '') {
    const requested = Number(value);
    if (!(Number.isFinite(requested) && requested >= 0 && value.trim() !== '')) {
      throw new UserError(`RESNET_NATIVE_POOL_MB must be a number of MiB >= 0; got '${value}'`);
    }
    return requested * MIB;
  }
  return Math.max(512 * MIB, Math.floor(memoryBytes / 8));
}
/** Arrays shorter than this are left to V8's allocator (cheap; pooling them costs more). */
const POOL_MIN_LENGTH = 4096;

export class BufferPool {
  private readonly free = new Map<number, Float32Array[]>();
  /** Buffers that may be recycled, with the number of live data entries holding a view of them. */
  private readonly owners = new Map<ArrayBufferLike, number>();
  private freeBytes = 0;

  /** @param limitBytes most bytes kept on the free lists. */
  constructor(readonly limitBytes = defaultPoolLimitBytes()) {}

  /** An array of `length` floats with ARBITRARY contents: the caller must write every element. */
  take(length: number): Float32Array {
    const reused = this.free.get(length)?.pop();
    if (reused) {
      this.freeBytes -= reused.byteLength;
      this.owners.set(reused.buffer, 0);
      return reused;
    }
    const fresh = new Float32Array(length);
    if (length >= POOL_MIN_LENGTH) this.owners.set(fresh.buffer, 0);
    return fresh;
  }

  /** A data entry now holds `values` (or a view of its buffer). */
  retain(values: unknown): void {
    if (!(values instanceof Float32Array)) return;
    const count = this.owners.get(values.buffer);
    if (count !== undefined) this.owners.set(values.buffer, count + 1);
  }

  /** A data entry holding `values` was deleted: recycle the buffer when it was the last one. */
  release(values: unknown): void {
    if (!(values instanceof Float32Array)) return;
    const count = this.owners.get(values.buffer);
    if (count === undefined) return;
    if (count > 1) {
      this.owners.set(values.buffer, count - 1);
      return;
    }
    this.owners.delete(values.buffer);
    const whole = new Float32Array(values.buffer);
    if (this.freeBytes + whole.byteLength > this.limitBytes) return;
    let list = this.free.get(whole.length);
    if (!list) this.free.set(whole.length, (list = []));
    list.push(whole);
    this.freeBytes += whole.byteLength;
  }

  /** `values` may be seen outside the backend from now on: never recycle its buffer. */
  escape(values: unknown): void {
    if (values instanceof Float32Array) this.owners.delete(values.buffer);
  }

  /** Bytes waiting on the free lists. */
  get pooledBytes(): number {
    return this.freeBytes;
  }
}
