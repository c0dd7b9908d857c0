// lab.ts — `wlvs lab demo`: the first quick-start command. It builds a namespace lab (a client,
// a director, three real servers), runs wlvs on a built-in NAT-over-TAP configuration, sends
// requests through the VIP, prints which server answered each and the director's counters,
// and tears everything down, also on failure or Ctrl-C.
import { Progress } from '../lab/progress.js';
import { WlvsError } from '../errors.js';
import { buildTopology } from '../lab/topology.js';
import {
  LAB_DIP6, LAB_VIP6_TAP, LAB_VIP_TAP, labConfig, rsGatewayFor, startDirector, startRealServers,
} from '../lab/lab-director.js';
import { scriptCommand } from '../sys/runtime.js';
import { fetchJson, formatStatus } from './admin.js';

const UDP_PROBE = new URL('../lab/udp-probe.js', import.meta.url).pathname;

export async function labCommand(argv: string[]): Promise<void> {
  if (argv[0] === 'failover') {
    const { labFailover } = await import('./lab-failover.js');
    return labFailover();
  }
  if (argv[0] === 'cluster') {
    const { labCluster } = await import('./lab-cluster.js');
    return labCluster();
  }
  if (argv[0] !== 'demo') throw new WlvsError('WLVS_ERR_USAGE', 'usage: wlvs lab demo | wlvs lab failover | wlvs lab cluster');
  // steps (lines starting with a letter) carry the elapsed time; details and tables print as they are
  const progress = new Progress(null, (l) => console.log(l));
  const say = (s: string) => (/^[a-z]/i.test(s) ? progress.step(s) : console.log(s));
  say('wlvs demo: building the lab (network namespaces: client, director, rs1..rs3)');
  const topo = await buildTopology({ rsGateway: rsGatewayFor('nat', 'tap'), ipv6: true, rsGateway6: LAB_DIP6, tag: 'wd' });
  try {
    say('starting the real servers');
    await startRealServers(topo, { forwarding: 'nat', vip: LAB_VIP_TAP, addr: '::' });
    say(`  real servers ${topo.realServers.map((r) => `${r.address} ${r.address6}`).join(', ')} answer HTTP on :80 ` +
      'and UDP on :5353');
    const dir = await startDirector(topo, (token) => labConfig(topo, 'tap',
      { forwarding: 'nat', scheduler: 'wrr', weights: [1, 2, 1], ipv6: true }, token));
    say(`  wlvs runs in namespace ${topo.lab.ns('dir')}: NAT over two TAP devices, VIP ${LAB_VIP_TAP} and ` +
      `${LAB_VIP6_TAP}, scheduler wrr 1:2:1`);
    say('sending 12 HTTP requests and one UDP datagram through the VIP, 4 HTTP requests through the IPv6 VIP');
    const seen = new Map<string, number>();
    for (let i = 1; i <= 12; i++) {
      const out = await topo.lab.exec('cl', 'curl', ['-s', '--max-time', '3', `http://${LAB_VIP_TAP}/`]);
      const j = JSON.parse(out) as { server: string; client: string };
      seen.set(j.server, (seen.get(j.server) ?? 0) + 1);
      say(`  GET http://${LAB_VIP_TAP}/ #${String(i).padStart(2)} -> ${j.server} (it saw the client as ${j.client})`);
    }
    const udp = await topo.lab.exec('cl', ...scriptCommand(UDP_PROBE, [LAB_VIP_TAP, '5353', 'hello']));
    say(`  UDP ${LAB_VIP_TAP}:5353 "hello" -> ${udp.trim()}`);
    for (let i = 1; i <= 4; i++) {
      const out = await topo.lab.exec('cl', 'curl', ['-g', '-s', '--max-time', '3', `http://[${LAB_VIP6_TAP}]/`]);
      const j = JSON.parse(out) as { server: string; client: string };
      say(`  GET http://[${LAB_VIP6_TAP}]/ #${i} -> ${j.server} (it saw the client as ${j.client})`);
    }
    say(`\n  answers per server: ${[...seen].map(([k, v]) => `${k}=${v}`).join(' ')}\n`);
    say('reading the director\'s counters from its admin API');
    const status = await topo.lab.exec('dir', 'curl', ['-s', '--max-time', '5', `${dir.adminUrl}/api/v1/status`]);
    say(formatStatus(JSON.parse(status), { stats: true }));
    const totals = JSON.parse(status) as { packets: Record<string, number>; sessions: { count: number } };
    say(`\n  director: ${totals.packets.received} frames in, ${totals.packets.forwarded} forwarded, ` +
      `${totals.packets.host} to its host stack (ARP, neighbour discovery, ping), ${totals.packets.dropped} dropped; ${totals.sessions.count} sessions`);
    void fetchJson;
  } finally {
    say('\nwlvs demo: tearing the lab down');
    await topo.lab.destroy();
  }
}
