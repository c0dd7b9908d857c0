// controller.ts — what a cluster member announces and when. The speaker (speaker.ts) carries it
// out; this decides it from the director's state:
//   VIP           announced while the member is active and one of the VIP's services can take
//                 a new connection (a usable real server or a sorry server);
//   own LIPs      announced while active or draining (the servers' replies to connections this
//                 member translated must keep reaching it);
//   others' LIPs  announced less preferred while active (the router uses them when the owner
//                 is gone; the sessions behind them come by session sync).
// A drain withdraws the VIPs and the backups at once and keeps forwarding what still arrives;
// it ends when nothing was forwarded for `drain.quiet`, when no session is left, or at the
// deadline, and then withdraws the member's own LIPs too. Stopping withdraws everything and
// keeps forwarding for `withdraw_grace` so the router moves the flows before the data path goes.
// The controller also beats the watchdog's heart while the data path is alive.
import type { Logger } from '../log.js';
import type { ClusterSpec } from '../model/spec.js';
import type { Announcement } from './bird-config.js';
import { BirdSpeaker } from './speaker.js';
import type { ClusterSync } from './sync.js';

/** What the controller needs of the director. */
export interface ClusterHost {
  log: Logger;
  /** every VIP of the configuration */
  vips(): string[];
  /** the VIPs whose services can take a new connection now */
  servingVips(): Set<string>;
  /** the Full-NAT local addresses this director allocates from */
  ownLips(): string[];
  /** frames forwarded so far (a drain ends when it stops growing) */
  forwarded(): number;
  /** sessions in the table */
  sessions(): number;
  /** the data path runs (its device loop is started and not stopped) */
  dataPathAlive(): boolean;
}

export type ClusterState = 'starting' | 'active' | 'draining' | 'drained' | 'stopping';

/** the heartbeat period: a few beats fit in the shortest watchdog (0.1 s) */
const BEAT_MS = 25;
/** how often announcements are re-derived (health changes, reloads reach BIRD this fast) */
const EVALUATE_MS = 100;

interface Drain {
  startedAt: number;
  deadlineAt: number;
  quietSince: number;
  forwarded: number;
  endedAt: number | null;
  why: string | null;
}

export class ClusterController {
  readonly spec: ClusterSpec;
  readonly speaker: BirdSpeaker;
  #host: ClusterHost;
  #state: ClusterState = 'starting';
  #since = Date.now();
  #drain: Drain | null = null;
  #timers: NodeJS.Timeout[] = [];
  #listeners: ((state: ClusterState) => void)[] = [];

  /** session sync with the other members (director.cluster.sync), or null */
  readonly sync: ClusterSync | null;

  constructor(spec: ClusterSpec, host: ClusterHost, sync: ClusterSync | null = null, speaker?: BirdSpeaker) {
    this.spec = spec;
    this.#host = host;
    this.sync = sync;
    this.speaker = speaker ?? new BirdSpeaker(spec, host.log);
  }

  get state(): ClusterState {
    return this.#state;
  }

  onState(fn: (state: ClusterState) => void): void {
    this.#listeners.push(fn);
  }

