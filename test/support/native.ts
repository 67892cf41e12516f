// Whether the tests of the native engine run here, and why not. With RESNET_REQUIRE_NATIVE=1 (set
// by .ci/run) the engine must register and, on a CPU whose /proc/cpuinfo lists avx512_bf16, offer
// bfloat16: otherwise importing this module throws, so every test file that depends on it fails
// with the reason instead of skipping.
import { readFileSync } from 'node:fs';
import { engineUnavailableReason, type EngineName } from '../../src/engine/backends.js';
import { nativePrecisions, nativeUnavailableReason, registerNativeBackend } from '../../src/engine/native/backend.js';

export const REQUIRE_NATIVE = process.env.RESNET_REQUIRE_NATIVE === '1';

/** Whether the kernel lists the CPU flag avx512_bf16 (false where /proc/cpuinfo cannot be read). */
export function cpuFlagsHaveBf16(): boolean {
  try {
    return /^flags\s*:.*\bavx512_bf16\b/m.test(readFileSync('/proc/cpuinfo', 'utf8'));
  } catch {
    return false;
  }
}

function required(what: string): never {
  throw new Error(`RESNET_REQUIRE_NATIVE=1: ${what}`);
}

const registered = registerNativeBackend();
const reason = registered ? '' : nativeUnavailableReason();
if (!registered && REQUIRE_NATIVE) required(`the native engine is not available: ${reason}`);

/** false when the native engine is registered, else the reason its tests are skipped. */
export const nativeSkip: false | string = registered ? false : `native engine not available: ${reason}`;

const bf16 = registered && nativePrecisions().includes('bfloat16');
if (registered && !bf16 && REQUIRE_NATIVE && cpuFlagsHaveBf16()) {
  required('the CPU has avx512_bf16 (/proc/cpuinfo) but the native engine offers no bfloat16');
}

/** false when the native engine computes in bfloat16 here, else the reason its bf16 tests are skipped. */
export const bf16Skip: false | string = nativeSkip || (bf16 ? false : 'this CPU has no bfloat16 instructions (AVX512_BF16)');

/**
 * false when `engine` runs here, else the reason its tests are skipped (from the engine choice's
 * own explanation). Under RESNET_REQUIRE_NATIVE=1 the native engine cannot be skipped: see above.
 */
export async function engineSkip(engine: EngineName): Promise<false | string> {
  const reason = await engineUnavailableReason(engine);
  return reason ? `engine '${engine}' not available: ${reason}` : false;
}
