// /metrics and /api/v1/status of a director on fake devices, through the real control plane:
// after known traffic (SYNs to a service, one to a port without a service, a real server going
// down) every figure is what that traffic must give.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createMetrics } from '../../src/api/metrics.js';
import { RateSampler, services, totals } from '../../src/api/views.js';
import { controlPlane } from '../../src/director/control.js';
import type { Checker } from '../../src/health/checker.js';
import {
  MANUAL_CHECK, RIPS, TAP_DIRECTOR, fromClient, fromServer, startDirector, supervise, webService,
} from './fixture.js';

const YAML = `${TAP_DIRECTOR}services:${webService({ weights: [1, 1], health: MANUAL_CHECK })}`;

describe('metrics of a running director', () => {
  it('count what the traffic did, per service, per real server and by drop reason', async () => {
    const f = await startDirector(YAML);
    const fail: Checker = async (t) => ({ ok: t.address !== RIPS[1], message: 'x', durationMs: 0 });
    const sup = supervise(f, { checkers: { tcp: fail }, random: () => 1 });
    const cp = controlPlane(sup);
    try {
      const out = f.send(0, [0, 1, 2, 3].map((k) => fromClient({ sport: 10_000 + k, dport: 80, flags: 'S', payload: new Uint8Array(10) })));
      assert.equal(out.length, 4);
      // one reply from the first server, one SYN to a port without a service
      f.send(1, [fromServer(0, { sport: 8080, dport: 10_000, flags: 'SA' })]);
      f.send(0, [fromClient({ sport: 10_010, dport: 443, flags: 'S' })]);
      await sup.health.runOnce(`web/${RIPS[1]}:8080`);
      const text = await createMetrics(cp).metrics();
      const value = (series: string) => {
        const line = text.split('\n').find((l) => l.startsWith(`${series} `));
        assert.ok(line, `no series ${series}`);
        return Number(line.slice(series.length + 1));
      };
      const rs = (i: number) => `service="web",real_server="${RIPS[i]}:8080"`;
      assert.equal(value('wlvs_service_connections_total{service="web"}'), 4);
      assert.equal(value('wlvs_service_packets_total{service="web",direction="in"}'), 4);
      assert.equal(value('wlvs_service_packets_total{service="web",direction="out"}'), 1);
      // IP bytes: 20 IP + 20 TCP + 10 payload per SYN
      assert.equal(value('wlvs_service_bytes_total{service="web",direction="in"}'), 4 * 50);
      assert.equal(value(`wlvs_real_server_connections_total{${rs(0)}}`), 2, 'rr: two each');
      assert.equal(value(`wlvs_real_server_connections_total{${rs(1)}}`), 2);
      assert.equal(value(`wlvs_real_server_packets_total{${rs(0)},direction="out"}`), 1);
      assert.equal(value(`wlvs_real_server_inactive_connections{${rs(0)}}`) + value(`wlvs_real_server_active_connections{${rs(0)}}`), 2);
      assert.equal(value(`wlvs_real_server_up{${rs(0)}}`), 1);
      assert.equal(value(`wlvs_real_server_up{${rs(1)}}`), 0);
      assert.equal(value(`wlvs_real_server_weight{${rs(1)}}`), 0, 'quiesced');
      assert.equal(value('wlvs_drops_total{reason="no_service"}'), 1);
      assert.equal(value('wlvs_drops_total{reason="malformed"}'), 0);
      assert.equal(value('wlvs_sessions'), 4);
      assert.equal(value('wlvs_sessions_capacity'), 1024);
      const st = f.port.stats();
      assert.equal(value('wlvs_packets_total{outcome="received"}'), st.rxFrames);
      assert.equal(value('wlvs_packets_total{outcome="forwarded"}'), 5);
      assert.equal(value('wlvs_packets_total{outcome="dropped"}'), 1);
      assert.equal(value('wlvs_device_frames_total{direction="rx"}'), st.rxFrames);
      assert.equal(value('wlvs_device_frames_total{direction="tx"}'), 5);
      assert.equal(value('wlvs_batch_size_count'), st.batches);
      assert.equal(value('wlvs_batch_size_sum'), st.rxFrames);
      assert.ok(!text.includes('wlvs_ha_sync_sessions_total{'), 'no failover configured: no sync figures');

      const status = totals(cp);
      assert.deepEqual(status.sessions, { count: 4, capacity: 1024 });
      assert.deepEqual(status.drops, { no_service: 1 });
      const [web] = services(cp, new RateSampler());
      assert.deepEqual(web.real_servers.map((r) => r.health), ['up', 'down']);
      assert.equal(web.stats.conns, 4);
      const conns = cp.sessions({ service: 'web', realServer: RIPS[0] }, 0, 100);
      assert.equal(conns.items.length, 2);
      assert.ok(conns.items.every((c) => c.rip === RIPS[0] && c.protocol === 'tcp' && c.service === 'web'));
      // the server answered 10000's SYN; 10002's is unanswered (rr: 0, 2 to the first server)
      assert.deepEqual(conns.items.map((c) => [c.clientPort, c.state]), [[10_000, 'SYN_RECV'], [10_002, 'SYN_RECV']]);
      assert.equal(cp.sessions({ state: 'syn_recv', client: '10.0.1.10' }, 0, 100).items.length, 4);
      assert.equal(cp.sessions({ state: 'established' }, 0, 100).items.length, 0);
      assert.equal(cp.sessions({ client: '10.9.9.9' }, 0, 100).items.length, 0);
    } finally {
      sup.stop();
      await f.stop();
    }
  });
});
