// prepare.ts — what a real server needs for DR and TUN modes, as LVS's realserver scripts do.
// DR: the VIP on loopback, and no ARP answers for it (arp_ignore=1, arp_announce=2), so only the
// director answers for the VIP on the segment; an IPv6 VIP needs no such setting (Linux answers
// neighbour solicitations only for addresses of the interface they arrive on). TUN: something
// must strip the IP-in-IP (IPv6-in-IPv6) header; where the kernel has no ipip (ip6tnl) module,
// a raw socket for protocol 4 (41) feeds the inner packets to a TUN device that holds the VIP.
// Both return an undo() that restores what they changed.
import { readFile } from 'node:fs/promises';
import { run, runQuiet } from '../sys/run.js';
import { Decapsulator, native } from '../io/native.js';
import { WlvsError } from '../errors.js';

export interface Prepared {
  mode: 'dr' | 'tun';
  /** how TUN mode decapsulates: the kernel's ipip device or the user-space decapsulator */
  decap: 'kernel' | 'user' | null;
  stats(): Record<string, number>;
  undo(): Promise<void>;
}

async function sysctlGet(key: string): Promise<string> {
  return (await readFile(`/proc/sys/${key.replace(/\./g, '/')}`, 'utf8')).trim();
}

/** setSysctls writes sysctls and returns a function that restores the old values */
async function setSysctls(values: Record<string, string>): Promise<() => Promise<void>> {
  const old: Record<string, string> = {};
  for (const [k, v] of Object.entries(values)) {
    old[k] = await sysctlGet(k);
    await run('sysctl', ['-qw', `${k}=${v}`]);
  }
  return async () => {
    for (const [k, v] of Object.entries(old)) await runQuiet('sysctl', ['-qw', `${k}=${v}`]);
  };
}

/** prepareDr puts the VIP on lo and silences ARP for it. */
export async function prepareDr(vip: string): Promise<Prepared> {
  if (vip.includes(':')) {
    // nodad: no duplicate address detection for an address every real server holds
    await run('ip', ['-6', 'addr', 'replace', `${vip}/128`, 'dev', 'lo', 'nodad']);
    return {
      mode: 'dr', decap: null, stats: () => ({}),
      undo: async () => { await runQuiet('ip', ['-6', 'addr', 'del', `${vip}/128`, 'dev', 'lo']); },
    };
  }
  const restore = await setSysctls({
    'net.ipv4.conf.all.arp_ignore': '1', 'net.ipv4.conf.all.arp_announce': '2',
    'net.ipv4.conf.lo.arp_ignore': '1', 'net.ipv4.conf.lo.arp_announce': '2',
  });
  await run('ip', ['addr', 'replace', `${vip}/32`, 'dev', 'lo']);
  return {
    mode: 'dr', decap: null, stats: () => ({}),
    undo: async () => {
      await runQuiet('ip', ['addr', 'del', `${vip}/32`, 'dev', 'lo']);
      await restore();
    },
  };
}

/** prepareTun holds the VIP on a tunnel device and decapsulates IP-in-IP into it. */
export async function prepareTun(vip: string,
  opts: { device?: string; forceUserSpace?: boolean } = {}): Promise<Prepared> {
  if (vip.includes(':')) return prepareTun6(vip, opts);
  const restore = await setSysctls({ 'net.ipv4.conf.all.rp_filter': '0', 'net.ipv4.conf.default.rp_filter': '0' });
  if (!opts.forceUserSpace && (await runQuiet('ip', ['link', 'add', 'name', 'wlvs-ipip', 'type', 'ipip'])) === null) {
    await run('ip', ['link', 'set', 'wlvs-ipip', 'up']);
    await run('ip', ['addr', 'replace', `${vip}/32`, 'dev', 'wlvs-ipip']);
    await runQuiet('sysctl', ['-qw', 'net.ipv4.conf.wlvs-ipip.rp_filter=0']);
    return {
      mode: 'tun', decap: 'kernel', stats: () => ({}),
      undo: async () => {
        await runQuiet('ip', ['link', 'del', 'wlvs-ipip']);
        await restore();
      },
    };
  }
  const name = opts.device ?? 'wlvs-decap';
  const tun = native().openTun(name, { tap: false, vnet: false, offload: 0, multiQueue: false });
  let raw = -1;
  try {
    await run('ip', ['link', 'set', tun.name, 'up']);
    await run('ip', ['addr', 'replace', `${vip}/32`, 'dev', tun.name]);
    await run('sysctl', ['-qw', `net.ipv4.conf.${tun.name}.rp_filter=0`]);
    raw = native().openRawSocket(4);
  } catch (err) {
    native().closeFd(tun.fd);
    await restore();
    throw new WlvsError('WLVS_ERR_DEVICE', `cannot set up user-space IP-in-IP decapsulation: ${(err as Error).message}`);
  }
  return userDecap(raw, tun.fd, 4, restore);
}

/** userDecap starts decapsulating from raw socket `raw` into TUN `tunFd`; undo stops it and closes both */
function userDecap(raw: number, tunFd: number, family: 4 | 6, restore: () => Promise<void>): Prepared {
  const decap = new Decapsulator(raw, tunFd, family);
  return {
    mode: 'tun', decap: 'user', stats: () => ({ ...decap.stats() }),
    undo: async () => {
      decap.stop();
      native().closeFd(raw);
      native().closeFd(tunFd);
      await restore();
    },
  };
}

/** prepareTun6: prepareTun for an IPv6 VIP: IPv6-in-IPv6 (RFC 2473, next header 41) */
async function prepareTun6(vip: string, opts: { device?: string; forceUserSpace?: boolean }): Promise<Prepared> {
  const kernel = 'wlvs-ip6tnl';
  if (!opts.forceUserSpace &&
    (await runQuiet('ip', ['link', 'add', 'name', kernel, 'type', 'ip6tnl', 'mode', 'ip6ip6', 'local', '::', 'remote', '::'])) === null) {
    await run('ip', ['link', 'set', kernel, 'up']);
    await run('ip', ['-6', 'addr', 'replace', `${vip}/128`, 'dev', kernel, 'nodad']);
    return {
      mode: 'tun', decap: 'kernel', stats: () => ({}),
      undo: async () => { await runQuiet('ip', ['link', 'del', kernel]); },
    };
  }
  const name = opts.device ?? 'wlvs-decap';
  const tun = native().openTun(name, { tap: false, vnet: false, offload: 0, multiQueue: false });
  let raw = -1;
  try {
    await run('ip', ['link', 'set', tun.name, 'up']);
    await run('ip', ['-6', 'addr', 'replace', `${vip}/128`, 'dev', tun.name, 'nodad']);
    raw = native().openRawSocket(41, 6);
  } catch (err) {
    native().closeFd(tun.fd);
    throw new WlvsError('WLVS_ERR_DEVICE', `cannot set up user-space IPv6-in-IPv6 decapsulation: ${(err as Error).message}`);
  }
  return userDecap(raw, tun.fd, 6, async () => undefined);
}
