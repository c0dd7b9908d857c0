// Fuzz: random and mutated frames (truncations, bad lengths, options, fragments of both
// families, IPv6 extension headers, ICMPv6, NAT64, random bytes, random virtio headers) through
// the core in batches. The core must never trap, never
// write outside a frame's slot (guard bytes after every frame), never change a table or field
// the host owns (hashes of the tables it only reads, and of the header, service, real-server and
// LIP records with the core's own fields blanked), give every frame a verdict, and count every drop.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import * as abi from '../../src/dataplane/abi.js';
import { frameAddress } from '../../src/dataplane/memory-map.js';
import {
  CIP, CIP6, CLIENT_MAC, CoreHarness, DEV0_MAC, DEV1_MAC, FLAVOURS, LIPS, LIPS6, RIPS, RIPS6, RS_MACS, VIP, VIP6,
  realServerEntry, realServerEntry6,
} from '../core/harness.js';
import {
  allChecksumsOk, arpRequest, decodeFrame, ethernet, fragment4, fragment6, icmp6Packet, icmpPacket, ipv4Packet,
  ipv6Packet, tcp6Packet, tcpPacket, udp6Packet, udpPacket,
} from '../oracle/packet.js';

const GUARD = 0xa5;
/**
 * what a SYN proxy answer may reach from a frame's start: Ethernet + IPv4 + the largest TCP
 * header, or Ethernet + IPv6 + TCP with the 20 bytes of options a handshake segment has at most
 */
