// native.ts — the typed face of native/wlvs_io.c. Loading fails with a clear message when the
// addon was not built (npm install builds it with node-gyp). The addon throws plain Errors whose
// `code` is a WLVS_ERR_* string; every call goes through a wrapper that turns them into
// WlvsErrors with that registered code (WLVS_ERR_NATIVE for anything else) and names the call.
import { createRequire } from 'node:module';
import { WlvsError, isErrorCode } from '../errors.js';
import type { BatchHandler, BatchPort, OpenDevice, PortLayout, PortStats } from './port.js';

/** TUNSETOFFLOAD bits (linux/if_tun.h) */
export const TUN_F_CSUM = 0x01;
export const TUN_F_TSO4 = 0x02;
export const TUN_F_TSO6 = 0x04;
export const TUN_F_TSO_ECN = 0x08;

export interface TunOptions { tap: boolean; vnet: boolean; offload: number; multiQueue: boolean }

export interface DecapStats { packets: number; bytes: number; malformed: number; writeErrors: number }

declare const handle: unique symbol;
type Handle = { readonly [handle]: true };

interface Binding {
  openTun(name: string, opts: TunOptions): { fd: number; name: string };
  closeFd(fd: number): void;
  openRawSocket(protocol: number): number;
  createPort(memory: ArrayBuffer, layout: PortLayout): Handle;
  portAddDevice(port: Handle, fd: number, vnet: boolean): number;
  portStart(port: Handle, onBatch: (device: number, count: number) => void): void;
  portStop(port: Handle): void;
  portSend(port: Handle, device: number, frame: Uint8Array): number;
  portStats(port: Handle): PortStats;
  startDecap(rawFd: number, tunFd: number): Handle;
  decapStop(decap: Handle): void;
  decapStats(decap: Handle): DecapStats;
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
    out[name] = (...args: unknown[]) => {
      try {
        return fn(...args);
      } catch (err) {
        throw nativeError(name, err);
      }
    };
  }
  return out as unknown as Binding;
}

/** native returns the loaded addon, loading it on first use. */
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
 * NativePort is the addon's BatchPort: non-blocking fds watched with uv_poll, read() straight
 * into the slots of one WebAssembly memory. The memory must never grow: the addon keeps a
 * pointer into it.
 */
export class NativePort implements BatchPort {
  #h: Handle;
  #started = false;

  constructor(memory: WebAssembly.Memory, layout: PortLayout) {
    this.#h = native().createPort(memory.buffer, layout);
  }

  addDevice(device: OpenDevice): number {
    return native().portAddDevice(this.#h, device.fd, device.vnet);
  }

  start(onBatch: BatchHandler): void {
    native().portStart(this.#h, onBatch);
    this.#started = true;
  }

  send(device: number, frame: Uint8Array): boolean {
    return native().portSend(this.#h, device, frame) > 0;
  }

  stats(): PortStats {
    return native().portStats(this.#h);
  }

  /** stop ends polling so the loop can exit; the fds stay open (the caller closes them). */
  stop(): void {
    if (this.#started) native().portStop(this.#h);
    this.#started = false;
  }
}

/** Decapsulator strips IP-in-IP headers from a raw socket and writes the inner packets to a TUN. */
export class Decapsulator {
  #h: Handle;

  constructor(rawFd: number, tunFd: number) {
    this.#h = native().startDecap(rawFd, tunFd);
  }

  stats(): DecapStats {
    return native().decapStats(this.#h);
  }

  stop(): void {
    native().decapStop(this.#h);
  }
}
