// speaker.ts — this director's BGP speaker: a BIRD 2 that wlvs configures, starts (through the
// keeper, keeper.ts), watches and stops. It keeps BIRD's announcements equal to what the
// controller wants: a new set of prefixes rewrites the configuration and reconfigures BIRD; a
// prefix turned on or off enables or disables its static protocol over the control socket. It
// polls `show protocols` for the BGP sessions' state and reports every change.
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { WlvsError } from '../errors.js';
import type { Logger } from '../log.js';
import type { ClusterSpec } from '../model/spec.js';
import { tiedToParent } from '../sys/pdeathsig.js';
import { BirdClient, parseProtocols } from './bird-cli.js';
import { type Announcement, type AnnouncementKind, birdConfig, hostPrefix, neighborName, protocolName } from './bird-config.js';

const KEEPER = new URL('./keeper.js', import.meta.url).pathname;
/** how often the sessions' state is read from BIRD */
const POLL_MS = 500;
/** a BIRD that exited is started again after this long */
const RESTART_MS = 1000;

export interface NeighborView {
  address: string; as: number; up: boolean; state: string; info: string; since: string | null; transitions: number;
}

export interface SpeakerStats {
  /** the keeper withdrew everything because heartbeats stopped */
  stalls: number;
  birdStarts: number;
  birdExits: number;
  commandErrors: number;
  reconfigurations: number;
  sessionTransitions: number;
}

const key = (a: { kind: AnnouncementKind; prefix: string }) => protocolName(a.kind, a.prefix);

/** BirdSpeaker owns one BIRD; create it, start() it, then setWanted() as often as needed. */
export class BirdSpeaker {
  readonly stats: SpeakerStats = {
    stalls: 0, birdStarts: 0, birdExits: 0, commandErrors: 0, reconfigurations: 0, sessionTransitions: 0,
  };
  #spec: ClusterSpec;
  #log: Logger;
  #dir: string;
  #ownDir: boolean;
  #configPath: string;
  #socketPath: string;
  #keeper: ChildProcess | null = null;
  #client: BirdClient | null = null;
  #birdPid: number | null = null;
  #version: string | null = null;
  /** what the controller wants, by protocol name */
  #wanted = new Map<string, Announcement>();
  /** what BIRD has, as far as we know (null: not known, e.g. after a restart or a stall) */
  #current: Map<string, boolean> | null = null;
  /** the prefixes in the configuration BIRD runs (a new set needs a reconfiguration) */
  #configured = '';
  #work: Promise<void> = Promise.resolve();
  #pending = false;
  #neighbors: NeighborView[];
  #timers: NodeJS.Timeout[] = [];
  #stalled = false;
  #stopping = false;
  #connecting = false;
  #started: { resolve: () => void; reject: (e: Error) => void } | null = null;
  #listeners: ((e: { event: string } & Record<string, unknown>) => void)[] = [];

