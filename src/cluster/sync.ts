// sync.ts — session sync among the members of a cluster: IPVS's sync daemon from one peer to N.
// Every member sends the Full-NAT (and NAT) sessions it creates and their TCP state changes to
// every other member, over the authenticated datagrams of the failover link (src/ha/protocol.ts,
// src/ha/auth.ts), so when a member dies the one the router sends its flows to (client side:
// ECMP; server side: the other members announce its local addresses, less preferred) has its
// sessions. Each record says which member owns it (EVT_OWNER: the member whose local address it
// uses). A member says hello every half second; one that hears a member for the first time (it
// just started, or the other did) asks it for its whole table, and holds back its own routes
// until those bulk transfers are done (or SYNC_READY_MS passed), so a restarted member that
// announces its local addresses again already knows the connections behind them.
import { createSocket, type Socket } from 'node:dgram';
import * as abi from '../dataplane/abi.js';
import { type EventView, eventView } from '../dataplane/tables.js';
import { Authenticator, TRAILER_SIZE, loadKey } from '../ha/auth.js';
import {
  SESSIONS_PER_DATAGRAM, TYPE_HELLO, TYPE_SESSIONS, TYPE_SYNC_DONE, TYPE_SYNC_REQUEST, decode, encodeControl,
  encodeSessions,
} from '../ha/protocol.js';
import type { Logger } from '../log.js';
import type { ClusterSpec } from '../model/spec.js';

/** the group byte of every cluster datagram (a failover pair uses its VRRP group, 1..255) */
export const CLUSTER_GROUP = 0;
const HELLO_MS = 500;
/** a member not heard for this long is down */
const MEMBER_DOWN_MS = 2000;
const FLUSH_MS = 20;
/** the longest a starting member waits for the tables it asked for before announcing */
export const SYNC_READY_MS = 3000;
const BULK_PER_FLUSH = SESSIONS_PER_DATAGRAM * 40;

export interface SyncHost {
  log: Logger;
  onEvent(fn: (raw: Uint8Array) => void): void;
  /** patch the record's indices to this director's and import it; a SYNC_* result */
  importSynced(record: Uint8Array, e: EventView): number;
  /** live sessions from record `start` on (Tables.exportSessions) */
  exportSessions(start: number, max: number): { records: Uint8Array[]; next: number | null };
}

interface Member {
  name: string;
  number: number;
  host: string;
  port: number;
  lastHeard: number;
  /** the bulk transfer asked of it is complete (or it was down when we started) */
  done: boolean;
  asked: boolean;
  /** where the bulk transfer it asked of us continues, or null */
  bulk: number | null;
  stats: { sent: number; received: number; imported: number; refused: number; bulks: number };
}

export interface SyncStats {
  recordsSent: number; recordsReceived: number; imported: number; refused: number;
  dropped: Record<'foreign' | 'malformed' | 'unauthenticated' | 'replayed' | 'stale', number>;
  sendErrors: number;
}

/** synced: the forwarding modes whose sessions live only in the director that made them */
const SYNCED = new Set([abi.FWD_FNAT, abi.FWD_NAT]);

export class ClusterSync {
  readonly stats: SyncStats = {
    recordsSent: 0, recordsReceived: 0, imported: 0, refused: 0, sendErrors: 0,
    dropped: { foreign: 0, malformed: 0, unauthenticated: 0, replayed: 0, stale: 0 },
  };
  #spec: ClusterSpec;
  #host: SyncHost;
  #self: { number: number; host: string; port: number };
  #members: Member[];
  #auth: Authenticator | null;
  #socket: Socket | null = null;
  #queue: Uint8Array[] = [];
  #timers: NodeJS.Timeout[] = [];
  #startedAt = 0;
  /** member number + 1 by local address: whose address a session uses says whose it is */
  #ownerOf = new Map<string, number>();

