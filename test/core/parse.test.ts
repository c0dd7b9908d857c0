// Frame validation and classification: every malformed input is a counted drop, never a
// trap; host frames and unknown packets follow the configured policy; services by port.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import * as abi from '../../src/dataplane/abi.js';
import {
  CIP, CLIENT_MAC, CoreHarness, DEV0_MAC, DEV1_MAC, DIP, FLAVOURS, LIPS, RIPS, RS_MACS, VIP, realServerEntry,
} from './harness.js';
import { arpRequest, decodeFrame, ethernet, ipv4Packet, tcpPacket, tcpSegment, udpPacket } from '../oracle/packet.js';

const fromClient = (pkt: Uint8Array) => ethernet(DEV0_MAC, CLIENT_MAC, pkt);
const syn = (sport = 1000, dport = 80) => tcpPacket({ src: CIP, dst: VIP }, { sport, dport, flags: 'S' });

function corrupt(f: Uint8Array, at: number, value: number): Uint8Array {
  const c = f.slice();
  c[at] = value;
  return c;
}

for (const flavour of FLAVOURS) {
  describe(`parsing (${flavour})`, () => {
    // every test gets its own core and tables: no test sees what another one left behind
    const fresh = () => {
      const h = new CoreHarness(flavour).standard();
      h.service(0, { forwarding: 'nat' }, [realServerEntry(0)]);
      return h;
    };
    const good = fromClient(syn());

    const cases: [string, Uint8Array, number][] = [
      ['a runt Ethernet frame', good.subarray(0, 10), abi.DROP_MALFORMED],
      ['no room for an IP header', good.subarray(0, 30), abi.DROP_MALFORMED],
      ['IP version 5', corrupt(good, 14, 0x55), abi.DROP_MALFORMED],
      ['IHL below 5', corrupt(good, 14, 0x44), abi.DROP_MALFORMED],
      ['IHL beyond the frame', corrupt(good, 14, 0x4f), abi.DROP_MALFORMED],
      ['total length beyond the frame', corrupt(good, 16, 0x7f), abi.DROP_MALFORMED],
      ['total length below IHL', corrupt(corrupt(good, 16, 0), 17, 10), abi.DROP_MALFORMED],
      ['a bad IP header checksum', corrupt(good, 24, good[24] ^ 0xff), abi.DROP_IP_CSUM],
      ['a truncated TCP header', fromClient(ipv4Packet({ src: CIP, dst: VIP }, 6, new Uint8Array(12))), abi.DROP_MALFORMED],
      ['a TCP data offset beyond the segment', (() => {
        const seg = tcpSegment({ src: CIP, dst: VIP }, { sport: 1, dport: 80, flags: 'S' });
        seg[12] = 0xf0;
        return fromClient(ipv4Packet({ src: CIP, dst: VIP }, 6, seg));
      })(), abi.DROP_MALFORMED],
      ['a UDP length beyond the datagram', (() => {
        const p = udpPacket({ src: CIP, dst: VIP }, { sport: 1, dport: 80 });
        p[25] = 200;
        return fromClient(ipv4Packet({ src: CIP, dst: VIP }, 17, p.subarray(20)));
      })(), abi.DROP_MALFORMED],
      // fragments are test/core/frag.test.ts's; a first fragment without its ports is malformed
      ['a first fragment too short for its ports', fromClient(ipv4Packet({ src: CIP, dst: VIP, mf: true }, 6, new Uint8Array(8))), abi.DROP_MALFORMED],
      ['a frame for another MAC', ethernet('02:99:99:99:99:99', CLIENT_MAC, syn()), abi.DROP_NOT_MINE],
      // IPv6 is test/core/ipv6.test.ts's; a frame of its EtherType that is not IPv6 is malformed
      ['version 0 in an IPv6 frame', ethernet(DEV0_MAC, CLIENT_MAC, new Uint8Array(60), 0x86dd), abi.DROP_MALFORMED],
      ['a VIP port without a service', fromClient(syn(1, 443)), abi.DROP_NO_SERVICE],
      ['GRE to a VIP', fromClient(ipv4Packet({ src: CIP, dst: VIP }, 47, new Uint8Array(8))), abi.DROP_UNSUPPORTED],
      ['a TCP segment to a LIP with no session', fromClient(tcpPacket({ src: RIPS[0], dst: LIPS[0] }, { sport: 8080, dport: 5000 })), abi.DROP_NO_SESSION],
      ['a packet for nobody we know', fromClient(tcpPacket({ src: CIP, dst: '198.51.100.1' }, { sport: 1, dport: 2 })), abi.DROP_NOT_OURS],
    ];
    for (const [name, frame, reason] of cases) {
      it(`drops ${name} (reason ${reason}, counted)`, () => {
        const h = fresh();
        const before = h.drops(reason);
        const r = h.one(frame, 1);
        assert.equal(r.verdict, abi.VERDICT_DROP);
        assert.equal(r.reason, reason);
        assert.equal(h.drops(reason), before + 1n);
      });
    }

    it('accepts IP options and padded frames, and strips the padding', () => {
      const h = fresh();
      const p = tcpPacket({ src: CIP, dst: VIP, options: [1, 1, 1, 0] }, { sport: 3, dport: 80, flags: 'S' });
      const padded = new Uint8Array(p.length + 14 + 6);
      padded.set(fromClient(p));
      const r = h.one(padded, 1);
      assert.equal(r.verdict, abi.VERDICT_FORWARD, `reason ${r.reason}`);
      assert.equal(r.out.length, 14 + p.length);
      assert.equal(decodeFrame(r.out, true).ip!.tcp!.dport, 8080);
    });

    it('hands ARP and anything for a DIP to the host', () => {
      const h = fresh();
      assert.equal(h.one(arpRequest(CLIENT_MAC, CIP, VIP), 1).verdict, abi.VERDICT_HOST);
      const toDip = ethernet(DEV1_MAC, RS_MACS[0], tcpPacket({ src: RIPS[0], dst: DIP }, { sport: 1, dport: 22 }));
      assert.equal(h.one(toDip, 1, { dev: 1 }).verdict, abi.VERDICT_HOST);
    });

    it('applies the unknown-packet policy: host or pass', () => {
      const h = fresh();
      const stray = fromClient(tcpPacket({ src: CIP, dst: '198.51.100.1' }, { sport: 1, dport: 2 }));
      h.tables.setOptions(abi.OPT_UNKNOWN_HOST);
      assert.equal(h.one(stray, 1).verdict, abi.VERDICT_HOST);
      h.tables.setOptions(abi.OPT_UNKNOWN_PASS);
      const r = h.one(stray, 1);
      assert.equal(r.verdict, abi.VERDICT_FORWARD);
      assert.equal(r.outDev, 0);
      assert.deepEqual(r.out, stray);
    });

    // VRRP (RFC 5798 §5.1.1.2) reaches the host's election: the group's Ethernet address
    // 01:00:5e:00:00:12 is accepted for VRRP to 224.0.0.18 only, never for anything else
    const VRRP_MAC = '01:00:5e:00:00:12';
    const advert = (dst = '224.0.0.18', proto = 112) =>
      ethernet(VRRP_MAC, CLIENT_MAC, ipv4Packet({ src: '10.0.1.3', dst, ttl: 255 }, proto, new Uint8Array(12)));
    it('hands VRRP advertisements to the group to the host', () => {
      const h = fresh();
      assert.equal(h.one(advert(), 1).verdict, abi.VERDICT_HOST);
      // unicast VRRP to a DIP, as keepalived's unicast_peer sends it
      const unicast = ethernet(DEV0_MAC, CLIENT_MAC, ipv4Packet({ src: '10.0.1.3', dst: '10.0.1.1', ttl: 255 }, 112, new Uint8Array(12)));
      assert.equal(h.one(unicast, 1).verdict, abi.VERDICT_HOST);
    });
    it('drops what else comes to the VRRP group MAC, whatever the unknown-packet policy', () => {
      const h = fresh();
      h.tables.setOptions(abi.OPT_UNKNOWN_PASS);
      for (const f of [advert('224.0.0.5'), advert('224.0.0.18', 17), advert('10.0.1.100', 112)]) {
        const before = h.drops(abi.DROP_NOT_MINE);
        const r = h.one(f, 1);
        assert.deepEqual([r.verdict, r.reason], [abi.VERDICT_DROP, abi.DROP_NOT_MINE]);
        assert.equal(h.drops(abi.DROP_NOT_MINE), before + 1n);
      }
    });
    it('accepts frames for the device\'s VRRP virtual MAC only while the host sets it', () => {
      const h = fresh();
      const vmac = '00:00:5e:00:01:33';
      const f = ethernet(vmac, CLIENT_MAC, syn(4242));
      assert.equal(h.one(f, 1).reason, abi.DROP_NOT_MINE);
      const unicastArp = arpRequest(CLIENT_MAC, CIP, VIP).map((b, i) => (i < 6 ? [0, 0, 0x5e, 0, 1, 0x33][i] : b));
      assert.equal(h.one(unicastArp, 1).reason,
        abi.DROP_NOT_MINE, 'unicast ARP to the virtual MAC');
      h.tables.setVirtualMac(0, vmac);
      assert.equal(h.one(f, 1).verdict, abi.VERDICT_FORWARD);
      // the device's own MAC still works, and another device does not take the virtual MAC
      assert.equal(h.one(fromClient(syn(4243)), 1).verdict, abi.VERDICT_FORWARD);
      assert.equal(h.one(ethernet(vmac, RS_MACS[0], syn(4244)), 1, { dev: 1 }).reason, abi.DROP_NOT_MINE);
      h.tables.setVirtualMac(0, null);
      assert.equal(h.one(ethernet(vmac, CLIENT_MAC, syn(4245)), 1).reason, abi.DROP_NOT_MINE);
    });

    it('a mixed batch gets one verdict per frame', () => {
      const h = fresh();
      const frames = [good, cases[0][1], fromClient(syn(7)), arpRequest(CLIENT_MAC, CIP, VIP), cases[7][1]];
      const rs = h.run(frames, 2);
      assert.deepEqual(rs.map((r) => r.verdict), [1, 0, 1, 2, 0]);
    });
  });

  describe(`services by port (${flavour})`, () => {
    it('a port-0 service takes every port of the VIP that has no exact service', () => {
      const h = new CoreHarness(flavour).standard();
      h.service(0, { port: 0, forwarding: 'dr' }, [realServerEntry(0, { port: 0 })]);
      h.service(1, { port: 443, forwarding: 'dr' }, [realServerEntry(1, { port: 0 })], 1);
      const to = (port: number) => decodeFrame(h.one(fromClient(syn(9, port)), 1).out, true).dstMac;
      assert.equal(to(22), RS_MACS[0]);
      assert.equal(to(8443), RS_MACS[0]);
      assert.equal(to(443), RS_MACS[1]);
    });

    it('TCP and UDP services on the same port are distinct', () => {
      const h = new CoreHarness(flavour).standard();
      h.service(0, { port: 53, protocol: 'tcp' }, [realServerEntry(0)]);
      h.service(1, { port: 53, protocol: 'udp' }, [realServerEntry(1)], 1);
      const t = decodeFrame(h.one(fromClient(syn(9, 53)), 1).out, true).ip!.dst;
      const u = decodeFrame(h.one(fromClient(udpPacket({ src: CIP, dst: VIP }, { sport: 9, dport: 53 })), 1).out,
        true).ip!.dst;
      assert.equal(t, RIPS[0]);
      assert.equal(u, RIPS[1]);
    });
  });
}
