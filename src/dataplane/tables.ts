// tables.ts — the host's only writer of the data path's tables (devices, owned addresses,
// services, real servers, destination lists, Full-NAT pools, timeouts) and its reader of
// counters, sessions and events. The data path runs on another thread (src/io/port.ts): every
// writer, and every reader that needs a consistent record, runs inside `exclusive` (the port's
// barrier: no batch runs meanwhile), so process() never sees half a change. Counters are read
// without it (a metric may be one batch old). Events come through a single-producer ring with
// atomic head and tail, drained without pausing the data path.
import * as abi from './abi.js';
import type { LaneLayout, Layout } from './memory-map.js';
import { TIMEOUT_SLOTS } from './memory-map.js';
import type { CoreExports } from './abi.js';
import { drainHeld } from './worker.js';
import { WlvsError } from '../errors.js';
import {
  familyOf, fold6, formatIpv6, ipBytes, ipv4ToNumber, numberToIpv4, parseMac, prefixMask6, prefixToMask,
} from '../model/address.js';
import type { ForwardingMode, Protocol, SchedulerName, SynProxyMode } from '../model/spec.js';


export const PROTOCOLS: Record<Protocol, number> = { tcp: abi.IPPROTO_TCP, udp: abi.IPPROTO_UDP };
export const FORWARDING: Record<ForwardingMode, number> = {
  nat: abi.FWD_NAT, dr: abi.FWD_DR, tun: abi.FWD_TUN, fullnat: abi.FWD_FNAT,
};
export const SCHEDULERS: Record<SchedulerName, number> = {
  rr: abi.SCHED_RR, wrr: abi.SCHED_WRR, lc: abi.SCHED_LC, wlc: abi.SCHED_WLC, sed: abi.SCHED_SED,
  nq: abi.SCHED_NQ, sh: abi.SCHED_SH, dh: abi.SCHED_DH, mh: abi.SCHED_MH,
};
/** schedulers whose lookup table is filled from the destination list (the order matters) */
const HASHING = new Set<number>([abi.SCHED_SH, abi.SCHED_DH, abi.SCHED_MH]);

export interface DeviceEntry {
  mac: string;
  mtu: number;
  l2: boolean;
  vnet: boolean;
  /** source of generated ICMP errors and default outer source of TUN mode */
  address: string;
  /** the same for IPv6 (Packet Too Big, IPv6-in-IPv6); null = none */
  address6?: string | null;
}

export interface ServiceEntry {
  vip: string;
  /** 0 = all ports */
  port: number;
  protocol: Protocol;
  scheduler: SchedulerName;
  forwarding: ForwardingMode;
  /** seconds; 0 = no persistence */
  persistence: number;
  /** netmask prefix applied to the client address for persistence (ipvsadm -M; 0..128 for IPv6) */
  persistencePrefix: number;
  /** sh/mh: hash the source port too */
  hashPort: boolean;
  /** sh/mh: fall back to another server when the hashed one is unavailable */
  fallback: boolean;
  /** TCP segments other than SYN may create a session (SVCF_MIDFLOW; dr and tun only) */
  midFlow?: boolean;
  /** real-server index of the sorry server, or null */
  sorry: number | null;
  /** outer source of TUN mode; null = the output device's address */
  tunnelSource: string | null;
  /** SYN proxy: off (the default), auto (on under pressure or above a SYN rate), on (forced); needs caps.connExt */
  synProxy?: SynProxyMode;
  /** TCP: PROXY protocol header ahead of the client's stream (needs caps.connExt and caps.proxyMarks) */
  proxyProtocol?: 'v1' | 'v2' | null;
  /** TCP: TOA option in the client's first segments (needs caps.connExt) */
  toa?: boolean;
  /** one JSON line per connection when it ends (needs caps.connStats) */
  connectionLog?: boolean;
}

export interface RealServerEntry {
  service: number;
  address: string;
  /** 0 = the packet's own destination port (port-0 services) */
  port: number;
  weight: number;
  /** null = the service's mode */
  forwarding: ForwardingMode | null;
  /** output device index */
  device: number;
  /** next-hop MAC on L2 devices; null until resolved */
  mac: string | null;
  /** 0 = no limit (ipvsadm -x) */
  upperThreshold: number;
  tunnelSource: string | null;
}

export interface LocalAddressEntry { address: string; kind: 'vip' | 'dip' | 'lip' }

export interface LipEntry { address: string; portMin: number; portMax: number }

/** The data path's SYN-flood settings (see docs/config.md director.syn_flood). */
export interface SynFloodEntry {
  /** embryonic sessions allowed before a new one evicts an old one */
  embryonicMax: number;
  /** SYN_RECV timeout in seconds while the budget is half used (0 = the normal one) */
  synRecvPressureS: number;
  /** auto-mode SYN proxies switch on at this many records in the table (0 = never by fill) */
  proxyFillRecords: number;
  /** MSS and window shift the SYN proxy announces to clients */
  mss: number;
  wscale: number;
}

export interface Counters { conns: bigint; inPackets: bigint; outPackets: bigint; inBytes: bigint; outBytes: bigint }

export interface SessionView {
  protocol: number;
  state: number;
  template: boolean;
  forwarding: number;
  client: string; clientPort: number;
  vip: string; vport: number;
  rip: string; rport: number;
  lip: string | null; lport: number;
  service: number; realServer: number;
  /** milliseconds left, may be negative when the sweep has not reached it yet */
  expiresIn: number;
}

