// metrics.ts — Prometheus metrics (prom-client), read from the data path's counters at scrape
// time: nothing is counted twice and the data path pays nothing for being watched.
import { Counter, Gauge, Registry, type Metric } from 'prom-client';
import type { ControlPlane, Counters, FullnatStatus, RealServerState, WorkerStats } from '../director/control-plane.js';
import { realServerKey } from '../model/spec.js';

const SIZE_BOUNDS = [1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024, 2048, 4096, 8192];
const TIME_BOUNDS_US = [1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024, 2048, 4096, 8192];

/** histogramMetric exposes bucket counts kept elsewhere as a Prometheus histogram. */
function histogramMetric(name: string, help: string, read: () => { buckets: number[]; sum: number; count: number },
  bounds: number[], scale = 1): Metric {
  return {
    name, help, type: 'histogram', aggregator: 'sum',
    get: async () => {
      const r = read();
      let cum = 0;
      const values = bounds.map((b, i) => {
        cum += r.buckets[i] ?? 0;
        return { labels: { le: b * scale }, value: cum, metricName: `${name}_bucket` };
      });
      values.push({ labels: { le: '+Inf' as unknown as number }, value: r.count, metricName: `${name}_bucket` });
      return {
        name, help, type: 'histogram', aggregator: 'sum',
        values: [...values, { labels: {}, value: r.sum, metricName: `${name}_sum` }, { labels: {}, value: r.count, metricName: `${name}_count` }],
      };
    },
    reset: () => undefined,
  } as unknown as Metric;
}

