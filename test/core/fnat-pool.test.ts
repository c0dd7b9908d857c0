// Full-NAT LIP:lport pools: unique ports, several LIPs, exhaustion counted, release on expiry.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import * as abi from '../../src/dataplane/abi.js';
import { CIP, CLIENT_MAC, CoreHarness, DEV0_MAC, FLAVOURS, LIPS, VIP, realServerEntry } from './harness.js';
import { decodeFrame, ethernet, tcpPacket } from '../oracle/packet.js';

const syn = (sport: number) => ethernet(DEV0_MAC, CLIENT_MAC, tcpPacket({ src: CIP, dst: VIP }, { sport, dport: 80, flags: 'S' }));

for (const flavour of FLAVOURS) {
  describe(`Full-NAT pool (${flavour})`, () => {
    it('hands out unique LIP:lport pairs across LIPs until exhausted, then counts drops', () => {
      const h = new CoreHarness(flavour).standard();
      h.tables.setLips([{ address: LIPS[0], portMin: 5000, portMax: 5009 }, { address: LIPS[1], portMin: 6000, portMax: 6004 }]);
      h.service(0, { forwarding: 'fullnat' }, [realServerEntry(0)]);
      const pairs = new Set<string>();
      for (let i = 0; i < 15; i++) {
        const r = h.one(syn(100 + i), 1);
        assert.equal(r.verdict, abi.VERDICT_FORWARD, `connection ${i}: reason ${r.reason}`);
        const ip = decodeFrame(r.out, true).ip!;
        pairs.add(`${ip.src}:${ip.tcp!.sport}`);
        const port = ip.tcp!.sport;
        assert.ok(ip.src === LIPS[0] ? port >= 5000 && port <= 5009 : port >= 6000 && port <= 6004, `${ip.src}:${port} in range`);
      }
      assert.equal(pairs.size, 15);
      assert.equal(h.tables.lipUsage(0).used, 10);
      assert.equal(h.tables.lipUsage(1).used, 5);
      const r = h.one(syn(999), 1);
      assert.equal(r.reason, abi.DROP_POOL_EXHAUSTED);
      assert.equal(h.drops(abi.DROP_POOL_EXHAUSTED), 1n);
      assert.equal(h.tables.sessionCount(), 15, 'the failed attempt left no record behind');
      // expiry returns every port
      h.core.sweep(100, 1 + 61_000);
      assert.equal(h.tables.lipUsage(0).used + h.tables.lipUsage(1).used, 0);
      assert.equal(h.one(syn(1000), 70_000).verdict, abi.VERDICT_FORWARD);
    });

    it('a service without a pool cannot carry Full-NAT (counted, no crash)', () => {
      const h = new CoreHarness(flavour).standard();
      h.service(0, { forwarding: 'fullnat' }, [realServerEntry(0)]);
      h.setPool(0, []);
      assert.equal(h.one(syn(1), 1).reason, abi.DROP_POOL_EXHAUSTED);
    });
  });
}
