// topology.ts — the standard wlvs lab: a client, a director and N real servers.
//
//   client 10.99.1.10 ──┐            director namespace             ┌── rs1 10.99.2.11
//                       br-ext 10.99.1.254 ── kernel router ── br-int 10.99.2.254 ── rs2 .12
//                       (wlvs TAP joins here)   (ip_forward)   (wlvs TAP joins here)   rs3 .13
//
// The director namespace's kernel routes between the two segments, so DR and TUN replies can
// bypass wlvs (the real servers' default gateway is 10.99.2.254), while in NAT over TAP the real
// servers use wlvs's own DIP 10.99.2.1 as gateway. wlvs runs inside the director namespace and
// creates its TAP (attach() puts it on a bridge) or TUN device there. This file only builds the
// plumbing: it starts no server and adds no nftables state anywhere.
import type { ChildProcess, SpawnOptions } from 'node:child_process';
import { Lab } from './netns.js';

export const CLIENT_NET = '10.99.1';
export const SERVER_NET = '10.99.2';
/** the director kernel's addresses on each segment (the router between them) */
export const ROUTER_EXT = `${CLIENT_NET}.254`;
export const ROUTER_INT = `${SERVER_NET}.254`;
/** IPv6 (topology option ipv6): the same segments as 2001:db8:1::/64 and 2001:db8:2::/64 */
export const CLIENT_NET6 = '2001:db8:1::';
export const SERVER_NET6 = '2001:db8:2::';
export const ROUTER_EXT6 = `${CLIENT_NET6}fe`;
export const ROUTER_INT6 = `${SERVER_NET6}fe`;

export interface TopologyOptions {
  /** number of real servers rs1..rsN (default 3, at most 200) */
  realServers?: number;
  /** the real servers' default gateway (default 10.99.2.254, the director kernel) */
  rsGateway?: string;
  /** `ethtool -K eth0 tx off` on every real server: the kernel then computes checksums in
   * software, so a wrong checksum update shows (veth never verifies CHECKSUM_PARTIAL) */
  rsTxOff?: boolean;
  /** client addresses 10.99.1.10, .11, ... (default 1) */
  clientAddresses?: number;
  /** 1-4 lowercase letters starting every namespace name (default `wl`) */
  tag?: string;
  /**
   * IPv6 beside IPv4 on every segment: client 2001:db8:1::10, real servers 2001:db8:2::11..,
   * the director kernel ::fe on both, forwarding on; addresses without duplicate address
   * detection (a fresh namespace would hold them tentative for a second or more)
   */
  ipv6?: boolean;
  /** the real servers' IPv6 default gateway (default 2001:db8:2::fe, the director kernel) */
  rsGateway6?: string;
  /**
   * sources whose packets go via the director kernel whatever the default gateway (source rules):
   * the DR and TUN VIPs of a lab whose NAT66 servers use wlvs as their gateway
   */
  rsRouterSources6?: string[];
}

export type Side = 'ext' | 'int';

export interface RealServer {
  role: string;
  name: string;
  address: string;
  /** with the ipv6 option, else null */
  address6: string | null;
  /** its interface, inside its namespace */
  iface: string;
  /** the other end of its veth, in the director namespace on br-int */
  directorIface: string;
}

/** Topology is a built lab: names, addresses and the commands to act inside it. */
export interface Topology {
  lab: Lab;
  /** full namespace names, for `ip netns exec` by hand */
  names: { client: string; director: string; realServers: string[] };
  client: { role: string; address: string; addresses: string[]; iface: string; address6: string | null };
  director: { role: string; extBridge: string; intBridge: string; extAddress: string; intAddress: string };
  realServers: RealServer[];
  /** the real servers' current default gateway */
  readonly rsGateway: string;
  /** exec runs a command in a role's namespace and resolves with its stdout */
  exec(role: string, cmd: string, args: string[], timeoutMs?: number): Promise<string>;
  /** spawn starts a tracked long-running process in a role's namespace */
  spawn(role: string, cmd: string, args: string[], opts?: SpawnOptions): ChildProcess;
  /** bridge names the director's bridge on one side ('ext': clients, 'int': real servers) */
  bridge(side: Side): string;
  /** attach puts a director-namespace interface (wlvs's TAP) on a bridge and brings it up */
  attach(iface: string, side: Side): Promise<void>;
  /** setRsGateway changes every real server's default route (e.g. to wlvs's DIP for NAT) */
  setRsGateway(gateway: string): Promise<void>;
  /** destroy ends every process and removes every namespace */
  destroy(): Promise<void>;
}

