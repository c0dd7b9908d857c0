// Per-connection counters and the EVT_CONN_END + EVT_CONN_STATS pair (assembly/connstats.ts):
// packets and bytes each way equal what the test sent (IP total lengths of the oracle's
// packets) in every mode, how the connection ended (fin, rst, timeout, flushed, evicted), and the
// pair is never split, even when the ring is full (then it is counted as lost). The records
// are decoded here with their own reader; the IPv6 cases (NAT66, Full-NAT 6->6, NAT64) also
// check the host's formatter prints their addresses as [addr]:port.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import * as abi from '../../src/dataplane/abi.js';
import { type EventView, eventView } from '../../src/dataplane/tables.js';
import { formatConnection } from '../../src/director/connlog.js';
import {
  CIP, CIP6, CLIENT_MAC, CoreHarness, DEV0_MAC, DEV1_MAC, FLAVOURS, LIPS, LIPS6, RIPS, RIPS6, RS_MACS, VIP, VIP6,
  realServerEntry, realServerEntry6, serviceEntry,
} from './harness.js';
import {
  allChecksumsOk, decodeFrame, decodeFrame6, ethernet, tcp6Packet, tcpPacket, udpPacket,
} from '../oracle/packet.js';

const S = 1000;
const REASON = ['timeout', 'fin', 'rst', 'flushed', 'evicted'];

interface Ended {
  end: EventView;
  reason: string;
  packetsIn: number; packetsOut: number; bytesIn: number; bytesOut: number;
  created: number; last: number;
}

/** drain empties the ring: ended connections (each END checked to be followed by its STATS) and the other types */
function drain(h: CoreHarness): { ended: Ended[]; others: number[] } {
  const raws: Uint8Array[] = [];
  h.tables.drainEvents((r) => raws.push(r));
  const ended: Ended[] = [];
  const others: number[] = [];
  for (let i = 0; i < raws.length; i++) {
    const t = raws[i][abi.EVT_TYPE];
    assert.notEqual(t, abi.EVT_CONN_STATS, `record ${i}: a STATS record without its END`);
    if (t !== abi.EVT_CONN_END) {
      others.push(t);
      continue;
    }
    const st = raws[++i];
    assert.ok(st, 'an END record is the last one in the ring: the pair was split');
    assert.equal(st[abi.EVT_TYPE], abi.EVT_CONN_STATS, `record ${i}: END not followed by STATS`);
    const v = new DataView(st.buffer, st.byteOffset + abi.EVT_STATS, abi.CONNSTATS_SIZE);
    ended.push({
      end: eventView(raws[i - 1]),
      reason: REASON[raws[i - 1][abi.EVT_REASON]],
      packetsIn: v.getUint32(0, true), packetsOut: v.getUint32(4, true),
      // bytes in: 56 bits, the flags byte above them
      bytesIn: Number(v.getBigUint64(8, true) & 0xffffffffffffffn), bytesOut: Number(v.getBigUint64(16, true)),
      created: v.getUint32(24, true), last: v.getUint32(28, true),
    });
  }
  return { ended, others };
}

/** a harness with the CONNSTATS region and service 0 (`logged`) on real server 0 */
function setup(flavour: 'release' | 'debug', s: Parameters<CoreHarness['service']>[1], opts: { events?: number } = {}) {
  const h = new CoreHarness(flavour, { connStats: true, events: opts.events ?? 256 }).standard();
  h.service(0, { connectionLog: true, ...s }, [realServerEntry(0, s.forwarding === 'dr' || s.forwarding === 'tun'
    ? { port: 0 } : {})]);
  return h;
}

const fromClient = (pkt: Uint8Array) => ethernet(DEV0_MAC, CLIENT_MAC, pkt);
const fromRs = (pkt: Uint8Array) => ethernet(DEV1_MAC, RS_MACS[0], pkt);

/** Traffic tallies what a test sent, by direction */
class Traffic {
  packetsIn = 0; packetsOut = 0; bytesIn = 0; bytesOut = 0;
  constructor(readonly h: CoreHarness) {}

  in(pkt: Uint8Array, now: number): Uint8Array {
    const r = this.h.one(fromClient(pkt), now);
    assert.equal(r.verdict, abi.VERDICT_FORWARD, `in dropped: ${abi.DROP_REASON_NAMES[r.reason]}`);
    this.packetsIn++;
    this.bytesIn += pkt.length;
    return r.out;
  }

