// worker.ts — the batch loop's JavaScript side: the native addon has read a batch of frames
// straight into the slots; this sets the batch header, calls the core once, hands the rare HOST
// frames to the host stack, and returns so the addon writes the FORWARD frames. JS never loops
// over packets here except to find HOST frames, and only when the core reported some.
import * as abi from './abi.js';
import type { CoreExports } from './abi.js';
import type { Layout } from './memory-map.js';

/** What the host does with a frame the core handed to it (ARP, ICMP echo, anything for a DIP). */
export type HostHandler = (device: number, frame: Uint8Array) => void;

export interface DeviceFraming { l2: boolean; vnet: boolean }

/** Per-batch figures for metrics: sizes and processing time. */
export interface BatchStats {
  batches: number;
  frames: number;
  hostFrames: number;
  /** histogram of batch sizes: bucket k counts batches of size in (2^(k-1), 2^k] */
  sizeBuckets: number[];
  /** histogram of process() time: bucket k counts batches taking up to 2^k µs */
  timeBuckets: number[];
  /** total nanoseconds spent in process() */
  processNs: number;
  maxProcessNs: number;
  /** frames the core built in emit slots and the loop sent */
  emitted: number;
}

/** BatchLoop turns (device, count) callbacks from the native port into process() calls. */
export class BatchLoop {
  #layout: Layout;
  #view: DataView;
  #bytes: Uint8Array;
  #core: CoreExports;
  #framing: DeviceFraming[];
  #onHost: HostHandler;
  #clock: () => number;
  readonly stats: BatchStats = {
    batches: 0, frames: 0, hostFrames: 0, sizeBuckets: new Array(14).fill(0), timeBuckets: new Array(14).fill(0),
    processNs: 0, maxProcessNs: 0, emitted: 0,
  };

  #send: HostHandler | null;

  /**
   * `clock` returns the data path's time in milliseconds (it wraps as a u32; timeouts compare
   * wrap-safely). `framing[d]` says how frames of device d are framed. `send` writes the frames
   * the core built in its emit slots (complete checksums, no virtio header) to a device.
   */
  constructor(memory: WebAssembly.Memory, layout: Layout, core: CoreExports, framing: DeviceFraming[],
    onHost: HostHandler, clock: () => number, send: HostHandler | null = null) {
    this.#send = send;
    this.#layout = layout;
    this.#view = new DataView(memory.buffer);
    this.#bytes = new Uint8Array(memory.buffer);
    this.#core = core;
    this.#framing = framing;
    this.#onHost = onHost;
    this.#clock = clock;
  }

  /** setCore swaps the module between two batches (hot-swap): the next batch uses `core`. */
  setCore(core: CoreExports): void {
    this.#core = core;
  }

  get core(): CoreExports {
    return this.#core;
  }

  #sendEmitted(n: number): void {
    const base = this.#layout.emit.base;
    for (let i = 0; i < n && i < this.#layout.caps.emitSlots; i++) {
      const at = base + i * abi.EMIT_SLOT_SIZE;
      const len = this.#view.getUint16(at + abi.EMIT_LEN, true);
      this.stats.emitted++;
      this.#send!(this.#bytes[at + abi.EMIT_DEV], this.#bytes.subarray(at + abi.EMIT_FRAME, at + abi.EMIT_FRAME + len));
    }
  }

  /** onBatch is the native port's callback: frames are in slots [0, count) of `device`. */
  onBatch = (device: number, count: number): void => {
    const f = this.#framing[device];
    const h = abi.HEADER_BASE;
    this.#view.setUint32(h + abi.HDR_BATCH_FLAGS, (f.l2 ? abi.BATCH_L2 : 0) | (f.vnet ? abi.BATCH_VNET : 0), true);
    this.#view.setUint32(h + abi.HDR_BATCH_DEV, device, true);
    const t0 = process.hrtime.bigint();
    const r = this.#core.process(count, this.#clock() >>> 0);
    const ns = Number(process.hrtime.bigint() - t0);
    const st = this.stats;
    st.batches++;
    st.frames += count;
    st.processNs += ns;
    if (ns > st.maxProcessNs) st.maxProcessNs = ns;
    st.sizeBuckets[Math.min(13, Math.ceil(Math.log2(count)))]++;
    st.timeBuckets[Math.min(13, Math.max(0, Math.ceil(Math.log2(ns / 1000))))]++;
    // extra frames (one per SYN-proxied connection): one header load a batch otherwise
    const emitted = this.#view.getUint32(h + abi.HDR_EMIT_COUNT, true);
    if (emitted !== 0 && this.#send) this.#sendEmitted(emitted);
    const host = r >>> abi.PROCESS_HOST_SHIFT;
    if (host === 0) return;
    st.hostFrames += host;
    const base = this.#layout.descriptors.base;
    for (let i = 0, seen = 0; i < count && seen < host; i++) {
      const d = base + i * abi.DESC_SIZE;
      if (this.#bytes[d + abi.DESC_VERDICT] !== abi.VERDICT_HOST) continue;
      seen++;
      const off = this.#view.getUint32(d + abi.DESC_OFF, true);
      const len = this.#view.getUint32(d + abi.DESC_LEN, true);
      // a copy: the slot is overwritten by the next batch, the host may answer later
      this.#onHost(device, this.#bytes.slice(off, off + len));
    }
  };
}
