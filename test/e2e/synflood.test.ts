// End to end, the SYN-flood defence with real TCP stacks: the SYN proxy forced on for NAT and
// Full-NAT (over TAP, and NAT over a TUN device) carries curl, a checksummed 64 MiB download and
// iperf3, with window scaling, SACK and timestamps negotiated by Linux on both sides; the same
// for IPv6 VIPs (NAT66 and Full-NAT 6->6 on a dual-stack director, curl -6 and downloads); then a
// bounded spoofed-source SYN flood (trafgen) against a small table while a legitimate client
// opens a new connection per request: it must keep getting in, during the flood and after it,
// with the proxy in auto mode and with the embryonic budget alone (proxy off).
// The real servers run with `tx off`, so the kernel verifies every checksum the director touched.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { buildTopology, type Topology } from '../../src/lab/topology.js';
import {
  LAB_LIPS6_TAP, LAB_LIPS_TAP, LAB_LIPS_TUN, LAB_VIP6_TAP, LAB_VIP_TAP, LAB_VIP_TUN, type RunningDirector, labConfig,
  labDualStackDirector, rsGatewayFor, startDirector, startRealServers,
} from '../../src/lab/lab-director.js';
import { ctrDigest } from '../../src/lab/data-stream.js';
import { neighbourMac, sinkSpoofedReplies, startCurlLoop, startSynFlood, successRate } from '../../src/lab/syn-flood.js';
import { api, download, get, sleep, tally } from './lib.js';

const only = process.env.WLVS_E2E_ONLY?.split(',');
const wanted = (name: string) => !only || only.includes(name);

/** withSynProxy sets syn_proxy on every TCP service of a lab configuration */
function withSynProxy(c: Record<string, unknown>, mode: 'on' | 'auto' | 'off'): Record<string, unknown> {
  for (const s of c.services as Record<string, unknown>[]) if (s.protocol === 'tcp') s.syn_proxy = mode;
  return c;
}

const metric = (text: string, re: RegExp) => Number(re.exec(text)?.[1] ?? NaN);

/**
 * proxiedAll checks that at least `min` connections went through a cookie and none failed, that
 * each of `services` is forced on in metrics and status, and that no session was embryonic
 */
async function proxiedAll(topo: Topology, dir: RunningDirector, min: number, services: string[]): Promise<void> {
  const metrics = await topo.lab.exec(topo.director.role, 'curl', ['-s', `${dir.adminUrl}/metrics`]);
  const sent = metric(metrics, /^wlvs_syn_cookies_total\{outcome="sent"\} (\d+)/m);
  const valid = metric(metrics, /^wlvs_syn_cookies_total\{outcome="valid"\} (\d+)/m);
  assert.ok(sent >= min && valid >= min, `sent ${sent} valid ${valid}`);
  assert.equal(metric(metrics, /^wlvs_syn_cookies_total\{outcome="invalid"\} (\d+)/m), 0);
  assert.equal(metric(metrics, /^wlvs_embryonic_sessions (\d+)/m), 0);
  const status = await api(topo, dir, '/api/v1/status');
  for (const name of services) {
    assert.equal(metric(metrics, new RegExp(`^wlvs_syn_proxy_state\\{service="${name}",state="forced"\\} (\\d+)`, 'm')), 1, name);
    assert.equal(status.syn_flood.services.find((s: { service: string }) => s.service === name).state, 'forced', name);
  }
}

