// synflood.ts — the SYN-flood benchmark of issue 9, in network namespaces (the standard lab:
// client, director, three real servers, NAT over TAP, a 65,536-session table).
//
// For each defence (nobudget: embryonic sessions may take the whole table, only a full table
// evicts one, no proxy; budget: embryonic sessions limited to a quarter of the table, evicted
// oldest first, no proxy: what DR and TUN services get; proxy: the budget plus the SYN proxy in
// auto mode, the default for NAT and Full-NAT) a fresh director runs
// one timeline: a long iperf3 transfer and a legitimate client opening one HTTP connection per
// request run throughout; after BEFORE seconds trafgen sends spoofed-source SYNs (random
// address, port and ISN) as fast as it can from the client namespace for FLOOD seconds; then
// AFTER seconds without the flood. Per phase: the client's success rate and the transfer's rate.
// Then, without a flood, the SYN proxy's cost on new connections per second: wrk -c32 with
// `Connection: close` against nginx on the real servers, proxy off and forced on, alternating.
//   npm run bench:synflood -- [--flood 12] [--before 5] [--after 8] [--rounds 3] [--pps 0] [--json]
//     [--pacing burst|gap] [--defences nobudget,budget,proxy] [--sink tc|route] [--pin]
// --pin puts the director on CPU 0 and trafgen on CPU 1 (taskset), as a generator on another
// machine would leave the director its CPU; the kernel's delivery of the flood into the TAP
// still runs on either, and the servers, the client and iperf3 float.
// Run it under the machine lock: flock /tmp/wlvs-heavy.lock npm run bench:synflood
import { readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { buildTopology, type Topology } from '../../src/lab/topology.js';
import { pinGroups } from './pin.js';
import {
  LAB_VIP_TAP, type RunningDirector, labConfig, rsGatewayFor, startDirector, startRealServers,
} from '../../src/lab/lab-director.js';
import {
  neighbourMac, sinkAtDevice, sinkSpoofedReplies, startHttpLoop, startSynFlood, successRate,
} from '../../src/lab/syn-flood.js';

const { values } = parseArgs({
  options: {
    flood: { type: 'string', default: '12' },
    before: { type: 'string', default: '5' },
    after: { type: 'string', default: '8' },
    rounds: { type: 'string', default: '3' },
    pps: { type: 'string', default: '0' },
    /** how --pps is kept: burst (trafgen --rate: each second's SYNs at once, docs/syn-flood.md's figures) or gap */
    pacing: { type: 'string', default: 'burst' },
    'wrk-seconds': { type: 'string', default: '8' },
    defences: { type: 'string', default: 'nobudget,budget,proxy' },
    /** where answers to spoofed sources die: tc (at wlvs's device) or route (the namespace's blackhole) */
    sink: { type: 'string', default: 'tc' },
    json: { type: 'boolean', default: false },
    pin: { type: 'boolean', default: false },
    /** experiment: the director's TAPs' queue length (the kernel's default is 500 frames) */
    txqueuelen: { type: 'string', default: '' },
  },
});
if (values.pacing !== 'burst' && values.pacing !== 'gap') throw new Error(`--pacing must be burst or gap, not ${values.pacing}`);
const PACING: 'burst' | 'gap' = values.pacing;
const FLOOD = Number(values.flood);
const BEFORE = Number(values.before);
const AFTER = Number(values.after);
const VIP = LAB_VIP_TAP;
const WRK_PORT = 8081;

type Defence = 'nobudget' | 'budget' | 'proxy';

/** config: the lab's NAT-over-TAP configuration with a 65,536-session table and the defence */
function config(topo: Topology, token: string, defence: Defence, wrkProxy: 'off' | 'on' = 'off'): Record<string, unknown> {
  const c = labConfig(topo, 'tap', { forwarding: 'nat' }, token) as { director: Record<string, unknown>; services: Record<string, unknown>[] };
  c.director.sessions = 65536;
  if (defence === 'nobudget') c.director.syn_flood = { embryonic_share: 1 };
  for (const s of c.services) if (s.protocol === 'tcp') s.syn_proxy = defence === 'proxy' ? 'auto' : 'off';
  c.services.push({
    name: 'wrk', vip: VIP, port: WRK_PORT, protocol: 'tcp', scheduler: 'rr', forwarding: 'nat', health_check: { type: 'none' },
    syn_proxy: wrkProxy, real_servers: topo.realServers.map((r) => ({ address: r.address, port: WRK_PORT })),
  });
  return c;
}

/** CPU seconds (user + system) used so far by the processes of group `pgid` (wlvs and its threads) */
function groupCpuS(pgid: number): number {
  let ticks = 0;
  for (const pid of readdirSync('/proc').filter((d) => /^\d+$/.test(d))) {
    try {
      const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
      const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      // fields after the command: state(3) ppid(4) pgrp(5) ... utime(14) stime(15)
      if (Number(f[2]) === pgid) ticks += Number(f[11]) + Number(f[12]);
    } catch {
      // the process ended meanwhile
    }
  }
  return ticks / 100; // USER_HZ
}

/** busy CPU seconds of the whole machine so far (every core), from /proc/stat */
function machineBusyS(): number {
  const f = readFileSync('/proc/stat', 'utf8').split('\n')[0].split(/\s+/).slice(1).map(Number);
  return (f.reduce((a, b) => a + b, 0) - f[3] - f[4]) / 100;
}

async function metrics(topo: Topology, dir: RunningDirector): Promise<string> {
  return topo.lab.exec(topo.director.role, 'curl', ['-s', '--max-time', '5', `${dir.adminUrl}/metrics`]);
}

const value = (text: string, re: RegExp) => Number(re.exec(text)?.[1] ?? 0);

interface FloodRow {
  defence: Defence;
  generator_pps: number; syns_seen: number; cookies_sent: number; evicted: number; table_full: number;
  embryonic_max_seen: number;
  /** wlvs's CPU (cores) and the machine's busy cores during the flood */
  wlvs_cpu_during: number; machine_busy_during: number;
  legit: Record<'before' | 'during' | 'after', { ok: number; n: number; p50_ms: number; p99_ms: number }>;
  transfer_gbps: Record<'before' | 'during' | 'after', number>; transfer_completed: boolean; transfer_retransmits: number;
  protection_log: string[];
}

const pct = (xs: number[], p: number) => {
  if (!xs.length) return 0;
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor(p * s.length))];
};

