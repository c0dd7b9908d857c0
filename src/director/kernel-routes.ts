// kernel-routes.ts — on a TUN (L3) device the kernel must route the right packets into the
// device: the VIPs and LIPs, and for NAT the real servers' replies (a policy rule per RIP and
// source port, since those replies are addressed to clients, not to us), for IPv4 and IPv6. Everything added here
// is remembered and removed again on stop. Run only in the director's own network namespace.
// Every command and /proc read goes through a KernelSystem, so a test can record them instead.
import { readFile } from 'node:fs/promises';
import { run, runQuiet } from '../sys/run.js';
import { type DirectorSpec, usesFullnat } from '../model/spec.js';

/** What KernelRoutes does to the system: commands (ip, sysctl) and reads of /proc. */
export interface KernelSystem {
  /** run a command; rejects (WLVS_ERR_COMMAND) on failure */
  run(cmd: string, args: string[]): Promise<unknown>;
  /** run a command on a cleanup path: the failure is returned, never thrown */
  runQuiet(cmd: string, args: string[]): Promise<Error | null>;
  /** a /proc/sys file's contents, or `fallback` when unreadable */
  read(path: string, fallback: string): Promise<string>;
}

const HOST_SYSTEM: KernelSystem = {
  run: (cmd, args) => run(cmd, args),
  runQuiet,
  read: (path, fallback) => readFile(path, 'utf8').catch(() => fallback),
};

/** the routing table and rule priority wlvs uses for steering NAT replies */
const WLVS_TABLE = 30572;

interface Undo { key: string; cmd: string; args: string[] }

/** KernelRoutes installs and removes the kernel state a TUN-device director needs. */
export class KernelRoutes {
  #undo: Undo[] = [];
  #installed = new Set<string>();
  #sys: KernelSystem;
  readonly warnings: string[] = [];

  constructor(sys: KernelSystem = HOST_SYSTEM) {
    this.#sys = sys;
  }

  /** sync makes the kernel routes and rules match `spec` for TUN device `dev`. */
  async sync(spec: DirectorSpec, dev: string): Promise<void> {
    const want = new Map<string, { add: string[]; del: string[] }>();
    // `ip -6` for IPv6: routes and rules live in per-family tables
    const fam = (a: string) => (a.includes(':') ? ['-6'] : []);
    const host = (a: string) => (a.includes(':') ? `${a}/128` : `${a}/32`);
    const route = (dst: string) => want.set(`route ${dst}`, {
      add: [...fam(dst), 'route', 'replace', host(dst), 'dev', dev],
      del: [...fam(dst), 'route', 'del', host(dst), 'dev', dev],
    });
    const families = new Set<string>();
    // each VIP, then the LIPs of the director's pool (if any service uses it)
    for (const s of spec.services) route(s.vip);
    if (spec.services.some(usesFullnat)) for (const l of spec.fullnat.localAddresses) route(l.address);
    // the other members' local addresses too: their servers' replies may come here when they die
    for (const m of spec.cluster?.members ?? []) for (const a of m.localAddresses) route(a);
    for (const s of spec.services) {
      if (s.forwarding !== 'nat' && !s.realServers.some((r) => r.forwarding === 'nat')) continue;
      for (const r of s.realServers) {
        if ((r.forwarding ?? s.forwarding) !== 'nat') continue;
        const sel = ['from', host(r.address), 'ipproto', s.protocol];
        const port = r.port || s.port;
        if (port) sel.push('sport', String(port));
        const key = `rule ${sel.join(' ')}`;
        families.add(fam(r.address).join(''));
        want.set(key, {
          add: [...fam(r.address), 'rule', 'add', ...sel, 'lookup', String(WLVS_TABLE), 'priority', String(WLVS_TABLE)],
          del: [...fam(r.address), 'rule', 'del', ...sel, 'lookup', String(WLVS_TABLE), 'priority', String(WLVS_TABLE)],
        });
      }
    }
    want.set('table default', {
      add: ['route', 'replace', 'default', 'dev', dev, 'table', String(WLVS_TABLE)],
      del: ['route', 'del', 'default', 'dev', dev, 'table', String(WLVS_TABLE)],
    });
    if (families.has('-6')) {
      want.set('table default6', {
        add: ['-6', 'route', 'replace', 'default', 'dev', dev, 'table', String(WLVS_TABLE)],
        del: ['-6', 'route', 'del', 'default', 'dev', dev, 'table', String(WLVS_TABLE)],
      });
    }
    for (const [key, cmd] of want) {
      if (this.#installed.has(key)) continue;
      await this.#sys.run('ip', cmd.add);
      this.#installed.add(key);
      this.#undo.push({ key, cmd: 'ip', args: cmd.del });
    }
    for (const key of [...this.#installed]) {
      if (want.has(key)) continue;
      const i = this.#undo.findIndex((u) => key === u.key);
      if (i >= 0) {
        await this.#sys.runQuiet(this.#undo[i].cmd, this.#undo[i].args);
        this.#undo.splice(i, 1);
      }
      this.#installed.delete(key);
    }
    await this.#checkSysctls(dev, spec.services.some((s) => s.vip.includes(':')));
  }

  async #checkSysctls(dev: string, ipv6: boolean): Promise<void> {
    // packets the director writes into the TUN come "from" it with the clients' addresses
    await this.#sys.runQuiet('sysctl', ['-qw', `net.ipv4.conf.${dev}.rp_filter=0`]);
    const all = (await this.#sys.read('/proc/sys/net/ipv4/conf/all/rp_filter', '0')).trim();
    if (all !== '0') this.warnings.push(`net.ipv4.conf.all.rp_filter=${all}: forwarded packets may be dropped; set it to 0`);
    const fwd = (await this.#sys.read('/proc/sys/net/ipv4/ip_forward', '0')).trim();
    if (fwd !== '1') this.warnings.push('net.ipv4.ip_forward=0: the kernel will not forward what wlvs writes to the TUN device');
    if (!ipv6) return;
    const fwd6 = (await readFile('/proc/sys/net/ipv6/conf/all/forwarding', 'utf8').catch(() => '0')).trim();
    if (fwd6 !== '1') this.warnings.push('net.ipv6.conf.all.forwarding=0: the kernel will not forward the IPv6 packets wlvs writes to the TUN device');
  }

  /** clear removes everything sync added, newest first; errors are collected, not thrown. */
  async clear(): Promise<Error[]> {
    const errors: Error[] = [];
    for (const u of this.#undo.reverse()) {
      const e = await this.#sys.runQuiet(u.cmd, u.args);
      if (e) errors.push(e);
    }
    this.#undo = [];
    this.#installed.clear();
    return errors;
  }
}
