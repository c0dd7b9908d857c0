// fake-io.ts — a DeviceIo with no kernel behind it, for tests that run without root (no
// namespaces, no /dev/net/tun). Devices are names; a test injects frames into a device with
// FakePort.inject(), which fills the slots and descriptors as the native addon does, runs the
// batch loop (its own instance of the core, as the data-path worker has) and returns what the
// port would have written (the FORWARD frames, and the frames the host sent meanwhile). It keeps
// the batch contract of port.ts to the letter, so a director driven by it runs exactly the code
// it runs over real devices, on one thread: exclusive() just runs its function (nothing runs
// concurrently), and HOST frames reach the host during the batch rather than a moment after.
// Never for production.
import * as abi from '../dataplane/abi.js';
import { instantiateCore } from '../dataplane/module.js';
import { BatchLoop, type BatchStats, readBatchStats, SWEEP_INTERVAL_MS } from '../dataplane/worker.js';
import { WlvsError } from '../errors.js';
import {
  type BatchPort, type DeviceIo, type DeviceOptions, type OpenDevice, type PortLayout, type PortOptions, type PortStats,
  framingOf, portLayout,
} from './port.js';

/** One frame the port wrote to a device. */
export interface WrittenFrame {
  device: number;
  /** the frame without its virtio header (a copy) */
  frame: Uint8Array;
  /** the virtio header written before it, on a vnet port */
  vnet: Uint8Array | null;
  /** sent by the host (send()), not a FORWARD verdict of a batch */
  host: boolean;
}

type WriteListener = (w: WrittenFrame, port: FakePort) => void;

