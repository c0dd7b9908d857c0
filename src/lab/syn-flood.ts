// syn-flood.ts — a spoofed-source SYN flood and a legitimate client for the lab (flood tests,
// bench/e2e/synflood.ts): trafgen (netsniff-ng) writes SYNs with random source addresses, ports
// and sequence numbers to the VIP's MAC from the client namespace, bounded in time (and in rate
// when asked); http-loop.ts opens one connection per request beside it. The director
// namespace gets a blackhole default route first, so answers to the spoofed sources die there
// instead of being routed anywhere.
import type { ChildProcess } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { join } from 'node:path';
import type { Topology } from './topology.js';

const HTTP_LOOP = new URL('./http-loop.js', import.meta.url).pathname;

/** neighbourMac returns the MAC the client namespace has for `address` (after it talked to it). */
export async function neighbourMac(topo: Topology, address: string): Promise<string> {
  await topo.lab.run(topo.client.role, 'ping', ['-c', '1', '-W', '2', address], { check: false });
  const out = await topo.lab.exec(topo.client.role, 'ip', ['-j', 'neigh', 'show', address]);
  const mac = (JSON.parse(out) as { lladdr?: string }[])[0]?.lladdr;
  if (!mac) throw new Error(`no neighbour entry for ${address} in the client namespace`);
  return mac;
}

/** sinkSpoofedReplies makes the director namespace drop whatever goes to an address it has no route for */
export async function sinkSpoofedReplies(topo: Topology): Promise<void> {
  await topo.lab.ip(topo.director.role, 'route', 'replace', 'blackhole', 'default');
}

/**
 * sinkAtDevice drops frames that wlvs writes into its client-side TAP for addresses outside the
 * lab (10.99.0.0/16) right where they enter the kernel (a stateless nftables netdev ingress
 * chain: no conntrack), instead of letting the namespace's router forward them to the blackhole
 * route. On a real network those answers leave through a NIC; here the router's forwarding would
 * run inside wlvs's write() on the same two CPUs as everything else, and the benchmark would
 * measure the lab's router, not the director. Call it after wlvs created the device.
 */
export async function sinkAtDevice(topo: Topology, device: string): Promise<void> {
  const dir = topo.lab.tempDir('sink');
  const f = join(dir, 'sink.nft');
  writeFileSync(f, `table netdev wlvssink {\n  chain in {\n    type filter hook ingress device ${device} priority 0;\n` +
    `    ip daddr != 10.99.0.0/16 counter drop\n  }\n}\n`);
  await topo.lab.exec(topo.director.role, 'nft', ['-f', f]);
}

export interface FloodOptions {
  vip: string;
  port: number;
  /** destination MAC: the VIP's owner on the client's segment */
  mac: string;
  seconds: number;
  /** packets per second, 0 = as fast as trafgen goes */
  pps?: number;
  /**
   * how `pps` is kept: `gap` (default) spaces the packets evenly (trafgen --gap, over as many
   * processes as the rate needs); `burst` is trafgen's --rate, which sends each second's packets
   * at once: measured here, 10,000 pps left as ~8,900 frames within 50 ms, then nothing for the
   * rest of the second
   */
  pacing?: 'gap' | 'burst';
  /** trafgen worker processes (default 1; with `gap` pacing, at least what the rate needs) */
  cpus?: number;
  /** run trafgen on this CPU only (taskset), or anywhere */
  pinCpu?: number;
}

