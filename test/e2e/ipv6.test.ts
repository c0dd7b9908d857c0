// End to end with IPv6 beside IPv4: real stacks in namespaces (curl -6, iperf3 -6, ping -6, UDP
// datagrams larger than the MTU), one director running every mode at once so the lab is built
// once per device kind. Over TAP: NAT66 with a dual-stack partner service, Full-NAT 6->6, NAT64,
// DR (neighbour discovery by the host stack), IPv6-in-IPv6 decapsulated in user space on the
// real servers, PMTU discovery through the tunnel's extra header, fragments of both families.
// Over a TUN device: NAT66, Full-NAT 6->6 and NAT64 routed by the kernel. Real servers run
// with `ethtool -K eth0 tx off`, so their kernel checks every checksum the director touched.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { buildTopology, type Topology } from '../../src/lab/topology.js';
import {
  LAB_LIPS6_TAP, LAB_LIPS_TAP, LAB_TOKEN, type RunningDirector, labDualStackDirector, startDirector, startRealServers,
} from '../../src/lab/lab-director.js';
import { ctrDigest } from '../../src/lab/data-stream.js';
import { api, tally } from './lib.js';

const only = process.env.WLVS_E2E_ONLY?.split(',');
const wanted = (name: string) => !only || only.includes(name);

const VIP4 = '10.99.1.100';
const VIP6 = '2001:db8:1::100';
const VIP6_DR = '2001:db8:1::101';
const VIP6_TUN = '2001:db8:1::102';
const LIPS6 = LAB_LIPS6_TAP;
const LIP4 = LAB_LIPS_TAP[0];
const url = (vip: string, port: number, path = '/') => `http://${vip.includes(':') ? `[${vip}]` : vip}:${port}${path}`;

interface Answer { server: string; client: string }

async function curl(topo: Topology, target: string, args: string[] = []): Promise<Answer> {
  // -g: brackets in the URL are an IPv6 literal, not a glob
  const out = await topo.lab.exec(topo.client.role, 'curl', ['-g', '-s', '--max-time', '5', ...args, target]);
  try {
    return JSON.parse(out) as Answer;
  } catch {
    throw new Error(`not JSON from ${target}: ${JSON.stringify(out.slice(0, 200))}`);
  }
}

async function download(topo: Topology, target: string, bytes: number): Promise<string> {
  const out = await topo.lab.exec(topo.client.role, 'sh', ['-c', `curl -g -s --max-time 60 ${target} | sha256sum`], 90_000);
  assert.equal(out.split(' ')[0], ctrDigest(bytes), `${target}: digest`);
  return out;
}

/** udpFrom sends one datagram from the client and returns the answer and the address it came from */
async function udpFrom(topo: Topology, address: string, port: number,
  payload: string): Promise<{ text: string; from: string }> {
  const script = `const s=require('dgram').createSocket('${address.includes(':') ? 'udp6' : 'udp4'}');` +
    `s.on('message',(m,r)=>{console.log(JSON.stringify({text:m.toString(),from:r.address}));process.exit(0)});` +
    `let n=0;const t=setInterval(()=>{if(n++===5){console.log('{}');process.exit(3)}s.send(${JSON.stringify(payload)},${port},'${address}')},400);` +
    `s.send(${JSON.stringify(payload)},${port},'${address}')`;
  return JSON.parse(await topo.lab.exec(topo.client.role, process.execPath, ['-e', script], 10_000)) as { text: string; from: string };
}

function rsList(topo: Topology, family: 4 | 6, port: number) {
  return topo.realServers.map((r) => ({ address: family === 6 ? r.address6! : r.address, port }));
}