/** FakePort is a BatchPort over one memory whose "devices" are fed by inject(). */
export class FakePort implements BatchPort {
  readonly devices: OpenDevice[] = [];
  /** everything written so far, in order */
  readonly written: WrittenFrame[] = [];
  #memory: WebAssembly.Memory;
  #options: PortOptions;
  #bytes: Uint8Array;
  #view: DataView;
  #layout: PortLayout;
  #vnet: boolean | null = null;
  #loop: BatchLoop | null = null;
  #sweepers: BatchLoop[] = [];
  #timer: NodeJS.Timeout | null = null;
  #inBatch = false;
  #listeners: WriteListener[];
  #stats: PortStats = {
    wakeups: 0, batches: 0, rxFrames: 0, txFrames: 0, txDrops: 0, rxErrors: 0, txErrors: 0, badDescriptors: 0,
    maxBatch: 0, hostSent: 0, busyPollBatches: 0, syscalls: 0,
  };

  constructor(memory: WebAssembly.Memory, options: PortOptions, listeners: WriteListener[] = []) {
    const layout = portLayout(options);
    const len = memory.buffer.byteLength;
    // the same checks as the addon's createPort
    if (layout.slotCount === 0 || layout.headroom < abi.VNET_HDR_LEN || layout.headroom >= layout.slotSize ||
      layout.slotBase + layout.slotCount * layout.slotSize > len ||
      layout.descBase + layout.slotCount * abi.DESC_SIZE > len) {
      throw new WlvsError('WLVS_ERR_NATIVE', 'native createPort: layout does not fit the memory');
    }
    this.#memory = memory;
    this.#options = options;
    this.#bytes = new Uint8Array(memory.buffer);
    this.#view = new DataView(memory.buffer);
    this.#layout = layout;
    this.#listeners = listeners;
  }

  addDevice(device: OpenDevice): number {
    if (this.devices.length >= abi.MAX_DEVICES) throw new WlvsError('WLVS_ERR_DEVICE', 'native portAddDevice: too many devices');
    if (this.#vnet !== null && this.#vnet !== device.vnet) {
      throw new WlvsError('WLVS_ERR_DEVICE', 'native portAddDevice: all devices of a port must share the virtio-header setting');
    }
    this.#vnet = device.vnet;
    return this.devices.push(device) - 1;
  }

  async start(): Promise<void> {
    if (this.#loop) throw new WlvsError('WLVS_ERR_ENGINE', 'the port is started already');
    const o = this.#options;
    const loop = new BatchLoop(this.#memory, o.layout, instantiateCore(o.core, this.#memory),
      this.devices.map(framingOf),
      o.onHost, o.now, undefined, (device, frame) => this.send(device, frame));
    this.#loop = loop;
    // batches run on lane 0; the expiry sweep is partitioned by lane, so every lane's share is
    // swept here as its worker would (a loop per lane, used only for its sweep)
    this.#sweepers = o.layout.lanes.map((_, i) => i === 0 ? loop : new BatchLoop(this.#memory, o.layout,
      instantiateCore(o.core, this.#memory), this.devices.map(framingOf), o.onHost, o.now, undefined, null, i));
    // the expiry step an idle worker runs; injected batches run it too (the clock may be a test's)
    this.#timer = setInterval(() => this.#sweep(), SWEEP_INTERVAL_MS);
    this.#timer.unref();
  }

  #sweep(): void {
    for (const l of this.#sweepers) l.sweepIfDue();
  }

  get started(): boolean {
    return this.#loop !== null;
  }

  exclusive<T>(fn: () => T): T {
    return fn();
  }

  setCore(core: WebAssembly.Module): void {
    if (!this.#loop) throw new WlvsError('WLVS_ERR_ENGINE', 'the port is not started');
    this.#loop.setCore(instantiateCore(core, this.#memory));
    for (const l of this.#sweepers.slice(1)) l.setCore(instantiateCore(core, this.#memory));
  }

  /** the core the port's batches run now */
  get core(): BatchLoop['core'] | null {
    return this.#loop?.core ?? null;
  }

  batchStats(): BatchStats {
    return readBatchStats(this.#loop?.stats ?? new Float64Array(64));
  }

  async stop(): Promise<void> {
    if (this.#timer) clearInterval(this.#timer);
    this.#timer = null;
    this.#loop = null;
    this.#sweepers = [];
  }

  send(device: number, frame: Uint8Array): boolean {
    if (!Number.isInteger(device) || device < 0 || device >= this.devices.length) {
      throw new WlvsError('WLVS_ERR_DEVICE', `native portSend: no device ${device}`);
    }
    this.#stats.hostSent++;
    const vnet = this.#vnet ? new Uint8Array(abi.VNET_HDR_LEN) : null;
    this.#write({ device, frame: frame.slice(), vnet, host: true });
    return true;
  }

  stats(): PortStats {
    return { ...this.#stats };
  }

  /**
   * inject hands `frames` to the port as if device `device` had received them: in batches of
   * at most slotCount, each read into the slots, given to onBatch and its FORWARD frames written.
   * `vnetHeaders[i]` is frame i's virtio header on a vnet port (zeros by default). Returns what
   * was written meanwhile. Not re-entrant: a write listener that answers must inject later
   * (setImmediate), as a real peer's answer arrives later.
   */
  inject(device: number, frames: Uint8Array[], vnetHeaders: Uint8Array[] = []): WrittenFrame[] {
    if (!this.#loop) throw new Error('FakePort.inject: the port is not started');
    if (this.#inBatch) throw new Error('FakePort.inject: called from inside a batch; inject later');
    if (device < 0 || device >= this.devices.length) throw new Error(`FakePort.inject: no device ${device}`);
    const { slotBase, slotSize, headroom, slotCount, descBase } = this.#layout;
    const vlen = this.#vnet ? abi.VNET_HDR_LEN : 0;
    const max = slotSize - headroom;
    const firstWrite = this.written.length;
    this.#stats.wakeups++;
    let k = 0;
    while (k < frames.length && this.#loop) {
      let n = 0;
      for (; k < frames.length && n < slotCount; k++) {
        const f = frames[k];
        if (f.length === 0) {
          this.#stats.rxErrors++;
          continue;
        }
        if (f.length > max) throw new RangeError(`FakePort.inject: frame ${k} has ${f.length} bytes, a slot holds ${max}`);
        // the last slot first: frame n's slot is not slot n, as on the io_uring engine (port.ts contract 1)
        const at = slotBase + (slotCount - 1 - n) * slotSize + headroom;
        this.#bytes.set(f, at);
        if (vlen) this.#bytes.set(vnetHeaders[k] ?? new Uint8Array(vlen), at - vlen);
        const d = descBase + n * abi.DESC_SIZE;
        this.#view.setUint32(d + abi.DESC_OFF, at, true);
        this.#view.setUint32(d + abi.DESC_LEN, f.length, true);
        this.#bytes[d + abi.DESC_VERDICT] = 0;
        this.#bytes[d + abi.DESC_REASON] = 0;
        this.#bytes[d + abi.DESC_IN_DEV] = device;
        this.#bytes[d + abi.DESC_OUT_DEV] = device;
        n++;
      }
      if (n === 0) break;
      this.#stats.batches++;
      this.#stats.rxFrames += n;
      this.#stats.maxBatch = Math.max(this.#stats.maxBatch, n);
      this.#inBatch = true;
      try {
        this.#loop.onBatch(device, n);
      } finally {
        this.#inBatch = false;
      }
      // stopped from inside the batch: nothing is written, as in the addon
      if (!this.#loop) break;
      this.#flush(n, vlen);
      this.#sweep();
    }
    return this.written.slice(firstWrite);
  }

  #flush(n: number, vlen: number): void {
    const { descBase } = this.#layout;
    for (let i = 0; i < n; i++) {
      const d = descBase + i * abi.DESC_SIZE;
      if (this.#bytes[d + abi.DESC_VERDICT] !== abi.VERDICT_FORWARD) continue;
      const off = this.#view.getUint32(d + abi.DESC_OFF, true);
      const len = this.#view.getUint32(d + abi.DESC_LEN, true);
      const out = this.#bytes[d + abi.DESC_OUT_DEV];
      if (out >= this.devices.length || off < vlen || off + len > this.#bytes.length || len === 0) {
        this.#stats.badDescriptors++;
        continue;
      }
      this.#stats.txFrames++;
      this.#write({
        device: out, frame: this.#bytes.slice(off, off + len), vnet: vlen ? this.#bytes.slice(off - vlen, off) : null,
        host: false,
      });
    }
  }

  #write(w: WrittenFrame): void {
    this.written.push(w);
    for (const fn of this.#listeners) fn(w, this);
  }
}

export interface FakeIoOptions {
  /** device names whose openDevice fails (WLVS_ERR_DEVICE), to test start-up failures */
  failOpen?: string[];
}

/** FakeIo is the DeviceIo of tests: it records what was opened and closed and the ports it made. */
export class FakeIo implements DeviceIo {
  /** options of every openDevice call, in order */
  readonly requested: DeviceOptions[] = [];
  readonly open = new Map<string, OpenDevice>();
  readonly closed: string[] = [];
  readonly ports: FakePort[] = [];
  #listeners: WriteListener[] = [];
  #failOpen: Set<string>;
  #nextFd = 1000;

  constructor(opts: FakeIoOptions = {}) {
    this.#failOpen = new Set(opts.failOpen ?? []);
  }

  async openDevice(o: DeviceOptions): Promise<OpenDevice> {
    this.requested.push(o);
    if (this.#failOpen.has(o.name) || this.open.has(o.name)) {
      throw new WlvsError('WLVS_ERR_DEVICE', `cannot create ${o.kind} device ${o.name}: Device or resource busy`);
    }
    const d: OpenDevice = { name: o.name, kind: o.kind, fd: this.#nextFd++, vnet: o.vnet };
    this.open.set(o.name, d);
    return d;
  }

  closeDevice(d: OpenDevice): void {
    if (this.open.get(d.name) !== d) throw new WlvsError('WLVS_ERR_DEVICE', `native closeFd: ${d.name} is not open`);
    this.open.delete(d.name);
    this.closed.push(d.name);
  }

  createPort(memory: WebAssembly.Memory, options: PortOptions): FakePort {
    const p = new FakePort(memory, options, this.#listeners);
    this.ports.push(p);
    return p;
  }

  /** port is the last port created (a director makes one) */
  get port(): FakePort {
    const p = this.ports.at(-1);
    if (!p) throw new Error('FakeIo: no port created yet');
    return p;
  }

  /** onWrite calls `fn` for every frame any port writes, from the moment it is registered */
  onWrite(fn: WriteListener): void {
    this.#listeners.push(fn);
  }
}
