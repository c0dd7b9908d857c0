// ts-core.ts — the NAT batch routine of the WASM core written in plain TypeScript, over the same
// memory layout, with the same three passes, the same parse checks (lengths, IP header
// checksum, fragments), the same index and records, the same TCP state table and the same
// incremental checksums. It exists only as the benchmark baseline that shows what WASM buys;
// it handles TCP/UDP NAT to a VIP and the replies, and nothing else.
import * as abi from '../../src/dataplane/abi.js';
import type { Layout } from '../../src/dataplane/memory-map.js';

const NEXT_STATE = Uint8Array.from([
  3, 1, 1, 3, 3, 3, 3, 3, 3, 3, 3, 6, 7, 2, 5, 5, 5, 6, 7, 8, 9, 5, 6, 1, 2, 1, 4, 5, 6, 7, 6, 9, 1,
  6, 6, 6, 3, 6, 6, 6, 6, 8, 9, 3, 2, 1, 2, 3, 2, 2, 2, 2, 2, 9, 3, 5, 4, 2, 5, 4, 5, 6, 5, 8, 9, 5,
  1, 1, 2, 1, 4, 5, 6, 7, 8, 1, 1, 6, 6, 2, 6, 6, 5, 6, 6, 6, 6, 6,
]);

const CLASS_DONE = 0;
const CLASS_IN = 1;
const CLASS_OUT = 2;

