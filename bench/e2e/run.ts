// bench:e2e — wlvs (NAT over TAP, offloads on) against what users would pick instead, side by
// side in one run, each target in a fresh lab of the same namespace topology (client ->
// director -> 3 real servers):
//   direct    no load balancer: the client talks to one real server through the kernel router
//   nftables  in-kernel DNAT (numgen round robin; jhash source affinity for iperf3)
//   haproxy   HAProxy mode tcp (roundrobin; balance source for iperf3)
//   nginx     nginx stream proxy, TCP and UDP (round robin; hash $remote_addr for iperf3)
//   wlvs      this project (NAT over TAP, offloads on), one data-path worker: every wlvs target
//             names its count (director.workers' default, one per core, is wlvs-2w here)
//   wlvs-busy the same with director.busy_poll_us: 200
//   wlvs-2w   the same with director.workers: 2 (two data-path threads, one queue each)
//   wlvs-2w-kq  two workers with director.queue_steering: kernel (the device's flow table picks
//             the worker instead of wlvs's flow-hash program; not in the default list)
//   wlvs-uring, wlvs-2w-uring  wlvs and wlvs-2w with director.io_engine: io_uring (one system
//             call a wake-up) instead of the default, epoll (not in the default list)
//   wlvs-fnat Full-NAT over TAP (two LIPs); wlvs-tun, wlvs-tun-fnat: NAT and Full-NAT over a TUN
//             device (not in the default list: `--targets wlvs,wlvs-fnat --metrics conn_rate`)
// A wlvs target runs the director on --runtime (node by default); NAME@node or NAME@deno in
// --targets picks the runtime per target, so both can be measured side by side in one run.
// Metrics: TCP throughput with 1 and 4 streams (iperf3), small-packet UDP pps (trafgen, 106-byte
// frames over 16 flows, counted by a stateless nft counter at the real servers; udp_gso: 64-byte
// datagrams again, sent by 16 sockets with UDP_SEGMENT in bursts of 64, as QUIC stacks send, so a
// kernel and a balancer that keep super-packets whole move 64 datagrams for one; not in the
// default list), new TCP
// connections per second (wrk, Connection: close, against nginx), and round-trip time
// (sockperf ping-pong over TCP, client and server pinned to CPUs; rtt_1cpu: the same with the
// client, the server and every thread of the balancer on CPU 0, issue 12's "pinned to one CPU").
//   npm run bench:e2e -- [--quick] [--duration S] [--json] [--runtime node|deno] [--targets direct,wlvs,wlvs@deno,...]
//     [--metrics tcp_1,...] [--perf DIR]   (perf: a perf profile of the balancer during each metric)
import { Progress } from '../../src/lab/progress.js';
import { mkdirSync, mkdtempSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { parseArgs } from 'node:util';
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { buildTopology, CLIENT_NET, SERVER_NET, type Topology } from '../../src/lab/topology.js';
import { waitForLine } from '../../src/lab/netns.js';
import { LAB_LIPS_TAP, LAB_LIPS_TUN, LAB_VIP_TUN, startDirector } from '../../src/lab/lab-director.js';
import { startNginx } from '../../src/lab/nginx.js';
import { parseRuntime, type Runtime } from '../../src/sys/runtime.js';
import { pinGroups } from './pin.js';

const { values } = parseArgs({
  options: {
    quick: { type: 'boolean', default: false },
    duration: { type: 'string' },
    json: { type: 'boolean', default: false },
    targets: { type: 'string', default: 'direct,wlvs,wlvs-busy,nftables,haproxy,nginx' },
    runtime: { type: 'string', default: 'node' },
    // perf record (software clock, call graphs) of the balancer process during each metric:
    // DIR/TARGET-METRIC.{data,txt}
    perf: { type: 'string' },
    metrics: { type: 'string', default: 'tcp_1,tcp_4,udp_pps,conn_rate,rtt,rtt_1cpu' },
  },
});
const T = Number(values.duration ?? (values.quick ? 3 : 10));
const VIP = `${CLIENT_NET}.100`;
const RS = [11, 12, 13].map((k) => `${SERVER_NET}.${k}`);
const KERNEL_GW = `${SERVER_NET}.254`;
const WLVS_GW = `${SERVER_NET}.1`;
const UDP_PORT = 9;
const RTT_PORT = 11111;

interface Target {
  name: string;
  /** the address the client uses */
  address: string;
  setup(topo: Topology): Promise<void>;
  teardown(topo: Topology): Promise<void>;
  udp: boolean;
  /** the balancer's process, whose CPU time is sampled around each metric (none in-kernel) */
  pid?(): number | undefined;
  /** wlvs: its workers' waits for the session table's lock so far (/api/v1/status table_lock) */
  lockWaits?(topo: Topology): Promise<{ waits: number; sleeps: number } | null>;
}

interface Row {
  target: string; metric: string; value: number | null; unit: string; note?: string;
  /** the balancer process's CPU use during the metric, in % of one core */
  cpu?: { user: number; sys: number };
  /** wlvs: waits for the session table's lock during the metric, per second (more than one worker) */
  lock?: { waits: number; sleeps: number };
}

const TICKS = 100; // USER_HZ: /proc/PID/stat counts CPU time in these

/** statFields: the fields of /proc/PID/stat after the command name (field 3 on), or null */
function statFields(pid: number | string): string[] | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  } catch {
    return null;
  }
}

