// control.ts — the ControlPlane (control-plane.ts) of a supervised director: reads the tables
// and counters through the director and the supervisor's health verdicts, and sends changes
// through the supervisor (reload, runtime edits) or the director (hot-swap). The only file that
// knows both the control plane's shapes and the director's internals.
import * as abi from '../dataplane/abi.js';
import { configObject, toYaml } from '../config/to-yaml.js';
import { splitHostPort } from '../model/address.js';
import { type DirectorSpec, realServerKey } from '../model/spec.js';
import type { ControlPlane, RealServerState, RuntimeEdit, SessionRow } from './control-plane.js';
import {
  addRealServer, addService, deleteRealServer, deleteService, drainRealServer, editRealServer, editService,
} from './edits.js';
import type { Supervisor } from './supervisor.js';
import { WlvsError } from '../errors.js';

const NO_CONNECTIONS = { active: 0, inactive: 0, persistent: 0 };

function applyEdit(spec: DirectorSpec, e: RuntimeEdit): DirectorSpec {
  switch (e.op) {
    case 'add-service': return addService(spec, e.service);
    case 'edit-service': return editService(spec, e.name, e.patch);
    case 'delete-service': return deleteService(spec, e.name);
    case 'add-real-server': return addRealServer(spec, e.service, e.realServer);
    case 'edit-real-server': return editRealServer(spec, e.service, e.key, e.patch);
    case 'delete-real-server': return deleteRealServer(spec, e.service, e.key);
    case 'drain-real-server': return drainRealServer(spec, e.service, e.key);
  }
}

function protocolName(p: number): string {
  return p === abi.IPPROTO_TCP ? 'tcp' : p === abi.IPPROTO_UDP ? 'udp' : String(p);
}

function stateName(proto: number, state: number, template: boolean): string {
  if (template) return 'NONE';
  return proto === abi.IPPROTO_TCP ? abi.TCP_STATE_NAMES[state] ?? String(state) : 'UDP';
}

