// IPv6 and what directors must agree on without talking (cluster.test.ts for IPv4): the Maglev
// table of an IPv6 service is a function of its servers' whole addresses (not of the 32-bit
// folds the core hashes, which two addresses may share, nor of their order or indices); a
// moved IPv6 flow continues in the middle on another director (mh + dr); and director.cluster
// takes IPv6 VIPs and local addresses when a neighbour speaks IPv6 (they are announced over the
// IPv6 sessions only), refusing them otherwise: they would never draw traffic.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { stringify } from 'yaml';
import * as abi from '../../src/dataplane/abi.js';
import { parseConfig } from '../../src/config/load.js';
import { TableApplier } from '../../src/director/apply.js';
import { WlvsError } from '../../src/errors.js';
import { fold6, ipBytes } from '../../src/model/address.js';
import { CIP6, CLIENT_MAC, CoreHarness, DEV0_MAC, FLAVOURS, RS_MACS, VIP6, realServerEntry6 } from './harness.js';
import { decodeFrame6, ethernet, tcp6Packet } from '../oracle/packet.js';

const fromClient6 = (pkt: Uint8Array) => ethernet(DEV0_MAC, CLIENT_MAC, pkt, 0x86dd);
// 2001:db8:2::1:0:0:1 and 2001:db8:2::1:1 fold to the same 32 bits (the XOR of the four words)
const TWINS = ['2001:db8:2:0:1::1', '2001:db8:2::1:1'];
const SERVERS = [
  { address: '2001:db8:2::31', port: 80, weight: 1 }, { address: '2001:db8:2::12', port: 80, weight: 2 },
  { address: '2001:db8:2::12', port: 8080, weight: 1 }, { address: TWINS[0], port: 80, weight: 3 },
  { address: TWINS[1], port: 80, weight: 1 }, { address: '2001:db8:3::1', port: 80, weight: 1 },
];

function config(servers: typeof SERVERS): string {
  return stringify({
    director: { devices: [{ name: 'wlvs0', kind: 'tap', addresses: ['10.0.2.253/24', '2001:db8:2::fd/64'] }] },
    services: [{
      name: 'web', vip: VIP6, port: 80, scheduler: 'mh', forwarding: 'dr', accept_mid_flow: true,
      health_check: { type: 'none' }, real_servers: servers,
    }],
  });
}

function director(flavour: 'release' | 'debug', rsBase = 0) {
  const h = new CoreHarness(flavour, { schedSize: 65537, realServers: 64 }).standard();
  const applier = new TableApplier(h.tables, { route: () => ({ device: 1, mac: '02:00:00:00:00:99', neighbour: '::' }) });
  if (rsBase) {
    applier.apply(parseConfig(config(SERVERS.map((s, i) => ({ ...s, address: `2001:db8:9::${i + 1}` }))
      .slice(0, rsBase))));
  }
  return { h, applier };
}

/** who ([address]:port) the Maglev table picks for each of `n` client keys */
function picks(d: ReturnType<typeof director>, n: number): string[] {
  const byIndex = new Map<number, string>();
  for (const v of d.applier.view()) for (const r of v.realServers) if (r.index !== null) byIndex.set(r.index, `[${r.address}]:${r.port}`);
  const svc = d.applier.serviceIndex('web')!;
  const vip = fold6(ipBytes(VIP6));
  return Array.from({ length: n }, (_, i) => {
    const rs = d.h.core.pickRealServer(svc, (i * 2654435761) >>> 0, i & 0xffff, vip);
    return byIndex.get(rs) ?? `none(${rs})`;
  });
}

const permute = <T>(a: T[], seed: number): T[] => {
  const out = [...a];
  let x = seed;
  for (let i = out.length - 1; i > 0; i--) {
    x = (x * 1103515245 + 12345) >>> 0;
    const j = x % (i + 1);
    [out[i], out[j]] = [out[j], out[i]];
  }
  return out;
};

for (const flavour of FLAVOURS) {
  describe(`cluster and IPv6: one Maglev table on every director (${flavour})`, () => {
    it('the twins share a fold (what this test is about)', () => {
      assert.equal(fold6(ipBytes(TWINS[0])), fold6(ipBytes(TWINS[1])));
    });

    it('the same IPv6 servers in any order, at any indices, give the same table', () => {
      const first = director(flavour);
      first.applier.apply(parseConfig(config(SERVERS)));
      const reference = picks(first, 20_000);
      const share = new Map<string, number>();
      for (const p of reference) share.set(p, (share.get(p) ?? 0) + 1);
      assert.equal(share.size, SERVERS.length, [...share.keys()].join(' '));
      for (let seed = 1; seed <= 6; seed++) {
        const d = director(flavour, seed % 3 ? seed : 0);
        d.applier.apply(parseConfig(config(permute(SERVERS, seed))));
        assert.deepEqual(picks(d, 20_000), reference, `permutation ${seed}`);
      }
    });
  });

  describe(`cluster and IPv6: a moved flow continues (${flavour})`, () => {
    const dr = () => {
      const h = new CoreHarness(flavour, { schedSize: 257 }).standard();
      h.service(0, { vip: VIP6, forwarding: 'dr', scheduler: 'mh', midFlow: true, port: 80 },
        [0, 1, 2, 3].map((i) => realServerEntry6(i, { port: 0 })));
      return h;
    };

    it('an ACK without a session goes where the SYN went on another director, untouched', () => {
      for (const sport of [50000, 50001, 50002, 50003]) {
        const syn = dr().one(fromClient6(tcp6Packet({ src: CIP6, dst: VIP6 }, { sport, dport: 80, flags: 'S' })), 1);
        const second = dr();
        const pkt = tcp6Packet({ src: CIP6, dst: VIP6 }, { sport, dport: 80, flags: 'A', seq: 9, ack: 7,
          payload: new Uint8Array(100).fill(3) });
        const r = second.one(fromClient6(pkt), 5);
        assert.equal(r.verdict, abi.VERDICT_FORWARD, `reason ${r.reason}`);
        const f = decodeFrame6(r.out, true);
        assert.equal(f.dstMac, decodeFrame6(syn.out, true).dstMac);
        assert.ok(RS_MACS.slice(0, 4).includes(f.dstMac!));
        assert.deepEqual(f.ip6!.bytes, pkt, 'DR: the IPv6 packet is untouched');
        assert.equal(second.sessions(5)[0].state, abi.TCP_S_ESTABLISHED);
      }
    });

    it('without the option the segment is dropped as before', () => {
      const h = new CoreHarness(flavour, { schedSize: 257 }).standard();
      h.service(0, { vip: VIP6, forwarding: 'dr', scheduler: 'mh', port: 80 }, [realServerEntry6(0, { port: 0 })]);
      const r = h.one(fromClient6(tcp6Packet({ src: CIP6, dst: VIP6 }, { sport: 51000, dport: 80, flags: 'A' })), 1);
      assert.equal(r.verdict, abi.VERDICT_DROP);
      assert.equal(r.reason, abi.DROP_NO_SESSION);
    });
  });
}