/**
 * cpuTicks: utime and stime (fields 14 and 15) of a process and its children, so that a
 * master process with worker processes (nginx) counts its workers
 */
function cpuTicks(pid: number): [number, number] | null {
  const own = statFields(pid);
  if (!own) return null;
  const t: [number, number] = [Number(own[11]), Number(own[12])];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    const f = statFields(entry);
    if (f && Number(f[1]) === pid) {
      t[0] += Number(f[11]);
      t[1] += Number(f[12]);
    }
  }
  return t;
}

const results: Row[] = [];
const work = mkdtempSync(join(tmpdir(), 'wlvs-bench-'));

async function rsGateway(topo: Topology, gw: string): Promise<void> {
  for (const r of topo.realServers) await topo.lab.ip(r.role, 'route', 'replace', 'default', 'via', gw);
}

const direct: Target = {
  name: 'direct', address: RS[0], udp: true,
  async setup(topo) { await rsGateway(topo, KERNEL_GW); },
  async teardown() { /* nothing */ },
};

const nftables: Target = {
  name: 'nftables', address: VIP, udp: true,
  async setup(topo) {
    await rsGateway(topo, KERNEL_GW);
    await topo.lab.ip('dir', 'addr', 'add', `${VIP}/32`, 'dev', 'br-ext');
    const map = RS.map((a, i) => `${i} : ${a}`).join(', ');
    const rules = `table ip wlvsbench {
  chain pre {
    type nat hook prerouting priority dstnat;
    ip daddr ${VIP} tcp dport 5201 dnat to jhash ip saddr mod ${RS.length} map { ${map} }
    ip daddr ${VIP} tcp dport ${RTT_PORT} dnat to jhash ip saddr mod ${RS.length} map { ${map} }
    ip daddr ${VIP} dnat to numgen inc mod ${RS.length} map { ${map} }
  }
}`;
    const f = join(work, 'nft.conf');
    writeFileSync(f, rules);
    await topo.lab.exec('dir', 'nft', ['-f', f]);
  },
  async teardown(topo) {
    await topo.lab.exec('dir', 'nft', ['delete', 'table', 'ip', 'wlvsbench']).catch(() => undefined);
    await topo.lab.ip('dir', 'addr', 'del', `${VIP}/32`, 'dev', 'br-ext').catch(() => undefined);
  },
};

