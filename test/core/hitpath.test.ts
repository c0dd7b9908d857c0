// The established-hit fast path (batch.ts hitFast) against the general path (handleFound,
// forward): a director with extension records (connExt) never takes the fast path, and for
// sessions without any stream feature its general path does exactly what a plain director's
// does. So the same traffic runs through two cores, one of each, and every batch must give the
// same verdicts, reasons, output devices and frames, and the same session records, index,
// counters and events — in L2 and L3 batches, with virtio partial checksums and with connection
// counters. The frames of the fast path are checked against the oracle as well (every checksum
// recomputed).
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import * as abi from '../../src/dataplane/abi.js';
import type { Capacities } from '../../src/dataplane/memory-map.js';
import type { SessionView } from '../../src/dataplane/tables.js';
import {
  CIP, CIP6, CLIENT_MAC, CoreHarness, DEV0_MAC, DEV1_MAC, FLAVOURS, RIPS, RIPS6, RS_MACS, VIP, VIP6, realServerEntry,
  realServerEntry6, type BatchOptions, type FrameResult,
} from './harness.js';
import { allChecksumsOk, decodeFrame, ethernet, tcp6Packet, tcpPacket, udp6Packet, udpPacket } from '../oracle/packet.js';

const S = 1000;
const CLIENTS = 12;
const OTHER_MAC = '02:00:00:00:0c:77';
const UDP_PORT = 53;
const FNAT_PORT = 81;
const DR_PORT = 82;
const TUN_PORT = 83;

interface Variant { name: string; l3: boolean; vnet: boolean; connStats: boolean }
const VARIANTS: Variant[] = [
  { name: 'L2', l3: false, vnet: false, connStats: false },
  { name: 'L3', l3: true, vnet: false, connStats: false },
  { name: 'L2, virtio partial checksums', l3: false, vnet: true, connStats: false },
  { name: 'L2, connection counters', l3: false, vnet: false, connStats: true },
];

const clientPort = (k: number) => 20000 + k;

/** Pair: the same director twice, without (fast) and with (general) extension records */
class Pair {
  readonly fast: CoreHarness;
  readonly general: CoreHarness;
  /** the real server each client's session went to */
  readonly rsOf = new Map<number, number>();
  /** the real server each client's UDP session went to */
  readonly udpRsOf = new Map<number, number>();
  /** each client's Full-NAT session (its server, local address and port) */
  readonly fnatOf = new Map<number, SessionView>();

  constructor(flavour: 'release' | 'debug', readonly v: Variant) {
    const caps: Partial<Capacities> = { connStats: v.connStats, services: 16 };
    this.fast = new CoreHarness(flavour, caps).standard({ l3: v.l3 });
    this.general = new CoreHarness(flavour, { ...caps, connExt: true }).standard({ l3: v.l3 });
    for (const h of [this.fast, this.general]) {
      h.service(0, { forwarding: 'nat', connectionLog: v.connStats }, [realServerEntry(0), realServerEntry(1)]);
      h.service(1, { forwarding: 'nat', protocol: 'udp', port: UDP_PORT, connectionLog: v.connStats },
        [realServerEntry(2), realServerEntry(3)], 2);
      h.service(2, { forwarding: 'fullnat', port: FNAT_PORT, connectionLog: v.connStats }, [realServerEntry(4), realServerEntry(5)], 4);
      // DR: the servers answer the client directly; over L3 (TUN) every segment is refused
      h.service(3, { forwarding: 'dr', port: DR_PORT, connectionLog: v.connStats },
        [realServerEntry(6, { port: DR_PORT }), realServerEntry(7, { port: DR_PORT })], 6);
      // TUN (IP-in-IP): like DR, the client's side only; over TAP and TUN devices alike
      h.service(7, { forwarding: 'tun', port: TUN_PORT, connectionLog: v.connStats },
        [realServerEntry(13, { port: TUN_PORT }), realServerEntry(14, { port: TUN_PORT })], 13);
      h.service(8, { vip: VIP6, forwarding: 'tun', port: TUN_PORT, connectionLog: v.connStats },
        [realServerEntry6(13, { port: TUN_PORT }), realServerEntry6(14, { port: TUN_PORT })], 15);
      // IPv6: NAT66 (TCP and UDP) and Full-NAT 6->6 on the IPv6 VIP
      h.service(4, { vip: VIP6, forwarding: 'nat', connectionLog: v.connStats }, [realServerEntry6(8), realServerEntry6(9)], 8);
      h.service(5, { vip: VIP6, forwarding: 'fullnat', port: FNAT_PORT, connectionLog: v.connStats },
        [realServerEntry6(10), realServerEntry6(11)], 10);
      h.service(6, { vip: VIP6, forwarding: 'nat', protocol: 'udp', port: UDP_PORT, connectionLog: v.connStats },
        [realServerEntry6(12, { port: 5353 })], 12);
      if (v.l3) {
        h.tables.setNextHop(0, '00:00:00:00:00:00');
        h.tables.setNextHop(1, '00:00:00:00:00:00');
        h.tables.setNextHop(2, '00:00:00:00:00:00');
        h.tables.setNextHop(3, '00:00:00:00:00:00');
        h.tables.setNextHop(4, '00:00:00:00:00:00');
        h.tables.setNextHop(5, '00:00:00:00:00:00');
        for (let i = 6; i <= 16; i++) h.tables.setNextHop(i, '00:00:00:00:00:00');
      }
    }
  }

