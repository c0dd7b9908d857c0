// TOA and the PROXY protocol for IPv6 clients (clientaddr.ts): Full-NAT 6->6, NAT66 (PROXY only)
// and NAT64 (an IPv6 client in front of an IPv4 server: the header and the option carry the IPv6
// client, in an IPv4 packet). The PROXY header is decoded here by a decoder of our own, written
// from haproxy's proxy-protocol.txt (§2.1 v1 "TCP6", §2.2 v2 AF_INET6 with the 36-byte address
// block), the v1 addresses checked against RFC 5952 text written out by hand; TOA's 20-byte
// variant (DPVS kmod/toa TCPOLEN_IP6_TOA) also decoded by scapy; every checksum recomputed by the
// oracle.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import * as abi from '../../src/dataplane/abi.js';
import {
  CIP6, CLIENT_MAC, CoreHarness, DEV0_MAC, DEV1_MAC, FLAVOURS, LIPS, LIPS6, RIPS, RIPS6, RS_MACS, VIP6,
  realServerEntry, realServerEntry6,
} from './harness.js';
import {
  allChecksumsOk, allChecksumsOk6, bytesToIp6, decodeFrame, decodeFrame6, ethernet, ip6ToBytes, tcp6Packet, tcpOptions,
  tcpPacket,
} from '../oracle/packet.js';

const CPORT = 4001;
const ISN = 1000;
const RS_ISN = 5000;
const MSS = (v: number) => [2, 4, v >> 8, v & 0xff];
const TS = [1, 1, 8, 10, 0, 0, 0, 7, 0, 0, 0, 9];

type Mode = 'fullnat66' | 'nat66' | 'nat64';
const MODES: Mode[] = ['fullnat66', 'nat66', 'nat64'];

/** what reached the server: addresses, TCP, and whether every checksum verifies */
interface Seen {
  src: string; dst: string; ok: boolean; bytes: Uint8Array;
  tcp: { sport: number; seq: number; ack: number; options: Uint8Array; payload: Uint8Array };
}

interface Seg { flags: string; seq: number; ack?: number; payload?: Uint8Array; options?: number[] }

class Lane {
  readonly h: CoreHarness;
  constructor(flavour: 'release' | 'debug', readonly mode: Mode, s: { toa?: boolean; proxyProtocol?: 'v1' | 'v2' },
    readonly cip = CIP6) {
    this.h = new CoreHarness(flavour, { connExt: true, proxyMarks: true }).standard();
    const forwarding = mode === 'nat66' ? 'nat' : 'fullnat';
    this.h.service(0, { vip: VIP6, forwarding, ...s }, [mode === 'nat64' ? realServerEntry(0) : realServerEntry6(0)]);
  }

  toServer(t: Seg): Seen {
    const seg = tcp6Packet({ src: this.cip, dst: VIP6 }, { sport: CPORT, dport: 80, ...t });
    const r = this.h.one(ethernet(DEV0_MAC, CLIENT_MAC, seg, 0x86dd), 1);
    assert.equal(r.verdict, abi.VERDICT_FORWARD, `dropped: ${abi.DROP_REASON_NAMES[r.reason]}`);
    if (this.mode === 'nat64') {
      const ip = decodeFrame(r.out, true).ip!;
      assert.equal(ip.dst, RIPS[0]);
      assert.ok(LIPS.includes(ip.src));
      return { src: ip.src, dst: ip.dst, ok: allChecksumsOk(ip), bytes: ip.bytes, tcp: ip.tcp! as Seen['tcp'] };
    }
    const ip = decodeFrame6(r.out, true).ip6!;
    assert.equal(ip.dst, RIPS6[0]);
    if (this.mode === 'fullnat66') assert.ok(LIPS6.includes(ip.src));
    else assert.equal(ip.src, this.cip);
    return { src: ip.src, dst: ip.dst, ok: allChecksumsOk6(ip), bytes: ip.bytes, tcp: ip.tcp! as Seen['tcp'] };
  }

  toClient(seen: Seen, t: Seg & { ack: number }) {
    const v4 = this.mode === 'nat64';
    const pkt = v4
      ? tcpPacket({ src: RIPS[0], dst: seen.src }, { sport: 8080, dport: seen.tcp.sport, ...t })
      : tcp6Packet({ src: RIPS6[0], dst: seen.src }, { sport: 8080, dport: seen.tcp.sport, ...t });
    const r = this.h.one(ethernet(DEV1_MAC, RS_MACS[0], pkt, v4 ? 0x0800 : 0x86dd), 1, { dev: 1 });
    assert.equal(r.verdict, abi.VERDICT_FORWARD, `dropped: ${abi.DROP_REASON_NAMES[r.reason]}`);
    const ip = decodeFrame6(r.out, true).ip6!;
    assert.equal(ip.src, VIP6);
    assert.equal(ip.dst, this.cip);
    assert.ok(allChecksumsOk6(ip), 'checksums toward the client');
    return ip;
  }
}

const mssOf = (options: Uint8Array) => {
  const o = tcpOptions(options).find((x) => x.kind === 2)!;
  return (o.data[0] << 8) | o.data[1];
};