  constructor(spec: ClusterSpec, host: SyncHost, o: { key?: Buffer } = {}) {
    this.#spec = spec;
    this.#host = host;
    const me = spec.members.findIndex((m) => m.name === spec.name);
    const mine = spec.members[me];
    if (!mine?.sync) throw new Error('cluster sync needs this member\'s sync address');
    this.#self = { number: me + 1, host: mine.sync.host, port: mine.sync.port };
    this.#members = spec.members.flatMap((m, i) => (i === me || !m.sync ? [] : [{
      name: m.name, number: i + 1, host: m.sync.host, port: m.sync.port, lastHeard: 0, done: false, asked: false,
      bulk: null,
      stats: { sent: 0, received: 0, imported: 0, refused: 0, bulks: 0 },
    }]));
    spec.members.forEach((m, i) => { for (const a of m.localAddresses) this.#ownerOf.set(a, i + 1); });
    this.#auth = o.key ? new Authenticator(o.key) : null;
    host.onEvent((raw) => this.#onEvent(raw));
  }

  /** start binds the sync socket and says hello to every member. */
  async start(): Promise<void> {
    if (!this.#auth) this.#auth = new Authenticator(loadKey(this.#spec.sync!.authKeyFile));
    const sock = createSocket({ type: 'udp4', reuseAddr: false });
    await new Promise<void>((resolve, reject) => {
      sock.once('error', reject);
      sock.bind(this.#self.port, this.#self.host, () => {
        sock.off('error', reject);
        resolve();
      });
    });
    sock.on('error', (err) => this.#host.log.warn({ event: 'cluster_sync_socket', err: err.message }, 'sync socket error'));
    sock.on('message', (msg, from) => this.#receive(msg, from.address, from.port));
    this.#socket = sock;
    this.#startedAt = Date.now();
    this.#every(FLUSH_MS, () => this.#flush());
    this.#every(HELLO_MS, () => this.#hello());
    this.#hello();
  }

  #every(ms: number, fn: () => void): void {
    const t = setInterval(fn, ms);
    t.unref();
    this.#timers.push(t);
  }

  /**
   * ready: every member that is up has sent the table we asked for, or SYNC_READY_MS passed
   * since the start (a member that never answers must not keep us silent for ever).
   */
  get ready(): boolean {
    if (!this.#startedAt) return false;
    if (Date.now() - this.#startedAt >= SYNC_READY_MS) return true;
    return this.#members.every((m) => m.done);
  }

  #up(m: Member, now = Date.now()): boolean {
    return m.lastHeard > 0 && now - m.lastHeard < MEMBER_DOWN_MS;
  }

  #hello(): void {
    for (const m of this.#members) this.#send(m, [encodeControl(TYPE_HELLO, CLUSTER_GROUP, this.#self.number)]);
  }

  #onEvent(raw: Uint8Array): void {
    const type = raw[abi.EVT_TYPE];
    if (type !== abi.EVT_CREATED && type !== abi.EVT_STATE_CHANGED) return;
    if (!SYNCED.has(raw[abi.EVT_FWD])) return;
    this.#queue.push(this.#stamp(raw));
  }

  /** #stamp writes the owner into a record: the member whose local address it uses, else us */
  #stamp(raw: Uint8Array): Uint8Array {
    const lip = eventView(raw).lip;
    raw[abi.EVT_OWNER] = (lip ? this.#ownerOf.get(lip) : undefined) ?? this.#self.number;
    return raw;
  }

  #flush(): void {
    const now = Date.now();
    const records = this.#queue;
    this.#queue = [];
    for (const m of this.#members) {
      let out = this.#up(m, now) ? records : [];
      if (m.bulk !== null) {
        const { records: table, next } = this.#host.exportSessions(m.bulk, BULK_PER_FLUSH);
        m.bulk = next;
        out = [...out, ...table.filter((r) => SYNCED.has(r[abi.EVT_FWD])).map((r) => this.#stamp(r))];
        if (next === null) {
          this.#send(m, encodeSessions(CLUSTER_GROUP, this.#self.number, out));
          this.#send(m, [encodeControl(TYPE_SYNC_DONE, CLUSTER_GROUP, this.#self.number)]);
          m.stats.sent += out.length;
          this.stats.recordsSent += out.length;
          this.#host.log.info({ event: 'cluster_bulk_sent', member: m.name }, `session table sent to ${m.name}`);
          continue;
        }
      }
      if (!out.length) continue;
      this.#send(m, encodeSessions(CLUSTER_GROUP, this.#self.number, out));
      m.stats.sent += out.length;
      this.stats.recordsSent += out.length;
    }
  }

  #send(m: Member, datagrams: Buffer[]): void {
    const s = this.#socket;
    if (!s || !this.#auth) return;
    // bound to the receiver: a datagram for one member is no good at another
    const context = Buffer.from(`${m.host}:${m.port}`);
    for (const d of datagrams) {
      s.send(Buffer.concat([d, this.#auth.seal('sync', context, d)]), m.port, m.host, (err) => {
        if (err) this.stats.sendErrors++;
      });
    }
  }

  #drop(reason: keyof SyncStats['dropped'], from: string, detail?: string): void {
    const n = ++this.stats.dropped[reason];
    // one line per reason every 2^k drops: a flood cannot flood the log
    if ((n & (n - 1)) === 0) {
      this.#host.log.warn({ event: 'cluster_sync_rejected', reason, from, detail, count: n }, `sync datagram from ${from} dropped: ${reason}`);
    }
  }

  #receive(msg: Buffer, address: string, port: number): void {
    const from = `${address}:${port}`;
    const m = this.#members.find((x) => x.host === address && x.port === port);
    if (!m) return this.#drop('foreign', from);
    if (msg.length < TRAILER_SIZE) return this.#drop('malformed', from, 'shorter than its trailer');
    const body = msg.subarray(0, msg.length - TRAILER_SIZE);
    const verdict = this.#auth!.open('sync', from, Buffer.from(`${this.#self.host}:${this.#self.port}`), body,
      msg.subarray(msg.length - TRAILER_SIZE));
    if (verdict !== 'ok') return this.#drop(verdict, from);
    const d = decode(body);
    if ('error' in d) return this.#drop('malformed', from, d.error);
    if (d.group !== CLUSTER_GROUP || d.priority !== m.number) return this.#drop('foreign', from, `group ${d.group} member ${d.priority}`);
    const now = Date.now();
    const fresh = !this.#up(m, now);
    m.lastHeard = now;
    if (fresh) {
      this.#host.log.info({ event: 'cluster_member', member: m.name, up: true }, `cluster member ${m.name} heard`);
      // a member we had not heard (we just started, or it did): ask for what it holds
      m.asked = true;
      this.#send(m, [encodeControl(TYPE_SYNC_REQUEST, CLUSTER_GROUP, this.#self.number)]);
    }
    if (d.type === TYPE_HELLO) return;
    if (d.type === TYPE_SYNC_REQUEST) {
      if (m.bulk === null) {
        m.bulk = 0;
        m.stats.bulks++;
      }
      return;
    }
    if (d.type === TYPE_SYNC_DONE) {
      if (!m.done) this.#host.log.info({ event: 'cluster_bulk_received', member: m.name, imported: m.stats.imported }, `session table of ${m.name} received`);
      m.done = true;
      return;
    }
    if (d.type !== TYPE_SESSIONS) return;
    m.stats.received += d.records.length;
    this.stats.recordsReceived += d.records.length;
    for (const r of d.records) {
      const result = this.#host.importSynced(r, eventView(r));
      if (result === abi.SYNC_CREATED || result === abi.SYNC_UPDATED) {
        m.stats.imported++;
        this.stats.imported++;
      } else {
        m.stats.refused++;
        this.stats.refused++;
      }
    }
  }

  /** members: each other member's sync state, for status and metrics */
  members(): { name: string; up: boolean; last_heard_ms: number | null; table_received: boolean; stats: Member['stats'] }[] {
    const now = Date.now();
    return this.#members.map((m) => ({
      name: m.name, up: this.#up(m, now), last_heard_ms: m.lastHeard ? now - m.lastHeard : null, table_received: m.done,
      stats: { ...m.stats },
    }));
  }

  /** stop sends what is queued and closes the socket */
  async stop(): Promise<void> {
    for (const t of this.#timers) clearInterval(t);
    this.#flush();
    const s = this.#socket;
    this.#socket = null;
    if (s) await new Promise<void>((r) => setTimeout(() => s.close(() => r()), 20));
  }
}