const BRIDGES: Record<Side, string> = { ext: 'br-ext', int: 'br-int' };

/** buildTopology creates the lab; on failure it removes everything it created and rethrows. */
export async function buildTopology(opts: TopologyOptions = {}): Promise<Topology> {
  const n = opts.realServers ?? 3;
  const nClient = opts.clientAddresses ?? 1;
  if (!(n >= 1 && n <= 200) || !(nClient >= 1 && nClient <= 100)) {
    throw new RangeError(`realServers must be 1..200 and clientAddresses 1..100 (got ${n}, ${nClient})`);
  }
  const lab = new Lab(opts.tag ?? 'wl');
  // older callers (the CLI demo) name the roles `cl` and `dir`
  lab.alias('cl', 'client');
  lab.alias('dir', 'director');
  const v6 = opts.ipv6 ?? false;
  try {
    await lab.addNamespace('director');
    await lab.addNamespace('client');
    for (let k = 1; k <= n; k++) await lab.addNamespace(`rs${k}`);
    if (v6) {
      // before any interface exists: new ones inherit `default`, so no address waits for DAD
      for (const role of ['director', 'client', ...Array.from({ length: n }, (_, k) => `rs${k + 1}`)]) {
        for (const c of ['all', 'default']) await lab.sysctl(role, `net.ipv6.conf.${c}.accept_dad`, 0);
      }
    }
    await prepareDirector(lab, v6);

    const clientAddresses = Array.from({ length: nClient }, (_, i) => `${CLIENT_NET}.${10 + i}`);
    await lab.veth('client', 'eth0', 'director', 'cl0');
    await lab.ip('director', 'link', 'set', 'cl0', 'master', BRIDGES.ext);
    for (const a of clientAddresses) await lab.ip('client', 'addr', 'add', `${a}/24`, 'dev', 'eth0');
    await lab.ip('client', 'route', 'add', 'default', 'via', ROUTER_EXT);
    const client6 = v6 ? `${CLIENT_NET6}10` : null;
    if (client6) {
      await lab.ip('client', '-6', 'addr', 'add', `${client6}/64`, 'dev', 'eth0', 'nodad');
      await lab.ip('client', '-6', 'route', 'add', 'default', 'via', ROUTER_EXT6);
    }

    let rsGateway = opts.rsGateway ?? ROUTER_INT;
    const realServers: RealServer[] = [];
    for (let k = 1; k <= n; k++) {
      const rs: RealServer = {
        role: `rs${k}`, name: `rs${k}`, address: `${SERVER_NET}.${10 + k}`, iface: 'eth0', directorIface: `rs${k}`,
        address6: v6 ? `${SERVER_NET6}${(0x10 + k).toString(16)}` : null,
      };
      await lab.veth(rs.role, rs.iface, 'director', rs.directorIface);
      await lab.ip('director', 'link', 'set', rs.directorIface, 'master', BRIDGES.int);
      await lab.ip(rs.role, 'addr', 'add', `${rs.address}/24`, 'dev', rs.iface);
      // onlink: wlvs's DIP may not answer ARP yet when the lab is built
      await lab.ip(rs.role, 'route', 'add', 'default', 'via', rsGateway, 'dev', rs.iface, 'onlink');
      for (const c of ['all', 'default', rs.iface]) await lab.sysctl(rs.role, `net.ipv4.conf.${c}.rp_filter`, 0);
      if (rs.address6) {
        await lab.ip(rs.role, '-6', 'addr', 'add', `${rs.address6}/64`, 'dev', rs.iface, 'nodad');
        await lab.ip(rs.role, '-6', 'route', 'add', 'default', 'via', opts.rsGateway6 ?? ROUTER_INT6, 'dev', rs.iface);
        if (opts.rsRouterSources6?.length) {
          await lab.ip(rs.role, '-6', 'route', 'add', 'default', 'via', ROUTER_INT6, 'dev', rs.iface, 'table', '100');
          for (const src of opts.rsRouterSources6) await lab.ip(rs.role, '-6', 'rule', 'add', 'from', src, 'lookup', '100', 'priority', '100');
        }
      }
      if (opts.rsTxOff) await lab.exec(rs.role, 'ethtool', ['-K', rs.iface, 'tx', 'off']);
      realServers.push(rs);
    }

    return {
      lab,
      names: { client: lab.ns('client'), director: lab.ns('director'), realServers: realServers.map((r) => lab.ns(r.role)) },
      client: { role: 'client', address: clientAddresses[0], addresses: clientAddresses, iface: 'eth0', address6: client6 },
      director: { role: 'director', extBridge: BRIDGES.ext, intBridge: BRIDGES.int, extAddress: ROUTER_EXT, intAddress: ROUTER_INT },
      realServers,
      get rsGateway() { return rsGateway; },
      exec: (role, cmd, args, timeoutMs) => lab.exec(role, cmd, args, timeoutMs),
      spawn: (role, cmd, args, spawnOpts) => lab.spawn(role, cmd, args, spawnOpts),
      bridge: (side) => BRIDGES[side],
      attach: async (iface, side) => {
        await lab.ip('director', 'link', 'set', iface, 'master', BRIDGES[side]);
        await lab.ip('director', 'link', 'set', iface, 'up');
      },
      setRsGateway: async (gateway) => {
        for (const rs of realServers) {
          await lab.ip(rs.role, 'route', 'replace', 'default', 'via', gateway, 'dev', rs.iface, 'onlink');
        }
        rsGateway = gateway;
      },
      destroy: () => lab.destroy(),
    };
  } catch (err) {
    await lab.destroy();
    throw err;
  }
}

