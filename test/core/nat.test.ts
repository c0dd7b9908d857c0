// NAT and Full-NAT through the core: both directions, every checksum recomputed by the oracle.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import * as abi from '../../src/dataplane/abi.js';
import {
  CIP, CLIENT_MAC, CoreHarness, DEV0_MAC, DEV1_MAC, FLAVOURS, LIPS, RIPS, RS_MACS, VIP, realServerEntry,
} from './harness.js';
import { allChecksumsOk, decodeFrame, ethernet, tcpPacket, udpPacket } from '../oracle/packet.js';

const toDirector = (pkt: Uint8Array, dev = 0) => ethernet(dev === 0 ? DEV0_MAC : DEV1_MAC,
  dev === 0 ? CLIENT_MAC : RS_MACS[0], pkt);

for (const flavour of FLAVOURS) {
  describe(`NAT (${flavour})`, () => {
    it('DNATs VIP:80 to RIP:8080 in and SNATs the reply out, with valid checksums', () => {
      const h = new CoreHarness(flavour).standard();
      h.service(0, { forwarding: 'nat' }, [realServerEntry(0)]);
      const syn = tcpPacket({ src: CIP, dst: VIP }, { sport: 40000, dport: 80, flags: 'S', payload: new Uint8Array([1, 2, 3]) });
      const r = h.one(toDirector(syn), 1000);
      assert.equal(r.verdict, abi.VERDICT_FORWARD);
      assert.equal(r.outDev, 1);
      const f = decodeFrame(r.out, true);
      assert.equal(f.dstMac, RS_MACS[0]);
      assert.equal(f.srcMac, DEV1_MAC);
      assert.equal(f.ip!.src, CIP);
      assert.equal(f.ip!.dst, RIPS[0]);
      assert.equal(f.ip!.tcp!.sport, 40000);
      assert.equal(f.ip!.tcp!.dport, 8080);
      assert.ok(allChecksumsOk(f.ip!), 'in-direction checksums');

      const reply = tcpPacket({ src: RIPS[0], dst: CIP }, { sport: 8080, dport: 40000, flags: 'SA', payload: new Uint8Array(33) });
      const o = h.one(ethernet(DEV1_MAC, RS_MACS[0], reply), 1001, { dev: 1 });
      assert.equal(o.verdict, abi.VERDICT_FORWARD);
      assert.equal(o.outDev, 0);
      const g = decodeFrame(o.out, true);
      assert.equal(g.dstMac, CLIENT_MAC, 'reply goes back to the client-side next hop learnt from the SYN');
      assert.equal(g.srcMac, DEV0_MAC);
      assert.equal(g.ip!.src, VIP);
      assert.equal(g.ip!.dst, CIP);
      assert.equal(g.ip!.tcp!.sport, 80);
      assert.equal(g.ip!.tcp!.dport, 40000);
      assert.ok(allChecksumsOk(g.ip!), 'out-direction checksums');
      assert.equal(h.tables.sessionCount(), 1);
    });

    it('keeps a zero UDP checksum zero and fixes a non-zero one', () => {
      const h = new CoreHarness(flavour).standard();
      h.service(0, { forwarding: 'nat', protocol: 'udp', port: 53 }, [realServerEntry(0, { port: 5353 })]);
      const zero = udpPacket({ src: CIP, dst: VIP }, { sport: 1111, dport: 53, payload: new Uint8Array(10),
        noChecksum: true });
      const a = decodeFrame(h.one(toDirector(zero), 10).out, true);
      assert.equal(a.ip!.udp!.checksum, 0);
      assert.equal(a.ip!.udp!.dport, 5353);
      const full = udpPacket({ src: CIP, dst: VIP }, { sport: 1112, dport: 53, payload: Uint8Array.from([9, 8, 7]) });
      const b = decodeFrame(h.one(toDirector(full), 11).out, true);
      assert.notEqual(b.ip!.udp!.checksum, 0);
      assert.ok(allChecksumsOk(b.ip!));
    });

    it('Full-NAT rewrites both ends and maps the reply back through the LIP', () => {
      const h = new CoreHarness(flavour).standard();
      h.service(0, { forwarding: 'fullnat' }, [realServerEntry(1)]);
      const syn = tcpPacket({ src: CIP, dst: VIP }, { sport: 41000, dport: 80, flags: 'S' });
      const r = h.one(toDirector(syn), 5);
      assert.equal(r.verdict, abi.VERDICT_FORWARD, `reason ${r.reason}`);
      const f = decodeFrame(r.out, true).ip!;
      assert.ok(LIPS.includes(f.src), `source ${f.src} is a LIP`);
      assert.equal(f.dst, RIPS[1]);
      assert.equal(f.tcp!.dport, 8080);
      assert.ok(f.tcp!.sport >= 1024);
      assert.ok(allChecksumsOk(f));
      const reply = tcpPacket({ src: RIPS[1], dst: f.src }, { sport: 8080, dport: f.tcp!.sport, flags: 'SA' });
      const o = h.one(ethernet(DEV1_MAC, RS_MACS[1], reply), 6, { dev: 1 });
      assert.equal(o.verdict, abi.VERDICT_FORWARD, `reason ${o.reason}`);
      const g = decodeFrame(o.out, true).ip!;
      assert.equal(g.src, VIP);
      assert.equal(g.dst, CIP);
      assert.equal(g.tcp!.sport, 80);
      assert.equal(g.tcp!.dport, 41000);
      assert.ok(allChecksumsOk(g));
    });
  });
}