export interface EventView extends Omit<SessionView, 'expiresIn' | 'template'> {
  type: number;
  /** the record as the core wrote it (EVT_SIZE bytes, a copy): the session-sync unit */
  raw: Uint8Array;
}

/** Tables writes and reads the data path's memory through one DataView. */
export class Tables {
  readonly layout: Layout;
  #view: DataView;
  #bytes: Uint8Array;
  #core: CoreExports;

  #exclusive: <T>(fn: () => T) => T = (fn) => fn();
  #u32: Uint32Array;

  constructor(memory: WebAssembly.Memory, layout: Layout, core: CoreExports) {
    this.layout = layout;
    this.#view = new DataView(memory.buffer);
    this.#bytes = new Uint8Array(memory.buffer);
    this.#u32 = new Uint32Array(memory.buffer);
    this.#core = core;
  }

  /** setExclusive: how writers keep the data path out (the port's exclusive); by default they just run */
  setExclusive(exclusive: <T>(fn: () => T) => T): void {
    this.#exclusive = exclusive;
  }

  /** replaces the core (hot-swap): the tables stay where they are */
  setCore(core: CoreExports): void {
    this.#core = core;
  }

  header(field: number): number {
    return this.#view.getUint32(abi.HEADER_BASE + field, true);
  }

