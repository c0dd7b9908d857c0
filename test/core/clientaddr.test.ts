// The client's address toward the real server (clientaddr.ts): TOA (option 254) on the client's
// segments until the server answers, the PROXY protocol header (v1, v2) ahead of the client's
// stream with sequence numbers moved for the rest of the connection, the server's MSS lowered
// to leave room, a GSO super-packet grown with its pseudo-header sum, and the drop when there
// is no room. Frames from the oracle; TOA's bytes decoded by scapy as well.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import * as abi from '../../src/dataplane/abi.js';
import { CIP, CLIENT_MAC, CoreHarness, DEV0_MAC, DEV1_MAC, FLAVOURS, RIPS, RS_MACS, VIP, realServerEntry } from './harness.js';
import {
  allChecksumsOk, decodeFrame, type DecodedIp, ethernet, ipToBytes, onesSum, tcpOptions, tcpPacket,
} from '../oracle/packet.js';

const CPORT = 4001; // 4 digits: the v1 header is 41 bytes, an odd length
const ISN = 1000;
const RS_ISN = 5000;
const MSS = (v: number) => [2, 4, v >> 8, v & 0xff];
const TS = [1, 1, 8, 10, 0, 0, 0, 7, 0, 0, 0, 9];
type Mode = 'nat' | 'fullnat';

function harness(flavour: 'release' | 'debug', forwarding: Mode, s: { toa?: boolean; proxyProtocol?: 'v1' | 'v2' }) {
  const h = new CoreHarness(flavour, { connExt: true, proxyMarks: true }).standard();
  h.service(0, { forwarding, ...s }, [realServerEntry(0)]);
  return h;
}

/** the client's segment and what reached the server, decoded and checksum-verified */
interface Seg { flags: string; seq: number; ack?: number; payload?: Uint8Array; options?: number[] }

function toServer(h: CoreHarness, t: Seg, now = 1): DecodedIp {
  const seg = tcpPacket({ src: CIP, dst: VIP }, { sport: CPORT, dport: 80, ...t });
  const r = h.one(ethernet(DEV0_MAC, CLIENT_MAC, seg), now);
  assert.equal(r.verdict, abi.VERDICT_FORWARD, `dropped: ${abi.DROP_REASON_NAMES[r.reason]}`);
  const ip = decodeFrame(r.out, true).ip!;
  assert.ok(allChecksumsOk(ip), 'checksums toward the server');
  return ip;
}

/** the server's segment (to what it saw as the client) and what reached the client */
function toClient(h: CoreHarness, seen: DecodedIp, t: Seg & { ack: number }, now = 1): DecodedIp {
  const r = h.one(ethernet(DEV1_MAC, RS_MACS[0], tcpPacket({ src: RIPS[0], dst: seen.src },
    { sport: 8080, dport: seen.tcp!.sport, ...t })), now, { dev: 1 });
  assert.equal(r.verdict, abi.VERDICT_FORWARD, `dropped: ${abi.DROP_REASON_NAMES[r.reason]}`);
  const ip = decodeFrame(r.out, true).ip!;
  assert.ok(allChecksumsOk(ip), 'checksums toward the client');
  return ip;
}

const mssOf = (ip: DecodedIp) => {
  const o = tcpOptions(ip.tcp!.options!).find((x) => x.kind === 2)!;
  return (o.data[0] << 8) | o.data[1];
};
const toaOf = (ip: DecodedIp) => tcpOptions(ip.tcp!.options!).find((x) => x.kind === 254);
const text = (b: Uint8Array) => Buffer.from(b).toString('latin1');

function proxyV2(): Uint8Array {
  const b = new Uint8Array(28);
  b.set([0x0d, 0x0a, 0x0d, 0x0a, 0x00, 0x0d, 0x0a, 0x51, 0x55, 0x49, 0x54, 0x0a, 0x21, 0x11, 0, 12]);
  b.set(ipToBytes(CIP), 16);
  b.set(ipToBytes(VIP), 20);
  b.set([CPORT >> 8, CPORT & 0xff, 0, 80], 24);
  return b;
}
const proxyV1 = () => Buffer.from(`PROXY TCP4 ${CIP} ${VIP} ${CPORT} 80\r\n`, 'latin1');

