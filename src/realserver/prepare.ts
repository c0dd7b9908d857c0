// prepare.ts — what a real server needs for DR and TUN modes, as LVS's realserver scripts do.
// DR: the VIP on loopback, and no ARP answers for it (arp_ignore=1, arp_announce=2), so only the
// director answers for the VIP on the segment. TUN: something must strip the IP-in-IP header;
// this kernel has no ipip module, so a raw socket for protocol 4 feeds the inner packets to a TUN
// device that holds the VIP. Both return an undo() that restores what they changed.
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
  const decap = new Decapsulator(raw, tun.fd);
  return {
    mode: 'tun', decap: 'user', stats: () => ({ ...decap.stats() }),
    undo: async () => {
      decap.stop();
      native().closeFd(raw);
      native().closeFd(tun.fd);
      await restore();
    },
  };
}
