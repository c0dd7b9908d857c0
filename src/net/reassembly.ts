// reassembly.ts — the host stack's own IP reassembly and fragmentation (RFC 791 §3.2, RFC 8200
// §4.5), for the rare packets addressed to the director itself that come in fragments (a large
// ping to a VIP) and for its answers that exceed the MTU. The data path never reassembles (it
// forwards fragments as they come, assembly/frag.ts); this is bounded in datagrams, bytes and time.

const MAX_DATAGRAMS = 16;
const MAX_BYTES = 65535;
const TIMEOUT_MS = 2000;

interface Part { off: number; data: Uint8Array; more: boolean }
interface Pending { head: Uint8Array; parts: Part[]; started: number; bytes: number }
interface Fragment { key: string; off: number; more: boolean; hlen: number; v6: boolean; nh: number }

/** fragment fields of an IPv4 packet, or of an IPv6 packet whose first extension header is a fragment header */
function fragmentOf(ip: Uint8Array): Fragment | null {
  if (ip.length < 20) return null;
  if (ip[0] >> 4 === 4) {
    const ihl = (ip[0] & 15) * 4;
    const f = (ip[6] << 8) | ip[7];
    if ((f & 0x3fff) === 0) return null;
    return { key: `4/${ip.subarray(12, 20).join('.')}/${(ip[4] << 8) | ip[5]}/${ip[9]}`, off: (f & 0x1fff) * 8, more: (f & 0x2000) !== 0, hlen: ihl, v6: false, nh: ip[9] };
  }
  if (ip[0] >> 4 === 6 && ip.length >= 48 && ip[6] === 44) {
    const f = (ip[42] << 8) | ip[43];
    return { key: `6/${ip.subarray(8, 40).join('.')}/${ip.subarray(44, 48).join('.')}`, off: f & 0xfff8, more: (f & 1) !== 0, hlen: 48, v6: true, nh: ip[40] };
  }
  return null;
}

function ipv4Checksum(h: Uint8Array): number {
  let sum = 0;
  for (let i = 0; i < h.length; i += 2) sum += (h[i] << 8) | h[i + 1];
  while (sum > 0xffff) sum = (sum & 0xffff) + (sum >>> 16);
  return ~sum & 0xffff;
}

/** Reassembler collects the fragments of packets for the host; add() returns a whole packet when there is one */
export class Reassembler {
  #pending = new Map<string, Pending>();
  #now: () => number;

  constructor(now: () => number) {
    this.#now = now;
  }

  /**
   * add returns `frame` itself when it is not a fragment, the reassembled frame (the first
   * fragment's link header, one IP header) when `frame` completed a packet, or null.
   */
  add(frame: Uint8Array, l2: boolean): Uint8Array | null {
    const at = l2 ? 14 : 0;
    const ip = frame.subarray(at);
    const fr = fragmentOf(ip);
    if (!fr) return frame;
    const now = this.#now();
    for (const [k, p] of this.#pending) if (now - p.started > TIMEOUT_MS) this.#pending.delete(k);
    const tot = fr.v6 ? 40 + ((ip[4] << 8) | ip[5]) : (ip[2] << 8) | ip[3];
    if (tot > ip.length || tot < fr.hlen) return null;
    const data = ip.slice(fr.hlen, tot);
    let p = this.#pending.get(fr.key);
    if (!p) {
      if (this.#pending.size >= MAX_DATAGRAMS) return null;
      p = { head: new Uint8Array(0), parts: [], started: now, bytes: 0 };
      this.#pending.set(fr.key, p);
    }
    if (fr.off === 0) p.head = frame.slice(0, at + fr.hlen);
    p.parts.push({ off: fr.off, data, more: fr.more });
    p.bytes += data.length;
    if (p.bytes > MAX_BYTES) {
      this.#pending.delete(fr.key);
      return null;
    }
    // complete: a first fragment, a last one, and no hole between
    const parts = [...p.parts].sort((a, b) => a.off - b.off);
    if (!p.head.length || parts[parts.length - 1].more) return null;
    let end = 0;
    for (const q of parts) {
      if (q.off > end) return null;
      end = Math.max(end, q.off + q.data.length);
    }
    this.#pending.delete(fr.key);
    const hl = fr.v6 ? 40 : p.head.length - at;
    const out = new Uint8Array(at + hl + end);
    out.set(p.head.subarray(0, at + hl), 0);
    for (const q of parts) out.set(q.data, at + hl + q.off);
    const o = out.subarray(at);
    if (fr.v6) {
      o[4] = end >> 8;
      o[5] = end & 0xff;
      o[6] = fr.nh;
    } else {
      const total = hl + end;
      o[2] = total >> 8;
      o[3] = total & 0xff;
      o[6] &= 0x40;
      o[7] = 0;
      o[10] = 0;
      o[11] = 0;
      const c = ipv4Checksum(o.subarray(0, hl));
      o[10] = c >> 8;
      o[11] = c & 0xff;
    }
    return out;
  }
}

let nextId = 0x5a5a0000;

/**
 * fragmentPacket splits a frame whose IP packet exceeds `mtu` into fragments that fit (IPv4
 * without DF; IPv6 with a fragment header after the fixed header). A packet that fits, or an
 * IPv4 one with DF, comes back alone.
 */
export function fragmentPacket(frame: Uint8Array, l2: boolean, mtu: number): Uint8Array[] {
  const at = l2 ? 14 : 0;
  const ip = frame.subarray(at);
  if (ip.length <= mtu) return [frame];
  const v6 = ip[0] >> 4 === 6;
  if (!v6 && (ip[6] & 0x40)) return [frame];
  const hl = v6 ? 40 : (ip[0] & 15) * 4;
  const body = ip.subarray(hl);
  const room = Math.floor((mtu - hl - (v6 ? 8 : 0)) / 8) * 8;
  const id = (nextId = (nextId + 1) >>> 0);
  const out: Uint8Array[] = [];
  for (let off = 0; off < body.length; off += room) {
    const chunk = body.subarray(off, Math.min(off + room, body.length));
    const more = off + room < body.length;
    const f = new Uint8Array(at + hl + (v6 ? 8 : 0) + chunk.length);
    f.set(frame.subarray(0, at + hl), 0);
    const o = f.subarray(at);
    if (v6) {
      const plen = 8 + chunk.length;
      o[4] = plen >> 8;
      o[5] = plen & 0xff;
      o[6] = 44;
      o[40] = ip[6];
      o[42] = (off >> 8) & 0xff;
      o[43] = (off & 0xf8) | (more ? 1 : 0);
      new DataView(o.buffer, o.byteOffset).setUint32(44, id);
      o.set(chunk, 48);
    } else {
      const total = hl + chunk.length;
      o[2] = total >> 8;
      o[3] = total & 0xff;
      const fo = (more ? 0x2000 : 0) | (off / 8);
      o[6] = fo >> 8;
      o[7] = fo & 0xff;
      o[10] = 0;
      o[11] = 0;
      const c = ipv4Checksum(o.subarray(0, hl));
      o[10] = c >> 8;
      o[11] = c & 0xff;
      o.set(chunk, hl);
    }
    out.push(f);
  }
  return out;
}
