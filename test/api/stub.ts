// stub.ts — a ControlPlane with fixed, known figures and a record of every change asked of it:
// the admin API and the metrics tested alone, without a director.
import { parseConfig } from '../../src/config/load.js';
import type {
  ApplyReport, ControlPlane, Counters, RuntimeEdit, ServiceState, SessionQuery, SessionRow, VrrpStats,
} from '../../src/director/control-plane.js';
import { DROP_REASONS } from '../../src/ha/vrrp.js';

export const counters = (conns: number): Counters => ({
  conns: BigInt(conns), inPackets: BigInt(conns * 10), outPackets: BigInt(conns * 8), inBytes: BigInt(conns * 1000),
  outBytes: BigInt(conns * 800),
});

export const SPEC = parseConfig(`
director:
  devices: [{ name: ext0, kind: tap, addresses: [10.0.1.1/24] }]
services:
  - name: web
    vip: 10.0.1.100
    port: 80
    scheduler: wrr
    forwarding: nat
    persistence: 60
    persistence_netmask: 255.255.255.0
    sorry_server: { address: 10.0.2.15, port: 8080 }
    real_servers:
      - { address: 10.0.2.11, port: 8080, weight: 2 }
      - { address: 10.0.2.12, port: 8080, weight: 1 }
`, 'stub.yaml');

export const REPORT: ApplyReport = {
  servicesAdded: [], servicesRemoved: [], servicesChanged: [], realServersAdded: ['web/10.0.2.13:8080'],
  realServersRemoved: [], realServersChanged: [],
};

export const SESSION: SessionRow = {
  protocol: 'tcp', state: 'ESTABLISHED', template: false, client: '10.0.1.10', clientPort: 40000, vip: '10.0.1.100',
  vport: 80, rip: '10.0.2.11', rport: 8080, lip: null, lport: null, service: 'web', expiresInMs: 899_600,
};

export interface Stub {
  cp: ControlPlane;
  edits: { change: RuntimeEdit; reason: string }[];
  queries: { q: SessionQuery; cursor: number; limit: number }[];
  reloads: string[];
  swaps: string[];
  /** the services the control plane reports: tests change their counters to move the figures */
  services: ServiceState[];
  /** drain-director deadlines asked (undefined: the configured one), and resumes */
  drains: (number | undefined)[];
  resumes: number;
  /** make the next change (reload, edit, hot-swap) throw this */
  failNext(err: unknown): void;
}

