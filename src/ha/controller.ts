// controller.ts — failover: the VRRP election (election.ts) with its advertisements on a
// device (vrrp.ts), the master role's effects (the director answers ARP for VIPs, LIPs and
// virtual addresses and announces them by gratuitous ARP), and, between two wlvs directors,
// session sync as IPVS's sync daemon does it over an authenticated UDP link: the master sends
// every session it creates and every TCP state change; the backup imports them, so a takeover
// keeps established connections on their real servers. Two bulk transfers cover what that
// stream cannot: a backup that hears a master it had not heard asks for the whole table, and a
// master demoted by a higher priority hands its table to the new master.
// A keepalived peer speaks the VRRP side only; no session sync runs then.
import { createSocket, type Socket } from 'node:dgram';
import * as abi from '../dataplane/abi.js';
import { type EventView, eventView } from '../dataplane/tables.js';
import type { Logger } from '../log.js';
import type { HaSpec } from '../model/spec.js';
import { Authenticator, type OpenResult, TRAILER_SIZE, loadKey } from './auth.js';
import { Election, type HaState, type Timers } from './election.js';
import { SESSIONS_PER_DATAGRAM, TYPE_SYNC_REQUEST, decode, encodeSessions, encodeSyncRequest } from './protocol.js';
import { VrrpEndpoint, type VrrpStats } from './vrrp.js';
import { virtualMac } from './vrrp-packet.js';

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
  /** the VRRP device's MAC and first address */
  vrrpSelf(): { mac: string; address: string };
  /** the addresses that move with the master role, in advertisement order */
  movingAddresses(): string[];
  /** a unicast peer's MAC on the VRRP device, null while unresolved */
  peerMac(address: string): string | null;
  /** write a frame to the VRRP device */
  sendVrrp(frame: Uint8Array): void;
}

export type SyncDropReason = 'foreign' | 'malformed' | Exclude<OpenResult, 'ok'>;

export interface HaStats {
  advertsSent: number; advertsReceived: number; sessionsSent: number; sessionsReceived: number;
  sessionsImported: number; sessionsRefused: number;
  /** of the refused: proxied sessions this director has no extension records for (SYNC_NO_CONNX) */
  sessionsUnrestorable: number;
  sendErrors: number;
  bulkSyncsSent: number; syncRequestsSent: number;
  /** sync datagrams dropped, in total and by reason */
  datagramsRejected: number;
  syncDropped: Record<SyncDropReason, number>;
}

/** how often queued session records go out (the event ring is drained at the same pace) */
const FLUSH_MS = 50;
/** a bulk transfer sends this many records per flush: ~50k sessions a second */
const BULK_PER_FLUSH = SESSIONS_PER_DATAGRAM * 80;
const EMPTY = new Uint8Array(0);

export class HaController {
  #spec: HaSpec;
  readonly stats: HaStats = {
    advertsSent: 0, advertsReceived: 0, sessionsSent: 0, sessionsReceived: 0, sessionsImported: 0,
    sessionsRefused: 0, sessionsUnrestorable: 0, sendErrors: 0, bulkSyncsSent: 0, syncRequestsSent: 0,
    datagramsRejected: 0,
    syncDropped: { foreign: 0, malformed: 0, unauthenticated: 0, replayed: 0, stale: 0 },
  };
  readonly election: Election;
  #host: HaHost;
  #auth: Authenticator | null = null;
  #vrrp: VrrpEndpoint | null = null;
  #socket: Socket | null = null;
  #queue: Uint8Array[] = [];
  #flush: NodeJS.Timeout | null = null;
  #lastAdvertAt = 0;
  #lastMaster: string | null = null;
  /** where a bulk transfer of the session table continues, or null when none runs */
  #bulk: number | null = null;