  constructor(spec: ClusterSpec, log: Logger) {
    this.#spec = spec;
    this.#log = log;
    this.#ownDir = spec.bird.stateDir === null;
    this.#dir = spec.bird.stateDir ?? mkdtempSync(join(tmpdir(), 'wlvs-bird-'));
    if (!this.#ownDir) mkdirSync(this.#dir, { recursive: true, mode: 0o700 });
    this.#configPath = join(this.#dir, 'bird.conf');
    this.#socketPath = join(this.#dir, 'bird.ctl');
    // sun_path holds 108 bytes (unix(7))
    if (Buffer.byteLength(this.#socketPath) > 107) {
      throw new WlvsError('WLVS_ERR_CONFIG_INVALID', `director.cluster.bird.state_dir: ${this.#socketPath} is too long for a unix socket`);
    }
    this.#neighbors = spec.bgp.neighbors.map((n) => ({
      address: n.address, as: n.as, up: false, state: 'start', info: '', since: null, transitions: 0,
    }));
  }

  get socketPath(): string {
    return this.#socketPath;
  }

  get configPath(): string {
    return this.#configPath;
  }

  /** onEvent hears what the speaker reports (bgp, stall, resumed, bird_exited) */
  onEvent(fn: (e: { event: string } & Record<string, unknown>) => void): void {
    this.#listeners.push(fn);
  }

  #emit(e: { event: string } & Record<string, unknown>): void {
    for (const fn of this.#listeners) fn(e);
  }

  /**
   * start writes a configuration that announces nothing, starts the keeper and BIRD, and
   * resolves once BIRD answers on its control socket. Rejects with WLVS_ERR_BIRD.
   */
  async start(timeoutMs = 10_000): Promise<void> {
    this.#writeConfig();
    const [cmd, args] = tiedToParent(process.execPath, [KEEPER, '--bird', this.#spec.bird.binary, '--config', this.#configPath,
      '--socket', this.#socketPath, '--watchdog-ms', String(this.#spec.watchdogMs)]);
    const keeper = spawn(cmd, args, { stdio: ['pipe', 'pipe', 'pipe'] });
    this.#keeper = keeper;
    keeper.stdin?.on('error', () => undefined);
    createInterface({ input: keeper.stdout! }).on('line', (line) => this.#onKeeper(line));
    createInterface({ input: keeper.stderr! }).on('line', (line) => this.#log.warn({ event: 'bird_keeper', line }, 'keeper'));
    keeper.once('exit', (code, signal) => {
      this.#keeper = null;
      if (!this.#stopping) {
        this.#log.error({ event: 'bird_keeper_exited', code, signal }, 'the BIRD keeper exited: BIRD went with it, nothing is announced');
        this.#started?.reject(new WlvsError('WLVS_ERR_BIRD', `the BIRD keeper exited (${code ?? signal})`));
      }
    });
    const started = new Promise<void>((resolve, reject) => { this.#started = { resolve, reject }; });
    const timer = setTimeout(() => this.#started?.reject(new WlvsError('WLVS_ERR_BIRD',
      `BIRD (${this.#spec.bird.binary}) did not open its control socket ${this.#socketPath} within ${timeoutMs} ms`)), timeoutMs);
    this.#send('start');
    try {
      await started;
    } finally {
      clearTimeout(timer);
      this.#started = null;
    }
    this.#every(POLL_MS, () => void this.#poll());
  }

  #every(ms: number, fn: () => void): void {
    const t = setInterval(fn, ms);
    t.unref();
    this.#timers.push(t);
  }

  #send(line: string): void {
    if (this.#keeper?.stdin?.writable) this.#keeper.stdin.write(`${line}\n`);
  }

  /** heartbeat tells the keeper the data path is alive; without one for watchdog_ms it withdraws everything */
  heartbeat(): void {
    this.#send('beat');
  }

  #onKeeper(line: string): void {
    let e: { event: string } & Record<string, unknown>;
    try {
      e = JSON.parse(line) as typeof e;
    } catch {
      this.#log.warn({ event: 'bird_keeper', line }, 'keeper said something unreadable');
      return;
    }
    switch (e.event) {
      case 'bird_started':
        this.stats.birdStarts++;
        this.#birdPid = Number(e.pid);
        this.#log.info({ event: 'bird_started', pid: e.pid, config: this.#configPath, socket: this.#socketPath }, 'BIRD started');
        void this.#connect();
        break;
      case 'bird_exited':
        this.stats.birdExits++;
        this.#birdPid = null;
        this.#dropClient();
        this.#current = null;
        for (const n of this.#neighbors) this.#setNeighbor(n, 'down', 'BIRD exited', false);
        if (!this.#stopping) {
          this.#log.error({ event: 'bird_exited', code: e.code, signal: e.signal }, 'BIRD exited; starting it again');
          const t = setTimeout(() => { if (!this.#stopping && !this.#stalled) this.#send('start'); }, RESTART_MS);
          t.unref();
        }
        break;
      case 'bird_error':
        this.#log.error({ event: 'bird_error', error: e.error, binary: this.#spec.bird.binary }, 'cannot run BIRD');
        this.#started?.reject(new WlvsError('WLVS_ERR_BIRD', `cannot run BIRD (${this.#spec.bird.binary}): ${String(e.error)}`));
        break;
      case 'bird_log': {
        const text = String(e.line);
        const bad = /<(ERR|WARN|BUG|FATAL)>/.test(text);
        this.#log[bad ? 'warn' : 'debug']({ event: 'bird_log', line: text }, 'BIRD');
        break;
      }
      case 'stall':
        this.stats.stalls++;
        this.#stalled = true;
        this.#current = null;
        this.#log.error({ event: 'watchdog_stall', silent_ms: e.silent_ms, withdrawn: e.withdrawn, error: e.error },
          'no heartbeat from the data path: every route withdrawn');
        this.#emit(e);
        break;
      case 'resumed':
        this.#stalled = false;
        this.#log.warn({ event: 'watchdog_resumed', silent_ms: e.silent_ms }, 'heartbeats again: announcing what is wanted');
        if (this.#birdPid === null) this.#send('start');
        this.#schedule();
        this.#emit(e);
        break;
      default:
        break;
    }
  }

  async #connect(): Promise<void> {
    if (this.#connecting) return;
    this.#connecting = true;
    try {
      await this.#connectOnce();
    } finally {
      this.#connecting = false;
    }
  }

  async #connectOnce(): Promise<void> {
    const deadline = Date.now() + 5000;
    while (!this.#stopping && this.#birdPid !== null && Date.now() < deadline) {
      try {
        const c = await BirdClient.connect(this.#socketPath, 1000);
        this.#dropClient();
        this.#client = c;
        this.#version = c.version;
        // what BIRD runs is the file we last wrote
        this.#current = null;
        this.#started?.resolve();
        this.#schedule();
        void this.#poll();
        return;
      } catch {
        await new Promise((r) => setTimeout(r, 50));
      }
    }
  }

  #dropClient(): void {
    this.#client?.close();
    this.#client = null;
  }

  /** setWanted replaces the announcements the controller wants; BIRD follows asynchronously */
  setWanted(list: Announcement[]): void {
    const next = new Map(list.map((a) => [key(a), a]));
    const same = next.size === this.#wanted.size &&
      [...next].every(([k, a]) => this.#wanted.get(k)?.enabled === a.enabled);
    this.#wanted = next;
    if (!same) this.#schedule();
  }

  /** settled resolves when BIRD has been told everything asked so far (tests, stop) */
  settled(): Promise<void> {
    return this.#work;
  }

  #schedule(): void {
    if (this.#pending) return;
    this.#pending = true;
    this.#work = this.#work.then(async () => {
      this.#pending = false;
      await this.#apply();
    });
  }

  #prefixSet(): string {
    return [...this.#wanted.keys()].sort().join(',');
  }

  #writeConfig(): void {
    const text = birdConfig(this.#spec, [...this.#wanted.values()]);
    writeFileSync(this.#configPath, text, { mode: 0o600 });
  }

  async #apply(): Promise<void> {
    const c = this.#client;
    if (!c || c.closed || this.#stalled) return;
    try {
      // setWanted may change the wanted set while a command is out: work on a snapshot, and
      // the next scheduled pass catches up with what changed meanwhile
      const wanted = [...this.#wanted];
      const prefixes = this.#prefixSet();
      if (prefixes !== this.#configured || this.#current === null) {
        // a new set of prefixes, or a BIRD whose state we do not know: the file says it all
        this.#writeConfig();
        const r = await c.request(`configure "${this.#configPath}"`, 10_000);
        if (r.code !== 3 && r.code !== 4 && r.code !== 5) throw new WlvsError('WLVS_ERR_BIRD', `configure: ${r.lines.map((l) => l.text).join('; ')}`);
        this.stats.reconfigurations++;
        this.#configured = prefixes;
        this.#current = new Map(wanted.map(([k, a]) => [k, a.enabled]));
        for (const [, a] of wanted) this.#logAnnouncement(a);
        return;
      }
      for (const [name, a] of wanted) {
        if (this.#current.get(name) === a.enabled) continue;
        await c.request(`${a.enabled ? 'enable' : 'disable'} ${name}`);
        this.#current?.set(name, a.enabled);
        this.#logAnnouncement(a);
      }
      // the file keeps the state, so a restart of BIRD or a reconfiguration starts from it
      this.#writeConfig();
    } catch (err) {
      this.stats.commandErrors++;
      this.#current = null;
      this.#log.error({ event: 'bird_command', err: (err as Error).message }, 'BIRD refused a change; retrying');
      const t = setTimeout(() => this.#schedule(), 500);
      t.unref();
    }
  }

  #logAnnouncement(a: Announcement): void {
    this.#log.info({ event: 'announce', prefix: hostPrefix(a.prefix), kind: a.kind, announced: a.enabled },
      `${a.enabled ? 'announcing' : 'withdrawing'} ${hostPrefix(a.prefix)} (${a.kind})`);
  }

  async #poll(): Promise<void> {
    const c = this.#client;
    if (!c || c.closed) {
      // the connection went (a command timed out, e.g. across a stall): a running BIRD gets a new one
      if (this.#birdPid !== null && !this.#connecting && !this.#stopping) void this.#connect();
      return;
    }
    try {
      const rows = parseProtocols(await c.request('show protocols', 2000));
      this.#neighbors.forEach((n, i) => {
        const row = rows.find((r) => r.name === neighborName(i));
        if (row) this.#setNeighbor(n, row.state, row.info, row.state === 'up' && /Established/.test(row.info), row.since);
      });
    } catch {
      // a stalled or restarting BIRD: the next poll tries again
    }
  }

  #setNeighbor(n: NeighborView, state: string, info: string, up: boolean, since: string | null = null): void {
    const was = n.up;
    n.state = state;
    n.info = info;
    if (since) n.since = since;
    if (was === up) return;
    n.up = up;
    n.transitions++;
    this.stats.sessionTransitions++;
    this.#log[up ? 'info' : 'warn']({ event: 'bgp', neighbor: n.address, as: n.as, state: up ? 'up' : 'down', info },
      `BGP session with ${n.address} ${up ? 'established' : `down (${info || state})`}`);
    this.#emit({ event: 'bgp', neighbor: n.address, up });
  }

  /** announced lists what BIRD announces now, as far as wlvs told it and it acknowledged */
  announced(): { prefix: string; kind: AnnouncementKind }[] {
    if (!this.#current || this.#stalled) return [];
    const current = this.#current;
    return [...this.#wanted].filter(([k]) => current.get(k)).map(([, a]) => ({ prefix: a.prefix, kind: a.kind }));
  }

  get neighbors(): readonly NeighborView[] {
    return this.#neighbors;
  }

  get stalled(): boolean {
    return this.#stalled;
  }

  view(): Record<string, unknown> {
    return {
      bird: { pid: this.#birdPid, version: this.#version, config: this.#configPath, socket: this.#socketPath },
      neighbors: this.#neighbors.map((n) => ({ ...n })),
      announced: this.announced().map((a) => ({ prefix: hostPrefix(a.prefix), kind: a.kind })),
      stalled: this.#stalled,
      stats: { ...this.stats },
    };
  }

  /** stop withdraws everything, stops BIRD (Cease to every neighbour) and the keeper. */
  async stop(): Promise<void> {
    this.#stopping = true;
    for (const t of this.#timers) clearInterval(t);
    const keeper = this.#keeper;
    if (keeper) {
      const gone = new Promise<void>((r) => keeper.once('exit', () => r()));
      this.#send('stop');
      const timer = setTimeout(() => keeper.kill('SIGKILL'), 4000);
      await gone;
      clearTimeout(timer);
    }
    this.#dropClient();
    if (this.#ownDir) rmSync(this.#dir, { recursive: true, force: true });
  }
}
