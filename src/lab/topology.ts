// topology.ts — the standard wlvs lab: a client, a director and N real servers.
//
//   client 10.99.1.10 ──┐            director namespace             ┌── rs1 10.99.2.11
//                       br-ext 10.99.1.254 ── kernel router ── br-int 10.99.2.254 ── rs2 .12
//                       (wlvs TAP joins here)   (ip_forward)   (wlvs TAP joins here)   rs3 .13
//
// The director namespace's kernel routes between the two segments, so DR and TUN replies can
// bypass wlvs (the real servers' default gateway is 10.99.2.254), while in NAT over TAP the real
// servers use wlvs's own DIP 10.99.2.1 as gateway. wlvs runs inside the director namespace and
// creates its TAP (on the bridges) or TUN device there.
import { Lab } from './netns.js';

export interface TopologyOptions {
  realServers?: number;
  /** the real servers' default gateway */
  rsGateway?: string;
  /** `ethtool -K eth0 tx off` on every real server: the kernel then computes checksums in
   * software, so a wrong checksum update shows (veth never verifies CHECKSUM_PARTIAL) */
  rsTxOff?: boolean;
  tag?: string;
}

export interface Topology {
  lab: Lab;
  client: { role: string; address: string };
  director: { role: string; extBridge: string; intBridge: string; extAddress: string; intAddress: string };
  realServers: { role: string; address: string; name: string }[];
}

export const CLIENT_NET = '10.99.1';
export const SERVER_NET = '10.99.2';

/** buildTopology creates the lab; on failure it removes what it created and rethrows. */
export async function buildTopology(opts: TopologyOptions = {}): Promise<Topology> {
  const lab = new Lab(opts.tag ?? 'wl');
  const n = opts.realServers ?? 3;
  try {
    await lab.addNamespace('dir');
    await lab.addNamespace('cl');
    for (let k = 1; k <= n; k++) await lab.addNamespace(`rs${k}`);
    for (const br of ['br-ext', 'br-int']) {
      await lab.ip('dir', 'link', 'add', br, 'type', 'bridge', 'stp_state', '0', 'forward_delay', '0');
      await lab.ip('dir', 'link', 'set', br, 'up');
    }
    await lab.ip('dir', 'addr', 'add', `${CLIENT_NET}.254/24`, 'dev', 'br-ext');
    await lab.ip('dir', 'addr', 'add', `${SERVER_NET}.254/24`, 'dev', 'br-int');
    await lab.sysctl('dir', 'net.ipv4.ip_forward', 1);
    for (const k of ['all', 'default']) await lab.sysctl('dir', `net.ipv4.conf.${k}.rp_filter`, 0);
    // pitfall: TIME_WAIT sockets on VIP:port in this namespace swallow forwarded packets
    await lab.sysctl('dir', 'net.ipv4.tcp_early_demux', 0);

    await lab.veth('cl', 'eth0', 'dir', 'cl0');
    await lab.ip('dir', 'link', 'set', 'cl0', 'master', 'br-ext');
    await lab.ip('cl', 'addr', 'add', `${CLIENT_NET}.10/24`, 'dev', 'eth0');
    await lab.ip('cl', 'route', 'add', 'default', 'via', `${CLIENT_NET}.254`);

    const realServers: Topology['realServers'] = [];
    for (let k = 1; k <= n; k++) {
      const role = `rs${k}`;
      const address = `${SERVER_NET}.${10 + k}`;
      await lab.veth(role, 'eth0', 'dir', `rs${k}`);
      await lab.ip('dir', 'link', 'set', `rs${k}`, 'master', 'br-int');
      await lab.ip(role, 'addr', 'add', `${address}/24`, 'dev', 'eth0');
      await lab.ip(role, 'route', 'add', 'default', 'via', opts.rsGateway ?? `${SERVER_NET}.254`);
      for (const c of ['all', 'default', 'eth0']) await lab.sysctl(role, `net.ipv4.conf.${c}.rp_filter`, 0);
      if (opts.rsTxOff) await lab.exec(role, 'ethtool', ['-K', 'eth0', 'tx', 'off']);
      realServers.push({ role, address, name: role });
    }
    return {
      lab,
      client: { role: 'cl', address: `${CLIENT_NET}.10` },
      director: { role: 'dir', extBridge: 'br-ext', intBridge: 'br-int', extAddress: `${CLIENT_NET}.254`, intAddress: `${SERVER_NET}.254` },
      realServers,
    };
  } catch (err) {
    await lab.destroy();
    throw err;
  }
}
