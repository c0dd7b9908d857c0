// Full-NAT sessions end at their own state's timeout (session.ts endExpired): a closed connection
// leaves the table, and its connection-log line and EVT_EXPIRED come out, within the closing
// timeouts, while its LIP:lport tuple stays held in quarantine until the quarantine after the
// last packet (the server may keep the tuple in TIME_WAIT). Checked for IPv4, IPv6 and NAT64:
// the end is emitted once, the held tuple is busy for another client and passes no reply, the
// same client takes it back, and after the quarantine anybody gets it. Frames are built and
// their checksums recomputed by the oracle.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import * as abi from '../../src/dataplane/abi.js';
import type { LipEntry } from '../../src/dataplane/tables.js';
import {
  CIP, CIP6, CLIENT_MAC, CoreHarness, DEV0_MAC, DEV1_MAC, FLAVOURS, LIPS, LIPS6, RS_MACS, VIP, VIP6, realServerEntry,
  realServerEntry6,
} from './harness.js';
import {
  allChecksumsOk, allChecksumsOk6, decodeFrame, decodeFrame6, ethernet, tcp6Packet, tcpPacket,
} from '../oracle/packet.js';

const S = 1000;
const Q = 60 * S; // the default quarantine
const HOLE: LipEntry = { address: '0.0.0.0', portMin: 1, portMax: 0 };
const CLOSING = { fin_wait: 1, time_wait: 1, close: 1, close_wait: 1, last_ack: 1 };
const END_REASONS = ['timeout', 'fin', 'rst', 'flushed', 'evicted'];

interface Tuple { lip: string; lport: number; rip: string }
interface Family {
  name: string;
  client: string;
  lips: LipEntry[];
  pool: number[];
  vip: string;
  stranger: string;
  rs: () => ReturnType<typeof realServerEntry>;
  /** a client segment to the VIP:80 */
  cli: (sport: number, flags: string, src?: string) => Uint8Array;
  /** the real server's segment to LIP:lport */
  srv: (t: Tuple, flags: string) => Uint8Array;
  /** where the core sent a client's packet; checksums recomputed */
  tupleOf: (out: Uint8Array) => Tuple;
  /** the client address and port a reply was sent to; checksums recomputed */
  replyTo: (out: Uint8Array) => { dst: string; dport: number };
}

const V4: Family = {
  name: 'IPv4',
  client: CIP,
  lips: [{ address: LIPS[0], portMin: 5000, portMax: 5000 }],
  pool: [0],
  vip: VIP,
  stranger: '10.0.1.77',
  rs: () => realServerEntry(0),
  cli: (sport, flags, src = CIP) =>
    ethernet(DEV0_MAC, CLIENT_MAC, tcpPacket({ src, dst: VIP }, { sport, dport: 80, flags })),
  srv: (t, flags) =>
    ethernet(DEV1_MAC, RS_MACS[0], tcpPacket({ src: t.rip, dst: t.lip }, { sport: 8080, dport: t.lport, flags })),
  tupleOf: (out) => {
    const ip = decodeFrame(out, true).ip!;
    assert.ok(allChecksumsOk(ip), 'checksums');
    return { lip: ip.src, lport: ip.tcp!.sport, rip: ip.dst };
  },
  replyTo: (out) => {
    const ip = decodeFrame(out, true).ip!;
    assert.ok(allChecksumsOk(ip), 'checksums');
    assert.equal(ip.src, VIP);
    return { dst: ip.dst, dport: ip.tcp!.dport };
  },
};