export function stub(): Stub {
  const s: Stub = {
    edits: [], queries: [], reloads: [], swaps: [], drains: [], resumes: 0, failNext: (e) => { failure = e; },
      cp: undefined as never,
    services: [],
  };
  let failure: unknown = null;
  const change = <T>(v: T): T => {
    if (failure !== null) {
      const e = failure;
      failure = null;
      throw e;
    }
    return v;
  };
  const services: ServiceState[] = [{
    spec: SPEC.services[0],
    counters: counters(7),
    realServers: [
      {
        address: '10.0.2.11', port: 8080, forwarding: 'nat', weight: 2, configuredWeight: 2, health: 'up', resolved: true,
        sorry: false, counters: counters(5), connections: { active: 2, inactive: 3, persistent: 1 }, lastChange: null,
      },
      {
        address: '10.0.2.12', port: 8080, forwarding: 'nat', weight: 0, configuredWeight: 1, health: 'down', resolved: false,
        sorry: false, counters: counters(2), connections: { active: 0, inactive: 1, persistent: 0 },
        lastChange: { at: Date.UTC(2026, 11, 1, 12, 0, 0), to: 'down', reason: 'connect ECONNREFUSED 10.0.2.12:8080' },
      },
      // taken out on failure (on_failure: remove): no table slot, no counters
      {
        address: '10.0.2.14', port: 8080, forwarding: 'nat', weight: 0, configuredWeight: 1, health: 'down', resolved: true,
        sorry: false, counters: null, connections: { active: 0, inactive: 0, persistent: 0 },
        lastChange: { at: Date.UTC(2026, 11, 1, 12, 0, 5), to: 'down', reason: 'timeout' },
      },
      {
        address: '10.0.2.15', port: 8080, forwarding: 'nat', weight: 1, configuredWeight: 1, health: 'unchecked', resolved: true,
        sorry: true, counters: counters(1), connections: { active: 1, inactive: 0, persistent: 0 }, lastChange: null,
      },
    ],
  }];
  s.services = services;
  s.cp = {
    services: () => s.services,
    totals: () => ({
      received: 100n, forwarded: 90n, host: 4n, dropped: 6n, icmpRelayed: 1n, fragNeededSent: 0n,
      connectionsCreated: 7n, connectionsExpired: 3n, tableLock: { waits: 5n, sleeps: 1n },
      drops: { malformed: 2n, no_service: 4n, table_full: 0n },
    }),
    sessions: (q, cursor, limit) => {
      s.queries.push({ q, cursor, limit });
      return { items: [SESSION, { ...SESSION, clientPort: 40001, expiresInMs: -500, state: 'TIME_WAIT' }], next: 17 };
    },
    sessionTable: () => ({ count: 3, capacity: 1024 }),
    fragments: () => ({
      cache_entries: 2, cache_capacity: 4096, cache_timeout_s: 2, waiting: 1, buffer_capacity: 64,
      first: 5, forwarded: 9, held: 2, released: 1, timed_out: 1, buffer_full: 0,
    }),
    fullnat: () => ({
      reused: 5n, quarantined: 2n, probeBusy: 1n, proxySent: 4n, toaAdded: 3n, toaNoRoom: 0n,
      lips: [{ address: '10.0.2.201', held: 6, ports: 64512 }],
    }),
    devices: () => [{ name: 'ext0', kind: 'tap', mac: '02:00:00:00:d0:00', address: '10.0.1.1', address6: null, vnet: false }],
    portStats: () => ({
      wakeups: 9, batches: 10, rxFrames: 100, txFrames: 90, txDrops: 1, rxErrors: 0, txErrors: 0, badDescriptors: 0,
      maxBatch: 32, hostSent: 4, busyPollBatches: 5, syscalls: 30,
    }),
    batchStats: () => ({
      batches: 10, frames: 100, hostFrames: 4, sizeBuckets: [2, 0, 0, 3, 5, 0, 0, 0, 0, 0, 0, 0, 0, 0],
      timeBuckets: [0, 0, 4, 6, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0], processNs: 2_000_000, maxProcessNs: 300_000, emitted: 0,
    }),
    hostStackStats: () => ({
      arpAnswered: 1, arpLearned: 2, ndAnswered: 0, ndLearned: 0, echoAnswered: 3, fragmentsReassembled: 0, vrrp: 0,
      unhandled: 0,
    }),
    ha: () => ({
      master: true,
      stats: {
        advertsSent: 1, advertsReceived: 2, sessionsSent: 11, sessionsReceived: 12, sessionsImported: 13,
        sessionsRefused: 14, sessionsUnrestorable: 0, datagramsRejected: 3, sendErrors: 0, bulkSyncsSent: 0,
        syncRequestsSent: 0,
        syncDropped: { foreign: 1, malformed: 0, unauthenticated: 2, replayed: 0, stale: 0 },
      },
      vrrp: {
        sent: 21, received: 22, unsent: 0,
        dropped: Object.fromEntries(DROP_REASONS.map((r) => [r, r === 'ttl' ? 4 : 0])) as VrrpStats['dropped'],
      },
      view: { state: 'master', priority: 150 },
    }),
    synFlood: () => ({
      embryonic: { count: 3, max: 256 }, syns: 40, cookies: { sent: 30, valid: 9, invalid: 2 }, evicted: 5, emitFull: 0,
      cookiePeriod: 77, cookieKeys: 'local', services: [{ service: 'web', mode: 'auto', state: 'auto-on', reason: 'rate', synRate: 4100 }],
    }),
    cluster: () => ({
      state: 'active', neighbors: [{ address: '10.99.2.254', up: true }, { address: '10.99.2.253', up: false }],
      announced: [{ prefix: '10.99.100.1', kind: 'vip' }, { prefix: '10.99.3.1', kind: 'lip' }, { prefix: '10.99.3.2', kind: 'backup' }],
      stalls: 2, birdRestarts: 1, view: { member: 'd1', state: 'active' },
      members: [{ name: 'd2', up: true, sent: 5, received: 6, imported: 4, refused: 2 }, { name: 'd3', up: false, sent: 0, received: 0, imported: 0, refused: 0 }],
      syncDropped: { foreign: 0, malformed: 0, unauthenticated: 3, replayed: 1, stale: 0 },
    }),
    drainDirector: (deadline) => {
      s.drains.push(deadline);
      return change({ member: 'd1', state: 'draining' });
    },
    resumeDirector: () => {
      s.resumes++;
      return change({ member: 'd1', state: 'active' });
    },
    uptimeSeconds: () => 12.4,
    runtimeEdits: () => 2,
    configObject: () => ({ director: { sessions: 1024 }, services: [] }),
    configYaml: () => 'director:\n  sessions: 1024\n',
    reload: async (reason) => {
      s.reloads.push(reason);
      return change(REPORT);
    },
    edit: async (c, reason) => {
      s.edits.push({ change: c, reason });
      return change(REPORT);
    },
    hotSwap: (path) => {
      s.swaps.push(path);
      return change({ sessionsBefore: 3, sessions: 3 });
    },
  };
  return s;
}