let haproxyChild: ChildProcess | null = null;
const haproxy: Target = {
  name: 'haproxy', address: VIP, udp: false,
  pid: () => haproxyChild?.pid,
  async setup(topo) {
    await rsGateway(topo, KERNEL_GW);
    await topo.lab.ip('dir', 'addr', 'add', `${VIP}/32`, 'dev', 'br-ext');
    const servers = (port: number) => RS.map((a, i) => `  server rs${i + 1} ${a}:${port}`).join('\n');
    const cfg = `global
  maxconn 8000
  nbthread 1
defaults
  mode tcp
  timeout connect 5s
  timeout client 60s
  timeout server 60s
frontend web
  bind ${VIP}:80
  default_backend web
backend web
  balance roundrobin
${servers(80)}
frontend iperf
  bind ${VIP}:5201
  default_backend iperf
backend iperf
  balance source
${servers(5201)}
frontend rtt
  bind ${VIP}:${RTT_PORT}
  default_backend rtt
backend rtt
  balance source
${servers(RTT_PORT)}
`;
    const f = join(work, 'haproxy.cfg');
    writeFileSync(f, cfg);
    haproxyChild = topo.lab.spawn('dir', 'haproxy', ['-db', '-f', f]);
    await new Promise((r) => setTimeout(r, 800));
    if (haproxyChild.exitCode !== null) throw new Error('haproxy did not start');
  },
  async teardown(topo) {
    if (haproxyChild) await topo.lab.stop(haproxyChild);
    haproxyChild = null;
    await topo.lab.ip('dir', 'addr', 'del', `${VIP}/32`, 'dev', 'br-ext').catch(() => undefined);
  },
};

let nginxChild: ChildProcess | null = null;
const nginxStream: Target = {
  name: 'nginx', address: VIP, udp: true,
  pid: () => nginxChild?.pid,
  async setup(topo) {
    await rsGateway(topo, KERNEL_GW);
    await topo.lab.ip('dir', 'addr', 'add', `${VIP}/32`, 'dev', 'br-ext');
    const up = (name: string, port: number, sticky: boolean) =>
      `  upstream ${name} {\n${sticky ? '    hash $remote_addr consistent;\n' : ''}${RS.map((a) => `    server ${a}:${port};`).join('\n')}\n  }`;
    const cfg = `load_module /usr/lib/nginx/modules/ngx_stream_module.so;
worker_processes 1;
pid ${work}/nginx-stream.pid;
error_log stderr warn;
daemon off;
events { worker_connections 8000; }
stream {
${up('web', 80, false)}
${up('iperf', 5201, true)}
${up('rtt', RTT_PORT, true)}
${up('udp9', UDP_PORT, false)}
  server { listen ${VIP}:80 backlog=4096; proxy_pass web; }
  server { listen ${VIP}:5201; proxy_pass iperf; }
  server { listen ${VIP}:${RTT_PORT}; proxy_pass rtt; }
  # one session per client flow (proxy_responses 0 would open an upstream socket per datagram)
  server { listen ${VIP}:${UDP_PORT} udp; proxy_pass udp9; proxy_timeout 20s; }
}
`;
    const f = join(work, 'nginx-stream.conf');
    writeFileSync(f, cfg);
    nginxChild = topo.lab.spawn('dir', 'nginx', ['-c', f, '-p', work]);
    await new Promise((r) => setTimeout(r, 800));
    if (nginxChild.exitCode !== null) throw new Error('nginx did not start');
  },
  async teardown(topo) {
    if (nginxChild) await topo.lab.stop(nginxChild);
    nginxChild = null;
    await topo.lab.ip('dir', 'addr', 'del', `${VIP}/32`, 'dev', 'br-ext').catch(() => undefined);
  },
};

let wlvsChild: ChildProcess | null = null;
/** the running wlvs target's admin API (inside the director namespace) */
let wlvsAdmin: string | null = null;
interface WlvsVariant {
  busyPollUs?: number; forwarding?: 'nat' | 'fullnat'; device?: 'tap' | 'tun';
  /** director.workers: data-path threads, one queue of each (multi-queue) device each (absent: 1) */
  workers?: number;
  /** director.queue_steering */
  queueSteering?: 'flow-hash' | 'kernel';
  /** director.io_engine (absent: epoll) */
  ioEngine?: 'io_uring' | 'epoll';
  /** the runtime of the director; env: extra environment of the director process */
  runtime?: Runtime; env?: Record<string, string>;
}
/**
 * wlvsTarget: this project with offloads on; NAT over TAP unless told otherwise. Full-NAT uses two
 * LIPs with their whole port range, as an operator would; over TUN the VIP lies outside the
 * client's subnet (the kernel routes it into the device) and the servers reply through the
 * director's kernel, as in the topology of issue 8.
 */