for (const [device, forwarding] of [['tap', 'nat'], ['tap', 'fullnat'], ['tun', 'nat']] as const) {
  if (!wanted(`synproxy/${device}/${forwarding}`)) continue;
  describe(`SYN proxy, ${forwarding} over ${device}`, { timeout: 240_000 }, () => {
    let topo: Topology;
    let dir: RunningDirector;
    const vip = device === 'tap' ? LAB_VIP_TAP : LAB_VIP_TUN;

    before(async () => {
      topo = await buildTopology({ rsGateway: rsGatewayFor(forwarding, device), rsTxOff: true, tag: 'wsp' });
      await startRealServers(topo, { forwarding, vip, iperf: true });
      dir = await startDirector(topo, (token) => withSynProxy(labConfig(topo, device, { forwarding, scheduler: 'wrr', weights: [1, 2, 1] }, token), 'on'));
    });
    after(async () => {
      await topo?.lab.destroy();
    });

    it('curl gets through, spread as wrr says, and the server sees the right source', async () => {
      const seen: string[] = [];
      for (let i = 0; i < 16; i++) {
        const a = await get(topo, `http://${vip}/`);
        seen.push(a.server);
        if (forwarding === 'fullnat') assert.ok((device === 'tap' ? LAB_LIPS_TAP : LAB_LIPS_TUN).includes(a.client), a.client);
        else assert.equal(a.client, topo.client.address);
      }
      assert.deepEqual(tally(seen), { rs1: 4, rs2: 8, rs3: 4 });
    });

    it('a 64 MiB download arrives intact (translated seq, ack, SACK, timestamps, windows)', async () => {
      const d = await download(topo, `http://${vip}/bytes/${64 << 20}`);
      assert.equal(d.sha256, ctrDigest(64 << 20));
    });

    it('iperf3 runs through the proxy', async () => {
      const out = await topo.lab.exec(topo.client.role, 'iperf3', ['-c', vip, '-t', '2', '-J'], 30_000);
      const j = JSON.parse(out) as { end: { sum_received: { bits_per_second: number } } };
      const bps = j.end.sum_received.bits_per_second;
      assert.ok(bps > 50e6, `${bps} bit/s`);
    });

    it('every connection went through a cookie; metrics and status say so', async () => {
      await proxiedAll(topo, dir, 18, ['web']);
      const text = await topo.lab.exec(topo.director.role, process.execPath,
        [new URL('../../../bin/wlvs.js', import.meta.url).pathname, 'status', '--api', dir.adminUrl]);
      assert.match(text, /syn-proxy forced/);
      assert.match(text, /SYN flood: embryonic 0\//);
    });

    it('a SYN to the server that is lost goes again on the client\'s window probe: curl still gets through', async () => {
      // every server drops the first SYN of each source and port the director uses toward it
      // (the client's address in NAT, the LIPs in Full-NAT), and counts the ones that come again
      const sources = forwarding === 'fullnat' ? (device === 'tap' ? LAB_LIPS_TAP : LAB_LIPS_TUN) : [topo.client.address];
      const f = join(topo.lab.tempDir('lose'), 'lose.nft');
      writeFileSync(f, `table inet wlvslose {\n  set seen { type ipv4_addr . inet_service; flags dynamic; timeout 5m; }\n` +
        '  chain in {\n    type filter hook input priority -10; policy accept;\n' +
        `    ip saddr != { ${sources.join(', ')} } accept\n    tcp flags & (syn | ack) != syn accept\n` +
        '    ip saddr . tcp sport @seen counter accept\n    add @seen { ip saddr . tcp sport } counter drop\n  }\n}\n');
      for (const r of topo.realServers) await topo.lab.exec(r.role, 'nft', ['-f', f]);
      try {
        const started = Date.now();
        for (let i = 0; i < 4; i++) await get(topo, `http://${vip}/`);
        const took = Date.now() - started;
        let dropped = 0;
        let again = 0;
        for (const r of topo.realServers) {
          const counters = [...(await topo.lab.exec(r.role, 'nft', ['list', 'table', 'inet', 'wlvslose']))
            .matchAll(/counter packets (\d+)/g)].map((m) => Number(m[1]));
          again += counters[0];
          dropped += counters[1];
        }
        assert.equal(dropped, 4, 'one SYN lost per connection');
        assert.ok(again >= 4, `${again} SYNs sent again`);
        // the client probes from its RTO (200 ms after a fast handshake), far inside curl's 5 s
        assert.ok(took < 8000, `${took} ms for 4 connections`);
      } finally {
        for (const r of topo.realServers) await topo.lab.exec(r.role, 'nft', ['delete', 'table', 'inet', 'wlvslose']);
      }
    });
  });
}

if (wanted('synproxy/tap/ipv6')) {
  describe('SYN proxy for IPv6 VIPs: NAT66 and Full-NAT 6->6 over TAP', { timeout: 240_000 }, () => {
    let topo: Topology;
    let dir: RunningDirector;
    const vip = LAB_VIP6_TAP;
    const url = (port: number, path = '/') => `http://[${vip}]:${port}${path}`;
    const curl6 = async (target: string) => JSON.parse(await topo.lab.exec(topo.client.role, 'curl',
      ['-g', '-6', '-s', '--max-time', '5', target])) as { server: string; client: string };
    const download6 = async (target: string) => (await topo.lab.exec(topo.client.role, 'sh',
      ['-c', `curl -g -6 -s --max-time 60 ${target} | sha256sum`], 90_000)).split(' ')[0];

    before(async () => {
      topo = await buildTopology({ ipv6: true, rsGateway: '10.99.2.1', rsGateway6: '2001:db8:2::1', rsTxOff: true, tag: 'wspx' });
      await startRealServers(topo, { forwarding: 'nat', vip: LAB_VIP_TAP, addr: '::' });
      const rs = topo.realServers.map((r) => ({ address: r.address6!, port: 80 }));
      const svc = (name: string, port: number, forwarding: string) => ({
        name, vip, port, protocol: 'tcp', scheduler: 'rr', forwarding, health_check: { type: 'none' }, real_servers: rs,
        syn_proxy: 'on',
      });
      dir = await startDirector(topo, (token) => {
        const director = labDualStackDirector(topo, token);
        // no NAT64 service here: the pool's IPv4 address would have no user
        director.fullnat = { local_addresses: LAB_LIPS6_TAP };
        return { director, services: [svc('web6', 80, 'nat'), svc('full6', 81, 'fullnat')] };
      });
    });
    after(async () => {
      await topo?.lab.destroy();
    });

    it('NAT66: curl -6 gets through the proxy to every server, which sees the client\'s IPv6 address', async () => {
      const seen: string[] = [];
      for (let i = 0; i < 6; i++) {
        const a = await curl6(url(80));
        assert.equal(a.client, topo.client.address6);
        seen.push(a.server);
      }
      assert.deepEqual(tally(seen), { rs1: 2, rs2: 2, rs3: 2 });
    });

    it('NAT66: a 64 MiB download arrives intact (translated seq, ack, SACK, timestamps, windows)', async () => {
      assert.equal(await download6(url(80, `/bytes/${64 << 20}`)), ctrDigest(64 << 20));
    });

    it('Full-NAT 6->6: the server sees an IPv6 LIP, and a 16 MiB download arrives intact', async () => {
      const a = await curl6(url(81));
      assert.ok(LAB_LIPS6_TAP.includes(a.client), a.client);
      assert.equal(await download6(url(81, `/bytes/${16 << 20}`)), ctrDigest(16 << 20));
    });

    it('every connection went through a cookie; metrics and status say so for both services', async () => {
      await proxiedAll(topo, dir, 9, ['web6', 'full6']);
    });
  });
}

/**
 * A bounded flood: 8 s of spoofed SYNs (the 8192-session table would be full within a second
 * without the defence, for the 60 s SYN_RECV timeout) while curl opens a new connection after
 * another on two lanes and a rate-limited download runs across the whole flood; then 4 s of curl
 * alone. With the proxy off the flood reaches the real servers (their kernels answer with their
 * own SYN cookies), so it runs at a quarter of the rate on this 2-core machine, evenly spaced:
 * what is tested there is the table, not the servers. The auto run keeps trafgen's --rate, which
 * sends each second's SYNs in one burst of ~50 ms: the proxy must switch on within the burst.
 */
const FLOOD_S = 8;
const PPS = { auto: 40_000, off: 10_000 };
const PACING = { auto: 'burst', off: 'gap' } as const;
const TABLE = 8192;
// 40 MiB at 4 MiB/s: ten seconds, from a second before the flood to after it
const DOWNLOAD = 40 << 20;
for (const mode of ['auto', 'off'] as const) {
  const FLOOD_PPS = PPS[mode];
  if (!wanted(`flood/${mode}`)) continue;
  describe(`SYN flood against an 8192-session table, syn_proxy ${mode}`, { timeout: 180_000 }, () => {
    let topo: Topology;
    let dir: RunningDirector;
    const vip = LAB_VIP_TAP;

    before(async () => {
      topo = await buildTopology({ rsGateway: rsGatewayFor('nat', 'tap'), rsTxOff: true, tag: 'wfl' });
      await startRealServers(topo, { forwarding: 'nat', vip });
      await sinkSpoofedReplies(topo);
      dir = await startDirector(topo, (token) => {
        const c = withSynProxy(labConfig(topo, 'tap', { forwarding: 'nat' }, token), mode) as { director: Record<string, unknown> };
        c.director.sessions = TABLE;
        return c;
      });
    });
    after(async () => {
      await topo?.lab.destroy();
    });

    it(`curl keeps getting in (>= ${mode === 'auto' ? 99 : 98} % during the flood, all of it after), the download survives, no table_full`, async (t) => {
      const mac = await neighbourMac(topo, vip);
      const loop = startCurlLoop(topo, `http://${vip}/`, (FLOOD_S + 5) * 1000, { timeoutS: 5, lanes: 2 });
      const transfer = topo.lab.exec(topo.client.role, 'sh', ['-c',
        `curl -s --limit-rate 4M --max-time 60 http://${vip}/bytes/${DOWNLOAD} | sha256sum`], 90_000)
        .then((out) => out.split(' ')[0], (err: Error) => `failed: ${err.message}`);
      await sleep(1000);
      const t0 = Date.now();
      const flood = startSynFlood(topo, { vip, port: 80, mac, seconds: FLOOD_S, pps: FLOOD_PPS, pacing: PACING[mode] });
      await new Promise((r) => flood.once('exit', r));
      const t1 = Date.now();
      const results = await loop.done;
      const digest = await transfer;
      const during = successRate(results, t0 + 500, t1);
      const tookMs = results.filter((r) => r.t >= t0 + 500 && r.t < t1).map((r) => r.ms).sort((a, b) => a - b);
      const afterwards = successRate(results, t1 + 500, Infinity);
      const metrics = await topo.lab.exec(topo.director.role, 'curl', ['-s', `${dir.adminUrl}/metrics`]);
      const syns = metric(metrics, /^wlvs_syn_received_total (\d+)/m);
      const tableFull = metric(metrics, /^wlvs_drops_total\{reason="table_full"\} (\d+)/m) || 0;
      const port = (await api(topo, dir, '/api/v1/status')).port;
      const info = `during ${during.n} (${(during.rate * 100).toFixed(2)} %, median ${tookMs[tookMs.length >> 1]} ms, ` +
        `first request ${results.length ? results[0].t - t0 : NaN} ms after the flood began), after ${afterwards.n} ` +
        `(${(afterwards.rate * 100).toFixed(2)} %); SYNs ${syns}; table_full ${tableFull}; device tx drops ${port.txDrops}; ` +
        `failures (ms after the flood began) ${JSON.stringify(during.failed.concat(afterwards.failed).slice(0, 5)
          .map((f) => ({ ...f, t: f.t - t0 })))}; drops ${[...metrics.matchAll(/^wlvs_drops_total\{reason="(\w+)"\} ([1-9]\d*)/gm)]
          .map((m) => `${m[1]}=${m[2]}`).join(' ')}`;
      t.diagnostic(info);
      // what matters is a flood far bigger than the table: the loaded machine delivers less
      // than the generator's rate when the servers answer the flood (proxy off)
      assert.ok(syns > 2 * TABLE, `the flood arrived: ${info}`);
      if (mode === 'auto') assert.ok(syns > FLOOD_PPS * FLOOD_S * 0.5, `the flood arrived at its rate: ${info}`);
      assert.ok(during.n >= 20, info);
      assert.ok(afterwards.n >= 5, info);
      // With the proxy off only the embryonic budget defends the table: a legitimate session
      // lives budget / SYN rate (205 ms here) before the hand evicts it, far more than its
      // handshake needs. Bursts broke that: with the flood as trafgen's --rate sends it (10,000
      // SYNs within ~50 ms each second) the budget turned over in a few ms (evicted sessions
      // lived 1 ms, median), a client whose SYN fell in a burst lost its session after the
      // server's SYN-ACK, and its ACK and request found none (no_session; curl gives up at 5 s):
      // 96.9 to 99.8 % in CI and 4 runs on 2026-12-04. Paced, under c8 as in CI, two workers, 3
      // runs: 100 %. Without the budget the table fills and the rate falls to about 0.
      assert.ok(during.rate >= (mode === 'auto' ? 0.99 : 0.98), info);
      assert.equal(afterwards.rate, 1, info);
      assert.equal(digest, ctrDigest(DOWNLOAD), 'the established download arrived intact');
      const embryonic = metric(metrics, /^wlvs_embryonic_sessions (\d+)/m);
      const max = metric(metrics, /^wlvs_embryonic_sessions_max (\d+)/m);
      assert.equal(max, 2048);
      assert.ok(embryonic <= max, `embryonic ${embryonic} within ${max}`);
      assert.equal(tableFull, 0, 'never table_full');
      if (mode === 'auto') {
        assert.ok(metric(metrics, /^wlvs_syn_cookies_total\{outcome="sent"\} (\d+)/m) > FLOOD_PPS, 'the proxy answered the flood');
        assert.ok(dir.output.some((l) => /"event":"syn_protection".*"to":"auto-on"/.test(l)), 'the switch was logged');
      } else {
        assert.ok(metric(metrics, /^wlvs_embryonic_evicted_total (\d+)/m) > FLOOD_PPS, 'the budget evicted the flood');
      }
    });
  });
}
