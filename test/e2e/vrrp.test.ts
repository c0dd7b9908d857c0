// wlvs and Debian's keepalived as the two routers of one VRRP virtual router, on the same
// segments: each hears the other's advertisements (version 3 with keepalived's checksum, then
// version 2 with a password), they agree on one master, and the VIP and the real servers'
// gateway move between them both ways: on SIGKILL, by preemption, by a clean stop (priority 0)
// and by a priority change; advertisements with another VRID, address list or interval are
// ignored and logged by both. keepalived's side forwards with the kernel (nftables DNAT, NAT like
// wlvs's): there is no session sync with keepalived, so what must work after each takeover is a
// new connection through the VIP, on whichever router now holds it.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { buildTopology, type Topology } from '../../src/lab/topology.js';
import {
  LAB_HA_ADMIN, LAB_HA_GATEWAY, LAB_HA_VRID, LAB_VIP_TAP, type LabHaOptions, type RunningDirector, labHaConfig,
  startDirector, startRealServers,
} from '../../src/lab/lab-director.js';
import { virtualMac } from '../../src/ha/vrrp-packet.js';
import { KA_EXT, Keepalived, type KeepalivedOptions, prepareKeepalivedHost } from './lib/keepalived.js';
import { api, get, sleep } from './lib.js';

const VIP = LAB_VIP_TAP;
const VMAC = virtualMac(LAB_HA_VRID);
/** director a's address on the client segment: the source of its advertisements */
const WLVS_DIP = '10.99.1.2';

async function until(what: string, fn: () => Promise<boolean>, timeoutMs: number): Promise<number> {
  const t0 = performance.now();
  while (performance.now() - t0 < timeoutMs) {
    if (await fn()) return performance.now() - t0;
    await sleep(25);
  }
  throw new Error(`${what}: not within ${timeoutMs} ms`);
}

