// cluster.ts — figures of the cluster (npm run bench:cluster, as root): the cluster lab of
// src/lab/cluster.ts (a client, a router with BIRD and ECMP, three directors each with wlvs and
// BIRD, three real servers), for TUN and Full-NAT forwarding:
//   conn_rate   new TCP connections a second (wrk -t1 -c32, Connection: close) through three
//               directors, and through one (the other two drained: their routes withdrawn), in
//               alternating rounds in the same lab
//   throughput  iperf3 -P 4 from the client to a server (the data crosses the directors)
//   withdraw    time from a director's death to the router's route without it: wlvs SIGKILLed
//               (its BIRD dies with it, the session closes) and the whole director frozen
//               (wlvs, keeper and BIRD SIGSTOPped: only BFD, 100 ms x 3, notices)
//   broken      downloads a dead director carried that did not complete intact
// On this 2-core machine every director, the client, the router and the servers share the same
// two cores: three directors cannot add capacity there, so conn_rate and throughput say what the
// cluster costs (ECMP, BGP, three data paths competing for two cores), not how it scales.
//   node dist/bench/e2e/cluster.js [--modes tun,fullnat] [--seconds 8] [--rounds 2] [--json]
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import {
  CLUSTER_VIP, type Carrier, type ClusterLab, buildClusterLab, carriers, downloads, startClusterServers,
} from '../../src/lab/cluster.js';

const { values } = parseArgs({
  options: {
    modes: { type: 'string', default: 'tun,fullnat' }, seconds: { type: 'string', default: '8' },
    rounds: { type: 'string', default: '2' }, json: { type: 'boolean', default: false },
  },
});
const T = Number(values.seconds);
const ROUNDS = Number(values.rounds);
const CIP = '10.99.1.10';
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function connRate(cl: ClusterLab): Promise<number> {
  const out = await cl.lab.exec(cl.client.role, 'wrk', ['-t1', '-c32', `-d${T}s`, '-H', 'Connection: close', `http://${CLUSTER_VIP}/`],
    (T + 20) * 1000);
  const errors = /Socket errors: (.*)/.exec(out)?.[1];
  if (errors) console.error(`  wrk socket errors: ${errors}`);
  return Number(/Requests\/sec:\s+([\d.]+)/.exec(out)?.[1]) / 1000;
}

async function throughput(cl: ClusterLab): Promise<number> {
  const out = await cl.lab.exec(cl.client.role, 'iperf3', ['-c', CLUSTER_VIP, '-p', '5201', '-t', String(T), '-P', '4', '-J'],
    (T + 30) * 1000);
  const report = JSON.parse(out) as { end: { sum_received: { bits_per_second: number } } };
  return report.end.sum_received.bits_per_second / 1e9;
}

/** directors(cl, n): only the first n directors announce the VIP (the others drained) */
async function directors(cl: ClusterLab, n: number): Promise<void> {
  for (const [i, d] of cl.directors.entries()) {
    if (i < n) await cl.apiWrite(d.name, 'POST', '/api/v1/cluster/resume');
    else await cl.apiWrite(d.name, 'POST', '/api/v1/cluster/drain', { deadline: 3600 });
  }
  await cl.waitNexthops(cl.directors.slice(0, n).map((d) => d.address), CLUSTER_VIP, 10_000);
  await sleep(500);
}

/** withdrawal: ms from `act` until the router's route to the VIP has no next hop `address` */
async function withdrawal(cl: ClusterLab, address: string, act: () => void): Promise<number> {
  const mon = cl.lab.spawn(cl.router.role, 'ip', ['monitor', 'route']);
  await sleep(200);
  let t0 = 0;
  const seen = new Promise<number>((resolve) => {
    let buf = '';
    mon.stdout!.on('data', (d: Buffer) => {
      const now = performance.now();
      buf += d.toString();
      // a route line for the VIP that no longer names the director (multipath lines follow it,
      // indented). ip monitor flushes after each message, so a chunk that ends a line ends its
      // route: waiting for the next route's first line would time the next change instead
      const routes = buf.split(/\n(?=\S)/);
      buf = buf.endsWith('\n') ? '' : routes.pop() ?? '';
      for (const r of routes) {
        if (t0 && r.includes(CLUSTER_VIP) && (!r.includes(address) || r.startsWith('Deleted'))) resolve(now - t0);
      }
    });
  });
  t0 = performance.now();
  act();
  const ms = await Promise.race([seen, sleep(10_000).then(() => NaN)]);
  await cl.lab.stop(mon, 500);
  return ms;
}

