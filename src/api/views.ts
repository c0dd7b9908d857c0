// views.ts — what the admin API and the CLI show: service and real-server tables with counters
// and rates (ipvsadm -Ln --stats / --rate), sessions (ipvsadm -Lnc), and director totals.
import type { ControlPlane, SessionQuery } from '../director/control-plane.js';
import { realServerKey } from '../model/spec.js';
import { type CounterSet, type Rates, ZERO_RATES, numbers as num, ratesBetween } from './history.js';

export type { Rates };

export interface RealServerStatus {
  address: string; port: number; forwarding: string; weight: number; configured_weight: number;
  health: string; resolved: boolean; sorry: boolean;
  active: number; inactive: number; persistent: number;
  stats: CounterSet; rates: Rates;
}

export interface ServiceStatus {
  name: string; protocol: string; vip: string; port: number; scheduler: string; forwarding: string;
  persistence: number; persistence_netmask: number; stats: CounterSet; rates: Rates;
  real_servers: RealServerStatus[];
}

/** RateSampler keeps the counters of the previous sample to turn totals into per-second rates. */
export class RateSampler {
  #prev = new Map<string, { t: number; c: CounterSet }>();
  #rates = new Map<string, Rates>();

  sample(key: string, c: CounterSet, now: number): void {
    const p = this.#prev.get(key);
    if (p && now > p.t) this.#rates.set(key, ratesBetween(p.c, c, (now - p.t) / 1000));
    this.#prev.set(key, { t: now, c });
  }

  rates(key: string): Rates {
    return this.#rates.get(key) ?? ZERO_RATES;
  }
}

/** where the views read rates from: a RateSampler, or the dashboard's History */
export interface RateSource { rates(key: string): Rates }

export function services(cp: ControlPlane, sampler: RateSource): ServiceStatus[] {
  return cp.services().map(({ spec: s, counters, realServers }) => {
    const key = s.name;
    return {
      name: s.name, protocol: s.protocol, vip: s.vip, port: s.port, scheduler: s.scheduler, forwarding: s.forwarding,
      persistence: s.persistence, persistence_netmask: s.persistencePrefix, stats: num(counters),
      rates: sampler.rates(key),
      real_servers: realServers.map((r) => {
        const rkey = `${key}/${realServerKey(r)}`;
        return {
          address: r.address, port: r.port, forwarding: r.forwarding, weight: r.weight,
          configured_weight: r.configuredWeight,
          health: r.sorry ? 'sorry' : r.health, resolved: r.resolved, sorry: r.sorry,
          active: r.connections.active, inactive: r.connections.inactive, persistent: r.connections.persistent,
          stats: r.counters === null ? { conns: 0, inpkts: 0, outpkts: 0, inbytes: 0, outbytes: 0 } : num(r.counters),
          rates: sampler.rates(rkey),
        };
      }),
    };
  });
}

/** sampleRates records the current counters of every service and real server */
export function sampleRates(cp: ControlPlane, sampler: RateSampler): void {
  const now = performance.now();
  for (const { spec: s, counters, realServers } of cp.services()) {
    sampler.sample(s.name, num(counters), now);
    for (const r of realServers) {
      if (r.counters !== null) sampler.sample(`${s.name}/${realServerKey(r)}`, num(r.counters), now);
    }
  }
}

export function totals(cp: ControlPlane): Record<string, unknown> {
  const t = cp.totals();
  const drops: Record<string, number> = {};
  for (const [k, v] of Object.entries(t.drops)) if (v > 0n) drops[k] = Number(v);
  return {
    uptime_s: Math.round(cp.uptimeSeconds()),
    devices: cp.devices(),
    sessions: cp.sessionTable(),
    ha: cp.ha()?.view ?? null,
    syn_flood: cp.synFlood(),
    cluster: cp.cluster()?.view ?? null,
    packets: {
      received: Number(t.received), forwarded: Number(t.forwarded), host: Number(t.host), dropped: Number(t.dropped),
      icmp_relayed: Number(t.icmpRelayed), frag_needed_sent: Number(t.fragNeededSent),
    },
    connections: { created: Number(t.connectionsCreated), expired: Number(t.connectionsExpired) },
    table_lock: { waits: Number(t.tableLock.waits), sleeps: Number(t.tableLock.sleeps) },
    fragments: cp.fragments(),
    drops,
    port: cp.portStats(),
    batches: cp.batchStats(),
    workers: (cp.workerStats?.() ?? [{ port: cp.portStats(), batch: cp.batchStats() }])
      .map((w) => ({ rx_frames: w.port.rxFrames, tx_frames: w.port.txFrames, batches: w.batch.batches })),
    io_engine: cp.ioEngine?.() ?? 'epoll',
    host_stack: cp.hostStackStats(),
    runtime_edits: cp.runtimeEdits(),
  };
}

export function sessions(cp: ControlPlane, filter: SessionQuery, cursor: number, limit: number) {
  const page = cp.sessions(filter, cursor, limit);
  return {
    items: page.items.map((s) => ({
      protocol: s.protocol, state: s.state, template: s.template,
      client: s.client, client_port: s.clientPort, vip: s.vip, vport: s.vport, rip: s.rip, rport: s.rport,
      lip: s.lip, lport: s.lport, service: s.service,
      expires_in_s: Math.max(0, Math.round(s.expiresInMs / 1000)),
    })),
    next: page.next,
  };
}
