// IP fragments of both families without reassembly: every fragment follows its first fragment's
// decision and is rewritten the same way (the oracle reassembles what came out and checks the
// transport checksum of the whole datagram); fragments before their first wait in the hold
// region and are released by it, or time out (counted); the buffer is bounded (counted).
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import * as abi from '../../src/dataplane/abi.js';
import {
  CIP, CIP6, CLIENT_MAC, CoreHarness, DEV0_MAC, DEV1_MAC, FLAVOURS, RIPS, RIPS6, RS_MACS, VIP, VIP6, realServerEntry,
  realServerEntry6,
} from './harness.js';
import {
  allChecksumsOk, allChecksumsOk6, checksum, decodeFrame, decodeFrame6, decodeIp, decodeIp6, ethernet, fragment4,
  fragment6, icmpPacket, reassemble4, reassemble6, udp6Packet, udpPacket,
} from '../oracle/packet.js';

const eth4 = (p: Uint8Array) => ethernet(DEV0_MAC, CLIENT_MAC, p);
const eth6 = (p: Uint8Array) => ethernet(DEV0_MAC, CLIENT_MAC, p, 0x86dd);
const ipOf = (f: Uint8Array) => f.subarray(14);
const big = (n: number) => Uint8Array.from({ length: n }, (_, i) => (i * 7) & 255);

