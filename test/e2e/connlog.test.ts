// End to end, per-connection logs: a director in namespaces with `connection_log: true` on
// service web (port 80) and not on web-81; curl downloads of known sizes through the VIP, in NAT
// and Full-NAT over TAP. Each download is one JSON line in the file: the right real server
// (the one that answered, by its x-server header), bytes out within the headers' overhead of
// the size, end reason fin, written within seconds of the connection's close (closing timeouts
// of 1 s, in Full-NAT too); web-81 logs nothing; /metrics counts the lines written.
// WLVS_E2E_ONLY=tap/nat,tap/fullnat picks scenarios, as in modes.test.ts.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ForwardingMode } from '../../src/model/spec.js';
import { buildTopology, type Topology } from '../../src/lab/topology.js';
import {
  LAB_LIPS_TAP, LAB_VIP_TAP, type RunningDirector, labConfig, rsGatewayFor, startDirector, startRealServers,
} from '../../src/lab/lab-director.js';
import { ctrDigest } from '../../src/lab/data-stream.js';
import type { ConnectionRecord } from '../../src/director/connlog.js';
import { download, sleep } from './lib.js';

const SIZES = [10_000, 300_000, 4 << 20];
const only = process.env.WLVS_E2E_ONLY?.split(',');

for (const forwarding of (['nat', 'fullnat'] as ForwardingMode[]).filter((f) => !only || only.includes(`tap/${f}`))) {
  describe(`connection logs, ${forwarding} over tap`, { timeout: 120_000 }, () => {
    let topo: Topology;
    let dir: RunningDirector;
    const logDir = mkdtempSync(join(tmpdir(), 'wlvs-e2e-connlog-'));
    const logPath = join(logDir, 'connections.log');
    const vip = LAB_VIP_TAP;
    const lines = (): ConnectionRecord[] => {
      let text = '';
      try { text = readFileSync(logPath, 'utf8'); } catch { /* not written yet */ }
      return text.split('\n').filter(Boolean).map((l) => JSON.parse(l) as ConnectionRecord);
    };

    before(async () => {
      topo = await buildTopology({ rsGateway: rsGatewayFor(forwarding, 'tap'), rsTxOff: true, tag: 'wc' });
      await startRealServers(topo, { forwarding, vip, ports: [80, 81] });
      dir = await startDirector(topo, (token) => {
        const c = labConfig(topo, 'tap', { forwarding, scheduler: 'rr' }, token) as {
          director: Record<string, unknown>; services: Record<string, unknown>[];
        };
        // closing states short, so a finished connection ends (and is logged) within the test
        c.director.timeouts = { fin_wait: 1, time_wait: 1, close: 1, close_wait: 1, last_ack: 1 };
        c.director.connection_log = { path: logPath, rate_limit: 100 };
        const web = c.services.find((s) => s.name === 'web')!;
        web.connection_log = true;
        // web-81: the same servers on port 81, not logged (the lab has no such service of its own)
        c.services.push({
          ...web, name: 'web-81', port: 81, connection_log: false,
          real_servers: (web.real_servers as Record<string, unknown>[]).map((r) => ({ ...r, port: 81 })),
        });
        return c as unknown as Record<string, unknown>;
      });
    });
    after(async () => {
      await topo?.lab.destroy();
      rmSync(logDir, { recursive: true, force: true });
    });

    it('one line per download: client, VIP, the server that answered, bytes within the headers, fin', async () => {
      const servers: string[] = [];
      for (const size of SIZES) {
        const d = await download(topo, `http://${vip}/bytes/${size}`);
        assert.equal(d.sha256, ctrDigest(size));
        servers.push(d.server);
      }
      // web-81 logs nothing
      assert.equal((await download(topo, `http://${vip}:81/bytes/1000`)).sha256, ctrDigest(1000));
      // the closing timeouts are 1 s: a line comes within them and a sweep pass (a Full-NAT one
      // too, whose tuple stays held in quarantine for 60 s: that must not delay its line)
      const deadline = Date.now() + 10_000;
      while (lines().length < SIZES.length && Date.now() < deadline) await sleep(200);
      await sleep(1500);
      // lines are written as the sweep ends the sessions, not in the order the downloads ended:
      // match them to the downloads by size (bytes out grow with the SIZES, which ascend)
      const got = lines().sort((x, y) => x.bytes_out - y.bytes_out);
      assert.equal(got.length, SIZES.length, JSON.stringify(got));
      const rsAddress = (name: string) => topo.realServers[Number(name.slice(2)) - 1].address;
      got.forEach((l, i) => {
        const size = SIZES[i];
        const what = `${size} B: ${JSON.stringify(l)}`;
        assert.equal(l.event, 'connection');
        assert.equal(l.vip, `${vip}:80`);
        assert.equal(l.protocol, 'tcp');
        assert.equal(l.mode, forwarding);
        assert.match(l.client, new RegExp(`^${topo.client.address.replace(/\./g, '\\.')}:\\d+$`));
        assert.equal(l.real_server, `${rsAddress(servers[i])}:80`, what);
        if (forwarding === 'fullnat') assert.ok(LAB_LIPS_TAP.includes(l.local!.split(':')[0]), what);
        else assert.equal(l.local, undefined);
        assert.equal(l.end_reason, 'fin', what);
        // out: the body plus HTTP headers plus 40..60 B of IP and TCP header a packet
        assert.ok(l.bytes_out > size && l.bytes_out < size + 2000 + l.packets_out * 60, what);
        // in: a request, ACKs and the FIN; small
        assert.ok(l.packets_in >= 3 && l.bytes_in < 600 + l.packets_in * 60, what);
        assert.ok(l.duration_ms >= 0 && l.duration_ms < 60_000, what);
        assert.ok(Math.abs(Date.parse(l.start) - Date.now()) < 120_000, what);
      });
      const metrics = await topo.lab.exec(topo.director.role, 'curl', ['-s', `${dir.adminUrl}/metrics`]);
      assert.match(metrics, new RegExp(`^wlvs_connection_log_lines_total\\{outcome="written"\\} ${SIZES.length}$`, 'm'));
      assert.match(metrics, /^wlvs_connection_log_lines_total\{outcome="suppressed"\} 0$/m);
    });
  });
}