const V6: Family = {
  name: 'IPv6',
  client: CIP6,
  lips: [HOLE, HOLE, { address: LIPS6[0], portMin: 5000, portMax: 5000 }, HOLE],
  pool: [2, 3],
  vip: VIP6,
  stranger: '2001:db8:1::77',
  rs: () => realServerEntry6(0),
  cli: (sport, flags, src = CIP6) =>
    ethernet(DEV0_MAC, CLIENT_MAC, tcp6Packet({ src, dst: VIP6 }, { sport, dport: 80, flags }), 0x86dd),
  srv: (t, flags) => ethernet(DEV1_MAC, RS_MACS[0],
    tcp6Packet({ src: t.rip, dst: t.lip }, { sport: 8080, dport: t.lport, flags }), 0x86dd),
  tupleOf: (out) => {
    const ip = decodeFrame6(out, true).ip6!;
    assert.ok(allChecksumsOk6(ip), 'checksums');
    return { lip: ip.src, lport: ip.tcp!.sport, rip: ip.dst };
  },
  replyTo: (out) => {
    const ip = decodeFrame6(out, true).ip6!;
    assert.ok(allChecksumsOk6(ip), 'checksums');
    assert.equal(ip.src, VIP6);
    return { dst: ip.dst, dport: ip.tcp!.dport };
  },
};

/** NAT64: IPv6 clients, an IPv4 server, IPv4 LIPs (the reply path is the IPv4 one's second look) */
const V64: Family = {
  ...V6,
  name: 'NAT64',
  lips: [{ address: LIPS[0], portMin: 5000, portMax: 5000 }, HOLE, HOLE, HOLE],
  pool: [0],
  rs: () => realServerEntry(0),
  srv: V4.srv,
  tupleOf: V4.tupleOf,
};

/** setup: one Full-NAT service logging connections, one LIP:lport toward its one server, events on */
function setup(flavour: 'release' | 'debug', f: Family, timeouts: Record<string, number> = CLOSING): CoreHarness {
  const h = new CoreHarness(flavour, { connStats: true }).standard();
  h.tables.setOptions(abi.OPT_EVENTS);
  h.tables.setLips(f.lips);
  h.service(0, { vip: f.vip, forwarding: 'fullnat', connectionLog: true }, [f.rs()]);
  h.setPool(0, f.pool);
  h.tables.setTimeouts(timeouts);
  return h;
}

/** ends drains the ring: the end reasons of the connection-log pairs, and how many EVT_EXPIRED */
function ends(h: CoreHarness): { logged: { reason: string; last: number }[]; expired: number } {
  const raws: Uint8Array[] = [];
  h.tables.drainEvents((r) => raws.push(r));
  const logged: { reason: string; last: number }[] = [];
  let expired = 0;
  for (let i = 0; i < raws.length; i++) {
    const t = raws[i][abi.EVT_TYPE];
    if (t === abi.EVT_EXPIRED) expired++;
    if (t !== abi.EVT_CONN_END) continue;
    const st = raws[i + 1];
    assert.equal(st?.[abi.EVT_TYPE], abi.EVT_CONN_STATS, 'END followed by its STATS');
    const v = new DataView(st.buffer, st.byteOffset + abi.EVT_STATS, abi.CONNSTATS_SIZE);
    logged.push({ reason: END_REASONS[raws[i][abi.EVT_REASON]], last: v.getUint32(28, true) });
  }
  return { logged, expired };
}

const forwarded = (r: { verdict: number; reason: number; out: Uint8Array }): Uint8Array => {
  assert.equal(r.verdict, abi.VERDICT_FORWARD, `dropped: ${abi.DROP_REASON_NAMES[r.reason]}`);
  return r.out;
};

/** open runs a handshake at `now`; returns the tuple and leaves the session ESTABLISHED */
function open(h: CoreHarness, f: Family, sport: number, now: number): Tuple {
  const t = f.tupleOf(forwarded(h.one(f.cli(sport, 'S'), now)));
  assert.deepEqual(f.replyTo(forwarded(h.one(f.srv(t, 'SA'), now, { dev: 1 }))), {
    dst: f.client, dport: sport,
  });
  forwarded(h.one(f.cli(sport, 'A'), now));
  return t;
}

/** held: the tuple's record is kept (quarantine), counted on its LIP and server, but no connection */
function assertHeld(h: CoreHarness, f: Family, now: number): void {
  assert.equal(h.tables.sessionCount(), 1, 'the record stays, detached');
  assert.equal(h.sessions(now).length, 0, 'no connection is listed');
  assert.equal(h.tables.lipUsage(f.pool[0]).used, 1);
  assert.equal(h.rsField(0, abi.RS_FNAT_HELD), 1);
  assert.equal(h.rsField(0, abi.RS_ACTIVE) + h.rsField(0, abi.RS_INACTIVE), 0, 'the server counts no connection');
}

