// servers.ts — starts the real-server programs (test/e2e/servers) in lab namespaces and waits
// until each says `ready`. The lab tracks their PIDs and ends them on destroy().
import type { ChildProcess } from 'node:child_process';
import { waitForLine } from '../../../src/lab/wait-line.js';
import type { InNamespace } from './in-namespace.js';
// the test's own servers run on Node whatever runs wlvs
import { executable } from '../../../src/sys/runtime.js';

export const RS_HTTP = new URL('../servers/rs-http.js', import.meta.url).pathname;
export const RS_UDP = new URL('../servers/rs-udp.js', import.meta.url).pathname;

export interface ServerOptions { name: string; port?: number; addr?: string }

function start(ns: InNamespace, role: string, program: string, o: ServerOptions,
  defaultPort: number): Promise<ChildProcess> {
  const child = ns.spawn(role, executable('node'), [program, '--name', o.name, '--port', String(o.port ?? defaultPort),
    '--addr', o.addr ?? '0.0.0.0']);
  return waitForLine(child, /^ready /, 10_000).then(() => child);
}

/** startHttp runs rs-http in a namespace; resolves once it listens. */
export function startHttp(ns: InNamespace, role: string, o: ServerOptions): Promise<ChildProcess> {
  return start(ns, role, RS_HTTP, o, 80);
}

/** startUdp runs rs-udp in a namespace; resolves once it is bound. */
export function startUdp(ns: InNamespace, role: string, o: ServerOptions): Promise<ChildProcess> {
  return start(ns, role, RS_UDP, o, 5353);
}
