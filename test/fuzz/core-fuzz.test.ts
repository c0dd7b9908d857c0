// Fuzz: random and mutated frames (truncations, bad lengths, options, fragments, random
// bytes, random virtio headers) through the core in batches. The core must never trap, never
// write outside a frame's slot (guard bytes after every frame), never change a table or field
// the host owns (hashes of the tables it only reads, and of the header, service, real-server and
// LIP records with the core's own fields blanked), give every frame a verdict, and count every drop.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import * as abi from '../../src/dataplane/abi.js';
import { frameAddress } from '../../src/dataplane/memory-map.js';
import {
  CIP, CLIENT_MAC, CoreHarness, DEV0_MAC, DEV1_MAC, FLAVOURS, LIPS, RIPS, RS_MACS, VIP, realServerEntry,
} from '../core/harness.js';
import { arpRequest, ethernet, icmpPacket, ipv4Packet, tcpPacket, udpPacket } from '../oracle/packet.js';

const GUARD = 0xa5;
const FRAMES: Record<string, number> = { release: 1_000_000, debug: 150_000 };

/** xorshift32: deterministic per seed, so a failure can be replayed */
function rng(seed: number): () => number {
  let s = seed >>> 0 || 1;
  return () => {
    s ^= s << 13; s >>>= 0;
    s ^= s >>> 17;
    s ^= s << 5; s >>>= 0;
    return s;
  };
}

function templates(): Uint8Array[] {
  const l3: Uint8Array[] = [
    tcpPacket({ src: CIP, dst: VIP }, { sport: 1000, dport: 80, flags: 'S' }),
    tcpPacket({ src: CIP, dst: VIP, df: true }, { sport: 1001, dport: 80, flags: 'A', payload: new Uint8Array(1400) }),
    tcpPacket({ src: CIP, dst: VIP, options: [7, 7, 4, 0, 0, 0, 0, 1] }, { sport: 1002, dport: 443, flags: 'S' }),
    udpPacket({ src: CIP, dst: VIP }, { sport: 2000, dport: 53, payload: new Uint8Array(40) }),
    udpPacket({ src: CIP, dst: VIP }, { sport: 2001, dport: 53, noChecksum: true }),
    tcpPacket({ src: RIPS[0], dst: CIP }, { sport: 8080, dport: 1000, flags: 'SA' }),
    tcpPacket({ src: RIPS[1], dst: LIPS[0] }, { sport: 8080, dport: 1024, flags: 'A' }),
    icmpPacket({ src: CIP, dst: VIP }, { type: 8, code: 0 }),
    icmpPacket({ src: '10.0.1.254', dst: VIP }, { type: 3, code: 4, payload: tcpPacket({ src: VIP, dst: CIP }, { sport: 80, dport: 1000 }).subarray(0, 28) }),
    icmpPacket({ src: RIPS[0], dst: LIPS[1] }, { type: 11, code: 0, payload: tcpPacket({ src: LIPS[1], dst: RIPS[0] },
      { sport: 1025, dport: 8080 }).subarray(0, 40) }),
    ipv4Packet({ src: CIP, dst: VIP }, 4, tcpPacket({ src: CIP, dst: VIP }, { sport: 1, dport: 80 })),
    tcpPacket({ src: CIP, dst: VIP, mf: true }, { sport: 1003, dport: 80, flags: 'S' }),
    // mid-flow segments of a flow another director started (mh + dr, SVCF_MIDFLOW)
    tcpPacket({ src: CIP, dst: VIP }, { sport: 1004, dport: 8000, flags: 'A', payload: new Uint8Array(100) }),
    tcpPacket({ src: CIP, dst: VIP }, { sport: 1005, dport: 8000, flags: 'FA' }),
    // the segments after a SYN that carry TOA and the PROXY header (seq = the SYN's + 1)
    tcpPacket({ src: CIP, dst: VIP }, { sport: 1002, dport: 443, flags: 'A', seq: 1001, options: [1, 1, 8, 10, 0, 0, 0, 1, 0, 0, 0, 2] }),
    tcpPacket({ src: CIP, dst: VIP }, { sport: 1002, dport: 443, flags: 'PA', seq: 1001, payload: new Uint8Array(1400) }),
    tcpPacket({ src: CIP, dst: VIP }, { sport: 1000, dport: 80, flags: 'PA', seq: 1001, payload: new Uint8Array(9) }),
    tcpPacket({ src: RIPS[0], dst: CIP }, { sport: 8080, dport: 1000, flags: 'SA', ack: 1001, options: [2, 4, 5, 0xb4] }),
  ];
  const out: Uint8Array[] = [];
  for (const p of l3) {
    out.push(p);
    out.push(ethernet(DEV0_MAC, CLIENT_MAC, p));
    out.push(ethernet(DEV1_MAC, RS_MACS[0], p));
  }
  out.push(arpRequest(CLIENT_MAC, CIP, VIP));
  return out;
}