/** the director namespace: two bridges, the kernel router between them, and the sysctls the pitfalls ask for */
async function prepareDirector(lab: Lab, v6: boolean): Promise<void> {
  for (const br of Object.values(BRIDGES)) {
    // no multicast snooping: neighbour solicitations reach wlvs's TAP without it joining groups by MLD
    await lab.ip('director', 'link', 'add', br, 'type', 'bridge', 'stp_state', '0', 'forward_delay', '0', 'mcast_snooping', '0');
    await lab.ip('director', 'link', 'set', br, 'up');
  }
  await lab.ip('director', 'addr', 'add', `${ROUTER_EXT}/24`, 'dev', BRIDGES.ext);
  await lab.ip('director', 'addr', 'add', `${ROUTER_INT}/24`, 'dev', BRIDGES.int);
  await lab.sysctl('director', 'net.ipv4.ip_forward', 1);
  if (v6) {
    await lab.ip('director', '-6', 'addr', 'add', `${ROUTER_EXT6}/64`, 'dev', BRIDGES.ext, 'nodad');
    await lab.ip('director', '-6', 'addr', 'add', `${ROUTER_INT6}/64`, 'dev', BRIDGES.int, 'nodad');
    // per namespace, never the host's (ip netns exec remounts /proc/sys/net)
    await lab.sysctl('director', 'net.ipv6.conf.all.forwarding', 1);
  }
  // replies may come back another way than the request went (DR, TUN): no reverse-path check
  for (const k of ['all', 'default']) await lab.sysctl('director', `net.ipv4.conf.${k}.rp_filter`, 0);
  // pitfall: TIME_WAIT sockets on VIP:port in this namespace (left by a proxy) swallow forwarded packets
  await lab.sysctl('director', 'net.ipv4.tcp_early_demux', 0);
  // with br_netfilter loaded, frames bridged between a client and wlvs's TAP would pass the IP
  // hooks (and any conntrack there); the key only exists when the module is loaded
  await lab.run('director', 'sysctl', ['-qw', 'net.bridge.bridge-nf-call-iptables=0'], { check: false });
}