/** pinDirector puts every thread of every process of the director's group (its workers too) on `cpu` */
function pinDirector(dir: RunningDirector, cpu: number): void {
  // for the rest of the run: the director is stopped after it, so nothing to restore
  if (dir.child.pid) pinGroups([dir.child.pid], cpu);
}

async function floodRun(topo: Topology, defence: Defence): Promise<FloodRow> {
  const dir = await startDirector(topo, (token) => config(topo, token, defence));
  try {
    if (values.sink === 'tc') await sinkAtDevice(topo, 'wlvs-ext');
    if (values.txqueuelen) {
      for (const dev of ['wlvs-ext', 'wlvs-int']) {
        await topo.lab.exec(topo.director.role, 'ip', ['link', 'set', 'dev', dev, 'txqueuelen', values.txqueuelen]);
      }
    }
    const mac = await neighbourMac(topo, VIP);
    const total = BEFORE + FLOOD + AFTER;
    const tIperf = Date.now();
    const iperf = topo.lab.exec(topo.client.role, 'iperf3', ['-c', VIP, '-p', '5201', '-t', String(total), '-i', '1', '-J'],
      (total + 30) * 1000).then((o) => o, (e: Error) => `ERROR ${e.message}`);
    await new Promise((r) => setTimeout(r, 300));
    const loop = startHttpLoop(topo, `http://${VIP}/`, (total - 0.5) * 1000, { timeoutMs: 3000 });
    const t0 = Date.now();
    let embryonicMax = 0;
    const sampler = setInterval(() => {
      metrics(topo, dir).then((m) => { embryonicMax = Math.max(embryonicMax, value(m, /^wlvs_embryonic_sessions (\d+)/m)); }, () => undefined);
    }, 1000);
    await new Promise((r) => setTimeout(r, BEFORE * 1000));
    const tf0 = Date.now();
    const pgid = dir.child.pid ?? 0;
    const cpu0 = groupCpuS(pgid);
    const busy0 = machineBusyS();
    if (values.pin) pinDirector(dir, 0);
    const flood = startSynFlood(topo, { vip: VIP, port: 80, mac, seconds: FLOOD, cpus: 1, pps: Number(values.pps),
      pacing: PACING, pinCpu: values.pin ? 1 : undefined });
    let floodOut = '';
    flood.stdout?.on('data', (d: Buffer) => { floodOut += d.toString(); });
    flood.stderr?.on('data', (d: Buffer) => { floodOut += d.toString(); });
    await new Promise((r) => flood.once('exit', r));
    const tf1 = Date.now();
    const wlvsCpu = (groupCpuS(pgid) - cpu0) / ((tf1 - tf0) / 1000);
    const machineBusy = (machineBusyS() - busy0) / ((tf1 - tf0) / 1000);
    const results = await loop.done;
    const ip = await iperf;
    clearInterval(sampler);
    const m = await metrics(topo, dir);
    if (process.env.WLVS_BENCH_DEBUG) {
      console.error(m.split('\n').filter((l) => /^wlvs_(drops|syn|embryonic|sessions)/.test(l)).join('\n'));
      console.error('legit failures:', results.filter((x) => !x.ok).map((x) => `${x.t - t0}ms ${x.err ?? ''}`).join('; '));
    }
    const sent = Number(/(\d+) packets outgoing/.exec(floodOut)?.[1] ?? 0);
    const phase = (a: number, b: number) => {
      const r = successRate(results, a, b);
      const ms = results.filter((x) => x.t >= a && x.t < b && x.ok).map((x) => x.ms);
      return { ok: Number((r.rate * 100).toFixed(2)), n: r.n, p50_ms: pct(ms, 0.5), p99_ms: pct(ms, 0.99) };
    };
    let transfer = { before: 0, during: 0, after: 0 };
    let completed = false;
    let retransmits = 0;
    if (!ip.startsWith('ERROR')) {
      const j = JSON.parse(ip) as {
        start: { timestamp: { timesecs: number } }; error?: string;
        intervals: { sum: { start: number; bits_per_second: number } }[]; end: { sum_sent?: { retransmits?: number } };
      };
      completed = !j.error && j.intervals.length >= total - 1;
      retransmits = j.end.sum_sent?.retransmits ?? 0;
      // timesecs is whole seconds: the spawn time is the better origin (the connect takes ~1 ms)
      const base = tIperf;
      if (process.env.WLVS_BENCH_DEBUG) console.error(j.intervals.map((i) => (i.sum.bits_per_second / 1e9).toFixed(2)).join(' '));
      const mean = (a: number, b: number) => {
        const xs = j.intervals.filter((i) => base + i.sum.start * 1000 >= a && base + (i.sum.start + 1) * 1000 <= b)
          .map((i) => i.sum.bits_per_second);
        return xs.length ? Number((xs.reduce((x, y) => x + y, 0) / xs.length / 1e9).toFixed(2)) : 0;
      };
      transfer = { before: mean(t0, tf0), during: mean(tf0 + 1000, tf1), after: mean(tf1 + 1000, Infinity) };
    }
    return {
      defence,
      generator_pps: Math.round(sent / ((tf1 - tf0) / 1000)),
      syns_seen: value(m, /^wlvs_syn_received_total (\d+)/m),
      cookies_sent: value(m, /^wlvs_syn_cookies_total\{outcome="sent"\} (\d+)/m),
      evicted: value(m, /^wlvs_embryonic_evicted_total (\d+)/m),
      table_full: value(m, /^wlvs_drops_total\{reason="table_full"\} (\d+)/m),
      embryonic_max_seen: embryonicMax,
      wlvs_cpu_during: Number(wlvsCpu.toFixed(2)), machine_busy_during: Number(machineBusy.toFixed(2)),
      // the flood's first half second and the second after it are left out: a request that
      // straddles the edge belongs to neither phase
      legit: { before: phase(t0, tf0), during: phase(tf0 + 500, tf1), after: phase(tf1 + 1000, Infinity) },
      transfer_gbps: transfer, transfer_completed: completed, transfer_retransmits: retransmits,
      protection_log: dir.output.filter((l) => l.includes('"syn_protection"')).map((l) => {
        const o = JSON.parse(l) as { service: string; to: string; reason: string | null };
        return `${o.service}:${o.to}${o.reason ? `(${o.reason})` : ''}`;
      }),
    };
  } finally {
    await topo.lab.stop(dir.child);
  }
}

