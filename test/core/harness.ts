// harness.ts — drives the WASM core the way the director does (memory map, tables, one
// process() per batch) with frames from the oracle, so tests read like fixtures: frames in,
// verdicts and frames out. Works with the release and the debug build.
import * as abi from '../../src/dataplane/abi.js';
import {
  type Capacities, computeLayout, createMemory, frameAddress, laneHeaderField, writeHeader, type Layout,
} from '../../src/dataplane/memory-map.js';
import type { CoreExports } from '../../src/dataplane/abi.js';
import { compileCore, coreModulePath, type CoreFlavour, instantiateCore } from '../../src/dataplane/module.js';
import {
  type DeviceEntry, type LipEntry, type RealServerEntry, type ServiceEntry, Tables, bswap32,
} from '../../src/dataplane/tables.js';
import { ipv4ToNumber } from '../../src/model/address.js';

export const FLAVOURS: CoreFlavour[] = ['release', 'debug'];

const modules = new Map<CoreFlavour, WebAssembly.Module>();
function moduleFor(flavour: CoreFlavour): WebAssembly.Module {
  let m = modules.get(flavour);
  if (!m) {
    m = compileCore(coreModulePath(flavour));
    modules.set(flavour, m);
  }
  return m;
}

export interface FrameResult {
  verdict: number;
  reason: number;
  outDev: number;
  /** a copy of the output frame (vnet header excluded) */
  out: Uint8Array;
  /** the virtio header before the output frame, when the batch had one */
  vnet?: Uint8Array;
}

export interface BatchOptions {
  dev?: number;
  l2?: boolean;
  vnet?: boolean;
  /** virtio headers to put before each frame (vnet batches) */
  vnetHeaders?: Uint8Array[];
  /** the worker lane whose slots, descriptors and header the batch uses (default 0) */
  lane?: number;
}

export const CLIENT_MAC = '02:00:00:00:0c:01';
export const ROUTER_MAC = '02:00:00:00:0c:fe';
export const DEV0_MAC = '02:00:00:00:d0:00';
export const DEV1_MAC = '02:00:00:00:d0:01';
export const RS_MACS = Array.from({ length: 16 }, (_, i) => `02:00:00:00:a0:${(11 + i).toString(16).padStart(2, '0')}`);
export const VIP = '10.0.1.100';
export const DIP = '10.0.2.1';
export const CIP = '10.0.1.10';
export const RIPS = Array.from({ length: 16 }, (_, i) => `10.0.2.${11 + i}`);
export const LIPS = ['10.0.2.201', '10.0.2.202'];
// IPv6 counterparts: the client segment 2001:db8:1::/64, the servers' 2001:db8:2::/64
export const VIP6 = '2001:db8:1::100';
export const CIP6 = '2001:db8:1::10';
export const DIP6 = '2001:db8:2::1';
export const DEV0_ADDR6 = '2001:db8:1::1';
export const RIPS6 = Array.from({ length: 16 }, (_, i) => `2001:db8:2::${(0x11 + i).toString(16)}`);
/** LIP table indices 2 and 3 (after the IPv4 LIPS) */
export const LIPS6 = ['2001:db8:2::201', '2001:db8:2::202'];

export function serviceEntry(s: Partial<ServiceEntry> = {}): ServiceEntry {
  return {
    vip: VIP, port: 80, protocol: 'tcp', scheduler: 'rr', forwarding: 'nat', persistence: 0,
    persistencePrefix: 32, hashPort: false, fallback: false, sorry: null, tunnelSource: null, synProxy: 'off', ...s,
  };
}

export function realServerEntry6(i: number, r: Partial<RealServerEntry> = {}): RealServerEntry {
  return realServerEntry(i, { address: RIPS6[i], ...r });
}

export function serviceEntry6(s: Partial<ServiceEntry> = {}): ServiceEntry {
  return serviceEntry({ vip: VIP6, persistencePrefix: 128, ...s });
}

export function realServerEntry(i: number, r: Partial<RealServerEntry> = {}): RealServerEntry {
  return {
    service: 0, address: RIPS[i], port: 8080, weight: 1, forwarding: null, device: 1, mac: RS_MACS[i],
    upperThreshold: 0, tunnelSource: null, ...r,
  };
}

