// The SYN proxy through the core (assembly/synproxy.ts, syncookie.ts): SYN cookies checked against
// an independent Python model of Linux's encoding (test/oracle/syncookie.py, SipHash checked
// against the reference vectors), the options a client sent surviving into the real server's SYN,
// the handshake with the server and the translation of the rest of the connection across 2^32,
// for NAT and Full-NAT, IPv4 and IPv6 (the same steps, the IPv6 cookie of net/ipv6/syncookies.c:
// SipHash of the 128-bit addresses, Linux's IPv6 MSS table). Every frame is decoded and its
// checksums recomputed by the oracle, and every frame of both families once more by scapy.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import * as abi from '../../src/dataplane/abi.js';
import {
  CIP as CIP4, CIP6, CLIENT_MAC, CoreHarness, DEV0_MAC, DEV1_MAC, FLAVOURS, LIPS as LIPS4, LIPS6, RIPS as RIPS4, RIPS6,
  RS_MACS, VIP as VIP4, VIP6, realServerEntry, realServerEntry6,
} from './harness.js';
import {
  allChecksumsOk, allChecksumsOk6, decodeFrame6, ethernet, icmp6Packet, icmpPacket, ip6ToBytes, ipToBytes,
  tcp6Packet, tcpOptions, tcpPacket, type DecodedIp, type DecodedIp6, type TcpSpec,
} from '../oracle/packet.js';
import type { RealServerEntry } from '../../src/dataplane/tables.js';

const ORACLE = new URL('../../../test/oracle/syncookie.py', import.meta.url).pathname;
const u32 = (n: number) => n >>> 0;
const be32 = (n: number) => [(n >>> 24) & 255, (n >>> 16) & 255, (n >>> 8) & 255, n & 255];
const KEYS: [string, string][] = [
  ['0f1e2d3c4b5a69788796a5b4c3d2e1f0', '00112233445566778899aabbccddeeff'],
  ['deadbeefcafebabe0123456789abcdef', 'fedcba98765432100f0f0f0f0f0f0f0f'],
];

interface SynOpts { mss?: number; sack?: boolean; ts?: [number, number]; ws?: number }

/** option bytes in Linux's layout, padded to 4 */
function synOptions(o: SynOpts): number[] {
  const b: number[] = [];
  if (o.mss !== undefined) b.push(2, 4, o.mss >> 8, o.mss & 255);
  if (o.sack) b.push(4, 2);
  if (o.ts) b.push(...(o.sack ? [] : [1, 1]), 8, 10, ...be32(o.ts[0]), ...be32(o.ts[1]));
  if (o.ws !== undefined) b.push(1, 3, 3, o.ws);
  while (b.length % 4) b.push(0);
  return b;
}

/** the family under test: its addresses, builders and what the proxy announces in it */
interface Family {
  name: string; v6: boolean; cip: string; vip: string; rips: string[]; lips: string[]; stranger: string;
  rs: (i: number) => RealServerEntry; ethType: number; ourMss: number; msstab: number[]; toaLen: number;
  tcp: (ip: { src: string; dst: string }, t: TcpSpec) => Uint8Array; bytes: (a: string) => number[];
}
const FAMILIES: Family[] = [
  { name: 'IPv4', v6: false, cip: CIP4, vip: VIP4, rips: RIPS4, lips: LIPS4, stranger: '10.0.1.11', rs: (i) => realServerEntry(i),
    ethType: 0x0800, ourMss: 1460, msstab: [536, 1300, 1440, 1460], toaLen: 8, tcp: tcpPacket, bytes: ipToBytes },
  // the configured MSS (1460) is IPv4's: 20 bytes less under the IPv6 header; Linux's IPv6 table
  { name: 'IPv6', v6: true, cip: CIP6, vip: VIP6, rips: RIPS6, lips: LIPS6, stranger: '2001:db8:1::11', rs: (i) => realServerEntry6(i),
    ethType: 0x86dd, ourMss: 1440, msstab: [1220, 1420, 1440, 8940], toaLen: 20, tcp: tcp6Packet, bytes: ip6ToBytes },
];

/** a decoded packet of either family */
type Pkt = DecodedIp | DecodedIp6;
/** every frame the core sent, for scapy's second opinion at the end */
const SENT: Uint8Array[] = [];

function decodeAny(out: Uint8Array): { dstMac?: string; srcMac?: string; ip: Pkt } {
  const f = decodeFrame6(out, true);
  SENT.push(out.slice());
  return { dstMac: f.dstMac, srcMac: f.srcMac, ip: (f.ip6 ?? f.ip)! };
}
const checksumsOk = (ip: Pkt) => ('ihl' in ip ? allChecksumsOk(ip) : allChecksumsOk6(ip));

interface Decoded { mss?: number; sack: boolean; ts?: [number, number]; ws?: number }
function decodeOptions(ip: Pkt): Decoded {
  const out: Decoded = { sack: false };
  for (const o of tcpOptions(ip.tcp!.options!)) {
    const dv = new DataView(o.data.buffer, o.data.byteOffset, o.data.byteLength);
    if (o.kind === 2) out.mss = dv.getUint16(0);
    if (o.kind === 4) out.sack = true;
    if (o.kind === 8) out.ts = [dv.getUint32(0), dv.getUint32(4)];
    if (o.kind === 3) out.ws = o.data[0];
  }
  return out;
}

/** the TCP header's offset: the proxy's IPv6 frames have no extension headers */
const l4At = (ip: Pkt) => ('ihl' in ip ? ip.ihl : 40);
const windowOf = (ip: Pkt) => (ip.bytes[l4At(ip) + 14] << 8) | ip.bytes[l4At(ip) + 15];

function oracle(cases: Record<string, unknown>[]): number[] {
  const out = execFileSync('/usr/bin/python3', [ORACLE], { input: JSON.stringify({ keys: KEYS, cases }), encoding: 'utf8', timeout: 60_000 });
  return (JSON.parse(out) as { results: number[] }).results;
}

