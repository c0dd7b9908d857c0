// apply.ts — turns a DirectorSpec (and health verdicts, and resolved next hops) into the data
// path's tables, incrementally: services and real servers keep their table index across
// reloads, so sessions keep their server; a removed real server is marked removed and its
// index is reused only once no session or template refers to it. Changes happen between
// batches because everything runs on the one JS thread that also runs process().
import * as abi from '../dataplane/abi.js';
import { type LipEntry, type RealServerEntry, Tables } from '../dataplane/tables.js';
import { WlvsError } from '../errors.js';
import {
  type DirectorSpec, type ForwardingMode, type LipSpec, type RealServerSpec, type ServiceSpec, realServerKey,
  serverFamily, serviceKey, usesFullnat,
} from '../model/spec.js';
import { familyOf } from '../model/address.js';

/** Where a real server is reached: output device and next-hop MAC (null = not resolved yet). */
export interface NextHop { device: number; mac: string | null; neighbour: string }

export interface Resolver {
  /** route returns how `address` is reached, or null if no device leads there */
  route(address: string): NextHop | null;
  /** addresses the director owns besides the spec's (its devices' IPv6 link-local addresses) */
  linkLocal?(): string[];
}

interface RsState {
  spec: RealServerSpec;
  /** table index, null while taken out ("remove" on failure) */
  index: number | null;
  healthy: boolean;
  hop: NextHop;
  sorry: boolean;
}

interface SvcState {
  spec: ServiceSpec;
  index: number;
  rs: Map<string, RsState>;
  sorry: RsState | null;
}

export interface ApplyReport {
  servicesAdded: string[];
  servicesRemoved: string[];
  servicesChanged: string[];
  realServersAdded: string[];
  realServersRemoved: string[];
  realServersChanged: string[];
}

/** What status views need of one real server. */
export interface RealServerView {
  service: string;
  address: string;
  port: number;
  index: number | null;
  configuredWeight: number;
  weight: number;
  healthy: boolean;
  forwarding: ForwardingMode;
  neighbour: string;
  resolved: boolean;
  sorry: boolean;
}

const sameJson = (a: unknown, b: unknown): boolean => JSON.stringify(a) === JSON.stringify(b);

/** TableApplier owns the mapping from spec objects to table indices. */
export class TableApplier {
  #tables: Tables;
  #resolver: Resolver;
  #services = new Map<string, SvcState>();
  #freeSvc: number[];
  #freeRs: number[];
  /** real-server indices marked removed, waiting for their last session to go */
  #draining = new Set<number>();
  /** service indices whose service is gone, waiting for their real servers to drain */
  #drainingSvc = new Map<number, Set<number>>();
  /** LIP table positions; null = a hole left by a removed LIP (positions never shift) */
  #lips: (LipEntry | null)[] = [];

  constructor(tables: Tables, resolver: Resolver) {
    this.#tables = tables;
    this.#resolver = resolver;
    const caps = tables.layout.caps;
    this.#freeSvc = Array.from({ length: caps.services }, (_, i) => caps.services - 1 - i);
    this.#freeRs = Array.from({ length: caps.realServers }, (_, i) => caps.realServers - 1 - i);
  }

  /** apply makes the tables match `spec` and reports what changed. Throws on exhausted capacity. */
  apply(spec: DirectorSpec): ApplyReport {
    const report: ApplyReport = {
      servicesAdded: [], servicesRemoved: [], servicesChanged: [], realServersAdded: [], realServersRemoved: [],
      realServersChanged: [],
    };
    const wanted = new Map(spec.services.map((s) => [serviceKey(s), s]));
    for (const [key, st] of this.#services) {
      if (wanted.has(key)) continue;
      this.#removeService(st);
      this.#services.delete(key);
      report.servicesRemoved.push(st.spec.name);
    }
    for (const [key, s] of wanted) {
      let st = this.#services.get(key);
      if (!st) {
        const index = this.#freeSvc.pop();
        if (index === undefined) throw new WlvsError('WLVS_ERR_CAPACITY', `no free service slot for ${s.name}`);
        st = { spec: s, index, rs: new Map(), sorry: null };
        this.#services.set(key, st);
        report.servicesAdded.push(s.name);
      } else if (!sameJson({ ...st.spec, realServers: [] }, { ...s, realServers: [] })) {
        report.servicesChanged.push(s.name);
      }
      st.spec = s;
      this.#applyRealServers(st, report);
    }
    this.#writeAll(spec);
    return report;
  }