/** CoreHarness owns one memory, one core instance and the Tables that write into it. */
export class CoreHarness {
  readonly layout: Layout;
  readonly memory: WebAssembly.Memory;
  readonly core: CoreExports;
  readonly tables: Tables;
  readonly bytes: Uint8Array;
  readonly view: DataView;

  /**
   * `shared`: attach to a memory another harness laid out (a worker thread's instance over the
   * same table, test/core/lanes-threads.test.ts) instead of making and initialising a new one.
   */
  constructor(flavour: CoreFlavour = 'release', caps: Partial<Capacities> = {},
    shared?: { memory: WebAssembly.Memory; layout: Layout }) {
    this.layout = shared?.layout ?? computeLayout({
      slotCount: 64, sessions: 1024, services: 8, realServers: 32, destinations: 64, schedSize: 257,
      lips: 4, poolEntries: 16, events: 256, localAddresses: 16, ipv6: true, fragments: 64, holdFrames: 4, ...caps,
    });
    if (shared) {
      this.memory = shared.memory;
    } else {
      this.memory = createMemory(this.layout);
      writeHeader(this.memory, this.layout);
    }
    this.core = instantiateCore(moduleFor(flavour), this.memory);
    this.tables = new Tables(this.memory, this.layout, this.core);
    this.bytes = new Uint8Array(this.memory.buffer);
    this.view = new DataView(this.memory.buffer);
  }

  /** standard wires two L2 devices (0 = client side, 1 = server side), a VIP, DIP and LIPs. */
  standard(opts: { l3?: boolean; mtu?: number } = {}): this {
    const devs: DeviceEntry[] = [
      { mac: DEV0_MAC, mtu: opts.mtu ?? 1500, l2: !opts.l3, vnet: false, address: '10.0.1.1', address6: DEV0_ADDR6 },
      { mac: DEV1_MAC, mtu: opts.mtu ?? 1500, l2: !opts.l3, vnet: false, address: DIP, address6: DIP6 },
    ];
    this.tables.setDevices(devs);
    this.tables.setLocalAddresses([
      { address: VIP, kind: 'vip' }, { address: DIP, kind: 'dip' }, { address: '10.0.1.1', kind: 'dip' },
      ...LIPS.map((address) => ({ address, kind: 'lip' as const })),
      { address: VIP6, kind: 'vip' }, { address: DIP6, kind: 'dip' }, { address: DEV0_ADDR6, kind: 'dip' },
      ...LIPS6.map((address) => ({ address, kind: 'lip' as const })),
    ]);
    const lips: LipEntry[] = [...LIPS, ...LIPS6].map((address) => ({ address, portMin: 1024, portMax: 65535 }));
    this.tables.setLips(lips);
    return this;
  }

