// native.ts — the typed face of native/wlvs_io.c. Loading fails with a clear message when the
// addon was not built (npm install builds it with node-gyp).
import { createRequire } from 'node:module';
import { WlvsError } from '../errors.js';

/** TUNSETOFFLOAD bits (linux/if_tun.h) */
export const TUN_F_CSUM = 0x01;
export const TUN_F_TSO4 = 0x02;
export const TUN_F_TSO6 = 0x04;
export const TUN_F_TSO_ECN = 0x08;

export interface TunOptions { tap: boolean; vnet: boolean; offload: number; multiQueue: boolean }

export interface PortLayout {
  descBase: number; slotBase: number; slotSize: number; headroom: number; slotCount: number;
  /** keep polling every device this long after a wakeup (0: off, at most 1000) */
  busyPollUs?: number;
}

export interface PortStats {
  wakeups: number; batches: number; rxFrames: number; txFrames: number; txDrops: number; rxErrors: number;
  txErrors: number; badDescriptors: number; maxBatch: number; hostSent: number;
  /** batches found while busy polling, each one a wakeup saved */
  busyPollBatches: number;
}

export interface DecapStats { packets: number; bytes: number; malformed: number; writeErrors: number }

declare const handle: unique symbol;
type Handle = { readonly [handle]: true };

interface Binding {
  openTun(name: string, opts: TunOptions): { fd: number; name: string };
  closeFd(fd: number): void;
  /** a raw socket for an IP protocol; family 6: AF_INET6 (what follows the IPv6 headers is read) */
  openRawSocket(protocol: number, family?: 4 | 6): number;
  createPort(memory: ArrayBuffer, layout: PortLayout): Handle;
  portAddDevice(port: Handle, fd: number, vnet: boolean): number;
  portStart(port: Handle, onBatch: (device: number, count: number) => void): void;
  portStop(port: Handle): void;
  portSend(port: Handle, device: number, frame: Uint8Array): number;
  portStats(port: Handle): PortStats;
  startDecap(rawFd: number, tunFd: number, family?: 4 | 6): Handle;
  decapStop(decap: Handle): void;
  decapStats(decap: Handle): DecapStats;
}

let binding: Binding | null = null;

/** native returns the loaded addon, loading it on first use. */
export function native(): Binding {
  if (binding) return binding;
  const require = createRequire(import.meta.url);
  const path = new URL('../../../native/build/Release/wlvs_io.node', import.meta.url).pathname;
  try {
    binding = require(path) as Binding;
  } catch (err) {
    throw new WlvsError('WLVS_ERR_NATIVE_MISSING',
      `native I/O addon not loadable from ${path} (${(err as Error).message}); run npm install to build it`);
  }
  return binding;
}

/**
 * Port moves batches of frames between devices and the slots of one WebAssembly memory. The
 * memory must never grow: the addon keeps a pointer into it.
 */
export class Port {
  #h: Handle;
  #started = false;

  constructor(memory: WebAssembly.Memory, layout: PortLayout) {
    this.#h = native().createPort(memory.buffer, layout);
  }

  /** addDevice registers an open, non-blocking TUN/TAP fd; returns its device index. */
  addDevice(fd: number, vnet: boolean): number {
    return native().portAddDevice(this.#h, fd, vnet);
  }

  /** start polls every device; onBatch(device, count) runs for each batch read. */
  start(onBatch: (device: number, count: number) => void): void {
    native().portStart(this.#h, onBatch);
    this.#started = true;
  }

  /** send writes one frame the host built (ARP, ICMP) to a device; false if it was dropped. */
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

  /** family 4: IP-in-IP from an AF_INET raw socket; 6: IPv6-in-IPv6 from an AF_INET6 one */
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