  out(pkt: Uint8Array, now: number): Uint8Array {
    const r = this.h.one(fromRs(pkt), now, { dev: 1 });
    assert.equal(r.verdict, abi.VERDICT_FORWARD, `out dropped: ${abi.DROP_REASON_NAMES[r.reason]}`);
    assert.ok(allChecksumsOk(decodeFrame(r.out, true).ip!), 'checksums of the reply');
    this.packetsOut++;
    this.bytesOut += pkt.length;
    return r.out;
  }
}

const body = (n: number) => new Uint8Array(n).fill(0x61);
/** clientSegment builds CIP:cport -> VIP:80 segments */
const clientSegment = (cport: number) => (flags: string, payload?: Uint8Array) =>
  tcpPacket({ src: CIP, dst: VIP }, { sport: cport, dport: 80, flags, payload });

/**
 * httpLike runs a TCP connection from CIP:cport: handshake, a request of 300 B, a reply of three
 * 1000 B segments, the client's FIN, the server's FIN and the last ACK; `server` is where replies come from
 */
function httpLike(t: Traffic, cport: number, server: { src: string; dst: string; dport: number } | null,
  t0: number): number {
  const c = clientSegment(cport);
  const s = (flags: string, payload?: Uint8Array) =>
    tcpPacket({ src: server!.src, dst: server!.dst }, { sport: 8080, dport: server!.dport, flags, payload });
  let now = t0;
  t.in(c('S'), now);
  if (server) t.out(s('SA'), (now += 1));
  t.in(c('A'), (now += 1));
  t.in(c('PA', body(300)), (now += 1));
  if (server) for (let k = 0; k < 3; k++) t.out(s('A', body(1000)), (now += 1));
  t.in(c('FA'), (now += 1));
  if (server) t.out(s('FA'), (now += 1));
  t.in(c('A'), (now += 1));
  return now;
}

function assertCounts(e: Ended, t: Traffic): void {
  assert.deepEqual(
    { packetsIn: e.packetsIn, packetsOut: e.packetsOut, bytesIn: e.bytesIn, bytesOut: e.bytesOut },
    { packetsIn: t.packetsIn, packetsOut: t.packetsOut, bytesIn: t.bytesIn, bytesOut: t.bytesOut },
  );
}

