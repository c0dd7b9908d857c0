// metrics.ts — Prometheus metrics (prom-client), read from the data path's counters at scrape
// time: nothing is counted twice and the data path pays nothing for being watched.
import { Counter, Gauge, Registry, type Metric } from 'prom-client';
import type { Supervisor } from '../director/supervisor.js';
import * as abi from '../dataplane/abi.js';

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
export function createMetrics(sup: Supervisor): Registry {
  const reg = new Registry();
  const dir = () => sup.director;
  const perService = (name: string, help: string, pick: (c: ReturnType<typeof dir>['tables']['serviceCounters'] extends (i: number) => infer R ? R : never) => Array<[Record<string, string>, bigint]>) =>
    new Counter({
      name, help, labelNames: ['service', 'direction'], registers: [reg],
      collect() {
        this.reset();
        for (const v of dir().applier.view()) {
          for (const [labels, value] of pick(dir().tables.serviceCounters(v.index))) this.inc({ service: v.service.name, ...labels }, Number(value));
        }
      },
    });
  perService('wlvs_service_connections_total', 'connections scheduled by the service', (c) => [[{}, c.conns]]);
  perService('wlvs_service_packets_total', 'packets through the service', (c) => [[{ direction: 'in' }, c.inPackets], [{ direction: 'out' }, c.outPackets]]);
  perService('wlvs_service_bytes_total', 'IP bytes through the service', (c) => [[{ direction: 'in' }, c.inBytes], [{ direction: 'out' }, c.outBytes]]);

  const rsLabels = ['service', 'real_server'];
  const eachRs = (fn: (labels: Record<string, string>, index: number, healthy: boolean, weight: number) => void) => {
    for (const v of dir().applier.view()) {
      for (const r of v.realServers) {
        if (r.index === null) continue;
        const key = `${v.service.name}/${r.address}:${r.port}`;
        fn({ service: v.service.name, real_server: `${r.address}:${r.port}` }, r.index, sup.health.state(key) !== 'down', r.weight);
      }
    }
  };
  new Counter({
    name: 'wlvs_real_server_connections_total', help: 'connections scheduled to the real server', labelNames: rsLabels, registers: [reg],
    collect() { this.reset(); eachRs((l, i) => this.inc(l, Number(dir().tables.rsCounters(i).conns))); },
  });
  new Counter({
    name: 'wlvs_real_server_packets_total', help: 'packets to (in) and from (out) the real server', labelNames: [...rsLabels, 'direction'], registers: [reg],
    collect() {
      this.reset();
      eachRs((l, i) => {
        const c = dir().tables.rsCounters(i);
        this.inc({ ...l, direction: 'in' }, Number(c.inPackets));
        this.inc({ ...l, direction: 'out' }, Number(c.outPackets));
      });
    },
  });
  new Counter({
    name: 'wlvs_real_server_bytes_total', help: 'IP bytes to (in) and from (out) the real server', labelNames: [...rsLabels, 'direction'], registers: [reg],
    collect() {
      this.reset();
      eachRs((l, i) => {
        const c = dir().tables.rsCounters(i);
        this.inc({ ...l, direction: 'in' }, Number(c.inBytes));
        this.inc({ ...l, direction: 'out' }, Number(c.outBytes));
      });
    },
  });
  const rsGauge = (name: string, help: string, value: (i: number, healthy: boolean, weight: number) => number) => new Gauge({
    name, help, labelNames: rsLabels, registers: [reg],
    collect() { this.reset(); eachRs((l, i, h, w) => this.set(l, value(i, h, w))); },
  });
  rsGauge('wlvs_real_server_active_connections', 'established connections (ipvsadm ActiveConn)', (i) => dir().tables.rsConnections(i).active);
  rsGauge('wlvs_real_server_inactive_connections', 'other connections (ipvsadm InActConn)', (i) => dir().tables.rsConnections(i).inactive);
  rsGauge('wlvs_real_server_persistent_templates', 'persistence templates pointing at the server', (i) => dir().tables.rsConnections(i).persistent);
  rsGauge('wlvs_real_server_weight', 'effective weight (0 = quiesced)', (_i, _h, w) => w);
  rsGauge('wlvs_real_server_up', 'health state: 1 up, 0 down', (_i, h) => (h ? 1 : 0));
  new Counter({
    name: 'wlvs_drops_total', help: 'packets dropped by the data path, by reason', labelNames: ['reason'], registers: [reg],
    collect() {
      this.reset();
      for (const [reason, v] of Object.entries(dir().tables.drops())) this.inc({ reason }, Number(v));
    },
  });
  new Counter({
    name: 'wlvs_packets_total', help: 'frames by outcome', labelNames: ['outcome'], registers: [reg],
    collect() {
      this.reset();
      const t = dir().tables;
      this.inc({ outcome: 'received' }, Number(t.stat(abi.STAT_RX_PACKETS)));
      this.inc({ outcome: 'forwarded' }, Number(t.stat(abi.STAT_FORWARDED)));
      this.inc({ outcome: 'host' }, Number(t.stat(abi.STAT_HOST)));
      this.inc({ outcome: 'dropped' }, Number(t.stat(abi.STAT_DROPPED)));
    },
  });
  new Gauge({ name: 'wlvs_sessions', help: 'session records in use (connections and templates)', registers: [reg],
    collect() { this.set(dir().tables.sessionCount()); } });
  new Gauge({ name: 'wlvs_sessions_capacity', help: 'session table capacity', registers: [reg],
    collect() { this.set(dir().layout.connCap); } });
  new Gauge({ name: 'wlvs_session_table_use_ratio', help: 'sessions / capacity', registers: [reg],
    collect() { this.set(dir().tables.sessionCount() / dir().layout.connCap); } });
  new Counter({ name: 'wlvs_device_frames_total', help: 'frames read from and written to the devices', labelNames: ['direction'], registers: [reg],
    collect() {
      this.reset();
      const p = dir().portStats();
      this.inc({ direction: 'rx' }, p.rxFrames);
      this.inc({ direction: 'tx' }, p.txFrames);
    } });
  new Gauge({ name: 'wlvs_ha_master', help: '1 while this director holds the master role (director.ha), 0 as backup', registers: [reg],
    collect() { this.reset(); if (dir().ha) this.set(dir().ha!.master ? 1 : 0); } });
  new Counter({ name: 'wlvs_ha_sync_sessions_total', help: 'session records sent to and received from the peer director, and imported or refused', labelNames: ['outcome'], registers: [reg],
    collect() {
      this.reset();
      const h = dir().ha;
      if (!h) return;
      this.inc({ outcome: 'sent' }, h.stats.sessionsSent);
      this.inc({ outcome: 'received' }, h.stats.sessionsReceived);
      this.inc({ outcome: 'imported' }, h.stats.sessionsImported);
      this.inc({ outcome: 'refused' }, h.stats.sessionsRefused);
    } });
  new Counter({ name: 'wlvs_busy_poll_batches_total', help: 'batches read while busy polling (director.busy_poll_us)', registers: [reg],
    collect() { this.reset(); this.inc(dir().portStats().busyPollBatches); } });
  new Counter({ name: 'wlvs_device_tx_drops_total', help: 'frames the kernel refused (queue full)', registers: [reg],
    collect() { this.reset(); this.inc(dir().portStats().txDrops); } });
  // SYN-flood defence (src/director/syn-guard.ts)
  new Counter({ name: 'wlvs_syn_received_total', help: 'SYNs to a VIP that found no session (new connection attempts and floods)', registers: [reg],
    collect() { this.reset(); this.inc(dir().synGuard.view().syns); } });
  new Counter({ name: 'wlvs_syn_cookies_total', help: 'SYN cookies sent in SYN-ACKs, and handshake ACKs whose cookie was valid or invalid', labelNames: ['outcome'], registers: [reg],
    collect() {
      this.reset();
      const c = dir().synGuard.view().cookies;
      this.inc({ outcome: 'sent' }, c.sent);
      this.inc({ outcome: 'valid' }, c.valid);
      this.inc({ outcome: 'invalid' }, c.invalid);
    } });
  new Gauge({ name: 'wlvs_embryonic_sessions', help: 'TCP sessions in SYN_RECV (the client\'s handshake ACK not seen yet)', registers: [reg],
    collect() { this.set(dir().synGuard.view().embryonic.count); } });
  new Gauge({ name: 'wlvs_embryonic_sessions_max', help: 'embryonic sessions allowed before new ones evict old ones', registers: [reg],
    collect() { this.set(dir().synGuard.view().embryonic.max); } });
  new Counter({ name: 'wlvs_embryonic_evicted_total', help: 'embryonic sessions evicted to make room (never established ones)', registers: [reg],
    collect() { this.reset(); this.inc(dir().synGuard.view().evicted); } });
  new Gauge({ name: 'wlvs_syn_proxy_state', help: 'SYN protection of a service: 1 for its current state (off, auto, auto-on, forced)', labelNames: ['service', 'state'], registers: [reg],
    collect() {
      this.reset();
      for (const p of dir().synGuard.view().services) {
        for (const st of ['off', 'auto', 'auto-on', 'forced']) this.set({ service: p.service, state: st }, p.state === st ? 1 : 0);
      }
    } });
  new Gauge({ name: 'wlvs_service_syn_rate', help: 'SYNs per second to the service that found no session (what auto mode watches)', labelNames: ['service'], registers: [reg],
    collect() { this.reset(); for (const p of dir().synGuard.view().services) this.set({ service: p.service }, p.synRate); } });
  reg.registerMetric(histogramMetric('wlvs_batch_size', 'frames per batch', () => {
    const s = dir().loop.stats;
    return { buckets: s.sizeBuckets, sum: s.frames, count: s.batches };
  }, SIZE_BOUNDS));
  reg.registerMetric(histogramMetric('wlvs_batch_process_seconds', 'time in process() per batch', () => {
    const s = dir().loop.stats;
    return { buckets: s.timeBuckets, sum: s.processNs / 1e9, count: s.batches };
  }, TIME_BOUNDS_US, 1e-6));
  return reg;
}
