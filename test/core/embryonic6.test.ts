// The embryonic budget (issue 9's defence before insertion) counts IPv6 connections too: an
// IPv6 SYN takes a budget place (its record's protocol byte carries PROTO_V6), a SYN at the
// budget evicts the oldest embryonic session of either family, and expiry gives the places back.
// The SYN proxy covers IPv6 VIPs as IPv4 ones (test/core/synproxy.test.ts), but not across
// families: config refuses syn_proxy for an IPv6 VIP with IPv4 real servers (NAT64).
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import * as abi from '../../src/dataplane/abi.js';
import { CIP, CIP6, CLIENT_MAC, CoreHarness, DEV0_MAC, FLAVOURS, VIP, VIP6, realServerEntry, realServerEntry6 } from './harness.js';
import { ethernet, tcp6Packet, tcpPacket } from '../oracle/packet.js';
import { parseConfig } from '../../src/config/load.js';

const syn6 = (sport: number) => ethernet(DEV0_MAC, CLIENT_MAC, tcp6Packet({ src: CIP6, dst: VIP6 },
  { sport, dport: 80, flags: 'S' }), 0x86dd);
const syn4 = (sport: number) => ethernet(DEV0_MAC, CLIENT_MAC, tcpPacket({ src: CIP, dst: VIP }, { sport, dport: 80, flags: 'S' }));

for (const flavour of FLAVOURS) {
  describe(`embryonic budget and IPv6 (${flavour})`, () => {
    it('IPv6 SYNs take places, evict at the budget, and give them back at expiry', () => {
      const h = new CoreHarness(flavour).standard();
      h.service(0, { vip: VIP6, forwarding: 'nat' }, [realServerEntry6(0)]);
      h.service(1, { forwarding: 'nat' }, [realServerEntry(1)], 1);
      h.tables.setSynFlood({ embryonicMax: 3, synRecvPressureS: 0, proxyFillRecords: 0, mss: 1460, wscale: 7 });
      assert.equal(h.one(syn4(1000), 1).verdict, abi.VERDICT_FORWARD);
      for (const p of [2000, 2001]) assert.equal(h.one(syn6(p), 2).verdict, abi.VERDICT_FORWARD);
      assert.equal(h.tables.embryonic().count, 3);
      // at the budget: the next SYN evicts the oldest embryonic session (the IPv4 one)
      assert.equal(h.one(syn6(2002), 3).verdict, abi.VERDICT_FORWARD);
      assert.equal(h.tables.embryonic().count, 3);
      assert.equal(h.tables.stat(abi.STAT_EMBRYONIC_EVICTED), 1n);
      assert.equal(h.sessions(3).filter((s) => s.client === CIP).length, 0, 'the IPv4 one went');
      h.core.sweep(0, 1 << 20, 10_000_000);
      assert.equal(h.tables.sessionCount(), 0);
      assert.equal(h.tables.embryonic().count, 0, 'every place back');
    });
  });
}

describe('syn_proxy and IPv6: configuration', () => {
  // a Full-NAT service takes LIPs of its servers' family (NAT64: IPv4 ones)
  const yaml = (svc: string, forwarding = 'nat', rs = '2001:db8:2::11') => `director:
  devices: [ { name: wlvs0, kind: tap, addresses: [10.0.2.1/24, "2001:db8:2::1/64"] } ]
  ${forwarding === 'fullnat' ? `fullnat: { local_addresses: [ "${rs.includes(':') ? '2001:db8:2::201' : '10.0.2.201'}" ] }` : ''}
services:
  - { name: web6, vip: "2001:db8:1::100", port: 80, forwarding: ${forwarding}, ${svc}health_check: { type: none },
      real_servers: [ { address: "${rs}" } ] }
`;
  it('an IPv6 service over nat or fullnat gets the proxy as an IPv4 one: auto by default, on when asked', () => {
    for (const fwd of ['nat', 'fullnat']) {
      assert.equal(parseConfig(yaml('', fwd)).services[0].synProxy, 'auto', fwd);
      for (const v of ['on', 'auto', 'off'] as const) assert.equal(parseConfig(yaml(`syn_proxy: ${v}, `, fwd)).services[0].synProxy, v);
    }
  });
  it('NAT64 (IPv6 VIP, IPv4 server) is left off by auto, and asking for it is refused with its place', () => {
    assert.equal(parseConfig(yaml('', 'fullnat', '10.0.2.11')).services[0].synProxy, 'off');
    for (const v of ['on', 'auto']) {
      assert.throws(() => parseConfig(yaml(`syn_proxy: ${v}, `, 'fullnat', '10.0.2.11'), 'd.yaml'),
        /d\.yaml:5:\d+ services\[0\]\.syn_proxy: the SYN proxy does not translate between families/);
    }
  });
});