/** startSynFlood starts trafgen in the client namespace; it ends by itself after `seconds`. */
export function startSynFlood(topo: Topology, o: FloodOptions): ChildProcess {
  const dir = topo.lab.tempDir('flood');
  const conf = join(dir, 'syn.cfg');
  // 54-byte frames: Ethernet, IPv4 with DF, TCP SYN; trafgen recomputes both checksums per packet
  writeFileSync(conf, `{ eth(da=${o.mac}), ipv4(saddr=drnd(), daddr=${o.vip}, ttl=64, df), ` +
    `tcp(sp=drnd(), dp=${o.port}, seq=drnd(), syn, window=64240) }\n`);
  const pin = o.pinCpu === undefined ? [] : ['taskset', '-c', String(o.pinCpu)];
  let cpus = o.cpus ?? 1;
  const rateArgs: string[] = [];
  if (o.pps && o.pacing === 'burst') rateArgs.push('--rate', `${o.pps}pps`);
  else if (o.pps) {
    // one CPU when pinned: trafgen binds each of its processes to a CPU of its own
    if (o.pinCpu === undefined) cpus = Math.min(availableParallelism(), Math.max(cpus, Math.ceil(o.pps / GAP_MAX_PPS)));
    rateArgs.push('--gap', `${Math.max(1, Math.round((1e6 * cpus) / o.pps) - GAP_SLEEP_US)}us`);
  }
  const args = ['-s', 'INT', String(o.seconds), ...pin, 'trafgen', '--dev', topo.client.iface, '--conf', conf,
    '--cpus', String(cpus), '-q', ...rateArgs];
  return topo.spawn(topo.client.role, 'timeout', args);
}

// trafgen sleeps between packets for --gap plus about 40 us more (the timer slack; measured here:
// gaps of 10, 20, 50, 70 us gave 20k, 17k, 11.4k, 9k pps), so one process paces up to ~20k pps
const GAP_SLEEP_US = 40;
const GAP_MAX_PPS = 20_000;

export interface LoopResult { t: number; ok: boolean; ms: number; err?: string }

/** startHttpLoop runs the legitimate client for `ms`; collect its lines with loopResults. */
export function startHttpLoop(topo: Topology, url: string, ms: number,
  o: { timeoutMs?: number; concurrency?: number } = {}):
  { child: ChildProcess; done: Promise<LoopResult[]> } {
  const child = topo.spawn(topo.client.role, process.execPath, [HTTP_LOOP, '--url', url, '--duration', String(ms),
    '--timeout', String(o.timeoutMs ?? 3000), '--concurrency', String(o.concurrency ?? 1)]);
  let buf = '';
  child.stdout?.on('data', (d: Buffer) => { buf += d.toString(); });
  const done = new Promise<LoopResult[]>((resolve) => child.once('exit', () => {
    resolve(buf.split('\n').filter(Boolean).map((l) => JSON.parse(l) as LoopResult));
  }));
  return { child, done };
}

/**
 * startCurlLoop is the legitimate client as curl: one curl process per request, one after
 * another on each of `lanes` shell loops, for `ms`; every request is a new connection. Same
 * results as startHttpLoop.
 */
export function startCurlLoop(topo: Topology, url: string, ms: number, o: { timeoutS?: number; lanes?: number } = {}):
  { child: ChildProcess; done: Promise<LoopResult[]> } {
  const lane = 'while [ "$(date +%s%3N)" -lt "$end" ]; do t=$(date +%s%3N); ' +
    `c=$(curl -s -o /dev/null -w '%{http_code}' --max-time ${o.timeoutS ?? 3} '${url}') || c="curl-exit-$?"; ` +
    'echo "$t $c $(( $(date +%s%3N) - t ))"; done';
  const script = `end=$(( $(date +%s%3N) + ${Math.round(ms)} )); ` +
    `${Array.from({ length: Math.max(1, o.lanes ?? 1) }, () => `( ${lane} ) &`).join(' ')} wait`;
  const child = topo.spawn(topo.client.role, 'timeout', [String(Math.ceil(ms / 1000) + 10), 'sh', '-c', script]);
  let buf = '';
  child.stdout?.on('data', (d: Buffer) => { buf += d.toString(); });
  const done = new Promise<LoopResult[]>((resolve) => child.once('exit', () => {
    resolve(buf.split('\n').filter(Boolean).map((l) => {
      const [t, code, took] = l.split(' ');
      return { t: Number(t), ok: code === '200', ms: Number(took), ...(code === '200' ? {} : { err: code }) };
    }));
  }));
  return { child, done };
}

/** successRate: share of requests that started in [from, to) and succeeded, and how many there were */
export function successRate(results: LoopResult[], from: number, to: number):
  { rate: number; n: number; failed: LoopResult[] } {
  const sel = results.filter((r) => r.t >= from && r.t < to);
  const failed = sel.filter((r) => !r.ok);
  return { rate: sel.length ? (sel.length - failed.length) / sel.length : 0, n: sel.length, failed };
}