function flowHash(src: number, dst: number, ports: number, proto: number): number {
  let h = Math.imul(src, 0x9e3779b1);
  h ^= Math.imul((dst << 13) | (dst >>> 19), 0x85ebca77);
  h ^= Math.imul(ports ^ (proto << 8), 0xc2b2ae3d);
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

function fold(sum: number): number {
  sum = (sum & 0xffff) + (sum >>> 16);
  return (sum & 0xffff) + (sum >>> 16);
}

function delta32(from: number, to: number): number {
  return (~from & 0xffff) + ((~from >>> 16) & 0xffff) + (to & 0xffff) + (to >>> 16);
}

/** TsCore processes batches in the slots of a layout the WASM core would also accept. */
export class TsCore {
  #u8: Uint8Array;
  #u16: Uint16Array;
  #u32: Uint32Array;
  #dv: DataView;
  #l: Layout;
  #counters = new Float64Array(abi.STAT_COUNT);
  #svcCounters: Float64Array;
  #rsCounters: Float64Array;
  #scratch: Uint32Array;

  constructor(memory: WebAssembly.Memory, layout: Layout) {
    this.#u8 = new Uint8Array(memory.buffer);
    this.#u16 = new Uint16Array(memory.buffer);
    this.#u32 = new Uint32Array(memory.buffer);
    this.#dv = new DataView(memory.buffer);
    this.#l = layout;
    this.#svcCounters = new Float64Array(layout.caps.services * 5);
    this.#rsCounters = new Float64Array(layout.caps.realServers * 5);
    this.#scratch = new Uint32Array(layout.caps.slotCount * 8);
  }

  #hdr(field: number): number {
    return this.#u32[(abi.HEADER_BASE + field) >>> 2];
  }

  #setHdr(field: number, v: number): void {
    this.#u32[(abi.HEADER_BASE + field) >>> 2] = v;
  }

  #localKind(addr: number): number {
    const base = this.#l.local.base;
    const mask = this.#l.localSlots - 1;
    let i = (Math.imul(addr ^ (addr >>> 16), 0x45d9f3b) >>> 16) & mask;
    for (;;) {
      const a = this.#u32[(base + i * abi.LOCAL_SIZE) >>> 2];
      if (a === addr) return this.#u32[(base + i * abi.LOCAL_SIZE + abi.LOCAL_KIND) >>> 2];
      if (a === 0) return 0;
      i = (i + 1) & mask;
    }
  }

  #service(vip: number, port: number, proto: number): number {
    const base = this.#l.svcIndex.base;
    const mask = this.#l.svcIdxSlots - 1;
    const x = (vip ^ Math.imul(port | (proto << 16), 0x9e3779b1)) >>> 0;
    let i = (Math.imul(x ^ (x >>> 15), 0x2c1b3c6d) >>> 13) & mask;
    for (;;) {
      const e = base + i * abi.SVCIDX_SIZE;
      const v = this.#u32[e >>> 2];
      if (v === 0) return -1;
      if (v === vip && this.#u16[(e + 4) >>> 1] === port && this.#u8[e + 6] === proto) return this.#u32[(e + 8) >>> 2];
      i = (i + 1) & mask;
    }
  }

  /** parse: pass 1 for one frame; returns its class and fills its scratch words */
  #parse(i: number, desc: number, devMac: number): number {
    const u8 = this.#u8;
    const dv = this.#dv;
    const off = this.#u32[(desc + abi.DESC_OFF) >>> 2];
    const len = this.#u32[(desc + abi.DESC_LEN) >>> 2];
    const drop = (reason: number) => {
      u8[desc + abi.DESC_VERDICT] = abi.VERDICT_DROP;
      u8[desc + abi.DESC_REASON] = reason;
      return CLASS_DONE;
    };
    if (len < 14) return drop(abi.DROP_MALFORMED);
    if (dv.getUint16(off + 12, true) !== 0x0008) return drop(abi.DROP_NOT_MINE);
    for (let k = 0; k < 6; k++) if (u8[off + k] !== u8[devMac + k]) return drop(abi.DROP_NOT_MINE);
    const ip = off + 14;
    const rem = len - 14;
    if (rem < 20) return drop(abi.DROP_MALFORMED);
    const vihl = u8[ip];
    if (vihl >> 4 !== 4) return drop(abi.DROP_MALFORMED);
    const ihl = (vihl & 15) << 2;
    const tot = dv.getUint16(ip + 2);
    if (ihl < 20 || ihl > rem || tot < ihl || tot > rem) return drop(abi.DROP_MALFORMED);
    let sum = 0;
    for (let k = 0; k < ihl; k += 2) sum += dv.getUint16(ip + k, true);
    if (fold(sum) !== 0xffff) return drop(abi.DROP_IP_CSUM);
    if (dv.getUint16(ip + 6) & 0x3fff) return drop(abi.DROP_FRAGMENT);
    const proto = u8[ip + 9];
    const src = dv.getUint32(ip + 12, true);
    const dst = dv.getUint32(ip + 16, true);
    const l4 = ip + ihl;
    const l4len = tot - ihl;
    if (proto === 6) {
      if (l4len < 20) return drop(abi.DROP_MALFORMED);
      const doff = (u8[l4 + 12] >> 4) << 2;
      if (doff < 20 || doff > l4len) return drop(abi.DROP_MALFORMED);
    } else if (proto === 17) {
      if (l4len < 8) return drop(abi.DROP_MALFORMED);
    } else {
      return drop(abi.DROP_UNSUPPORTED);
    }
    const ports = dv.getUint32(l4, true);
    const kind = this.#localKind(dst);
    const s = this.#scratch;
    const w = i * 8;
    let cls = CLASS_OUT;
    if (kind & abi.LOCAL_VIP) {
      const svc = this.#service(dst, ports >>> 16, proto);
      if (svc < 0) return drop(abi.DROP_NO_SERVICE);
      s[w + 6] = svc;
      cls = CLASS_IN;
    }
    s[w] = flowHash(src, dst, ports, proto);
    s[w + 1] = ip;
    s[w + 2] = l4;
    s[w + 3] = src;
    s[w + 4] = dst;
    s[w + 5] = ports;
    s[w + 7] = proto | (u8[l4 + 13] << 8) | (cls << 16);
    return cls;
  }

  #lookup(hash: number, src: number, dst: number, ports: number, proto: number): number {
    const base = this.#l.index.base >>> 2;
    const mask = this.#l.idxSlots - 1;
    const cb = this.#l.conns.base;
    const u32 = this.#u32;
    const tag = hash >>> 25;
    let i = hash & mask;
    for (;;) {
      const v = u32[base + i];
      if (v === 0) return 0;
      if (v >>> 25 === tag) {
        const c = cb + ((v & 0xffffff) - 1) * abi.CONN_SIZE;
        if (this.#u8[c + abi.CONN_PROTO] === proto) {
          if ((v & abi.IDX_DIR_OUT) === 0) {
            if (u32[c >>> 2] === src && u32[(c + 4) >>> 2] === dst && u32[(c + 8) >>> 2] === ports) return v;
          } else if (u32[(c + 12) >>> 2] === src && u32[c >>> 2] === dst &&
            ((this.#u16[(c + 16) >>> 1] | (this.#u16[(c + 8) >>> 1] << 16)) >>> 0) === ports) {
            return v;
          }
        }
      }
      i = (i + 1) & mask;
    }
  }

  #insert(hash: number, rec: number, out: boolean): void {
    const base = this.#l.index.base >>> 2;
    const mask = this.#l.idxSlots - 1;
    let i = hash & mask;
    while (this.#u32[base + i] !== 0) i = (i + 1) & mask;
    this.#u32[base + i] = ((hash & 0xfe000000) | (out ? abi.IDX_DIR_OUT : 0) | (rec + 1)) >>> 0;
  }

  #newConn(w: number, desc: number, frame: number, _now: number): number {
    const s = this.#scratch;
    const svc = this.#l.services.base + s[w + 6] * abi.SVC_SIZE;
    const proto = s[w + 7] & 0xff;
    if (proto === 6 && ((s[w + 7] >> 8) & 0x02) === 0) return -abi.DROP_NO_SESSION;
    // rr over the destination list
    const n = this.#u16[(svc + abi.SVC_DEST_COUNT) >>> 1];
    const first = this.#u32[(svc + abi.SVC_DEST_FIRST) >>> 2];
    let rs = -1;
    for (let k = 0; k < n; k++) {
      let cur = this.#u32[(svc + abi.SVC_RR_CURSOR) >>> 2] + 1;
      if (cur >= n) cur = 0;
      this.#u32[(svc + abi.SVC_RR_CURSOR) >>> 2] = cur;
      const cand = this.#u16[(this.#l.destinations.base + 2 * (first + cur)) >>> 1];
      const r = this.#l.realServers.base + cand * abi.RS_SIZE;
      if (this.#u32[(r + abi.RS_WEIGHT) >>> 2] > 0 && (this.#u8[r + abi.RS_FLAGS] & abi.RSF_READY)) {
        rs = cand;
        break;
      }
    }
    if (rs < 0) return -abi.DROP_NO_RS;
    let rec: number;
    const free = this.#hdr(abi.HDR_CONN_FREE);
    if (free !== 0) {
      rec = free - 1;
      this.#setHdr(abi.HDR_CONN_FREE, this.#u32[(this.#l.conns.base + rec * abi.CONN_SIZE + abi.CONN_LINK) >>> 2]);
    } else {
      const high = this.#hdr(abi.HDR_CONN_HIGH);
      if (high >= this.#l.connCap) return -abi.DROP_TABLE_FULL;
      rec = high;
      this.#setHdr(abi.HDR_CONN_HIGH, high + 1);
    }
    this.#setHdr(abi.HDR_CONN_COUNT, this.#hdr(abi.HDR_CONN_COUNT) + 1);
    const c = this.#l.conns.base + rec * abi.CONN_SIZE;
    this.#u8.fill(0, c, c + abi.CONN_SIZE);
    const r = this.#l.realServers.base + rs * abi.RS_SIZE;
    const rportRaw = this.#u16[(r + abi.RS_RPORT) >>> 1];
    const ports = s[w + 5];
    const rport = rportRaw !== 0 ? rportRaw : ports >>> 16;
    const rip = this.#u32[r >>> 2];
    const u32 = this.#u32;
    u32[c >>> 2] = s[w + 3];
    u32[(c + 4) >>> 2] = s[w + 4];
    u32[(c + 8) >>> 2] = ports;
    u32[(c + 12) >>> 2] = rip;
    this.#u16[(c + 16) >>> 1] = rport;
    this.#u16[(c + abi.CONN_RS) >>> 1] = rs;
    this.#u16[(c + abi.CONN_SVC) >>> 1] = s[w + 6];
    this.#u8[c + abi.CONN_PROTO] = proto;
    this.#u8[c + abi.CONN_FLAGS] = abi.CONNF_USED | abi.CONNF_OUT;
    this.#u8.copyWithin(c + abi.CONN_CMAC, frame + 6, frame + 12);
    this.#insert(s[w], rec, false);
    this.#insert(flowHash(rip, s[w + 3], (rport | ((ports & 0xffff) << 16)) >>> 0, proto), rec, true);
    u32[(r + abi.RS_INACTIVE) >>> 2]++;
    this.#svcCounters[s[w + 6] * 5]++;
    this.#rsCounters[rs * 5]++;
    this.#counters[abi.STAT_CONN_CREATED]++;
    return rec;
  }

  #rewrite(ip: number, l4: number, proto: number, src: number, dst: number, ports: number): void {
    const dv = this.#dv;
    const addr = delta32(dv.getUint32(ip + 12, true), src) + delta32(dv.getUint32(ip + 16, true), dst);
    const port = delta32(dv.getUint32(l4, true), ports);
    dv.setUint32(ip + 12, src, true);
    dv.setUint32(ip + 16, dst, true);
    dv.setUint16(ip + 10, ~fold((~dv.getUint16(ip + 10, true) & 0xffff) + addr) & 0xffff, true);
    dv.setUint32(l4, ports, true);
    const p = proto === 6 ? l4 + 16 : l4 + 6;
    const c = dv.getUint16(p, true);
    if (proto === 17 && c === 0) return;
    const n = ~fold((~c & 0xffff) + addr + port) & 0xffff;
    dv.setUint16(p, proto === 17 && n === 0 ? 0xffff : n, true);
  }

  /** processBatch mirrors the WASM export: returns forwarded | host << 16 */
  processBatch(count: number, now: number): number {
    const l = this.#l;
    const u8 = this.#u8;
    const u32 = this.#u32;
    const inDev = this.#hdr(abi.HDR_BATCH_DEV);
    const devMac = l.devices.base + inDev * abi.DEV_SIZE;
    const s = this.#scratch;
    for (let i = 0; i < count; i++) {
      const desc = l.descriptors.base + i * abi.DESC_SIZE;
      u8[desc + abi.DESC_OUT_DEV] = inDev;
      u8[desc + abi.DESC_REASON] = 0;
      const cls = this.#parse(i, desc, devMac);
      s[i * 8 + 7] = (s[i * 8 + 7] & 0xffff) | (cls << 16);
      this.#counters[abi.STAT_RX_BYTES] += u32[(desc + abi.DESC_LEN) >>> 2];
    }
    const idx = l.index.base >>> 2;
    const mask = l.idxSlots - 1;
    let sink = 0;
    for (let i = 0; i < count; i++) if (s[i * 8 + 7] >>> 16) sink ^= u32[idx + (s[i * 8] & mask)];
    this.#setHdr(abi.HDR_SINK, sink);
    let forwarded = 0;
    for (let i = 0; i < count; i++) {
      const desc = l.descriptors.base + i * abi.DESC_SIZE;
      const w = i * 8;
      const cls = s[w + 7] >>> 16;
      if (cls === CLASS_DONE) {
        this.#counters[abi.STAT_DROP_BASE + u8[desc + abi.DESC_REASON]]++;
        continue;
      }
      const proto = s[w + 7] & 0xff;
      const v = this.#lookup(s[w], s[w + 3], s[w + 4], s[w + 5], proto);
      let rec: number;
      let out = false;
      if (v !== 0) {
        rec = (v & 0xffffff) - 1;
        out = (v & abi.IDX_DIR_OUT) !== 0;
      } else if (cls === CLASS_IN) {
        const frame = u32[(desc + abi.DESC_OFF) >>> 2];
        rec = this.#newConn(w, desc, frame, now);
        if (rec < 0) {
          u8[desc + abi.DESC_VERDICT] = abi.VERDICT_DROP;
          u8[desc + abi.DESC_REASON] = -rec;
          this.#counters[abi.STAT_DROP_BASE - rec]++;
          continue;
        }
      } else {
        u8[desc + abi.DESC_VERDICT] = abi.VERDICT_DROP;
        u8[desc + abi.DESC_REASON] = abi.DROP_NOT_OURS;
        this.#counters[abi.STAT_DROP_BASE + abi.DROP_NOT_OURS]++;
        continue;
      }
      const c = l.conns.base + rec * abi.CONN_SIZE;
      const rs = this.#u16[(c + abi.CONN_RS) >>> 1];
      const r = l.realServers.base + rs * abi.RS_SIZE;
      const ip = s[w + 1];
      const l4 = s[w + 2];
      if (proto === 6) {
        const state = u8[c + abi.CONN_STATE];
        const f = (s[w + 7] >> 8) & 0xff;
        const ev = f & 4 ? 3 : f & 2 ? 0 : f & 1 ? 1 : f & 16 ? 2 : 4;
        const next = ev === 4 ? state : NEXT_STATE[((out ? 1 : 0) * 4 + ev) * 11 + state];
        if (next !== state) {
          u8[c + abi.CONN_STATE] = next;
          const active = (u8[c + abi.CONN_FLAGS] & abi.CONNF_ACTIVE) !== 0;
          if (active && next !== abi.TCP_S_ESTABLISHED) {
            u8[c + abi.CONN_FLAGS] &= ~abi.CONNF_ACTIVE;
            u32[(r + abi.RS_ACTIVE) >>> 2]--;
            u32[(r + abi.RS_INACTIVE) >>> 2]++;
          } else if (!active && next === abi.TCP_S_ESTABLISHED) {
            u8[c + abi.CONN_FLAGS] |= abi.CONNF_ACTIVE;
            u32[(r + abi.RS_ACTIVE) >>> 2]++;
            u32[(r + abi.RS_INACTIVE) >>> 2]--;
          }
        }
        u32[(c + abi.CONN_EXPIRES) >>> 2] = (now + this.#hdr(abi.HDR_TIMEOUTS + next * 4)) >>> 0;
      } else {
        u32[(c + abi.CONN_EXPIRES) >>> 2] = (now + this.#hdr(abi.HDR_TIMEOUTS + abi.TO_UDP * 4)) >>> 0;
      }
      const frame = u32[(desc + abi.DESC_OFF) >>> 2];
      let outDev: number;
      if (out) {
        const ports = (this.#u16[(c + abi.CONN_VPORT) >>> 1] | (this.#u16[(c + abi.CONN_CPORT) >>> 1] << 16)) >>> 0;
        this.#rewrite(ip, l4, proto, u32[(c + 4) >>> 2], u32[c >>> 2], ports);
        outDev = u8[c + abi.CONN_CDEV];
        u8.copyWithin(frame, c + abi.CONN_CMAC, c + abi.CONN_CMAC + 6);
      } else {
        const ports = (this.#dv.getUint16(l4, true) | (this.#u16[(c + abi.CONN_RPORT) >>> 1] << 16)) >>> 0;
        this.#rewrite(ip, l4, proto, this.#dv.getUint32(ip + 12, true), u32[(c + 12) >>> 2], ports);
        outDev = u8[r + abi.RS_DEV];
        u8.copyWithin(frame, r + abi.RS_MAC, r + abi.RS_MAC + 6);
      }
      u8.copyWithin(frame + 6, l.devices.base + outDev * abi.DEV_SIZE, l.devices.base + outDev * abi.DEV_SIZE + 6);
      const tot = this.#dv.getUint16(ip + 2);
      const svc = this.#u16[(c + abi.CONN_SVC) >>> 1];
      const k = out ? 2 : 1;
      this.#svcCounters[svc * 5 + k]++;
      this.#svcCounters[svc * 5 + k + 2] += tot;
      this.#rsCounters[rs * 5 + k]++;
      this.#rsCounters[rs * 5 + k + 2] += tot;
      u32[(desc + abi.DESC_LEN) >>> 2] = 14 + tot;
      u8[desc + abi.DESC_OUT_DEV] = outDev;
      u8[desc + abi.DESC_VERDICT] = abi.VERDICT_FORWARD;
      forwarded++;
    }
    this.#counters[abi.STAT_RX_PACKETS] += count;
    this.#counters[abi.STAT_FORWARDED] += forwarded;
    return forwarded;
  }
}