/** childrenOf: the processes `pid` started, and theirs (wlvs: its keeper, and the keeper's BIRD) */
function childrenOf(pid: number): number[] {
  let text = '';
  try { text = readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8'); } catch { return []; }
  return text.trim().split(/\s+/).filter(Boolean).map(Number).flatMap((k) => [k, ...childrenOf(k)]);
}


interface Figures {
  mode: string;
  connRate: { one: number[]; three: number[] };
  throughput: { one: number[]; three: number[] };
  withdrawKill: number[];
  withdrawFreeze: number[];
  broken: { carried: number; broken: number; total: number };
}

async function measure(mode: 'tun' | 'fullnat'): Promise<Figures> {
  const f: Figures = {
    mode, connRate: { one: [], three: [] }, throughput: { one: [], three: [] }, withdrawKill: [], withdrawFreeze: [],
    broken: { carried: 0, broken: 0, total: 0 },
  };
  const cl = await buildClusterLab({ tag: 'wb', forwarding: mode });
  try {
    await startClusterServers(cl, { iperf: true });
    // wrk closes first: the client's TIME_WAIT ports must be reusable; its ports stay below the
    // downloads' fixed ones (50000 and up), which a TIME_WAIT of the same 4-tuple would refuse
    await cl.lab.sysctl(cl.client.role, 'net.ipv4.tcp_tw_reuse', 1);
    await cl.lab.sysctl(cl.client.role, 'net.ipv4.ip_local_port_range', '1024 49999');
    for (const d of cl.directors) await cl.startDirector(d.name);
    await cl.waitNexthops(cl.directors.map((d) => d.address), CLUSTER_VIP, 20_000);
    for (let r = 0; r < ROUNDS; r++) {
      for (const n of r % 2 ? [3, 1] : [1, 3]) {
        await directors(cl, n);
        const key = n === 1 ? 'one' : 'three';
        f.connRate[key].push(await connRate(cl));
        f.throughput[key].push(await throughput(cl));
        console.error(`  ${mode} round ${r + 1}, ${n} director(s): ${f.connRate[key].at(-1)!.toFixed(2)} kconn/s, ` +
          `${f.throughput[key].at(-1)!.toFixed(2)} Gbit/s`);
      }
    }
    await directors(cl, 3);
    for (let r = 0; r < 3; r++) {
      // a death mid-transfer: which downloads did the dead director carry, and did they survive
      const ports = Array.from({ length: 12 }, (_, i) => 50000 + r * 100 + mode.length * 1000 + i);
      const run = downloads(cl, ports, 16 << 20, '3M');
      await sleep(1500);
      // wrk left thousands of TIME_WAIT sessions of the same client behind
      const before = await carriers(cl, CIP, 'web', 'ESTABLISHED');
      const owner = (p: number) => {
        const cs = before.get(p) ?? [];
        // Full-NAT: every member holds every session; the owner is the one whose local address it uses
        return mode === 'fullnat' ? cl.directors.find((d) => d.lip === cs[0]?.lip)?.name : cs[0]?.director;
      };
      const load = new Map<string, number>();
      for (const p of ports) load.set(owner(p) ?? 'none', (load.get(owner(p) ?? 'none') ?? 0) + 1);
      const victim = cl.directors.find((d) => d.name === [...load].filter(([k]) => k !== 'none').sort((a, b) => b[1] - a[1])[0][0])!;
      const ms = await withdrawal(cl, victim.address, () => victim.child!.kill('SIGKILL'));
      f.withdrawKill.push(ms);
      const results = await run;
      victim.child = null;
      const carried = ports.filter((p) => owner(p) === victim.name);
      f.broken.carried += carried.length;
      f.broken.total += ports.length;
      const broken = results.filter((x) => !x.intact);
      f.broken.broken += broken.length;
      const after = broken.length ? await carriers(cl, CIP) : new Map<number, Carrier[]>();
      for (const x of broken) {
        console.error(`  ${mode}: port ${x.port} before the kill: ${JSON.stringify(before.get(x.port) ?? [])}, after: ${JSON.stringify(after.get(x.port) ?? [])}`);
        console.error(`  ${mode}: download from port ${x.port} broken (HTTP ${x.status}, ${x.sha256 === x.expected ? 'checksum ok' : 'checksum differs'}), ` +
          `carried by ${owner(x.port) ?? 'no director'}, ${victim.name} killed`);
      }
      await sleep(500);
      await cl.startDirector(victim.name);
      await cl.waitNexthops(cl.directors.map((d) => d.address), CLUSTER_VIP, 15_000);
      await sleep(1000);
      // the whole director frozen (a hung host): wlvs, its keeper and its BIRD stopped
      const frozen = cl.directors[(r + 1) % 3];
      const pids = [frozen.child!.pid!, ...childrenOf(frozen.child!.pid!)];
      f.withdrawFreeze.push(await withdrawal(cl, frozen.address, () => { for (const p of pids) process.kill(p, 'SIGSTOP'); }));
      for (const p of pids) process.kill(p, 'SIGCONT');
      await cl.waitNexthops(cl.directors.map((d) => d.address), CLUSTER_VIP, 20_000);
      await sleep(1000);
    }
  } finally {
    await cl.destroy();
  }
  return f;
}

async function main(): Promise<void> {
  const all: Figures[] = [];
  for (const mode of values.modes!.split(',') as ('tun' | 'fullnat')[]) all.push(await measure(mode));
  if (values.json) {
    for (const f of all) console.log(JSON.stringify(f));
    return;
  }
  console.log('| mode | conn/s, 1 director | conn/s, 3 directors | Gbit/s, 1 | Gbit/s, 3 | withdrawn after SIGKILL (ms) | ' +
    'after a freeze, BFD (ms) | downloads broken by a death |');
  console.log('|---|---|---|---|---|---|---|---|');
  for (const f of all) {
    const r = (xs: number[]) => xs.map((x) => x.toFixed(0)).join(', ');
    console.log(`| ${f.mode} | ${median(f.connRate.one).toFixed(2)}k | ${median(f.connRate.three).toFixed(2)}k | ` +
      `${median(f.throughput.one).toFixed(2)} | ${median(f.throughput.three).toFixed(2)} | ${r(f.withdrawKill)} | ${r(f.withdrawFreeze)} | ` +
      `${f.broken.broken} of ${f.broken.total} (${f.broken.carried} on the dead one) |`);
  }
}

await main();