/** createMetrics registers every wlvs metric on a fresh registry. */
export function createMetrics(cp: ControlPlane): Registry {
  const reg = new Registry();
  const perService = (name: string, help: string, pick: (c: Counters) => Array<[Record<string, string>, bigint]>) =>
    new Counter({
      name, help, labelNames: ['service', 'direction'], registers: [reg],
      collect() {
        this.reset();
        for (const v of cp.services()) {
          for (const [labels, value] of pick(v.counters)) this.inc({ service: v.spec.name, ...labels }, Number(value));
        }
      },
    });
  perService('wlvs_service_connections_total', 'connections scheduled by the service', (c) => [[{}, c.conns]]);
  perService('wlvs_service_packets_total', 'packets through the service', (c) => [[{ direction: 'in' }, c.inPackets], [{ direction: 'out' }, c.outPackets]]);
  perService('wlvs_service_bytes_total', 'IP bytes through the service', (c) => [[{ direction: 'in' }, c.inBytes], [{ direction: 'out' }, c.outBytes]]);

  const rsLabels = ['service', 'real_server'];
  /** every real server that holds a table slot, with its labels */
  const eachRs = (fn: (labels: Record<string, string>, r: RealServerState & { counters: Counters }) => void) => {
    for (const v of cp.services()) {
      for (const r of v.realServers) {
        if (r.counters === null) continue;
        fn({ service: v.spec.name, real_server: realServerKey(r) }, r as RealServerState & { counters: Counters });
      }
    }
  };
  new Counter({
    name: 'wlvs_real_server_connections_total', help: 'connections scheduled to the real server', labelNames: rsLabels, registers: [reg],
    collect() { this.reset(); eachRs((l, r) => this.inc(l, Number(r.counters.conns))); },
  });
  new Counter({
    name: 'wlvs_real_server_packets_total', help: 'packets to (in) and from (out) the real server', labelNames: [...rsLabels, 'direction'], registers: [reg],
    collect() {
      this.reset();
      eachRs((l, r) => {
        this.inc({ ...l, direction: 'in' }, Number(r.counters.inPackets));
        this.inc({ ...l, direction: 'out' }, Number(r.counters.outPackets));
      });
    },
  });
  new Counter({
    name: 'wlvs_real_server_bytes_total', help: 'IP bytes to (in) and from (out) the real server', labelNames: [...rsLabels, 'direction'], registers: [reg],
    collect() {
      this.reset();
      eachRs((l, r) => {
        this.inc({ ...l, direction: 'in' }, Number(r.counters.inBytes));
        this.inc({ ...l, direction: 'out' }, Number(r.counters.outBytes));
      });
    },
  });
  const rsGauge = (name: string, help: string, value: (r: RealServerState) => number) => new Gauge({
    name, help, labelNames: rsLabels, registers: [reg],
    collect() { this.reset(); eachRs((l, r) => this.set(l, value(r))); },
  });
  rsGauge('wlvs_real_server_active_connections', 'established connections (ipvsadm ActiveConn)', (r) => r.connections.active);
  rsGauge('wlvs_real_server_inactive_connections', 'other connections (ipvsadm InActConn)', (r) => r.connections.inactive);
  rsGauge('wlvs_real_server_persistent_templates', 'persistence templates pointing at the server', (r) => r.connections.persistent);
  rsGauge('wlvs_real_server_weight', 'effective weight (0 = quiesced)', (r) => r.weight);
  rsGauge('wlvs_real_server_up', 'health state: 1 up, 0 down', (r) => (r.health !== 'down' ? 1 : 0));
  new Counter({
    name: 'wlvs_drops_total', help: 'packets dropped by the data path, by reason', labelNames: ['reason'], registers: [reg],
    collect() {
      this.reset();
      for (const [reason, v] of Object.entries(cp.totals().drops)) this.inc({ reason }, Number(v));
    },
  });
  // with more than one worker: how often the session table's lock made a worker wait
  new Counter({
    name: 'wlvs_table_lock_waits_total', help: 'times a data-path worker found the session table locked and waited for it',
    registers: [reg], collect() { this.reset(); this.inc(Number(cp.totals().tableLock.waits)); },
  });
  new Counter({
    name: 'wlvs_table_lock_sleeps_total', help: 'sleeps of 20 us during those waits (after 4096 spins: the holder was likely preempted)',
    registers: [reg], collect() { this.reset(); this.inc(Number(cp.totals().tableLock.sleeps)); },
  });
  new Counter({
    name: 'wlvs_packets_total', help: 'frames by outcome', labelNames: ['outcome'], registers: [reg],
    collect() {
      this.reset();
      const t = cp.totals();
      this.inc({ outcome: 'received' }, Number(t.received));
      this.inc({ outcome: 'forwarded' }, Number(t.forwarded));
      this.inc({ outcome: 'host' }, Number(t.host));
      this.inc({ outcome: 'dropped' }, Number(t.dropped));
    },
  });
  new Counter({
    name: 'wlvs_connection_log_lines_total',
    help: 'per-connection log lines: written, suppressed (over director.connection_log.rate_limit), lost (writer behind)',
    labelNames: ['outcome'], registers: [reg],
    collect() {
      this.reset();
      const l = cp.connectionLog?.();
      if (!l) return;
      this.inc({ outcome: 'written' }, l.written);
      this.inc({ outcome: 'suppressed' }, l.suppressed);
      this.inc({ outcome: 'lost' }, l.lost);
    },
  });
  new Counter({
    name: 'wlvs_events_lost_total',
    help: 'session events the data path could not put in the full event ring (sync records, connection-log pairs)',
    registers: [reg],
    collect() { this.reset(); this.inc(cp.eventsLost?.() ?? 0); },
  });
  /** a counter of Full-NAT figures by event label */
  type Pick = (f: FullnatStatus) => bigint;
  const fullnatEvents = (name: string, help: string, events: Record<string, Pick>) => new Counter({
    name, help, labelNames: ['event'], registers: [reg],
    collect() {
      this.reset();
      const f = cp.fullnat();
      for (const [event, pick] of Object.entries(events)) this.inc({ event }, Number(pick(f)));
    },
  });
  fullnatEvents('wlvs_fullnat_tuples_total', 'Full-NAT tuples: reused (a client reusing its port kept its LIP:lport), ' +
    'quarantined (held after its connection ended, until the server\'s TIME_WAIT is over), probe_busy (a probe for a ' +
    'free tuple met a busy one)', { reused: (f) => f.reused, quarantined: (f) => f.quarantined, probe_busy: (f) => f.probeBusy });
  fullnatEvents('wlvs_client_address_total', 'the client\'s address toward the servers: proxy_sent (PROXY headers put ' +
    'into client segments, resends included), toa_added (TOA options added), toa_no_room (segments that had no option ' +
    'room for TOA)', { proxy_sent: (f) => f.proxySent, toa_added: (f) => f.toaAdded, toa_no_room: (f) => f.toaNoRoom });
  new Gauge({
    name: 'wlvs_fullnat_lip_tuples', labelNames: ['lip'], registers: [reg],
    help: 'LIP:lport tuples held on each local address (connections and quarantine, toward every real server)',
    collect() {
      this.reset();
      for (const l of cp.fullnat().lips) this.set({ lip: l.address }, l.held);
    },
  });
  new Gauge({ name: 'wlvs_sessions', help: 'session records in use (connections and templates)', registers: [reg],
    collect() { this.set(cp.sessionTable().count); } });
  new Gauge({ name: 'wlvs_sessions_capacity', help: 'session table capacity', registers: [reg],
    collect() { this.set(cp.sessionTable().capacity); } });
  new Gauge({ name: 'wlvs_session_table_use_ratio', help: 'sessions / capacity', registers: [reg],
    collect() {
      const t = cp.sessionTable();
      this.set(t.count / t.capacity);
    } });
  new Counter({ name: 'wlvs_device_frames_total', help: 'frames read from and written to the devices', labelNames: ['direction'], registers: [reg],
    collect() {
      this.reset();
      const p = cp.portStats();
      this.inc({ direction: 'rx' }, p.rxFrames);
      this.inc({ direction: 'tx' }, p.txFrames);
    } });
  // per data-path worker (one per device queue): the sums above hide a worker that carries nothing
  new Gauge({ name: 'wlvs_workers', help: 'data-path workers (director.workers)', registers: [reg],
    collect() { this.set(workerStats(cp).length); } });
  new Counter({ name: 'wlvs_worker_frames_total', help: 'frames a data-path worker read from and wrote to its device queues', labelNames: ['worker', 'direction'], registers: [reg],
    collect() {
      this.reset();
      workerStats(cp).forEach((w, i) => {
        this.inc({ worker: String(i), direction: 'rx' }, w.port.rxFrames);
        this.inc({ worker: String(i), direction: 'tx' }, w.port.txFrames);
      });
    } });
  new Counter({ name: 'wlvs_worker_batches_total', help: 'batches a data-path worker ran', labelNames: ['worker'], registers: [reg],
    collect() {
      this.reset();
      workerStats(cp).forEach((w, i) => this.inc({ worker: String(i) }, w.batch.batches));
    } });
  new Counter({ name: 'wlvs_worker_process_seconds_total', help: 'time a data-path worker spent in process()', labelNames: ['worker'], registers: [reg],
    collect() {
      this.reset();
      workerStats(cp).forEach((w, i) => this.inc({ worker: String(i) }, w.batch.processNs / 1e9));
    } });
  new Gauge({ name: 'wlvs_ha_master', help: '1 while this director holds the master role (director.ha), 0 as backup', registers: [reg],
    collect() {
      this.reset();
      const h = cp.ha();
      if (h) this.set(h.master ? 1 : 0);
    } });
  new Counter({ name: 'wlvs_ha_sync_sessions_total', help: 'session records sent to and received from the peer director, and imported or refused (unrestorable: refused proxied sessions this director has no extension records for)', labelNames: ['outcome'], registers: [reg],
    collect() {
      this.reset();
      const h = cp.ha();
      if (!h) return;
      this.inc({ outcome: 'sent' }, h.stats.sessionsSent);
      this.inc({ outcome: 'received' }, h.stats.sessionsReceived);
      this.inc({ outcome: 'imported' }, h.stats.sessionsImported);
      this.inc({ outcome: 'refused' }, h.stats.sessionsRefused);
      this.inc({ outcome: 'unrestorable' }, h.stats.sessionsUnrestorable);
    } });
  new Counter({ name: 'wlvs_fragments_total', help: 'IP fragments: first fragments whose decision was kept, later ones forwarded by it, held for their first, released', labelNames: ['outcome'], registers: [reg],
    collect() {
      this.reset();
      const f = cp.fragments();
      this.inc({ outcome: 'first' }, f.first);
      this.inc({ outcome: 'forwarded' }, f.forwarded);
      this.inc({ outcome: 'held' }, f.held);
      this.inc({ outcome: 'released' }, f.released);
    } });
  const fragGauge = (name: string, help: string, pick: (f: ReturnType<ControlPlane['fragments']>) => number) =>
    new Gauge({ name, help, registers: [reg], collect() { this.set(pick(cp.fragments())); } });
  fragGauge('wlvs_fragment_cache_entries', 'first-fragment decisions kept (not expired)', (f) => f.cache_entries);
  fragGauge('wlvs_fragment_cache_capacity', 'first-fragment decisions the cache holds', (f) => f.cache_capacity);
  fragGauge('wlvs_fragment_cache_timeout_seconds', 'how long a first fragment\'s decision is kept', (f) => f.cache_timeout_s);
  fragGauge('wlvs_fragments_waiting', 'fragments waiting for their first fragment', (f) => f.waiting);
  fragGauge('wlvs_fragment_buffer_capacity', 'fragments that may wait at once', (f) => f.buffer_capacity);
  new Counter({ name: 'wlvs_ha_vrrp_adverts_total', help: 'VRRP advertisements sent, and received that passed every check', labelNames: ['direction'], registers: [reg],
    collect() {
      this.reset();
      const v = cp.ha()?.vrrp;
      if (!v) return;
      this.inc({ direction: 'sent' }, v.sent);
      this.inc({ direction: 'received' }, v.received);
    } });
  new Counter({ name: 'wlvs_ha_vrrp_dropped_total', help: 'VRRP advertisements ignored, by reason (ttl, vrid, checksum, addresses, unauthenticated, ...)', labelNames: ['reason'], registers: [reg],
    collect() {
      this.reset();
      const v = cp.ha()?.vrrp;
      if (!v) return;
      for (const [reason, n] of Object.entries(v.dropped)) this.inc({ reason }, n);
    } });
  new Counter({ name: 'wlvs_ha_sync_dropped_total', help: 'session-sync datagrams dropped: foreign, malformed, unauthenticated, replayed, stale', labelNames: ['reason'], registers: [reg],
    collect() {
      this.reset();
      const h = cp.ha();
      if (!h) return;
      for (const [reason, n] of Object.entries(h.stats.syncDropped)) this.inc({ reason }, n);
    } });
  new Gauge({
    name: 'wlvs_cluster_bgp_session_up', help: 'BGP session with the router: 1 established, 0 not (director.cluster)',
    labelNames: ['neighbor'], registers: [reg],
    collect() {
      this.reset();
      for (const n of cp.cluster()?.neighbors ?? []) this.set({ neighbor: n.address }, n.up ? 1 : 0);
    },
  });
  new Gauge({
    name: 'wlvs_cluster_routes_announced', help: 'prefixes BIRD announces for this director, by kind (vip, lip, backup)',
    labelNames: ['kind'], registers: [reg],
    collect() {
      this.reset();
      const c = cp.cluster();
      if (!c) return;
      const by: Record<string, number> = { vip: 0, lip: 0, backup: 0 };
      for (const a of c.announced) by[a.kind]++;
      for (const [kind, n] of Object.entries(by)) this.set({ kind }, n);
    },
  });
  new Gauge({
    name: 'wlvs_cluster_state', help: '1 for the cluster member\'s state (starting, active, draining, drained, stopping)',
    labelNames: ['state'], registers: [reg],
    collect() {
      this.reset();
      const c = cp.cluster();
      if (!c) return;
      for (const st of ['starting', 'active', 'draining', 'drained', 'stopping']) this.set({ state: st }, c.state === st ? 1 : 0);
    },
  });
  new Counter({
    name: 'wlvs_cluster_watchdog_stalls_total', help: 'times the watchdog withdrew every route: the data path stopped beating',
    registers: [reg], collect() { this.reset(); const c = cp.cluster(); if (c) this.inc(c.stalls); },
  });
  new Counter({
    name: 'wlvs_cluster_bird_restarts_total', help: 'times BIRD exited and was started again', registers: [reg],
    collect() { this.reset(); const c = cp.cluster(); if (c) this.inc(c.birdRestarts); },
  });
  new Gauge({
    name: 'wlvs_cluster_member_up', help: 'another cluster member heard on the session-sync link lately: 1, else 0',
    labelNames: ['member'], registers: [reg],
    collect() {
      this.reset();
      for (const m of cp.cluster()?.members ?? []) this.set({ member: m.name }, m.up ? 1 : 0);
    },
  });
  new Counter({
    name: 'wlvs_cluster_sync_sessions_total', help: 'session records sent to and received from each member, imported and refused',
    labelNames: ['member', 'outcome'], registers: [reg],
    collect() {
      this.reset();
      for (const m of cp.cluster()?.members ?? []) {
        for (const outcome of ['sent', 'received', 'imported', 'refused'] as const) this.inc({ member: m.name, outcome }, m[outcome]);
      }
    },
  });
  new Counter({
    name: 'wlvs_cluster_sync_dropped_total', help: 'cluster sync datagrams dropped: foreign, malformed, unauthenticated, replayed, stale',
    labelNames: ['reason'], registers: [reg],
    collect() {
      this.reset();
      for (const [reason, n] of Object.entries(cp.cluster()?.syncDropped ?? {})) this.inc({ reason }, n);
    },
  });
  new Counter({ name: 'wlvs_busy_poll_batches_total', help: 'batches read while busy polling (director.busy_poll_us)', registers: [reg],
    collect() { this.reset(); this.inc(cp.portStats().busyPollBatches); } });
  new Counter({ name: 'wlvs_io_syscalls_total', help: 'system calls of the data-path loops (io_uring_enter; or epoll_wait, read, write)', registers: [reg],
    collect() { this.reset(); this.inc(cp.portStats().syscalls); } });
  new Counter({ name: 'wlvs_device_tx_drops_total', help: 'frames the kernel refused (queue full)', registers: [reg],
    collect() { this.reset(); this.inc(cp.portStats().txDrops); } });
  // SYN-flood defence (src/director/syn-guard.ts)
  new Counter({ name: 'wlvs_syn_received_total', help: 'SYNs to a VIP that found no session (new connection attempts and floods)', registers: [reg],
    collect() { this.reset(); this.inc(cp.synFlood().syns); } });
  new Counter({ name: 'wlvs_syn_cookies_total', help: 'SYN cookies sent in SYN-ACKs, and handshake ACKs whose cookie was valid or invalid', labelNames: ['outcome'], registers: [reg],
    collect() {
      this.reset();
      const c = cp.synFlood().cookies;
      this.inc({ outcome: 'sent' }, c.sent);
      this.inc({ outcome: 'valid' }, c.valid);
      this.inc({ outcome: 'invalid' }, c.invalid);
    } });
  new Gauge({ name: 'wlvs_embryonic_sessions', help: 'TCP sessions in SYN_RECV (the client\'s handshake ACK not seen yet)', registers: [reg],
    collect() { this.set(cp.synFlood().embryonic.count); } });
  new Gauge({ name: 'wlvs_embryonic_sessions_max', help: 'embryonic sessions allowed before new ones evict old ones', registers: [reg],
    collect() { this.set(cp.synFlood().embryonic.max); } });
  new Counter({ name: 'wlvs_embryonic_evicted_total', help: 'embryonic sessions evicted to make room (never established ones)', registers: [reg],
    collect() { this.reset(); this.inc(cp.synFlood().evicted); } });
  new Gauge({ name: 'wlvs_syn_proxy_state', help: 'SYN protection of a service: 1 for its current state (off, auto, auto-on, forced)', labelNames: ['service', 'state'], registers: [reg],
    collect() {
      this.reset();
      for (const p of cp.synFlood().services) {
        for (const st of ['off', 'auto', 'auto-on', 'forced']) this.set({ service: p.service, state: st }, p.state === st ? 1 : 0);
      }
    } });
  new Gauge({ name: 'wlvs_service_syn_rate', help: 'SYNs per second to the service that found no session (what auto mode watches)', labelNames: ['service'], registers: [reg],
    collect() { this.reset(); for (const p of cp.synFlood().services) this.set({ service: p.service }, p.synRate); } });
  reg.registerMetric(histogramMetric('wlvs_batch_size', 'frames per batch', () => {
    const s = cp.batchStats();
    return { buckets: s.sizeBuckets, sum: s.frames, count: s.batches };
  }, SIZE_BOUNDS));
  reg.registerMetric(histogramMetric('wlvs_batch_process_seconds', 'time in process() per batch', () => {
    const s = cp.batchStats();
    return { buckets: s.timeBuckets, sum: s.processNs / 1e9, count: s.batches };
  }, TIME_BOUNDS_US, 1e-6));
  return reg;
}

/** workerStats: the control plane's per-worker counters, or one worker holding the sums */
function workerStats(cp: ControlPlane): WorkerStats[] {
  return cp.workerStats?.() ?? [{ port: cp.portStats(), batch: cp.batchStats() }];
}
