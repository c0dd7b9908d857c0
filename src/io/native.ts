// native.ts — the typed face of native/wlvs_io.c, loaded on each thread that uses it (the
// director's for devices, wake-ups and host frames; the data-path worker's for its port).
// Loading fails with a clear message when the addon was not built (npm install builds it with
// node-gyp). The addon throws plain Errors whose
// `code` is a WLVS_ERR_* string; every call goes through a wrapper that turns them into
// WlvsErrors with that registered code (WLVS_ERR_NATIVE for anything else) and names the call.
import { createRequire } from 'node:module';
import { WlvsError, isErrorCode } from '../errors.js';
import type { EngineInfo, PortLayout } from './port.js';

/** TUNSETOFFLOAD bits (linux/if_tun.h) */
export const TUN_F_CSUM = 0x01;
export const TUN_F_TSO4 = 0x02;
export const TUN_F_TSO6 = 0x04;
export const TUN_F_TSO_ECN = 0x08;
/** UDP segmentation offload (Linux 6.2): the kernel takes only both together */
export const TUN_F_USO4 = 0x20;
export const TUN_F_USO6 = 0x40;

/** `queues` (default 1) fds on one device; more than one needs multiQueue (IFF_MULTI_QUEUE) */
export interface TunOptions {
  tap: boolean; vnet: boolean; offload: number; multiQueue: boolean; queues?: number;
  /** with queues > 1: attach the flow-hash steering program (native/steering.c) */
  steering?: boolean;
}

export interface DecapStats { packets: number; bytes: number; malformed: number; writeErrors: number }

declare const handle: unique symbol;
type Handle = { readonly [handle]: true };

interface Binding {
  /** `steering` (queues > 1 and opts.steering only): "flow-hash" when attached, else "kernel: <why not>" */
  /** `offload`: the TUNSETOFFLOAD bits the device took (without TUN_F_USO* on a kernel that has none) */
  openTun(name: string, opts: TunOptions):
  { fd: number; fds: number[]; name: string; offload: number; steering?: string };
  closeFd(fd: number): void;
  /** a raw socket for an IP protocol; family 6: AF_INET6 (what follows the IPv6 headers is read) */
  openRawSocket(protocol: number, family?: 4 | 6): number;
  createPort(memory: Uint8Array, layout: PortLayout & { wakerFd?: number }, stats: BigUint64Array): Handle;
  portAddDevice(port: Handle, fd: number, vnet: boolean): number;
  /** blocks in epoll_wait; 1 when woken, 0 after timeoutMs */
  portRun(port: Handle, timeoutMs: number, onBatch: (device: number, count: number) => void): number;
  portStatNames(): string[];
  /** the port's engine (layout.engine, absent: epoll; auto: io_uring where the kernel has it, else epoll and why) */
  portEngine(port: Handle): EngineInfo;
  createWaker(): number;
  wake(fd: number): void;
  sendFrame(fd: number, vnet: boolean, frame: Uint8Array): number;
  /** a non-blocking datagram pair: a device without a kernel (tests play the network on one end) */
  socketPair(): [number, number];
  /** one frame from a non-blocking fd into buf; 0 when none is waiting */
  recvFrame(fd: number, buf: Uint8Array): number;
  /** one datagram from a connected socket, then wait up to timeoutMs for a reply or ECONNREFUSED */
  udpProbe(address: string, port: number, payload: Uint8Array, timeoutMs: number):
  Promise<{ outcome: 'reply' | 'refused' | 'timeout'; bytes: number }>;
  startDecap(rawFd: number, tunFd: number, family?: 4 | 6): Handle;
  decapStop(decap: Handle): void;
  decapStats(decap: Handle): DecapStats;
  /** sends one sd_notify(3) datagram to the unix socket at `path` ('@' = abstract); bytes sent */
  sdNotify(path: string, message: string): number;
  /** madvise(MADV_HUGEPAGE) over the whole 2 MiB pages inside `memory`; bytes advised (0: no THP in this kernel) */
  adviseHugePages(memory: Uint8Array): number;
}

let binding: Binding | null = null;

/** nativeError turns what the addon threw in `call` into a WlvsError with a registered code. */
function nativeError(call: string, err: unknown): WlvsError {
  if (WlvsError.is(err)) return err;
  const code = (err as { code?: unknown } | null)?.code;
  const message = err instanceof Error ? err.message : String(err);
  return new WlvsError(isErrorCode(code) ? code : 'WLVS_ERR_NATIVE', `native ${call}: ${message}`, { call });
}

function wrapped(raw: Binding): Binding {
  const out: Record<string, unknown> = {};
  // the addon's functions are not enumerable (napi_default): list own names, not entries
  for (const name of Object.getOwnPropertyNames(raw)) {
    const fn = (raw as unknown as Record<string, unknown>)[name];
    if (typeof fn !== 'function') continue;
    // portRun calls back into JS: what the batch handler throws (a WlvsError from a trapping
    // debug core) must come out as it was thrown
    out[name] = name === 'portRun' ? fn : (...args: unknown[]) => {
      try {
        return fn(...args);
      } catch (err) {
        throw nativeError(name, err);
      }
    };
  }
  return out as unknown as Binding;
}

/** native returns the loaded addon, loading it on first use (once per thread). */
export function native(): Binding {
  if (binding) return binding;
  const require = createRequire(import.meta.url);
  const path = new URL('../../../native/build/Release/wlvs_io.node', import.meta.url).pathname;
  try {
    binding = wrapped(require(path) as Binding);
  } catch (err) {
    throw new WlvsError('WLVS_ERR_NATIVE_MISSING',
      `native I/O addon not loadable from ${path} (${(err as Error).message}); run npm install to build it`);
  }
  return binding;
}

/**
 * NativePort is the addon's port on the thread that runs it: non-blocking fds and a waker, read
 * straight into the slots of the (shared) memory by io_uring or by read() after epoll_wait
 * (native/uring.c, native/wlvs_io.c), the counters in `stats`
 * (portStatNames() order) where any thread may read them. The memory must never grow.
 */
export class NativePort {
  readonly #h: Handle;

  constructor(memory: WebAssembly.Memory, layout: PortLayout, stats: BigUint64Array, wakerFd?: number) {
    this.#h = native().createPort(new Uint8Array(memory.buffer), { ...layout,
      ...(wakerFd === undefined ? {} : { wakerFd }) }, stats);
  }

  engine(): EngineInfo {
    return native().portEngine(this.#h);
  }

  addDevice(fd: number, vnet: boolean): number {
    return native().portAddDevice(this.#h, fd, vnet);
  }

  /** run reads and hands batches to onBatch for up to timeoutMs; true when woken before. */
  run(timeoutMs: number, onBatch: (device: number, count: number) => void): boolean {
    return native().portRun(this.#h, Math.max(0, Math.ceil(timeoutMs)), onBatch) === 1;
  }
}

/**
 * Decapsulator strips IP-in-IP (family 4) or IPv6-in-IPv6 (family 6) headers from a raw socket
 * and writes the inner packets to a TUN.
 */
export class Decapsulator {
  #h: Handle;

  constructor(rawFd: number, tunFd: number, family: 4 | 6 = 4) {
    this.#h = native().startDecap(rawFd, tunFd, family);
  }

  stats(): DecapStats {
    return native().decapStats(this.#h);
  }

  stop(): void {
    native().decapStop(this.#h);
  }
}
