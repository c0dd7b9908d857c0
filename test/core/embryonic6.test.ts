// The embryonic budget (issue 9's defence before insertion) counts IPv6 connections too: an
// IPv6 SYN takes a budget place (its record's protocol byte carries PROTO_V6), a SYN at the
// budget evicts the oldest embryonic session of either family, and expiry gives the places back.
// The SYN proxy itself is IPv4-only (config refuses syn_proxy on an IPv6 VIP).
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
  const yaml = (svc: string) => `director:
  devices: [ { name: wlvs0, kind: tap, addresses: [10.0.2.1/24, "2001:db8:2::1/64"] } ]
services:
  - { name: web6, vip: "2001:db8:1::100", port: 80, forwarding: nat, ${svc}health_check: { type: none },
      real_servers: [ { address: "2001:db8:2::11" } ] }
`;
  it('auto mode skips an IPv6 service; asking for the proxy on one is refused with its place', () => {
    assert.equal(parseConfig(yaml('')).services[0].synProxy, 'off');
    for (const v of ['on', 'auto']) {
      assert.throws(() => parseConfig(yaml(`syn_proxy: ${v}, `), 'd.yaml'),
        /d\.yaml:4:\d+ services\[0\]\.syn_proxy: the SYN proxy does not handle IPv6 VIPs yet/);
    }
  });
});