async function connRate(topo: Topology, proxy: 'off' | 'on'): Promise<number> {
  const dir = await startDirector(topo, (token) => config(topo, token, 'proxy', proxy));
  try {
    const out = await topo.lab.exec(topo.client.role, 'wrk', ['-t1', '-c32', `-d${values['wrk-seconds']}s`, '-H', 'Connection: close',
      `http://${VIP}:${WRK_PORT}/`], (Number(values['wrk-seconds']) + 20) * 1000);
    const errors = /Socket errors: (.*)/.exec(out)?.[1];
    if (errors) console.error(`  wrk (proxy ${proxy}) socket errors: ${errors}`);
    return Number(/Requests\/sec:\s+([\d.]+)/.exec(out)?.[1]);
  } finally {
    await topo.lab.stop(dir.child);
  }
}

async function main(): Promise<void> {
  const topo = await buildTopology({ rsGateway: rsGatewayFor('nat', 'tap'), tag: 'bsf' });
  try {
    await startRealServers(topo, { forwarding: 'nat', vip: VIP, iperf: true });
    await sinkSpoofedReplies(topo);
    await topo.lab.sysctl(topo.client.role, 'net.ipv4.tcp_tw_reuse', 1);
    const work = topo.lab.tempDir('nginx');
    for (const r of topo.realServers) {
      const conf = join(work, `${r.role}.conf`);
      writeFileSync(conf, `worker_processes 1;\npid ${work}/${r.role}.pid;\nerror_log stderr warn;\ndaemon off;\n` +
        `events { worker_connections 8192; }\nhttp { access_log off; server { listen ${WRK_PORT} reuseport backlog=4096; ` +
        `location / { return 200 "ok\\n"; } } }\n`);
      topo.lab.spawn(r.role, 'nginx', ['-c', conf, '-p', work]);
    }
    await new Promise((r) => setTimeout(r, 500));
    const rows: FloodRow[] = [];
    for (const d of values.defences!.split(',').filter(Boolean) as Defence[]) {
      const row = await floodRun(topo, d);
      rows.push(row);
      if (values.json) console.log(JSON.stringify({ bench: 'synflood', ...row }));
      else console.error(`  ${d}: ${JSON.stringify(row)}`);
    }
    const rates: Record<'off' | 'on', number[]> = { off: [], on: [] };
    for (let k = 0; k < Number(values.rounds); k++) {
      for (const p of (k % 2 ? ['on', 'off'] : ['off', 'on']) as ('off' | 'on')[]) rates[p].push(await connRate(topo, p));
    }
    const med = (xs: number[]) => pct(xs, 0.5);
    const cost = {
      proxy_off: med(rates.off), proxy_on: med(rates.on), rounds: rates,
      ratio: Number((med(rates.on) / med(rates.off)).toFixed(3)),
    };
    if (values.json) {
      console.log(JSON.stringify({ bench: 'synproxy_conn_rate', ...cost }));
      return;
    }
    console.log(`SYN flood: ${FLOOD} s of spoofed SYNs, 65,536-session table, NAT over TAP (before ${BEFORE} s, after ${AFTER} s)`);
    console.log('defence   generator  SYNs seen  legit ok before/during/after (n during)  p99 ms during  ' +
      'transfer Gbps before/during/after  completed  table_full  evicted  cookies  wlvs CPU / busy cores during');
    for (const r of rows) {
      console.log(`${r.defence.padEnd(9)} ${String(r.generator_pps).padStart(9)}  ${String(r.syns_seen).padStart(9)}  ` +
        `${r.legit.before.ok}/${r.legit.during.ok}/${r.legit.after.ok} % (${r.legit.during.n})`.padEnd(42) +
        `${String(r.legit.during.p99_ms).padStart(13)}  ${`${r.transfer_gbps.before}/${r.transfer_gbps.during}/${r.transfer_gbps.after}`.padEnd(35)}` +
        `${String(r.transfer_completed).padEnd(11)}${String(r.table_full).padEnd(12)}${String(r.evicted).padEnd(9)}` +
        `${String(r.cookies_sent).padEnd(9)}${r.wlvs_cpu_during} / ${r.machine_busy_during}`);
    }
    for (const r of rows) {
      console.log(`${r.defence}: legit p50 ms before/during/after ${r.legit.before.p50_ms}/${r.legit.during.p50_ms}/` +
        `${r.legit.after.p50_ms}, p99 ${r.legit.before.p99_ms}/${r.legit.during.p99_ms}/${r.legit.after.p99_ms}; ` +
        `embryonic max seen ${r.embryonic_max_seen}; ${r.protection_log.join(' ')}`);
    }
    console.log(`new conn/s without a flood (wrk -c32, Connection: close, median of ${values.rounds}): proxy off ${cost.proxy_off.toFixed(0)}, ` +
      `forced on ${cost.proxy_on.toFixed(0)} (${((cost.ratio - 1) * 100).toFixed(1)} %)`);
  } finally {
    await topo.destroy();
  }
}

await main();