  setHeader(field: number, value: number): void {
    return this.#exclusive(() => {
      this.#view.setUint32(abi.HEADER_BASE + field, value >>> 0, true);
    });
  }

  setOptions(bits: number): void {
    this.setHeader(abi.HDR_OPTIONS, bits);
  }

  /** setTimeouts takes seconds by name (see TIMEOUT_SLOTS); unknown names throw. */
  setTimeouts(seconds: Record<string, number>): void {
    for (const [name, value] of Object.entries(seconds)) {
      const slot = TIMEOUT_SLOTS[name];
      if (slot === undefined) throw new WlvsError('WLVS_ERR_CONFIG_INVALID', `unknown timeout ${name}`);
      this.setHeader(abi.HDR_TIMEOUTS + slot * 4, Math.round(value * 1000));
    }
  }

  /** setQuarantine: seconds a Full-NAT tuple is held after its last packet (fnat_pool.ts) */
  setQuarantine(seconds: number): void {
    this.setHeader(abi.HDR_FNAT_QUARANTINE, Math.round(seconds * 1000));
  }

  timeoutMs(name: string): number {
    return this.header(abi.HDR_TIMEOUTS + TIMEOUT_SLOTS[name] * 4);
  }

  // ── SYN-flood defence ───────────────────────────────────────────────────────────────────
  /** setSynFlood writes the embryonic budget, the pressure timeout and the SYN proxy's own options. */
  setSynFlood(f: SynFloodEntry): void {
    this.setHeader(abi.HDR_EMBRYONIC_MAX, f.embryonicMax);
    this.setHeader(abi.HDR_SYN_RECV_PRESSURE, Math.round(f.synRecvPressureS * 1000));
    this.setHeader(abi.HDR_SYNPROXY_FILL, f.proxyFillRecords);
    this.setHeader(abi.HDR_SYNPROXY_OPTS, (f.mss & 0xffff) | ((f.wscale & 0xf) << 16));
  }

  /**
   * setCookieKeys makes `count` the current SYN-cookie period and writes its two 16-byte keys;
   * the previous period's keys (the other slot) are left as they are, so its cookies stay valid.
   */
  setCookieKeys(count: number, keys: Uint8Array): void {
    if (keys.length !== abi.COOKIE_KEYS_SIZE) throw new RangeError(`cookie keys must be ${abi.COOKIE_KEYS_SIZE} bytes`);
    // inside the barrier: a batch must never see the new period with half of its keys
    return this.#exclusive(() => {
      this.#bytes.set(keys, abi.HEADER_BASE + abi.HDR_COOKIE_KEYS + (count & 1) * abi.COOKIE_KEYS_SIZE);
      this.setHeader(abi.HDR_COOKIE_COUNT, count);
    });
  }

  /** setSynProxyOn switches the SYN proxy of service i on or off for SYNs (auto mode's host trigger). */
  setSynProxyOn(i: number, on: boolean): void {
    // the data path only reads SVC_FLAGS2; the barrier orders the change with the batches around it
    return this.#exclusive(() => {
      const at = this.#svcAt(i) + abi.SVC_FLAGS2;
      if (on) this.#bytes[at] |= abi.SVCF2_SYNPROXY_ON;
      else this.#bytes[at] &= ~abi.SVCF2_SYNPROXY_ON;
    });
  }

  synProxyOn(i: number): boolean {
    return (this.#bytes[this.#svcAt(i) + abi.SVC_FLAGS2] & abi.SVCF2_SYNPROXY_ON) !== 0;
  }

  /** serviceSyns: SYNs to service i that found no session, since it was created */
  serviceSyns(i: number): bigint {
    this.#svcAt(i);
    return this.#sum64((l) => l.svcStats.base + i * abi.STATS_SIZE + abi.ST_SYNS);
  }

  /** embryonic: TCP sessions in SYN_RECV now, and their budget */
  embryonic(): { count: number; max: number } {
    return { count: this.header(abi.HDR_EMBRYONIC), max: this.header(abi.HDR_EMBRYONIC_MAX) };
  }

  // ── devices ─────────────────────────────────────────────────────────────────────────────
  setDevices(devices: DeviceEntry[]): void {
    return this.#exclusive(() => {
      if (devices.length > this.layout.caps.devices) {
        throw new WlvsError('WLVS_ERR_CAPACITY', `${devices.length} devices, capacity ${this.layout.caps.devices}`);
      }
      devices.forEach((d, i) => {
        const at = this.layout.devices.base + i * abi.DEV_SIZE;
        this.#bytes.set(parseMac(d.mac), at + abi.DEV_MAC);
        this.#view.setUint16(at + abi.DEV_MTU, d.mtu, true);
        this.#view.setUint32(at + abi.DEV_FLAGS, (d.l2 ? abi.DEVF_L2 : 0) | (d.vnet ? abi.DEVF_VNET : 0), true);
        this.#view.setUint32(at + abi.DEV_ADDR, ipv4ToNumber(d.address), false);
        this.#bytes.fill(0, at + abi.DEV_VMAC, at + abi.DEV_VMAC + 6);
        this.#bytes.set(d.address6 ? ipBytes(d.address6) : new Uint8Array(16), at + abi.DEV_ADDR6);
      });
      this.setHeader(abi.HDR_DEV_COUNT, devices.length);
    });
  }

  /**
   * setVirtualMac makes device `device` accept frames for `mac` besides its own (VRRP's virtual
   * MAC while this director is master), or for nothing else when `mac` is null.
   */
  setVirtualMac(device: number, mac: string | null): void {
    return this.#exclusive(() => {
      const at = this.layout.devices.base + device * abi.DEV_SIZE + abi.DEV_VMAC;
      if (mac) this.#bytes.set(parseMac(mac), at);
      else this.#bytes.fill(0, at, at + 6);
    });
  }

  // ── owned addresses ─────────────────────────────────────────────────────────────────────
  /** setLocalAddresses rewrites the whole owned-address table (the core does the hashing). */
  setLocalAddresses(entries: LocalAddressEntry[]): void {
    return this.#exclusive(() => {
      const distinct = new Set(entries.map((e) => e.address));
      if (distinct.size > this.layout.caps.localAddresses) {
        throw new WlvsError('WLVS_ERR_CAPACITY', `${distinct.size} owned addresses, capacity ${this.layout.caps.localAddresses}`);
      }
      const bit = { vip: abi.LOCAL_VIP, dip: abi.LOCAL_DIP, lip: abi.LOCAL_LIP };
      this.#bytes.fill(0, this.layout.local.base, this.layout.local.base + this.layout.local.size);
      this.#bytes.fill(0, this.layout.local6.base, this.layout.local6.base + this.layout.local6.size);
      // IPv6 addresses travel through slot 0, which holds nothing between batches (no batch runs
      // inside exclusive)
      const at = this.layout.slots.base + this.layout.headroom;
      for (const e of entries) {
        let full: number;
        if (familyOf(e.address) === 6) {
          this.#bytes.set(ipBytes(e.address), at);
          full = this.#core.addLocalAddress6(at, bit[e.kind]);
        } else {
          full = this.#core.addLocalAddress(bswap32(ipv4ToNumber(e.address)), bit[e.kind]);
        }
        if (full !== 0) throw new WlvsError('WLVS_ERR_CAPACITY', `owned-address table full at ${e.address}`);
      }
    });
  }

  // ── services ────────────────────────────────────────────────────────────────────────────
  #svcAt(i: number): number {
    if (!Number.isInteger(i) || i < 0 || i >= this.layout.caps.services) {
      throw new WlvsError('WLVS_ERR_CAPACITY', `service index ${i} outside [0, ${this.layout.caps.services})`);
    }
    return this.layout.services.base + i * abi.SVC_SIZE;
  }

  /**
   * setService writes the host-owned fields of service i; the scheduler's own state (cursors)
   * is kept when the service already existed. Call rebuildServiceIndex() and
   * setDestinations() afterwards.
   */
  setService(i: number, s: ServiceEntry): void {
    return this.#exclusive(() => {
      const at = this.#svcAt(i);
      const v = this.#view;
      const wasUsed = (this.#bytes[at + abi.SVC_FLAGS] & abi.SVCF_USED) !== 0;
      if (!wasUsed) this.#bytes.fill(0, at, at + abi.SVC_SIZE);
      const v6 = familyOf(s.vip) === 6;
      const x = this.layout.svc6.base + i * abi.SVC6_SIZE;
      this.#bytes.fill(0, x, x + abi.SVC6_SIZE);
      if (v6) {
        // the index keys IPv6 services by the fold of their VIP; the record keeps the address
        const vip = ipBytes(s.vip);
        this.#bytes.set(vip, x + abi.SVC6_VIP);
        v.setUint32(at + abi.SVC_VIP, fold6(vip), true);
        if (s.tunnelSource) this.#bytes.set(ipBytes(s.tunnelSource), x + abi.SVC6_TUN_SRC);
        this.#bytes.set(prefixMask6(s.persistencePrefix), x + abi.SVC6_PERSIST_MASK);
      } else {
        v.setUint32(at + abi.SVC_VIP, ipv4ToNumber(s.vip), false);
      }
      v.setUint16(at + abi.SVC_VPORT, s.port, false);
      v.setUint8(at + abi.SVC_PROTO, PROTOCOLS[s.protocol]);
      let flags = abi.SVCF_USED;
      if (s.persistence > 0) flags |= abi.SVCF_PERSIST;
      if (s.hashPort) flags |= abi.SVCF_HASH_PORT;
      if (s.fallback) flags |= abi.SVCF_FALLBACK;
      if (s.midFlow) flags |= abi.SVCF_MIDFLOW;
      const synProxy = s.synProxy ?? 'off';
      const lacks = this.layout.connx.size === 0 || (s.proxyProtocol && this.layout.proxyMarks.size === 0);
      if ((s.toa || s.proxyProtocol || synProxy !== 'off') && lacks) {
        throw new WlvsError('WLVS_ERR_RESTART_NEEDED', 'TOA, the PROXY protocol and the SYN proxy need per-session records '
          + 'this director was started without: restart it with the new configuration');
      }
      if (s.connectionLog && this.layout.connStats.size === 0) {
        throw new WlvsError('WLVS_ERR_RESTART_NEEDED', 'connection logs need per-connection counters this director '
          + 'was started without: restart it with the new configuration');
      }
      if (s.toa) flags |= abi.SVCF_TOA;
      if (s.proxyProtocol === 'v1') flags |= abi.SVCF_PROXY_V1;
      if (s.proxyProtocol === 'v2') flags |= abi.SVCF_PROXY_V2;
      v.setUint8(at + abi.SVC_FLAGS, flags);
      // the second flag byte, built from all its owners at once: the address family, the SYN
      // proxy's bits and connection logs
      let flags2 = v6 ? abi.SVCF2_V6 : 0;
      if (synProxy !== 'off') flags2 |= abi.SVCF2_SYNPROXY;
      // forced on, or kept as the host's auto trigger left it
      if (synProxy === 'on' || (synProxy === 'auto' && wasUsed &&
        (this.#bytes[at + abi.SVC_FLAGS2] & abi.SVCF2_SYNPROXY_ON))) {
        flags2 |= abi.SVCF2_SYNPROXY_ON;
      }
      if (s.connectionLog) flags2 |= abi.SVCF2_CONNLOG;
      v.setUint8(at + abi.SVC_FLAGS2, flags2);
      v.setUint8(at + abi.SVC_SCHED, SCHEDULERS[s.scheduler]);
      v.setUint8(at + abi.SVC_FWD, FORWARDING[s.forwarding]);
      v.setUint32(at + abi.SVC_PERSIST_TIMEOUT, Math.round(s.persistence * 1000), true);
      v.setUint32(at + abi.SVC_PERSIST_MASK, v6 ? 0 : prefixToMask(s.persistencePrefix), false);
      v.setUint16(at + abi.SVC_SORRY, s.sorry === null ? 0 : s.sorry + 1, true);
      v.setUint32(at + abi.SVC_TUN_SRC, s.tunnelSource && !v6 ? ipv4ToNumber(s.tunnelSource) : 0, false);
      if (!wasUsed) {
        v.setUint32(at + abi.SVC_DEST_FIRST, 0, true);
        v.setUint16(at + abi.SVC_DEST_COUNT, 0, true);
      }
    });
  }

  /** removeService clears service i; its sessions expire at their next packet or sweep. */
  removeService(i: number): void {
    return this.#exclusive(() => {
      const at = this.#svcAt(i);
      this.#bytes.fill(0, at, at + abi.SVC_SIZE);
    });
  }

  serviceUsed(i: number): boolean {
    return (this.#bytes[this.#svcAt(i) + abi.SVC_FLAGS] & abi.SVCF_USED) !== 0;
  }

  /** rebuildServiceIndex re-derives the (vip, port, protocol) index from the service records. */
  rebuildServiceIndex(): void {
    return this.#exclusive(() => {
      const { svcIndex } = this.layout;
      this.#bytes.fill(0, svcIndex.base, svcIndex.base + svcIndex.size);
      for (let s = 0; s < this.layout.caps.services; s++) {
        if ((this.#bytes[this.layout.services.base + s * abi.SVC_SIZE + abi.SVC_FLAGS] & abi.SVCF_USED) === 0) continue;
        if (this.#core.indexServiceRecord(s) !== 0) throw new WlvsError('WLVS_ERR_CAPACITY', `service index full at service ${s}`);
      }
    });
  }

  // ── real servers ────────────────────────────────────────────────────────────────────────
  #rsAt(i: number): number {
    if (!Number.isInteger(i) || i < 0 || i >= this.layout.caps.realServers) {
      throw new WlvsError('WLVS_ERR_CAPACITY', `real-server index ${i} outside [0, ${this.layout.caps.realServers})`);
    }
    return this.layout.realServers.base + i * abi.RS_SIZE;
  }

  /** setRealServer writes the host-owned fields of real server i (counters are the core's). */
  setRealServer(i: number, r: RealServerEntry): void {
    return this.#exclusive(() => {
      const at = this.#rsAt(i);
      const v = this.#view;
      const wasUsed = (this.#bytes[at + abi.RS_FLAGS] & abi.RSF_USED) !== 0;
      if (!wasUsed) {
        this.#bytes.fill(0, at, at + abi.RS_SIZE);
        for (const lane of this.layout.lanes) {
          const st = lane.rsStats.base + i * abi.STATS_SIZE;
          this.#bytes.fill(0, st, st + abi.STATS_SIZE);
        }
      }
      const v6 = familyOf(r.address) === 6;
      const x = this.layout.rs6.base + i * abi.RS6_SIZE;
      this.#bytes.fill(0, x, x + abi.RS6_SIZE);
      if (v6) {
        // RS_RIP holds the fold: Maglev's per-server permutation and the hashes read it
        const rip = ipBytes(r.address);
        this.#bytes.set(rip, x + abi.RS6_RIP);
        v.setUint32(at + abi.RS_RIP, fold6(rip), true);
        if (r.tunnelSource) this.#bytes.set(ipBytes(r.tunnelSource), x + abi.RS6_TUN_SRC);
      } else {
        v.setUint32(at + abi.RS_RIP, ipv4ToNumber(r.address), false);
      }
      v.setUint16(at + abi.RS_RPORT, r.port, false);
      v.setUint8(at + abi.RS_FWD, r.forwarding === null ? abi.FWD_INHERIT : FORWARDING[r.forwarding]);
      v.setUint32(at + abi.RS_WEIGHT, r.weight, true);
      v.setUint8(at + abi.RS_DEV, r.device);
      v.setUint32(at + abi.RS_SVC, r.service, true);
      v.setUint32(at + abi.RS_UPPER, r.upperThreshold, true);
      v.setUint32(at + abi.RS_TUN_SRC, r.tunnelSource && !v6 ? ipv4ToNumber(r.tunnelSource) : 0, false);
      let flags = abi.RSF_USED | (v6 ? abi.RSF_V6 : 0);
      if (r.mac) {
        this.#bytes.set(parseMac(r.mac), at + abi.RS_MAC);
        flags |= abi.RSF_READY;
      }
      v.setUint8(at + abi.RS_FLAGS, flags);
    });
  }

  setWeight(i: number, weight: number): void {
    return this.#exclusive(() => {
      this.#view.setUint32(this.#rsAt(i) + abi.RS_WEIGHT, weight >>> 0, true);
    });
  }

  weight(i: number): number {
    return this.#view.getUint32(this.#rsAt(i) + abi.RS_WEIGHT, true);
  }

  /** setNextHop records a resolved MAC (L2) and marks the real server ready. */
  setNextHop(i: number, mac: string | null): void {
    return this.#exclusive(() => {
      const at = this.#rsAt(i);
      if (mac) {
        this.#bytes.set(parseMac(mac), at + abi.RS_MAC);
        this.#bytes[at + abi.RS_FLAGS] |= abi.RSF_READY;
      } else {
        this.#bytes[at + abi.RS_FLAGS] &= ~abi.RSF_READY;
      }
    });
  }

  /** markRemoved stops new and existing traffic to real server i; free it once rsIdle(i). */
  markRemoved(i: number): void {
    return this.#exclusive(() => {
      this.#bytes[this.#rsAt(i) + abi.RS_FLAGS] |= abi.RSF_REMOVED;
    });
  }

  /** rsIdle is true when no session or template refers to real server i any more. */
  rsIdle(i: number): boolean {
    const c = this.rsConnections(i);
    return c.active + c.inactive + c.persistent + c.fullnatHeld === 0;
  }

  freeRealServer(i: number): void {
    return this.#exclusive(() => {
      const at = this.#rsAt(i);
      this.#bytes.fill(0, at, at + abi.RS_SIZE);
    });
  }

  rsConnections(i: number): { active: number; inactive: number; persistent: number; fullnatHeld: number } {
    const at = this.#rsAt(i);
    return {
      active: this.#view.getUint32(at + abi.RS_ACTIVE, true),
      inactive: this.#view.getUint32(at + abi.RS_INACTIVE, true),
      persistent: this.#view.getUint32(at + abi.RS_PERSIST, true),
      fullnatHeld: this.#view.getUint32(at + abi.RS_FNAT_HELD, true),
    };
  }

  /**
   * setDestinations rewrites every service's destination list at once (lists are packed in
   * service order) and asks the core to rebuild the schedulers of the listed services.
   */
  setDestinations(lists: Map<number, number[]>): void {
    return this.#exclusive(() => {
      const total = [...lists.values()].reduce((n, l) => n + l.length, 0);
      if (total > this.layout.caps.destinations) {
        throw new WlvsError('WLVS_ERR_CAPACITY', `${total} destinations, capacity ${this.layout.caps.destinations}`);
      }
      let next = 0;
      for (let s = 0; s < this.layout.caps.services; s++) {
        const at = this.layout.services.base + s * abi.SVC_SIZE;
        let list = lists.get(s) ?? [];
        // the hashing schedulers fill their tables in list order: sorted by the servers' identity
        // (RIP, RPORT), every director of a cluster builds the same table from the same servers,
        // whatever order they were configured or added in (and whatever indices they got)
        if (HASHING.has(this.#bytes[at + abi.SVC_SCHED])) {
          const key = new Map(list.map((rs) => [rs, this.#identity(rs)]));
          list = [...list].sort((a, b) => (key.get(a)! < key.get(b)! ? -1 : key.get(a)! > key.get(b)! ? 1 : 0));
        }
        this.#view.setUint32(at + abi.SVC_DEST_FIRST, next, true);
        this.#view.setUint16(at + abi.SVC_DEST_COUNT, list.length, true);
        for (const rs of list) this.#view.setUint16(this.layout.destinations.base + 2 * next++, rs, true);
      }
      for (const s of lists.keys()) this.rebuildService(s);
    });
  }

  /**
   * #identity: real server i's sort key, its family, address and port in wire order as
   * fixed-width hex (so string order is numeric order; IPv4 servers before IPv6 ones). An IPv6
   * server is ordered by its whole address, not by the 32-bit fold RS_RIP holds: two addresses
   * with the same fold would otherwise be ordered by index, which differs between directors.
   */
  #identity(i: number): string {
    const at = this.#rsAt(i);
    const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');
    const port = this.#view.getUint16(at + abi.RS_RPORT, false).toString(16).padStart(4, '0');
    if (this.#rsV6(i)) {
      const x = this.layout.rs6.base + i * abi.RS6_SIZE + abi.RS6_RIP;
      return `6${hex(this.#bytes.subarray(x, x + 16))}${port}`;
    }
    return `4${hex(this.#bytes.subarray(at + abi.RS_RIP, at + abi.RS_RIP + 4))}${port}`;
  }

  /** rebuildService recomputes scheduler state (after weights or destinations change). */
  rebuildService(i: number): void {
    return this.#exclusive(() => {
      this.#svcAt(i);
      this.#core.rebuildService(i);
    });
  }

  // ── Full-NAT ────────────────────────────────────────────────────────────────────────────
  /**
   * setLips writes the LIP table. A LIP keeps its cursor when its address and range are
   * unchanged at the same index; the count of tuples held is never reset, since sessions name
   * their LIP by index and give their tuple back to it when they end.
   */
  setLips(lips: LipEntry[]): void {
    return this.#exclusive(() => {
      if (lips.length > this.layout.caps.lips) {
        throw new WlvsError('WLVS_ERR_CAPACITY', `${lips.length} local addresses, capacity ${this.layout.caps.lips}`);
      }
      lips.forEach((l, i) => {
        const at = this.layout.lips.base + i * abi.LIP_SIZE;
        const x = this.layout.lip6.base + i * abi.LIP6_SIZE;
        const v6 = familyOf(l.address) === 6;
        const bytes = ipBytes(l.address);
        // an IPv6 LIP is kept as its fold in LIP_ADDR (what a session's CONN_LIP holds), and in full
        const addr = v6 ? bswap32(fold6(bytes)) : ipv4ToNumber(l.address);
        const same = this.#view.getUint32(at + abi.LIP_ADDR, false) === addr &&
          Buffer.compare(this.#bytes.subarray(x, x + abi.LIP6_SIZE), v6 ? bytes : new Uint8Array(16)) === 0 &&
          this.#view.getUint16(at + abi.LIP_PORT_MIN, true) === l.portMin &&
          this.#view.getUint16(at + abi.LIP_PORT_MAX, true) === l.portMax;
        if (same) return;
        this.#bytes.set(v6 ? bytes : new Uint8Array(16), x);
        this.#view.setUint32(at + abi.LIP_ADDR, addr, false);
        this.#view.setUint16(at + abi.LIP_PORT_MIN, l.portMin, true);
        this.#view.setUint16(at + abi.LIP_PORT_MAX, l.portMax, true);
        this.#view.setUint32(at + abi.LIP_CURSOR, l.portMin, true);
      });
    });
  }

  /** lipUsage: tuples held on LIP i (toward every real server) and its port range's size */
  lipUsage(i: number): { used: number; size: number } {
    const at = this.layout.lips.base + i * abi.LIP_SIZE;
    return {
      used: this.#view.getUint32(at + abi.LIP_USED, true),
      size: this.#view.getUint16(at + abi.LIP_PORT_MAX, true) - this.#view.getUint16(at + abi.LIP_PORT_MIN, true) + 1,
    };
  }

  /** setPools rewrites every service's LIP list at once (packed in service order). */
  setPools(pools: Map<number, number[]>): void {
    return this.#exclusive(() => {
      const total = [...pools.values()].reduce((n, l) => n + l.length, 0);
      if (total > this.layout.caps.poolEntries) {
        throw new WlvsError('WLVS_ERR_CAPACITY', `${total} pool entries, capacity ${this.layout.caps.poolEntries}`);
      }
      let next = 0;
      for (let s = 0; s < this.layout.caps.services; s++) {
        const at = this.layout.services.base + s * abi.SVC_SIZE;
        const list = pools.get(s) ?? [];
        this.#view.setUint32(at + abi.SVC_POOL_FIRST, next, true);
        this.#view.setUint16(at + abi.SVC_POOL_COUNT, list.length, true);
        for (const lip of list) this.#view.setUint16(this.layout.pools.base + 2 * next++, lip, true);
      }
    });
  }

  // ── fragments ───────────────────────────────────────────────────────────────────────────
  /** setFragmentTimeouts: how long a first fragment's decision is kept and a fragment may wait (seconds) */
  setFragmentTimeouts(decisionS: number, holdS: number): void {
    this.setHeader(abi.HDR_FRAG_TIMEOUT, Math.round(decisionS * 1000));
    this.setHeader(abi.HDR_HOLD_TIMEOUT, Math.round(holdS * 1000));
  }

  /** fragmentState: decisions remembered (not yet expired at `now`), fragments waiting, capacities */
  fragmentState(now: number): { decisions: number; capacity: number; waiting: number; holdCapacity: number } {
    let decisions = 0;
    const { frags, fragSlots } = this.layout;
    for (let i = 0; i < fragSlots; i++) {
      const e = frags.base + i * abi.FRAG_SIZE;
      if ((this.#bytes[e + abi.FRAG_FLAGS] & abi.FRAGF_USED) === 0) continue;
      if (((this.#view.getUint32(e + abi.FRAG_EXPIRES, true) - now) | 0) > 0) decisions++;
    }
    return {
      decisions, capacity: fragSlots,
      waiting: this.layout.lanes.reduce((n, l) => n + this.#view.getUint32(l.header + abi.HDR_HOLD_WAITING, true), 0),
      holdCapacity: this.layout.caps.holdFrames,
    };
  }

  /**
   * drainHeld hands every fragment the core released from the hold region (state HOLD_READY) to
   * `send` (device, a copy of the frame) and frees its entry. Between batches only.
   */
  drainHeld(send: (device: number, frame: Uint8Array) => void): number {
    return this.#exclusive(() => drainHeld(this.#bytes, this.#view, this.layout, send));
  }

  // ── counters ────────────────────────────────────────────────────────────────────────────
  /** stat: global counter `index` summed over every lane (each worker counts in its own) */
  stat(index: number): bigint {
    return this.#sum64((l) => l.stats.base + index * 8);
  }

  /** statOfLane: global counter `index` of one lane (per-worker figures) */
  statOfLane(lane: number, index: number): bigint {
    return this.#view.getBigUint64(this.layout.lanes[lane].stats.base + index * 8, true);
  }

  #sum64(at: (lane: LaneLayout) => number): bigint {
    let n = 0n;
    for (const l of this.layout.lanes) n += this.#view.getBigUint64(at(l), true);
    return n;
  }

  drops(): Record<string, bigint> {
    const out: Record<string, bigint> = {};
    for (let r = 1; r < abi.DROP_COUNT; r++) out[abi.DROP_REASON_NAMES[r]] = this.stat(abi.STAT_DROP_BASE + r);
    return out;
  }

  /** #counters sums a per-lane STATS_SIZE block found at base(lane) over every lane */
  #counters(base: (lane: LaneLayout) => number): Counters {
    const g = (o: number): bigint => this.#sum64((l) => base(l) + o);
    return {
      conns: g(abi.ST_CONNS), inPackets: g(abi.ST_INPKTS), outPackets: g(abi.ST_OUTPKTS),
      inBytes: g(abi.ST_INBYTES), outBytes: g(abi.ST_OUTBYTES),
    };
  }

  serviceCounters(i: number): Counters {
    this.#svcAt(i);
    return this.#counters((l) => l.svcStats.base + i * abi.STATS_SIZE);
  }

  rsCounters(i: number): Counters {
    this.#rsAt(i);
    return this.#counters((l) => l.rsStats.base + i * abi.STATS_SIZE);
  }

  #rsV6(i: number): boolean {
    if (i >= this.layout.caps.realServers) return false;
    return (this.#bytes[this.layout.realServers.base + i * abi.RS_SIZE + abi.RS_FLAGS] & abi.RSF_V6) !== 0;
  }

  sessionCount(): number {
    return this.header(abi.HDR_CONN_COUNT);
  }

  // ── sessions and events ─────────────────────────────────────────────────────────────────
  #session(at: number, now: number): SessionView {
    const v = this.#view;
    const flags = this.#bytes[at + abi.CONN_FLAGS];
    const fwd = (flags & abi.CONNF_FWD_MASK) >> abi.CONNF_FWD_SHIFT;
    const lipWire = v.getUint32(at + abi.CONN_LIP, false);
    const protoByte = this.#bytes[at + abi.CONN_PROTO];
    const rec = (at - this.layout.conns.base) / abi.CONN_SIZE;
    const a = addresses(this.#bytes, v, at, abi.CONN_CIP, abi.CONN_VIP, abi.CONN_RIP, abi.CONN_LIP,
      (protoByte & abi.PROTO_V6) !== 0 ? this.layout.conns6.base + rec * abi.CONN6_SIZE : -1,
      this.#rsV6(v.getUint16(at + abi.CONN_RS, true)));
    return {
      protocol: protoByte & ~abi.PROTO_V6,
      state: this.#bytes[at + abi.CONN_STATE],
      template: (flags & abi.CONNF_TEMPLATE) !== 0,
      forwarding: fwd,
      client: a.cip,
      clientPort: v.getUint16(at + abi.CONN_CPORT, false),
      vip: a.vip,
      vport: v.getUint16(at + abi.CONN_VPORT, false),
      rip: a.rip,
      rport: v.getUint16(at + abi.CONN_RPORT, false),
      lip: (flags & abi.CONNF_POOL) !== 0 ? (lipWire ? a.lip : null) : null,
      lport: v.getUint16(at + abi.CONN_LPORT, false),
      service: v.getUint16(at + abi.CONN_SVC, true),
      realServer: v.getUint16(at + abi.CONN_RS, true),
      expiresIn: (v.getUint32(at + abi.CONN_EXPIRES, true) - now) | 0,
    };
  }

  /**
   * sessions walks live records (connections and templates) from `start` and returns up to `limit` that pass `filter`,
   * with the position to continue from (null at the end). Costs O(records walked).
   */
  sessions(now: number, start = 0, limit = 100, filter?: (s: SessionView) => boolean):
  { items: SessionView[]; next: number | null } {
    return this.#exclusive(() => {
      const high = this.header(abi.HDR_CONN_HIGH);
      const items: SessionView[] = [];
      let i = start;
      for (; i < high && items.length < limit; i++) {
        const at = this.layout.conns.base + i * abi.CONN_SIZE;
        const flags = this.#bytes[at + abi.CONN_FLAGS];
        if ((flags & abi.CONNF_USED) === 0) continue;
        // a Full-NAT tuple held in quarantine is no connection any more
        if ((flags & (abi.CONNF_DETACHED | abi.CONNF_TEMPLATE)) === abi.CONNF_DETACHED) continue;
        const s = this.#session(at, now);
        if (!filter || filter(s)) items.push(s);
      }
      return { items, next: i < high ? i : null };
    });
  }

  /**
   * drainEvents hands every pending event record (a copy, EVT_SIZE bytes; eventView decodes it)
   * to `fn`, in the order the table changed (one ring for every worker: assembly/events.ts), and
   * frees their ring slots.
   */
  drainEvents(fn: (raw: Uint8Array) => void): number {
    const cap = this.layout.eventCap;
    const headAt = (abi.HEADER_BASE + abi.HDR_EVT_HEAD) / 4;
    const tailAt = (abi.HEADER_BASE + abi.HDR_EVT_TAIL) / 4;
    let tail = Atomics.load(this.#u32, tailAt);
    // the core publishes a record by storing head after it
    const head = Atomics.load(this.#u32, headAt);
    let n = 0;
    while (tail !== head) {
      const at = this.layout.events.base + (tail & (cap - 1)) * abi.EVT_SIZE;
      fn(this.#bytes.slice(at, at + abi.EVT_SIZE));
      tail = (tail + 1) >>> 0;
      n++;
    }
    Atomics.store(this.#u32, tailAt, tail);
    return n;
  }

  /**
   * importSession hands one synced event record to the core (SYNC_* result). The record goes
   * into slot 0, which holds nothing between batches; never call it from inside process().
   */
  /**
   * exportSessions reads up to `max` live connections from record `start` on, as event records;
   * `next` is where to continue, or null at the end of the table. Between batches only.
   */
  exportSessions(start: number, max: number, now: number): { records: Uint8Array[]; next: number | null } {
    return this.#exclusive(() => {
      const at = this.layout.slots.base + this.layout.headroom;
      const high = this.header(abi.HDR_CONN_HIGH);
      const records: Uint8Array[] = [];
      let rec = start;
      // bounded work per call: `max` records found or 16 × max slots looked at
      for (let looked = 0; rec < high && records.length < max && looked < max * 16; rec++, looked++) {
        if (this.#core.exportSession(rec, at, now >>> 0)) records.push(this.#bytes.slice(at, at + abi.EVT_SIZE));
      }
      return { records, next: rec < high ? rec : null };
    });
  }

  importSession(record: Uint8Array, now: number): number {
    return this.#exclusive(() => {
      if (record.length !== abi.EVT_SIZE) return abi.SYNC_BAD;
      const at = this.layout.slots.base + this.layout.headroom;
      this.#bytes.set(record, at);
      return this.#core.importSession(at, now >>> 0);
    });
  }
}

/** eventView decodes an event record (from the ring, or received from a peer director) */
export function eventView(raw: Uint8Array): EventView {
  const v = new DataView(raw.buffer, raw.byteOffset, raw.byteLength);
  const lip = v.getUint32(abi.EVT_LIP, false);
  const v6 = (raw[abi.EVT_PROTO] & abi.PROTO_V6) !== 0;
  // a NAT64 session's server side is IPv4: its rip6 is ::
  const rsV6 = v6 && raw.subarray(abi.EVT_RIP6, abi.EVT_RIP6 + 16).some((b) => b !== 0);
  const a = addresses(raw, v, 0, abi.EVT_CIP, abi.EVT_VIP, abi.EVT_RIP, abi.EVT_LIP, v6 ? abi.EVT_CIP6 : -1, rsV6);
  return {
    type: raw[abi.EVT_TYPE], protocol: raw[abi.EVT_PROTO] & ~abi.PROTO_V6, state: raw[abi.EVT_STATE],
    forwarding: raw[abi.EVT_FWD],
    client: a.cip, clientPort: v.getUint16(abi.EVT_CPORT, false),
    vip: a.vip, vport: v.getUint16(abi.EVT_VPORT, false),
    rip: a.rip, rport: v.getUint16(abi.EVT_RPORT, false),
    lip: lip ? a.lip : null, lport: v.getUint16(abi.EVT_LPORT, false),
    service: v.getUint16(abi.EVT_SVC, true), realServer: v.getUint16(abi.EVT_RS, true),
    raw,
  };
}

/**
 * addresses decodes the four addresses of a session or event record at `at`: IPv4 fields at the
 * given offsets, or (at6 ≥ 0) the IPv6 block cip6, vip6, rip6, lip6 at `at6`, whose server side
 * is IPv4 when !rsV6 (NAT64).
 */
function addresses(bytes: Uint8Array, v: DataView, at: number, cipAt: number, vipAt: number, ripAt: number,
  lipAt: number,
  at6: number, rsV6: boolean): { cip: string; vip: string; rip: string; lip: string } {
  const v4 = (o: number) => numberToIpv4(v.getUint32(at + o, false));
  if (at6 < 0) return { cip: v4(cipAt), vip: v4(vipAt), rip: v4(ripAt), lip: v4(lipAt) };
  const v6 = (k: number) => formatIpv6(bytes, at6 + 16 * k);
  return { cip: v6(0), vip: v6(1), rip: rsV6 ? v6(2) : v4(ripAt), lip: rsV6 ? v6(3) : v4(lipAt) };
}

/** bswap32 turns an address number into the u32 the core loads from wire bytes (little-endian). */
export function bswap32(n: number): number {
  return (((n & 0xff) << 24) | ((n & 0xff00) << 8) | ((n >>> 8) & 0xff00) | (n >>> 24)) >>> 0;
}