/**
 * decodeProxy: the header at the start of `b`, read by proxy-protocol.txt alone. Returns the
 * family, addresses (v1: the text as sent; v2: the 16 bytes as text) and ports, and its length.
 */
interface ProxyHeader {
  version: 1 | 2; family: string; src: string; dst: string; sport: number; dport: number; length: number;
}

function decodeProxy(b: Uint8Array): ProxyHeader {
  const sig = [0x0d, 0x0a, 0x0d, 0x0a, 0x00, 0x0d, 0x0a, 0x51, 0x55, 0x49, 0x54, 0x0a];
  if (sig.every((x, i) => b[i] === x)) {
    assert.equal(b[12] >> 4, 2, 'version 2');
    assert.equal(b[12] & 15, 1, 'command PROXY');
    const len = (b[14] << 8) | b[15];
    assert.equal(b[13], 0x21, 'AF_INET6 (2) << 4 | STREAM (1)');
    assert.equal(len, 36, 'two 16-byte addresses and two ports');
    const a = b.subarray(16, 16 + len);
    return {
      version: 2, family: 'TCP6', src: bytesToIp6(a, 0), dst: bytesToIp6(a, 16),
      sport: (a[32] << 8) | a[33], dport: (a[34] << 8) | a[35], length: 16 + len,
    };
  }
  const text = Buffer.from(b).toString('latin1');
  const end = text.indexOf('\r\n');
  assert.ok(end > 0 && end + 2 <= 107, 'a v1 line ends in CRLF within 107 bytes');
  const [word, family, src, dst, sport, dport, ...rest] = text.slice(0, end).split(' ');
  assert.equal(word, 'PROXY');
  assert.equal(rest.length, 0);
  for (const p of [sport, dport]) assert.match(p, /^(0|[1-9]\d{0,4})$/, 'ports without leading zeros');
  return { version: 1, family, src, dst, sport: Number(sport), dport: Number(dport), length: end + 2 };
}

/** RFC 5952 §4 text of a few client addresses, written out by hand */
const V1_CLIENTS: [string, string][] = [
  [CIP6, '2001:db8:1::10'],
  // the longest zero run is compressed, the first of two equal ones
  ['2001:db8:0:0:1:0:0:1', '2001:db8::1:0:0:1'],
  ['2001:0:0:1:0:0:0:1', '2001:0:0:1::1'],
  // one zero group alone stays "0" (§4.2.2); lowercase hex, no leading zeros (§4.1, §4.3)
  ['2001:DB8:0:1:1:1:1:ABCD', '2001:db8:0:1:1:1:1:abcd'],
  ['2001:db8:0a0b::ff:1', '2001:db8:a0b::ff:1'],
];