function wlvsTarget(name: string, v: WlvsVariant = {}): Target {
  const tun = v.device === 'tun';
  const fwd = v.forwarding ?? 'nat';
  return {
    name, address: tun ? LAB_VIP_TUN : VIP, udp: true,
    pid: () => wlvsChild?.pid,
    async lockWaits(topo) {
      if (!wlvsAdmin) return null;
      const out = await topo.lab.exec(topo.director.role, 'curl', ['-s', '--max-time', '5', `${wlvsAdmin}/api/v1/status`])
        .catch(() => '');
      try {
        return (JSON.parse(out) as { table_lock: { waits: number; sleeps: number } }).table_lock;
      } catch {
        return null;
      }
    },
    async setup(topo) {
      // NAT over TAP: wlvs's DIP is the servers' gateway; otherwise the director's kernel is
      await rsGateway(topo, fwd === 'nat' && !tun ? WLVS_GW : KERNEL_GW);
      const rs = (port: number) => RS.map((address) => ({ address, port }));
      const svc = (svcName: string, port: number, protocol: string, scheduler: string) => ({
        name: svcName, vip: tun ? LAB_VIP_TUN : VIP, port, protocol, scheduler, forwarding: fwd, health_check: { type: 'none' },
        real_servers: rs(port),
      });
      const running = await startDirector(topo, (token) => ({
        director: {
          devices: tun
            // the kernel drops packets from its own addresses as martians: wlvs's source is .253
            ? [{ name: 'wlvs0', kind: 'tun', addresses: [`${SERVER_NET}.253/24`] }]
            : [
              { name: 'wlvs-ext', kind: 'tap', addresses: [`${CLIENT_NET}.1/24`], bridge: 'br-ext' },
              { name: 'wlvs-int', kind: 'tap', addresses: [`${SERVER_NET}.1/24`], bridge: 'br-int' },
            ],
          ...(tun ? {} : { routes: [{ to: '0.0.0.0/0', via: `${CLIENT_NET}.254`, device: 'wlvs-ext' }] }),
          sessions: 262144,
          busy_poll_us: v.busyPollUs ?? 0,
          workers: v.workers ?? 1,
          ...(v.queueSteering ? { queue_steering: v.queueSteering } : {}),
          ...(v.ioEngine ? { io_engine: v.ioEngine } : {}),
          ...(fwd === 'fullnat' ? { fullnat: { local_addresses: tun ? LAB_LIPS_TUN : LAB_LIPS_TAP } } : {}),
          admin: { listen: '127.0.0.1:9180', token_file: token },
        },
        services: [svc('web', 80, 'tcp', 'rr'), svc('iperf', 5201, 'tcp', 'sh'), svc('rtt', RTT_PORT, 'tcp', 'sh'),
          svc('udp', UDP_PORT, 'udp', 'rr')],
      }), { runtime: v.runtime, env: v.env });
      wlvsChild = running.child;
      wlvsAdmin = running.adminUrl;
    },
    async teardown(topo) {
      if (wlvsChild) await topo.lab.stop(wlvsChild);
      wlvsChild = null;
      wlvsAdmin = null;
    },
  };
}

