// The host's IPv6: address text forms (RFC 4291, RFC 5952, brackets of RFC 3986), neighbour
// discovery (RFC 4861) checked against scapy's decoder, ICMPv6 echo, the host's reassembly and
// fragmentation, routes of both families, and neighbour resolution by solicitation.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import {
  canonicalIp, fold6, formatIpv6, hostPort, inPrefix, ipBytes, isCidr, linkLocalFromMac, multicastMac, parseCidr,
  parseIpv6, solicitedNode, splitHostPort,
} from '../../src/model/address.js';
import {
  ND_NA, ND_NS, echoReply6, neighbourAdvertisement, neighbourSolicitation, parseNdp, unsolicitedAdvertisement,
} from '../../src/net/ndp.js';
import { Reassembler, fragmentPacket } from '../../src/net/reassembly.js';
import { RouteTable } from '../../src/net/routes.js';
import { Neighbours } from '../../src/net/neighbours.js';
import { HostStack } from '../../src/director/host-stack.js';
import {
  allChecksumsOk, allChecksumsOk6, decodeFrame, decodeFrame6, ethernet, fragment4, fragment6, icmp6Packet, icmpPacket,
} from '../oracle/packet.js';

const OUR_MAC = '02:77:00:00:00:09';
const PEER_MAC = '02:00:00:00:00:01';

describe('IPv6 addresses as users write them', () => {
  it('parses every RFC 4291 form and prints RFC 5952', () => {
    const cases: [string, string][] = [
      ['2001:DB8:0:0:0:0:0:10', '2001:db8::10'], ['2001:db8::0:10', '2001:db8::10'], ['::', '::'], ['::1', '::1'],
      ['2001:db8:0:0:1:0:0:1', '2001:db8::1:0:0:1'], ['2001:0:0:1:0:0:0:1', '2001:0:0:1::1'],
      ['fe80::1:2:3:4', 'fe80::1:2:3:4'], ['::ffff:10.0.0.1', '::ffff:a00:1'], ['2001:db8:1:2:3:4:5:6', '2001:db8:1:2:3:4:5:6'],
      ['2001:db8::1:0', '2001:db8::1:0'], ['1:0:2::', '1:0:2::'],
    ];
    for (const [text, want] of cases) assert.equal(canonicalIp(text), want, text);
    for (const bad of ['2001:db8::1::2', '2001:db8:1:2:3:4:5:6:7', '12345::', 'g::1', ':1', '1:', '10.0.0.1::', '2001:db8::1%eth0']) {
      assert.equal(parseIpv6(bad), null, bad);
    }
  });

  it('writes and reads ADDRESS:PORT with brackets for IPv6 (as ipvsadm -Ln prints it)', () => {
    assert.equal(hostPort('2001:db8::10', 443), '[2001:db8::10]:443');
    assert.equal(hostPort('10.0.0.1', 80), '10.0.0.1:80');
    assert.deepEqual(splitHostPort('[2001:DB8::10]:443'), { address: '2001:db8::10', port: 443 });
    assert.deepEqual(splitHostPort('2001:db8::10'), { address: '2001:db8::10', port: null });
    assert.deepEqual(splitHostPort('[2001:db8::10]'), { address: '2001:db8::10', port: null });
    assert.deepEqual(splitHostPort('10.0.0.1:80'), { address: '10.0.0.1', port: 80 });
    assert.equal(splitHostPort('2001:db8::10:443x'), null);
    assert.equal(splitHostPort('[10.0.0.1]:80'), null);
  });

  it('prefixes, multicast groups and link-local addresses', () => {
    assert.deepEqual(parseCidr('2001:db8:1::1/64'), { address: '2001:db8:1::1', prefix: 64, family: 6 });
    assert.equal(parseCidr('2001:db8::1').prefix, 128);
    assert.ok(!isCidr('2001:db8::1/129'));
    assert.ok(inPrefix('2001:db8:1::ffff', '2001:db8:1::', 64));
    assert.ok(!inPrefix('2001:db8:2::1', '2001:db8:1::', 64));
    assert.ok(!inPrefix('10.0.0.1', '::', 0), 'never across families');
    assert.ok(inPrefix('2001:db8:1::1', '::', 0));
    assert.equal(solicitedNode('2001:db8:1::abcd:1234'), 'ff02::1:ffcd:1234');
    assert.equal(multicastMac('ff02::1:ffcd:1234'), '33:33:ff:cd:12:34');
    assert.equal(linkLocalFromMac('02:00:00:00:0c:01'), 'fe80::ff:fe00:c01');
    // the fold the core computes too (assembly/mem.ts fold6)
    const b = ipBytes('2001:db8::1');
    const dv = new DataView(b.buffer);
    assert.equal(fold6(b), (dv.getUint32(0, true) ^ dv.getUint32(4, true) ^ dv.getUint32(8, true) ^ dv.getUint32(12,
      true)) >>> 0);
    assert.equal(formatIpv6(ipBytes('2001:db8::10')), '2001:db8::10');
  });
});