for (const flavour of FLAVOURS) {
  describe(`TOA (${flavour})`, () => {
    it('adds option 254 with the client\'s address and port from the last handshake ACK until the server answers', () => {
      const h = harness(flavour, 'fullnat', { toa: true });
      const syn = toServer(h, { flags: 'S', seq: ISN, options: [...MSS(1460), ...TS] });
      assert.equal(toaOf(syn), undefined, 'not on the SYN');
      const synack = toClient(h, syn, { flags: 'SA', seq: RS_ISN, ack: ISN + 1, options: [...MSS(1460), 1, 1, 4, 2] });
      assert.equal(mssOf(synack), 1460 - 8, 'room for the option in a full segment');
      const ack = toServer(h, { flags: 'A', seq: ISN + 1, ack: RS_ISN + 1, options: TS });
      const toa = toaOf(ack)!;
      assert.ok(toa, 'the ACK that completes the handshake carries TOA');
      assert.deepEqual([...toa.data], [CPORT >> 8, CPORT & 0xff, ...ipToBytes(CIP)]);
      assert.equal(ack.tcp!.options!.length, 12 + 8);
      assert.equal(ack.tcp!.seq, ISN + 1, 'options take no sequence space');
      const data = toServer(h, { flags: 'PA', seq: ISN + 1, ack: RS_ISN + 1, payload: Buffer.from('GET / HTTP/1.0\r\n\r\n') });
      assert.ok(toaOf(data), 'and the first data, should the ACK be lost');
      assert.equal(text(data.tcp!.payload), 'GET / HTTP/1.0\r\n\r\n');
      toClient(h, syn, { flags: 'A', seq: RS_ISN + 1, ack: ISN + 19 });
      const later = toServer(h, { flags: 'A', seq: ISN + 19, ack: RS_ISN + 1 });
      assert.equal(toaOf(later), undefined, 'the server answered: no more TOA');
      assert.equal(h.tables.stat(abi.STAT_TOA_ADDED), 2n);
    });

    it('scapy decodes the option as kind 254 with the client\'s port and address', () => {
      const h = harness(flavour, 'fullnat', { toa: true });
      const syn = toServer(h, { flags: 'S', seq: ISN });
      toClient(h, syn, { flags: 'SA', seq: RS_ISN, ack: ISN + 1 });
      const ack = toServer(h, { flags: 'A', seq: ISN + 1, ack: RS_ISN + 1 });
      // scapy recomputes the TCP checksum on its own and parses the option list
      const script = 'import sys\nfrom scapy.all import IP, TCP\np = IP(bytes.fromhex(sys.argv[1]))\n' +
        'q = p.copy()\ndel q[TCP].chksum\nfresh = IP(bytes(q))[TCP].chksum\n' +
        'v = [x for x in p[TCP].options if x[0] == 254][0][1]\n' +
        'print(fresh == p[TCP].chksum, int.from_bytes(v[0:2], "big"), ".".join(str(b) for b in v[2:6]), len(v) + 2)\n';
      const out = execFileSync('/usr/bin/python3', ['-c', script, Buffer.from(ack.bytes).toString('hex')], { encoding: 'utf8' }).trim();
      assert.equal(out, `True ${CPORT} ${CIP} 8`);
    });

    it('a segment without option room goes on without TOA, counted', () => {
      const h = harness(flavour, 'fullnat', { toa: true });
      const syn = toServer(h, { flags: 'S', seq: ISN });
      toClient(h, syn, { flags: 'SA', seq: RS_ISN, ack: ISN + 1 });
      const full = Array.from({ length: 36 }, () => 1);
      const ack = toServer(h, { flags: 'A', seq: ISN + 1, ack: RS_ISN + 1, options: full });
      assert.equal(toaOf(ack), undefined);
      assert.equal(h.tables.stat(abi.STAT_TOA_NO_ROOM), 1n);
    });
  });

  for (const forwarding of ['fullnat', 'nat'] as Mode[]) {
    describe(`PROXY protocol over ${forwarding} (${flavour})`, () => {
      it('v2: the header goes with the handshake\'s ACK, again with the first data, and sequence numbers move by 28', () => {
        const h = harness(flavour, forwarding, { proxyProtocol: 'v2' });
        const syn = toServer(h, { flags: 'S', seq: ISN, options: MSS(1460) });
        assert.equal(syn.tcp!.payload.length, 0);
        assert.equal(syn.tcp!.seq, ISN, 'the SYN opens the stream: it does not move');
        assert.equal(toServer(h, { flags: 'S', seq: ISN, options: MSS(1460) }).tcp!.seq, ISN, 'nor does a resent one');
        const synack = toClient(h, syn, { flags: 'SA', seq: RS_ISN, ack: ISN + 1, options: MSS(1460) });
        assert.equal(mssOf(synack), 1460 - 28);
        assert.equal(synack.tcp!.ack, ISN + 1);
        // the ACK becomes the header's own segment: servers that speak first get it at once
        const ack = toServer(h, { flags: 'A', seq: ISN + 1, ack: RS_ISN + 1 });
        assert.equal(ack.tcp!.seq, ISN + 1);
        assert.deepEqual([...ack.tcp!.payload], [...proxyV2()]);
        // the server has not acknowledged it: the first data repeats it (identical bytes)
        const req = Buffer.from('GET /x HTTP/1.0\r\n\r\n');
        const data = toServer(h, { flags: 'PA', seq: ISN + 1, ack: RS_ISN + 1, payload: req });
        assert.equal(data.tcp!.seq, ISN + 1);
        assert.deepEqual([...data.tcp!.payload], [...proxyV2(), ...req]);
        // a partial acknowledgement means "nothing of yours yet" to the client
        const partial = toClient(h, syn, { flags: 'A', seq: RS_ISN + 1, ack: ISN + 1 + 10 });
        assert.equal(partial.tcp!.ack, ISN + 1);
        const full = toClient(h, syn, { flags: 'PA', seq: RS_ISN + 1, ack: ISN + 1 + 28 + req.length, payload: Buffer.from('ok') });
        assert.equal(full.tcp!.ack, ISN + 1 + req.length, 'the client sees its own bytes acknowledged');
        // from now on every client byte is 28 further on, resent ones included, with no header
        const more = toServer(h, { flags: 'A', seq: ISN + 1 + req.length, ack: RS_ISN + 3, payload: Buffer.from('more') });
        assert.equal(more.tcp!.seq, ISN + 1 + 28 + req.length);
        assert.equal(text(more.tcp!.payload), 'more');
        const resent = toServer(h, { flags: 'PA', seq: ISN + 1, ack: RS_ISN + 3, payload: req });
        assert.equal(resent.tcp!.seq, ISN + 1 + 28);
        assert.equal(text(resent.tcp!.payload), req.toString());
        const fin = toClient(h, syn, { flags: 'FA', seq: RS_ISN + 3, ack: ISN + 1 + 28 + req.length + 4 });
        assert.equal(fin.tcp!.ack, ISN + 1 + req.length + 4);
        assert.equal(h.tables.stat(abi.STAT_PROXY_SENT), 2n);
      });

      it('v1: the text header, whatever its length, with checksums right', () => {
        const h = harness(flavour, forwarding, { proxyProtocol: 'v1' });
        const syn = toServer(h, { flags: 'S', seq: ISN, options: MSS(1400) });
        const synack = toClient(h, syn, { flags: 'SA', seq: RS_ISN, ack: ISN + 1, options: MSS(1400) });
        assert.equal(mssOf(synack), 1400 - proxyV1().length);
        const req = Buffer.from('hello');
        const data = toServer(h, { flags: 'PA', seq: ISN + 1, ack: RS_ISN + 1, payload: req });
        assert.equal(text(data.tcp!.payload), `${proxyV1().toString('latin1')}hello`);
        assert.equal(proxyV1().length % 2, 1, 'an odd length: every later word moved (the oracle verified the checksum)');
        const back = toClient(h, syn, { flags: 'A', seq: RS_ISN + 1, ack: ISN + 1 + proxyV1().length + 5 });
        assert.equal(back.tcp!.ack, ISN + 6);
      });
    });
  }

  describe(`TOA and PROXY need their per-session records (${flavour})`, () => {
    it('a director laid out without them refuses such a service: restart needed', () => {
      const h = new CoreHarness(flavour).standard();
      for (const s of [{ toa: true }, { proxyProtocol: 'v2' as const }]) {
        assert.throws(() => h.service(0, { forwarding: 'fullnat', ...s }, [realServerEntry(0)]),
          (e: Error & { code?: string }) => e.code === 'WLVS_ERR_RESTART_NEEDED');
      }
      const t = new CoreHarness(flavour, { connExt: true }).standard();
      assert.throws(() => t.service(0, { forwarding: 'fullnat', proxyProtocol: 'v1' }, [realServerEntry(0)]),
        (e: Error & { code?: string }) => e.code === 'WLVS_ERR_RESTART_NEEDED', 'PROXY needs its marks as well');
      t.service(0, { forwarding: 'fullnat', toa: true }, [realServerEntry(0)]);
    });
  });

  describe(`PROXY protocol, room and GSO (${flavour})`, () => {
    it('a first segment that cannot grow is dropped with a reason, and its resend passes', () => {
      const h = harness(flavour, 'fullnat', { proxyProtocol: 'v2' });
      const syn = toServer(h, { flags: 'S', seq: ISN });
      toClient(h, syn, { flags: 'SA', seq: RS_ISN, ack: ISN + 1 });
      const room = h.layout.slotSize - h.layout.headroom;
      const big = new Uint8Array(room - 14 - 40 - 10).fill(0x61);
      const r = h.one(ethernet(DEV0_MAC, CLIENT_MAC, tcpPacket({ src: CIP, dst: VIP },
        { sport: CPORT, dport: 80, flags: 'PA', seq: ISN + 1, ack: RS_ISN + 1, payload: big })), 2);
      assert.equal(r.verdict, abi.VERDICT_DROP);
      assert.equal(r.reason, abi.DROP_PROXY_NO_ROOM);
      assert.equal(h.drops(abi.DROP_PROXY_NO_ROOM), 1n);
      const small = toServer(h, { flags: 'PA', seq: ISN + 1, ack: RS_ISN + 1, payload: big.subarray(0, 1000) }, 3);
      assert.equal(small.tcp!.payload.length, 28 + 1000);
    });

    it('a GSO super-packet grows at its start and keeps a right pseudo-header sum', () => {
      const h = harness(flavour, 'fullnat', { proxyProtocol: 'v2' });
      const syn = toServer(h, { flags: 'S', seq: ISN });
      toClient(h, syn, { flags: 'SA', seq: RS_ISN, ack: ISN + 1 });
      const payload = new Uint8Array(1800).map((_, i) => i & 0xff);
      const ip = tcpPacket({ src: CIP, dst: VIP }, { sport: CPORT, dport: 80, flags: 'PA', seq: ISN + 1, ack: RS_ISN + 1, payload });
      // what a TSO sender hands over: the pseudo-header sum in the checksum field
      const ph = (src: number[], dst: number[], len: number) =>
        onesSum(Uint8Array.from([...src, ...dst, 0, 6, len >> 8, len & 0xff]));
      const p = ip.slice();
      const s = ph(ipToBytes(CIP), ipToBytes(VIP), ip.length - 20);
      p[36] = s >> 8;
      p[37] = s & 0xff;
      const v = new Uint8Array(abi.VNET_HDR_LEN);
      const dv = new DataView(v.buffer);
      v[0] = abi.VNET_F_NEEDS_CSUM;
      v[1] = 1; // VIRTIO_NET_HDR_GSO_TCPV4
      dv.setUint16(2, 54, true);
      dv.setUint16(4, 1000, true);
      dv.setUint16(6, 34, true);
      dv.setUint16(8, 16, true);
      const r = h.run([ethernet(DEV0_MAC, CLIENT_MAC, p)], 2, { vnet: true, vnetHeaders: [v] })[0];
      assert.equal(r.verdict, abi.VERDICT_FORWARD, abi.DROP_REASON_NAMES[r.reason]);
      const out = decodeFrame(r.out, true).ip!;
      assert.equal(out.totalLength, ip.length + 28);
      assert.ok(out.headerChecksumOk);
      assert.deepEqual([...out.tcp!.payload.subarray(0, 28)], [...proxyV2()]);
      assert.deepEqual([...out.tcp!.payload.subarray(28)], [...payload]);
      assert.equal(out.tcp!.checksum, ph(ipToBytes(out.src), ipToBytes(out.dst), out.totalLength - 20));
      const ov = new DataView(r.vnet!.buffer, r.vnet!.byteOffset);
      assert.deepEqual([r.vnet![1], ov.getUint16(2, true), ov.getUint16(4, true), ov.getUint16(6, true)],
        [1, 54, 1000, 34],
        'the headers and the segment size did not change: the kernel cuts the grown payload as before');
    });
  });
}