for (const F of FAMILIES) {
  const { cip: CIP, vip: VIP, rips: RIPS, lips: LIPS } = F;
  const fromClient = (t: Partial<TcpSpec>, src = CIP) =>
  ethernet(DEV0_MAC, CLIENT_MAC, F.tcp({ src, dst: VIP }, { sport: 40000, dport: 80, ...t } as TcpSpec), F.ethType);
/** a segment from real server 0 to the director (`dst`: the client or a LIP) */
  const fromServer = (dst: string, t: TcpSpec) =>
    ethernet(DEV1_MAC, RS_MACS[0], F.tcp({ src: RIPS[0], dst }, t), F.ethType);
/** the client's window as the 8-bit code in the extension record keeps it (4 bits of mantissa) */
  const coded = (w: number) => { const e = Math.max(0, 32 - Math.clz32(w) - 4); return (w >> e) << e; };

  function setKeys(h: CoreHarness, count: number): void {
  h.tables.setCookieKeys(count, Buffer.from(KEYS[count & 1].join(''), 'hex'));
}

  function proxy(flavour: (typeof FLAVOURS)[number], forwarding: 'nat' | 'fullnat' = 'nat', count = 7): CoreHarness {
  const h = new CoreHarness(flavour, { connExt: true }).standard();
  h.service(0, { vip: VIP, forwarding, synProxy: 'on' }, [F.rs(0)]);
  setKeys(h, count - 1);
  setKeys(h, count);
  return h;
}

/** decodes the one forwarded frame of a result, checking every checksum */
  function fwd(r: { verdict: number; reason: number; out: Uint8Array }): Pkt {
  assert.equal(r.verdict, abi.VERDICT_FORWARD, `verdict ${r.verdict} reason ${abi.DROP_REASON_NAMES[r.reason]}`);
  const ip = decodeAny(r.out).ip;
  assert.ok(checksumsOk(ip), 'checksums');
  return ip;
}

  const MSSTAB = F.msstab;
  const mssIndex = (m: number) => [3, 2, 1].find((i) => m >= MSSTAB[i]) ?? 0;
for (const flavour of FLAVOURS) {
  describe(`SYN cookies, ${F.name} (${flavour})`, () => {
    const clients: { name: string; opts: SynOpts; isn: number; sport: number }[] = [
      { name: 'Linux-like: MSS, SACK, timestamps, window scale 7', opts: { mss: 1460, sack: true, ts: [0x11223344, 0], ws: 7 }, isn: 0xfffffff0, sport: 40000 },
      { name: 'Windows-like: no timestamps, window scale 8', opts: { mss: 1440, sack: true, ws: 8 }, isn: 12345, sport: 40001 },
      { name: 'a small MSS and no options but timestamps', opts: { mss: 1400, ts: [7, 0] }, isn: 0x80000000, sport: 40002 },
      { name: 'nothing at all (MSS 536 assumed)', opts: {}, isn: 1, sport: 40003 },
      { name: 'a jumbo MSS and window scale 14', opts: { mss: 8960, ws: 14 }, isn: 99, sport: 40004 },
    ];

    it('answer every SYN with the SYN-ACK of the Linux model and create no session', () => {
      const h = proxy(flavour);
      const now = 123_456;
      const cases: Record<string, unknown>[] = [];
      const answers = clients.map((c) => {
        const r = h.one(fromClient({ sport: c.sport, flags: 'S', seq: c.isn, options: synOptions(c.opts) }), now);
        assert.equal(r.outDev, 0, 'back out of the device it came from');
        const f = decodeAny(r.out);
        assert.equal(f.dstMac, CLIENT_MAC);
        assert.equal(f.srcMac, DEV0_MAC);
        const ip = fwd(r);
        assert.deepEqual([ip.src, ip.dst, ip.tcp!.sport, ip.tcp!.dport, ip.tcp!.flags], [VIP, CIP, 80, c.sport, 0x12]);
        assert.equal(ip.tcp!.ack, u32(c.isn + 1));
        assert.equal(windowOf(ip), 0, 'the client sends nothing until the real server answered');
        const ws = c.opts.ws ?? 15;
        const mi = mssIndex(c.opts.mss ?? 536);
        const data = c.opts.ts ? mi : mi | (c.opts.sack ? 4 : 0) | (ws << 3);
        cases.push({ op: 'make', count: 7, saddr: CIP, daddr: VIP, sport: c.sport, dport: 80, seq: c.isn, data, v6: F.v6 });
        if (c.opts.ts) cases.push({ op: 'ts', now, options: ws | (c.opts.sack ? 16 : 0) });
        return ip;
      });
      const model = oracle(cases);
      let k = 0;
      clients.forEach((c, i) => {
        const ip = answers[i];
        assert.equal(ip.tcp!.seq, model[k++], `${c.name}: cookie`);
        const o = decodeOptions(ip);
        assert.equal(o.mss, F.ourMss, 'our MSS');
        assert.equal(o.sack, !!c.opts.sack);
        assert.equal(o.ws, c.opts.ws === undefined ? undefined : 7, 'our window scale, only if the client scales');
        if (c.opts.ts) {
          assert.deepEqual(o.ts, [model[k++], c.opts.ts[0]], `${c.name}: options in TSval, the client's TSval echoed`);
        } else {
          assert.equal(o.ts, undefined);
        }
      });
      assert.equal(h.tables.sessionCount(), 0);
      assert.equal(h.tables.stat(abi.STAT_COOKIES_SENT), BigInt(clients.length));
      assert.equal(h.tables.stat(abi.STAT_SYN_RECEIVED), BigInt(clients.length));
      assert.equal(h.tables.serviceSyns(0), BigInt(clients.length));
    });

    it('open the real server with the client\'s ISN and options once its ACK returns the cookie', () => {
      const h = proxy(flavour);
      for (const c of clients) {
        const sa = fwd(h.one(fromClient({ sport: c.sport, flags: 'S', seq: c.isn, options: synOptions(c.opts) }), 1000));
        const ours = decodeOptions(sa).ts;
        const tsOpts = c.opts.ts ? [1, 1, 8, 10, ...be32(c.opts.ts[0] + 5), ...be32(ours![0])] : [];
        const ack = h.one(fromClient({ sport: c.sport, flags: 'A', seq: u32(c.isn + 1), ack: u32(sa.tcp!.seq! + 1), window: 502, options: tsOpts }), 1002);
        assert.equal(ack.outDev, 1);
        const syn = fwd(ack);
        assert.deepEqual([syn.src, syn.dst, syn.tcp!.sport, syn.tcp!.dport, syn.tcp!.flags],
          [CIP, RIPS[0], c.sport, 8080, 0x02]);
        assert.equal(syn.tcp!.seq, c.isn, `${c.name}: the client's ISN`);
        const o = decodeOptions(syn);
        assert.equal(o.mss, MSSTAB[mssIndex(c.opts.mss ?? 536)], `${c.name}: MSS rounded down to Linux's table`);
        assert.equal(o.sack, !!c.opts.sack, `${c.name}: SACK-permitted`);
        assert.equal(o.ws, c.opts.ws, `${c.name}: window scale`);
        assert.deepEqual(o.ts, c.opts.ts ? [c.opts.ts[0] + 5, 0] : undefined, `${c.name}: the client's TSval`);
        // the ACK's window was scaled by the client's shift; a SYN's window never is
        assert.equal(windowOf(syn), Math.min(0xffff, 502 << (c.opts.ws ?? 0)));
      }
      assert.equal(h.tables.stat(abi.STAT_COOKIES_OK), BigInt(clients.length));
      const s = h.sessions();
      assert.equal(s.length, clients.length);
      assert.ok(s.every((x) => abi.TCP_STATE_NAMES[x.state] === 'SYN_SENT'), 'waiting for the server; never embryonic');
      assert.equal(h.tables.embryonic().count, 0);
    });

    it('refuse forged, stale and replayed-elsewhere cookies; accept the previous period\'s', () => {
      const h = proxy(flavour, 'nat', 20);
      const sa = fwd(h.one(fromClient({ flags: 'S', seq: 5000 }), 1));
      const cookie = sa.tcp!.seq!;
      const ack = (c: number, t: Partial<TcpSpec> = {}) => h.one(fromClient({ flags: 'A', seq: 5001, ack: u32(c + 1), ...t }), 2);
      for (const [what, r] of [
        // (the sums are additive, so ack - seq is what counts: off by an odd number never verifies,
        // which keeps a window probe apart from the ACK; a forger must know the cookie first)
        ['off by one', ack(u32(cookie + 1), { payload: new Uint8Array(1) })],
        ['another hash', ack(u32(cookie ^ 0x800000))],
        ['a later period', ack(u32(cookie + 0x1000000))],
        ['another client port', ack(cookie, { sport: 40009 })],
        ['another ISN', ack(cookie, { seq: 5002 + 0x10000 })],
        ['an ISN off by one, with data', ack(cookie, { seq: 5002, payload: new Uint8Array(1) })],
        ['from another address', h.one(fromClient({ flags: 'A', seq: 5001, ack: u32(cookie + 1) }, F.stranger), 2)],
      ] as const) {
        assert.equal(r.verdict, abi.VERDICT_DROP, what);
        assert.equal(r.reason, abi.DROP_BAD_COOKIE, what);
      }
      assert.equal(h.tables.stat(abi.STAT_COOKIES_FAILED), 7n);
      // the model agrees that these are bad and that the real one is good
      const model = oracle([
        { op: 'check', count: 20, cookie, saddr: CIP, daddr: VIP, sport: 40000, dport: 80, seq: 5000, limit: 128, v6: F.v6 },
        { op: 'check', count: 20, cookie: u32(cookie + 1), saddr: CIP, daddr: VIP, sport: 40000, dport: 80, seq: 5000, limit: 128, v6: F.v6 },
        { op: 'check', count: 21, cookie, saddr: CIP, daddr: VIP, sport: 40000, dport: 80, seq: 5000, limit: 128, v6: F.v6 },
        { op: 'check', count: 22, cookie, saddr: CIP, daddr: VIP, sport: 40000, dport: 80, seq: 5000, limit: 128, v6: F.v6 },
      ]);
      assert.deepEqual(model.map((x) => x >= 0), [true, false, true, false]);
      // one rotation later (the host writes the next period's keys): still valid
      setKeys(h, 21);
      const ok = ack(cookie);
      assert.equal(ok.verdict, abi.VERDICT_FORWARD);
      assert.equal(decodeAny(ok.out).ip.tcp!.flags, 0x02);
      // two rotations: refused
      const h2 = proxy(flavour, 'nat', 20);
      const c2 = fwd(h2.one(fromClient({ flags: 'S', seq: 5000 }), 1)).tcp!.seq!;
      setKeys(h2, 21);
      setKeys(h2, 22);
      assert.equal(h2.one(fromClient({ flags: 'A', seq: 5001, ack: u32(c2 + 1) }), 2).reason, abi.DROP_BAD_COOKIE);
    });

    it('a window probe after a lost third segment opens the connection too (its seq is the ISN)', () => {
      const h = proxy(flavour);
      const sa = fwd(h.one(fromClient({ flags: 'S', seq: 0xffffffff, options: synOptions({ mss: 1460, ws: 7 }) }), 1));
      // the ACK (seq ISN + 1) never arrived; the probe has seq ISN, no payload
      const syn = fwd(h.one(fromClient({ flags: 'A', seq: 0xffffffff, ack: u32(sa.tcp!.seq! + 1), window: 64 }), 300));
      assert.deepEqual([syn.tcp!.flags, syn.tcp!.seq, decodeOptions(syn).ws], [0x02, 0xffffffff, 7]);
      // a probe-like segment with data is no probe: refused
      const h2 = proxy(flavour);
      const sa2 = fwd(h2.one(fromClient({ flags: 'S', seq: 50 }), 1));
      const r = h2.one(fromClient({ flags: 'PA', seq: 50, ack: u32(sa2.tcp!.seq! + 1), payload: new Uint8Array(1) }), 2);
      assert.equal(r.reason, abi.DROP_BAD_COOKIE);
    });

    it('a valid cookie with no real server to take it gets a RST, not a hang', () => {
      const h = proxy(flavour);
      const sa = fwd(h.one(fromClient({ flags: 'S', seq: 77 }), 1));
      h.setDestinations(0, []);
      const r = h.one(fromClient({ flags: 'A', seq: 78, ack: u32(sa.tcp!.seq! + 1) }), 2);
      const rst = fwd(r);
      assert.equal(r.outDev, 0);
      assert.deepEqual([rst.src, rst.dst, rst.tcp!.flags, rst.tcp!.seq], [VIP, CIP, 0x04, u32(sa.tcp!.seq! + 1)]);
      assert.equal(h.drops(abi.DROP_NO_RS), 1n);
      assert.equal(h.tables.sessionCount(), 0);
    });

    it('with the proxy off, nothing answers for the server; in auto mode the core switches on at the embryonic budget', () => {
      const h = new CoreHarness(flavour, { connExt: true }).standard();
      h.service(0, { vip: VIP, forwarding: 'nat', synProxy: 'auto' }, [F.rs(0)]);
      setKeys(h, 1);
      h.tables.setSynFlood({ embryonicMax: 3, synRecvPressureS: 0, proxyFillRecords: 0, mss: 1460, wscale: 7 });
      for (let i = 0; i < 3; i++) assert.equal(fwd(h.one(fromClient({ sport: 1000 + i, flags: 'S' }), 1)).dst, RIPS[0]);
      assert.equal(h.tables.embryonic().count, 3);
      const sa = fwd(h.one(fromClient({ sport: 2000, flags: 'S' }), 1));
      assert.equal(sa.dst, CIP, 'answered by the director');
      assert.equal(h.tables.sessionCount(), 3);
      // host trigger (rate) without pressure
      const h2 = new CoreHarness(flavour, { connExt: true }).standard();
      h2.service(0, { vip: VIP, forwarding: 'nat', synProxy: 'auto' }, [F.rs(0)]);
      assert.equal(fwd(h2.one(fromClient({ flags: 'S' }), 1)).dst, RIPS[0]);
      h2.tables.setSynProxyOn(0, true);
      assert.equal(fwd(h2.one(fromClient({ sport: 3, flags: 'S' }), 1)).dst, CIP);
      assert.ok(h2.tables.synProxyOn(0));
    });
  });

  for (const forwarding of ['nat', 'fullnat'] as const) {
    describe(`proxied connection, ${F.name} ${forwarding} (${flavour})`, () => {
      /** a full handshake: client options `c`, the server's ISN and options; returns the pieces */
      interface Server { isn: number; ts?: number; ws?: number; sack?: boolean; window?: number }
      function handshake(c: SynOpts, server: Server) {
        const h = proxy(flavour, forwarding);
        const isn = 0xfffffff8; // the client's stream wraps 2^32 after 8 bytes
        const sa = fwd(h.one(fromClient({ flags: 'S', seq: isn, options: synOptions(c) }), 5000));
        const cookie = sa.tcp!.seq!;
        const ourTs = decodeOptions(sa).ts?.[0];
        const tsClient = c.ts ? c.ts[0] + 1 : 0;
        const ackOpts = c.ts ? [1, 1, 8, 10, ...be32(tsClient), ...be32(ourTs!)] : [];
        const syn = fwd(h.one(fromClient({ flags: 'A', seq: u32(isn + 1), ack: u32(cookie + 1), window: 1000, options: ackOpts }), 5001));
        const src = syn.src; // CIP (NAT) or a LIP (Full-NAT)
        const sport = syn.tcp!.sport;
        if (forwarding === 'fullnat') assert.ok(LIPS.includes(src));
        const sTs: [number, number] | undefined =
          server.ts !== undefined ? [server.ts, decodeOptions(syn).ts![0]] : undefined;
        const sOpts = synOptions({ mss: 1400, sack: server.sack, ts: sTs, ws: server.ws });
        const synack = fromServer(src, {
          sport: 8080, dport: sport, flags: 'SA', seq: server.isn, ack: u32(isn + 1), window: server.window ?? 29200, options: sOpts,
        });
        const r = h.one(synack, 5002, { dev: 1 });
        return { h, isn, cookie, ourTs, tsClient, src, sport, r, emitted: h.emitted };
      }

      if (forwarding === 'fullnat') {
        it('a client reusing its port gets its Full-NAT tuple back through the proxy, and its closed session ends', () => {
          const s = handshake({ mss: 1460, sack: true, ts: [1000, 0], ws: 7 },
            { isn: 5000, ts: 0x10000, ws: 7, sack: true });
          const { h } = s;
          // the server closes first (as nginx with Connection: close), the client follows
          const server = (flags: string, seq: number, ack: number) =>
            fromServer(s.src, { sport: 8080, dport: s.sport, flags, seq, ack: u32(ack) });
          fwd(h.one(server('FA', 5001, s.isn + 1), 5003, { dev: 1 }));
          fwd(h.one(fromClient({ flags: 'FA', seq: u32(s.isn + 1), ack: u32(s.cookie + 2) }), 5004));
          fwd(h.one(server('A', 5002, s.isn + 2), 5005, { dev: 1 }));
          assert.equal(h.sessions(5005).length, 1);
          // the same client port again: the SYN is answered, and the closed session stays for its ACK
          const isn2 = 0x01000000;
          const sa = fwd(h.one(fromClient({ flags: 'S', seq: isn2, options: synOptions({ mss: 1460, ts: [2000, 0] }) }), 6000));
          assert.equal(sa.tcp!.flags, 0x12);
          assert.equal(h.sessions(6000).length, 1);
          const ts2 = decodeOptions(sa).ts![0];
          const syn = fwd(h.one(fromClient({ flags: 'A', seq: u32(isn2 + 1), ack: u32(sa.tcp!.seq! + 1),
            options: [1, 1, 8, 10, ...be32(2001), ...be32(ts2)] }), 6001));
          assert.equal(syn.tcp!.flags, 0x02, 'the proxy opens the server');
          assert.deepEqual([syn.src, syn.tcp!.sport, syn.tcp!.seq], [s.src, s.sport, isn2], 'the tuple it had, the new ISN');
          const after = h.sessions(6001);
          assert.equal(after.length, 1, 'the closed session made room for the new one');
          assert.equal(abi.TCP_STATE_NAMES[after[0].state], 'SYN_SENT');
          assert.equal(h.tables.stat(abi.STAT_FNAT_QUARANTINED), 0n, 'no tuple held in quarantine');
        });
      }

      it('a window probe before the server answered sends the SYN again; data waits', () => {
        const h = proxy(flavour, forwarding);
        const isn = 0x20000000;
        const opts = synOptions({ mss: 1460, sack: true, ts: [1000, 0], ws: 7 });
        const sa = fwd(h.one(fromClient({ flags: 'S', seq: isn, options: opts }), 1));
        const cookie = sa.tcp!.seq!;
        const ourTs = decodeOptions(sa).ts![0];
        const ackOpts = (tsval: number) => [1, 1, 8, 10, ...be32(tsval), ...be32(ourTs)];
        const syn = fwd(h.one(fromClient({ flags: 'A', seq: isn + 1, ack: u32(cookie + 1), window: 1000, options: ackOpts(1001) }), 2));
        assert.equal(syn.tcp!.flags, 0x02);
        // the SYN never reached the server; the client, facing our zero window, probes
        const held = h.one(fromClient({ flags: 'PA', seq: isn + 1, ack: u32(cookie + 1), options: ackOpts(1200), payload: new Uint8Array(3) }), 3);
        assert.equal(held.reason, abi.DROP_SYNPROXY_PENDING, 'data waits for the server');
        for (const [t, tsval] of [[4, 1250], [5, 1750]]) {
          const again = fwd(h.one(fromClient({ flags: 'A', seq: isn, ack: u32(cookie + 1), window: 1000, options: ackOpts(tsval) }), t));
          assert.deepEqual([again.src, again.dst, again.tcp!.sport, again.tcp!.dport, again.tcp!.flags, again.tcp!.seq],
            [syn.src, syn.dst, syn.tcp!.sport, syn.tcp!.dport, 0x02, isn], 'the same SYN');
          const o = decodeOptions(again);
          assert.deepEqual([o.mss, o.sack, o.ws, o.ts], [decodeOptions(syn).mss, true, 7, [tsval, 0]]);
        }
        // a forged probe (a wrong acknowledgement) sends nothing
        const forged = h.one(fromClient({ flags: 'A', seq: isn, ack: u32(cookie + 7), options: ackOpts(1800) }), 6);
        assert.equal(forged.reason, abi.DROP_SYNPROXY_PENDING);
        assert.equal(h.sessions(6).length, 1);
        assert.equal(abi.TCP_STATE_NAMES[h.sessions(6)[0].state], 'SYN_SENT');
        // the server answers the last one: the connection opens as usual
        const up = fwd(h.one(fromServer(syn.src, {
          sport: 8080, dport: syn.tcp!.sport, flags: 'SA', seq: 9000, ack: u32(isn + 1), window: 29200,
          options: synOptions({ mss: 1400, sack: true, ts: [0x10000, 1750], ws: 7 }),
        }), 7, { dev: 1 }));
        assert.deepEqual([up.dst, up.tcp!.flags, up.tcp!.seq, up.tcp!.ack], [CIP, 0x10, u32(cookie + 1), u32(isn + 1)]);
        assert.equal(abi.TCP_STATE_NAMES[h.sessions(7)[0].state], 'ESTABLISHED');
      });

      it('the last ACK of a connection that closed without data, which verifies as a cookie, reaches the server as that ACK', () => {
        const s = handshake({ mss: 1460, sack: true, ts: [1000, 0], ws: 7 },
          { isn: 5000, ts: 0x10000, ws: 7, sack: true });
        const { h } = s;
        // the client closes first, before sending anything (wrk closing its connections at the end
        // of a run), and the server follows
        const fin = fwd(h.one(fromClient({ flags: 'FA', seq: u32(s.isn + 1), ack: u32(s.cookie + 1) }), 5003));
        assert.equal(fin.tcp!.flags, 0x11);
        const sfin = fwd(h.one(fromServer(s.src, { sport: 8080, dport: s.sport, flags: 'FA', seq: 5001, ack: u32(s.isn + 2) }), 5004,
          { dev: 1 }));
        assert.equal(sfin.tcp!.seq, u32(s.cookie + 1), 'the server\'s FIN in the client\'s numbers');
        // seq and ack are both one past the handshake's third segment: the cookie check, additive
        // in the two, passes it; no SYN on this tuple was answered, so it is the old connection's
        const last = fwd(h.one(fromClient({ flags: 'A', seq: u32(s.isn + 2), ack: u32(s.cookie + 2) }), 5005));
        assert.deepEqual([last.src, last.tcp!.sport, last.tcp!.flags, last.tcp!.seq, last.tcp!.ack],
          [s.src, s.sport, 0x10, u32(s.isn + 2), 5002], 'the ACK of the server\'s FIN, not a new handshake\'s SYN');
        assert.equal(h.sessions(5005).length, 1);
        assert.equal(h.tables.stat(abi.STAT_COOKIES_OK), 1n, 'one cookie taken: the handshake\'s, not the last ACK\'s');
      });

      it('the server\'s SYN-ACK opens the client\'s window and an ACK completes the server\'s handshake', () => {
        const s = handshake({ mss: 1460, sack: true, ts: [1000, 0], ws: 7 },
          { isn: 0xfffffffe, ts: 0x7fff0000, ws: 9, sack: true, window: 65535 });
        assert.equal(s.r.outDev, 0);
        assert.equal(decodeAny(s.r.out).dstMac, CLIENT_MAC);
        const up = fwd(s.r);
        assert.deepEqual([up.src, up.dst, up.tcp!.sport, up.tcp!.dport, up.tcp!.flags], [VIP, CIP, 80, 40000, 0x10]);
        assert.equal(up.tcp!.seq, u32(s.cookie + 1), 'the client\'s view: our ISN + 1');
        assert.equal(up.tcp!.ack, u32(s.isn + 1));
        assert.deepEqual(decodeOptions(up).ts, [s.ourTs, s.tsClient], 'the server\'s clock mapped onto ours');
        assert.equal(windowOf(up), Math.ceil(65535 / 128), 'the SYN-ACK\'s window in our scale (7)');
        assert.equal(s.emitted.length, 1);
        assert.equal(s.emitted[0].dev, 1);
        const e = decodeAny(s.emitted[0].out);
        assert.deepEqual([e.dstMac, e.srcMac], [RS_MACS[0], DEV1_MAC]);
        const ack = e.ip;
        assert.ok(checksumsOk(ack));
        assert.deepEqual([ack.src, ack.dst, ack.tcp!.sport, ack.tcp!.dport, ack.tcp!.flags],
          [s.src, RIPS[0], s.sport, 8080, 0x10]);
        assert.deepEqual([ack.tcp!.seq, ack.tcp!.ack], [u32(s.isn + 1), u32(0xfffffffe + 1)]);
        assert.deepEqual(decodeOptions(ack).ts, [s.tsClient, 0x7fff0000]);
        assert.equal(windowOf(ack), coded(1000), 'the client\'s window, kept to 4 bits of mantissa');
        const sess = s.h.sessions()[0];
        assert.equal(abi.TCP_STATE_NAMES[sess.state], 'ESTABLISHED');
        assert.equal(s.h.rsField(0, abi.RS_ACTIVE), 1);
      });

      it('translates seq, ack, SACK, timestamps and windows for the rest of the connection, across 2^32', () => {
        const serverIsn = 0xfffffffe;
        const s = handshake({ mss: 1460, sack: true, ts: [1000, 0], ws: 7 },
          { isn: serverIsn, ts: 0x7fff0000, ws: 9, sack: true });
        const delta = u32(s.cookie - serverIsn);
        // client -> server: data with a SACK block about the server's stream, seq past 2^32
        const sack = (l: number, r: number, tsv: number, tse: number) =>
          [1, 1, 5, 10, ...be32(l), ...be32(r), 1, 1, 8, 10, ...be32(tsv), ...be32(tse)];
        const cIn = s.h.one(fromClient({
          flags: 'PA', seq: u32(s.isn + 1), ack: u32(s.cookie + 1 + 3000), window: 300,
          options: sack(u32(s.cookie + 4001), u32(s.cookie + 5001), s.tsClient + 2, s.ourTs! + 40),
          payload: new Uint8Array(20).fill(7),
        }), 5010);
        const d = fwd(cIn);
        assert.equal(d.dst, RIPS[0]);
        assert.equal(d.tcp!.seq, u32(s.isn + 1), 'the client\'s own stream is not shifted');
        assert.equal(d.tcp!.ack, u32(serverIsn + 1 + 3000), 'the server\'s stream back in its own numbers (wrapped)');
        const o = tcpOptions(d.tcp!.options!);
        const sk = new DataView(o.find((x) => x.kind === 5)!.data.buffer, o.find((x) => x.kind === 5)!.data.byteOffset);
        assert.deepEqual([sk.getUint32(0), sk.getUint32(4)], [u32(serverIsn + 4001), u32(serverIsn + 5001)]);
        assert.deepEqual(decodeOptions(d).ts, [s.tsClient + 2, 0x7fff0000 + 40]);
        assert.equal(windowOf(d), 300, 'the server agreed to scale: the client\'s window passes');
        assert.equal(d.tcp!.payload.length, 20);
        // server -> client
        const back = fromServer(s.src, {
          sport: 8080, dport: s.sport, flags: 'PA', seq: u32(serverIsn + 1), ack: u32(s.isn + 21), window: 100,
          options: [1, 1, 8, 10, ...be32(0x7fff0000 + 50), ...be32(s.tsClient + 2)], payload: new Uint8Array(1000),
        });
        const b = fwd(s.h.one(back, 5011, { dev: 1 }));
        assert.deepEqual([b.src, b.dst, b.tcp!.sport, b.tcp!.dport], [VIP, CIP, 80, 40000]);
        assert.equal(b.tcp!.seq, u32(serverIsn + 1 + delta));
        assert.equal(b.tcp!.seq, u32(s.cookie + 1));
        assert.equal(b.tcp!.ack, u32(s.isn + 21));
        assert.deepEqual(decodeOptions(b).ts, [u32(s.ourTs! + 50), s.tsClient + 2]);
        assert.equal(windowOf(b), Math.ceil((100 << 9) / (1 << 7)), 'the server\'s shift 9 told in our shift 7');
      });

      it('a server that does not scale or stamp: windows shifted for it, no timestamp translation', () => {
        const s = handshake({ mss: 1460, ts: [5, 0], ws: 6 }, { isn: 1 });
        const up = fwd(s.r);
        assert.equal(decodeOptions(up).ts, undefined);
        assert.equal(windowOf(up), Math.ceil(29200 / 128));
        assert.equal(windowOf(decodeAny(s.emitted[0].out).ip), Math.min(0xffff, coded(1000) << 6));
        const d = fwd(s.h.one(fromClient({ flags: 'A', seq: u32(s.isn + 1), ack: u32(s.cookie + 1), window: 3 }), 5010));
        assert.equal(windowOf(d), 3 << 6);
        const b = fwd(s.h.one(fromServer(s.src, {
          sport: 8080, dport: s.sport, flags: 'A', seq: 2, ack: u32(s.isn + 1), window: 1,
        }), 5011, { dev: 1 }));
        assert.equal(windowOf(b), 1, 'a 1-byte window is rounded up, never to zero');
      });

      it('an ICMP error about a segment the client got quotes the server\'s own sequence number on its way there', () => {
        const serverIsn = 0xfffffff0;
        const s = handshake({ mss: 1460, ws: 7 }, { isn: serverIsn, ws: 7 });
        // what the client received from the VIP, as a router on its path quotes it (frag needed)
        const seg = F.tcp({ src: VIP, dst: CIP }, { sport: 80, dport: 40000, flags: 'A', seq: u32(s.cookie + 1 + 5000), ack: 1 });
        // IPv4: fragmentation needed; IPv6: Packet Too Big (RFC 4443 §3.2), both from a router
        const err = F.v6
          ? ethernet(DEV0_MAC, CLIENT_MAC, icmp6Packet({ src: '2001:db8:1::fe', dst: VIP }, { type: 2, code: 0, rest: 1280, payload: seg.subarray(0, 60) }), 0x86dd)
          : ethernet(DEV0_MAC, CLIENT_MAC, icmpPacket({ src: '10.0.1.254', dst: VIP }, { type: 3, code: 4, rest: 1400, payload: seg.subarray(0, 40) }));
        const r = s.h.one(err, 5020);
        assert.equal(r.verdict, abi.VERDICT_FORWARD);
        const ip = decodeAny(r.out).ip;
        assert.equal(ip.dst, RIPS[0]);
        assert.ok(ip.icmp!.checksumOk);
        const q: Pkt = 'ihl' in ip ? ip.icmp!.quoted! : ip.icmp!.quoted6!;
        assert.equal(q.dst, s.src);
        const qseq = new DataView(q.bytes.buffer, q.bytes.byteOffset + l4At(q) + 4, 4).getUint32(0);
        assert.equal(qseq, u32(serverIsn + 1 + 5000));
        if (!('ihl' in q)) {
          // the whole quoted segment came along: its TCP checksum must verify after both rewrites
          const qs = q.tcp!;
          assert.equal(qs.payload.length, 0);
          const again = tcp6Packet({ src: q.src, dst: q.dst }, { sport: qs.sport, dport: qs.dport, flags: 'A', seq: qseq, ack: qs.ack! });
          assert.deepEqual([...q.bytes.subarray(40, 60)], [...again.subarray(40, 60)], 'the quoted segment, checksum included');
        }
      });

      it('the real server refusing (RST) reaches the client at the sequence number it expects', () => {
        const h = proxy(flavour, forwarding);
        const sa = fwd(h.one(fromClient({ flags: 'S', seq: 10 }), 1));
        const syn = fwd(h.one(fromClient({ flags: 'A', seq: 11, ack: u32(sa.tcp!.seq! + 1) }), 2));
        // before the server answered, the client's segments wait (its window is closed anyway)
        const early = h.one(fromClient({ flags: 'PA', seq: 11, ack: u32(sa.tcp!.seq! + 1), payload: new Uint8Array(5) }), 3);
        assert.equal(early.reason, abi.DROP_SYNPROXY_PENDING);
        const rst = fromServer(syn.src, {
          sport: 8080, dport: syn.tcp!.sport, flags: 'RA', seq: 0, ack: 11, window: 0,
        });
        const r = fwd(h.one(rst, 4, { dev: 1 }));
        assert.deepEqual([r.src, r.dst, r.tcp!.flags! & 0x04, r.tcp!.seq], [VIP, CIP, 0x04, u32(sa.tcp!.seq! + 1)]);
        assert.equal(abi.TCP_STATE_NAMES[h.sessions()[0].state], 'CLOSE');
      });
    });
  }

  describe(`SYN proxy with PROXY v1 and TOA on Full-NAT, ${F.name} (${flavour})`, () => {
    it('the ACK to the server carries TOA and the header; both streams translated, the client\'s by the header too', () => {
      const h = new CoreHarness(flavour, { connExt: true, proxyMarks: true }).standard();
      h.service(0, { vip: VIP, forwarding: 'fullnat', synProxy: 'on', toa: true, proxyProtocol: 'v1' }, [F.rs(0)]);
      setKeys(h, 6);
      setKeys(h, 7);
      const plain = proxy(flavour, 'fullnat');
      const isn = 0xfffffffa; // the client's stream wraps 2^32 inside the header
      const serverIsn = 0x7ffffff0;
      const c = { mss: 1460, sack: true, ts: [1000, 0] as [number, number], ws: 7 };
      const header = Buffer.from(`PROXY TCP${F.v6 ? 6 : 4} ${CIP} ${VIP} 40000 80\r\n`, 'latin1');
      const hl = header.length;
      // 1. the SYN-ACK: a cookie, and an MSS that leaves room for TOA and the header
      const sa = fwd(h.one(fromClient({ flags: 'S', seq: isn, options: synOptions(c) }), 100));
      const saPlain = fwd(plain.one(fromClient({ flags: 'S', seq: isn, options: synOptions(c) }), 100));
      assert.equal(decodeOptions(sa).mss, decodeOptions(saPlain).mss! - F.toaLen - hl, 'MSS lowered by TOA and the header');
      assert.equal(h.sessions().length, 0, 'no session for a SYN');
      const cookie = sa.tcp!.seq!;
      const ourTs = decodeOptions(sa).ts![0];
      // 2. the client's ACK returns the cookie: the director's SYN to the server, no TOA, no payload
      const syn = fwd(h.one(fromClient({
        flags: 'A', seq: u32(isn + 1), ack: u32(cookie + 1), window: 1000, options: [1, 1, 8, 10, ...be32(1001), ...be32(ourTs)],
      }), 101));
      assert.equal(syn.tcp!.flags, 0x02);
      assert.ok(LIPS.includes(syn.src));
      assert.equal(syn.tcp!.seq, isn, 'the client\'s ISN');
      assert.equal(syn.tcp!.payload.length, 0);
      assert.equal(tcpOptions(syn.tcp!.options!).find((x) => x.kind === 254), undefined, 'no TOA on the SYN');
      // 2b. that SYN is lost: the client's window probe (seq = its ISN) sends it again, the same
      // SYN, with what TOA and the PROXY header set up at the first one kept for what follows
      const again = fwd(h.one(fromClient({
        flags: 'A', seq: isn, ack: u32(cookie + 1), window: 1000, options: [1, 1, 8, 10, ...be32(1001), ...be32(ourTs)],
      }), 101));
      assert.deepEqual([again.src, again.dst, again.tcp!.sport, again.tcp!.dport, again.tcp!.flags, again.tcp!.seq],
        [syn.src, syn.dst, syn.tcp!.sport, syn.tcp!.dport, 0x02, isn]);
      assert.deepEqual([...again.tcp!.options!], [...syn.tcp!.options!], 'the same options');
      assert.equal(h.sessions().length, 1);
      const lport = syn.tcp!.sport;
      const srvTs = 0x10000000;
      // 3. the server's SYN-ACK: the client gets the window-opening ACK, the server the completing ACK
      const r = h.one(fromServer(syn.src, {
        sport: 8080, dport: lport, flags: 'SA', seq: serverIsn, ack: u32(isn + 1), window: 29200,
        options: synOptions({ mss: 1460, sack: true, ts: [srvTs, decodeOptions(syn).ts![0]], ws: 7 }),
      }), 102, { dev: 1 });
      const up = fwd(r);
      assert.deepEqual([up.src, up.dst, up.tcp!.flags, up.tcp!.seq, up.tcp!.ack],
        [VIP, CIP, 0x10, u32(cookie + 1), u32(isn + 1)]);
      assert.equal(h.emitted.length, 1);
      const ack = decodeAny(h.emitted[0].out).ip;
      assert.ok(checksumsOk(ack), 'the emitted ACK\'s checksums, recomputed by the oracle');
      assert.deepEqual([ack.src, ack.dst, ack.tcp!.sport, ack.tcp!.dport, ack.tcp!.flags],
        [syn.src, RIPS[0], lport, 8080, 0x10]);
      assert.deepEqual([ack.tcp!.seq, ack.tcp!.ack], [u32(isn + 1), u32(serverIsn + 1)]);
      const toa = tcpOptions(ack.tcp!.options!).find((x) => x.kind === 254);
      assert.ok(toa, 'TOA on the ACK that completes the server\'s handshake');
      assert.deepEqual([...toa.data], [40000 >> 8, 40000 & 0xff, ...F.bytes(CIP)]);
      assert.deepEqual(decodeOptions(ack).ts, [1001, srvTs]);
      assert.equal(Buffer.from(ack.tcp!.payload).toString('latin1'), header.toString('latin1'), 'the PROXY header');
      // 4. the client's first data: the server has not acknowledged the header, so it goes again
      const req = Buffer.from('GET / HTTP/1.0\r\n\r\n');
      const d1 = fwd(h.one(fromClient({
        flags: 'PA', seq: u32(isn + 1), ack: u32(cookie + 1), options: [1, 1, 8, 10, ...be32(1002), ...be32(ourTs)], payload: req,
      }), 103));
      assert.equal(d1.tcp!.seq, u32(isn + 1));
      assert.equal(d1.tcp!.ack, u32(serverIsn + 1), 'the server\'s stream in its own numbers');
      assert.equal(Buffer.from(d1.tcp!.payload).toString('latin1'), header.toString('latin1') + req.toString('latin1'));
      // 5. the server acknowledges header and request and answers: the client sees its own bytes
      //    acknowledged and the server's stream at the cookie's numbers
      const delta = u32(cookie - serverIsn);
      const back = fwd(h.one(fromServer(syn.src, {
        sport: 8080, dport: lport, flags: 'PA', seq: u32(serverIsn + 1), ack: u32(isn + 1 + hl + req.length), window: 500,
        options: [1, 1, 8, 10, ...be32(srvTs + 5), ...be32(1002)], payload: Buffer.from('HTTP/1.0 200 OK\r\n\r\n'),
      }), 104, { dev: 1 }));
      assert.deepEqual([back.src, back.dst, back.tcp!.sport, back.tcp!.dport], [VIP, CIP, 80, 40000]);
      assert.equal(back.tcp!.seq, u32(serverIsn + 1 + delta));
      assert.equal(back.tcp!.ack, u32(isn + 1 + req.length), 'the header is not the client\'s: acknowledged without it');
      assert.deepEqual(decodeOptions(back).ts, [u32(ourTs + 5), 1002]);
      // 6. later client bytes move by the header's length, with a SACK block in the server's numbers
      const cookieSide = u32(cookie + 1 + 19);
      const d2 = fwd(h.one(fromClient({
        flags: 'PA', seq: u32(isn + 1 + req.length), ack: cookieSide,
        options: [1, 1, 5, 10, ...be32(u32(cookie + 100)), ...be32(u32(cookie + 200)),
          1, 1, 8, 10, ...be32(1003), ...be32(ourTs + 5)],
        payload: Buffer.from('more'),
      }), 105));
      assert.equal(d2.tcp!.seq, u32(isn + 1 + hl + req.length));
      assert.equal(d2.tcp!.ack, u32(serverIsn + 1 + 19));
      const sk = tcpOptions(d2.tcp!.options!).find((x) => x.kind === 5)!;
      const skv = new DataView(sk.data.buffer, sk.data.byteOffset);
      assert.deepEqual([skv.getUint32(0), skv.getUint32(4)], [u32(serverIsn + 100), u32(serverIsn + 200)]);
      assert.equal(tcpOptions(d2.tcp!.options!).find((x) => x.kind === 254), undefined, 'the server answered: no more TOA');
      assert.equal(Buffer.from(d2.tcp!.payload).toString('latin1'), 'more', 'the header only once acknowledged');
      assert.equal(h.tables.stat(abi.STAT_PROXY_SENT), 2n);
      assert.ok(h.tables.stat(abi.STAT_TOA_ADDED) >= 1n);
      // the handshake's ACK and the window probe that resent the SYN (2b)
      assert.equal(h.tables.stat(abi.STAT_COOKIES_OK), 2n);
      assert.equal(abi.TCP_STATE_NAMES[h.sessions()[0].state], 'ESTABLISHED');
    });

    if (F.v6) {
      it('a PROXY v1 header of long IPv6 addresses, too big for the emitted ACK, goes with the client\'s first data', () => {
        const longVip = '2001:db8:1111:2222:3333:4444:5555:100';
        const longCip = '2001:db8:aaaa:bbbb:cccc:dddd:eeee:ffff';
        const h = new CoreHarness(flavour, { connExt: true, proxyMarks: true }).standard();
        h.tables.setLocalAddresses([{ address: longVip, kind: 'vip' },
          ...LIPS6.map((address) => ({ address, kind: 'lip' as const }))]);
        h.service(0, { vip: longVip, forwarding: 'fullnat', synProxy: 'on', toa: true, proxyProtocol: 'v1' }, [F.rs(0)]);
        setKeys(h, 7);
        const toVip = (t: Partial<TcpSpec>) =>
          ethernet(DEV0_MAC, CLIENT_MAC,
            tcp6Packet({ src: longCip, dst: longVip }, { sport: 40000, dport: 80, ...t } as TcpSpec), 0x86dd);
        const header = `PROXY TCP6 ${longCip} ${longVip} 40000 80\r\n`;
        const sa = fwd(h.one(toVip({ flags: 'S', seq: 100, options: synOptions({ mss: 1440, ts: [9, 0] }) }), 1));
        const ourTs = decodeOptions(sa).ts![0];
        const syn = fwd(h.one(toVip({ flags: 'A', seq: 101, ack: u32(sa.tcp!.seq! + 1), options: [1, 1, 8, 10, ...be32(10), ...be32(ourTs)] }), 2));
        fwd(h.one(fromServer(syn.src, {
          sport: 8080, dport: syn.tcp!.sport, flags: 'SA', seq: 5000, ack: 101, window: 29200,
          options: synOptions({ mss: 1440, ts: [77, decodeOptions(syn).ts![0]] }),
        }), 3, { dev: 1 }));
        assert.equal(h.emitted.length, 1);
        // Ethernet, IPv6, TCP, timestamps and the 20-byte TOA fit; the header would not
        assert.ok(14 + 40 + 20 + 12 + 20 + header.length > 188, `${header.length}-byte header`);
        const ack = decodeAny(h.emitted[0].out).ip;
        assert.ok(checksumsOk(ack));
        assert.ok(h.emitted[0].out.length <= 188);
        assert.equal(ack.tcp!.payload.length, 0, 'no PROXY header in the ACK');
        const toa = tcpOptions(ack.tcp!.options!).find((x) => x.kind === 254)!;
        assert.deepEqual([...toa.data], [40000 >> 8, 40000 & 0xff, ...ip6ToBytes(longCip)], 'TOA still on the ACK');
        const d = fwd(h.one(toVip({ flags: 'PA', seq: 101, ack: u32(sa.tcp!.seq! + 1), options: [1, 1, 8, 10, ...be32(11), ...be32(ourTs)],
          payload: Buffer.from('hi') }), 4));
        assert.equal(Buffer.from(d.tcp!.payload).toString('latin1'), `${header}hi`, 'the header before the client\'s bytes');
        assert.equal(d.tcp!.seq, 101);
      });
    }
  });
}
}