const PROXY_GROWTH = Math.max(14 + 20 + 60, 14 + 40 + 40);
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
    ...fragment4(udpPacket({ src: CIP, dst: VIP, id: 77 }, { sport: 2002, dport: 53, payload: new Uint8Array(900) }),
      400),
    ...fragment4(udpPacket({ src: RIPS[0], dst: CIP, id: 78 }, { sport: 8080, dport: 2002,
      payload: new Uint8Array(900) }), 400),
    // IPv6: every mode's service, extension headers, ICMPv6, NAT64 replies, fragments
    tcp6Packet({ src: CIP6, dst: VIP6 }, { sport: 3000, dport: 80, flags: 'S' }),
    tcp6Packet({ src: CIP6, dst: VIP6 }, { sport: 3001, dport: 443, flags: 'S' }, [{ type: 0 }, { type: 60, optLen: 14 }]),
    udp6Packet({ src: CIP6, dst: VIP6 }, { sport: 3002, dport: 53, payload: new Uint8Array(1400) }, [{ type: 43,
      segLeft: 0, addresses: [CIP6] }]),
    tcp6Packet({ src: CIP6, dst: VIP6 }, { sport: 3003, dport: 8000, flags: 'S' }),
    tcp6Packet({ src: RIPS6[0], dst: CIP6 }, { sport: 8080, dport: 3000, flags: 'SA' }),
    tcp6Packet({ src: RIPS6[1], dst: LIPS6[0] }, { sport: 8080, dport: 1024, flags: 'A' }),
    tcpPacket({ src: RIPS[3], dst: LIPS[0] }, { sport: 8080, dport: 1030, flags: 'A' }),
    icmp6Packet({ src: CIP6, dst: VIP6 }, { type: 128, code: 0 }),
    icmp6Packet({ src: CIP6, dst: 'ff02::1:ff00:100' }, { type: 135, code: 0, payload: new Uint8Array(16) }),
    icmp6Packet({ src: '2001:db8:2::fe', dst: LIPS6[1] }, { type: 2, code: 0, rest: 1280,
      payload: tcp6Packet({ src: LIPS6[1], dst: RIPS6[1] }, { sport: 1025, dport: 8080 }) }),
    icmp6Packet({ src: '2001:db8:1::fe', dst: VIP6 }, { type: 1, code: 0, payload: tcp6Packet({ src: VIP6, dst: CIP6 }, { sport: 80, dport: 3000 }).subarray(0, 60) }),
    // NAT64 errors both ways (translated, quote and all)
    icmpPacket({ src: RIPS[3], dst: LIPS[0] }, { type: 3, code: 4, rest: 1300, payload: tcpPacket({ src: LIPS[0],
      dst: RIPS[3] }, { sport: 1030, dport: 8080 }) }),
    icmp6Packet({ src: '2001:db8:1::fe', dst: VIP6 }, { type: 2, code: 0, rest: 1400, payload: tcp6Packet({ src: VIP6, dst: CIP6 }, { sport: 8000, dport: 3003 }) }),
    ipv6Packet({ src: CIP6, dst: VIP6 }, 41, tcp6Packet({ src: CIP6, dst: VIP6 }, { sport: 1, dport: 80 })),
    ...fragment6(udp6Packet({ src: CIP6, dst: VIP6 }, { sport: 3004, dport: 53, payload: new Uint8Array(900) }), 400,
      99),
    ...fragment6(udp6Packet({ src: CIP6, dst: VIP6 }, { sport: 3005, dport: 8000, payload: new Uint8Array(900) }),
      400, 98),
    // mid-flow segments of an IPv6 flow another director started (mh + dr, SVCF_MIDFLOW)
    tcp6Packet({ src: CIP6, dst: VIP6 }, { sport: 3006, dport: 8001, flags: 'A', payload: new Uint8Array(100) }),
    // SYN-proxy services: SYNs with every option, handshake ACKs (bad cookies), server replies
    tcpPacket({ src: CIP, dst: VIP }, { sport: 1004, dport: 8000, flags: 'S', options: [2, 4, 5, 180, 4, 2, 8, 10, 0, 0, 0, 9, 0, 0, 0, 0, 1, 3, 3, 7] }),
    tcpPacket({ src: CIP, dst: VIP }, { sport: 1005, dport: 8001, flags: 'S', options: [2, 4, 5, 180, 1, 3, 3, 14] }),
    tcpPacket({ src: CIP, dst: VIP }, { sport: 1004, dport: 8000, flags: 'A', seq: 1, ack: 77, options: [1, 1, 8, 10, 0, 0, 0, 9, 0, 0, 0, 7] }),
    tcpPacket({ src: CIP, dst: VIP }, { sport: 1005, dport: 8001, flags: 'A', seq: 1, ack: 99 }),
    tcpPacket({ src: RIPS[4], dst: CIP }, { sport: 8080, dport: 1004, flags: 'SA', options: [2, 4, 5, 180, 1, 3, 3, 9] }),
    tcpPacket({ src: CIP, dst: VIP }, { sport: 1006, dport: 8002, flags: 'S', options: [2, 4, 5, 180, 4, 2, 8, 10, 0, 0, 0, 9, 0, 0, 0, 0] }),
    tcpPacket({ src: CIP, dst: VIP }, { sport: 1006, dport: 8002, flags: 'PA', seq: 1, ack: 55, payload: new Uint8Array(1300) }),
    tcpPacket({ src: RIPS[6], dst: LIPS[0] }, { sport: 8080, dport: 1024, flags: 'SA', options: [2, 4, 5, 180, 8, 10, 0, 0, 0, 3, 0, 0, 0, 9, 1, 1] }),
    // the IPv6 SYN proxy (Full-NAT 6->6 with TOA and PROXY v1): SYNs, handshake ACKs, server replies
    tcp6Packet({ src: CIP6, dst: VIP6 }, { sport: 3007, dport: 8002, flags: 'S', options: [2, 4, 5, 160, 4, 2, 8, 10, 0, 0, 0, 9, 0, 0, 0, 0, 1, 3, 3, 7] }),
    tcp6Packet({ src: CIP6, dst: VIP6 }, { sport: 3007, dport: 8002, flags: 'A', seq: 1, ack: 77, options: [1, 1, 8, 10, 0, 0, 0, 9, 0, 0, 0, 7] }),
    tcp6Packet({ src: RIPS6[5], dst: LIPS6[0] }, { sport: 8080, dport: 1024, flags: 'SA', options: [2, 4, 5, 160, 8, 10, 0, 0, 0, 3, 0, 0, 0, 9, 1, 1] }),
    // mid-flow segments of a flow another director started (mh + dr, SVCF_MIDFLOW)
    tcpPacket({ src: CIP, dst: VIP }, { sport: 1004, dport: 8003, flags: 'A', payload: new Uint8Array(100) }),
    tcpPacket({ src: CIP, dst: VIP }, { sport: 1005, dport: 8003, flags: 'FA' }),
    // the segments after a SYN that carry TOA and the PROXY header (seq = the SYN's + 1)
    tcpPacket({ src: CIP, dst: VIP }, { sport: 1002, dport: 443, flags: 'A', seq: 1001, options: [1, 1, 8, 10, 0, 0, 0, 1, 0, 0, 0, 2] }),
    tcpPacket({ src: CIP, dst: VIP }, { sport: 1002, dport: 443, flags: 'PA', seq: 1001, payload: new Uint8Array(1400) }),
    tcpPacket({ src: CIP, dst: VIP }, { sport: 1000, dport: 80, flags: 'PA', seq: 1001, payload: new Uint8Array(9) }),
    tcpPacket({ src: RIPS[0], dst: CIP }, { sport: 8080, dport: 1000, flags: 'SA', ack: 1001, options: [2, 4, 5, 0xb4] }),
  ];
  const out: Uint8Array[] = [];
  for (const p of l3) {
    const type = p[0] >> 4 === 6 ? 0x86dd : 0x0800;
    out.push(p);
    out.push(ethernet(DEV0_MAC, CLIENT_MAC, p, type));
    out.push(ethernet(DEV1_MAC, RS_MACS[0], p, type));
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
  // the hold region's counts: the core's, but for HOLD_READY, which the host clears after a drain
  [abi.HDR_HOLD_WAITING, 4], [abi.HDR_HOLD_READY, 4],
  // the SYN-flood defence's own state: the embryonic count, the eviction hand, this batch's emits
  [abi.HDR_EMBRYONIC, 4], [abi.HDR_EVICT_CURSOR, 4], [abi.HDR_EMIT_COUNT, 4],
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
      const h = new CoreHarness(flavour, { sessions: 4096, slotCount: 128, services: 16, maxFrame: 2048, connExt: true,
        proxyMarks: true, connStats: true })
        .standard({ mtu: 1400 });
      h.service(0, { forwarding: 'nat', proxyProtocol: 'v1', connectionLog: true }, [realServerEntry(0), realServerEntry(1)]);
      h.service(1, { forwarding: 'fullnat', port: 443, persistence: 60, toa: true, proxyProtocol: 'v2', connectionLog: true }, [realServerEntry(2)], 2);
      h.service(2, { forwarding: 'tun', protocol: 'udp', port: 53, connectionLog: true }, [realServerEntry(3, { port: 0 })], 3);
      h.service(3, { forwarding: 'dr', port: 0 }, [realServerEntry(0, { port: 0, service: 3 })], 4);
      // a SYN proxy alone, and one whose connections also carry TOA and the PROXY header
      h.service(4, { forwarding: 'nat', port: 8000, synProxy: 'on' }, [realServerEntry(4)], 5);
      h.service(6, { forwarding: 'fullnat', port: 8002, synProxy: 'on', toa: true, proxyProtocol: 'v1' }, [realServerEntry(6)], 7);
      h.service(5, { forwarding: 'fullnat', port: 8001, synProxy: 'auto' }, [realServerEntry(5)], 6);
      h.tables.setCookieKeys(1, new Uint8Array(abi.COOKIE_KEYS_SIZE).fill(3));
      h.tables.setSynFlood({ embryonicMax: 300, synRecvPressureS: 2, proxyFillRecords: 3000, mss: 1460, wscale: 7 });
      h.tables.setLips([{ address: LIPS[0], portMin: 1024, portMax: 1200 }, { address: LIPS[1], portMin: 1024,
        portMax: 1100 },
        { address: LIPS6[0], portMin: 1024, portMax: 1200 }, { address: LIPS6[1], portMin: 1024, portMax: 1100 }]);
      h.service(7, { forwarding: 'dr', port: 8003, scheduler: 'mh', midFlow: true },
        [realServerEntry(5, { port: 0 }), realServerEntry(6, { port: 0 })], 8);
      // IPv6: every mode, NAT64, and a mid-flow service; PROXY and TOA for IPv6 clients (NAT66,
      // Full-NAT 6->6, NAT64)
      h.service(10, { vip: VIP6, forwarding: 'nat', proxyProtocol: 'v1' }, [realServerEntry6(0), realServerEntry6(1)], 10);
      h.service(11, { vip: VIP6, forwarding: 'fullnat', port: 443, persistence: 60, persistencePrefix: 64, toa: true,
        proxyProtocol: 'v2' }, [realServerEntry6(1)], 12);
      h.service(12, { vip: VIP6, forwarding: 'tun', protocol: 'udp', port: 53 }, [realServerEntry6(2, { port: 0 })], 13);
      h.service(13, { vip: VIP6, forwarding: 'fullnat', port: 8000, toa: true, proxyProtocol: 'v1' }, [realServerEntry(3)], 14);
      h.service(14, { vip: VIP6, forwarding: 'dr', port: 8001, scheduler: 'mh', midFlow: true },
        [realServerEntry6(3, { port: 0 }), realServerEntry6(4, { port: 0 })], 15);
      h.service(15, { vip: VIP6, forwarding: 'fullnat', port: 8002, synProxy: 'on', toa: true, proxyProtocol: 'v1' },
        [realServerEntry6(5)], 16);
      const { layout } = h;
      const frozen = [layout.devices, layout.local, layout.svcIndex, layout.destinations, layout.pools, layout.sched,
        layout.local6, layout.svc6, layout.rs6, layout.lip6];
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
      const verdicts = [0, 0, 0, 0];
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
              const which = rand() % 7;
              if (which === 0) { h.bytes[ip + 2] = rand() & 0xff; h.bytes[ip + 3] = rand() & 0xff; }
              if (which === 1) h.bytes[ip] = (h.bytes[ip] & 0xf0) | (rand() & 15);
              if (which === 2) { h.bytes[ip + 24] = rand() & 0xff; h.bytes[ip + 25] = rand() & 0xff; }
              if (which === 3) h.bytes[ip + 32] = rand() & 0xff;
              // IPv6: payload length, an extension header's length, a fragment offset
              if (which === 4) { h.bytes[ip + 4] = rand() & 0xff; h.bytes[ip + 5] = rand() & 0xff; }
              if (which === 5) h.bytes[ip + 41] = rand() & 0xff;
              if (which === 6) { h.bytes[ip + 42] = rand() & 0xff; h.bytes[ip + 43] = rand() & 0xff; }
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
        h.core.process(0, n, now);
        h.tables.drainHeld(() => undefined);
        if ((total / n) % 16 === 0) h.core.sweep(0, 512, now);
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
          assert.ok(v <= abi.VERDICT_HELD, `frame ${total + i}: verdict ${v}`);
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
          // the SYN proxy builds its handshake segments in place: they may grow a short frame to
          // the largest handshake segment, never further
          const limit = Math.max(end, frameAddress(layout, i) + PROXY_GROWTH);
          for (let p = limit; p < slot + layout.slotSize; p++) {
            if (h.bytes[p] !== GUARD) assert.fail(`frame ${total + i}: byte ${p - end} after the frame was written`);
          }
        }
        total += n;
      }
      assert.ok(ended > 0, 'logged connections ended during the fuzz');
      frozen.forEach((r, k) => assert.equal(hashRegion(h, r.base, r.size), frozenHash[k], `table ${k} changed`));
      assert.deepEqual(hostOwnedState(h), hostBefore, 'the host\'s fields of header, services, real servers and LIPs unchanged');
      // held fragments leave released, or as a counted drop (timed out, or refused at release)
      h.core.sweep(0, 16, now + 60_000);
      const dropped = h.tables.stat(abi.STAT_DROPPED) - dropStats0;
      const released = h.tables.stat(abi.STAT_FRAG_RELEASED);
      assert.equal(h.tables.header(abi.HDR_HOLD_WAITING), 0);
      assert.equal(dropped, BigInt(verdicts[0] + verdicts[3]) - released, 'every drop counted');
      assert.ok(verdicts[3] > 0 && h.tables.stat(abi.STAT_FRAG_HITS) > 0n, `held ${verdicts[3]}`);
      const byReason = Object.values(h.tables.drops()).reduce((a, b) => a + b, 0n);
      assert.equal(byReason, h.tables.stat(abi.STAT_DROPPED), 'drops by reason add up');
      assert.equal(h.tables.stat(abi.STAT_RX_PACKETS), BigInt(total));
      assert.ok(verdicts[1] > 1000 && verdicts[2] > 100, `forwarded ${verdicts[1]}, host ${verdicts[2]}`);
      // the paths that grow frames ran
      const grown = [abi.STAT_TOA_ADDED, abi.STAT_PROXY_SENT].map((x) => h.tables.stat(x));
      assert.ok(grown.every((x) => x > 0n), `TOA added ${grown[0]}, PROXY headers sent ${grown[1]}`);
      // the IPv6 SYN proxy answered SYNs (service 15 answers every one with a cookie)
      assert.ok(h.tables.serviceSyns(15) > 0n, 'SYNs to the IPv6 SYN-proxy service');
      // the session table is still consistent: sweeping everything away leaves no residue
      h.core.sweep(0, 1 << 20, now + 10_000_000);
      h.core.sweep(0, 1 << 20, now + 20_000_000);
      assert.equal(h.tables.sessionCount(), 0);
      for (let rs = 0; rs < 17; rs++) assert.ok(h.tables.rsIdle(rs), `rs ${rs} counters back to 0`);
      assert.equal(h.tables.embryonic().count, 0, 'the embryonic count back to 0');
      assert.ok(h.tables.stat(abi.STAT_COOKIES_SENT) > 100n && h.tables.stat(abi.STAT_COOKIES_FAILED) > 100n);
      for (let l = 0; l < 4; l++) assert.equal(h.tables.lipUsage(l).used, 0, `LIP ${l} ports back`);
    });
  });
}

