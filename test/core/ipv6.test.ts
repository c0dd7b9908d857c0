// IPv6 in every mode, against the independent oracle (test/oracle/packet.ts, checked against
// scapy): parsing with extension headers (every malformed input a counted drop), NAT66, DR,
// IPv6-in-IPv6 with Packet Too Big, Full-NAT 6->6, NAT64 (RFC 7915) both ways, ICMPv6 errors
// relayed with the quote rewritten, persistence by prefix, and a dual-stack table.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import * as abi from '../../src/dataplane/abi.js';
import {
  CIP, CIP6, CLIENT_MAC, CoreHarness, DEV0_MAC, DEV1_MAC, DIP6, FLAVOURS, LIPS, LIPS6, RIPS, RIPS6, RS_MACS, VIP,
  VIP6, realServerEntry, realServerEntry6,
} from './harness.js';
import {
  type ExtHeader, allChecksumsOk, allChecksumsOk6, decodeFrame, decodeFrame6, decodeIp as decodeIp4, decodeIp6,
  ethernet, icmp6Packet, icmpPacket, ipv6Packet, tcp6Packet, tcp6Segment, tcpPacket, udp6Packet, udpPacket,
} from '../oracle/packet.js';

const fromClient6 = (pkt: Uint8Array) => ethernet(DEV0_MAC, CLIENT_MAC, pkt, 0x86dd);
const fromRs6 = (i: number, pkt: Uint8Array) => ethernet(DEV1_MAC, RS_MACS[i], pkt, 0x86dd);
const syn6 = (sport = 40000, dport = 80, ext: ExtHeader[] = []) =>
  tcp6Packet({ src: CIP6, dst: VIP6 }, { sport, dport, flags: 'S', payload: Uint8Array.of(1, 2, 3) }, ext);

function corrupt(f: Uint8Array, at: number, value: number): Uint8Array {
  const c = f.slice();
  c[at] = value;
  return c;
}