  /** service installs service `index` with `rs` real servers (entries or counts) and rebuilds. */
  service(index: number, s: Partial<ServiceEntry>, rs: RealServerEntry[], rsBase = 0): number[] {
    this.tables.setService(index, s.vip?.includes(':') ? serviceEntry6(s) : serviceEntry(s));
    const ids: number[] = [];
    rs.forEach((r, k) => {
      this.tables.setRealServer(rsBase + k, { ...r, service: index });
      ids.push(rsBase + k);
    });
    this.tables.rebuildServiceIndex();
    this.#dests.set(index, ids);
    this.tables.setDestinations(this.#dests);
    if ((s.forwarding ?? 'nat') === 'fullnat') {
      // the LIPs of the servers' family: IPv4 (indices 0, 1) or IPv6 (2, 3)
      this.#pools.set(index, rs.length && rs[0].address.includes(':') ? [2, 3] : [0, 1]);
      this.tables.setPools(this.#pools);
    }
    return ids;
  }

  #dests = new Map<number, number[]>();
  #pools = new Map<number, number[]>();

  setDestinations(service: number, ids: number[]): void {
    this.#dests.set(service, ids);
    this.tables.setDestinations(this.#dests);
  }

  setPool(service: number, lips: number[]): void {
    this.#pools.set(service, lips);
    this.tables.setPools(this.#pools);
  }

  /** run puts frames into slots, calls process() once and returns each slot's outcome. */
  run(frames: Uint8Array[], now: number, opts: BatchOptions = {}): FrameResult[] {
    const l2 = opts.l2 ?? true;
    const vnet = opts.vnet ?? false;
    const lane = opts.lane ?? 0;
    const { descriptors, emit } = this.layout.lanes[lane];
    if (frames.length > this.layout.caps.slotCount) throw new Error('batch larger than the slot count');
    const flags = (l2 ? abi.BATCH_L2 : 0) | (vnet ? abi.BATCH_VNET : 0);
    this.view.setUint32(laneHeaderField(this.layout, lane, abi.HDR_BATCH_FLAGS), flags, true);
    this.view.setUint32(laneHeaderField(this.layout, lane, abi.HDR_BATCH_DEV), opts.dev ?? 0, true);
    frames.forEach((f, i) => {
      const at = frameAddress(this.layout, i, lane);
      if (f.length > this.layout.slotSize - this.layout.headroom) throw new Error('frame larger than a slot');
      this.bytes.set(f, at);
      if (vnet) this.bytes.set(opts.vnetHeaders?.[i] ?? new Uint8Array(abi.VNET_HDR_LEN), at - abi.VNET_HDR_LEN);
      const d = descriptors.base + i * abi.DESC_SIZE;
      this.view.setUint32(d + abi.DESC_OFF, at, true);
      this.view.setUint32(d + abi.DESC_LEN, f.length, true);
      this.bytes[d + abi.DESC_VERDICT] = 0xee;
      this.bytes[d + abi.DESC_IN_DEV] = opts.dev ?? 0;
    });
    const ret = this.core.process(lane, frames.length, now >>> 0);
    const results = frames.map((_, i) => this.result(i, vnet, lane));
    this.emitted = [];
    for (let i = 0; i < this.view.getUint32(laneHeaderField(this.layout, lane, abi.HDR_EMIT_COUNT), true); i++) {
      const at = emit.base + i * abi.EMIT_SLOT_SIZE;
      const len = this.view.getUint16(at + abi.EMIT_LEN, true);
      const frame = this.bytes.slice(at + abi.EMIT_FRAME, at + abi.EMIT_FRAME + len);
      this.emitted.push({ dev: this.bytes[at + abi.EMIT_DEV], out: frame });
    }
    const fwd = results.filter((r) => r.verdict === abi.VERDICT_FORWARD).length;
    const host = results.filter((r) => r.verdict === abi.VERDICT_HOST).length;
    if (ret !== (fwd | (host << abi.PROCESS_HOST_SHIFT))) throw new Error(`process() returned ${ret}, descriptors say ${fwd}/${host}`);
    return results;
  }

  /** frames the last batch built in emit slots (the SYN proxy's ACKs to real servers) */
  emitted: { dev: number; out: Uint8Array }[] = [];

  /** one frame in, one result out */
  one(frame: Uint8Array, now: number, opts: BatchOptions = {}): FrameResult {
    return this.run([frame], now, opts)[0];
  }

  result(i: number, vnet: boolean, lane = 0): FrameResult {
    const d = this.layout.lanes[lane].descriptors.base + i * abi.DESC_SIZE;
    const off = this.view.getUint32(d + abi.DESC_OFF, true);
    const len = this.view.getUint32(d + abi.DESC_LEN, true);
    return {
      verdict: this.bytes[d + abi.DESC_VERDICT],
      reason: this.bytes[d + abi.DESC_REASON],
      outDev: this.bytes[d + abi.DESC_OUT_DEV],
      out: this.bytes.slice(off, off + len),
      vnet: vnet ? this.bytes.slice(off - abi.VNET_HDR_LEN, off) : undefined,
    };
  }

  drops(reason: number): bigint {
    return this.tables.stat(abi.STAT_DROP_BASE + reason);
  }

  rsField(i: number, field: number): number {
    return this.view.getUint32(this.layout.realServers.base + i * abi.RS_SIZE + field, true);
  }

  setRsField(i: number, field: number, v: number): void {
    this.view.setUint32(this.layout.realServers.base + i * abi.RS_SIZE + field, v, true);
  }

  sessions(now = 0) {
    return this.tables.sessions(now, 0, 1 << 20).items;
  }

  /** wire turns a dotted quad into the u32 the core loads from packet bytes */
  static wire(ip: string): number {
    return bswap32(ipv4ToNumber(ip));
  }
}
