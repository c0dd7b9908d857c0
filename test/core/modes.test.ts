// DR and TUN modes, L3 (TUN device) framing, and per-real-server mode overrides.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import * as abi from '../../src/dataplane/abi.js';
import {
  CIP, CLIENT_MAC, CoreHarness, DEV0_MAC, DEV1_MAC, DIP, FLAVOURS, RIPS, RS_MACS, VIP, realServerEntry,
} from './harness.js';
import { allChecksumsOk, decodeFrame, decodeIp, ethernet, tcpPacket, udpPacket } from '../oracle/packet.js';

const fromClient = (pkt: Uint8Array) => ethernet(DEV0_MAC, CLIENT_MAC, pkt);

for (const flavour of FLAVOURS) {
  describe(`DR mode (${flavour})`, () => {
    it('rewrites only the MACs and leaves IP CIP -> VIP untouched', () => {
      const h = new CoreHarness(flavour).standard();
      h.service(0, { forwarding: 'dr' }, [realServerEntry(2, { port: 0 })]);
      const pkt = tcpPacket({ src: CIP, dst: VIP }, { sport: 5555, dport: 80, flags: 'S', payload: new Uint8Array(100) });
      const r = h.one(fromClient(pkt), 1);
      assert.equal(r.verdict, abi.VERDICT_FORWARD);
      assert.equal(r.outDev, 1);
      const f = decodeFrame(r.out, true);
      assert.equal(f.dstMac, RS_MACS[2]);
      assert.equal(f.srcMac, DEV1_MAC);
      assert.deepEqual(f.ip!.bytes, pkt, 'the IP packet is byte-for-byte the same');
      // no out key: a reply that reached the director anyway is not part of the session
      assert.equal(h.sessions()[0].forwarding, abi.FWD_DR);
    });

    it('is refused on an L3 (TUN) device', () => {
      const h = new CoreHarness(flavour).standard({ l3: true });
      h.service(0, { forwarding: 'dr' }, [realServerEntry(0, { port: 0, mac: null })]);
      h.tables.setNextHop(0, '00:00:00:00:00:00');
      const pkt = tcpPacket({ src: CIP, dst: VIP }, { sport: 5555, dport: 80, flags: 'S' });
      const r = h.one(pkt, 1, { l2: false });
      assert.equal(r.verdict, abi.VERDICT_DROP);
      assert.equal(r.reason, abi.DROP_UNSUPPORTED);
    });

    it('counts replies as none: DR sessions never see out-direction traffic', () => {
      const h = new CoreHarness(flavour).standard();
      h.service(0, { forwarding: 'dr' }, [realServerEntry(0, { port: 0 })]);
      h.one(fromClient(tcpPacket({ src: CIP, dst: VIP }, { sport: 1, dport: 80, flags: 'S' })), 1);
      const state = h.sessions()[0].state;
      // replies that reach the director anyway: from the VIP (as a DR server sends them) and from
      // the RIP (a server without the VIP); neither is part of the session, and neither is counted
      const replies = [VIP, RIPS[0]].map((src) => ethernet(DEV1_MAC, RS_MACS[0],
        tcpPacket({ src, dst: CIP }, { sport: 80, dport: 1, flags: 'SA' })));
      const dropped = h.tables.stat(abi.STAT_DROPPED);
      for (const r of h.run(replies, 2, { dev: 1 })) {
        assert.equal(r.verdict, abi.VERDICT_DROP);
        assert.equal(r.reason, abi.DROP_NOT_OURS);
      }
      assert.equal(h.tables.stat(abi.STAT_DROPPED), dropped + 2n);
      const c = h.tables.rsCounters(0);
      assert.equal(c.inPackets, 1n);
      assert.equal(c.outPackets, 0n);
      assert.equal(h.tables.serviceCounters(0).outPackets, 0n);
      assert.equal(h.sessions().length, 1);
      assert.equal(h.sessions()[0].state, state, 'the replies moved no state');
    });
  });

  describe(`TUN mode (${flavour})`, () => {
    it('wraps CIP -> VIP in DIP -> RIP (IP-in-IP) with TTL, ID and DF of the inner packet', () => {
      const h = new CoreHarness(flavour).standard();
      h.service(0, { forwarding: 'tun' }, [realServerEntry(1, { port: 0 })]);
      const pkt = tcpPacket({ src: CIP, dst: VIP, ttl: 61, id: 0xbeef, df: true, tos: 0x10 },
        { sport: 7000, dport: 80, flags: 'S', payload: new Uint8Array(64) });
      const r = h.one(fromClient(pkt), 1);
      assert.equal(r.verdict, abi.VERDICT_FORWARD);
      const f = decodeFrame(r.out, true);
      assert.equal(f.dstMac, RS_MACS[1]);
      assert.equal(f.etherType, 0x0800);
      const outer = f.ip!;
      assert.equal(outer.proto, 4);
      assert.equal(outer.src, DIP);
      assert.equal(outer.dst, RIPS[1]);
      assert.equal(outer.ttl, 61);
      assert.equal(outer.id, 0xbeef);
      assert.equal(outer.df, true);
      assert.equal(outer.totalLength, pkt.length + 20);
      assert.ok(outer.headerChecksumOk);
      assert.deepEqual(outer.inner!.bytes, pkt);
      assert.ok(allChecksumsOk(outer));
    });

    it('answers a too-big DF packet with ICMP fragmentation-needed to the client', () => {
      const h = new CoreHarness(flavour).standard();
      h.service(0, { forwarding: 'tun' }, [realServerEntry(0, { port: 0 })]);
      const pkt = tcpPacket({ src: CIP, dst: VIP, df: true }, { sport: 7001, dport: 80, flags: 'S', payload: new Uint8Array(1500 - 40) });
      assert.equal(pkt.length, 1500);
      const r = h.one(fromClient(pkt), 1);
      assert.equal(r.verdict, abi.VERDICT_FORWARD);
      assert.equal(r.outDev, 0, 'back out of the device it came from');
      const f = decodeFrame(r.out, true);
      assert.equal(f.dstMac, CLIENT_MAC);
      assert.equal(f.srcMac, DEV0_MAC);
      assert.equal(f.ip!.dst, CIP);
      assert.equal(f.ip!.src, VIP);
      assert.equal(f.ip!.icmp!.type, 3);
      assert.equal(f.ip!.icmp!.code, 4);
      assert.equal(f.ip!.icmp!.rest & 0xffff, 1480, 'next-hop MTU = 1500 - 20');
      assert.ok(f.ip!.totalLength <= 576);
      assert.ok(allChecksumsOk(f.ip!));
      assert.equal(f.ip!.icmp!.quoted!.src, CIP);
      assert.equal(h.tables.stat(abi.STAT_FRAG_NEEDED_SENT), 1n);
    });

    it('drops a too-big packet without DF (counted)', () => {
      const h = new CoreHarness(flavour).standard();
      h.service(0, { forwarding: 'tun', protocol: 'udp', port: 53 }, [realServerEntry(0, { port: 0 })]);
      const pkt = udpPacket({ src: CIP, dst: VIP }, { sport: 9, dport: 53, payload: new Uint8Array(1500 - 28) });
      const r = h.one(fromClient(pkt), 1);
      assert.equal(r.reason, abi.DROP_TOO_BIG);
    });

    it('uses the service tunnel source and works on an L3 device', () => {
      const h = new CoreHarness(flavour).standard({ l3: true });
      h.service(0, { forwarding: 'tun', tunnelSource: '192.0.2.7' }, [realServerEntry(0, { port: 0, mac: null })]);
      h.tables.setNextHop(0, '00:00:00:00:00:00');
      const pkt = tcpPacket({ src: CIP, dst: VIP }, { sport: 7002, dport: 80, flags: 'S' });
      const r = h.one(pkt, 1, { l2: false });
      assert.equal(r.verdict, abi.VERDICT_FORWARD, `reason ${r.reason}`);
      const outer = decodeIp(r.out);
      assert.equal(outer.src, '192.0.2.7');
      assert.equal(outer.dst, RIPS[0]);
      assert.deepEqual(outer.inner!.bytes, pkt);
    });
  });

  describe(`mode override per real server (${flavour})`, () => {
    it('mixes NAT and DR servers in one service, as ipvsadm -a -m / -g allows', () => {
      const h = new CoreHarness(flavour).standard();
      h.service(0, { forwarding: 'nat', scheduler: 'rr' }, [realServerEntry(0, { forwarding: 'dr', port: 0 }), realServerEntry(1)]);
      const outs = [0, 1].map((k) => decodeFrame(h.one(fromClient(tcpPacket({ src: CIP, dst: VIP },
        { sport: 100 + k, dport: 80, flags: 'S' })), 1).out, true).ip!);
      const dr = outs.find((o) => o.dst === VIP)!;
      const nat = outs.find((o) => o.dst === RIPS[1])!;
      assert.ok(dr && nat, JSON.stringify(outs.map((o) => o.dst)));
      assert.equal(nat.tcp!.dport, 8080);
    });
  });
}