  /** start runs BIRD with nothing announced; ready() starts announcing. */
  async start(): Promise<void> {
    await this.sync?.start();
    await this.speaker.start();
    this.#every(BEAT_MS, () => {
      if (this.#host.dataPathAlive()) this.speaker.heartbeat();
    });
    this.#every(EVALUATE_MS, () => this.evaluate());
    this.speaker.heartbeat();
  }

  #every(ms: number, fn: () => void): void {
    const t = setInterval(fn, ms);
    t.unref();
    this.#timers.push(t);
  }

  /** ready says the director can forward: announcements begin. */
  ready(): void {
    if (this.#state === 'starting') this.#set('active', 'ready');
    this.evaluate();
  }

  #set(state: ClusterState, why: string): void {
    if (state === this.#state) return;
    const from = this.#state;
    this.#state = state;
    this.#since = Date.now();
    this.#host.log.info({ event: 'cluster_state', from, to: state, why, member: this.spec.name }, `cluster member ${this.spec.name} is ${state}`);
    for (const fn of this.#listeners) fn(state);
  }

  /** wanted computes the announcements for the current state (exported for tests). */
  wanted(): Announcement[] {
    // a member that starts announces nothing before it holds the other members' sessions
    const s = this.sync && !this.sync.ready && this.#state !== 'stopping' ? 'starting' : this.#state;
    const serving = this.#host.servingVips();
    const own = new Set(this.#host.ownLips());
    const out: Announcement[] = [];
    for (const vip of new Set(this.#host.vips())) out.push({ prefix: vip, kind: 'vip', enabled: s === 'active' && serving.has(vip) });
    for (const lip of own) out.push({ prefix: lip, kind: 'lip', enabled: s === 'active' || s === 'draining' });
    for (const m of this.spec.members) {
      if (m.name === this.spec.name) continue;
      for (const lip of m.localAddresses) if (!own.has(lip)) out.push({ prefix: lip, kind: 'backup', enabled: s === 'active' });
    }
    return out;
  }

  /** evaluate re-derives the announcements and advances a drain; the timer calls it. */
  evaluate(): void {
    if (this.#state === 'draining') this.#advanceDrain();
    this.speaker.setWanted(this.wanted());
  }

  #advanceDrain(): void {
    const d = this.#drain!;
    const now = Date.now();
    const fwd = this.#host.forwarded();
    if (fwd !== d.forwarded) {
      d.forwarded = fwd;
      d.quietSince = now;
    }
    let why: string | null = null;
    if (this.#host.sessions() === 0) why = 'no session left';
    else if (now - d.quietSince >= this.spec.drainQuietMs) why = `nothing forwarded for ${this.spec.drainQuietMs / 1000} s`;
    else if (now >= d.deadlineAt) why = 'deadline reached';
    if (!why) return;
    d.endedAt = now;
    d.why = why;
    this.#set('drained', why);
  }

  /**
   * drain withdraws the VIPs (the router sends new and moved flows to the other members) and
   * keeps forwarding what still arrives until it ends or `deadlineS` passes.
   */
  drain(deadlineS = this.spec.drainDeadlineS): Record<string, unknown> {
    if (this.#state === 'active' || this.#state === 'starting') {
      const now = Date.now();
      this.#drain = {
        startedAt: now, deadlineAt: now + deadlineS * 1000, quietSince: now, forwarded: this.#host.forwarded(),
        endedAt: null, why: null,
      };
      this.#set('draining', `drain requested (deadline ${deadlineS} s)`);
      this.evaluate();
    }
    return this.view();
  }

  /** resume ends a drain (or a drained state): the member announces again. */
  resume(): Record<string, unknown> {
    if (this.#state === 'draining' || this.#state === 'drained') {
      this.#drain = null;
      this.#set('active', 'resumed');
      this.evaluate();
    }
    return this.view();
  }

  view(): Record<string, unknown> {
    const d = this.#drain;
    return {
      member: this.spec.name,
      state: this.#state,
      since: new Date(this.#since).toISOString(),
      local_as: this.spec.bgp.localAs,
      router_id: this.spec.bgp.routerId,
      drain: d ? {
        started: new Date(d.startedAt).toISOString(), deadline: new Date(d.deadlineAt).toISOString(),
        ended: d.endedAt ? new Date(d.endedAt).toISOString() : null, why: d.why, sessions: this.#host.sessions(),
      } : null,
      sync: this.sync ? { ready: this.sync.ready, ...this.sync.stats } : null,
      members: this.spec.members.map((m) => ({
        ...(this.sync?.members().find((x) => x.name === m.name) ?? {}),
        name: m.name, self: m.name === this.spec.name, local_addresses: m.localAddresses,
        sync: m.sync ? `${m.sync.host}:${m.sync.port}` : null })),
      ...this.speaker.view(),
    };
  }

  /** stop withdraws every route, keeps forwarding for withdraw_grace, then stops BIRD. */
  async stop(): Promise<void> {
    if (this.#state === 'stopping') return;
    this.#set('stopping', 'director stopping');
    // the heart keeps beating until BIRD is told to stop: a clean stop is not a stall
    this.speaker.setWanted(this.wanted());
    await this.speaker.settled();
    if (this.spec.withdrawGraceMs) await new Promise((r) => setTimeout(r, this.spec.withdrawGraceMs));
    for (const t of this.#timers) clearInterval(t);
    await this.speaker.stop();
    await this.sync?.stop();
  }
}