const WLVS_TARGETS: Record<string, Omit<WlvsVariant, 'runtime'>> = {
  wlvs: {},
  'wlvs-busy': { busyPollUs: 200 },
  'wlvs-2w': { workers: 2 },
  'wlvs-2w-kq': { workers: 2, queueSteering: 'kernel' },
  'wlvs-uring': { ioEngine: 'io_uring' },
  'wlvs-2w-uring': { workers: 2, ioEngine: 'io_uring' },
  'wlvs-fnat': { forwarding: 'fullnat' },
  'wlvs-tun': { device: 'tun' },
  'wlvs-tun-fnat': { device: 'tun', forwarding: 'fullnat' },
};
const OTHER_TARGETS: Record<string, Target> = { direct, nftables, haproxy, nginx: nginxStream };

/** target resolves a --targets entry: NAME, or a wlvs NAME@RUNTIME */
function target(entry: string): Target {
  const [name, at] = entry.split('@');
  const variant = WLVS_TARGETS[name];
  if (variant) {
    const runtime = parseRuntime(at ?? values.runtime!);
    return wlvsTarget(at || runtime !== 'node' ? `${name}@${runtime}` : name, { ...variant, runtime });
  }
  const t = OTHER_TARGETS[name];
  if (!t || at) throw new Error(`unknown target ${entry}`);
  return t;
}

/** the sockperf servers of the current lab: rtt_1cpu moves them to CPU 0 for its duration */
let rttServers: ChildProcess[] = [];

/** startServers runs iperf3, nginx, sockperf and a UDP counter on every real server */
async function startServers(topo: Topology): Promise<void> {
  // wrk closes first through a proxy (the proxy relays the server's FIN a little later), so the
  // client's TIME_WAIT sockets would exhaust its ports within seconds; a load generator reuses them
  await topo.lab.sysctl(topo.client.role, 'net.ipv4.tcp_tw_reuse', 1);
  await startNginx(topo);
  rttServers = [];
  for (const r of topo.realServers) {
    const ip = topo.lab.spawn(r.role, 'iperf3', ['-s', '-p', '5201', '--forceflush']);
    await waitForLine(ip, /Server listening/);
    rttServers.push(topo.lab.spawn(r.role, 'taskset', ['-c', '1', 'sockperf', 'server', '--tcp', '-i', '0.0.0.0', '-p', String(RTT_PORT)]));
    const nft = join(work, `count-${r.role}.nft`);
    writeFileSync(nft, `table inet wlvscount {\n  chain in {\n    type filter hook input priority 0;\n    udp dport ${UDP_PORT} counter drop\n  }\n}\n`);
    await topo.lab.exec(r.role, 'nft', ['-f', nft]);
  }
  await new Promise((r) => setTimeout(r, 500));
}

/** the payload of every benchmark datagram (udp_pps and udp_gso) */
const UDP_PAYLOAD = 64;

/**
 * udpCount: datagrams the real servers' nft counters saw. A super-packet (kept whole by GRO, by a
 * UDP_SEGMENT sender and by whatever forwarded it) passes the input hook as one packet of one IP
 * and UDP header and many payloads, so the count is (bytes - 28 × packets) / payload.
 */
async function udpCount(topo: Topology): Promise<number> {
  let n = 0;
  for (const r of topo.realServers) {
    const out = await topo.lab.exec(r.role, 'nft', ['list', 'table', 'inet', 'wlvscount']);
    const m = /packets (\d+) bytes (\d+)/.exec(out);
    if (m) n += (Number(m[2]) - 28 * Number(m[1])) / UDP_PAYLOAD;
  }
  return n;
}

// udp_gso's sender, in the client namespace: 16 connected sockets (16 flows), each send one
// burst of 64 datagrams cut by the kernel (UDP_SEGMENT); argv = address, port, seconds
const GSO_SENDER = `
import socket, sys, time
addr, port, secs = sys.argv[1], int(sys.argv[2]), float(sys.argv[3])
socks = []
for i in range(16):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.setsockopt(socket.IPPROTO_UDP, 103, ${UDP_PAYLOAD})  # UDP_SEGMENT
    s.connect((addr, port))
    socks.append(s)
buf = b'A' * (${UDP_PAYLOAD} * 64)
end = time.time() + secs
while time.time() < end:
    for s in socks:
        try:
            s.send(buf)
        except OSError:
            pass  # ECONNREFUSED from an earlier ICMP, ENOBUFS: the next burst goes on
`;