function assertFree(h: CoreHarness, f: Family): void {
  assert.equal(h.tables.sessionCount(), 0);
  assert.equal(h.tables.lipUsage(f.pool[0]).used, 0);
  assert.equal(h.rsField(0, abi.RS_FNAT_HELD), 0);
}

for (const flavour of FLAVOURS) {
  for (const f of [V4, V6, V64]) {
    describe(`Full-NAT closing timeouts and the quarantine, ${f.name} (${flavour})`, () => {
      it('a closed connection ends at its closing timeout, logged once; its tuple is held until the quarantine', () => {
        const h = setup(flavour, f);
        const t = open(h, f, 40000, 1 * S);
        // the server closes first, the client answers: TIME_WAIT, last packet at L
        const L = 10 * S;
        forwarded(h.one(f.srv(t, 'FA'), L - 2, { dev: 1 }));
        forwarded(h.one(f.cli(40000, 'FA'), L - 1));
        forwarded(h.one(f.srv(t, 'A'), L, { dev: 1 }));
        const [s] = h.sessions(L);
        assert.equal(abi.TCP_STATE_NAMES[s.state], 'TIME_WAIT');
        assert.equal(s.expiresIn, 1 * S, 'its own timeout, not the quarantine');
        ends(h);
        assert.equal(h.core.sweep(0, 100, L + 1 * S - 1), 0);
        assert.deepEqual(ends(h), { logged: [], expired: 0 });
        // within 2 s of the last packet: the end, once, with the last packet's time
        assert.equal(h.core.sweep(0, 100, L + 1 * S), 1);
        assert.deepEqual(ends(h), { logged: [{ reason: 'fin', last: L }], expired: 1 });
        assert.equal(h.tables.stat(abi.STAT_FNAT_QUARANTINED), 1n);
        assert.equal(h.tables.stat(abi.STAT_CONN_EXPIRED), 1n);
        assertHeld(h, f, L + 1 * S);
        // another client cannot have LIP:lport: the pool's one tuple is held
        assert.equal(h.one(f.cli(40100, 'S', f.stranger), L + 2 * S).reason, abi.DROP_POOL_EXHAUSTED);
        assert.ok(h.tables.stat(abi.STAT_FNAT_PROBE_BUSY) >= 1n);
        // a late segment of the server's to the old tuple reaches nobody
        assert.equal(h.one(f.srv(t, 'A'), L + 2 * S, { dev: 1 }).reason, abi.DROP_NO_SESSION);
        // sweeps during the quarantine emit nothing more
        for (const at of [L + 3 * S, L + 30 * S, L + Q - 1]) assert.equal(h.core.sweep(0, 100, at), 0);
        assert.equal(h.one(f.cli(40101, 'S', f.stranger), L + Q - 1).reason, abi.DROP_POOL_EXHAUSTED);
        assertHeld(h, f, L + Q - 1);
        // the quarantine ends Q after the last packet: the record goes, silently
        assert.equal(h.core.sweep(0, 100, L + Q), 1);
        assert.deepEqual(ends(h).logged, []);
        assert.equal(h.tables.stat(abi.STAT_CONN_EXPIRED), 1n, 'one connection ended, once');
        assertFree(h, f);
        assert.deepEqual(f.tupleOf(forwarded(h.one(f.cli(40102, 'S', f.stranger), L + Q))), t, 'free again');
      });

      it('the client reusing its port takes its quarantined tuple back; a probe that meets the stale session ends it', () => {
        const h = setup(flavour, f);
        const t = open(h, f, 40001, 1 * S);
        const L = 2 * S;
        forwarded(h.one(f.cli(40001, 'FA'), L - 1));
        forwarded(h.one(f.srv(t, 'FA'), L, { dev: 1 }));
        ends(h);
        // no sweep yet: the stranger's probe meets the session whose timer ran out, ends and holds it
        assert.equal(h.one(f.cli(40200, 'S', f.stranger), L + 1500).reason, abi.DROP_POOL_EXHAUSTED);
        assert.deepEqual(ends(h).logged.map((e) => e.reason), ['fin']);
        assertHeld(h, f, L + 1500);
        assert.equal(h.core.sweep(0, 100, L + 1600), 0, 'already ended: the sweep emits nothing');
        assert.deepEqual(ends(h), { logged: [], expired: 0 });
        // the same client tuple again: the server's TIME_WAIT on it is this client's own
        assert.deepEqual(f.tupleOf(forwarded(h.one(f.cli(40001, 'S'), L + 5 * S))), t);
        assert.equal(h.tables.sessionCount(), 1);
        assert.equal(h.sessions(L + 5 * S).length, 1);
        assert.equal(h.rsField(0, abi.RS_FNAT_HELD), 1);
      });

      it('an established session idle past its timeout ends at it, its tuple held until the quarantine', () => {
        const h = setup(flavour, f, { ...CLOSING, established: 5 });
        const t = open(h, f, 40002, 1 * S);
        const L = 3 * S;
        forwarded(h.one(f.cli(40002, 'PA'), L));
        assert.equal(h.sessions(L)[0].expiresIn, 5 * S);
        ends(h);
        assert.equal(h.core.sweep(0, 100, L + 5 * S - 1), 0);
        assert.equal(h.core.sweep(0, 100, L + 5 * S), 1);
        assert.deepEqual(ends(h), { logged: [{ reason: 'timeout', last: L }], expired: 1 });
        assertHeld(h, f, L + 5 * S);
        assert.equal(h.one(f.cli(40300, 'S', f.stranger), L + 6 * S).reason, abi.DROP_POOL_EXHAUSTED);
        assert.equal(h.one(f.srv(t, 'A'), L + 6 * S, { dev: 1 }).reason, abi.DROP_NO_SESSION);
        assert.equal(h.core.sweep(0, 100, L + Q - 1), 0);
        assert.equal(h.core.sweep(0, 100, L + Q), 1);
        assertFree(h, f);
        assert.deepEqual(f.tupleOf(forwarded(h.one(f.cli(40301, 'S', f.stranger), L + Q))), t);
      });

      it('a session idle longer than the quarantine frees its tuple as it ends, whenever the sweep comes', () => {
        const h = setup(flavour, f);
        const t = open(h, f, 40003, 1 * S);
        const L = 1 * S;
        const established = h.tables.timeoutMs('established');
        assert.ok(established > Q);
        ends(h);
        // the sweep comes late: the hold is counted from the last packet, not from the sweep
        assert.equal(h.core.sweep(0, 100, L + established + 30 * S), 1);
        assert.deepEqual(ends(h), { logged: [{ reason: 'timeout', last: L }], expired: 1 });
        assert.equal(h.tables.stat(abi.STAT_FNAT_QUARANTINED), 0n);
        assertFree(h, f);
        assert.deepEqual(f.tupleOf(forwarded(h.one(f.cli(40400, 'S', f.stranger), L + established + 30 * S))), t);
      });

      it('a closed session whose sweep comes late is held only until the quarantine after its last packet', () => {
        const h = setup(flavour, f);
        const t = open(h, f, 40004, 1 * S);
        const L = 2 * S;
        forwarded(h.one(f.cli(40004, 'R'), L));
        ends(h);
        // first looked at 50 s after the last packet: held 10 s more, not another Q
        assert.equal(h.core.sweep(0, 100, L + 50 * S), 1);
        assert.deepEqual(ends(h).logged.map((e) => e.reason), ['rst']);
        assertHeld(h, f, L + 50 * S);
        assert.equal(h.core.sweep(0, 100, L + Q - 1), 0);
        assert.equal(h.core.sweep(0, 100, L + Q), 1);
        assertFree(h, f);
        assert.deepEqual(f.tupleOf(forwarded(h.one(f.cli(40500, 'S', f.stranger), L + Q))), t);
      });

      it('a reusing SYN that finds no server ends the closing session; its tuple stays held', () => {
        const h = setup(flavour, f, { ...CLOSING, time_wait: 30 });
        const t = open(h, f, 40006, 1 * S);
        const L = 2 * S;
        forwarded(h.one(f.srv(t, 'FA'), L, { dev: 1 }));
        forwarded(h.one(f.cli(40006, 'FA'), L));
        forwarded(h.one(f.srv(t, 'A'), L, { dev: 1 }));
        assert.equal(abi.TCP_STATE_NAMES[h.sessions(L)[0].state], 'TIME_WAIT');
        ends(h);
        h.setRsField(0, abi.RS_WEIGHT, 0);
        h.tables.rebuildService(0);
        assert.equal(h.one(f.cli(40006, 'S'), L + 100).reason, abi.DROP_NO_RS);
        assert.deepEqual(ends(h).logged.map((e) => e.reason), ['evicted']);
        assertHeld(h, f, L + 100);
        h.setRsField(0, abi.RS_WEIGHT, 1);
        h.tables.rebuildService(0);
        assert.equal(h.one(f.cli(40700, 'S', f.stranger), L + 2 * S).reason, abi.DROP_POOL_EXHAUSTED);
        assert.deepEqual(f.tupleOf(forwarded(h.one(f.cli(40701, 'S', f.stranger), L + 100 + Q))), t);
      });

      it('a synced Full-NAT session takes its state\'s timeout on the backup, and is quarantined there too', () => {
        const master = setup(flavour, f);
        const backup = setup(flavour, f);
        const t = open(master, f, 40005, 1 * S);
        forwarded(master.one(f.srv(t, 'FA'), 2 * S, { dev: 1 }));
        forwarded(master.one(f.cli(40005, 'FA'), 2 * S));
        const raws: Uint8Array[] = [];
        master.tables.drainEvents((r) => raws.push(r));
        const syncable = raws.filter((r) => [abi.EVT_CREATED, abi.EVT_STATE_CHANGED].includes(r[abi.EVT_TYPE]));
        const B = 3 * S;
        for (const r of syncable) {
          assert.ok([abi.SYNC_CREATED, abi.SYNC_UPDATED].includes(backup.tables.importSession(r, B)));
        }
        const [s] = backup.sessions(B);
        assert.equal(abi.TCP_STATE_NAMES[s.state], master.sessions(2 * S).map((m) => abi.TCP_STATE_NAMES[m.state])[0]);
        assert.equal(s.expiresIn, 1 * S, 'the closing timeout, not the quarantine');
        assert.equal(backup.core.sweep(0, 100, B + 1 * S), 1);
        assertHeld(backup, f, B + 1 * S);
        assert.equal(backup.one(f.cli(40600, 'S', f.stranger), B + 2 * S).reason, abi.DROP_POOL_EXHAUSTED);
        assert.equal(backup.core.sweep(0, 100, B + Q), 1);
        assertFree(backup, f);
      });
    });
  }

  describe(`Full-NAT SYN_RECV under SYN-flood pressure (${flavour})`, () => {
    it('an embryonic session that times out under pressure does not hold its tuple', () => {
      const h = setup(flavour, V4);
      h.tables.setSynFlood({ embryonicMax: 2, synRecvPressureS: 3, proxyFillRecords: 0, mss: 1460, wscale: 7 });
      const t = V4.tupleOf(forwarded(h.one(V4.cli(40700, 'S'), 1 * S)));
      assert.equal(h.sessions(1 * S)[0].expiresIn, 3 * S, 'the short timer');
      assert.equal(h.core.sweep(0, 100, 4 * S), 1);
      assert.equal(h.tables.stat(abi.STAT_FNAT_QUARANTINED), 0n);
      assertFree(h, V4);
      assert.deepEqual(V4.tupleOf(forwarded(h.one(V4.cli(40701, 'S', V4.stranger), 4 * S))), t);
    });
  });
}