for (const flavour of FLAVOURS) {
  describe(`connection counters and end records (${flavour})`, () => {
    it('NAT: counts both directions, ends with fin after TIME_WAIT, start and last packet times', () => {
      const h = setup(flavour, { forwarding: 'nat' });
      const t = new Traffic(h);
      const last = httpLike(t, 40001, { src: RIPS[0], dst: CIP, dport: 40001 }, 100);
      assert.equal(drain(h).ended.length, 0, 'nothing before the connection ends');
      assert.equal(h.core.sweep(0, 1000, last + 200 * S), 1);
      const { ended } = drain(h);
      assert.equal(ended.length, 1);
      const e = ended[0];
      assert.equal(e.reason, 'fin');
      assertCounts(e, t);
      assert.equal(e.created, 100);
      assert.equal(e.last, last);
      assert.equal(e.end.client, CIP);
      assert.equal(e.end.clientPort, 40001);
      assert.equal(e.end.vip, VIP);
      assert.equal(e.end.vport, 80);
      assert.equal(e.end.rip, RIPS[0]);
      assert.equal(e.end.rport, 8080);
      assert.equal(e.end.forwarding, abi.FWD_NAT);
      assert.equal(e.end.protocol, abi.IPPROTO_TCP);
    });

    it('Full-NAT: counts both directions through LIP:lport, the END record names the local address', () => {
      const h = setup(flavour, { forwarding: 'fullnat' });
      const t = new Traffic(h);
      const syn = tcpPacket({ src: CIP, dst: VIP }, { sport: 40002, dport: 80, flags: 'S' });
      const ip = decodeFrame(t.in(syn, 10), true).ip!;
      assert.ok(LIPS.includes(ip.src));
      const lport = ip.tcp!.sport;
      // the rest of the connection, replies to the LIP:lport the SYN went out from
      const rest = new Traffic(h);
      const s = (flags: string, payload?: Uint8Array) =>
        tcpPacket({ src: RIPS[0], dst: ip.src }, { sport: 8080, dport: lport, flags, payload });
      const c = clientSegment(40002);
      rest.out(s('SA'), 11);
      rest.in(c('A'), 12);
      rest.in(c('PA', body(500)), 13);
      for (let k = 0; k < 4; k++) rest.out(s('A', body(1400)), 14 + k);
      rest.out(s('FA'), 20);
      rest.in(c('FA'), 21);
      rest.out(s('A'), 22);
      h.core.sweep(0, 1000, 22 + 1000 * S);
      const { ended } = drain(h);
      assert.equal(ended.length, 1);
      const e = ended[0];
      assert.equal(e.reason, 'fin');
      t.packetsIn += rest.packetsIn; t.bytesIn += rest.bytesIn;
      t.packetsOut += rest.packetsOut; t.bytesOut += rest.bytesOut;
      assertCounts(e, t);
      assert.equal(e.end.forwarding, abi.FWD_FNAT);
      assert.equal(e.end.lip, ip.src);
      assert.equal(e.end.lport, lport);
      assert.equal(e.last, 22);
    });

    it('DR: only the inbound direction passes the director; an idle connection ends with timeout', () => {
      const h = setup(flavour, { forwarding: 'dr' });
      const t = new Traffic(h);
      const c = clientSegment(40003);
      t.in(c('S'), 1);
      t.in(c('A'), 2);
      t.in(c('PA', body(700)), 3);
      assert.equal(h.core.sweep(0, 1000, 3 + 3600 * S), 1);
      const { ended } = drain(h);
      assert.equal(ended.length, 1);
      assert.equal(ended[0].reason, 'timeout');
      assertCounts(ended[0], t);
      assert.equal(ended[0].packetsOut, 0);
      assert.equal(ended[0].end.forwarding, abi.FWD_DR);
    });

    it('TUN: counts the client packets as they arrived (before IP-in-IP), a client FIN ends with fin', () => {
      const h = setup(flavour, { forwarding: 'tun' });
      const t = new Traffic(h);
      const last = httpLike(t, 40004, null, 5);
      h.core.sweep(0, 1000, last + 1000 * S);
      const { ended } = drain(h);
      assert.equal(ended.length, 1);
      assert.equal(ended[0].reason, 'fin');
      assertCounts(ended[0], t);
      assert.equal(ended[0].end.forwarding, abi.FWD_TUN);
    });

    it('an RST from the server ends with rst', () => {
      const h = setup(flavour, { forwarding: 'nat' });
      const t = new Traffic(h);
      t.in(tcpPacket({ src: CIP, dst: VIP }, { sport: 40005, dport: 80, flags: 'S' }), 1);
      t.out(tcpPacket({ src: RIPS[0], dst: CIP }, { sport: 8080, dport: 40005, flags: 'R' }), 2);
      h.core.sweep(0, 1000, 2 + 100 * S);
      const { ended } = drain(h);
      assert.equal(ended.length, 1);
      assert.equal(ended[0].reason, 'rst');
      assertCounts(ended[0], t);
    });

    it('UDP ends with timeout, both directions counted', () => {
      const h = setup(flavour, { forwarding: 'nat', protocol: 'udp', port: 53 });
      const t = new Traffic(h);
      for (let k = 0; k < 3; k++) {
        t.in(udpPacket({ src: CIP, dst: VIP }, { sport: 5353, dport: 53, payload: body(40 + k) }), 1 + k);
        t.out(udpPacket({ src: RIPS[0], dst: CIP }, { sport: 8080, dport: 5353, payload: body(200 + k) }), 1 + k);
      }
      assert.equal(h.core.sweep(0, 1000, 10 + 301 * S), 1);
      const { ended } = drain(h);
      assert.equal(ended.length, 1);
      assert.equal(ended[0].reason, 'timeout');
      assertCounts(ended[0], t);
      assert.equal(ended[0].end.protocol, abi.IPPROTO_UDP);
    });

    it('a removed service or real server flushes its connections: flushed', () => {
      for (const remove of ['service', 'real server'] as const) {
        const h = setup(flavour, { forwarding: 'nat' });
        const t = new Traffic(h);
        t.in(tcpPacket({ src: CIP, dst: VIP }, { sport: 40006, dport: 80, flags: 'S' }), 1);
        t.out(tcpPacket({ src: RIPS[0], dst: CIP }, { sport: 8080, dport: 40006, flags: 'SA' }), 2);
        t.in(tcpPacket({ src: CIP, dst: VIP }, { sport: 40006, dport: 80, flags: 'A' }), 3);
        if (remove === 'service') {
          h.tables.removeService(0);
          h.tables.rebuildServiceIndex();
        } else {
          h.tables.markRemoved(0);
        }
        assert.equal(h.core.sweep(0, 1000, 4), 1, `${remove}: the sweep expires it at once`);
        const { ended } = drain(h);
        assert.equal(ended.length, 1, remove);
        assert.equal(ended[0].reason, 'flushed', remove);
        assertCounts(ended[0], t);
      }
    });

    it('a new SYN reusing a closing tuple evicts the old connection; the new one counts from zero', () => {
      const h = setup(flavour, { forwarding: 'nat' });
      const t = new Traffic(h);
      const last = httpLike(t, 40007, { src: RIPS[0], dst: CIP, dport: 40007 }, 1);
      const again = new Traffic(h);
      again.in(tcpPacket({ src: CIP, dst: VIP }, { sport: 40007, dport: 80, flags: 'S' }), last + 5);
      let { ended } = drain(h);
      assert.equal(ended.length, 1);
      assert.equal(ended[0].reason, 'evicted');
      assertCounts(ended[0], t);
      h.core.sweep(0, 1000, last + 1000 * S);
      ({ ended } = drain(h));
      assert.equal(ended.length, 1);
      assert.equal(ended[0].reason, 'timeout', 'the new connection saw only its SYN');
      assertCounts(ended[0], again);
      assert.equal(ended[0].created, last + 5);
    });

    it('an embryonic session evicted at the budget (a SYN flood) ends with evicted, not timeout', () => {
      const h = setup(flavour, { forwarding: 'nat' });
      h.tables.setSynFlood({ embryonicMax: 2, synRecvPressureS: 0, proxyFillRecords: 0, mss: 1460, wscale: 7 });
      const t = new Traffic(h);
      t.in(tcpPacket({ src: CIP, dst: VIP }, { sport: 40100, dport: 80, flags: 'S' }), 1);
      new Traffic(h).in(tcpPacket({ src: CIP, dst: VIP }, { sport: 40101, dport: 80, flags: 'S' }), 2);
      assert.equal(drain(h).ended.length, 0);
      new Traffic(h).in(tcpPacket({ src: CIP, dst: VIP }, { sport: 40102, dport: 80, flags: 'S' }), 3);
      const { ended } = drain(h);
      assert.equal(ended.length, 1, 'the third SYN evicted the oldest');
      assert.equal(ended[0].end.clientPort, 40100);
      assert.equal(ended[0].reason, 'evicted');
      assertCounts(ended[0], t);
    });

    it('a service without connection_log writes no record; a reload switching logs on counts new connections only', () => {
      const h = setup(flavour, { forwarding: 'nat', connectionLog: false });
      const t = new Traffic(h);
      t.in(tcpPacket({ src: CIP, dst: VIP }, { sport: 40008, dport: 80, flags: 'S' }), 1);
      h.tables.setService(0, serviceEntry({ connectionLog: true }));
      const logged = new Traffic(h);
      logged.in(tcpPacket({ src: CIP, dst: VIP }, { sport: 40009, dport: 80, flags: 'S' }), 2);
      t.in(tcpPacket({ src: CIP, dst: VIP }, { sport: 40008, dport: 80, flags: 'A' }), 3);
      assert.equal(h.core.sweep(0, 1000, 3 + 1000 * S), 2);
      const { ended } = drain(h);
      assert.equal(ended.length, 1, 'only the connection that started with logs on');
      assert.equal(ended[0].end.clientPort, 40009);
      assertCounts(ended[0], logged);
    });

    it('without the region (director started with no logging service) nothing is counted or written', () => {
      const h = new CoreHarness(flavour).standard();
      assert.equal(h.tables.header(abi.HDR_CONNSTATS_BASE), 0);
      assert.throws(() => h.service(0, { connectionLog: true }, [realServerEntry(0)]), /restart/);
      h.service(0, {}, [realServerEntry(0)]);
      h.one(fromClient(tcpPacket({ src: CIP, dst: VIP }, { sport: 40010, dport: 80, flags: 'S' })), 1);
      h.core.sweep(0, 1000, 1000 * S);
      const { ended, others } = drain(h);
      assert.equal(ended.length, 0);
      assert.deepEqual(others, [abi.EVT_CREATED, abi.EVT_EXPIRED]);
    });

    it('the END + STATS pair is never split: a full ring drops both and counts one lost event', () => {
      // 16 records; 7 EVT_CREATED leave an odd room of 9: four pairs fit, the fifth does not
      const h = setup(flavour, { forwarding: 'nat' }, { events: 16 });
      const n = 7;
      for (let k = 0; k < n; k++) {
        h.one(fromClient(tcpPacket({ src: CIP, dst: VIP }, { sport: 41000 + k, dport: 80, flags: 'S' })), 1);
      }
      // without OPT_EVENTS the core writes only connection-log pairs (they need only the region)
      h.tables.setOptions(0);
      const lost = h.tables.stat(abi.STAT_EVENTS_LOST);
      assert.equal(h.core.sweep(0, 1000, 1 + 100 * S), n);
      assert.equal(h.tables.stat(abi.STAT_EVENTS_LOST), lost + 3n, 'pairs 5, 6 and 7 lost, one count each');
      assert.equal(h.tables.header(abi.HDR_EVT_HEAD) - h.tables.header(abi.HDR_EVT_TAIL), 15, 'the last free slot stays free');
      const { ended, others } = drain(h);
      assert.equal(others.length, n);
      assert.equal(ended.length, 4);
      for (const e of ended) assert.equal(e.reason, 'timeout');
      // room again after the drain
      h.one(fromClient(tcpPacket({ src: CIP, dst: VIP }, { sport: 42000, dport: 80, flags: 'S' })), 2 + 100 * S);
      h.core.sweep(0, 1000, 2 + 200 * S);
      assert.equal(drain(h).ended.length, 1);
    });
  });
}

