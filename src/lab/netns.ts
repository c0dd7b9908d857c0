// netns.ts — network namespaces for tests, the demo and benchmarks. Every name is unique per
// run, every veth is created directly inside its namespaces (the host namespace is never
// touched), every process started inside is tracked by PID, and everything is removed on
// destroy(), on an exception, on SIGINT/SIGTERM and at process exit.
import { type ChildProcess, execFileSync, spawn, type SpawnOptions } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { run } from '../sys/run.js';

const live = new Set<Lab>();
let hooked = false;

function hookExit(): void {
  if (hooked) return;
  hooked = true;
  const sync = () => { for (const lab of live) lab.destroySync(); };
  process.on('exit', sync);
  for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
    process.once(sig, () => {
      sync();
      process.exit(128 + (sig === 'SIGINT' ? 2 : sig === 'SIGTERM' ? 15 : 1));
    });
  }
  process.on('uncaughtException', (err) => {
    sync();
    console.error(err);
    process.exit(1);
  });
}

/** Lab is a set of namespaces with a common unique prefix and the processes run in them. */
export class Lab {
  readonly id: string;
  #namespaces: string[] = [];
  #children = new Set<ChildProcess>();
  #destroyed = false;

  constructor(tag = 'wl') {
    this.id = `${tag}${process.pid.toString(36)}${randomBytes(2).toString('hex')}`;
    live.add(this);
    hookExit();
  }

  /** ns turns a short role name into this lab's namespace name */
  ns(role: string): string {
    return `${this.id}-${role}`;
  }

  get namespaces(): readonly string[] {
    return this.#namespaces;
  }

  async addNamespace(role: string): Promise<string> {
    const name = this.ns(role);
    await run('ip', ['netns', 'add', name]);
    this.#namespaces.push(name);
    await this.ip(role, 'link', 'set', 'lo', 'up');
    return name;
  }

  /** ip runs `ip -n <ns> args...` */
  ip(role: string, ...args: string[]): Promise<{ stdout: string }> {
    return run('ip', ['-n', this.ns(role), ...args]);
  }

  /** exec runs a command inside a namespace and returns its output; rejects on failure */
  async exec(role: string, cmd: string, args: string[], timeoutMs = 30_000): Promise<string> {
    return (await run('ip', ['netns', 'exec', this.ns(role), cmd, ...args], { timeoutMs })).stdout;
  }

  /** sysctl writes a sysctl inside a namespace */
  async sysctl(role: string, key: string, value: string | number): Promise<void> {
    await this.exec(role, 'sysctl', ['-qw', `${key}=${value}`]);
  }

  /** veth creates a pair with one end in each namespace, both up */
  async veth(roleA: string, ifA: string, roleB: string, ifB: string): Promise<void> {
    await run('ip', ['-n', this.ns(roleA), 'link', 'add', ifA, 'type', 'veth', 'peer', 'name', ifB, 'netns', this.ns(roleB)]);
    await this.ip(roleA, 'link', 'set', ifA, 'up');
    await this.ip(roleB, 'link', 'set', ifB, 'up');
  }

  /** spawn starts a long-running process inside a namespace; it is killed by destroy() */
  spawn(role: string, cmd: string, args: string[], opts: SpawnOptions = {}): ChildProcess {
    const child = spawn('ip', ['netns', 'exec', this.ns(role), cmd, ...args], { stdio: ['ignore', 'pipe', 'pipe'], ...opts });
    this.#children.add(child);
    child.once('exit', () => this.#children.delete(child));
    return child;
  }

  /** stop ends one child by PID: SIGTERM, then SIGKILL after `graceMs` */
  async stop(child: ChildProcess, graceMs = 3000): Promise<number | null> {
    if (child.exitCode !== null || child.signalCode !== null) return child.exitCode;
    const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
    child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
    const code = await exited;
    clearTimeout(timer);
    return code;
  }

  /** destroy kills every child and removes every namespace; safe to call twice */
  async destroy(): Promise<void> {
    if (this.#destroyed) return;
    this.#destroyed = true;
    await Promise.all([...this.#children].map((c) => this.stop(c, 2000)));
    for (const ns of this.#namespaces.reverse()) {
      await run('ip', ['netns', 'del', ns]).catch(() => undefined);
    }
    this.#namespaces = [];
    live.delete(this);
  }

  /** destroySync is destroy() for exit handlers, where nothing asynchronous runs any more */
  destroySync(): void {
    if (this.#destroyed) return;
    this.#destroyed = true;
    for (const c of this.#children) {
      try { c.kill('SIGKILL'); } catch { /* already gone */ }
    }
    for (const ns of this.#namespaces.reverse()) {
      try { execFileSync('ip', ['netns', 'del', ns], { stdio: 'ignore' }); } catch { /* already gone */ }
    }
    this.#namespaces = [];
    live.delete(this);
  }
}

/** waitForLine resolves when a child prints a line matching `re` on stdout or stderr */
export function waitForLine(child: ChildProcess, re: RegExp, timeoutMs = 15_000): Promise<string> {
  return new Promise((resolve, reject) => {
    let buf = '';
    const timer = setTimeout(() => {
      cleanup();
      reject(new Error(`timed out after ${timeoutMs} ms waiting for ${re}; output so far:\n${buf.slice(-4000)}`));
    }, timeoutMs);
    const onData = (d: Buffer) => {
      buf += d.toString();
      for (const line of buf.split('\n')) {
        if (re.test(line)) {
          cleanup();
          resolve(line);
          return;
        }
      }
    };
    const onExit = (code: number | null) => {
      cleanup();
      reject(new Error(`process exited (${code}) before printing ${re}; output:\n${buf.slice(-4000)}`));
    };
    const cleanup = () => {
      clearTimeout(timer);
      child.stdout?.off('data', onData);
      child.stderr?.off('data', onData);
      child.off('exit', onExit);
    };
    child.stdout?.on('data', onData);
    child.stderr?.on('data', onData);
    child.once('exit', onExit);
  });
}