  wrap(pkt: Uint8Array, dev: number, srcMac?: string): Uint8Array {
    if (this.v.l3) return pkt;
    return ethernet(dev === 0 ? DEV0_MAC : DEV1_MAC, srcMac ?? (dev === 0 ? CLIENT_MAC : RS_MACS[0]), pkt,
      pkt[0] >> 4 === 6 ? 0x86dd : 0x0800);
  }

  /** an IPv6 segment of client k to port `port` of the IPv6 VIP */
  from6Client(k: number, port: number, flags: string, payload = 0): Uint8Array {
    return this.wrap(tcp6Packet({ src: CIP6, dst: VIP6 }, {
      sport: clientPort(k), dport: port, flags, payload: new Uint8Array(payload).fill(0x10 + k),
    }), 0);
  }

  /** the IPv6 server's segment back along session `s` (to the client, or to the LIP of Full-NAT) */
  from6Server(s: SessionView, flags: string, payload = 0): Uint8Array {
    return this.wrap(tcp6Packet({ src: s.rip, dst: s.lip ?? CIP6 }, {
      sport: 8080, dport: s.lip ? s.lport : s.clientPort, flags, payload: new Uint8Array(payload).fill(0x90),
    }), 1, RS_MACS[s.realServer]);
  }

  fromClient(k: number, flags: string, payload = 0, srcMac?: string): Uint8Array {
    return this.wrap(tcpPacket({ src: CIP, dst: VIP }, {
      sport: clientPort(k), dport: 80, flags, payload: new Uint8Array(payload).fill(k),
    }), 0, srcMac);
  }

  fromServer(k: number, flags: string, payload = 0): Uint8Array {
    const rs = this.rsOf.get(k) ?? 0;
    return this.wrap(tcpPacket({ src: RIPS[rs], dst: CIP }, {
      sport: 8080, dport: clientPort(k), flags, payload: new Uint8Array(payload).fill(0x80 + k),
    }), 1);
  }

  /** a datagram of client k to the UDP service (noChecksum: UDP checksum 0, allowed in IPv4) */
  udpFromClient(k: number, payload: number, noChecksum = false): Uint8Array {
    return this.wrap(udpPacket({ src: CIP, dst: VIP }, {
      sport: clientPort(k), dport: UDP_PORT, payload: new Uint8Array(payload).fill(k), noChecksum,
    }), 0);
  }