/** controlPlane exposes a supervisor and its director as a ControlPlane. */
export function controlPlane(sup: Supervisor): ControlPlane {
  const dir = () => sup.director;
  const member = () => {
    const c = dir().cluster;
    if (!c) throw new WlvsError('WLVS_ERR_NOT_FOUND', 'this director is not a cluster member (no director.cluster)');
    return c;
  };
  return {
    services() {
      const t = dir().tables;
      return dir().applier.view().map(({ service, index, realServers }) => ({
        spec: service,
        counters: t.serviceCounters(index),
        realServers: realServers.map((r): RealServerState => {
          const h = sup.health.status(`${service.name}/${realServerKey(r)}`);
          return {
            address: r.address, port: r.port, forwarding: r.forwarding, weight: r.weight,
            configuredWeight: r.configuredWeight, health: h?.state ?? 'unchecked',
            resolved: r.resolved, sorry: r.sorry,
            counters: r.index === null ? null : t.rsCounters(r.index),
            connections: r.index === null ? NO_CONNECTIONS : t.rsConnections(r.index),
            lastChange: h?.changedAt ? { at: h.changedAt, to: h.state, reason: h.reason ?? '' } : null,
          };
        }),
      }));
    },

    totals() {
      const t = dir().tables;
      return {
        received: t.stat(abi.STAT_RX_PACKETS), forwarded: t.stat(abi.STAT_FORWARDED), host: t.stat(abi.STAT_HOST),
        dropped: t.stat(abi.STAT_DROPPED), icmpRelayed: t.stat(abi.STAT_ICMP_RELAYED),
        fragNeededSent: t.stat(abi.STAT_FRAG_NEEDED_SENT), connectionsCreated: t.stat(abi.STAT_CONN_CREATED),
        connectionsExpired: t.stat(abi.STAT_CONN_EXPIRED), drops: t.drops(),
        tableLock: { waits: t.stat(abi.STAT_LOCK_WAITS), sleeps: t.stat(abi.STAT_LOCK_SLEEPS) },
      };
    },

    sessions(q, cursor, limit) {
      const d = dir();
      const names = new Map(d.applier.view().map((v) => [v.index, v.service.name]));
      const svcIndex = q.service !== undefined ? d.applier.serviceIndex(q.service) : null;
      // a server as users write it: 10.0.0.1, 10.0.0.1:80, 2001:db8::1, [2001:db8::1]:80
      const want = q.realServer ? splitHostPort(q.realServer) : null;
      const client = q.client ? splitHostPort(q.client)?.address ?? q.client : undefined;
      const page = d.tables.sessions(d.now(), cursor, limit, (s) => {
        if (q.service !== undefined && s.service !== svcIndex) return false;
        if (q.realServer && (!want || s.rip !== want.address)) return false;
        if (want && want.port !== null && s.rport !== want.port) return false;
        if (client && s.client !== client) return false;
        if (q.protocol && (s.protocol === abi.IPPROTO_TCP ? 'tcp' : 'udp') !== q.protocol) return false;
        if (q.state && stateName(s.protocol, s.state, s.template) !== q.state.toUpperCase()) return false;
        return true;
      });
      return {
        items: page.items.map((s): SessionRow => ({
          protocol: protocolName(s.protocol), state: stateName(s.protocol, s.state, s.template), template: s.template,
          client: s.client, clientPort: s.clientPort, vip: s.vip, vport: s.vport, rip: s.rip, rport: s.rport,
          lip: s.lip, lport: s.lip ? s.lport : null, service: names.get(s.service) ?? null, expiresInMs: s.expiresIn,
        })),
        next: page.next,
      };
    },

    eventsLost: () => Number(dir().tables.stat(abi.STAT_EVENTS_LOST)),
    connectionLog() {
      const l = dir().connectionLog;
      return l ? { ...l.stats } : null;
    },
    sessionTable: () => ({ count: dir().tables.sessionCount(), capacity: dir().layout.connCap }),
    fragments() {
      const t = dir().tables;
      const st = t.fragmentState(dir().now());
      return {
        cache_entries: st.decisions, cache_capacity: st.capacity,
        cache_timeout_s: t.header(abi.HDR_FRAG_TIMEOUT) / 1000,
        waiting: st.waiting, buffer_capacity: st.holdCapacity,
        first: Number(t.stat(abi.STAT_FRAG_FIRST)), forwarded: Number(t.stat(abi.STAT_FRAG_HITS)),
        held: Number(t.stat(abi.STAT_FRAG_HELD)), released: Number(t.stat(abi.STAT_FRAG_RELEASED)),
        timed_out: Number(t.stat(abi.STAT_DROP_BASE + abi.DROP_FRAG_TIMEOUT)),
        buffer_full: Number(t.stat(abi.STAT_DROP_BASE + abi.DROP_FRAG_OVERFLOW)),
      };
    },
    fullnat() {
      const t = dir().tables;
      return {
        reused: t.stat(abi.STAT_FNAT_REUSED), quarantined: t.stat(abi.STAT_FNAT_QUARANTINED),
        probeBusy: t.stat(abi.STAT_FNAT_PROBE_BUSY), proxySent: t.stat(abi.STAT_PROXY_SENT),
        toaAdded: t.stat(abi.STAT_TOA_ADDED), toaNoRoom: t.stat(abi.STAT_TOA_NO_ROOM),
        lips: dir().applier.lips()
          .map((l) => ({ address: l.address, held: t.lipUsage(l.index).used, ports: l.portMax - l.portMin + 1 })),
      };
    },
    devices: () => dir().deviceInfo(),
    portStats: () => dir().portStats(),
    batchStats: () => dir().batchStats(),
    workerStats: () => dir().workerStats(),
    ioEngine: () => dir().ioEngines()[0]?.engine ?? 'epoll',
    hostStackStats: () => dir().hostStack.stats,
    ha() {
      const h = dir().ha;
      return h ? { master: h.master, stats: h.stats, vrrp: h.vrrpStats, view: h.view() } : null;
    },
    synFlood: () => dir().synGuard.view(),
    cluster() {
      const c = dir().cluster;
      if (!c) return null;
      return {
        state: c.state, neighbors: c.speaker.neighbors.map((n) => ({ address: n.address, up: n.up })),
        announced: c.speaker.announced(), stalls: c.speaker.stats.stalls, birdRestarts: c.speaker.stats.birdExits,
        members: (c.sync?.members() ?? []).map((m) => ({ name: m.name, up: m.up, ...m.stats })),
        syncDropped: c.sync ? { ...c.sync.stats.dropped } : null,
        view: c.view(),
      };
    },
    drainDirector: (deadlineS) => member().drain(deadlineS),
    resumeDirector: () => member().resume(),
    uptimeSeconds: () => (Date.now() - dir().startedAt) / 1000,
    runtimeEdits: () => sup.runtimeEdits,
    configObject: () => configObject(dir().spec),
    configYaml: () => toYaml(dir().spec),
    reload: (reason) => sup.reload(reason),
    edit: (change, reason) => sup.edit((spec) => applyEdit(spec, change), reason),
    hotSwap: (path) => dir().hotSwap(path),
  };
}
