// lab-cluster.ts — `wlvs lab cluster`: three directors behind a router in a namespace lab. Each
// director runs wlvs with its own BIRD 2 and announces the VIP over BGP; the router (BIRD with
// `merge paths`, an L4 multipath hash) spreads the client's flows over them by ECMP. The demo
// starts downloads, shows which director carries each, kills the busiest director (SIGKILL),
// shows the router dropping it and the downloads completing intact on the survivors (TUN
// forwarding: Maglev picks the same server everywhere, mid-flow segments are accepted).
import { WlvsError } from '../errors.js';
import {
  CLUSTER_VIP, ROUTER_ADDRESS, buildClusterLab, carriers, downloads, startClusterServers,
} from '../lab/cluster.js';

const SIZE = 24 << 20;
const RATE = '3M';
const PORTS = Array.from({ length: 9 }, (_, i) => 41000 + i);
const CLIENT = '10.99.1.10';

export async function labCluster(): Promise<void> {
  const say = (s: string) => console.log(s);
  say('wlvs cluster demo: building the lab (client, router with BIRD, directors d1..d3 each with wlvs and BIRD, rs1..rs3)');
  const cl = await buildClusterLab({ tag: 'wk' });
  try {
    await startClusterServers(cl);
    say(`  router ${ROUTER_ADDRESS} (AS 65000): BIRD with merge paths, net.ipv4.fib_multipath_hash_policy=1, BFD 100 ms x 3`);
    for (const d of cl.directors) {
      const t0 = performance.now();
      await cl.startDirector(d.name);
      say(`  ${d.name} ${d.address} (AS ${d.as}): wlvs ready in ${Math.round(performance.now() - t0)} ms, its BIRD peering with the router`);
    }
    const t0 = performance.now();
    await cl.waitNexthops(cl.directors.map((d) => d.address), CLUSTER_VIP, 20_000);
    say(`  every BGP session up ${Math.round(performance.now() - t0)} ms later; the router's route to the VIP:`);
    say((await cl.lab.exec('router', 'ip', ['route', 'show', `${CLUSTER_VIP}/32`])).trimEnd().split('\n').map((l) => `      ${l.trim()}`).join('\n'));

    say(`\n  ${PORTS.length} downloads of ${SIZE >> 20} MiB from ${CLIENT}, ports ${PORTS[0]}-${PORTS.at(-1)}, at ${RATE}B/s each ...`);
    const run = downloads(cl, PORTS, SIZE, RATE);
    await new Promise((r) => setTimeout(r, 2000));
    const before = await carriers(cl, CLIENT);
    const load = new Map<string, number[]>();
    for (const p of PORTS) {
      const c = before.get(p)?.[0];
      if (!c) continue;
      load.set(c.director, [...(load.get(c.director) ?? []), p]);
    }
    for (const d of cl.directors) {
      const mine = load.get(d.name) ?? [];
      say(`  ${d.name} carries ${mine.length}: ${mine.map((p) => `:${p} -> ${before.get(p)![0].rip}`).join(', ') || '-'}`);
    }
    const victim = [...load].sort((a, b) => b[1].length - a[1].length)[0]?.[0];
    if (!victim) throw new WlvsError('WLVS_ERR_DEMO', 'no director carries a download');
    const victimAddress = cl.directors.find((d) => d.name === victim)!.address;
    say(`\n  killing ${victim} (SIGKILL to wlvs; its keeper and BIRD die with it) ...`);
    const k0 = performance.now();
    await cl.killDirector(victim, 'SIGKILL');
    const rest = cl.directors.filter((d) => d.child).map((d) => d.address);
    await cl.waitNexthops(rest, CLUSTER_VIP, 5000);
    say(`  the router dropped ${victimAddress} ${Math.round(performance.now() - k0)} ms after the kill: ` +
      `${(await cl.nexthops()).join(', ')} remain`);
    const results = await run;
    const after = await carriers(cl, CLIENT);
    let intact = 0;
    for (const r of results) {
      const was = before.get(r.port)?.[0];
      const now = (after.get(r.port) ?? []).map((c) => c.director).filter((x) => x !== was?.director);
      const moved = was?.director === victim ? ` -> continued on ${now.join('+') || '?'}` : '';
      if (r.intact) intact++;
      say(`  :${r.port} via ${was?.director ?? '?'}${moved}, server ${was?.rip ?? '?'}: ` +
        `${r.intact ? 'SHA-256 matches' : `BROKEN (status ${r.status})`}`);
    }
    say(`\n  ${intact}/${results.length} downloads complete and intact; ${load.get(victim)!.length} of them moved off ${victim} mid-transfer`);
    if (intact !== results.length) throw new WlvsError('WLVS_ERR_DEMO', 'a download did not survive the director\'s death');
  } finally {
    say('\nwlvs cluster demo: tearing the lab down');
    await cl.destroy();
  }
}