for (const flavour of FLAVOURS) {
  for (const mode of MODES) {
    describe(`PROXY protocol, IPv6 client, ${mode} (${flavour})`, () => {
      it('v2: AF_INET6 header with the client and the VIP, the server\'s MSS lowered by 52, sequence numbers moved', () => {
        const l = new Lane(flavour, mode, { proxyProtocol: 'v2' });
        const syn = l.toServer({ flags: 'S', seq: ISN, options: MSS(1440) });
        assert.ok(syn.ok);
        assert.equal(syn.tcp.seq, ISN);
        const synack = l.toClient(syn, { flags: 'SA', seq: RS_ISN, ack: ISN + 1, options: MSS(1440) });
        assert.equal(mssOf(synack.tcp!.options!), 1440 - 52);
        const ack = l.toServer({ flags: 'A', seq: ISN + 1, ack: RS_ISN + 1 });
        assert.ok(ack.ok, 'checksums of the grown segment');
        const p = decodeProxy(ack.tcp.payload);
        assert.deepEqual(p, { version: 2, family: 'TCP6', src: CIP6, dst: VIP6, sport: CPORT, dport: 80, length: 52 });
        assert.equal(ack.tcp.payload.length, 52);
        const req = Buffer.from('GET / HTTP/1.0\r\n\r\n');
        const data = l.toServer({ flags: 'PA', seq: ISN + 1, ack: RS_ISN + 1, payload: req });
        assert.ok(data.ok);
        assert.equal(data.tcp.seq, ISN + 1, 'the header is resent until acknowledged');
        assert.deepEqual([...data.tcp.payload.subarray(52)], [...req]);
        const back = l.toClient(syn, { flags: 'PA', seq: RS_ISN + 1, ack: ISN + 1 + 52 + req.length, payload: Buffer.from('ok') });
        assert.equal(back.tcp!.ack, ISN + 1 + req.length, 'the client sees its own bytes acknowledged');
        const more = l.toServer({ flags: 'PA', seq: ISN + 1 + req.length, ack: RS_ISN + 3, payload: Buffer.from('x') });
        assert.ok(more.ok);
        assert.equal(more.tcp.seq, ISN + 1 + 52 + req.length, 'later bytes 52 further on');
        assert.equal(more.tcp.payload.length, 1);
        assert.equal(l.h.tables.stat(abi.STAT_PROXY_SENT), 2n);
      });

      it('v1: "PROXY TCP6" with RFC 5952 text of the client and the VIP', () => {
        for (const [cip, text] of V1_CLIENTS) {
          // the lane compares addresses in the oracle's (canonical) text; the bytes are the same
          const l = new Lane(flavour, mode, { proxyProtocol: 'v1' }, text);
          const want = `PROXY TCP6 ${text} ${VIP6} ${CPORT} 80\r\n`;
          const syn = l.toServer({ flags: 'S', seq: ISN, options: MSS(1440) });
          const synack = l.toClient(syn, { flags: 'SA', seq: RS_ISN, ack: ISN + 1, options: MSS(1440) });
          assert.equal(mssOf(synack.tcp!.options!), 1440 - want.length);
          const ack = l.toServer({ flags: 'A', seq: ISN + 1, ack: RS_ISN + 1, options: TS });
          assert.ok(ack.ok, `checksums (${cip}, an odd-length header: ${want.length % 2 === 1})`);
          assert.equal(Buffer.from(ack.tcp.payload).toString('latin1'), want);
          const p = decodeProxy(ack.tcp.payload);
          assert.equal(p.family, 'TCP6');
          assert.deepEqual(ip6ToBytes(p.src), ip6ToBytes(cip), 'the text names the client');
          assert.deepEqual([p.dst, p.sport, p.dport, p.length], [VIP6, CPORT, 80, want.length]);
        }
      });
    });
  }

  for (const mode of ['fullnat66', 'nat64'] as Mode[]) {
    describe(`TOA, IPv6 client, ${mode} (${flavour})`, () => {
      it('adds option 254, length 20: port and the 16-byte client address, until the server answers', () => {
        const l = new Lane(flavour, mode, { toa: true });
        const syn = l.toServer({ flags: 'S', seq: ISN, options: [...MSS(1440), ...TS] });
        assert.equal(tcpOptions(syn.tcp.options).find((x) => x.kind === 254), undefined, 'not on the SYN');
        const synack = l.toClient(syn, { flags: 'SA', seq: RS_ISN, ack: ISN + 1, options: MSS(1440) });
        assert.equal(mssOf(synack.tcp!.options!), 1440 - 20);
        const ack = l.toServer({ flags: 'A', seq: ISN + 1, ack: RS_ISN + 1, options: TS });
        assert.ok(ack.ok, 'checksums with the option');
        const toa = tcpOptions(ack.tcp.options).find((x) => x.kind === 254)!;
        assert.ok(toa);
        assert.equal(toa.data.length + 2, 20);
        assert.deepEqual([...toa.data], [CPORT >> 8, CPORT & 0xff, ...ip6ToBytes(CIP6)]);
        assert.equal(ack.tcp.options.length, 12 + 20);
        // scapy recomputes the TCP checksum of what the server got and reads the option itself
        const layer = mode === 'nat64' ? 'IP' : 'IPv6';
        const script = `import sys, ipaddress\nfrom scapy.all import IP, IPv6, TCP\np = ${layer}(bytes.fromhex(sys.argv[1]))\n` +
          `q = p.copy()\ndel q[TCP].chksum\nfresh = ${layer}(bytes(q))[TCP].chksum\n` +
          'v = [x for x in p[TCP].options if x[0] == 254][0][1]\n' +
          'print(fresh == p[TCP].chksum, int.from_bytes(v[0:2], "big"), ipaddress.IPv6Address(bytes(v[2:18])), len(v) + 2)\n';
        const out = execFileSync('/usr/bin/python3', ['-c', script, Buffer.from(ack.bytes).toString('hex')], { encoding: 'utf8' }).trim();
        assert.equal(out, `True ${CPORT} ${CIP6} 20`);
        l.toClient(syn, { flags: 'A', seq: RS_ISN + 1, ack: ISN + 1 });
        const later = l.toServer({ flags: 'A', seq: ISN + 1, ack: RS_ISN + 1 });
        assert.equal(tcpOptions(later.tcp.options).find((x) => x.kind === 254), undefined, 'the server answered: no more TOA');
        assert.equal(l.h.tables.stat(abi.STAT_TOA_ADDED), 1n);
      });

      it('TOA and PROXY v2 together: option and header in one segment, checksums verify', () => {
        const l = new Lane(flavour, mode, { toa: true, proxyProtocol: 'v2' });
        const syn = l.toServer({ flags: 'S', seq: ISN, options: MSS(1440) });
        const synack = l.toClient(syn, { flags: 'SA', seq: RS_ISN, ack: ISN + 1, options: MSS(1440) });
        assert.equal(mssOf(synack.tcp!.options!), 1440 - 20 - 52);
        const ack = l.toServer({ flags: 'A', seq: ISN + 1, ack: RS_ISN + 1 });
        assert.ok(ack.ok);
        assert.ok(tcpOptions(ack.tcp.options).find((x) => x.kind === 254 && x.data.length === 18));
        assert.equal(decodeProxy(ack.tcp.payload).src, CIP6);
      });
    });
  }
}
