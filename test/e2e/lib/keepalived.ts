// keepalived.ts — Debian's keepalived (2.2.x) as the other router of a VRRP pair: a namespace of
// its own with a leg on each lab segment, the kernel forwarding for it (nftables DNAT of the VIP
// to the real servers, as a kernel NAT director would), and keepalived running VRRP alone
// (`--vrrp`, no IPVS module needed) with its config, pid files and log in a temp dir. It is
// stopped by PID (the lab's process group): SIGKILL for a crash, SIGTERM for a clean stop.
import type { ChildProcess } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { CLIENT_NET, SERVER_NET, type Topology } from '../../../src/lab/topology.js';
import { sleep } from '../lib.js';

export const KA_ROLE = 'ka';
export const KA_EXT = `${CLIENT_NET}.4`;
export const KA_INT = `${SERVER_NET}.4`;

export interface KeepalivedOptions {
  vrid: number;
  priority: number;
  state?: 'MASTER' | 'BACKUP';
  version: 2 | 3;
  advertInt: number;
  /** virtual_ipaddress lines, e.g. `10.99.1.100/32 dev ext0` */
  addresses: string[];
  /** auth_pass (version 2, auth_type PASS) */
  password?: string;
  nopreempt?: boolean;
  /** unicast to this peer (from ext0's address) instead of multicast */
  unicastPeer?: string;
}

/** prepareKeepalivedHost adds the keepalived namespace: ext0 on the client bridge, int0 on the servers'. */
export async function prepareKeepalivedHost(topo: Topology, vip: string, port: number): Promise<{ extMac: string }> {
  const lab = topo.lab;
  await lab.addNamespace(KA_ROLE);
  await lab.veth(KA_ROLE, 'ext0', topo.director.role, 'ka-ext');
  await lab.veth(KA_ROLE, 'int0', topo.director.role, 'ka-int');
  await topo.attach('ka-ext', 'ext');
  await topo.attach('ka-int', 'int');
  await lab.ip(KA_ROLE, 'addr', 'add', `${KA_EXT}/24`, 'dev', 'ext0');
  await lab.ip(KA_ROLE, 'addr', 'add', `${KA_INT}/24`, 'dev', 'int0');
  await lab.sysctl(KA_ROLE, 'net.ipv4.ip_forward', 1);
  for (const c of ['all', 'default', 'ext0', 'int0']) await lab.sysctl(KA_ROLE, `net.ipv4.conf.${c}.rp_filter`, 0);
  const rs = topo.realServers.map((r, i) => `${i} : ${r.address}`).join(', ');
  const dir = lab.tempDir('ka-nft');
  const file = join(dir, 'nat.nft');
  writeFileSync(file, `table ip ka {\n  chain pre {\n    type nat hook prerouting priority dstnat;\n` +
    `    ip daddr ${vip} tcp dport ${port} dnat to numgen inc mod ${topo.realServers.length} map { ${rs} }\n  }\n}\n`);
  await lab.exec(KA_ROLE, 'nft', ['-f', file]);
  const link = await lab.exec(KA_ROLE, 'ip', ['-br', 'link', 'show', 'ext0']);
  return { extMac: link.split(/\s+/)[2] };
}

/** Keepalived is one running keepalived: its output lines, its process, its addresses. */
export class Keepalived {
  readonly child: ChildProcess;
  readonly lines: string[] = [];
  #topo: Topology;

  private constructor(topo: Topology, child: ChildProcess) {
    this.#topo = topo;
    this.child = child;
    const keep = (d: Buffer) => this.lines.push(...d.toString().split('\n').filter(Boolean));
    child.stdout?.on('data', keep);
    child.stderr?.on('data', keep);
  }

  /** start writes the configuration and runs keepalived in its namespace; resolves when its VRRP instance is up. */
  static async start(topo: Topology, o: KeepalivedOptions): Promise<Keepalived> {
    const dir = topo.lab.tempDir('ka');
    const conf = join(dir, 'keepalived.conf');
    const unicast = o.unicastPeer ? `  unicast_src_ip ${KA_EXT}\n  unicast_peer {\n    ${o.unicastPeer}\n  }\n` : '';
    const auth = o.password ? `  authentication {\n    auth_type PASS\n    auth_pass ${o.password}\n  }\n` : '';
    writeFileSync(conf, `global_defs {
  router_id wlvs_lab_ka
  vrrp_version ${o.version}
  log_unknown_vrids
}
vrrp_instance VI {
  state ${o.state ?? 'BACKUP'}
  interface ext0
  virtual_router_id ${o.vrid}
  priority ${o.priority}
  advert_int ${o.advertInt}
  garp_master_delay 0
${o.nopreempt ? '  nopreempt\n' : ''}${unicast}${auth}  virtual_ipaddress {
${o.addresses.map((a) => `    ${a}`).join('\n')}
  }
}
`);
    const child = topo.lab.spawn(KA_ROLE, 'keepalived', ['-n', '-l', '-D', '--vrrp', '-f', conf,
      '-p', join(dir, 'keepalived.pid'), '-r', join(dir, 'vrrp.pid')]);
    const k = new Keepalived(topo, child);
    await k.waitFor(/\(VI\) Entering (BACKUP|MASTER) STATE/, 10_000);
    return k;
  }

  /** waitFor resolves with the first output line (already printed or to come) matching `re`. */
  async waitFor(re: RegExp, timeoutMs = 5000, from = 0): Promise<string> {
    const end = performance.now() + timeoutMs;
    for (;;) {
      const line = this.lines.slice(from).find((l) => re.test(l));
      if (line) return line;
      if (performance.now() > end) throw new Error(`keepalived did not log ${re} within ${timeoutMs} ms; it said:\n${this.lines.slice(-30).join('\n')}`);
      await sleep(20);
    }
  }

  /** logged lists the output lines matching `re` from line `from` on. */
  logged(re: RegExp, from = 0): string[] {
    return this.lines.slice(from).filter((l) => re.test(l));
  }

  /** holds says whether keepalived's namespace has `address` (it adds the VIPs as master). */
  async holds(address: string): Promise<boolean> {
    const out = await this.#topo.lab.exec(KA_ROLE, 'ip', ['-4', '-o', 'addr', 'show']);
    return out.split('\n').some((l) => l.includes(` ${address}/`));
  }

  /** kill ends keepalived and its VRRP child: SIGKILL (no resignation) or SIGTERM (priority 0) */
  async kill(signal: 'SIGKILL' | 'SIGTERM'): Promise<void> {
    await this.#topo.lab.kill(this.child.pid!, 3000, signal);
  }
}