async function nextHopMac(topo: Topology, address: string): Promise<string> {
  await topo.lab.exec(topo.client.role, 'ping', ['-c', '1', '-W', '1', address]).catch(() => undefined);
  const dst = address.startsWith(CLIENT_NET) ? address : `${CLIENT_NET}.254`;
  const out = await topo.lab.exec(topo.client.role, 'ip', ['neigh', 'show', dst]);
  const m = /lladdr ([0-9a-f:]{17})/.exec(out);
  if (!m) throw new Error(`no MAC for ${dst}: ${out}`);
  return m[1];
}

/** pingPong runs the client's sockperf on CPU 0 and returns the mean round trip in µs */
async function pingPong(topo: Topology, t: Target): Promise<number | null> {
  const out = await topo.lab.exec(topo.client.role, 'taskset', ['-c', '0', 'sockperf', 'ping-pong', '--tcp', '-i', t.address,
    '-p', String(RTT_PORT), '-t', String(T)], (T + 20) * 1000);
  const m = /avg-latency=([\d.]+)/.exec(out) ?? /avg-lat=\s*([\d.]+)/.exec(out);
  // sockperf reports half the round trip: double it
  return m ? Number(m[1]) * 2 : null;
}

const METRICS: Record<string, { unit: string; run: (topo: Topology, t: Target) => Promise<number | null> }> = {
  tcp_1: {
    unit: 'Gbps',
    run: async (topo, t) => iperf(topo, t, 1),
  },
  tcp_4: {
    unit: 'Gbps',
    run: async (topo, t) => iperf(topo, t, 4),
  },
  udp_pps: {
    unit: 'kpps',
    run: async (topo, t) => {
      if (!t.udp) return null;
      const mac = await nextHopMac(topo, t.address);
      const srcMac = /link\/ether ([0-9a-f:]{17})/.exec(await topo.lab.exec(topo.client.role, 'ip', ['link', 'show', 'eth0']))![1];
      const conf = join(work, 'trafgen.cfg');
      // 14 + 20 + 8 + 64 = 106-byte frames, 16 flows by source port
      writeFileSync(conf, `{ eth(da=${mac}, sa=${srcMac}, type=0x0800), ipv4(saddr=${topo.client.address}, daddr=${t.address}, ttl=64),` +
        ` udp(sp=dinc(10000, 10015), dp=${UDP_PORT}), fill(0x41, ${UDP_PAYLOAD}) }\n`);
      const before = await udpCount(topo);
      await topo.lab.exec(topo.client.role, 'timeout', ['-s', 'INT', String(T), 'taskset', '-c', '0', 'trafgen', '--dev', 'eth0',
        '--conf', conf, '--cpus', '1', '-q'], (T + 10) * 1000).catch(() => undefined);
      await new Promise((r) => setTimeout(r, 500));
      return (await udpCount(topo) - before) / T / 1000;
    },
  },
  udp_gso: {
    unit: 'kpps',
    run: async (topo, t) => {
      if (!t.udp) return null;
      const before = await udpCount(topo);
      await topo.lab.exec(topo.client.role, 'taskset', ['-c', '0', 'python3', '-c', GSO_SENDER, t.address, String(UDP_PORT),
        String(T)], (T + 10) * 1000);
      await new Promise((r) => setTimeout(r, 500));
      return (await udpCount(topo) - before) / T / 1000;
    },
  },
  conn_rate: {
    unit: 'kconn/s',
    run: async (topo, t) => {
      const out = await topo.lab.exec(topo.client.role, 'wrk', ['-t1', '-c32', `-d${T}s`, '-H', 'Connection: close',
        `http://${t.address}/`], (T + 20) * 1000);
      const rps = Number(/Requests\/sec:\s+([\d.]+)/.exec(out)?.[1]);
      const errors = /Socket errors: (.*)/.exec(out)?.[1];
      if (errors) console.error(`  ${t.name} wrk socket errors: ${errors}`);
      return rps / 1000;
    },
  },
  rtt: {
    unit: 'µs',
    run: pingPong,
  },
  // issue 12's "pinned to one CPU": client, server and balancer (all its processes and threads)
  // share CPU 0, so each hop is a context switch on one core, never a wake-up of an idle one; the
  // in-kernel nftables has no process and forwards in the softirq of the sender, on CPU 0 too
  rtt_1cpu: {
    unit: 'µs',
    run: async (topo, t) => {
      const balancer = t.pid?.();
      const groups = [...rttServers.map((c) => c.pid), balancer].filter((p): p is number => p !== undefined);
      const restore = pinGroups(groups, 0);
      try {
        return await pingPong(topo, t);
      } finally {
        restore();
      }
    },
  },
};

