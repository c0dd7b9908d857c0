// auth.ts — what makes the links between two wlvs directors speak only for them: every
// datagram carries a trailer with the sender's incarnation, a sequence number, its clock and an
// HMAC-SHA-256-128 (RFC 4868 §2.3: the first 128 bits of HMAC-SHA-256) over all of it, under a
// key both read from a file. The receiver drops what does not verify, and what it has seen
// before (an anti-replay window per peer and stream, as IPsec's, RFC 4303 §3.4.3).
//
//  trailer (TRAILER_SIZE = 36 B), appended to the datagram it protects:
//  │ +0 "WLVA" │ +4 u64 incarnation (sender's start, ms since 1970) │ +12 u32 sequence │
//  │ +16 u32 time (sender's clock, s since 1970) │ +20 HMAC-SHA-256-128 (16 B)            │
//
// The MAC covers a stream tag (sync link and VRRP never accept each other's datagrams), the
// context the caller names (VRRP: source and destination address), the datagram and the
// trailer's first 20 bytes. An incarnation older than the last one seen from a peer is a
// replay; a newer one (the peer restarted), or the first from a peer after we started, must
// carry a time within `windowS` of our clock, so an old capture cannot open a new session.
// Within one incarnation, a sequence number at or below the window's left edge, or seen inside
// it, is a replay.
import { createHmac, timingSafeEqual } from 'node:crypto';
import { readFileSync, statSync } from 'node:fs';
import { WlvsError } from '../errors.js';

export const TRAILER_SIZE = 36;
const TAG = 0x41564c57; // "WLVA" little-endian
const MAC_LEN = 16;
/** sequence numbers a peer may reorder by and still be accepted */
const WINDOW = 64;
/** the least key length: 128 bits, as RFC 4868 §2.1.2 asks of HMAC-SHA-256 keys */
export const MIN_KEY_BYTES = 16;

export type Stream = 'sync' | 'vrrp';
export type OpenResult = 'ok' | 'unauthenticated' | 'replayed' | 'stale';

/**
 * loadKey reads an HMAC key: the file's bytes, without one trailing newline, at least 16 of
 * them. It refuses a file others can read or write: the key is the link's only secret.
 */
export function loadKey(path: string): Buffer {
  let raw: Buffer;
  try {
    raw = readFileSync(path);
    if (statSync(path).mode & 0o077) {
      throw new WlvsError('WLVS_ERR_CONFIG_INVALID', `auth key ${path} is readable or writable by others: chmod 600 it`);
    }
  } catch (err) {
    if (WlvsError.is(err)) throw err;
    throw new WlvsError('WLVS_ERR_CONFIG_INVALID', `cannot read auth key ${path}: ${(err as Error).message}`);
  }
  const key = raw.at(-1) === 0x0a ? raw.subarray(0, raw.length - 1) : raw;
  if (key.length < MIN_KEY_BYTES) {
    throw new WlvsError('WLVS_ERR_CONFIG_INVALID',
      `auth key ${path} has ${key.length} bytes, at least ${MIN_KEY_BYTES} are needed (e.g. head -c 32 /dev/urandom > ${path})`);
  }
  return key;
}

interface PeerState { incarnation: bigint; highest: number; seen: bigint }

/** Authenticator seals what this director sends and opens what its peers send. */
export class Authenticator {
  #key: Buffer;
  #incarnation: bigint;
  #next: Record<Stream, number> = { sync: 1, vrrp: 1 };
  #peers = new Map<string, PeerState>();
  #windowS: number;
  #clock: () => number;

  /** `clock` returns milliseconds since 1970 (injected for tests). */
  constructor(key: Buffer, o: { windowS?: number; clock?: () => number } = {}) {
    this.#key = key;
    this.#clock = o.clock ?? Date.now;
    this.#incarnation = BigInt(Math.floor(this.#clock()));
    this.#windowS = o.windowS ?? 30;
  }

  /** seal returns the trailer for `datagram` sent on `stream`, bound to `context`. */
  seal(stream: Stream, context: Uint8Array, datagram: Uint8Array): Buffer {
    const t = Buffer.alloc(TRAILER_SIZE);
    t.writeUInt32LE(TAG, 0);
    t.writeBigUInt64LE(this.#incarnation, 4);
    t.writeUInt32LE(this.#next[stream], 12);
    // a sender that outlives 2^32 datagrams on one stream starts a new incarnation
    if (++this.#next[stream] > 0xffffffff) {
      this.#incarnation++;
      this.#next[stream] = 1;
    }
    t.writeUInt32LE(Math.floor(this.#clock() / 1000) >>> 0, 16);
    this.#mac(stream, context, datagram, t.subarray(0, 20)).copy(t, 20);
    return t;
  }

  /**
   * open checks `trailer` for `datagram` from `peer` (an address the caller trusts to name the
   * sender's state slot, e.g. "10.0.0.2:8848"); 'ok' moves that peer's window forward.
   */
  open(stream: Stream, peer: string, context: Uint8Array, datagram: Uint8Array, trailer: Uint8Array): OpenResult {
    if (trailer.length !== TRAILER_SIZE) return 'unauthenticated';
    const t = Buffer.from(trailer.buffer, trailer.byteOffset, trailer.byteLength);
    if (t.readUInt32LE(0) !== TAG) return 'unauthenticated';
    const mac = this.#mac(stream, context, datagram, t.subarray(0, 20));
    if (!timingSafeEqual(mac, t.subarray(20, 20 + MAC_LEN))) return 'unauthenticated';
    const incarnation = t.readBigUInt64LE(4);
    const seq = t.readUInt32LE(12);
    const time = t.readUInt32LE(16);
    const slot = `${stream}/${peer}`;
    const st = this.#peers.get(slot);
    if (!st || incarnation > st.incarnation) {
      // a peer we know nothing of, or one that restarted: only a fresh datagram starts a window
      if (Math.abs(time - this.#clock() / 1000) > this.#windowS) return 'stale';
      this.#peers.set(slot, { incarnation, highest: seq, seen: 1n });
      return 'ok';
    }
    if (incarnation < st.incarnation) return 'replayed';
    if (seq > st.highest) {
      const shift = seq - st.highest;
      st.seen = shift >= WINDOW ? 1n : ((st.seen << BigInt(shift)) | 1n) & ((1n << BigInt(WINDOW)) - 1n);
      st.highest = seq;
      return 'ok';
    }
    const back = st.highest - seq;
    if (back >= WINDOW) return 'replayed';
    const bit = 1n << BigInt(back);
    if (st.seen & bit) return 'replayed';
    st.seen |= bit;
    return 'ok';
  }

  #mac(stream: Stream, context: Uint8Array, datagram: Uint8Array, head: Uint8Array): Buffer {
    const h = createHmac('sha256', this.#key);
    h.update(`wlvs-${stream}\0`);
    h.update(context);
    h.update(datagram);
    h.update(head);
    return h.digest().subarray(0, MAC_LEN);
  }
}
