// Failover end to end: two directors on the same two segments (NAT over TAP), a master and a
// backup that share the VIP and the real servers' gateway through the election and keep each
// other's sessions through session sync. The backup is restarted in the middle of a download
// (it asks for the whole table), then the master is killed (SIGKILL, no resignation); the backup
// takes the addresses over by gratuitous ARP and the download completes on the same connection.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { buildTopology, type Topology } from '../../src/lab/topology.js';
import {
  LAB_HA_ADMIN, LAB_HA_GATEWAY, LAB_VIP_TAP, type RunningDirector, labHaConfig, startDirector, startRealServers,
} from '../../src/lab/lab-director.js';
import { streamDigest } from '../../src/lab/data-stream.js';
import { api, get, sleep } from './lib.js';

const VIP = LAB_VIP_TAP;
const SIZE = 40 << 20;
const BIN = new URL('../../../bin/wlvs.js', import.meta.url).pathname;

describe('failover between two directors', { timeout: 180_000 }, () => {
  let topo: Topology;
  let a: RunningDirector;
  let b: RunningDirector;

  before(async () => {
    topo = await buildTopology({ rsGateway: LAB_HA_GATEWAY, tag: 'wh' });
    await startRealServers(topo, { forwarding: 'nat', vip: VIP });
    a = await startDirector(topo, (t) => labHaConfig(topo, 'a', t), { adminPort: LAB_HA_ADMIN.a });
    b = await startDirector(topo, (t) => labHaConfig(topo, 'b', t), { adminPort: LAB_HA_ADMIN.b });
    await sleep(1000);
  });
  after(async () => {
    if (process.env.WLVS_E2E_LOG) (await import('node:fs')).writeFileSync(process.env.WLVS_E2E_LOG, [...(a?.output ?? []), ...(b?.output ?? [])].join('\n'));
    await topo?.lab.destroy();
  });

  it('one master answers for the VIP; the backup stays silent', async () => {
    const sa = await api(topo, a, '/api/v1/status');
    const sb = await api(topo, b, '/api/v1/status');
    assert.equal(sa.ha.state, 'master');
    assert.equal(sb.ha.state, 'backup');
    assert.ok(sb.ha.stats.advertsReceived > 0);
    for (let i = 0; i < 3; i++) await get(topo, `http://${VIP}/`);
    const neigh = await topo.lab.exec(topo.client.role, 'ip', ['neigh', 'show', VIP]);
    const macA = sa.devices[0].mac as string;
    assert.match(neigh, new RegExp(macA), `client resolves the VIP to the master: ${neigh}`);
  });

  it('the backup learns the master\'s sessions', async () => {
    await get(topo, `http://${VIP}/`);
    await sleep(300);
    const sb = await api(topo, b, '/api/v1/status');
    assert.ok(sb.ha.stats.sessionsImported >= 4, JSON.stringify(sb.ha.stats));
    assert.equal(sb.ha.stats.sessionsRefused, 0);
    assert.ok(sb.sessions.count > 0);
  });

  it('killing the master mid-download: the backup takes over and the download completes intact', async () => {
    // the backup is restarted after the download began: it learns the connection by the bulk
    // transfer it asks for, not from the creation it missed
    await topo.lab.stop(b.child);
    const download = topo.lab.exec(topo.client.role, 'sh', ['-c',
      `curl -s --max-time 90 --limit-rate 5M http://${VIP}/bytes/${SIZE} | sha256sum`], 120_000);
    await sleep(500);
    b = await startDirector(topo, (t) => labHaConfig(topo, 'b', t), { adminPort: LAB_HA_ADMIN.b });
    await sleep(1000);
    const fresh = await api(topo, b, '/api/v1/status');
    assert.equal(fresh.ha.state, 'backup');
    assert.ok(fresh.ha.stats.syncRequestsSent >= 1, JSON.stringify(fresh.ha.stats));
    assert.ok(fresh.sessions.count >= 1, 'the download\'s session arrived by bulk sync');
    const before = await api(topo, a, '/api/v1/status');
    assert.ok(before.ha.stats.bulkSyncsSent >= 1);
    a.child.kill('SIGKILL');
    const killedAt = performance.now();
    let tookOver = 0;
    while (performance.now() - killedAt < 10_000) {
      const sb = await api(topo, b, '/api/v1/status');
      if (sb.ha.state === 'master') {
        tookOver = performance.now() - killedAt;
        break;
      }
      await sleep(100);
    }
    assert.ok(tookOver > 0, 'the backup became master');
    // three intervals of 0.3 s plus the skew (156/256 × 0.3 s), and polling
    assert.ok(tookOver < 2500, `took over after ${Math.round(tookOver)} ms`);
    const sum = (await download).split(' ')[0];
    assert.equal(sum, streamDigest(SIZE), 'same bytes, same connection: the synced session carried it');
    // a good part of the body went through the backup (TSO: packets of up to 64 KiB, so count
    // bytes): the download was still running when the master died
    const web = await api(topo, b, '/api/v1/services/web');
    assert.ok(web.stats.outbytes > SIZE / 8, `the backup forwarded ${web.stats.outbytes} bytes to the client`);
  });

  it('new connections go through the new master', async () => {
    const seen = new Set<string>();
    for (let i = 0; i < 6; i++) seen.add((await get(topo, `http://${VIP}/`)).server);
    assert.equal(seen.size, 3, [...seen].join(','));
    const metrics = await topo.lab.exec(topo.director.role, 'curl', ['-s', `${b.adminUrl}/metrics`]);
    assert.match(metrics, /^wlvs_ha_master 1$/m);
    assert.match(metrics, /^wlvs_ha_sync_sessions_total\{outcome="imported"\} [1-9]/m);
    const status = await topo.lab.exec(topo.director.role, 'env', [`WLVS_API=${b.adminUrl}`, process.execPath, BIN, 'status']);
    assert.match(status, /^wlvs \(sessions=\d+\/65536\) MASTER \(priority 100\)$/m);
  });
});
