// Failover end to end: two directors on the same two segments (NAT over TAP), a master and a
// backup that share the VIP and the real servers' gateway through VRRP on the client segment
// (authenticated with the shared key) and keep each other's sessions through the authenticated
// sync link. Forged sync datagrams and adverts from the segment are dropped and counted. The
// backup is restarted in the middle of a download (it asks for the whole table), then the
// master is killed (SIGKILL, no resignation); the backup takes the addresses over by gratuitous
// ARP and the download completes on the same connection. Dual stack: an IPv6 download (NAT66
// through LAB_HA_VIP6, the servers' IPv6 gateway a virtual address moved by unsolicited
// neighbour advertisements) runs beside it and survives the takeover the same way. A third
// service has the SYN proxy forced on: its downloads (one the restarted backup learns by bulk
// transfer, one it learns from the event stream) complete through the backup too, which means it
// carries on the master's sequence, timestamp and window translation (sync protocol v4). The
// real servers run with `tx off`, so their kernels check every checksum the directors rewrote.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { buildTopology, type Topology } from '../../src/lab/topology.js';
import {
  LAB_HA_ADMIN, LAB_HA_GATEWAY, LAB_HA_GATEWAY6, LAB_HA_PROXIED_PORT, LAB_HA_SYNC, LAB_HA_VIP6, LAB_HA_VRID,
  LAB_VIP_TAP, type RunningDirector, labHaConfig, labHaKey, startDirector, startRealServers,
} from '../../src/lab/lab-director.js';
import { ctrDigest } from '../../src/lab/data-stream.js';
import { api, get, sleep } from './lib.js';
import { scriptCommand } from '../../src/sys/runtime.js';

const VIP = LAB_VIP_TAP;
const SIZE = 40 << 20;
// 40 MiB at 3 MiB/s: about 13 s, so the master dies with most of it still to come even when the
// backup's restart takes seconds (at 5 MiB/s a slow restart under coverage left 4 % of it in CI)
const RATE = '3M';
const BIN = new URL('../../../bin/wlvs.js', import.meta.url).pathname;

