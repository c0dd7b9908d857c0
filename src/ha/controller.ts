// controller.ts — failover between two directors: the election (election.ts) over a UDP sync
// link, the master role's effects (answer ARP for VIPs, LIPs and virtual addresses, announce
// them by gratuitous ARP), and session sync as IPVS's sync daemon does it: the master sends
// every session it creates and every TCP state change; the backup imports them, so a takeover
// keeps established connections on their real servers. Two bulk transfers cover what that
// stream cannot: a backup that starts (or meets a new master) asks for the whole table, and a
// master demoted by a higher priority hands its table to the new master.
import { createSocket, type Socket } from 'node:dgram';
import * as abi from '../dataplane/abi.js';
import { type EventView, eventView } from '../dataplane/tables.js';
import type { Logger } from '../log.js';
import type { HaSpec } from '../model/spec.js';
import { Election, type HaState } from './election.js';
import {
  SESSIONS_PER_DATAGRAM, TYPE_ADVERT, TYPE_SYNC_REQUEST, decode, encodeAdvert, encodeSessions, encodeSyncRequest,
} from './protocol.js';

/** What the controller needs of the director. */
export interface HaHost {
  log: Logger;
  onEvent(fn: (raw: Uint8Array) => void): void;
  /** patch the record's indices to this director's and import it; a SYNC_* result, or SYNC_BAD */
  importSynced(record: Uint8Array, e: EventView): number;
  /** the master role was taken (announce the addresses) or given up */
  roleChanged(master: boolean): void;
  /** live connections from record `start` on, at most `max` (see Tables.exportSessions) */
  exportSessions(start: number, max: number): { records: Uint8Array[]; next: number | null };
}

export interface HaStats {
  advertsSent: number; advertsReceived: number; sessionsSent: number; sessionsReceived: number;
  sessionsImported: number; sessionsRefused: number; datagramsRejected: number; sendErrors: number;
  bulkSyncsSent: number; syncRequestsSent: number;
}

/** how often queued session records go out (the event ring is drained at the same pace) */
const FLUSH_MS = 50;
/** a bulk transfer sends this many records per flush: ~50k sessions a second */
const BULK_PER_FLUSH = SESSIONS_PER_DATAGRAM * 80;

export class HaController {
  readonly spec: HaSpec;
  readonly stats: HaStats = {
    advertsSent: 0, advertsReceived: 0, sessionsSent: 0, sessionsReceived: 0, sessionsImported: 0,
    sessionsRefused: 0, datagramsRejected: 0, sendErrors: 0, bulkSyncsSent: 0, syncRequestsSent: 0,
  };
  readonly election: Election;
  #host: HaHost;
  #socket: Socket | null = null;
  #queue: Uint8Array[] = [];
  #flush: NodeJS.Timeout | null = null;
  #lastAdvertAt = 0;
  /** where a bulk transfer of the session table continues, or null when none runs */
  #bulk: number | null = null;

