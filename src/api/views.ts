// views.ts — what the admin API and the CLI show: service and real-server tables with counters
// and rates (ipvsadm -Ln --stats / --rate), sessions (ipvsadm -Lnc), and director totals.
import * as abi from '../dataplane/abi.js';
import type { Counters } from '../dataplane/tables.js';

import type { Supervisor } from '../director/supervisor.js';

export interface Rates { cps: number; inpps: number; outpps: number; inbps: number; outbps: number }

export interface RealServerStatus {
  address: string; port: number; forwarding: string; weight: number; configured_weight: number;
  health: string; resolved: boolean; sorry: boolean;
  active: number; inactive: number; persistent: number;
  stats: Record<string, number>; rates: Rates;
}

export interface ServiceStatus {
  name: string; protocol: string; vip: string; port: number; scheduler: string; forwarding: string;
  persistence: number; persistence_netmask: number; stats: Record<string, number>; rates: Rates;
  real_servers: RealServerStatus[];
}

const num = (c: Counters): Record<string, number> => ({
  conns: Number(c.conns), inpkts: Number(c.inPackets), outpkts: Number(c.outPackets),
  inbytes: Number(c.inBytes), outbytes: Number(c.outBytes),
});

/** RateSampler keeps the counters of the previous sample to turn totals into per-second rates. */
export class RateSampler {
  #prev = new Map<string, { t: number; c: Record<string, number> }>();
  #rates = new Map<string, Rates>();

  sample(key: string, c: Record<string, number>, now: number): void {
    const p = this.#prev.get(key);
    if (p && now > p.t) {
      const dt = (now - p.t) / 1000;
      this.#rates.set(key, {
        cps: (c.conns - p.c.conns) / dt, inpps: (c.inpkts - p.c.inpkts) / dt, outpps: (c.outpkts - p.c.outpkts) / dt,
        inbps: (c.inbytes - p.c.inbytes) / dt, outbps: (c.outbytes - p.c.outbytes) / dt,
      });
    }
    this.#prev.set(key, { t: now, c });
  }

  rates(key: string): Rates {
    return this.#rates.get(key) ?? { cps: 0, inpps: 0, outpps: 0, inbps: 0, outbps: 0 };
  }
}

export function services(sup: Supervisor, sampler: RateSampler): ServiceStatus[] {
  const dir = sup.director;
  const t = dir.tables;
  return dir.applier.view().map(({ service: s, index, realServers }) => {
    const key = s.name;
    const stats = num(t.serviceCounters(index));
    return {
      name: s.name, protocol: s.protocol, vip: s.vip, port: s.port, scheduler: s.scheduler, forwarding: s.forwarding,
      persistence: s.persistence, persistence_netmask: s.persistencePrefix, stats, rates: sampler.rates(key),
      real_servers: realServers.map((r) => {
        const conns = r.index === null ? { active: 0, inactive: 0, persistent: 0 } : t.rsConnections(r.index);
        const rkey = `${key}/${r.address}:${r.port}`;
        return {
          address: r.address, port: r.port, forwarding: r.forwarding, weight: r.weight, configured_weight: r.configuredWeight,
          health: r.sorry ? 'sorry' : sup.health.state(rkey) ?? 'unchecked', resolved: r.resolved, sorry: r.sorry,
          active: conns.active, inactive: conns.inactive, persistent: conns.persistent,
          stats: r.index === null ? { conns: 0, inpkts: 0, outpkts: 0, inbytes: 0, outbytes: 0 } : num(t.rsCounters(r.index)),
          rates: sampler.rates(rkey),
        };
      }),
    };
  });
}

/** sampleRates records the current counters of every service and real server */
export function sampleRates(sup: Supervisor, sampler: RateSampler): void {
  const now = performance.now();
  const t = sup.director.tables;
  for (const { service: s, index, realServers } of sup.director.applier.view()) {
    sampler.sample(s.name, num(t.serviceCounters(index)), now);
    for (const r of realServers) {
      if (r.index !== null) sampler.sample(`${s.name}/${r.address}:${r.port}`, num(t.rsCounters(r.index)), now);
    }
  }
}

export function totals(sup: Supervisor): Record<string, unknown> {
  const dir = sup.director;
  const t = dir.tables;
  const drops: Record<string, number> = {};
  for (const [k, v] of Object.entries(t.drops())) if (v > 0n) drops[k] = Number(v);
  return {
    uptime_s: Math.round((Date.now() - dir.startedAt) / 1000),
    devices: dir.deviceInfo(),
    sessions: { count: t.sessionCount(), capacity: dir.layout.connCap },
    ha: dir.ha ? dir.ha.view() : null,
    syn_flood: dir.synGuard.view(),
    packets: {
      received: Number(t.stat(abi.STAT_RX_PACKETS)), forwarded: Number(t.stat(abi.STAT_FORWARDED)),
      host: Number(t.stat(abi.STAT_HOST)), dropped: Number(t.stat(abi.STAT_DROPPED)),
      icmp_relayed: Number(t.stat(abi.STAT_ICMP_RELAYED)), frag_needed_sent: Number(t.stat(abi.STAT_FRAG_NEEDED_SENT)),
    },
    connections: { created: Number(t.stat(abi.STAT_CONN_CREATED)), expired: Number(t.stat(abi.STAT_CONN_EXPIRED)) },
    drops,
    port: dir.portStats(),
    batches: dir.loop.stats,
    host_stack: dir.hostStack.stats,
    runtime_edits: sup.runtimeEdits,
  };
}

export interface SessionFilter { service?: string; realServer?: string; client?: string; state?: string; protocol?: string }

export function sessions(sup: Supervisor, filter: SessionFilter, cursor: number, limit: number) {
  const dir = sup.director;
  const names = new Map(dir.applier.view().map((v) => [v.index, v.service.name]));
  const svcIndex = filter.service !== undefined ? dir.applier.serviceIndex(filter.service) : null;
  const now = dir.now();
  const page = dir.tables.sessions(now, cursor, limit, (s) => {
    if (filter.service !== undefined && s.service !== svcIndex) return false;
    if (filter.realServer && `${s.rip}:${s.rport}` !== filter.realServer && s.rip !== filter.realServer) return false;
    if (filter.client && s.client !== filter.client) return false;
    if (filter.protocol && (s.protocol === abi.IPPROTO_TCP ? 'tcp' : 'udp') !== filter.protocol) return false;
    if (filter.state && stateName(s.protocol, s.state, s.template) !== filter.state.toUpperCase()) return false;
    return true;
  });
  return {
    items: page.items.map((s) => ({
      protocol: s.protocol === abi.IPPROTO_TCP ? 'tcp' : s.protocol === abi.IPPROTO_UDP ? 'udp' : String(s.protocol),
      state: stateName(s.protocol, s.state, s.template), template: s.template,
      client: s.client, client_port: s.clientPort, vip: s.vip, vport: s.vport, rip: s.rip, rport: s.rport,
      lip: s.lip, lport: s.lip ? s.lport : null, service: names.get(s.service) ?? null,
      expires_in_s: Math.max(0, Math.round(s.expiresIn / 1000)),
    })),
    next: page.next,
  };
}

function stateName(proto: number, state: number, template: boolean): string {
  if (template) return 'NONE';
  return proto === abi.IPPROTO_TCP ? abi.TCP_STATE_NAMES[state] ?? String(state) : 'UDP';
}