function hashRegion(h: CoreHarness, base: number, size: number): string {
  return createHash('sha1').update(h.bytes.subarray(base, base + size)).digest('hex');
}

/** [offset, size] of the fields the core itself keeps in a record; the host owns the rest */
type Fields = [number, number][];
const CORE_HEADER: Fields = [[abi.HDR_CONN_COUNT, 4], [abi.HDR_CONN_FREE, 4], [abi.HDR_CONN_HIGH, 4],
  [abi.HDR_SWEEP_CURSOR, 4], [abi.HDR_EVT_HEAD, 4], [abi.HDR_SINK, 4],
  // written by the test before each batch, and by its drains of the event ring
  [abi.HDR_BATCH_FLAGS, 4], [abi.HDR_BATCH_DEV, 4], [abi.HDR_EVT_TAIL, 4]];
// scheduler cursors and the wrr state rebuilt lazily
const CORE_SERVICE: Fields = [[abi.SVC_RR_CURSOR, 4], [abi.SVC_WRR_CW, 4], [abi.SVC_WRR_MAX, 4], [abi.SVC_WRR_GCD, 4],
  [abi.SVC_POOL_CURSOR, 2]];
// connection counts, and the schedulers' scratch (Maglev's permutation state)
const CORE_RS: Fields = [[abi.RS_ACTIVE, 4], [abi.RS_INACTIVE, 4], [abi.RS_PERSIST, 4], [abi.RS_FNAT_HELD, 4],
  [abi.RS_SCHED_SCRATCH, abi.RS_SIZE - abi.RS_SCHED_SCRATCH]];
const CORE_LIP: Fields = [[abi.LIP_CURSOR, 4], [abi.LIP_USED, 4]];

/**
 * hostOwned hashes `count` records of `size` bytes from `base` with the core's own fields
 * blanked: what is left is the host's, and process() must never change a byte of it.
 */
function hostOwned(h: CoreHarness, base: number, size: number, count: number, core: Fields): string {
  const copy = h.bytes.slice(base, base + size * count);
  for (let i = 0; i < count; i++) for (const [off, len] of core) copy.fill(0, i * size + off, i * size + off + len);
  return createHash('sha1').update(copy).digest('hex');
}

function hostOwnedState(h: CoreHarness): Record<string, string> {
  const { layout } = h;
  return {
    header: hostOwned(h, abi.HEADER_BASE, abi.HEADER_SIZE, 1, CORE_HEADER),
    services: hostOwned(h, layout.services.base, abi.SVC_SIZE, layout.caps.services, CORE_SERVICE),
    realServers: hostOwned(h, layout.realServers.base, abi.RS_SIZE, layout.caps.realServers, CORE_RS),
    lips: hostOwned(h, layout.lips.base, abi.LIP_SIZE, layout.caps.lips, CORE_LIP),
  };
}

