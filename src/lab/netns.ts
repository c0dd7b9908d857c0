// netns.ts — network namespaces for tests, the demo and benchmarks. Every name is unique per
// run (`<tag><pid base 36><random>-<role>`), every veth is created directly inside its
// namespaces (the host namespace is never touched), every process started inside is tracked by
// PID and ended by PID, and everything is removed on destroy(), on an exception, on
// SIGINT/SIGTERM and at process exit (cleanup.ts).
// It must never run a command in the host namespace other than `ip netns add/del` and `ip -n`.
import { type ChildProcess, execFileSync, spawn, type SpawnOptions } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { WlvsError } from '../errors.js';
import { tiedToParent } from '../sys/pdeathsig.js';
import { track, untrack } from './cleanup.js';
import { command, type CommandOptions, type CommandResult } from './command.js';

export { waitForLine } from './wait-line.js';

/** the longest interface name Linux accepts (IFNAMSIZ - 1) */
const IFNAME_MAX = 15;

const OUTPUT_KEEP = 16 << 10;

interface Child {
  process: ChildProcess;
  /** the child leads its own process group: ending it also ends what it forked (nginx workers) */
  group: boolean;
  output: string;
}

/** Lab is a set of namespaces with a common unique prefix and the processes run in them. */
export class Lab {
  readonly id: string;
  #namespaces: string[] = [];
  #aliases = new Map<string, string>();
  #children = new Map<number, Child>();
  #tempDirs: string[] = [];
  #destroyed = false;

  constructor(tag = 'wl') {
    if (!/^[a-z]{1,4}$/.test(tag)) throw new WlvsError('WLVS_ERR_USAGE', `lab tag must be 1-4 lowercase letters, not ${tag}`);
    this.id = `${tag}${process.pid.toString(36)}${randomBytes(2).toString('hex')}`;
    track(this);
  }

  /** ns turns a role name (or an alias of one) into this lab's namespace name. */
  ns(role: string): string {
    return `${this.id}-${this.#aliases.get(role) ?? role}`;
  }

  /** alias lets `short` stand for `role` in every method (older callers use `cl` and `dir`). */
  alias(short: string, role: string): void {
    this.#aliases.set(short, role);
  }

  /** namespaces lists the namespaces created so far, by full name. */
  get namespaces(): readonly string[] {
    return this.#namespaces;
  }

  get destroyed(): boolean {
    return this.#destroyed;
  }

  /** addNamespace creates the namespace of a role with its loopback up and returns its name. */
  async addNamespace(role: string): Promise<string> {
    this.#alive();
    const name = this.ns(role);
    await command('ip', ['netns', 'add', name]);
    this.#namespaces.push(name);
    await this.ip(role, 'link', 'set', 'lo', 'up');
    return name;
  }

  /** ip runs `ip -n <ns> args...`. */
  ip(role: string, ...args: string[]): Promise<CommandResult> {
    return command('ip', ['-n', this.ns(role), ...args]);
  }

  /** exec runs a command inside a namespace and resolves with its stdout; rejects on failure or timeout. */
  async exec(role: string, cmd: string, args: string[], timeoutMs = 30_000): Promise<string> {
    return (await this.run(role, cmd, args, { timeoutMs })).stdout;
  }

  /** run is exec() with every option and the full result (stderr, exit code). */
  run(role: string, cmd: string, args: string[], opts: CommandOptions = {}): Promise<CommandResult> {
    this.#alive();
    return command('ip', ['netns', 'exec', this.ns(role), cmd, ...args], opts);
  }

  /** sysctl writes a sysctl inside a namespace (never the host's: `ip netns exec` remounts /proc/sys/net). */
  async sysctl(role: string, key: string, value: string | number): Promise<void> {
    await this.run(role, 'sysctl', ['-qw', `${key}=${value}`]);
  }

  /** veth creates a pair with one end in each namespace, both up, without touching the host namespace. */
  async veth(roleA: string, ifA: string, roleB: string, ifB: string): Promise<void> {
    for (const name of [ifA, ifB]) {
      if (name.length > IFNAME_MAX) throw new WlvsError('WLVS_ERR_USAGE', `interface name ${name} is longer than ${IFNAME_MAX}`);
    }
    await command('ip', ['-n', this.ns(roleA), 'link', 'add', ifA, 'type', 'veth', 'peer', 'name', ifB, 'netns', this.ns(roleB)]);
    await this.ip(roleA, 'link', 'set', ifA, 'up');
    await this.ip(roleB, 'link', 'set', ifB, 'up');
  }