describe('neighbour discovery', () => {
  it('builds NS, NA and unsolicited NA that scapy decodes with valid checksums', () => {
    const ns = neighbourSolicitation(OUR_MAC, '2001:db8:2::1', '2001:db8:2::11');
    const na = neighbourAdvertisement(OUR_MAC, parseNdp(ns)!);
    const una = unsolicitedAdvertisement(OUR_MAC, '2001:db8:1::100');
    const script = String.raw`
import sys, json
from scapy.all import Ether, raw
from scapy.layers.inet6 import IPv6, ICMPv6ND_NS, ICMPv6ND_NA, ICMPv6NDOptSrcLLAddr, ICMPv6NDOptDstLLAddr
out = []
for h in sys.argv[1:]:
    p = Ether(bytes.fromhex(h))
    ip = p[IPv6]
    icmp = ip.payload
    got = icmp.cksum
    # scapy recomputes the checksum when the field is deleted: ours must be the same
    q = p.copy()
    del q[IPv6].payload.cksum
    cks = Ether(raw(q))[IPv6].payload.cksum
    opt = icmp.getlayer(ICMPv6NDOptSrcLLAddr) or icmp.getlayer(ICMPv6NDOptDstLLAddr)
    out.append({"dst": p.dst, "src": ip.src, "ipdst": ip.dst, "hlim": ip.hlim, "type": icmp.type, "tgt": icmp.tgt,
      "ok": got == cks, "lla": opt.lladdr if opt else None, "S": getattr(icmp, "S", None), "O": getattr(icmp, "O", None)})
print(json.dumps(out))
`;
    const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');
    const got = JSON.parse(execFileSync('/usr/bin/python3', ['-c', script, hex(ns), hex(na), hex(una)], { encoding: 'utf8', timeout: 60_000 }));
    assert.deepEqual(got[0], { dst: '33:33:ff:00:00:11', src: '2001:db8:2::1', ipdst: 'ff02::1:ff00:11', hlim: 255, type: 135,
      tgt: '2001:db8:2::11', ok: true, lla: OUR_MAC, S: null, O: null });
    assert.deepEqual(got[1], { dst: OUR_MAC, src: '2001:db8:2::11', ipdst: '2001:db8:2::1', hlim: 255, type: 136,
      tgt: '2001:db8:2::11', ok: true, lla: OUR_MAC, S: 1, O: 1 });
    assert.deepEqual(got[2], { dst: '33:33:00:00:00:01', src: '2001:db8:1::100', ipdst: 'ff02::1', hlim: 255, type: 136,
      tgt: '2001:db8:1::100', ok: true, lla: OUR_MAC, S: 0, O: 1 });
  });

  it('refuses NDP with a hop limit below 255 or a bad checksum (RFC 4861 §7.1)', () => {
    const ns = neighbourSolicitation(PEER_MAC, '2001:db8:2::11', '2001:db8:2::1');
    assert.equal(parseNdp(ns)!.type, ND_NS);
    const low = ns.slice();
    low[21] = 64;
    assert.equal(parseNdp(low), null);
    const bad = ns.slice();
    bad[60] ^= 1;
    assert.equal(parseNdp(bad), null);
  });

  it('the host stack answers NS for owned addresses only, learns from NA, and resolves by NS', () => {
    const sent: Uint8Array[] = [];
    const neigh = new Neighbours({
      send: (_d, f) => sent.push(f), now: () => 0,
      identity: () => ({ mac: OUR_MAC, address: '10.0.2.1', address6: '2001:db8:2::1' }),
    });
    const stack = new HostStack([{ l2: true, mac: OUR_MAC }], () => new Set(['2001:db8:2::1', '2001:db8:1::100']), neigh, (_d, f) => sent.push(f));
    stack.handle(0, neighbourSolicitation(PEER_MAC, '2001:db8:2::11', '2001:db8:1::100'));
    assert.equal(sent.length, 1);
    const na = parseNdp(sent[0])!;
    assert.equal(na.type, ND_NA);
    assert.equal(na.target, '2001:db8:1::100');
    assert.equal(na.linkAddress, OUR_MAC);
    stack.handle(0, neighbourSolicitation(PEER_MAC, '2001:db8:2::11', '2001:db8:9::9'));
    assert.equal(sent.length, 1, 'no answer for an address we do not own');
    neigh.want(0, '2001:db8:2::12');
    const ask = parseNdp(sent[1])!;
    assert.equal(ask.type, ND_NS);
    assert.equal(ask.target, '2001:db8:2::12');
    assert.equal(decodeFrame6(sent[1], true).ip6!.dst, 'ff02::1:ff00:12');
    const answer = neighbourAdvertisement('02:00:00:00:00:12', parseNdp(sent[1])!);
    let resolved = '';
    neigh.onResolved((_d, a, m) => { resolved = `${a}=${m}`; });
    stack.handle(0, answer);
    assert.equal(resolved, '2001:db8:2::12=02:00:00:00:00:12');
    assert.equal(neigh.lookup(0, '2001:db8:2::12'), '02:00:00:00:00:12');
    stack.announce(['2001:db8:1::100', '10.0.1.100', 'fe80::1']);
    assert.equal(parseNdp(sent[sent.length - 2])!.target, '2001:db8:1::100');
    assert.equal(sent.length, 4, 'link-local addresses are not announced');
  });
});