for (const flavour of FLAVOURS) {
  describe(`core fuzz (${flavour})`, () => {
    it(`${FRAMES[flavour]} random and mutated frames: no trap, no stray write, a verdict each, drops counted`, () => {
      const h = new CoreHarness(flavour, { sessions: 4096, slotCount: 128, maxFrame: 2048, connExt: true,
        proxyMarks: true, connStats: true })
        .standard({ mtu: 1400 });
      h.service(0, { forwarding: 'nat', proxyProtocol: 'v1', connectionLog: true }, [realServerEntry(0), realServerEntry(1)]);
      h.service(1, { forwarding: 'fullnat', port: 443, persistence: 60, toa: true, proxyProtocol: 'v2', connectionLog: true }, [realServerEntry(2)], 2);
      h.service(2, { forwarding: 'tun', protocol: 'udp', port: 53, connectionLog: true }, [realServerEntry(3, { port: 0 })], 3);
      h.service(3, { forwarding: 'dr', port: 0 }, [realServerEntry(0, { port: 0, service: 3 })], 4);
      h.service(4, { forwarding: 'dr', port: 8000, scheduler: 'mh', midFlow: true },
        [realServerEntry(5, { port: 0 }), realServerEntry(6, { port: 0 })], 5);
      h.tables.setLips([{ address: LIPS[0], portMin: 1024, portMax: 1200 }, { address: LIPS[1], portMin: 1024,
        portMax: 1100 }]);
      const { layout } = h;
      const frozen = [layout.devices, layout.local, layout.svcIndex, layout.destinations, layout.pools, layout.sched];
      const frozenHash = frozen.map((r) => hashRegion(h, r.base, r.size));
      const hostBefore = hostOwnedState(h);
      const slotsEnd = layout.slots.base + layout.slots.size;

      const T = templates();
      const rand = rng(0x5eed + (flavour === 'debug' ? 1 : 0));
      const n = layout.caps.slotCount;
      const maxFrame = layout.slotSize - layout.headroom;
      let total = 0;
      let now = 1;
      const lens = new Uint32Array(n);
      const verdicts = [0, 0, 0];
      const dropStats0 = h.tables.stat(abi.STAT_DROPPED);
      let ended = 0;
      while (total < FRAMES[flavour]) {
        const l2 = (rand() & 1) === 0;
        const vnet = (rand() & 7) === 0;
        h.tables.setHeader(abi.HDR_BATCH_FLAGS, (l2 ? abi.BATCH_L2 : 0) | (vnet ? abi.BATCH_VNET : 0));
        h.tables.setHeader(abi.HDR_BATCH_DEV, rand() & 1);
        h.bytes.fill(GUARD, layout.slots.base, slotsEnd);
        for (let i = 0; i < n; i++) {
          const at = frameAddress(layout, i);
          const kind = rand() % 10;
          let len: number;
          if (kind === 0) {
            // pure noise
            len = rand() % 1600;
            for (let k = 0; k < len; k++) h.bytes[at + k] = rand() & 0xff;
          } else {
            const t = T[rand() % T.length];
            h.bytes.set(t, at);
            len = t.length;
            const flips = kind < 4 ? 0 : 1 + (rand() % 4);
            for (let k = 0; k < flips; k++) h.bytes[at + (rand() % len)] = rand() & 0xff;
            if (kind === 9) len = rand() % (len + 1); // truncation
            if (kind === 8) {
              // a hostile length field: IP total length, IHL, UDP length or TCP data offset
              const ip = at + (l2 ? 14 : 0);
              const which = rand() % 4;
              if (which === 0) { h.bytes[ip + 2] = rand() & 0xff; h.bytes[ip + 3] = rand() & 0xff; }
              if (which === 1) h.bytes[ip] = 0x40 | (rand() & 15);
              if (which === 2) { h.bytes[ip + 24] = rand() & 0xff; h.bytes[ip + 25] = rand() & 0xff; }
              if (which === 3) h.bytes[ip + 32] = rand() & 0xff;
            }
          }
          len = Math.min(len, maxFrame);
          // what lies beyond the (possibly truncated) frame is guard, not template leftovers
          h.bytes.fill(GUARD, at + len, layout.slots.base + (i + 1) * layout.slotSize);
          if (vnet) for (let k = 1; k <= abi.VNET_HDR_LEN; k++) h.bytes[at - k] = rand() & 0xff;
          lens[i] = len;
          const d = layout.descriptors.base + i * abi.DESC_SIZE;
          h.view.setUint32(d + abi.DESC_OFF, at, true);
          h.view.setUint32(d + abi.DESC_LEN, len, true);
          h.bytes[d + abi.DESC_VERDICT] = 0xee;
        }
        now += 1 + (rand() % 2000);
        h.core.process(n, now);
        if ((total / n) % 16 === 0) h.core.sweep(512, now);
        // connection-log records come in END + STATS pairs, never split (assembly/connstats.ts)
        let pendingEnd = false;
        h.tables.drainEvents((raw) => {
          const type = raw[abi.EVT_TYPE];
          assert.equal(type === abi.EVT_CONN_STATS, pendingEnd, `event ${type} after ${pendingEnd ? 'an END' : 'no END'}`);
          if (type === abi.EVT_CONN_END) ended++;
          pendingEnd = type === abi.EVT_CONN_END;
        });
        assert.ok(!pendingEnd, 'a drain ended between END and STATS');
        for (let i = 0; i < n; i++) {
          const d = layout.descriptors.base + i * abi.DESC_SIZE;
          const v = h.bytes[d + abi.DESC_VERDICT];
          assert.ok(v <= abi.VERDICT_HOST, `frame ${total + i}: verdict ${v}`);
          verdicts[v]++;
          const slot = layout.slots.base + i * layout.slotSize;
          let end = frameAddress(layout, i) + lens[i];
          if (v === abi.VERDICT_FORWARD) {
            const off = h.view.getUint32(d + abi.DESC_OFF, true);
            const len = h.view.getUint32(d + abi.DESC_LEN, true);
            assert.ok(off - (vnet ? abi.VNET_HDR_LEN : 0) >= slot && off + len <= slot + layout.slotSize,
              `frame ${total + i}: output [${off}, +${len}) outside its slot`);
            // TOA and the PROXY header grow a frame in place, inside its slot
            end = Math.max(end, off + len);
          }
          for (let p = end; p < slot + layout.slotSize; p++) {
            if (h.bytes[p] !== GUARD) assert.fail(`frame ${total + i}: byte ${p - end} after the frame was written`);
          }
        }
        total += n;
      }
      assert.ok(ended > 0, 'logged connections ended during the fuzz');
      frozen.forEach((r, k) => assert.equal(hashRegion(h, r.base, r.size), frozenHash[k], `table ${k} changed`));
      assert.deepEqual(hostOwnedState(h), hostBefore, 'the host\'s fields of header, services, real servers and LIPs unchanged');
      const dropped = h.tables.stat(abi.STAT_DROPPED) - dropStats0;
      assert.equal(dropped, BigInt(verdicts[0]), 'every drop counted');
      const byReason = Object.values(h.tables.drops()).reduce((a, b) => a + b, 0n);
      assert.equal(byReason, h.tables.stat(abi.STAT_DROPPED), 'drops by reason add up');
      assert.equal(h.tables.stat(abi.STAT_RX_PACKETS), BigInt(total));
      assert.ok(verdicts[1] > 1000 && verdicts[2] > 100, `forwarded ${verdicts[1]}, host ${verdicts[2]}`);
      // the paths that grow frames ran
      const grown = [abi.STAT_TOA_ADDED, abi.STAT_PROXY_SENT].map((x) => h.tables.stat(x));
      assert.ok(grown.every((x) => x > 0n), `TOA added ${grown[0]}, PROXY headers sent ${grown[1]}`);
      // the session table is still consistent: sweeping everything away leaves no residue
      h.core.sweep(1 << 20, now + 10_000_000);
      h.core.sweep(1 << 20, now + 20_000_000);
      assert.equal(h.tables.sessionCount(), 0);
      for (let rs = 0; rs < 7; rs++) assert.ok(h.tables.rsIdle(rs), `rs ${rs} counters back to 0`);
      assert.equal(h.tables.lipUsage(0).used + h.tables.lipUsage(1).used, 0);
    });
  });
}