  /**
   * spawn starts a long-running process inside a namespace, in its own process group, and keeps
   * its PID; destroy() ends it. Its output is drained (and the last 16 KiB kept) so a chatty
   * server never blocks on a full pipe.
   */
  spawn(role: string, cmd: string, args: string[], opts: SpawnOptions = {}): ChildProcess {
    this.#alive();
    // the kernel kills the child when this process dies, even by SIGKILL, when no exit hook can run
    const [wrapped, wrappedArgs] = tiedToParent(cmd, args);
    const group = opts.detached !== false;
    // every `deno run` otherwise asks DNS for dl.deno.land (its update check) from inside the
    // namespace: stray traffic through the lab's routers that nothing in the lab asked for
    const env = { DENO_NO_UPDATE_CHECK: '1', ...opts.env ?? process.env };
    const child = spawn('ip', ['netns', 'exec', this.ns(role), wrapped, ...wrappedArgs],
      { stdio: ['ignore', 'pipe', 'pipe'], ...opts, env, detached: group });
    if (child.pid === undefined) {
      // spawn failed before a PID existed; the 'error' event carries why
      child.once('error', () => undefined);
      throw new WlvsError('WLVS_ERR_COMMAND', `cannot start ${cmd} in ${this.ns(role)}`, { cmd, args });
    }
    const pid = child.pid;
    const entry: Child = { process: child, group, output: '' };
    const keep = (d: Buffer) => { entry.output = (entry.output + d.toString()).slice(-OUTPUT_KEEP); };
    child.stdout?.on('data', keep);
    child.stderr?.on('data', keep);
    this.#children.set(pid, entry);
    child.once('exit', () => this.#children.delete(pid));
    return child;
  }

  /** pids lists the processes this lab started that are still running. */
  get pids(): number[] {
    return [...this.#children.keys()];
  }

  /** output is the last 16 KiB a running child printed (stdout and stderr interleaved). */
  output(pid: number): string {
    return this.#children.get(pid)?.output ?? '';
  }

  /** kill ends one process this lab started, by PID: `signal`, then SIGKILL after `graceMs`. */
  async kill(pid: number, graceMs = 3000, signal: NodeJS.Signals = 'SIGTERM'): Promise<number | null> {
    const entry = this.#children.get(pid);
    if (!entry) return null;
    const child = entry.process;
    const exited = new Promise<number | null>((resolve) => {
      if (child.exitCode !== null || child.signalCode !== null) resolve(child.exitCode);
      else child.once('exit', (code) => resolve(code));
    });
    signalChild(entry, signal);
    const timer = setTimeout(() => signalChild(entry, 'SIGKILL'), graceMs);
    const code = await exited;
    clearTimeout(timer);
    // the leader is gone; whatever it forked and left in its group goes too
    if (entry.group && groupAlive(pid)) signalChild(entry, 'SIGKILL');
    this.#children.delete(pid);
    return code;
  }

  /** stop is kill() for a ChildProcess returned by spawn(). */
  stop(child: ChildProcess, graceMs = 3000): Promise<number | null> {
    return child.pid === undefined ? Promise.resolve(child.exitCode) : this.kill(child.pid, graceMs);
  }

  /** tempDir makes a private directory for configs, pid files and logs; destroy() removes it. */
  tempDir(label: string): string {
    const dir = mkdtempSync(join(tmpdir(), `${this.id}-${label}-`));
    this.#tempDirs.push(dir);
    return dir;
  }

  /** destroy ends every child (SIGTERM, then SIGKILL) and removes every namespace and temp dir; safe to call twice. */
  async destroy(): Promise<void> {
    if (this.#destroyed) return;
    this.#destroyed = true;
    await Promise.all(this.pids.map((pid) => this.kill(pid, 2000)));
    for (const ns of [...this.#namespaces].reverse()) {
      await command('ip', ['netns', 'del', ns], { timeoutMs: 10_000 }).catch(() => undefined);
    }
    this.#finish();
  }

  /** destroySync is destroy() for exit hooks, where nothing asynchronous runs any more. */
  destroySync(): void {
    if (this.#destroyed && this.#namespaces.length === 0) return;
    this.#destroyed = true;
    for (const entry of this.#children.values()) signalChild(entry, 'SIGKILL');
    this.#children.clear();
    for (const ns of [...this.#namespaces].reverse()) {
      try { execFileSync('ip', ['netns', 'del', ns], { stdio: 'ignore', timeout: 10_000 }); } catch { /* already gone */ }
    }
    this.#finish();
  }

  #finish(): void {
    this.#namespaces = [];
    for (const dir of this.#tempDirs) rmSync(dir, { recursive: true, force: true });
    this.#tempDirs = [];
    untrack(this);
  }

  #alive(): void {
    if (this.#destroyed) throw new WlvsError('WLVS_ERR_USAGE', `lab ${this.id} is already destroyed`);
  }
}

function signalChild(entry: Child, signal: NodeJS.Signals): void {
  const pid = entry.process.pid!;
  try {
    if (entry.group) process.kill(-pid, signal);
    else entry.process.kill(signal);
  } catch { /* already gone */ }
}

function groupAlive(pgid: number): boolean {
  try {
    process.kill(-pgid, 0);
    return true;
  } catch {
    return false;
  }
}
