// virtio_net_hdr batches (TUN/TAP with IFF_VNET_HDR and offloads): a NEEDS_CSUM packet carries
// the pseudo-header sum in its L4 field; rewrites must keep it the pseudo-header sum of the NEW
// addresses, and TUN mode must finish it in software before wrapping it.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import * as abi from '../../src/dataplane/abi.js';
import { CIP, CLIENT_MAC, CoreHarness, DEV0_MAC, DEV1_MAC, FLAVOURS, RIPS, RS_MACS, VIP, realServerEntry } from './harness.js';
import { allChecksumsOk, decodeFrame, ethernet, ipToBytes, onesSum, tcpPacket } from '../oracle/packet.js';

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
function expectedPartial(src: string, dst: string, l4len: number): number {
  const ph = new Uint8Array(12);
  ph.set(ipToBytes(src), 0);
  ph.set(ipToBytes(dst), 4);
  ph[9] = 6;
  ph[10] = l4len >> 8;
  ph[11] = l4len & 0xff;
  return onesSum(ph);
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
