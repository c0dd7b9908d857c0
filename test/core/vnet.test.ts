// virtio_net_hdr batches (TUN/TAP with IFF_VNET_HDR and offloads): a NEEDS_CSUM packet carries
// the pseudo-header sum in its L4 field; rewrites must keep it the pseudo-header sum of the NEW
// addresses, and TUN mode must finish it in software before wrapping it.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import * as abi from '../../src/dataplane/abi.js';
import {
  CIP, CIP6, CLIENT_MAC, CoreHarness, DEV0_MAC, DEV1_MAC, FLAVOURS, RIPS, RIPS6, RS_MACS, VIP, VIP6, realServerEntry,
  realServerEntry6,
} from './harness.js';
import {
  allChecksumsOk, decodeFrame, decodeFrame6, ethernet, ip6ToBytes, ipToBytes, onesSum, tcpPacket, udp6Packet, udpPacket,
} from '../oracle/packet.js';

/** partialize turns a finished TCP packet into what a NEEDS_CSUM sender hands over. */
function partialize(ip: Uint8Array): Uint8Array {
  const p = ip.slice();
  const ihl = (p[0] & 15) * 4;
  const len = p.length - ihl;
  const ph = new Uint8Array(12);
  ph.set(p.subarray(12, 20), 0);
  ph[9] = 6;
  ph[10] = len >> 8;
  ph[11] = len & 0xff;
  const s = onesSum(ph);
  p[ihl + 16] = s >> 8;
  p[ihl + 17] = s & 0xff;
  return p;
}

function vnetHeader(csumStart: number, csumOffset: number, gso = 0): Uint8Array {
  const v = new Uint8Array(abi.VNET_HDR_LEN);
  const dv = new DataView(v.buffer);
  v[0] = abi.VNET_F_NEEDS_CSUM;
  v[1] = gso;
  dv.setUint16(6, csumStart, true);
  dv.setUint16(8, csumOffset, true);
  return v;
}

/** expectedPartial: the pseudo-header sum a correct rewrite leaves in the field. */
function expectedPartial(src: string, dst: string, l4len: number, proto = 6): number {
  const ph = new Uint8Array(12);
  ph.set(ipToBytes(src), 0);
  ph.set(ipToBytes(dst), 4);
  ph[9] = proto;
  ph[10] = l4len >> 8;
  ph[11] = l4len & 0xff;
  return onesSum(ph);
}

// virtio_net.h: a UDP super-packet, cut by the kernel into gso_size datagrams (USO, Linux 6.2)
const VIRTIO_NET_HDR_GSO_UDP_L4 = 5;

/**
 * udpSuper is what a TAP with TUN_F_USO4 hands over for a GSO sender's burst (or what GRO
 * forwarding aggregated): one IPv4 header, one UDP header whose length covers the whole payload,
 * the pseudo-header sum in the checksum field, and a virtio header naming the segment size
 */
function udpSuper(src: string, dst: string, sport: number, dport: number, payload: Uint8Array, gsoSize: number) {
  const p = udpPacket({ src, dst }, { sport, dport, payload }).slice();
  return asUdpSuper(p, 20, expectedPartial(src, dst, p.length - 20, 17), gsoSize);
}

/**
 * asUdpSuper makes the datagram `p` (its UDP header after `l3len` bytes of IP header) a USO
 * super-packet: the pseudo-header sum `partial` in its checksum field, and a virtio header whose
 * checksum start (Ethernet included), header length and segment size describe it
 */
function asUdpSuper(p: Uint8Array, l3len: number, partial: number, gsoSize: number) {
  p[l3len + 6] = partial >> 8;
  p[l3len + 7] = partial & 0xff;
  const v = vnetHeader(14 + l3len, 6, VIRTIO_NET_HDR_GSO_UDP_L4);
  const dv = new DataView(v.buffer);
  dv.setUint16(2, 14 + l3len + 8, true);
  dv.setUint16(4, gsoSize, true);
  return { packet: p, vnet: v };
}

/** expectedPartial6: the IPv6 pseudo-header sum (RFC 8200 §8.1) of a UDP datagram of `l4len` bytes */
function expectedPartial6(src: string, dst: string, l4len: number): number {
  const ph = new Uint8Array(40);
  ph.set(ip6ToBytes(src), 0);
  ph.set(ip6ToBytes(dst), 16);
  new DataView(ph.buffer).setUint32(32, l4len);
  ph[39] = 17;
  return onesSum(ph);
}