  /** `timers` and `key` are for tests (a fake clock; a key without a file) */
  constructor(spec: HaSpec, host: HaHost, o: { timers?: Timers; key?: Buffer } = {}) {
    this.#spec = spec;
    this.#host = host;
    if (o.key) this.#auth = new Authenticator(o.key);
    this.election = new Election({
      priority: spec.priority, preempt: spec.preempt, preemptDelayMs: spec.preemptDelayMs,
      advertIntervalMs: spec.advertIntervalMs, version: spec.vrrp.version, initialState: spec.initialState,
      self: host.vrrpSelf().address,
    }, {
      advertise: (priority) => this.#advertise(priority),
      changed: (state, why, previous) => this.#changed(state, why, previous),
    }, o.timers);
    host.onEvent((e) => this.#onEvent(e));
  }

  get spec(): HaSpec {
    return this.#spec;
  }

  get state(): HaState {
    return this.election.state;
  }

  get master(): boolean {
    return this.election.state === 'master';
  }

  /** the virtual router MAC this director uses while master, or null (vrrp.virtual_mac off) */
  get virtualMac(): string | null {
    return this.#spec.vrrp.virtualMac ? virtualMac(this.#spec.group) : null;
  }

  get vrrpStats(): VrrpStats | null {
    return this.#vrrp?.stats ?? null;
  }

  /** start reads the key, binds the sync socket (if there is a link), then runs the election */
  async start(): Promise<void> {
    const s = this.#spec;
    if (!this.#auth && s.authKeyFile) this.#auth = new Authenticator(loadKey(s.authKeyFile));
    const host = this.#host;
    this.#vrrp = new VrrpEndpoint(s.vrrp, s.group, s.advertIntervalMs, this.#auth, {
      log: host.log, self: () => host.vrrpSelf(), addresses: () => host.movingAddresses(),
      peerMac: (a) => host.peerMac(a), send: (f) => host.sendVrrp(f), now: () => Date.now(),
    });
    if (s.listen && s.peer) {
      const sock = createSocket({ type: 'udp4', reuseAddr: false });
      await new Promise<void>((resolve, reject) => {
        sock.once('error', reject);
        sock.bind(s.listen!.port, s.listen!.host, () => {
          sock.off('error', reject);
          resolve();
        });
      });
      sock.on('error', (err) => host.log.warn({ event: 'ha_socket', err: err.message }, 'sync socket error'));
      sock.on('message', (msg, from) => this.#receive(msg, from.address, from.port));
      this.#socket = sock;
      this.#flush = setInterval(() => this.#flushQueue(), FLUSH_MS);
      this.#flush.unref();
    }
    host.log.info({
      event: 'ha_vrrp', vrid: s.group, version: s.vrrp.version, device: s.vrrp.device, auth: s.vrrp.auth,
      to: s.vrrp.unicastPeers.length ? s.vrrp.unicastPeers : ['224.0.0.18'], addresses: host.movingAddresses(),
    }, 'VRRP instance starting');
    this.election.start();
  }

  /** stop resigns mastership (the peer takes over after its skew) and closes the socket */
  async stop(): Promise<void> {
    this.#flushQueue();
    this.election.stop();
    if (this.#flush) clearInterval(this.#flush);
    const s = this.#socket;
    this.#socket = null;
    // let the last session datagrams leave before the socket closes
    if (s) await new Promise<void>((r) => setTimeout(() => s.close(() => r()), 20));
  }

  /** canUpdate says whether `spec` differs from the running one only in what update() applies. */
  canUpdate(spec: HaSpec): boolean {
    const mask = (h: HaSpec) => JSON.stringify({ ...h, priority: 0, preempt: false, preemptDelayMs: 0 });
    return mask(spec) === mask(this.#spec);
  }

  /**
   * update applies what a reload may change without a restart: priority and preemption
   * (anything else is ignored: check canUpdate first).
   */
  update(spec: HaSpec): void {
    if (spec.preempt !== this.#spec.preempt || spec.preemptDelayMs !== this.#spec.preemptDelayMs) {
      this.election.setPreempt(spec.preempt, spec.preemptDelayMs);
    }
    const before = this.#spec.priority;
    this.#spec = spec;
    if (spec.priority !== before) {
      this.#host.log.info({ event: 'ha_priority', from: before, to: spec.priority }, `VRRP priority now ${spec.priority}`);
      this.election.setPriority(spec.priority);
    }
  }

  /** onVrrpFrame takes a VRRP frame the core handed to the host on the VRRP device */
  onVrrpFrame(frame: Uint8Array): void {
    const heard = this.#vrrp?.receive(frame);
    if (!heard) return;
    this.stats.advertsReceived++;
    const now = Date.now();
    const fresh = !this.#lastAdvertAt || now - this.#lastAdvertAt > this.election.masterDownMs ||
      heard.from !== this.#lastMaster;
    this.#lastAdvertAt = now;
    this.#lastMaster = heard.from;
    this.election.onAdvert(heard);
    // a master we had not heard (we just started, or it did): ask for what it carries
    if (fresh && heard.priority > 0 && this.state === 'backup' && this.#syncing) {
      this.#sendSync([encodeSyncRequest(this.#spec.group, this.#spec.priority)], () => this.stats.syncRequestsSent++);
    }
  }

  view(): Record<string, unknown> {
    const s = this.#spec;
    const e = this.election;
    return {
      state: this.state, priority: s.priority, group: s.group, preempt: s.preempt,
      preempt_delay: s.preemptDelayMs / 1000,
      advert_interval: s.advertIntervalMs / 1000,
      vrrp: {
        version: s.vrrp.version, device: s.vrrp.device, checksum: s.vrrp.checksum, auth: s.vrrp.auth,
        to: s.vrrp.unicastPeers.length ? s.vrrp.unicastPeers : ['224.0.0.18'], virtual_mac: this.virtualMac,
        addresses: this.#host.movingAddresses(), master: e.masterAddress, master_priority: e.masterPriority,
        master_advert_interval: e.masterIntervalMs / 1000, stats: this.#vrrp?.stats ?? null,
      },
      peer: s.peer ? `${s.peer.host}:${s.peer.port}` : null,
      since: new Date(e.since).toISOString(), transitions: e.transitions,
      last_advert_ms_ago: this.#lastAdvertAt ? Date.now() - this.#lastAdvertAt : null,
      sync_sessions: s.syncSessions, stats: this.stats,
    };
  }

  get #syncing(): boolean {
    return this.#spec.syncSessions && this.#socket !== null;
  }

  #advertise(priority: number): void {
    if (!this.#vrrp) return;
    const before = this.#vrrp.stats.sent;
    this.#vrrp.advertise(priority);
    this.stats.advertsSent += this.#vrrp.stats.sent - before;
  }

  #changed(state: HaState, why: string, previous: HaState): void {
    this.#host.log.info({ event: 'ha_state', state, why, priority: this.#spec.priority }, `now ${state}`);
    if (state === 'stopped') return;
    this.#host.roleChanged(state === 'master');
    // demoted by a higher priority: the new master has not seen the connections we carry
    if (previous === 'master' && state === 'backup' && this.#syncing) this.#startBulk('handing the table to the new master');
  }

  #startBulk(why: string): void {
    if (this.#bulk !== null) return;
    this.#bulk = 0;
    this.stats.bulkSyncsSent++;
    this.#host.log.info({ event: 'ha_bulk_sync', why }, 'sending the session table to the peer');
  }

  #onEvent(raw: Uint8Array): void {
    if (!this.#syncing || !this.master) return;
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
    this.#sendSync(encodeSessions(this.#spec.group, this.#spec.priority, records), () => undefined);
    this.stats.sessionsSent += records.length;
  }

  #sendSync(datagrams: Buffer[], sent: () => void): void {
    const s = this.#socket;
    const peer = this.#spec.peer;
    if (!s || !peer || !this.#auth) return;
    for (const d of datagrams) {
      s.send(Buffer.concat([d, this.#auth.seal('sync', EMPTY, d)]), peer.port, peer.host, (err) => {
        if (err) this.stats.sendErrors++;
        else sent();
      });
    }
  }

  #reject(reason: SyncDropReason, from: string, detail?: string): void {
    this.stats.syncDropped[reason]++;
    this.stats.datagramsRejected++;
    // one line per reason every 2^k rejections: a flood cannot flood the log
    const n = this.stats.syncDropped[reason];
    if ((n & (n - 1)) === 0) {
      this.#host.log.warn({ event: 'ha_sync_rejected', reason, from, detail, count: n }, `sync datagram from ${from} dropped: ${reason}`);
    }
  }

  #receive(msg: Buffer, address: string, port: number): void {
    const peer = this.#spec.peer!;
    const from = `${address}:${port}`;
    // only the configured peer speaks on this link; what claims to be it must prove it
    if (address !== peer.host || port !== peer.port) return this.#reject('foreign', from);
    if (msg.length < TRAILER_SIZE) return this.#reject('malformed', from, 'shorter than its trailer');
    const body = msg.subarray(0, msg.length - TRAILER_SIZE);
    const verdict = this.#auth!.open('sync', from, EMPTY, body, msg.subarray(msg.length - TRAILER_SIZE));
    if (verdict !== 'ok') return this.#reject(verdict, from);
    const m = decode(body);
    if ('error' in m) return this.#reject('malformed', from, m.error);
    if (m.group !== this.#spec.group) return this.#reject('foreign', from, `group ${m.group}`);
    if (m.type === TYPE_SYNC_REQUEST) {
      // only the master has the table a backup asks for
      if (this.#spec.syncSessions && this.master) this.#startBulk('the peer asked for the session table');
      return;
    }
    this.stats.sessionsReceived += m.records.length;
    if (!this.#spec.syncSessions) return;
    for (const r of m.records) {
      const result = this.#host.importSynced(r, eventView(r));
      if (result === abi.SYNC_CREATED || result === abi.SYNC_UPDATED) {
        this.stats.sessionsImported++;
        continue;
      }
      this.stats.sessionsRefused++;
      if (result === abi.SYNC_NO_CONNX) this.stats.sessionsUnrestorable++;
    }
  }
}