/**
 * startPerf samples a process with perf (cpu-clock: this VM has no hardware counters) until the
 * returned function is called, then writes perf's report by DSO and by symbol beside the data.
 */
function startPerf(pid: number, base: string): () => Promise<void> {
  mkdirSync(dirname(base), { recursive: true });
  const rec = spawn('perf', ['record', '-q', '-e', 'cpu-clock', '-F', '997', '-g', '-p', String(pid), '-o', `${base}.data`],
    { stdio: 'ignore' });
  return async () => {
    rec.kill('SIGINT');
    await new Promise((r) => rec.once('exit', r));
    const report = (sort: string) => execFileSync('perf', ['report', '-i', `${base}.data`, '--no-children', '--stdio', '-g', 'none',
      '--percent-limit', '0.5', '--sort', sort], { encoding: 'utf8', maxBuffer: 64 << 20 });
    writeFileSync(`${base}.txt`, `${report('dso')}\n${report('dso,sym')}`);
  };
}

async function iperf(topo: Topology, t: Target, streams: number): Promise<number> {
  const out = await topo.lab.exec(topo.client.role, 'iperf3', ['-c', t.address, '-p', '5201', '-t', String(T), '-P', String(streams), '-J'],
    (T + 30) * 1000);
  const report = JSON.parse(out) as { end: { sum_received: { bits_per_second: number } } };
  return report.end.sum_received.bits_per_second / 1e9;
}

async function main(): Promise<void> {
  const wanted = values.targets!.split(',').map(target);
  const metrics = values.metrics!.split(',');
  const unknown = metrics.filter((m) => !(m in METRICS));
  if (unknown.length) throw new Error(`unknown metric ${unknown.join(', ')} (known: ${Object.keys(METRICS).join(', ')})`);
  const progress = new Progress(wanted.length * (metrics.length + 1));
  // a target named again is another round of it: its rows are NAME#2, NAME#3, ...
  const labels = wanted.map((t, i) => {
    const round = wanted.slice(0, i + 1).filter((x) => x.name === t.name).length;
    return round > 1 ? `${t.name}#${round}` : t.name;
  });
  for (const [ti, t] of wanted.entries()) {
    const label = labels[ti];
    progress.step(`${label}: building a fresh lab`);
    // a fresh lab per target: TIME_WAIT sockets, conntrack entries and neighbour caches left by
    // one target must not slow the next (they cut a proxy's connection rate by 10x here)
    const topo = await buildTopology({ tag: 'wb' });
    try {
      await startServers(topo);
      await t.setup(topo);
      try {
        for (const m of metrics) {
          progress.step(`${label}: ${m}`);
          let value: number | null = null;
          let note: string | undefined;
          const pid = t.pid?.();
          const t0 = performance.now();
          const c0 = pid ? cpuTicks(pid) : null;
          const l0 = await t.lockWaits?.(topo);
          const perf = pid && values.perf ? startPerf(pid, `${values.perf}/${label.replace('@', '-').replace('#', '-')}-${m}`) : null;
          try {
            value = await METRICS[m].run(topo, t);
          } catch (err) {
            note = (err as Error).message.split('\n')[0].slice(0, 200);
          }
          if (perf) await perf();
          const c1 = pid ? cpuTicks(pid) : null;
          const share = (a: number,
            b: number) => Math.round(((b - a) / TICKS) / ((performance.now() - t0) / 1000) * 100);
          const cpu = c0 && c1 ? { user: share(c0[0], c1[0]), sys: share(c0[1], c1[1]) } : undefined;
          const l1 = l0 ? await t.lockWaits?.(topo) : null;
          const secs = (performance.now() - t0) / 1000;
          const perSec = (a: number, b: number) => Math.round((b - a) / secs);
          const lock = l0 && l1 ? { waits: perSec(l0.waits, l1.waits), sleeps: perSec(l0.sleeps, l1.sleeps) }
            : undefined;
          const row: Row = { target: label, metric: m, value: value === null ? null : Math.round(value * 100) / 100,
            unit: METRICS[m].unit, note, cpu, ...(lock ? { lock } : {}) };
          results.push(row);
          if (values.json) console.log(JSON.stringify(row));
          else {
            console.error(`  ${m}: ${row.value ?? 'n/a'} ${row.unit}${note ? ` (${note})` : ''}` +
              `${cpu ? ` [cpu user ${cpu.user}% sys ${cpu.sys}%]` : ''}${lock ? ` [table lock waits ${lock.waits}/s, sleeps ${lock.sleeps}/s]` : ''}`);
          }
        }
      } finally {
        await t.teardown(topo);
      }
    } finally {
      await topo.lab.destroy();
    }
  }
  if (!values.json) printTable(labels, metrics);
}