/** udpSuper6: udpSuper's IPv6 twin (USO6), the UDP header right after the fixed header */
function udpSuper6(src: string, dst: string, sport: number, dport: number, payload: Uint8Array, gsoSize: number) {
  const p = udp6Packet({ src, dst }, { sport, dport, payload }).slice();
  return asUdpSuper(p, 40, expectedPartial6(src, dst, p.length - 40), gsoSize);
}

for (const flavour of FLAVOURS) {
  describe(`virtio NEEDS_CSUM (${flavour})`, () => {
    it('NAT keeps the field the pseudo-header sum of the rewritten addresses (both ways)', () => {
      const h = new CoreHarness(flavour).standard();
      h.service(0, { forwarding: 'fullnat' }, [realServerEntry(0)]);
      const pkt = partialize(tcpPacket({ src: CIP, dst: VIP }, { sport: 1234, dport: 80, flags: 'S', payload: new Uint8Array(500).fill(7) }));
      const r = h.one(ethernet(DEV0_MAC, CLIENT_MAC, pkt), 1, { vnet: true, vnetHeaders: [vnetHeader(34, 16)] });
      assert.equal(r.verdict, abi.VERDICT_FORWARD);
      const ip = decodeFrame(r.out, true).ip!;
      assert.ok(ip.headerChecksumOk);
      const field = (ip.bytes[36] << 8) | ip.bytes[37];
      assert.equal(field, expectedPartial(ip.src, ip.dst, 520));
      assert.deepEqual(r.vnet, vnetHeader(34, 16), 'virtio header passes through');

      const reply = partialize(tcpPacket({ src: RIPS[0], dst: ip.src }, { sport: 8080, dport: ip.tcp!.sport, flags: 'SA', payload: new Uint8Array(100) }));
      const o = h.one(ethernet(DEV1_MAC, RS_MACS[0], reply), 2, { dev: 1, vnet: true, vnetHeaders: [vnetHeader(34,
        16)] });
      const back = decodeFrame(o.out, true).ip!;
      assert.equal(back.src, VIP);
      assert.equal(back.dst, CIP);
      assert.equal((back.bytes[36] << 8) | back.bytes[37], expectedPartial(VIP, CIP, 120));
    });

    for (const forwarding of ['nat', 'fullnat'] as const) {
      it(`${forwarding}: a UDP super-packet (USO) keeps its virtio header and leaves with the pseudo-header sum of the new addresses, first and established`, () => {
        const h = new CoreHarness(flavour).standard();
        h.service(0, { forwarding, protocol: 'udp', port: 53 }, [realServerEntry(0, { port: 5353 })]);
        // three 500-byte datagrams (the harness's slots hold 2 KiB; a real TAP's, 64 KiB)
        const payload = new Uint8Array(1500).map((_, i) => (i * 7) & 0xff);
        let cport = 0;
        // the first datagram creates the session (general path), the second is an established
        // hit (the lean path on a director without extension records)
        for (const now of [1, 2]) {
          const q = udpSuper(CIP, VIP, 40000, 53, payload, 500);
          const r = h.one(ethernet(DEV0_MAC, CLIENT_MAC, q.packet), now, { vnet: true, vnetHeaders: [q.vnet] });
          assert.equal(r.verdict, abi.VERDICT_FORWARD, abi.DROP_REASON_NAMES[r.reason]);
          const ip = decodeFrame(r.out, true).ip!;
          assert.ok(ip.headerChecksumOk);
          assert.equal(ip.dst, RIPS[0]);
          assert.equal(ip.totalLength, q.packet.length);
          const dv = new DataView(ip.bytes.buffer, ip.bytes.byteOffset);
          assert.equal(dv.getUint16(22), 5353, 'destination port: the real server\'s');
          assert.equal(dv.getUint16(24), 1508, 'UDP length still covers the whole payload');
          assert.equal(dv.getUint16(26), expectedPartial(ip.src, ip.dst, 1508, 17));
          assert.deepEqual([...ip.bytes.subarray(28)], [...payload]);
          assert.deepEqual(r.vnet, q.vnet, 'virtio header (GSO type, segment size) passes through');
          if (forwarding === 'fullnat') assert.notEqual(ip.src, CIP);
          cport = dv.getUint16(20);
          if (now === 1) continue;
          // the server's answer, a super-packet too, goes back from the VIP
          const a = udpSuper(RIPS[0], ip.src, 5353, cport, payload.subarray(0, 1000), 500);
          const o = h.one(ethernet(DEV1_MAC, RS_MACS[0], a.packet), 3, { dev: 1, vnet: true, vnetHeaders: [a.vnet] });
          assert.equal(o.verdict, abi.VERDICT_FORWARD, abi.DROP_REASON_NAMES[o.reason]);
          const back = decodeFrame(o.out, true).ip!;
          const bv = new DataView(back.bytes.buffer, back.bytes.byteOffset);
          assert.deepEqual([back.src, back.dst, bv.getUint16(20), bv.getUint16(22)], [VIP, CIP, 53, 40000]);
          assert.equal(bv.getUint16(26), expectedPartial(VIP, CIP, 1008, 17));
          assert.deepEqual(o.vnet, a.vnet);
        }
      });
    }

    for (const forwarding of ['nat', 'fullnat'] as const) {
      it(`${forwarding} IPv6: a UDP super-packet (USO6) leaves with the pseudo-header sum of the new addresses, both ways`, () => {
        const h = new CoreHarness(flavour).standard();
        h.service(0, { vip: VIP6, forwarding, protocol: 'udp', port: 53 }, [realServerEntry6(0, { port: 5353 })]);
        const payload = new Uint8Array(1200).map((_, i) => (i * 11) & 0xff);
        let client = '';
        let cport = 0;
        for (const now of [1, 2]) {
          const q = udpSuper6(CIP6, VIP6, 40000, 53, payload, 400);
          const r = h.one(ethernet(DEV0_MAC, CLIENT_MAC, q.packet, 0x86dd), now, { vnet: true, vnetHeaders: [q.vnet] });
          assert.equal(r.verdict, abi.VERDICT_FORWARD, abi.DROP_REASON_NAMES[r.reason]);
          const ip = decodeFrame6(r.out, true).ip6!;
          assert.equal(ip.dst, RIPS6[0]);
          const dv = new DataView(ip.bytes.buffer, ip.bytes.byteOffset);
          assert.deepEqual([dv.getUint16(42), dv.getUint16(44)], [5353, 1208]);
          assert.equal(dv.getUint16(46), expectedPartial6(ip.src, ip.dst, 1208));
          assert.deepEqual([...ip.bytes.subarray(48)], [...payload]);
          assert.deepEqual(r.vnet, q.vnet, 'virtio header passes through');
          if (forwarding === 'fullnat') assert.notEqual(ip.src, CIP6);
          client = ip.src;
          cport = dv.getUint16(40);
        }
        const a = udpSuper6(RIPS6[0], client, 5353, cport, payload.subarray(0, 800), 400);
        const o = h.one(ethernet(DEV1_MAC, RS_MACS[0], a.packet, 0x86dd), 3,
          { dev: 1, vnet: true, vnetHeaders: [a.vnet] });
        assert.equal(o.verdict, abi.VERDICT_FORWARD, abi.DROP_REASON_NAMES[o.reason]);
        const back = decodeFrame6(o.out, true).ip6!;
        const bv = new DataView(back.bytes.buffer, back.bytes.byteOffset);
        assert.deepEqual([back.src, back.dst, bv.getUint16(40), bv.getUint16(42)], [VIP6, CIP6, 53, 40000]);
        assert.equal(bv.getUint16(46), expectedPartial6(VIP6, CIP6, 808));
        assert.deepEqual(o.vnet, a.vnet);
      });
    }

    it('TUN mode finishes the checksum in software and clears NEEDS_CSUM', () => {
      const h = new CoreHarness(flavour).standard();
      h.service(0, { forwarding: 'tun' }, [realServerEntry(0, { port: 0 })]);
      const finished = tcpPacket({ src: CIP, dst: VIP }, { sport: 1, dport: 80, flags: 'S', payload: new Uint8Array(300).fill(3) });
      const r = h.one(ethernet(DEV0_MAC, CLIENT_MAC, partialize(finished)), 1, { vnet: true,
        vnetHeaders: [vnetHeader(34, 16)] });
      assert.equal(r.verdict, abi.VERDICT_FORWARD, `reason ${r.reason}`);
      const outer = decodeFrame(r.out, true).ip!;
      assert.deepEqual(outer.inner!.bytes, finished, 'inner packet carries a finished checksum');
      assert.ok(allChecksumsOk(outer));
      assert.equal(r.vnet![0] & abi.VNET_F_NEEDS_CSUM, 0);
    });

    it('TUN mode refuses a GSO super-packet (counted)', () => {
      const h = new CoreHarness(flavour).standard();
      h.service(0, { forwarding: 'tun' }, [realServerEntry(0, { port: 0 })]);
      const pkt = partialize(tcpPacket({ src: CIP, dst: VIP }, { sport: 1, dport: 80, flags: 'S', payload: new Uint8Array(100) }));
      const r = h.one(ethernet(DEV0_MAC, CLIENT_MAC, pkt), 1, { vnet: true, vnetHeaders: [vnetHeader(34, 16, 1)] });
      assert.equal(r.reason, abi.DROP_GSO);
    });
  });
}