  udpFromServer(k: number, payload: number, noChecksum = false): Uint8Array {
    const rs = this.udpRsOf.get(k) ?? 2;
    return this.wrap(udpPacket({ src: RIPS[rs], dst: CIP }, {
      sport: 5353, dport: clientPort(k), payload: new Uint8Array(payload).fill(0x40 + k), noChecksum,
    }), 1, RS_MACS[rs]);
  }

  /** a segment of client k to the Full-NAT service */
  fnatFromClient(k: number, flags: string, payload = 0): Uint8Array {
    return this.wrap(tcpPacket({ src: CIP, dst: VIP }, {
      sport: clientPort(k), dport: FNAT_PORT, flags, payload: new Uint8Array(payload).fill(0x20 + k),
    }), 0);
  }

  /** a segment of client k to the DR service (its server answers the client itself) */
  drFromClient(k: number, flags: string, payload = 0, srcMac?: string): Uint8Array {
    return this.wrap(tcpPacket({ src: CIP, dst: VIP }, {
      sport: clientPort(k), dport: DR_PORT, flags, payload: new Uint8Array(payload).fill(0x30 + k),
    }), 0, srcMac);
  }

  /** a segment of client k to the TUN service */
  tunFromClient(k: number, flags: string, payload = 0, srcMac?: string): Uint8Array {
    return this.wrap(tcpPacket({ src: CIP, dst: VIP }, {
      sport: clientPort(k), dport: TUN_PORT, flags, payload: new Uint8Array(payload).fill(0x50 + k),
    }), 0, srcMac);
  }

  /** the Full-NAT server's segment to the local address and port its session was given */
  fnatFromServer(k: number, flags: string, payload = 0): Uint8Array {
    const s = this.fnatOf.get(k)!;
    return this.wrap(tcpPacket({ src: s.rip, dst: s.lip! }, {
      sport: 8080, dport: s.lport, flags, payload: new Uint8Array(payload).fill(0x60 + k),
    }), 1, RS_MACS[s.realServer]);
  }

  /** run one batch through both cores and compare everything; returns the fast core's results */
  run(frames: Uint8Array[], now: number, dev: number): FrameResult[] {
    const opts: BatchOptions = { dev, l2: !this.v.l3, vnet: this.v.vnet };
    if (this.v.vnet) {
      // NEEDS_CSUM: the L4 field holds the pseudo-header sum (csum_start/offset are not read)
      opts.vnetHeaders = frames.map(() => Uint8Array.of(abi.VNET_F_NEEDS_CSUM, 0, 0, 0, 0, 0, 0, 0, 0, 0));
    }
    const a = this.fast.run(frames, now, opts);
    const b = this.general.run(frames, now, opts);
    assert.deepEqual(a, b, `batch at ${now}: verdicts, reasons, devices and frames`);
    this.same(now);
    return a;
  }

  same(now: number): void {
    const region = (h: CoreHarness, r: { base: number; size: number }) => h.bytes.slice(r.base, r.base + r.size);
    const f = this.fast.layout;
    const g = this.general.layout;
    for (const name of ['conns', 'index', 'stats', 'svcStats', 'rsStats', 'realServers', 'connStats'] as const) {
      assert.deepEqual(region(this.fast, f[name]), region(this.general, g[name]), `${name} at ${now}`);
    }
    const events = (h: CoreHarness) => {
      const out: Uint8Array[] = [];
      h.tables.drainEvents((raw) => out.push(raw.slice()));
      return out;
    };
    assert.deepEqual(events(this.fast), events(this.general), `events at ${now}`);
  }

  /** handshakes of every client: SYN, the server's SYN-ACK, the client's ACK */
  open(now: number): void {
    this.run(Array.from({ length: CLIENTS }, (_, k) => this.fromClient(k, 'S')), now, 0);
    for (const s of this.fast.sessions(now)) this.rsOf.set(s.clientPort - clientPort(0), s.realServer);
    this.run(Array.from({ length: CLIENTS }, (_, k) => this.fromServer(k, 'SA')), now + 1, 1);
    this.run(Array.from({ length: CLIENTS }, (_, k) => this.fromClient(k, 'A')), now + 2, 0);
  }
}