function printTable(targets: string[], metrics: string[]): void {
  const head = ['target', ...metrics.map((m) => `${m} (${METRICS[m].unit})`)];
  const rows = targets.map((t) => [t, ...metrics.map((m) => {
    const r = results.find((x) => x.target === t && x.metric === m);
    return r?.value === null || r?.value === undefined ? 'n/a' : String(r.value);
  })]);
  const w = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  console.log(head.map((h, i) => h.padEnd(w[i])).join('  '));
  for (const r of rows) console.log(r.map((c, i) => c.padEnd(w[i])).join('  '));
  const withCpu = targets.filter((t) => results.some((r) => r.target === t && r.cpu));
  if (withCpu.length) {
    console.log('\nCPU of the balancer process during each metric (user+sys % of one core):');
    for (const t of withCpu) {
      console.log(`${t.padEnd(w[0])}  ${metrics.map((m, i) => {
        const c = results.find((r) => r.target === t && r.metric === m)?.cpu;
        return (c ? `${c.user}+${c.sys}` : 'n/a').padEnd(w[i + 1]);
      }).join('  ')}`);
    }
  }
  const withLock = targets.filter((t) => results.some((r) => r.target === t && (r.lock?.waits || r.lock?.sleeps)));
  if (withLock.length) {
    console.log('\nwlvs workers waiting for the session table\'s lock during each metric (waits/s, of them sleeps/s):');
    for (const t of withLock) {
      console.log(`${t.padEnd(w[0])}  ${metrics.map((m, i) => {
        const l = results.find((r) => r.target === t && r.metric === m)?.lock;
        return (l ? `${l.waits}/${l.sleeps}` : 'n/a').padEnd(w[i + 1]);
      }).join('  ')}`);
    }
  }
  for (const m of metrics.filter((x) => x === 'rtt' || x === 'rtt_1cpu')) printAddedRtt(targets, m);
}

/** printAddedRtt prints what each balancer adds to direct's round trip in one RTT metric */
function printAddedRtt(targets: string[], metric: string): void {
  const value = (t: string) => results.find((r) => r.target === t && r.metric === metric)?.value;
  const base = value('direct');
  if (!base) return;
  console.log(`added RTT vs direct (${metric}): ${targets.filter((t) => t !== 'direct').map((t) => {
    const v = value(t);
    return v ? `${t} ${v >= base ? '+' : ''}${(v - base).toFixed(1)} µs` : `${t} n/a`;
  }).join(', ')}`);
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