function tapConfig(topo: Topology, tokenFile: string): Record<string, unknown> {
  const svc = (name: string, vip: string, port: number, extra: Record<string, unknown>,
    rs: { address: string; port: number }[]) => ({
    name, vip, port, protocol: 'tcp', scheduler: 'rr', forwarding: 'nat', health_check: { type: 'none' }, real_servers: rs, ...extra,
  });
  return {
    director: labDualStackDirector(topo, tokenFile),
    services: [
      // one service on both families: the same servers by their IPv4 and their IPv6 addresses
      svc('web4', VIP4, 80, { scheduler: 'wrr' }, rsList(topo, 4, 80)),
      svc('web6', VIP6, 80, { scheduler: 'wrr' }, rsList(topo, 6, 80)),
      svc('udp4', VIP4, 5353, { protocol: 'udp' }, rsList(topo, 4, 5353)),
      svc('udp6', VIP6, 5353, { protocol: 'udp' }, rsList(topo, 6, 5353)),
      svc('iperf6', VIP6, 5201, { scheduler: 'sh' }, rsList(topo, 6, 5201)),
      svc('full6', VIP6, 81, { forwarding: 'fullnat' }, rsList(topo, 6, 80)),
      svc('nat64', VIP6, 82, { forwarding: 'fullnat' }, rsList(topo, 4, 80)),
      svc('dr6', VIP6_DR, 80, { forwarding: 'dr' }, rsList(topo, 6, 80)),
      svc('tun6', VIP6_TUN, 80, { forwarding: 'tun' }, rsList(topo, 6, 80)),
      svc('tun6-iperf', VIP6_TUN, 5201, { forwarding: 'tun', scheduler: 'sh' }, rsList(topo, 6, 5201)),
    ],
  };
}