for (const flavour of FLAVOURS) {
  describe(`established hit path (${flavour})`, () => {
    for (const v of VARIANTS) {
      it(`does what the general path does: ${v.name}`, () => {
        const p = new Pair(flavour, v);
        p.open(1 * S);
        let now = 2 * S;
        // data both ways: ACK, PSH+ACK with payload, URG-free segments of any size
        for (let round = 0; round < 3; round++) {
          p.run(Array.from({ length: CLIENTS }, (_, k) => p.fromClient(k, round ? 'PA' : 'A', 17 * k)), now++, 0);
          p.run(Array.from({ length: CLIENTS }, (_, k) => p.fromServer(k, 'PA', 5 + 29 * k)), now++, 1);
        }
        // the client's next hop changes mid-connection; a segment without flags; a SYN, a FIN and
        // a RST on established sessions (the general path's, state changes); UDP to the VIP
        p.run([
          p.fromClient(0, 'A', 10, OTHER_MAC), p.fromClient(1, '', 3), p.fromClient(2, 'S'), p.fromClient(3, 'FA'),
          p.fromClient(4, 'RA'), p.wrap(udpPacket({ src: CIP, dst: VIP }, { sport: 999, dport: 80 }), 0),
        ], now++, 0);
        // replies after those: to the new MAC, into CLOSE_WAIT / CLOSE, and plain ones
        p.run(Array.from({ length: 6 }, (_, k) => p.fromServer(k, 'A', 1)), now++, 1);
        // a server without a neighbour entry, then removed: client segments to it, its replies
        const rs1 = [...p.rsOf].filter(([, rs]) => rs === 1).map(([k]) => k).filter((k) => k > 5);
        for (const h of [p.fast, p.general]) h.tables.setNextHop(1, null);
        p.run(rs1.map((k) => p.fromClient(k, 'PA', 8)), now++, 0);
        p.run(rs1.map((k) => p.fromServer(k, 'PA', 8)), now++, 1);
        for (const h of [p.fast, p.general]) h.tables.markRemoved(1);
        p.run([...rs1.map((k) => p.fromClient(k, 'A')), ...rs1.map((k) => p.fromServer(k, 'A'))], now++, 0);
        // UDP both ways: new sessions (the general path), then hits, some without a checksum
        const udp = Array.from({ length: CLIENTS }, (_, k) => k);
        p.run(udp.map((k) => p.udpFromClient(k, 8 + k)), now++, 0);
        for (const s of p.fast.sessions(now)) {
          if (s.vport === UDP_PORT) p.udpRsOf.set(s.clientPort - clientPort(0), s.realServer);
        }
        assert.equal(p.udpRsOf.size, CLIENTS, 'a UDP session per client');
        for (let round = 0; round < 2; round++) {
          p.run(udp.map((k) => p.udpFromServer(k, 3 * k + round, k % 3 === 0)), now++, 1);
          p.run(udp.map((k) => p.udpFromClient(k, 5 * k + round, k % 4 === 1)), now++, 0);
        }
        // Full-NAT: handshakes (the general path), data both ways (the lean path), then a FIN and a RST
        p.run(udp.map((k) => p.fnatFromClient(k, 'S')), now++, 0);
        for (const s of p.fast.sessions(now)) if (s.vport === FNAT_PORT) p.fnatOf.set(s.clientPort - clientPort(0), s);
        assert.equal(p.fnatOf.size, CLIENTS, 'a Full-NAT session per client');
        p.run(udp.map((k) => p.fnatFromServer(k, 'SA')), now++, 1);
        p.run(udp.map((k) => p.fnatFromClient(k, 'A')), now++, 0);
        for (let round = 0; round < 2; round++) {
          p.run(udp.map((k) => p.fnatFromClient(k, 'PA', 7 * k + round)), now++, 0);
          p.run(udp.map((k) => p.fnatFromServer(k, round ? 'PA' : 'A', 11 * k)), now++, 1);
        }
        p.run([p.fnatFromClient(0, 'FA'), p.fnatFromClient(1, 'RA'), p.fnatFromClient(2, 'PA', 4)], now++, 0);
        p.run([p.fnatFromServer(0, 'A'), p.fnatFromServer(1, 'A'), p.fnatFromServer(2, 'A')], now++, 1);
        // DR: the client's side only; SYN and its ACK (the general path), data (the lean path over
        // TAP, refused over TUN), a next hop that changes, then a FIN and a RST
        p.run(udp.map((k) => p.drFromClient(k, 'S')), now++, 0);
        p.run(udp.map((k) => p.drFromClient(k, 'A')), now++, 0);
        for (let round = 0; round < 2; round++) {
          p.run(udp.map((k) => p.drFromClient(k, round ? 'PA' : 'A', 13 * k + round, k === 3 && round ? OTHER_MAC : undefined)), now++, 0);
        }
        p.run([p.drFromClient(0, 'FA'), p.drFromClient(1, 'RA'), p.drFromClient(2, 'PA', 4)], now++, 0);
        // TUN: SYN and its ACK (the general path), data (the lean path), a next hop that changes,
        // one segment too big for the tunnel (fragmentation needed: the general path's), a FIN, a RST
        p.run(udp.map((k) => p.tunFromClient(k, 'S')), now++, 0);
        p.run(udp.map((k) => p.tunFromClient(k, 'A')), now++, 0);
        for (let round = 0; round < 2; round++) {
          p.run(udp.map((k) => p.tunFromClient(k, round ? 'PA' : 'A', 15 * k + round, k === 4 && round ? OTHER_MAC : undefined)), now++, 0);
        }
        p.run([p.tunFromClient(5, 'PA', 1460), p.tunFromClient(6, 'PA', 1440)], now++, 0);
        p.run([p.tunFromClient(0, 'FA'), p.tunFromClient(1, 'RA'), p.tunFromClient(2, 'PA', 4)], now++, 0);
        // TUN 6in6: the same, with Packet Too Big for the segment the tunnel's header no longer fits
        p.run(udp.map((k) => p.from6Client(k, TUN_PORT, 'S')), now++, 0);
        p.run(udp.map((k) => p.from6Client(k, TUN_PORT, 'A')), now++, 0);
        for (let round = 0; round < 2; round++) p.run(udp.map((k) => p.from6Client(k, TUN_PORT, 'PA', 11 * k + round)), now++, 0);
        p.run([p.from6Client(5, TUN_PORT, 'PA', 1420), p.from6Client(6, TUN_PORT, 'PA', 1400)], now++, 0);
        p.run([p.from6Client(0, TUN_PORT, 'FA'), p.from6Client(1, TUN_PORT, 'RA'), p.from6Client(2, TUN_PORT, 'PA', 4)], now++, 0);
        // IPv6: NAT66 and Full-NAT 6->6 handshakes (the general path), data both ways (the lean
        // path), a FIN and a RST; NAT66 UDP both ways
        for (const port of [80, FNAT_PORT]) {
          p.run(udp.map((k) => p.from6Client(k, port, 'S')), now++, 0);
          const of6 = () => p.fast.sessions(now).filter((s) => s.vport === port && s.client === CIP6)
            .sort((a, b) => a.clientPort - b.clientPort);
          assert.equal(of6().length, CLIENTS, `an IPv6 session per client on port ${port}`);
          p.run(of6().map((s) => p.from6Server(s, 'SA')), now++, 1);
          p.run(udp.map((k) => p.from6Client(k, port, 'A')), now++, 0);
          for (let round = 0; round < 2; round++) {
            p.run(udp.map((k) => p.from6Client(k, port, 'PA', 9 * k + round)), now++, 0);
            p.run(of6().map((s, k) => p.from6Server(s, round ? 'PA' : 'A', 3 * k)), now++, 1);
          }
          p.run([p.from6Client(0, port, 'FA'), p.from6Client(1, port, 'RA'), p.from6Client(2, port, 'PA', 6)], now++, 0);
          p.run(of6().slice(0, 3).map((s) => p.from6Server(s, 'A')), now++, 1);
        }
        const udp6 = (k: number, n: number) => p.wrap(udp6Packet({ src: CIP6, dst: VIP6 }, {
          sport: clientPort(k), dport: UDP_PORT, payload: new Uint8Array(n).fill(k),
        }), 0);
        p.run(udp.map((k) => udp6(k, 4 + k)), now++, 0);
        for (let round = 0; round < 2; round++) {
          p.run(udp.map((k) => p.wrap(udp6Packet({ src: RIPS6[12], dst: CIP6 }, {
            sport: 5353, dport: clientPort(k), payload: new Uint8Array(2 * k + round),
          }), 1, RS_MACS[12])), now++, 1);
          p.run(udp.map((k) => udp6(k, 3 * k + round)), now++, 0);
        }
        // a UDP session whose timer ran out before the sweep saw it: a new session
        const udpIdle = now + p.fast.tables.timeoutMs('udp') + 1;
        p.run([p.udpFromClient(0, 4)], udpIdle, 0);
        p.run([p.udpFromServer(1, 4)], udpIdle, 1);
        // an established session whose timer ran out before the sweep saw it
        const idle = now + p.fast.tables.timeoutMs('established') + 1;
        p.run([p.fromClient(6, 'A'), p.fromClient(8, 'A')], idle, 0);
        // the service removed: its sessions carry nothing
        for (const h of [p.fast, p.general]) h.tables.removeService(0);
        p.run(Array.from({ length: CLIENTS }, (_, k) => p.fromClient(k, 'A')), idle + 1, 0);
      });
    }

    it('rewrites established segments as the oracle says, both ways', () => {
      const p = new Pair(flavour, VARIANTS[0]);
      p.open(1 * S);
      const k = 5;
      const rs = p.rsOf.get(k)!;
      const drops = p.fast.tables.stat(abi.STAT_DROPPED);
      const before = p.fast.tables.rsCounters(rs);
      const [i] = p.run([p.fromClient(k, 'PA', 100)], 2 * S, 0);
      assert.equal(i.verdict, abi.VERDICT_FORWARD);
      assert.equal(i.outDev, 1);
      const f = decodeFrame(i.out, true);
      assert.equal(f.dstMac, RS_MACS[rs]);
      assert.equal(f.srcMac, DEV1_MAC);
      assert.equal(f.ip!.src, CIP);
      assert.equal(f.ip!.dst, RIPS[rs]);
      assert.equal(f.ip!.tcp!.sport, clientPort(k));
      assert.equal(f.ip!.tcp!.dport, 8080);
      assert.ok(allChecksumsOk(f.ip!), 'in-direction checksums');
      const [o] = p.run([p.fromServer(k, 'PA', 1000)], 2 * S + 1, 1);
      assert.equal(o.verdict, abi.VERDICT_FORWARD);
      assert.equal(o.outDev, 0);
      const g = decodeFrame(o.out, true);
      assert.equal(g.dstMac, CLIENT_MAC);
      assert.equal(g.srcMac, DEV0_MAC);
      assert.equal(g.ip!.src, VIP);
      assert.equal(g.ip!.dst, CIP);
      assert.equal(g.ip!.tcp!.sport, 80);
      assert.equal(g.ip!.tcp!.dport, clientPort(k));
      assert.ok(allChecksumsOk(g.ip!), 'out-direction checksums');
      assert.equal(p.fast.tables.stat(abi.STAT_DROPPED), drops);
      const c = p.fast.tables.rsCounters(rs);
      // one segment each way, counted by its IP total length
      assert.equal(c.inPackets - before.inPackets, 1n);
      assert.equal(c.inBytes - before.inBytes, 140n);
      assert.equal(c.outPackets - before.outPackets, 1n);
      assert.equal(c.outBytes - before.outBytes, 1040n);
      const s = p.fast.sessions(2 * S + 1).find((x) => x.clientPort === clientPort(k))!;
      assert.equal(s.state, abi.TCP_S_ESTABLISHED);
    });
  });
}