const PROXY_FRAMES: Record<string, number> = { release: 200_000, debug: 40_000 };

/**
 * proxyFuzz opens proxied sessions and throws mutated segments at them. `synced`: the sessions
 * are opened on a master core and imported into a second one from its events (a quarter of the
 * records with random extension bytes, as a peer might send), and the second core is fuzzed.
 */
function proxyFuzz(flavour: (typeof FLAVOURS)[number], synced: boolean): void {
  const director = () => {
    const d = new CoreHarness(flavour, { sessions: 1024, slotCount: 64, connExt: true }).standard();
    d.service(0, { forwarding: 'nat', synProxy: 'on' }, [realServerEntry(0)]);
    d.service(1, { forwarding: 'fullnat', port: 81, synProxy: 'on' }, [realServerEntry(1)], 1);
    d.tables.setCookieKeys(5, new Uint8Array(abi.COOKIE_KEYS_SIZE).fill(9));
    return d;
  };
  const master = director();
  if (synced) master.tables.setOptions(abi.OPT_EVENTS);
  let h = master;
  const rand = rng(0xc00c1e + (flavour === 'debug' ? 1 : 0));
  const be = (v: number) => [(v >>> 24) & 255, (v >>> 16) & 255, (v >>> 8) & 255, v & 255];
  // open 40 sessions through the proxy; the server answers half of them
  const tuples: { sport: number; dport: number; rsSrc: string; rsDst: string; rsPort: number; rip: string }[] = [];
  for (let k = 0; k < 40; k++) {
    const dport = k % 2 ? 81 : 80;
    const opts = [2, 4, 5, 180, 4, 2, 8, 10, ...be(k), 0, 0, 0, 0, 1, 3, 3, k % 15];
    const sa = decodeFrame(h.one(ethernet(DEV0_MAC, CLIENT_MAC, tcpPacket({ src: CIP, dst: VIP }, { sport: 3000 + k, dport, flags: 'S', seq: k * 1000, options: opts })), 1).out, true).ip!;
    const ts = [1, 1, 8, 10, ...be(k + 1), ...sa.tcp!.options!.subarray(8, 12)];
    const syn = decodeFrame(h.one(ethernet(DEV0_MAC, CLIENT_MAC, tcpPacket({ src: CIP, dst: VIP }, {
      sport: 3000 + k, dport, flags: 'A', seq: k * 1000 + 1, ack: (sa.tcp!.seq! + 1) >>> 0, options: ts,
    })), 2).out, true).ip!;
    assert.equal(syn.tcp!.flags, 2, `session ${k} opened`);
    const rip = syn.dst;
    tuples.push({ sport: 3000 + k, dport, rsSrc: rip, rsDst: syn.src, rsPort: syn.tcp!.sport, rip });
    if (k < 20) {
      const r = h.one(ethernet(DEV1_MAC, RS_MACS[k % 2], tcpPacket({ src: rip, dst: syn.src }, {
        sport: 8080, dport: syn.tcp!.sport, flags: 'SA', seq: 0xfffffff0 - k, ack: k * 1000 + 1,
        options: [2, 4, 5, 180, 1, 1, 8, 10, ...be(7), ...be(k + 1), 1, 3, 3, 2],
      })), 3, { dev: 1 });
      assert.equal(r.verdict, abi.VERDICT_FORWARD);
    }
  }
  if (synced) {
    h = director();
    const records: Uint8Array[] = [];
    master.tables.drainEvents((raw) => records.push(raw));
    assert.equal(records.length, 60, 'each session created, half of them established');
    for (const r of records) {
      if (rand() % 4 === 0) {
        for (let j = abi.EVT_CONNX; j < abi.EVT_SIZE; j++) r[j] = rand() & 0xff;
        for (let j = 0; j < 4; j++) r[abi.EVT_PROXY_MARK + j] = rand() & 0xff;
      }
      const res = h.tables.importSession(r, 3);
      assert.ok(res >= abi.SYNC_CREATED && res <= abi.SYNC_NO_CONNX, `import result ${res}`);
    }
    assert.ok(h.tables.sessionCount() >= 30, `${h.tables.sessionCount()} sessions imported`);
  }
  const n = h.layout.caps.slotCount;
  let total = 0;
  let now = 4;
  const verdicts = [0, 0, 0];
  while (total < PROXY_FRAMES[flavour] / (synced ? 2 : 1)) {
    const frames: Uint8Array[] = [];
    for (let i = 0; i < n; i++) {
      const t = tuples[rand() % tuples.length];
      const flags = ['A', 'PA', 'SA', 'R', 'RA', 'FA', 'S', ''][rand() % 8];
      const kinds = [1, 5, 8, 10, 2, 4, 3];
      const opt = () => (rand() % 3 === 0 ? rand() & 0xff : kinds[rand() % 7]);
      const opts = Array.from({ length: (rand() % 11) * 4 }, opt);
      const payload = new Uint8Array(rand() % 3 === 0 ? rand() % 300 : 0);
      const fromRs = (rand() & 1) === 1;
      const rest = { flags, seq: rand(), ack: rand(), window: rand() & 0xffff, options: opts, payload };
      const pkt = fromRs
        ? ethernet(DEV1_MAC, RS_MACS[0],
          tcpPacket({ src: t.rsSrc, dst: t.rsDst }, { sport: 8080, dport: t.rsPort, ...rest }))
        : ethernet(DEV0_MAC, CLIENT_MAC,
          tcpPacket({ src: CIP, dst: VIP }, { sport: t.sport, dport: t.dport, ...rest }));
      const flips = rand() % 3;
      for (let k = 0; k < flips; k++) pkt[14 + 20 + (rand() % (pkt.length - 34))] = rand() & 0xff;
      frames.push(pkt);
    }
    now += 1 + (rand() % 500);
    const results = h.run(frames, now, { dev: rand() & 1 });
    for (const r of results) verdicts[r.verdict]++;
    assert.ok(h.emitted.length <= h.layout.caps.emitSlots);
    for (const e of h.emitted) {
      const ip = decodeFrame(e.out, true).ip!;
      assert.ok(allChecksumsOk(ip), 'an emitted ACK carries valid checksums');
      assert.equal(ip.tcp!.flags, 0x10);
    }
    total += n;
  }
  const byReason = Object.values(h.tables.drops()).reduce((a, b) => a + b, 0n);
  assert.equal(byReason, h.tables.stat(abi.STAT_DROPPED), 'drops by reason add up');
  assert.ok(verdicts[1] > 1000, `forwarded ${verdicts[1]}`);
  h.core.sweep(0, 1 << 20, now + 10_000_000);
  assert.equal(h.tables.sessionCount(), 0);
  assert.ok(h.tables.rsIdle(0) && h.tables.rsIdle(1));
  assert.equal(h.tables.lipUsage(0).used + h.tables.lipUsage(1).used, 0);
}

for (const flavour of FLAVOURS) {
  describe(`SYN proxy fuzz (${flavour})`, () => {
    it(`${PROXY_FRAMES[flavour]} mutated segments of proxied sessions, pending and established: no trap, checksummed emits`,
      () => proxyFuzz(flavour, false));
    it(`${PROXY_FRAMES[flavour] / 2} of proxied sessions a backup imported, some with random extension bytes: the same`,
      () => proxyFuzz(flavour, true));
  });
}