// IPv6 sessions share the session table and its record numbers (batch6.ts counts them in the same
// CONNSTATS records); the host prints their addresses RFC 5952 style as [addr]:port
for (const flavour of FLAVOURS) {
  describe(`connection counters of IPv6 sessions (${flavour})`, () => {
    const fromClient6 = (pkt: Uint8Array) => ethernet(DEV0_MAC, CLIENT_MAC, pkt, 0x86dd);
    const fromRs6 = (pkt: Uint8Array) => ethernet(DEV1_MAC, RS_MACS[0], pkt, 0x86dd);
    const ctx = { wallOf: (t: number) => 1_700_000_000_000 + t, now: () => 1_700_000_100_000, serviceName: () => 'web6' };

    function run6(h: CoreHarness, rs: { src: string; v4: boolean }, cport: number) {
      const tally = { packetsIn: 0, packetsOut: 0, bytesIn: 0, bytesOut: 0 };
      const c = (flags: string, payload?: Uint8Array) =>
        tcp6Packet({ src: CIP6, dst: VIP6 }, { sport: cport, dport: 80, flags, payload });
      const send = (pkt: Uint8Array, now: number, out: boolean): Uint8Array => {
        const r = out
          ? h.one(rs.v4 ? ethernet(DEV1_MAC, RS_MACS[0], pkt) : fromRs6(pkt), now, { dev: 1 })
          : h.one(fromClient6(pkt), now);
        assert.equal(r.verdict, abi.VERDICT_FORWARD, `${out ? 'out' : 'in'} dropped: ${abi.DROP_REASON_NAMES[r.reason]}`);
        if (out) {
          tally.packetsOut++;
          tally.bytesOut += pkt.length;
        } else {
          tally.packetsIn++;
          tally.bytesIn += pkt.length;
        }
        return r.out;
      };
      const first = send(c('S'), 10, false);
      // where the server sees the connection come from (the LIP in Full-NAT, the client otherwise)
      const f = rs.v4 ? decodeFrame(first, true).ip! : decodeFrame6(first, true).ip6!;
      const to = f.src;
      const dport = f.tcp!.sport;
      const s = (flags: string, payload?: Uint8Array) => rs.v4
        ? tcpPacket({ src: rs.src, dst: to }, { sport: 8080, dport, flags, payload })
        : tcp6Packet({ src: rs.src, dst: to }, { sport: 8080, dport, flags, payload });
      send(s('SA'), 11, true);
      send(c('A'), 12, false);
      send(c('PA', body(400)), 13, false);
      for (let k = 0; k < 3; k++) send(s('A', body(1200)), 14 + k, true);
      send(c('FA'), 20, false);
      send(s('FA'), 21, true);
      send(c('A'), 22, false);
      return { tally, lip: to, lport: dport };
    }

    for (const [name, fwd, rs] of [
      ['NAT66', 'nat', { src: RIPS6[0], v4: false }],
      ['Full-NAT 6->6', 'fullnat', { src: RIPS6[0], v4: false }],
      ['NAT64 (the reply path of the IPv4 side)', 'fullnat', { src: RIPS[0], v4: true }],
    ] as const) {
      it(`${name}: counts both directions, ends with fin, the line prints IPv6 addresses`, () => {
        const h = new CoreHarness(flavour, { connStats: true, events: 256 }).standard();
        h.service(0, { vip: VIP6, persistencePrefix: 128, forwarding: fwd, connectionLog: true },
          [rs.v4 ? realServerEntry(0) : realServerEntry6(0)]);
        const { tally, lip, lport } = run6(h, rs, 45001);
        h.core.sweep(0, 1000, 22 + 1000 * S);
        const raws: Uint8Array[] = [];
        h.tables.drainEvents((r) => raws.push(r));
        const i = raws.findIndex((r) => r[abi.EVT_TYPE] === abi.EVT_CONN_END);
        assert.ok(i >= 0, 'an END record');
        assert.equal(raws[i + 1]?.[abi.EVT_TYPE], abi.EVT_CONN_STATS);
        const line = formatConnection(raws[i], raws[i + 1], ctx);
        const counted = { packetsIn: line.packets_in, packetsOut: line.packets_out, bytesIn: line.bytes_in,
          bytesOut: line.bytes_out };
        assert.deepEqual(counted, tally);
        assert.equal(line.end_reason, 'fin');
        assert.equal(line.client, `[${CIP6}]:45001`);
        assert.equal(line.vip, `[${VIP6}]:80`);
        assert.equal(line.real_server, rs.v4 ? `${RIPS[0]}:8080` : `[${RIPS6[0]}]:8080`);
        assert.equal(line.duration_ms, 12);
        if (fwd === 'fullnat') {
          assert.ok((rs.v4 ? LIPS : LIPS6).includes(lip), lip);
          assert.equal(line.local, rs.v4 ? `${lip}:${lport}` : `[${lip}]:${lport}`);
        } else {
          assert.equal(line.local, undefined);
        }
      });
    }
  });
}