describe('ICMPv6 echo and the host\'s fragments', () => {
  it('answers an echo request with addresses swapped and a valid checksum', () => {
    const req = ethernet(OUR_MAC, PEER_MAC, icmp6Packet({ src: '2001:db8:1::10', dst: '2001:db8:1::100' },
      { type: 128, code: 0, rest: 0x12340001, payload: new Uint8Array(56).fill(9) }), 0x86dd);
    const rep = decodeFrame6(echoReply6(req, true)!, true);
    assert.equal(rep.dstMac, PEER_MAC);
    assert.equal(rep.ip6!.src, '2001:db8:1::100');
    assert.equal(rep.ip6!.dst, '2001:db8:1::10');
    assert.equal(rep.ip6!.icmp!.type, 129);
    assert.equal(rep.ip6!.icmp!.rest, 0x12340001);
    assert.ok(allChecksumsOk6(rep.ip6!));
    assert.equal(echoReply6(req.subarray(0, 60), true), null);
  });

  for (const v6 of [false, true]) {
    it(`reassembles a fragmented ${v6 ? 'ICMPv6' : 'ICMP'} echo request and fragments the reply to the MTU`, () => {
      const sent: Uint8Array[] = [];
      const neigh = new Neighbours({ send: () => undefined, now: () => 0, identity: () => ({ mac: OUR_MAC, address: '10.0.1.1' }) });
      const stack = new HostStack([{ l2: true, mac: OUR_MAC, mtu: 1500 }], () => new Set(), neigh, (_d,
        f) => sent.push(f), () => 0);
      const payload = Uint8Array.from({ length: 4000 }, (_, i) => i & 255);
      const pkt = v6
        ? icmp6Packet({ src: '2001:db8:1::10', dst: '2001:db8:1::100' }, { type: 128, code: 0, rest: 7, payload })
        : icmpPacket({ src: '10.0.1.10', dst: '10.0.1.100', id: 99 }, { type: 8, code: 0, rest: 7, payload });
      const frags = v6 ? fragment6(pkt, 1400, 0x77) : fragment4(pkt, 1480);
      for (const f of [frags[2], frags[0], frags[1]]) stack.handle(0, ethernet(OUR_MAC, PEER_MAC, f,
        v6 ? 0x86dd : 0x0800));
      assert.equal(stack.stats.fragmentsReassembled, 1);
      assert.ok(sent.length >= 3, `${sent.length} fragments of the reply`);
      for (const f of sent) assert.ok(f.length - 14 <= 1500);
      const r = new Reassembler(() => 0);
      let whole: Uint8Array | null = null;
      for (const f of sent) whole = r.add(f, true) ?? whole;
      if (v6) {
        const d = decodeFrame6(whole!, true).ip6!;
        assert.equal(d.icmp!.type, 129);
        assert.ok(allChecksumsOk6(d));
      } else {
        const d = decodeFrame(whole!, true).ip!;
        assert.equal(d.icmp!.type, 0);
        assert.ok(allChecksumsOk(d));
      }
      assert.deepEqual(fragmentPacket(sent[0], true, 1500), [sent[0]], 'what fits stays whole');
    });
  }

  it('keeps at most 16 incomplete packets and forgets them after 2 s', () => {
    let now = 0;
    const r = new Reassembler(() => now);
    const part = (id: number) => fragment4(icmpPacket({ src: '10.0.1.10', dst: '10.0.1.100', id }, { type: 8, code: 0, payload: new Uint8Array(3000) }), 1480);
    for (let id = 0; id < 20; id++) assert.equal(r.add(part(id)[0], false), null);
    // the 17th and later were not kept: their remaining fragments complete nothing
    assert.equal(r.add(part(18)[1], false), null);
    assert.equal(r.add(part(18)[2], false), null);
    now = 2500;
    const p = part(30);
    assert.equal(r.add(p[0], false), null);
    assert.equal(r.add(p[1], false), null);
    assert.ok(r.add(p[2], false) !== null, 'room again after the timeout');
  });
});

describe('routes of both families', () => {
  it('picks the longest prefix per family, gateways beyond connected subnets', () => {
    const t = new RouteTable();
    t.addConnected('10.0.2.1/24', 1);
    t.addConnected('2001:db8:2::1/64', 1);
    t.add({ network: '::', prefix: 0, device: 0, via: '2001:db8:1::fe' });
    assert.deepEqual(t.lookup('2001:db8:2::11'), { device: 1, address: '2001:db8:2::11' });
    assert.deepEqual(t.lookup('2001:db8:99::1'), { device: 0, address: '2001:db8:1::fe' });
    assert.equal(t.lookup('192.0.2.1'), null, 'an IPv6 default route does not carry IPv4');
  });
});