for (const flavour of FLAVOURS) {
  describe(`IPv4 fragments (${flavour})`, () => {
    for (const mode of ['nat', 'fullnat', 'dr'] as const) {
      it(`${mode}: a 4 KB datagram in fragments reaches one server, every fragment rewritten alike`, () => {
        const h = new CoreHarness(flavour).standard();
        h.service(0, { forwarding: mode, protocol: 'udp', port: 53 }, [0, 1, 2].map((i) => realServerEntry(i, mode === 'dr' ? { port: 0 } : { port: 53 })));
        const dgram = udpPacket({ src: CIP, dst: VIP, id: 0x7777 }, { sport: 5353, dport: 53, payload: big(4000) });
        const frags = fragment4(dgram, 1480);
        assert.equal(frags.length, 3);
        const out = h.run(frags.map(eth4), 1);
        for (const r of out) assert.equal(r.verdict, abi.VERDICT_FORWARD, `reason ${r.reason}`);
        const macs = new Set(out.map((r) => decodeFrame(r.out, true).dstMac));
        assert.equal(macs.size, 1, 'one server');
        for (const r of out) assert.ok(decodeIp(ipOf(r.out)).headerChecksumOk);
        const whole = decodeIp(reassemble4(out.map((r) => ipOf(r.out))));
        if (mode === 'dr') assert.equal(whole.dst, VIP);
        else assert.ok(RIPS.includes(whole.dst), whole.dst);
        assert.equal(whole.udp!.dport, 53);
        assert.ok(allChecksumsOk(whole), 'the reassembled datagram verifies');
        assert.deepEqual(whole.udp!.payload, big(4000));
        assert.equal(h.tables.stat(abi.STAT_FRAG_FIRST), 1n);
        assert.equal(h.tables.stat(abi.STAT_FRAG_HITS), 2n);
      });
    }

    it('fragments of a NAT reply follow it back to the client, source rewritten', () => {
      const h = new CoreHarness(flavour).standard();
      h.service(0, { forwarding: 'nat', protocol: 'udp', port: 53 }, [realServerEntry(0, { port: 53 })]);
      h.one(eth4(udpPacket({ src: CIP, dst: VIP }, { sport: 999, dport: 53 })), 1);
      const answer = udpPacket({ src: RIPS[0], dst: CIP, id: 0x1111 }, { sport: 53, dport: 999, payload: big(3000) });
      const out = h.run(fragment4(answer, 1400).map((f) => ethernet(DEV1_MAC, RS_MACS[0], f)), 2, { dev: 1 });
      for (const r of out) assert.equal(r.verdict, abi.VERDICT_FORWARD, `reason ${r.reason}`);
      const whole = decodeIp(reassemble4(out.map((r) => ipOf(r.out))));
      assert.equal(whole.src, VIP);
      assert.equal(whole.dst, CIP);
      assert.ok(allChecksumsOk(whole));
    });

    it('a fragment before its first one waits in the hold region and leaves with it, rewritten', () => {
      const h = new CoreHarness(flavour).standard();
      h.service(0, { forwarding: 'nat', protocol: 'udp', port: 53 }, [realServerEntry(0, { port: 53 })]);
      const frags = fragment4(udpPacket({ src: CIP, dst: VIP, id: 0x2222 }, { sport: 1, dport: 53,
        payload: big(2500) }), 1200);
      const held = h.one(eth4(frags[2]), 1);
      assert.equal(held.verdict, abi.VERDICT_HELD);
      assert.equal(h.tables.header(abi.HDR_HOLD_WAITING), 1);
      const firstTwo = h.run([eth4(frags[0]), eth4(frags[1])], 2);
      assert.deepEqual(firstTwo.map((r) => r.verdict), [abi.VERDICT_FORWARD, abi.VERDICT_FORWARD]);
      const released: { dev: number; frame: Uint8Array }[] = [];
      assert.equal(h.tables.drainHeld((dev, frame) => released.push({ dev, frame })), 1);
      assert.equal(released[0].dev, 1);
      assert.equal(decodeFrame(released[0].frame, true).dstMac, RS_MACS[0]);
      const whole = decodeIp(reassemble4([...firstTwo.map((r) => ipOf(r.out)), ipOf(released[0].frame)]));
      assert.equal(whole.dst, RIPS[0]);
      assert.ok(allChecksumsOk(whole));
      assert.equal(h.tables.header(abi.HDR_HOLD_WAITING), 0);
      assert.equal(h.tables.stat(abi.STAT_FRAG_RELEASED), 1n);
      // the hold region is free again and nothing is counted as dropped
      assert.equal(h.tables.drainHeld(() => undefined), 0);
      assert.equal(h.tables.stat(abi.STAT_DROPPED), 0n);
    });

    it('a fragment whose first fragment never comes times out (counted), and the buffer is bounded', () => {
      const h = new CoreHarness(flavour).standard();
      h.service(0, { forwarding: 'nat', protocol: 'udp', port: 53 }, [realServerEntry(0, { port: 53 })]);
      const later = (id: number) => eth4(fragment4(udpPacket({ src: CIP, dst: VIP, id }, { sport: 1, dport: 53,
        payload: big(2000) }), 1000)[1]);
      const rs = h.run([1, 2, 3, 4, 5].map(later), 10);
      assert.deepEqual(rs.map((r) => r.verdict), [3, 3, 3, 3, abi.VERDICT_DROP], 'four hold entries');
      assert.equal(rs[4].reason, abi.DROP_FRAG_OVERFLOW);
      h.core.sweep(0, 16, 10 + 400);
      assert.equal(h.drops(abi.DROP_FRAG_TIMEOUT), 0n, 'not yet');
      h.core.sweep(0, 16, 10 + 501);
      assert.equal(h.drops(abi.DROP_FRAG_TIMEOUT), 4n);
      assert.equal(h.tables.header(abi.HDR_HOLD_WAITING), 0);
      assert.equal(h.one(later(9), 600).verdict, abi.VERDICT_HELD, 'room again');
    });

    it('fragments that overlap are forwarded alike; the receiver decides (no reassembly here)', () => {
      const h = new CoreHarness(flavour).standard();
      h.service(0, { forwarding: 'nat', protocol: 'udp', port: 53 }, [realServerEntry(0, { port: 53 }), realServerEntry(1, { port: 53 })]);
      const frags = fragment4(udpPacket({ src: CIP, dst: VIP, id: 0x3333 }, { sport: 2, dport: 53,
        payload: big(2000) }), 1000);
      const dup = frags[1].slice();
      const dv = new DataView(dup.buffer);
      dv.setUint16(6, (dv.getUint16(6) & 0xe000) | 100); // offset 800: overlaps the first
      dv.setUint16(10, 0);
      dv.setUint16(10, checksum(dup.subarray(0, 20)));
      const out = h.run([eth4(frags[0]), eth4(dup), eth4(frags[1])], 1);
      for (const r of out) assert.equal(r.verdict, abi.VERDICT_FORWARD, `reason ${r.reason}`);
      assert.equal(new Set(out.map((r) => decodeIp(ipOf(r.out)).dst)).size, 1);
    });

    it('a later fragment of an echo to the VIP goes to the host, which reassembles it', () => {
      const h = new CoreHarness(flavour).standard();
      h.service(0, { forwarding: 'nat' }, [realServerEntry(0)]);
      const frags = fragment4(icmpPacket({ src: CIP, dst: VIP }, { type: 8, code: 0, rest: 1, payload: big(3000) }),
        1480);
      assert.deepEqual(h.run(frags.map(eth4), 1).map((r) => r.verdict), [2, 2, 2]);
    });

    it('a fragment whose session was reused by another flow is not rewritten (counted)', () => {
      const h = new CoreHarness(flavour).standard();
      h.service(0, { forwarding: 'nat', protocol: 'udp', port: 53 }, [realServerEntry(0, { port: 53 })]);
      const frags = fragment4(udpPacket({ src: CIP, dst: VIP, id: 0x4444 }, { sport: 3, dport: 53,
        payload: big(2000) }), 1000);
      h.one(eth4(frags[0]), 1);
      // the session expires and its record goes to another client
      h.core.sweep(0, 64, 1 + 301_000);
      h.one(eth4(udpPacket({ src: '10.0.1.77', dst: VIP }, { sport: 3, dport: 53 })), 301_002);
      const r = h.one(eth4(frags[1]), 301_003);
      assert.notEqual(r.verdict, abi.VERDICT_FORWARD);
    });
  });

  describe(`IPv6 fragments (${flavour})`, () => {
    for (const mode of ['nat', 'fullnat', 'tun'] as const) {
      it(`${mode}: a 4 KB datagram in fragments, in any order, reaches one server rewritten alike`, () => {
        const h = new CoreHarness(flavour).standard({ mtu: 1500 });
        h.service(0, { vip: VIP6, forwarding: mode, protocol: 'udp', port: 53 },
          [0, 1].map((i) => realServerEntry6(i, { port: mode === 'tun' ? 0 : 53 })));
        const dgram = udp6Packet({ src: CIP6, dst: VIP6 }, { sport: 5353, dport: 53, payload: big(4000) });
        // 1400-byte pieces: with the tunnel's 40 bytes they still fit a 1500 MTU
        const frags = fragment6(dgram, 1400, 0xabcd);
        const order = [2, 0, 1];
        const out = h.run(order.map((i) => eth6(frags[i])), 1);
        assert.equal(out[0].verdict, abi.VERDICT_HELD, 'the last fragment came first and waits');
        assert.equal(out[1].verdict, abi.VERDICT_FORWARD, `reason ${out[1].reason}`);
        assert.equal(out[2].verdict, abi.VERDICT_FORWARD, `reason ${out[2].reason}`);
        const released: Uint8Array[] = [];
        h.tables.drainHeld((_d, f) => released.push(f));
        assert.equal(released.length, 1);
        const frames = [out[1].out, out[2].out, released[0]];
        assert.equal(new Set(frames.map((f) => decodeFrame6(f, true).dstMac)).size, 1);
        let pieces = frames.map(ipOf);
        if (mode === 'tun') {
          for (const p of pieces) assert.equal(decodeIp6(p).nh, 41);
          pieces = pieces.map((p) => p.subarray(40));
        }
        const whole = decodeIp6(reassemble6(pieces));
        if (mode === 'tun') assert.equal(whole.dst, VIP6);
        else assert.ok(RIPS6.includes(whole.dst), whole.dst);
        assert.ok(allChecksumsOk6(whole), 'the reassembled datagram verifies');
        assert.deepEqual(whole.udp!.payload, big(4000));
      });
    }

    it('fragments of a NAT66 reply follow it back to the client, source rewritten', () => {
      const h = new CoreHarness(flavour).standard();
      h.service(0, { vip: VIP6, forwarding: 'nat', protocol: 'udp', port: 53 }, [realServerEntry6(0, { port: 53 })]);
      h.one(eth6(udp6Packet({ src: CIP6, dst: VIP6 }, { sport: 999, dport: 53 })), 1);
      const answer = udp6Packet({ src: RIPS6[0], dst: CIP6 }, { sport: 53, dport: 999, payload: big(3000) });
      const out = h.run(fragment6(answer, 1400, 0x55).map((f) => ethernet(DEV1_MAC, RS_MACS[0], f, 0x86dd)), 2,
        { dev: 1 });
      for (const r of out) assert.equal(r.verdict, abi.VERDICT_FORWARD, `reason ${r.reason}`);
      const whole = decodeIp6(reassemble6(out.map((r) => ipOf(r.out))));
      assert.equal(whole.src, VIP6);
      assert.equal(whole.dst, CIP6);
      assert.ok(allChecksumsOk6(whole));
      assert.equal(h.tables.stat(abi.STAT_FRAG_FIRST), 1n);
    });

    it('NAT64 does not translate fragments: a counted drop, never a wrong packet', () => {
      const h = new CoreHarness(flavour).standard();
      h.service(0, { vip: VIP6, forwarding: 'fullnat', protocol: 'udp', port: 53 }, [realServerEntry(0, { port: 53 })]);
      const frags = fragment6(udp6Packet({ src: CIP6, dst: VIP6 }, { sport: 1, dport: 53, payload: big(3000) }), 1400,
        9);
      const out = h.run(frags.map(eth6), 1);
      assert.deepEqual(out.map((r) => r.verdict), [abi.VERDICT_DROP, abi.VERDICT_HELD, abi.VERDICT_HELD]);
      assert.equal(h.drops(abi.DROP_FRAGMENT), 1n);
      // its later fragments wait for a decision that never comes, then time out
      h.core.sweep(0, 16, 1000);
      assert.equal(h.drops(abi.DROP_FRAG_TIMEOUT), 2n);
    });
  });
}
