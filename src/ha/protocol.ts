// protocol.ts — the datagrams two wlvs directors exchange on their session-sync link (UDP):
//   +0 "WLVS" │ +4 u8 version │ +5 u8 type │ +6 u8 group │ +7 u8 priority │ +8 u16 count │ +10 u16 0
// type 2 = sessions: `count` event records of EVT_SIZE bytes follow, exactly as the sending core
// wrote them (assembly/abi.ts), at most SESSIONS_PER_DATAGRAM; type 3 = a backup asks for the
// whole session table (count 0). Every datagram ends with auth.ts's trailer (TRAILER_SIZE bytes:
// incarnation, sequence, time, HMAC-SHA-256-128); the election is VRRP's (vrrp.ts), not this
// link's. Version 1 (unauthenticated, with its own adverts) is not spoken any more; version 2
// carried 48-byte records (IPv4 only), version 3 EVT_SIZE = 128 (IPv6 addresses at 48..111);
// version 4 has the same size, with the session's stream translation (SYN-proxy and PROXY-header
// sequence deltas, timestamp delta, flags) at 112..127 and the PROXY mark at 44. A v3 record
// would install a proxied session untranslated, so a director of any older version is refused
// by the version byte (counted as malformed, logged with the version it speaks).
// Between the members of a cluster (src/cluster/sync.ts) the same datagrams run from every
// member to every other, with two more types (4 hello, 5 bulk done); the group byte is then
// the cluster's and the priority byte the sender's member number.
import * as abi from '../dataplane/abi.js';
import { TRAILER_SIZE } from './auth.js';

export const VERSION = 4;
export const TYPE_SESSIONS = 2;
export const TYPE_SYNC_REQUEST = 3;
/** cluster members (src/cluster/sync.ts): "I am alive" every half second (count 0) */
export const TYPE_HELLO = 4;
/** cluster members: the bulk transfer a member asked for is complete (count 0) */
export const TYPE_SYNC_DONE = 5;
export const HEADER = 12;
/** records per datagram: header, records and trailer stay under a 1500-byte MTU */
export const SESSIONS_PER_DATAGRAM = Math.floor((1400 - HEADER - TRAILER_SIZE) / abi.EVT_SIZE);
const MAGIC = 0x53564c57; // "WLVS" read little-endian

export interface Message {
  type: number;
  group: number;
  priority: number;
  /** session records (type 2), each EVT_SIZE bytes */
  records: Uint8Array[];
}

function header(type: number, group: number, priority: number, count: number): Buffer {
  const b = Buffer.alloc(HEADER + count * abi.EVT_SIZE);
  b.writeUInt32LE(MAGIC, 0);
  b[4] = VERSION;
  b[5] = type;
  b[6] = group;
  b[7] = priority;
  b.writeUInt16LE(count, 8);
  return b;
}

export function encodeSyncRequest(group: number, priority: number): Buffer {
  return header(TYPE_SYNC_REQUEST, group, priority, 0);
}

/** encodeControl: a datagram without records (TYPE_SYNC_REQUEST, TYPE_HELLO, TYPE_SYNC_DONE) */
export function encodeControl(type: number, group: number, priority: number): Buffer {
  return header(type, group, priority, 0);
}

/** encodeSessions packs records into as many datagrams (without trailer) as they need */
export function encodeSessions(group: number, priority: number, records: Uint8Array[]): Buffer[] {
  const out: Buffer[] = [];
  for (let i = 0; i < records.length; i += SESSIONS_PER_DATAGRAM) {
    const chunk = records.slice(i, i + SESSIONS_PER_DATAGRAM);
    const b = header(TYPE_SESSIONS, group, priority, chunk.length);
    chunk.forEach((r, k) => b.set(r, HEADER + k * abi.EVT_SIZE));
    out.push(b);
  }
  return out;
}

/** decode returns the message (its trailer already checked and cut off), or why it is not one */
export function decode(b: Uint8Array): Message | { error: string } {
  if (b.length < HEADER) return { error: 'short datagram' };
  const v = new DataView(b.buffer, b.byteOffset, b.byteLength);
  if (v.getUint32(0, true) !== MAGIC) return { error: 'not a wlvs datagram' };
  if (b[4] !== VERSION) {
    return { error: `protocol version ${b[4]}, this director speaks ${VERSION}: run the same wlvs release on both` };
  }
  const type = b[5];
  const count = v.getUint16(8, true);
  if (type === TYPE_SYNC_REQUEST || type === TYPE_HELLO || type === TYPE_SYNC_DONE) {
    if (count !== 0 || b.length !== HEADER) return { error: 'malformed control datagram' };
    return { type, group: b[6], priority: b[7], records: [] };
  }
  if (type !== TYPE_SESSIONS) return { error: `unknown type ${type}` };
  if (count === 0 || count > SESSIONS_PER_DATAGRAM || b.length !== HEADER + count * abi.EVT_SIZE) {
    return { error: 'malformed session datagram' };
  }
  const records: Uint8Array[] = [];
  // copies into plain Uint8Arrays: the importer writes into them, the datagram buffer is reused
  for (let k = 0; k < count; k++) {
    const at = HEADER + k * abi.EVT_SIZE;
    records.push(new Uint8Array(b.subarray(at, at + abi.EVT_SIZE)));
  }
  return { type, group: b[6], priority: b[7], records };
}