if (wanted('tap/ipv6')) {
  describe('IPv6 over TAP: every mode, dual stack, fragments, PMTU', { timeout: 300_000 }, () => {
    let topo: Topology;
    let dir: RunningDirector;

    before(async () => {
      // NAT replies go via wlvs's DIP and DIP6 as gateways; DR and TUN replies, from the VIPs,
      // via the director kernel (source rules on the servers)
      topo = await buildTopology({
        ipv6: true, rsGateway: '10.99.2.1', rsGateway6: '2001:db8:2::1', rsRouterSources6: [VIP6_DR, VIP6_TUN], rsTxOff: true, tag: 'wsix',
      });
      await startRealServers(topo, {
        forwarding: 'nat', vip: VIP4, ports: [80], iperf: true, addr: '::',
        prepare: [{ mode: 'dr', vip: VIP6_DR }, { mode: 'tun', vip: VIP6_TUN }],
      });
      dir = await startDirector(topo, (token) => tapConfig(topo, token));
    });
    after(async () => {
      await topo?.lab.destroy();
    });

    it('NAT66: curl -6 reaches every server as rr says, the servers see the client\'s IPv6 address', async () => {
      const seen: string[] = [];
      for (let i = 0; i < 6; i++) {
        const a = await curl(topo, url(VIP6, 80), ['-6']);
        assert.equal(a.client, topo.client.address6);
        seen.push(a.server);
      }
      assert.deepEqual(tally(seen), { rs1: 2, rs2: 2, rs3: 2 });
    });

    it('a dual-stack service answers over IPv4 and IPv6 from the same servers', async () => {
      const a4 = await curl(topo, url(VIP4, 80), ['-4']);
      const a6 = await curl(topo, url(VIP6, 80), ['-6']);
      assert.equal(a4.client, topo.client.address);
      assert.equal(a6.client, topo.client.address6);
      assert.match(a4.server, /^rs[123]$/);
      assert.match(a6.server, /^rs[123]$/);
      const s = await api<{ services: { name: string; vip: string; stats: { conns: number } }[] }>(topo, dir, '/api/v1/status');
      const web6 = s.services.find((x) => x.name === 'web6')!;
      assert.equal(web6.vip, VIP6);
      assert.ok(web6.stats.conns >= 7);
      assert.ok(s.services.find((x) => x.name === 'web4')!.stats.conns >= 1);
    });

    it('a 16 MiB download over NAT66 arrives intact', async () => {
      await download(topo, url(VIP6, 80, `/bytes/${16 << 20}`), 16 << 20);
    });

    it('Full-NAT 6->6: the server sees an IPv6 LIP', async () => {
      const a = await curl(topo, url(VIP6, 81), ['-6']);
      assert.ok(LIPS6.includes(a.client), a.client);
    });

    it('NAT64: an IPv6 client reaches IPv4 servers through an IPv4 LIP, and a download survives the translation', async () => {
      const a = await curl(topo, url(VIP6, 82), ['-6']);
      assert.equal(a.client, LIP4);
      await download(topo, url(VIP6, 82, `/bytes/${8 << 20}`), 8 << 20);
    });

    it('DR: the servers hold the VIP, answer directly, and the director never sees a reply', async () => {
      const a = await curl(topo, url(VIP6_DR, 80), ['-6']);
      assert.equal(a.client, topo.client.address6);
      const s = await api<{ stats: Record<string, number> }>(topo, dir, '/api/v1/services/dr6');
      assert.ok(s.stats.inpkts >= 3);
      assert.equal(s.stats.outpkts, 0);
    });

    it('TUN: IPv6-in-IPv6 decapsulated in user space on the servers', async () => {
      const a = await curl(topo, url(VIP6_TUN, 80), ['-6']);
      assert.equal(a.client, topo.client.address6);
      const s = await api<{ stats: Record<string, number> }>(topo, dir, '/api/v1/services/tun6');
      assert.equal(s.stats.outpkts, 0);
    });

    it('PMTU discovery through the tunnel: full-size segments get Packet Too Big and an upload completes', async () => {
      const before = (await api<{ packets: Record<string, number> }>(topo, dir, '/api/v1/status')).packets.frag_needed_sent;
      // the client sends: without PMTU discovery its first full-size segment would stall the transfer
      const out = await topo.lab.exec(topo.client.role, 'iperf3', ['-6', '-c', VIP6_TUN, '-t', '2', '-J'], 60_000);
      const r = JSON.parse(out) as { end: { sum_received: { bytes: number } } };
      assert.ok(r.end.sum_received.bytes >= 1 << 20, `${r.end.sum_received.bytes} bytes`);
      const after = (await api<{ packets: Record<string, number> }>(topo, dir, '/api/v1/status')).packets.frag_needed_sent;
      assert.ok(after > before, `Packet Too Big sent: ${before} -> ${after}`);
    });

    it('iperf3 -6 runs through NAT66', async () => {
      const out = await topo.lab.exec(topo.client.role, 'iperf3', ['-6', '-c', VIP6, '-t', '2', '-J'], 30_000);
      const r = JSON.parse(out) as { end: { sum_received: { bits_per_second: number } } };
      const bps = r.end.sum_received.bits_per_second;
      assert.ok(bps > 1e6, `${bps} bit/s`);
    });

    for (const [family, vip] of [[6, VIP6], [4, VIP4]] as const) {
      it(`UDP over IPv${family}: a 4 KB datagram goes out in fragments and its 4 KB answer comes back in fragments`, async () => {
        const payload = 'x'.repeat(4000);
        const before = (await api<{ fragments: Record<string, number> }>(topo, dir, '/api/v1/status')).fragments;
        const { text: answer, from } = await udpFrom(topo, vip, 5353, payload);
        assert.equal(from, vip, 'the answer came back through the director');
        const [server, client, echoed] = answer.split('|');
        assert.match(server, /^rs[123]$/, answer.slice(0, 80));
        assert.equal(client, family === 6 ? topo.client.address6 : topo.client.address);
        assert.equal(echoed, payload);
        // both ways in three fragments each: two first fragments decided, four followed them
        const frag = (await api<{ fragments: Record<string, number> }>(topo, dir, '/api/v1/status')).fragments;
        assert.equal(frag.first - before.first, 2, JSON.stringify(frag));
        assert.equal(frag.forwarded - before.forwarded, 4, JSON.stringify(frag));
      });
    }

    it('the fragment cache remembered first fragments and forwarded the rest by them', async () => {
      const s = await api<{ fragments: Record<string, number> }>(topo, dir, '/api/v1/status');
      assert.ok(s.fragments.first >= 4, JSON.stringify(s.fragments));
      assert.ok(s.fragments.forwarded >= 8, JSON.stringify(s.fragments));
      assert.equal(s.fragments.timed_out, 0);
      const metrics = await topo.lab.exec(topo.director.role, 'curl', ['-s', `${dir.adminUrl}/metrics`]);
      assert.match(metrics, /^wlvs_fragments_total\{outcome="forwarded"\} [1-9]/m);
      assert.match(metrics, /^wlvs_fragment_cache_capacity 4096/m);
      assert.match(metrics, /wlvs_real_server_connections_total\{service="web6",real_server="\[2001:db8:2::11\]:80"\} [1-9]/);
    });

    it('the VIP answers ping -6, also a 3000-byte ping that travels in fragments', async () => {
      assert.match(await topo.lab.exec(topo.client.role, 'ping', ['-6', '-c', '2', '-W', '2', VIP6], 10_000), /2 received/);
      assert.match(await topo.lab.exec(topo.client.role, 'ping', ['-6', '-c', '2', '-W', '2', '-s', '3000', VIP6], 10_000), /2 received/);
      assert.match(await topo.lab.exec(topo.client.role, 'ping', ['-4', '-c', '2', '-W', '2', '-s', '3000', VIP4], 10_000), /2 received/);
      const s = await api<{ host_stack: Record<string, number> }>(topo, dir, '/api/v1/status');
      assert.ok(s.host_stack.ndAnswered > 0, 'neighbour solicitations answered');
      assert.ok(s.host_stack.fragmentsReassembled >= 4);
    });

    it('status and sessions print IPv6 as ipvsadm does: [2001:db8::..]:port', async () => {
      const out = await topo.lab.exec(topo.director.role, process.execPath,
        [new URL('../../../bin/wlvs.js', import.meta.url).pathname, 'status', '--api', dir.adminUrl]);
      assert.match(out, /TCP {2}\[2001:db8:1::100\]:80 wrr/);
      assert.match(out, /-> \[2001:db8:2::11\]:80 +Masq/);
      const conns = await topo.lab.exec(topo.director.role, process.execPath,
        [new URL('../../../bin/wlvs.js', import.meta.url).pathname, 'conns', '--api', dir.adminUrl, '--client', topo.client.address6!]);
      assert.match(conns, /\[2001:db8:1::10\]:\d+ +\[2001:db8:1::100\]:80/);
      const r = await topo.lab.exec(topo.director.role, 'curl', ['-s', '-X', 'POST', '-H', `authorization: Bearer ${LAB_TOKEN}`,
        `${dir.adminUrl}/api/v1/services/web6/real-servers/${encodeURIComponent('[2001:db8:2::12]:80')}/drain`]);
      assert.match(r, /realServersChanged/);
    });
  });
}

