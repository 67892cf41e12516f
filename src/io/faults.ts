// Fault injection for the tests of the run-folder protocol, through one environment variable that
// only tests set: RESNET_TEST_FAULTS, a comma-separated list of
//   kill@POINT[#N]   SIGKILL this process the N-th time (default 1st) it passes the named point;
//   enospc@NAME      fail every write of a file or folder named NAME with ENOSPC (disk full);
//   erofs@NAME       the same with EROFS (read-only file system).
// POINTs are named where they are passed (`faultPoint`), e.g. 'after-config', 'file-written:last',
// 'renamed-old:best'. With the variable unset every hook is a no-op. Node-only.
import { basename } from 'node:path';

interface Fault {
  kind: 'kill' | 'enospc' | 'erofs';
  target: string;
  nth: number;
}

function parse(spec: string | undefined): Fault[] {
  if (!spec) return [];
  return spec.split(',').flatMap((part) => {
    const m = /^(kill|enospc|erofs)@([^#]+)(?:#(\d+))?$/.exec(part.trim());
    return m ? [{ kind: m[1] as Fault['kind'], target: m[2], nth: m[3] ? Number(m[3]) : 1 }] : [];
  });
}

const faults = parse(process.env.RESNET_TEST_FAULTS);
const passes = new Map<string, number>();

/** A named point of a protocol: the process is killed here when a test asked for it. */
export function faultPoint(name: string): void {
  if (faults.length === 0) return;
  const count = (passes.get(name) ?? 0) + 1;
  passes.set(name, count);
  if (faults.some((f) => f.kind === 'kill' && f.target === name && f.nth === count)) process.kill(process.pid, 'SIGKILL');
}

/** Throws the injected write error (ENOSPC, EROFS) for `path` when a test asked for one. */
export function faultWrite(path: string): void {
  if (faults.length === 0) return;
  const fault = faults.find((f) => f.kind !== 'kill' && f.target === basename(path));
  if (!fault) return;
  const code = fault.kind.toUpperCase();
  const text = code === 'ENOSPC' ? 'no space left on device' : 'read-only file system';
  throw Object.assign(new Error(`${code}: ${text}, write '${path}'`), { code, syscall: 'write', path });
}