describe('failover between two directors', { timeout: 180_000 }, () => {
  let topo: Topology;
  let a: RunningDirector;
  let b: RunningDirector;
  let keyFile: string;

  before(async () => {
    topo = await buildTopology({ rsGateway: LAB_HA_GATEWAY, ipv6: true, rsGateway6: LAB_HA_GATEWAY6, rsTxOff: true, tag: 'wh' });
    keyFile = labHaKey(topo);
    await startRealServers(topo, { forwarding: 'nat', vip: VIP, addr: '::' });
    a = await startDirector(topo, (t) => labHaConfig(topo, 'a', t, { keyFile, ipv6: true, synProxied: true }), { adminPort: LAB_HA_ADMIN.a });
    b = await startDirector(topo, (t) => labHaConfig(topo, 'b', t, { keyFile, ipv6: true, synProxied: true }), { adminPort: LAB_HA_ADMIN.b });
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

  it('forged sync datagrams and VRRP adverts from the segment are dropped and counted', async () => {
    // datagrams that arrive on br-ext with the director namespace's own address as source are
    // martians to its kernel unless accept_local: the spoofer needs it to reach the socket at all
    for (const c of ['all', topo.director.extBridge]) await topo.lab.sysctl(topo.director.role, `net.ipv4.conf.${c}.accept_local`, 1);
    const before = await api(topo, a, '/api/v1/status');
    // from the client namespace: a session datagram claiming to come from director b's sync
    // port (the address check alone would let it in), the same from the client's own address,
    // and a VRRP advert for the VRID with priority 254 and no HMAC
    const script = String.raw`
from scapy.all import IP, UDP, Raw, Ether, sendp, send, conf
from scapy.layers.vrrp import VRRPv3
import struct
conf.verb = 0
rec = bytes(48)
body = b"WLVS" + bytes([2, 2, ${LAB_HA_VRID}, 200]) + struct.pack("<HH", 1, 0) + rec + bytes(36)
send(IP(src="${LAB_HA_SYNC.host}", dst="${LAB_HA_SYNC.host}")/UDP(sport=${LAB_HA_SYNC.b}, dport=${LAB_HA_SYNC.a})/Raw(body))
send(IP(dst="${LAB_HA_SYNC.host}")/UDP(sport=${LAB_HA_SYNC.b}, dport=${LAB_HA_SYNC.a})/Raw(body))
sendp(Ether(dst="01:00:5e:00:00:12")/IP(src="10.99.1.66", dst="224.0.0.18", ttl=255, proto=112)/VRRPv3(vrid=${LAB_HA_VRID}, priority=254, adv=30, addrlist=["${VIP}", "${LAB_HA_GATEWAY}"]), iface="eth0")
`;
    await topo.lab.exec(topo.client.role, '/usr/bin/python3', ['-c', script]);
    await sleep(500);
    const after = await api(topo, a, '/api/v1/status');
    const d = (k: string) => after.ha.stats.syncDropped[k] - before.ha.stats.syncDropped[k];
    assert.deepEqual([d('unauthenticated'), d('foreign')], [1, 1], JSON.stringify(after.ha.stats.syncDropped));
    assert.equal(after.ha.stats.sessionsReceived, before.ha.stats.sessionsReceived, 'nothing was imported');
    assert.ok(after.ha.vrrp.stats.dropped.unauthenticated > before.ha.vrrp.stats.dropped.unauthenticated);
    assert.equal(after.ha.state, 'master', 'the forged priority 254 did not demote the master');
    const metrics = await topo.lab.exec(topo.director.role, 'curl', ['-s', `${a.adminUrl}/metrics`]);
    assert.match(metrics, /^wlvs_ha_sync_dropped_total\{reason="unauthenticated"\} 1$/m);
    assert.match(metrics, /^wlvs_ha_vrrp_dropped_total\{reason="unauthenticated"\} [1-9]/m);
  });

  it('the backup learns the master\'s sessions, SYN-proxied ones with their translation', async () => {
    await get(topo, `http://${VIP}/`);
    for (let i = 0; i < 3; i++) await get(topo, `http://${VIP}:${LAB_HA_PROXIED_PORT}/`);
    await sleep(300);
    const sb = await api(topo, b, '/api/v1/status');
    // each proxied connection arrives twice: created (handshake pending) and established (deltas set)
    assert.ok(sb.ha.stats.sessionsImported >= 4 + 6, JSON.stringify(sb.ha.stats));
    assert.equal(sb.ha.stats.sessionsRefused, 0);
    assert.equal(sb.ha.stats.sessionsUnrestorable, 0);
    assert.ok(sb.sessions.count > 0);
    const sa = await api(topo, a, '/api/v1/status');
    assert.equal(sa.syn_flood.services.find((s: { service: string }) => s.service === 'proxied').state, 'forced');
  });

  it('killing the master mid-download: the backup takes over and the download completes intact', async () => {
    // the backup is restarted after the download began: it learns the connection by the bulk
    // transfer it asks for, not from the creation it missed
    await topo.lab.stop(b.child);
    const fetch = (port: number) => topo.lab.exec(topo.client.role, 'sh', ['-c',
      `curl -s --max-time 90 --limit-rate ${RATE} http://${VIP}:${port}/bytes/${SIZE} | sha256sum`], 120_000);
    const download = fetch(80);
    const download6 = topo.lab.exec(topo.client.role, 'sh', ['-c',
      `curl -g -6 -s --max-time 90 --limit-rate ${RATE} http://[${LAB_HA_VIP6}]/bytes/${SIZE} | sha256sum`], 120_000);
    // through the SYN proxy: the restarted backup learns this one by its bulk transfer
    const proxiedBulk = fetch(LAB_HA_PROXIED_PORT);
    await sleep(500);
    b = await startDirector(topo, (t) => labHaConfig(topo, 'b', t, { keyFile, ipv6: true, synProxied: true }), { adminPort: LAB_HA_ADMIN.b });
    await sleep(1000);
    // and this one from the master's events (created, then established with the deltas)
    const proxiedStream = fetch(LAB_HA_PROXIED_PORT);
    await sleep(1000);
    const fresh = await api(topo, b, '/api/v1/status');
    assert.equal(fresh.ha.state, 'backup');
    assert.ok(fresh.ha.stats.syncRequestsSent >= 1, JSON.stringify(fresh.ha.stats));
    assert.ok(fresh.sessions.count >= 3, 'the downloads\' sessions arrived by bulk sync and events');
    assert.equal(fresh.ha.stats.sessionsRefused, 0, JSON.stringify(fresh.ha.stats));
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
    assert.equal(sum, ctrDigest(SIZE), 'same bytes, same connection: the synced session carried it');
    assert.equal((await download6).split(' ')[0], ctrDigest(SIZE), 'the IPv6 download too: its synced session carried it');
    assert.equal((await proxiedBulk).split(' ')[0], ctrDigest(SIZE), 'SYN-proxied, learnt by bulk sync: translated by the backup');
    assert.equal((await proxiedStream).split(' ')[0], ctrDigest(SIZE), 'SYN-proxied, learnt from events: translated by the backup');
    // a good part of the body went through the backup (TSO: packets of up to 64 KiB, so count
    // bytes): the download was still running when the master died
    const web = await api(topo, b, '/api/v1/services/web');
    assert.ok(web.stats.outbytes > SIZE / 8, `the backup forwarded ${web.stats.outbytes} bytes to the client`);
    const web6 = await api(topo, b, '/api/v1/services/web6');
    assert.ok(web6.stats.outbytes > SIZE / 8, `the backup forwarded ${web6.stats.outbytes} IPv6 bytes to the client`);
    const proxied = await api(topo, b, '/api/v1/services/proxied');
    assert.ok(proxied.stats.outbytes > SIZE / 4, `the backup forwarded ${proxied.stats.outbytes} proxied bytes to the client`);
  });

  it('new connections go through the new master', async () => {
    const seen = new Set<string>();
    for (let i = 0; i < 6; i++) seen.add((await get(topo, `http://${VIP}/`)).server);
    assert.equal(seen.size, 3, [...seen].join(','));
    const metrics = await topo.lab.exec(topo.director.role, 'curl', ['-s', `${b.adminUrl}/metrics`]);
    assert.match(metrics, /^wlvs_ha_master 1$/m);
    assert.match(metrics, /^wlvs_ha_sync_sessions_total\{outcome="imported"\} [1-9]/m);
    const status = await topo.lab.exec(topo.director.role, 'env', [`WLVS_API=${b.adminUrl}`, ...scriptCommand(BIN, ['status']).flat()]);
    assert.match(status, /^wlvs \(sessions=\d+\/65536\) MASTER \(priority 100\)$/m);
  });
});