  #applyRealServers(st: SvcState, report: ApplyReport): void {
    const s = st.spec;
    const wanted = new Map(s.realServers.map((r) => [realServerKey(r), r]));
    for (const [key, rs] of st.rs) {
      if (wanted.has(key)) continue;
      this.#retire(rs);
      st.rs.delete(key);
      report.realServersRemoved.push(`${s.name}/${key}`);
    }
    for (const [key, r] of wanted) {
      const cur = st.rs.get(key);
      if (!cur) {
        const rs = this.#newRs(r, false);
        st.rs.set(key, rs);
        report.realServersAdded.push(`${s.name}/${key}`);
      } else if (!sameJson(cur.spec, r)) {
        cur.spec = r;
        report.realServersChanged.push(`${s.name}/${key}`);
      }
    }
    const sorryKey = s.sorry ? realServerKey(s.sorry) : null;
    if (st.sorry && (!sorryKey || realServerKey(st.sorry.spec) !== sorryKey)) {
      this.#retire(st.sorry);
      st.sorry = null;
    }
    if (s.sorry && !st.sorry) {
      st.sorry = this.#newRs({ address: s.sorry.address, port: s.sorry.port, weight: 1, forwarding: null,
        upperThreshold: 0, health: null }, true);
    }
  }

  #newRs(spec: RealServerSpec, sorry: boolean): RsState {
    const hop = this.#resolver.route(spec.address);
    if (!hop) throw new WlvsError('WLVS_ERR_CONFIG_INVALID', `no device or route reaches real server ${spec.address}`);
    return { spec, index: null, healthy: true, hop, sorry };
  }

  /** retire takes a real server out of the tables; its index drains before it is reused */
  #retire(rs: RsState): void {
    if (rs.index === null) return;
    this.#tables.markRemoved(rs.index);
    this.#draining.add(rs.index);
    rs.index = null;
  }

  #removeService(st: SvcState): void {
    const indices = new Set<number>();
    for (const rs of st.rs.values()) {
      if (rs.index !== null) indices.add(rs.index);
      this.#retire(rs);
    }
    if (st.sorry) {
      if (st.sorry.index !== null) indices.add(st.sorry.index);
      this.#retire(st.sorry);
    }
    this.#tables.removeService(st.index);
    this.#drainingSvc.set(st.index, indices);
  }

  #effectiveWeight(st: SvcState, rs: RsState): number {
    if (!rs.healthy && st.spec.onFailure === 'quiesce') return 0;
    return rs.spec.weight;
  }

  /** #writeAll rewrites every service, real server, list and pool from the current state. */
  #writeAll(spec: DirectorSpec): void {
    const dests = new Map<number, number[]>();
    const pools = new Map<number, number[]>();
    const lipIndex = this.#layoutLips(spec);
    for (const st of this.#services.values()) {
      const list: number[] = [];
      for (const rs of st.rs.values()) {
        const out = !rs.healthy && st.spec.onFailure === 'remove';
        if (out) {
          this.#retire(rs);
          continue;
        }
        this.#writeRs(st, rs);
        list.push(rs.index!);
      }
      if (st.sorry) this.#writeRs(st, st.sorry);
      this.#tables.setService(st.index, {
        vip: st.spec.vip, port: st.spec.port, protocol: st.spec.protocol, scheduler: st.spec.scheduler,
        forwarding: st.spec.forwarding, persistence: st.spec.persistence, persistencePrefix: st.spec.persistencePrefix,
        hashPort: st.spec.hashPort, fallback: st.spec.fallback, midFlow: st.spec.acceptMidFlow,
        sorry: st.sorry?.index ?? null,
        tunnelSource: st.spec.tunnelSource, proxyProtocol: st.spec.proxyProtocol, toa: st.spec.toa,
        synProxy: st.spec.synProxy,
      });
      dests.set(st.index, list);
      // a service's tuples come from the pool's LIPs of its servers' family (NAT64: IPv4 ones)
      if (usesFullnat(st.spec)) {
        const family = serverFamily(st.spec);
        pools.set(st.index, spec.fullnat.localAddresses.filter((l) => familyOf(l.address) === family)
          .map((l) => lipIndex.get(lipKey(l))!));
      }
    }
    this.#tables.rebuildServiceIndex();
    this.#tables.setPools(pools);
    this.#tables.setDestinations(dests);
    const local: { address: string; kind: 'vip' | 'dip' | 'lip' }[] = [];
    for (const d of spec.devices) for (const a of d.addresses) local.push({ address: a.split('/')[0], kind: 'dip' });
    // addresses that move with the master role are the director's own while it holds them
    for (const v of spec.ha?.virtualAddresses ?? []) local.push({ address: v.address.split('/')[0], kind: 'dip' });
    for (const a of this.#resolver.linkLocal?.() ?? []) local.push({ address: a, kind: 'dip' });
    for (const st of this.#services.values()) local.push({ address: st.spec.vip, kind: 'vip' });
    for (const l of this.#lips) if (l) local.push({ address: l.address, kind: 'lip' });
    this.#tables.setLocalAddresses(local);
    this.#tables.setTimeouts(spec.timeouts);
    this.#tables.setFragmentTimeouts(spec.fragments.timeout, spec.fragments.wait);
    this.#tables.setQuarantine(spec.fullnat.quarantine);
    // events feed session sync only: without a peer the core writes none
    let opts = spec.ha?.syncSessions || spec.cluster?.sync ? abi.OPT_EVENTS : 0;
    if (spec.unknownPackets === 'host') opts |= abi.OPT_UNKNOWN_HOST;
    if (spec.unknownPackets === 'pass') opts |= abi.OPT_UNKNOWN_PASS;
    if (spec.sloppyTcp) opts |= abi.OPT_SLOPPY_TCP;
    this.#tables.setOptions(opts);
  }

  #writeRs(st: SvcState, rs: RsState): void {
    if (rs.index === null) {
      const index = this.#freeRs.pop();
      if (index === undefined) throw new WlvsError('WLVS_ERR_CAPACITY', `no free real-server slot for ${rs.spec.address}`);
      rs.index = index;
    }
    const entry: RealServerEntry = {
      service: st.index, address: rs.spec.address, port: rs.spec.port,
      weight: rs.sorry ? 1 : this.#effectiveWeight(st, rs), forwarding: rs.spec.forwarding, device: rs.hop.device,
      mac: rs.hop.mac, upperThreshold: rs.spec.upperThreshold, tunnelSource: null,
    };
    this.#tables.setRealServer(rs.index, entry);
    if (!rs.hop.mac) this.#tables.setNextHop(rs.index, null);
  }

  /** the LIP table: one entry per distinct (address, range); kept stable so ports survive reloads */
  #layoutLips(spec: DirectorSpec): Map<string, number> {
    const wanted = new Map<string, LipSpec>();
    for (const l of spec.fullnat.localAddresses) wanted.set(lipKey(l), l);
    // a cluster's other members' local addresses: never allocated from (no pool lists them), but
    // in the table so their synced sessions import and the servers' replies to them are ours
    const have = new Set([...wanted.values()].map((l) => l.address));
    for (const mem of spec.cluster?.members ?? []) {
      for (const address of mem.localAddresses) {
        const l = { address, portMin: 1024, portMax: 65535 };
        if (!have.has(address)) wanted.set(lipKey(l), l);
      }
    }
    // keep existing positions, fill holes with new ones once no tuple names the hole's index
    const next: (LipEntry | null)[] = this.#lips.map((l) => (l && wanted.has(lipKey(l)) ? l : null));
    for (const [key, l] of wanted) {
      if (next.some((e) => e && lipKey(e) === key)) continue;
      const hole = next.findIndex((e, i) => e === null && this.#tables.lipUsage(i).used === 0);
      const e = { address: l.address, portMin: l.portMin, portMax: l.portMax };
      if (hole >= 0) next[hole] = e;
      else next.push(e);
    }
    while (next.length && next[next.length - 1] === null) next.pop();
    if (next.length > this.#tables.layout.caps.lips) {
      throw new WlvsError('WLVS_ERR_CAPACITY', `${next.length} local addresses, capacity ${this.#tables.layout.caps.lips}`);
    }
    this.#lips = next;
    // a hole gets an empty range so nothing allocates from it
    this.#tables.setLips(next.map((e) => e ?? { address: '0.0.0.0', portMin: 1, portMax: 0 }));
    const index = new Map<string, number>();
    next.forEach((e, i) => { if (e) index.set(lipKey(e), i); });
    return index;
  }

  /** setHealth records a health verdict and rewrites the tables; returns false for unknown targets. */
  setHealth(service: string, rsKey: string, healthy: boolean, spec: DirectorSpec): boolean {
    for (const st of this.#services.values()) {
      if (st.spec.name !== service) continue;
      const rs = st.rs.get(rsKey);
      if (!rs) return false;
      if (rs.healthy === healthy) return true;
      rs.healthy = healthy;
      this.#writeAll(spec);
      return true;
    }
    return false;
  }

  /** onNeighbour updates every real server whose next hop just resolved or changed. */
  onNeighbour(device: number, address: string, mac: string): void {
    for (const st of this.#services.values()) {
      for (const rs of [...st.rs.values(), ...(st.sorry ? [st.sorry] : [])]) {
        if (rs.hop.device !== device || rs.hop.neighbour !== address) continue;
        rs.hop = { ...rs.hop, mac };
        if (rs.index !== null) this.#tables.setNextHop(rs.index, mac);
      }
    }
    // rebuild so schedulers see the newly ready servers
    for (const st of this.#services.values()) this.#tables.rebuildService(st.index);
  }

  /** neighbours lists the next hops that need resolving (L2 devices only have mac === null). */
  neighbours(): { device: number; address: string }[] {
    const out = new Map<string, { device: number; address: string }>();
    for (const st of this.#services.values()) {
      for (const rs of [...st.rs.values(), ...(st.sorry ? [st.sorry] : [])]) {
        out.set(`${rs.hop.device}/${rs.hop.neighbour}`, { device: rs.hop.device, address: rs.hop.neighbour });
      }
    }
    return [...out.values()];
  }

  /** reap frees real-server and service indices nothing refers to any more; returns how many. */
  reap(): number {
    let n = 0;
    for (const i of this.#draining) {
      if (!this.#tables.rsIdle(i)) continue;
      this.#tables.freeRealServer(i);
      this.#draining.delete(i);
      this.#freeRs.push(i);
      n++;
    }
    for (const [svc, rsSet] of this.#drainingSvc) {
      if ([...rsSet].some((i) => this.#draining.has(i))) continue;
      this.#drainingSvc.delete(svc);
      this.#freeSvc.push(svc);
      n++;
    }
    return n;
  }

  get drainingCount(): number {
    return this.#draining.size;
  }

  /** lips lists the LIP table's live entries with their index (holes left out). */
  lips(): { index: number; address: string; portMin: number; portMax: number }[] {
    return this.#lips.flatMap((l, index) => (l ? [{ index, ...l }] : []));
  }

  /**
   * syncIndices finds this director's table indices for a session another director describes
   * by its service (VIP, port, protocol), real server and LIP; null when there is no such one.
   */
  syncIndices(vip: string, vport: number, protocol: number, rip: string, rport: number, lip: string | null):
    { service: number; realServer: number; lip: number } | null {
    const proto = protocol === abi.IPPROTO_TCP ? 'tcp' : protocol === abi.IPPROTO_UDP ? 'udp' : null;
    if (!proto) return null;
    // a port-0 service covers every port, as in the data path
    const st = this.#services.get(serviceKey({ vip, port: vport,
      protocol: proto })) ?? this.#services.get(serviceKey({ vip, port: 0, protocol: proto }));
    if (!st) return null;
    // a real server configured without a port (0) takes the VIP's
    const matches = (r: RsState) => r.spec.address === rip && (r.spec.port || vport) === rport;
    let rs = st.rs.get(realServerKey({ address: rip, port: rport }));
    if (!rs && rport === vport) rs = st.rs.get(realServerKey({ address: rip, port: 0 }));
    if (!rs && st.sorry && matches(st.sorry)) rs = st.sorry;
    if (!rs || rs.index === null) return null;
    const lipIndex = lip ? this.#lips.findIndex((l) => l?.address === lip) : 0;
    if (lipIndex < 0) return null;
    return { service: st.index, realServer: rs.index, lip: lipIndex };
  }

  /** serviceIndex maps a service name to its table index (null if unknown). */
  serviceIndex(name: string): number | null {
    for (const st of this.#services.values()) if (st.spec.name === name) return st.index;
    return null;
  }

  /** view lists every real server with its live state, for status and metrics. */
  view(): { service: ServiceSpec; index: number; realServers: RealServerView[] }[] {
    return [...this.#services.values()].map((st) => ({
      service: st.spec,
      index: st.index,
      realServers: [...st.rs.values(), ...(st.sorry ? [st.sorry] : [])].map((rs) => ({
        service: st.spec.name, address: rs.spec.address, port: rs.spec.port, index: rs.index,
        configuredWeight: rs.spec.weight, weight: rs.index === null ? 0 : this.#tables.weight(rs.index),
        healthy: rs.healthy, forwarding: rs.spec.forwarding ?? st.spec.forwarding, neighbour: rs.hop.neighbour,
        resolved: rs.hop.mac !== null, sorry: rs.sorry,
      })),
    }));
  }
}

function lipKey(l: { address: string; portMin: number; portMax: number }): string {
  return `${l.address}:${l.portMin}-${l.portMax}`;
}