// a SYN-proxied connection's session is created by the cookie ACK (batch.ts proxyOpen), not by a
// SYN: it must be armed there too, and the server's SYN-ACK (taken by the proxy) counted
for (const flavour of FLAVOURS) {
  describe(`connection counters of SYN-proxied connections (${flavour})`, () => {
    it('counts from the cookie ACK on, the server\'s SYN-ACK included; a client RST ends it with rst', () => {
      const h = new CoreHarness(flavour, { connStats: true, connExt: true, events: 256 }).standard();
      h.service(0, { forwarding: 'nat', synProxy: 'on', connectionLog: true }, [realServerEntry(0)]);
      h.tables.setCookieKeys(6, new Uint8Array(32).fill(7));
      h.tables.setCookieKeys(7, new Uint8Array(32).fill(9));
      const c = (t: { flags: string; seq: number; ack?: number }) =>
        ethernet(DEV0_MAC, CLIENT_MAC, tcpPacket({ src: CIP, dst: VIP }, { sport: 40100, dport: 80, ...t }));
      const sa = h.one(c({ flags: 'S', seq: 7000 }), 1000);
      assert.equal(sa.verdict, abi.VERDICT_FORWARD, `SYN: ${abi.DROP_REASON_NAMES[sa.reason]}`);
      const cookie = decodeFrame(sa.out, true).ip!.tcp!.seq!;
      const open = h.one(c({ flags: 'A', seq: 7001, ack: (cookie + 1) >>> 0 }), 1001);
      assert.equal(open.verdict, abi.VERDICT_FORWARD, `cookie ACK: ${abi.DROP_REASON_NAMES[open.reason]}`);
      const syn = decodeFrame(open.out, true).ip!;
      assert.equal(syn.tcp!.flags, 0x02, 'the ACK became the SYN to the server');
      const answer = tcpPacket({ src: RIPS[0], dst: CIP }, { sport: 8080, dport: 40100, flags: 'SA', seq: 90000, ack: 7001 });
      h.one(ethernet(DEV1_MAC, RS_MACS[0], answer), 1002, { dev: 1 });
      const rst = h.one(c({ flags: 'R', seq: 7001 }), 1003);
      assert.equal(rst.verdict, abi.VERDICT_FORWARD, `RST: ${abi.DROP_REASON_NAMES[rst.reason]}`);
      h.core.sweep(0, 1000, 1003 + 1000 * S);
      const { ended } = drain(h);
      assert.equal(ended.length, 1, 'the proxied connection is logged');
      assert.equal(ended[0].reason, 'rst');
      assert.equal(ended[0].packetsIn, 2, 'the cookie ACK and the RST');
      assert.equal(ended[0].packetsOut, 1, 'the server\'s SYN-ACK');
      assert.equal(ended[0].bytesOut, answer.length);
      assert.equal(ended[0].created, 1001);
    });
  });
}