// scapy's second opinion on every frame the core built above (cookie SYN-ACKs, the SYNs and ACKs
// to the servers, translated segments, RSTs, relayed errors): it rebuilds each frame with its
// checksums and lengths recomputed and the bytes must not change
const SCAPY_VERIFY = `
import json, sys
from scapy.all import Ether, IP, TCP, ICMP, raw
from scapy.layers.inet6 import IPv6
out = []
for h in json.load(sys.stdin):
    b = bytes.fromhex(h)
    p = Ether(b)
    known = False
    if IP in p:
        del p[IP].chksum
        del p[IP].len
    if IPv6 in p:
        del p[IPv6].plen
        if p[IPv6].payload.name.startswith('ICMPv6'):
            del p[IPv6].payload.cksum
            known = True
    for layer in (TCP, ICMP):
        if layer in p:
            del p[layer].chksum
            known = True
    out.append(known and raw(p) == b)
json.dump(out, sys.stdout)
`;

describe('SYN proxy frames, both families, rebuilt by scapy', () => {
  it('every frame keeps its bytes when scapy recomputes its checksums and lengths', () => {
    assert.ok(SENT.some((f) => f[12] === 0x86 && f[13] === 0xdd), 'IPv6 frames among them');
    assert.ok(SENT.some((f) => f[12] === 0x08 && f[13] === 0x00), 'IPv4 frames among them');
    const ok = JSON.parse(execFileSync('/usr/bin/python3', ['-c', SCAPY_VERIFY], {
      input: JSON.stringify(SENT.map((f) => Buffer.from(f).toString('hex'))), encoding: 'utf8', timeout: 120_000,
    })) as boolean[];
    const bad = ok.flatMap((v, i) => (v ? [] : [i]));
    assert.deepEqual(bad, [], `frames scapy rebuilt differently: ${bad.slice(0, 5).map((i) => Buffer.from(SENT[i]).toString('hex')).join(' ')}`);
    assert.equal(ok.length, SENT.length);
  });
});