describe('cluster and IPv6: configuration', () => {
  const BGP4 = '{ local_as: 65001, local_address: 10.99.2.21, neighbors: [ { address: 10.99.2.254, as: 65000 } ] }';
  const BGP6 = '{ local_as: 65001, local_address: 10.99.2.21, local_address6: "2001:db8:2::21", ' +
    'neighbors: [ { address: 10.99.2.254, as: 65000 }, { address: "2001:db8:2::fe", as: 65000 } ] }';
  const member = (vip: string, lip = '10.99.3.1', bgp = BGP4) => `director:
  devices: [ { name: wlvs0, kind: tun, addresses: [10.99.2.231/24, "2001:db8:2::e7/64"] } ]
  fullnat: { local_addresses: ["${lip}"] }
  cluster:
    name: d1
    bgp: ${bgp}
    members:
      - { name: d1, sync: 10.99.2.21:8849, local_addresses: ["${lip}"] }
      - { name: d2, sync: 10.99.2.22:8849, local_addresses: [10.99.3.2] }
    sync: { auth_key_file: /etc/wlvs/cluster.key }
services:
  - { name: web, vip: "${vip}", port: 80, scheduler: mh, forwarding: fullnat,
      real_servers: [ { address: 10.99.2.11 } ] }
`;
  const errorOf = (text: string): string => {
    try {
      parseConfig(text, 'd1.yaml');
    } catch (err) {
      assert.ok(WlvsError.is(err));
      return (err as Error).message;
    }
    assert.fail('expected an error');
  };

  it('IPv4-only neighbours: an IPv4 member is accepted; an IPv6 VIP or local address is refused with its place', () => {
    assert.equal(parseConfig(member('10.99.100.1'), 'd1.yaml').cluster!.name, 'd1');
    assert.match(errorOf(member('2001:db8:1::100')),
      /d1\.yaml:\d+:\d+ services\[0\]\.vip: 2001:db8:1::100 cannot be announced: no BGP neighbour is IPv6/);
    assert.match(errorOf(member('10.99.100.1', '2001:db8:3::1')),
      /director\.cluster\.members: local address 2001:db8:3::1 of d1 cannot be announced: no BGP neighbour is IPv6/);
  });

  it('an IPv6 neighbour: IPv6 VIPs (NAT64 too) and local addresses are accepted; it needs bgp.local_address6', () => {
    const text = (vip: string, lip = '10.99.3.1') => member(vip, lip, BGP6);
    const c = parseConfig(text('2001:db8:1::100'), 'd1.yaml');
    assert.equal(c.cluster!.bgp.localAddress6, '2001:db8:2::21');
    assert.deepEqual(c.cluster!.bgp.neighbors.map((n) => n.address), ['10.99.2.254', '2001:db8:2::fe']);
    assert.equal(c.services[0].vip, '2001:db8:1::100');
    assert.equal(parseConfig(text('10.99.100.1'), 'd1.yaml').cluster!.name, 'd1');
    // Full-NAT 6->6: IPv6 local addresses, announced as /128s
    assert.deepEqual(parseConfig(text('2001:db8:1::100', '2001:db8:3::1')
      .replace('local_addresses: [10.99.3.2]', 'local_addresses: ["2001:db8:3::2"]')
      .replace('address: 10.99.2.11 }', 'address: "2001:db8:2::11" }'), 'd1.yaml').cluster!.members
      .map((m) => m.localAddresses), [['2001:db8:3::1'], ['2001:db8:3::2']]);
    assert.match(errorOf(member('2001:db8:1::100', '10.99.3.1', BGP6.replace('local_address6: "2001:db8:2::21", ', ''))),
      /2001:db8:2::fe: an IPv6 neighbour needs bgp\.local_address6/);
    assert.match(errorOf(text('10.99.100.1').replace('local_address6: "2001:db8:2::21"', 'local_address6: 10.99.2.21')),
      /local_address6: expected an IPv6 address/);
  });
});