if (wanted('tun/ipv6')) {
  describe('IPv6 over a TUN device: NAT66, Full-NAT 6->6 and NAT64 routed by the kernel', { timeout: 240_000 }, () => {
    let topo: Topology;
    const VIP = '2001:db8:100::1';
    before(async () => {
      topo = await buildTopology({ ipv6: true, rsTxOff: true, tag: 'wtsx' });
      await startRealServers(topo, { forwarding: 'nat', vip: VIP, ports: [80], addr: '::' });
      await startDirector(topo, (token) => ({
        director: {
          // the kernel drops packets from its own addresses as martians: wlvs's source is ::fd
          devices: [{ name: 'wlvs0', kind: 'tun', addresses: ['10.99.2.253/24', '2001:db8:2::fd/64'] }],
          sessions: 65536,
          fullnat: { local_addresses: ['2001:db8:3::201', '10.99.3.201'] },
          admin: { listen: '127.0.0.1:9180', token_file: token },
        },
        services: [
          { name: 'nat66', vip: VIP, port: 80, scheduler: 'rr', forwarding: 'nat', health_check: { type: 'none' }, real_servers: rsList(topo, 6, 80) },
          { name: 'full6', vip: VIP, port: 81, scheduler: 'rr', forwarding: 'fullnat',
            health_check: { type: 'none' }, real_servers: rsList(topo, 6, 80) },
          { name: 'nat64', vip: VIP, port: 82, scheduler: 'rr', forwarding: 'fullnat',
            health_check: { type: 'none' }, real_servers: rsList(topo, 4, 80) },
        ],
      }));
    });
    after(async () => {
      await topo?.lab.destroy();
    });

    it('NAT66 over TUN: the servers see the client, and a download arrives intact', async () => {
      const seen = new Set<string>();
      for (let i = 0; i < 3; i++) {
        const a = await curl(topo, url(VIP, 80), ['-6']);
        assert.equal(a.client, topo.client.address6);
        seen.add(a.server);
      }
      assert.equal(seen.size, 3);
      await download(topo, url(VIP, 80, `/bytes/${8 << 20}`), 8 << 20);
    });

    it('Full-NAT 6->6 and NAT64 over TUN', async () => {
      assert.equal((await curl(topo, url(VIP, 81), ['-6'])).client, '2001:db8:3::201');
      assert.equal((await curl(topo, url(VIP, 82), ['-6'])).client, '10.99.3.201');
    });
  });
}