  constructor(spec: HaSpec, host: HaHost) {
    this.spec = spec;
    this.#host = host;
    this.election = new Election({
      priority: spec.priority, preempt: spec.preempt, advertIntervalMs: spec.advertIntervalMs,
      initialState: spec.initialState, self: spec.listen.host,
    }, {
      advertise: (priority) => this.#send([encodeAdvert(spec.group, priority)], () => this.stats.advertsSent++),
      changed: (state, why, previous) => this.#changed(state, why, previous),
    });
    host.onEvent((e) => this.#onEvent(e));
  }

  get state(): HaState {
    return this.election.state;
  }

  get master(): boolean {
    return this.election.state === 'master';
  }

  /** start binds the sync socket, then runs the election */
  async start(): Promise<void> {
    const s = createSocket({ type: 'udp4', reuseAddr: false });
    await new Promise<void>((resolve, reject) => {
      s.once('error', reject);
      s.bind(this.spec.listen.port, this.spec.listen.host, () => {
        s.off('error', reject);
        resolve();
      });
    });
    s.on('error', (err) => this.#host.log.warn({ event: 'ha_socket', err: err.message }, 'sync socket error'));
    s.on('message', (msg, from) => this.#receive(msg, from.address, from.port));
    this.#socket = s;
    this.#flush = setInterval(() => this.#flushQueue(), FLUSH_MS);
    this.#flush.unref();
    this.election.start();
  }

  /** stop resigns mastership (the peer takes over after its skew) and closes the socket */
  async stop(): Promise<void> {
    this.#flushQueue();
    this.election.stop();
    if (this.#flush) clearInterval(this.#flush);
    const s = this.#socket;
    this.#socket = null;
    // let the resignation leave before the socket closes
    if (s) await new Promise<void>((r) => setTimeout(() => s.close(() => r()), 20));
  }

  view(): Record<string, unknown> {
    return {
      state: this.state, priority: this.spec.priority, group: this.spec.group, preempt: this.spec.preempt,
      advert_interval: this.spec.advertIntervalMs / 1000, peer: `${this.spec.peer.host}:${this.spec.peer.port}`,
      since: new Date(this.election.since).toISOString(), transitions: this.election.transitions,
      last_advert_ms_ago: this.#lastAdvertAt ? Date.now() - this.#lastAdvertAt : null,
      sync_sessions: this.spec.syncSessions, stats: this.stats,
    };
  }

  #changed(state: HaState, why: string, previous: HaState): void {
    this.#host.log.info({ event: 'ha_state', state, why, priority: this.spec.priority }, `now ${state}`);
    if (state === 'stopped') return;
    this.#host.roleChanged(state === 'master');
    // demoted by a higher priority: the new master has not seen the connections we carry
    if (previous === 'master' && state === 'backup' && this.spec.syncSessions) this.#startBulk('handing the table to the new master');
  }

  #startBulk(why: string): void {
    if (this.#bulk !== null) return;
    this.#bulk = 0;
    this.stats.bulkSyncsSent++;
    this.#host.log.info({ event: 'ha_bulk_sync', why }, 'sending the session table to the peer');
  }

  #onEvent(raw: Uint8Array): void {
    if (!this.spec.syncSessions || !this.master) return;
    // expiries are not sent: the backup's own timers expire what the master expires
    const type = raw[abi.EVT_TYPE];
    if (type !== abi.EVT_CREATED && type !== abi.EVT_STATE_CHANGED && type !== abi.EVT_TEMPLATE_CREATED) return;
    this.#queue.push(raw);
  }

  #flushQueue(): void {
    if (this.#bulk !== null) {
      const { records, next } = this.#host.exportSessions(this.#bulk, BULK_PER_FLUSH);
      this.#bulk = next;
      this.#queue.push(...records);
    }
    if (!this.#queue.length) return;
    const records = this.#queue;
    this.#queue = [];
    this.#send(encodeSessions(this.spec.group, this.spec.priority, records), () => undefined);
    this.stats.sessionsSent += records.length;
  }

  #send(datagrams: Buffer[], sent: () => void): void {
    const s = this.#socket;
    if (!s) return;
    for (const d of datagrams) {
      s.send(d, this.spec.peer.port, this.spec.peer.host, (err) => {
        if (err) this.stats.sendErrors++;
        else sent();
      });
    }
  }

  #receive(msg: Buffer, address: string, port: number): void {
    // only the configured peer speaks on this link
    if (address !== this.spec.peer.host || port !== this.spec.peer.port) {
      this.stats.datagramsRejected++;
      return;
    }
    const m = decode(msg);
    if ('error' in m || m.group !== this.spec.group) {
      this.stats.datagramsRejected++;
      return;
    }
    if (m.type === TYPE_ADVERT) {
      this.stats.advertsReceived++;
      const now = Date.now();
      const fresh = !this.#lastAdvertAt || now - this.#lastAdvertAt > this.election.masterDownMs;
      this.#lastAdvertAt = now;
      this.election.onAdvert(m.priority, address);
      // a master we had not heard (we just started, or it did): ask for what it carries
      if (fresh && m.priority > 0 && this.state === 'backup' && this.spec.syncSessions) {
        this.#send([encodeSyncRequest(this.spec.group, this.spec.priority)], () => this.stats.syncRequestsSent++);
      }
      return;
    }
    if (m.type === TYPE_SYNC_REQUEST) {
      if (this.spec.syncSessions) this.#startBulk('the peer asked for the session table');
      return;
    }
    this.stats.sessionsReceived += m.records.length;
    if (!this.spec.syncSessions) return;
    for (const r of m.records) {
      const result = this.#host.importSynced(r, eventView(r));
      if (result === abi.SYNC_CREATED || result === abi.SYNC_UPDATED) this.stats.sessionsImported++;
      else this.stats.sessionsRefused++;
    }
  }
}