for (const flavour of FLAVOURS) {
  describe(`IPv6 parsing (${flavour})`, () => {
    const h = new CoreHarness(flavour).standard();
    h.service(0, { vip: VIP6, forwarding: 'nat' }, [realServerEntry6(0)]);
    const good = fromClient6(syn6());
    const deep = Array.from({ length: 9 }, () => ({ type: 60 as const }));
    const cases: [string, Uint8Array, number][] = [
      ['no room for an IPv6 header', good.subarray(0, 50), abi.DROP_MALFORMED],
      ['version 4 in an IPv6 EtherType', corrupt(good, 14, 0x45), abi.DROP_MALFORMED],
      ['a payload length beyond the frame', corrupt(good, 18, 0x7f), abi.DROP_MALFORMED],
      ['a multicast source', (() => { const f = good.slice(); f[22] = 0xff; return f; })(), abi.DROP_MALFORMED],
      ['an unspecified source to a VIP', fromClient6(tcp6Packet({ src: '::', dst: VIP6 }, { sport: 1, dport: 80, flags: 'S' })), abi.DROP_MALFORMED],
      ['nine extension headers', fromClient6(syn6(1, 80, deep)), abi.DROP_NO_TRANSPORT],
      ['an extension header cut short', fromClient6(ipv6Packet({ src: CIP6, dst: VIP6 }, 6, new Uint8Array(4), []).map((b, i) => (i === 6 ? 60 : b))), abi.DROP_NO_TRANSPORT],
      ['an extension header longer than the packet', (() => {
        const p = syn6(2, 80, [{ type: 0 }]);
        p[41] = 200;
        return fromClient6(p);
      })(), abi.DROP_NO_TRANSPORT],
      ['ESP to a VIP', fromClient6(ipv6Packet({ src: CIP6, dst: VIP6 }, 50, new Uint8Array(40))), abi.DROP_NO_TRANSPORT],
      ['no next header to a VIP', fromClient6(ipv6Packet({ src: CIP6, dst: VIP6 }, 59, new Uint8Array(8))), abi.DROP_NO_TRANSPORT],
      ['a routing header with segments left', fromClient6(syn6(3, 80, [{ type: 43, segLeft: 1, addresses: ['2001:db8:9::1'] }])), abi.DROP_UNSUPPORTED],
      ['a truncated TCP header', fromClient6(ipv6Packet({ src: CIP6, dst: VIP6 }, 6, new Uint8Array(12))), abi.DROP_MALFORMED],
      ['a TCP data offset beyond the segment', (() => {
        const seg = tcp6Segment({ src: CIP6, dst: VIP6 }, { sport: 1, dport: 80, flags: 'S' });
        seg[12] = 0xf0;
        return fromClient6(ipv6Packet({ src: CIP6, dst: VIP6 }, 6, seg));
      })(), abi.DROP_MALFORMED],
      ['a UDP length beyond the datagram', (() => {
        const p = udp6Packet({ src: CIP6, dst: VIP6 }, { sport: 1, dport: 80 });
        p[45] = 200;
        return fromClient6(p);
      })(), abi.DROP_MALFORMED],
      ['SCTP to a VIP', fromClient6(ipv6Packet({ src: CIP6, dst: VIP6 }, 132, new Uint8Array(12))), abi.DROP_UNSUPPORTED],
      ['a VIP port without a service', fromClient6(syn6(1, 443)), abi.DROP_NO_SERVICE],
      ['a frame for another MAC', ethernet('02:99:99:99:99:99', CLIENT_MAC, syn6(), 0x86dd), abi.DROP_NOT_MINE],
      ['multicast that is not ICMPv6', fromClient6(udp6Packet({ src: CIP6, dst: 'ff02::1' }, { sport: 1, dport: 2 })), abi.DROP_NOT_MINE],
      ['a TCP segment to a LIP with no session', fromClient6(tcp6Packet({ src: RIPS6[0], dst: LIPS6[0] }, { sport: 8080, dport: 5000 })), abi.DROP_NO_SESSION],
      ['a packet for nobody we know', fromClient6(tcp6Packet({ src: CIP6, dst: '2001:db8:99::1' }, { sport: 1, dport: 2 })), abi.DROP_NOT_OURS],
      ['an ICMPv6 error about nothing of ours', fromClient6(icmp6Packet({ src: '2001:db8:1::fe', dst: VIP6 }, { type: 1, code: 0,
        payload: tcp6Packet({ src: VIP6, dst: '2001:db8:1::77' }, { sport: 80, dport: 1 }) })), abi.DROP_ICMP_UNRELATED],
      ['an ICMPv6 error with a truncated quote', fromClient6(icmp6Packet({ src: '2001:db8:1::fe', dst: VIP6 }, { type: 1, code: 0,
        payload: new Uint8Array(30).fill(0x60) })), abi.DROP_MALFORMED],
    ];
    for (const [name, frame, reason] of cases) {
      it(`drops ${name} (reason ${reason}, counted)`, () => {
        const before = h.drops(reason);
        const r = h.one(frame, 1);
        assert.equal(r.verdict, abi.VERDICT_DROP, `verdict ${r.verdict} reason ${r.reason}`);
        assert.equal(r.reason, reason);
        assert.equal(h.drops(reason), before + 1n);
      });
    }

    it('hands neighbour discovery, echo to owned addresses and anything for a DIP to the host', () => {
      const ns = icmp6Packet({ src: '2001:db8:1::10', dst: 'ff02::1:ff00:100', hlim: 255 }, { type: 135, code: 0, payload: new Uint8Array(16) });
      assert.equal(h.one(ethernet('33:33:ff:00:01:00', CLIENT_MAC, ns, 0x86dd), 1).verdict, abi.VERDICT_HOST);
      const echo = icmp6Packet({ src: CIP6, dst: VIP6 }, { type: 128, code: 0, rest: 0x00010001 });
      assert.equal(h.one(fromClient6(echo), 1).verdict, abi.VERDICT_HOST);
      const toDip = fromRs6(0, tcp6Packet({ src: RIPS6[0], dst: DIP6 }, { sport: 1, dport: 22 }));
      assert.equal(h.one(toDip, 1, { dev: 1 }).verdict, abi.VERDICT_HOST);
    });

    for (const [name, ext] of [
      ['hop-by-hop', [{ type: 0 }]], ['destination options', [{ type: 60, optLen: 14 }]],
      ['a routing header without segments left', [{ type: 43, segLeft: 0, addresses: ['2001:db8:7::1'] }]],
      ['hop-by-hop, routing and destination options', [{ type: 0 }, { type: 43, segLeft: 0 }, { type: 60 }]],
      ['an atomic fragment header', [{ type: 44, offset: 0, more: false, id: 5 }]],
    ] as [string, ExtHeader[]][]) {
      it(`steps over ${name} to the transport header and rewrites it with a valid checksum`, () => {
        const pkt = syn6(41000 + ext.length, 80, ext);
        const r = h.one(fromClient6(pkt), 1);
        assert.equal(r.verdict, abi.VERDICT_FORWARD, `reason ${r.reason}`);
        const ip = decodeFrame6(r.out, true).ip6!;
        assert.equal(ip.dst, RIPS6[0]);
        assert.equal(ip.tcp!.dport, 8080);
        assert.deepEqual(ip.ext, ext.map((e) => e.type));
        assert.ok(allChecksumsOk6(ip));
      });
    }
  });

  describe(`NAT66 (${flavour})`, () => {
    it('rewrites VIP6:80 to RIP6:8080 in and back out, checksums recomputed by the oracle verify', () => {
      const h = new CoreHarness(flavour).standard();
      h.service(0, { vip: VIP6, forwarding: 'nat' }, [realServerEntry6(0), realServerEntry6(1)]);
      const r = h.one(fromClient6(syn6(40001)), 1);
      assert.equal(r.verdict, abi.VERDICT_FORWARD, `reason ${r.reason}`);
      assert.equal(r.outDev, 1);
      const f = decodeFrame6(r.out, true);
      assert.equal(f.dstMac, RS_MACS[0]);
      assert.equal(f.srcMac, DEV1_MAC);
      assert.equal(f.ip6!.src, CIP6);
      assert.equal(f.ip6!.dst, RIPS6[0]);
      assert.equal(f.ip6!.tcp!.sport, 40001);
      assert.equal(f.ip6!.tcp!.dport, 8080);
      assert.ok(allChecksumsOk6(f.ip6!));
      const reply = tcp6Packet({ src: RIPS6[0], dst: CIP6 }, { sport: 8080, dport: 40001, flags: 'SA', payload: new Uint8Array(33) });
      const o = h.one(fromRs6(0, reply), 2, { dev: 1 });
      assert.equal(o.verdict, abi.VERDICT_FORWARD, `reason ${o.reason}`);
      assert.equal(o.outDev, 0);
      const g = decodeFrame6(o.out, true);
      assert.equal(g.dstMac, CLIENT_MAC);
      assert.equal(g.ip6!.src, VIP6);
      assert.equal(g.ip6!.dst, CIP6);
      assert.equal(g.ip6!.tcp!.sport, 80);
      assert.ok(allChecksumsOk6(g.ip6!));
      const [s] = h.sessions(2);
      assert.equal(s.client, CIP6);
      assert.equal(s.vip, VIP6);
      assert.equal(s.rip, RIPS6[0]);
      assert.equal(s.protocol, abi.IPPROTO_TCP);
      assert.equal(s.state, abi.TCP_S_SYN_RECV);
    });

    it('balances UDP and works on an L3 (TUN) device', () => {
      const h = new CoreHarness(flavour).standard({ l3: true });
      h.service(0, { vip: VIP6, port: 53, protocol: 'udp', forwarding: 'nat' }, [realServerEntry6(0, { mac: null, port: 53 })]);
      h.tables.setNextHop(0, '00:00:00:00:00:00');
      const q = udp6Packet({ src: CIP6, dst: VIP6 }, { sport: 3333, dport: 53, payload: new Uint8Array(100).fill(7) });
      const r = h.one(q, 1, { l2: false });
      assert.equal(r.verdict, abi.VERDICT_FORWARD, `reason ${r.reason}`);
      const ip = decodeIp6(r.out);
      assert.equal(ip.dst, RIPS6[0]);
      assert.ok(allChecksumsOk6(ip));
    });

    it('keeps IPv4 and IPv6 services apart in one table (dual stack)', () => {
      const h = new CoreHarness(flavour).standard();
      h.service(0, { vip: VIP, forwarding: 'nat' }, [realServerEntry(0)]);
      h.service(1, { vip: VIP6, forwarding: 'nat' }, [realServerEntry6(1)], 1);
      const a = decodeFrame(h.one(ethernet(DEV0_MAC, CLIENT_MAC, tcpPacket({ src: CIP, dst: VIP }, { sport: 5, dport: 80, flags: 'S' })), 1).out, true);
      const b = decodeFrame6(h.one(fromClient6(syn6(5)), 1).out, true);
      assert.equal(a.ip!.dst, RIPS[0]);
      assert.equal(b.ip6!.dst, RIPS6[1]);
      assert.equal(h.tables.sessionCount(), 2);
      assert.deepEqual(h.sessions().map((s) => s.client).sort(), [CIP, CIP6].sort());
    });

    it('persistence pins a /64 of clients to one server', () => {
      const h = new CoreHarness(flavour).standard();
      h.service(0, { vip: VIP6, forwarding: 'nat', persistence: 300, persistencePrefix: 64 },
        [0, 1, 2, 3].map((i) => realServerEntry6(i)));
      const to = (client: string, sport: number) => decodeFrame6(h.one(fromClient6(tcp6Packet({ src: client,
        dst: VIP6 },
        { sport, dport: 80, flags: 'S' })), 1).out, true).ip6!.dst;
      const first = to('2001:db8:1::10', 1000);
      for (let k = 0; k < 6; k++) assert.equal(to(`2001:db8:1::${(0x20 + k).toString(16)}`, 1001 + k), first);
      assert.equal(h.sessions().filter((s) => s.template).length, 1);
    });
  });

  describe(`DR and IPv6-in-IPv6 (${flavour})`, () => {
    it('DR rewrites only the MACs', () => {
      const h = new CoreHarness(flavour).standard();
      h.service(0, { vip: VIP6, forwarding: 'dr' }, [realServerEntry6(2, { port: 0 })]);
      const pkt = syn6(5555);
      const r = h.one(fromClient6(pkt), 1);
      assert.equal(r.verdict, abi.VERDICT_FORWARD, `reason ${r.reason}`);
      const f = decodeFrame6(r.out, true);
      assert.equal(f.dstMac, RS_MACS[2]);
      assert.equal(f.srcMac, DEV1_MAC);
      assert.deepEqual(f.ip6!.bytes, pkt);
    });

    it('TUN wraps CIP6 -> VIP6 in DIP6 -> RIP6 (next header 41) with the inner traffic class and hop limit', () => {
      const h = new CoreHarness(flavour).standard();
      h.service(0, { vip: VIP6, forwarding: 'tun' }, [realServerEntry6(1, { port: 0 })]);
      const pkt = tcp6Packet({ src: CIP6, dst: VIP6, hlim: 61, tc: 0x28, flow: 0xbeef }, { sport: 7000, dport: 80, flags: 'S', payload: new Uint8Array(64) });
      const r = h.one(fromClient6(pkt), 1);
      assert.equal(r.verdict, abi.VERDICT_FORWARD, `reason ${r.reason}`);
      const f = decodeFrame6(r.out, true);
      assert.equal(f.dstMac, RS_MACS[1]);
      assert.equal(f.etherType, 0x86dd);
      const outer = f.ip6!;
      assert.equal(outer.nh, 41);
      assert.equal(outer.src, DIP6);
      assert.equal(outer.dst, RIPS6[1]);
      assert.equal(outer.hlim, 61);
      assert.equal(outer.tc, 0x28);
      assert.equal(outer.payloadLength, pkt.length);
      assert.deepEqual(outer.inner!.bytes, pkt);
      assert.ok(allChecksumsOk6(outer));
    });

    it('TUN answers a packet the extra header would push over the MTU with Packet Too Big', () => {
      const h = new CoreHarness(flavour).standard();
      h.service(0, { vip: VIP6, forwarding: 'tun' }, [realServerEntry6(0, { port: 0 })]);
      const pkt = tcp6Packet({ src: CIP6, dst: VIP6 }, { sport: 7001, dport: 80, flags: 'A', payload: new Uint8Array(1500 - 60) });
      h.one(fromClient6(syn6(7001)), 1);
      assert.equal(pkt.length, 1500);
      const r = h.one(fromClient6(pkt), 1);
      assert.equal(r.verdict, abi.VERDICT_FORWARD);
      assert.equal(r.outDev, 0, 'back out of the device it came from');
      const f = decodeFrame6(r.out, true);
      assert.equal(f.dstMac, CLIENT_MAC);
      assert.equal(f.srcMac, DEV0_MAC);
      const ip = f.ip6!;
      assert.equal(ip.src, VIP6);
      assert.equal(ip.dst, CIP6);
      assert.equal(ip.icmp!.type, 2);
      assert.equal(ip.icmp!.rest, 1460, 'MTU = 1500 - 40');
      assert.equal(ip.bytes.length, 1280, 'as much of the packet as fits the minimum MTU');
      assert.ok(allChecksumsOk6(ip));
      assert.equal(ip.icmp!.quoted6!.src, CIP6);
      assert.equal(h.tables.stat(abi.STAT_FRAG_NEEDED_SENT), 1n);
    });
  });

  describe(`Full-NAT 6->6 and NAT64 (${flavour})`, () => {
    it('Full-NAT with IPv6 LIPs rewrites both ends', () => {
      const h = new CoreHarness(flavour).standard();
      h.service(0, { vip: VIP6, forwarding: 'fullnat' }, [realServerEntry6(0)]);
      const r = h.one(fromClient6(syn6(42000)), 1);
      assert.equal(r.verdict, abi.VERDICT_FORWARD, `reason ${r.reason}`);
      const ip = decodeFrame6(r.out, true).ip6!;
      assert.ok(LIPS6.includes(ip.src), ip.src);
      assert.equal(ip.dst, RIPS6[0]);
      assert.ok(allChecksumsOk6(ip));
      const reply = tcp6Packet({ src: RIPS6[0], dst: ip.src }, { sport: 8080, dport: ip.tcp!.sport, flags: 'SA' });
      const o = h.one(fromRs6(0, reply), 2, { dev: 1 });
      assert.equal(o.verdict, abi.VERDICT_FORWARD, `reason ${o.reason}`);
      const back = decodeFrame6(o.out, true).ip6!;
      assert.equal(back.src, VIP6);
      assert.equal(back.dst, CIP6);
      assert.equal(back.tcp!.dport, 42000);
      assert.ok(allChecksumsOk6(back));
      assert.equal(h.sessions()[0].lip, ip.src);
    });

    for (const proto of ['tcp', 'udp'] as const) {
      it(`NAT64 (${proto}): IPv6 client -> IPv4 server through an IPv4 LIP, translated both ways (RFC 7915)`, () => {
        const h = new CoreHarness(flavour).standard();
        h.service(0, { vip: VIP6, forwarding: 'fullnat', protocol: proto, port: proto === 'tcp' ? 80 : 53 }, [realServerEntry(0)]);
        const payload = Uint8Array.from({ length: 301 }, (_, i) => i & 255);
        const pkt = proto === 'tcp'
          ? tcp6Packet({ src: CIP6, dst: VIP6, hlim: 60, tc: 0x10 }, { sport: 43000, dport: 80, flags: 'S', payload })
          : udp6Packet({ src: CIP6, dst: VIP6, hlim: 60, tc: 0x10 }, { sport: 43000, dport: 53, payload });
        const r = h.one(fromClient6(pkt), 1);
        assert.equal(r.verdict, abi.VERDICT_FORWARD, `reason ${r.reason}`);
        const f = decodeFrame(r.out, true);
        assert.equal(f.etherType, 0x0800);
        assert.equal(f.dstMac, RS_MACS[0]);
        const ip = f.ip!;
        assert.ok(LIPS.includes(ip.src), ip.src);
        assert.equal(ip.dst, RIPS[0]);
        assert.equal(ip.ttl, 60);
        assert.equal(ip.tos, 0x10);
        assert.equal(ip.totalLength, pkt.length - 20);
        assert.ok(allChecksumsOk(ip), 'IPv4 header and transport checksums verify');
        const l4 = (ip.tcp ?? ip.udp)!;
        assert.deepEqual(l4.payload, payload);
        // the server's answer to the LIP goes back to the client as IPv6
        const answer = proto === 'tcp'
          ? tcpPacket({ src: RIPS[0], dst: ip.src, ttl: 50 }, { sport: 8080, dport: l4.sport, flags: 'SA', payload })
          : udpPacket({ src: RIPS[0], dst: ip.src, ttl: 50 }, { sport: 8080, dport: l4.sport, payload });
        const o = h.one(ethernet(DEV1_MAC, RS_MACS[0], answer), 2, { dev: 1 });
        assert.equal(o.verdict, abi.VERDICT_FORWARD, `reason ${o.reason}`);
        assert.equal(o.outDev, 0);
        const g = decodeFrame6(o.out, true);
        assert.equal(g.etherType, 0x86dd);
        assert.equal(g.dstMac, CLIENT_MAC);
        const ip6 = g.ip6!;
        assert.equal(ip6.src, VIP6);
        assert.equal(ip6.dst, CIP6);
        assert.equal(ip6.hlim, 50);
        const l46 = (ip6.tcp ?? ip6.udp)!;
        assert.equal(l46.sport, proto === 'tcp' ? 80 : 53);
        assert.equal(l46.dport, 43000);
        assert.deepEqual(l46.payload, payload);
        assert.ok(allChecksumsOk6(ip6));
        const [s] = h.sessions(2);
        assert.equal(s.client, CIP6);
        assert.equal(s.rip, RIPS[0]);
        assert.equal(s.lip, ip.src);
      });
    }

    it('NAT64 fills in the UDP checksum an IPv4 server left out (IPv6 requires one)', () => {
      const h = new CoreHarness(flavour).standard();
      h.service(0, { vip: VIP6, forwarding: 'fullnat', protocol: 'udp', port: 53 }, [realServerEntry(0)]);
      const ip = decodeFrame(h.one(fromClient6(udp6Packet({ src: CIP6, dst: VIP6 }, { sport: 9, dport: 53 })), 1).out,
        true).ip!;
      const answer = udpPacket({ src: RIPS[0], dst: ip.src }, { sport: 8080, dport: ip.udp!.sport,
        payload: new Uint8Array(7).fill(9), noChecksum: true });
      const g = decodeFrame6(h.one(ethernet(DEV1_MAC, RS_MACS[0], answer), 2, { dev: 1 }).out, true).ip6!;
      assert.notEqual(g.udp!.checksum, 0);
      assert.ok(allChecksumsOk6(g));
    });

    it('NAT64: Packet Too Big from the client side reaches the server as fragmentation needed, quote translated', () => {
      const h = new CoreHarness(flavour).standard();
      h.service(0, { vip: VIP6, forwarding: 'fullnat' }, [realServerEntry(0)]);
      const fwd = decodeFrame(h.one(fromClient6(syn6(44000)), 1).out, true).ip!;
      // what the client's side received from us, as a router there quotes it
      const reply = tcp6Packet({ src: VIP6, dst: CIP6 }, { sport: 80, dport: 44000, flags: 'A', payload: new Uint8Array(100) });
      const err = icmp6Packet({ src: '2001:db8:1::fe', dst: VIP6 }, { type: 2, code: 0, rest: 1400, payload: reply });
      const r = h.one(fromClient6(err), 2);
      assert.equal(r.verdict, abi.VERDICT_FORWARD, `reason ${r.reason}`);
      assert.equal(r.outDev, 1);
      const f = decodeFrame(r.out, true);
      assert.equal(f.etherType, 0x0800);
      assert.equal(f.dstMac, RS_MACS[0]);
      const ip = f.ip!;
      assert.equal(ip.src, fwd.src, 'from the LIP');
      assert.equal(ip.dst, RIPS[0]);
      assert.equal(ip.icmp!.type, 3);
      assert.equal(ip.icmp!.code, 4);
      assert.equal(ip.icmp!.rest & 0xffff, 1380, 'the IPv4 path is 20 bytes shorter');
      const q = ip.icmp!.quoted!;
      assert.equal(q.src, RIPS[0], 'the quote reads as the server sent it');
      assert.equal(q.dst, fwd.src);
      assert.equal(q.tcp!.sport, 8080);
      assert.equal(q.tcp!.dport, fwd.tcp!.sport);
      assert.ok(allChecksumsOk(ip));
      assert.ok(allChecksumsOk(decodeIp4(q.bytes)), 'the whole quote verifies again');
    });

    for (const [code, type6, code6] of [[4, 2, 0], [3, 1, 4], [1, 1, 0]] as const) {
      it(`NAT64: an ICMPv4 error (3/${code}) from the server side reaches the client as ICMPv6 ${type6}/${code6}, quote translated`, () => {
        const h = new CoreHarness(flavour).standard();
        h.service(0, { vip: VIP6, forwarding: 'fullnat' }, [realServerEntry(0)]);
        const fwd = decodeFrame(h.one(fromClient6(syn6(44001)), 1).out, true).ip!;
        const err = icmpPacket({ src: '10.0.2.254', dst: fwd.src }, { type: 3, code, rest: code === 4 ? 1300 : 0, payload: fwd.bytes });
        const r = h.one(ethernet(DEV1_MAC, RS_MACS[0], err), 2, { dev: 1 });
        assert.equal(r.verdict, abi.VERDICT_FORWARD, `reason ${r.reason}`);
        assert.equal(r.outDev, 0);
        const g = decodeFrame6(r.out, true);
        assert.equal(g.dstMac, CLIENT_MAC);
        const ip = g.ip6!;
        assert.equal(ip.src, VIP6);
        assert.equal(ip.dst, CIP6);
        assert.equal(ip.icmp!.type, type6);
        assert.equal(ip.icmp!.code, code6);
        if (code === 4) assert.equal(ip.icmp!.rest, 1320, 'MTU + 20');
        const q = ip.icmp!.quoted6!;
        assert.equal(q.src, CIP6, 'the quote reads as the client sent it');
        assert.equal(q.dst, VIP6);
        assert.equal(q.tcp!.sport, 44001);
        assert.equal(q.tcp!.dport, 80);
        assert.ok(allChecksumsOk6(ip));
        assert.ok(allChecksumsOk6(decodeIp6(q.bytes)), 'the whole quote verifies again');
      });
    }

    it('refuses an IPv4 server behind an IPv6 VIP in NAT mode (only Full-NAT translates)', () => {
      const h = new CoreHarness(flavour).standard();
      h.service(0, { vip: VIP6, forwarding: 'nat' }, [realServerEntry(0)]);
      assert.equal(h.one(fromClient6(syn6()), 1).reason, abi.DROP_UNSUPPORTED);
    });
  });

  describe(`ICMPv6 error relay (${flavour})`, () => {
    for (const mode of ['nat', 'fullnat'] as const) {
      it(`${mode}: Packet Too Big from the server side reaches the client, quote rewritten, MTU kept`, () => {
        const h = new CoreHarness(flavour).standard();
        h.service(0, { vip: VIP6, forwarding: mode }, [realServerEntry6(0)]);
        const fwd = decodeFrame6(h.one(fromClient6(syn6(43000)), 1).out, true).ip6!;
        const err = icmp6Packet({ src: '2001:db8:2::fe', dst: fwd.src }, { type: 2, code: 0, rest: 1400, payload: fwd.bytes });
        const r = h.one(fromRs6(0, err), 2, { dev: 1 });
        assert.equal(r.verdict, abi.VERDICT_FORWARD, `reason ${r.reason}`);
        assert.equal(r.outDev, 0);
        const ip = decodeFrame6(r.out, true).ip6!;
        assert.equal(ip.src, VIP6);
        assert.equal(ip.dst, CIP6);
        assert.equal(ip.icmp!.type, 2);
        assert.equal(ip.icmp!.rest, 1400);
        const q = ip.icmp!.quoted6!;
        assert.equal(q.src, CIP6, 'the quote reads as the client sent it');
        assert.equal(q.dst, VIP6);
        assert.equal(q.tcp!.sport, 43000);
        assert.equal(q.tcp!.dport, 80);
        assert.ok(allChecksumsOk6(ip));
        // the quote is complete here: its own checksum must verify again
        assert.ok(allChecksumsOk6(decodeIp6(q.bytes)));
        assert.equal(h.tables.stat(abi.STAT_ICMP_RELAYED), 1n);
      });

      it(`${mode}: an error from the client side about our reply reaches the server, quote rewritten`, () => {
        const h = new CoreHarness(flavour).standard();
        h.service(0, { vip: VIP6, forwarding: mode }, [realServerEntry6(0)]);
        const fwd = decodeFrame6(h.one(fromClient6(syn6(43001)), 1).out, true).ip6!;
        const reply = tcp6Packet({ src: VIP6, dst: CIP6 }, { sport: 80, dport: 43001, flags: 'SA' });
        const err = icmp6Packet({ src: '2001:db8:1::fe', dst: VIP6 }, { type: 1, code: 4, payload: reply });
        const r = h.one(fromClient6(err), 3);
        assert.equal(r.verdict, abi.VERDICT_FORWARD, `reason ${r.reason}`);
        assert.equal(r.outDev, 1);
        const ip = decodeFrame6(r.out, true).ip6!;
        assert.equal(ip.dst, RIPS6[0]);
        assert.equal(ip.src, mode === 'fullnat' ? fwd.src : '2001:db8:1::fe');
        const q = ip.icmp!.quoted6!;
        assert.equal(q.src, RIPS6[0]);
        assert.equal(q.tcp!.sport, 8080);
        assert.equal(q.dst, fwd.src);
        assert.equal(q.tcp!.dport, fwd.tcp!.sport);
        assert.ok(allChecksumsOk6(ip));
      });
    }
  });
}