describe('VRRP with keepalived', { timeout: 180_000 }, () => {
  let topo: Topology;
  let kaMac: string;
  let w: RunningDirector | null = null;
  let k: Keepalived | null = null;

  const kaConf = (o: Partial<KeepalivedOptions> = {}): KeepalivedOptions => ({
    vrid: LAB_HA_VRID, priority: 100, version: 3, advertInt: 0.3, addresses: [`${VIP}/32 dev ext0`, `${LAB_HA_GATEWAY}/24 dev int0`], ...o,
  });
  const startWlvs = async (o: LabHaOptions) => {
    w = await startDirector(topo, (t) => labHaConfig(topo, 'a', t, { state: 'backup', ...o }), { adminPort: LAB_HA_ADMIN.a });
    return w;
  };
  const wlvs = async () => (await api(topo, w!, '/api/v1/status')).ha;
  const vipMac = async () => (await topo.lab.exec(topo.client.role, 'ip', ['neigh', 'show', VIP])).split(/\s+/)[4] ?? '';
  /** a new connection through the VIP; it answers, and the client reached it at `mac` */
  const newConnection = async (mac: string) => {
    const r = await get(topo, `http://${VIP}/`);
    assert.match(r.server, /^rs\d$/);
    assert.equal(await vipMac(), mac, 'the client reaches the VIP at the master');
  };
  const wlvsConns = async () => (await api(topo, w!, '/api/v1/services/web')).stats.conns as number;

  before(async () => {
    topo = await buildTopology({ rsGateway: LAB_HA_GATEWAY, tag: 'wk' });
    await startRealServers(topo, { forwarding: 'nat', vip: VIP });
    kaMac = (await prepareKeepalivedHost(topo, VIP, 80)).extMac;
  });
  after(async () => {
    if (process.env.WLVS_E2E_LOG) {
      (await import('node:fs')).writeFileSync(process.env.WLVS_E2E_LOG, [...(w?.output ?? []), '---- keepalived', ...(k?.lines ?? [])].join('\n'));
    }
    await topo?.lab.destroy();
  });

  it('wlvs master (virtual MAC), keepalived backup: keepalived accepts its adverts and stays backup', async () => {
    await startWlvs({ priority: 150, vrrp: { virtual_mac: true } });
    await until('wlvs master', async () => (await wlvs()).state === 'master', 3000);
    k = await Keepalived.start(topo, kaConf());
    await sleep(1500);
    assert.equal((await wlvs()).state, 'master');
    assert.equal(k.logged(/Entering MASTER STATE/).length, 0, k.lines.join('\n'));
    assert.deepEqual(k.logged(/checksum|ip address associated|unexpected ip number|advertisement interval|Invalid/i), []);
    assert.ok(!(await k.holds(VIP)));
    const before = await wlvsConns();
    await newConnection(VMAC);
    assert.equal(await wlvsConns(), before + 1, 'through wlvs, addressed to the virtual MAC');
  });

  it('takeover on SIGKILL of wlvs: keepalived holds the VIP and a new connection works through it', async (t) => {
    const killedAt = performance.now();
    w!.child.kill('SIGKILL');
    const took = await until('keepalived holds the VIP', () => k!.holds(VIP), 5000);
    // 3 × 0.3 s + (256 - 100)/256 × 0.3 s = 1.08 s, and polling
    assert.ok(took < 2500, `took ${Math.round(took)} ms`);
    t.diagnostic(`keepalived held the VIP ${Math.round(took)} ms after wlvs was killed`);
    await k!.waitFor(/Entering MASTER STATE/);
    assert.ok(performance.now() - killedAt < 5000);
    await newConnection(kaMac);
  });

  it('preemption: wlvs restarted with a higher priority takes the role back from keepalived', async () => {
    const from = k!.lines.length;
    await startWlvs({ priority: 150, vrrp: { virtual_mac: true } });
    await until('wlvs master', async () => (await wlvs()).state === 'master', 4000);
    await k!.waitFor(/Master received advert from 10\.99\.1\.2 with higher priority 150, ours 100/, 2000, from);
    await k!.waitFor(/Entering BACKUP STATE/, 2000, from);
    await until('keepalived drops the VIP', async () => !(await k!.holds(VIP)), 2000);
    const before = await wlvsConns();
    await newConnection(VMAC);
    assert.equal(await wlvsConns(), before + 1);
  });

  it('resignation: wlvs stopped cleanly advertises priority 0; keepalived takes over after its skew', async (t) => {
    const from = k!.lines.length;
    const t0 = performance.now();
    await topo.lab.stop(w!.child);
    await until('keepalived holds the VIP', () => k!.holds(VIP), 3000);
    const took = performance.now() - t0;
    await k!.waitFor(/Backup received priority 0 advertisement/, 1000, from);
    // its skew is (256 - 100)/256 × 0.3 s = 183 ms; Master_Down_Interval would be 1.08 s
    t.diagnostic(`keepalived held the VIP ${Math.round(took)} ms after wlvs was sent SIGTERM`);
    w = null;
    await newConnection(kaMac);
  });

  it('keepalived master, wlvs backup: wlvs accepts keepalived\'s adverts (checksum, address list, interval)', async () => {
    await startWlvs({ priority: 50 });
    await sleep(1500);
    const h = await wlvs();
    assert.equal(h.state, 'backup');
    assert.deepEqual([h.vrrp.master, h.vrrp.master_priority, h.vrrp.master_advert_interval], [KA_EXT, 100, 0.3]);
    assert.ok(h.vrrp.stats.received >= 3, JSON.stringify(h.vrrp.stats));
    const dropped = Object.entries(h.vrrp.stats.dropped as Record<string, number>).filter(([r, n]) => n > 0 && r !== 'own');
    assert.deepEqual(dropped, []);
    assert.ok(await k!.holds(VIP));
  });

  it('takeover on SIGKILL of keepalived: wlvs holds the VIP and a new connection works through it', async (t) => {
    await k!.kill('SIGKILL');
    k = null;
    const took = await until('wlvs master', async () => (await wlvs()).state === 'master', 5000);
    // 3 × 0.3 s + (256 - 50)/256 × 0.3 s = 1.14 s, and polling through the API
    assert.ok(took < 2500, `took ${Math.round(took)} ms`);
    t.diagnostic(`wlvs was master ${Math.round(took)} ms after keepalived was killed`);
    const mac = (await api(topo, w!, '/api/v1/status')).devices[0].mac as string;
    await until('the client follows the gratuitous ARP', async () => (await vipMac()) === mac, 2000).catch(() => undefined);
    const before = await wlvsConns();
    await newConnection(mac);
    assert.equal(await wlvsConns(), before + 1);
  });

  it('preemption by keepalived: restarted with a higher priority, it takes the role from wlvs', async () => {
    k = await Keepalived.start(topo, kaConf());
    await until('wlvs backup', async () => (await wlvs()).state === 'backup', 4000);
    await until('keepalived holds the VIP', () => k!.holds(VIP), 2000);
    await k.waitFor(/received lower priority \(50\) advert from 10\.99\.1\.2 - discarding/);
    await newConnection(kaMac);
  });

  it('a priority change: wlvs raised to 200 by a reload preempts keepalived', async () => {
    const from = k!.lines.length;
    w!.writeConfig(labHaConfig(topo, 'a', w!.tokenFile, { state: 'backup', priority: 200 }));
    w!.child.kill('SIGHUP');
    await until('wlvs master', async () => (await wlvs()).state === 'master', 4000);
    await k!.waitFor(/Master received advert from 10\.99\.1\.2 with higher priority 200, ours 100/, 2000, from);
    assert.equal((await wlvs()).priority, 200);
  });

  it('an advert with another VRID or another address list is ignored, and logged, by both', async () => {
    const from = k!.lines.length;
    const before = (await wlvs()).vrrp.stats.dropped;
    // priority 254 would demote wlvs (200) if either were taken for ours
    await topo.lab.exec(topo.client.role, '/usr/bin/python3', ['-c', String.raw`
from scapy.all import Ether, IP, sendp, conf
from scapy.layers.vrrp import VRRPv3
conf.verb = 0
for vrid, addrs in ((${LAB_HA_VRID + 1}, ["${VIP}", "${LAB_HA_GATEWAY}"]), (${LAB_HA_VRID}, ["${VIP}"])):
    sendp(Ether(src="02:00:00:00:0c:66", dst="01:00:5e:00:00:12")/IP(src="10.99.1.66", dst="224.0.0.18", ttl=255, tos=0xc0, proto=112)/VRRPv3(vrid=vrid, priority=254, adv=30, addrlist=addrs), iface="eth0")
`]);
    await sleep(300);
    const h = await wlvs();
    assert.equal(h.state, 'master');
    const d = h.vrrp.stats.dropped;
    assert.deepEqual([d.vrid - before.vrid, d.addresses - before.addresses], [1, 1]);
    await k!.waitFor(/Unknown VRID\(52\) received on interface\(ext0\)/, 1000, from);
    await k!.waitFor(/received an unexpected ip number count 1, expected 2/, 1000, from);
    assert.match(w!.output.join('\n'), /VRRP advertisement from 10\.99\.1\.66 ignored: VRID 52, ours is 51/);
    assert.match(w!.output.join('\n'), /VRRP advertisement from 10\.99\.1\.66 ignored: addresses \[10\.99\.1\.100\]/);
  });

  it('unicast peers both ways: wlvs master heard by keepalived, then keepalived master heard by wlvs', async () => {
    await topo.lab.stop(w!.child);
    await k!.kill('SIGTERM');
    const unicast = { unicast_peers: [KA_EXT] };
    await startWlvs({ priority: 200, vrrp: unicast });
    await until('wlvs master', async () => (await wlvs()).state === 'master', 3000);
    k = await Keepalived.start(topo, kaConf({ unicastPeer: WLVS_DIP }));
    await sleep(1500);
    assert.equal(k.logged(/Entering MASTER STATE/).length, 0, 'keepalived hears the unicast adverts');
    assert.ok((await wlvs()).vrrp.stats.sent > 0);
    await topo.lab.kill(w!.child.pid!, 3000, 'SIGKILL');
    await until('keepalived holds the VIP', () => k!.holds(VIP), 3000);
    await startWlvs({ priority: 50, vrrp: unicast });
    await sleep(1500);
    const h = await wlvs();
    assert.deepEqual([h.state, h.vrrp.master, h.vrrp.to], ['backup', KA_EXT, [KA_EXT]]);
    assert.ok(h.vrrp.stats.received >= 3, JSON.stringify(h.vrrp.stats));
    await newConnection(kaMac);
  });

  it('version 2 with a password: keepalived master, wlvs backup; another interval or password is ignored by both', async () => {
    await topo.lab.stop(w!.child);
    await k!.kill('SIGTERM');
    k = await Keepalived.start(topo, kaConf({ version: 2, advertInt: 1, password: 'wlvs-ka', state: 'MASTER' }));
    await until('keepalived holds the VIP', () => k!.holds(VIP), 4000);
    await startWlvs({ priority: 50, advertInterval: 1, vrrp: { version: 2, authentication: 'pass', password: 'wlvs-ka' } });
    await sleep(2500);
    let h = await wlvs();
    assert.equal(h.state, 'backup');
    assert.deepEqual([h.vrrp.master, h.vrrp.master_priority], [KA_EXT, 100]);
    assert.ok(h.vrrp.stats.received >= 2, JSON.stringify(h.vrrp.stats));
    const from = k.lines.length;
    await topo.lab.exec(topo.client.role, '/usr/bin/python3', ['-c', String.raw`
from scapy.all import Ether, IP, sendp, conf
from scapy.layers.vrrp import VRRP
conf.verb = 0
pw = int.from_bytes(b"wlvs-ka\0", "big")
for adv, a1, a2 in ((2, pw >> 32, pw & 0xffffffff), (1, 0x67756573, 0x73000000)):
    sendp(Ether(src="02:00:00:00:0c:66", dst="01:00:5e:00:00:12")/IP(src="10.99.1.66", dst="224.0.0.18", ttl=255, proto=112)/VRRP(vrid=${LAB_HA_VRID}, priority=254, adv=adv, authtype=1, auth1=a1, auth2=a2, addrlist=["${VIP}", "${LAB_HA_GATEWAY}"]), iface="eth0")
`]);
    await sleep(300);
    h = await wlvs();
    assert.deepEqual([h.vrrp.stats.dropped.interval, h.vrrp.stats.dropped.auth], [1, 1]);
    assert.equal(h.vrrp.master, KA_EXT, 'the forged priority 254 was not taken for the master');
    await k.waitFor(/advertisement interval mismatch mine=1 sec rcv'd=2 sec/, 1000, from);
    await k.waitFor(/received an invalid passwd/, 1000, from);
    assert.ok(await k.holds(VIP));
    await newConnection(kaMac);
  });
});
