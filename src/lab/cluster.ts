// cluster.ts — the cluster lab: a client, a router running BIRD 2, N directors each running wlvs
// with its own BIRD, and real servers. Every director is a namespace of its own (its kernel is
// the router's next hop and routes the VIP into wlvs's TUN device); the router spreads the VIP
// over the directors by ECMP (BIRD `merge paths`, an L4 multipath hash set in its namespace).
//
//   client 10.99.1.10 ── 10.99.1.254 [router: BIRD AS 65000, ECMP] 10.99.2.254 ── br-srv ──┬─ d1 10.99.2.21 (AS 65001)
//                                                                                         ├─ d2 10.99.2.22 (AS 65002)
//                                                                                         ├─ d3 10.99.2.23 (AS 65003)
//                                                                                         └─ rs1..rs3 10.99.2.11..13
// TUN forwarding: a director wraps the client's packets to a real server (IP-in-IP); the server
// answers the client directly through the router. Full-NAT: director k rewrites the source to its
// local address 10.99.3.k, which it announces (the others announce it less preferred); the
// servers answer it through the router. Nothing here touches the host namespace.
//
// With `ipv6: true` every link is dual stack (2001:db8:1::/64 for the client, 2001:db8:2::/64 for
// the directors and servers), each director has a second BGP session to the router over IPv6
// (2001:db8:2::fe) announcing the IPv6 VIP 2001:db8:100::1 (and with Full-NAT its IPv6 local
// address 2001:db8:3::k), and the router installs IPv6 multipath routes too.
import type { ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { defaultBirdBinary } from '../config/cluster.js';
import { Lab, waitForLine } from './netns.js';

const BIN = new URL('../../../bin/wlvs.js', import.meta.url).pathname;
const RS_SERVER = new URL('./rs-server.js', import.meta.url).pathname;

export const CLUSTER_VIP = '10.99.100.1';
export const CLUSTER_CLIENT_NET = '10.99.1';
export const CLUSTER_NET = '10.99.2';
export const ROUTER_ADDRESS = `${CLUSTER_NET}.254`;
export const ROUTER_AS = 65000;
export const CLUSTER_VIP6 = '2001:db8:100::1';
export const CLUSTER_CLIENT_NET6 = '2001:db8:1::';
export const CLUSTER_NET6 = '2001:db8:2::';
export const ROUTER_ADDRESS6 = `${CLUSTER_NET6}fe`;
export const CLUSTER_ADMIN = 'http://127.0.0.1:9180';
export const CLUSTER_TOKEN = 'lab-token-0123456789';
/** the members' session-sync port (Full-NAT) */
export const SYNC_PORT = 8849;

export type ClusterForwarding = 'tun' | 'fullnat';

export interface ClusterLabOptions {
  directors?: number;
  realServers?: number;
  forwarding?: ClusterForwarding;
  /** client addresses 10.99.1.10, .11, ... */
  clientAddresses?: number;
  /** BFD between the router and the directors (default on) */
  bfd?: boolean;
  /** dual stack: IPv6 addresses everywhere, an IPv6 BGP session per director, a service on CLUSTER_VIP6 */
  ipv6?: boolean;
  tag?: string;
}

export interface ClusterDirector {
  name: string;
  role: string;
  address: string;
  as: number;
  /** wlvs's own address on its TUN device (outer source of TUN mode) */
  dip: string;
  /** Full-NAT local address */
  lip: string;
  /** IPv6 (ipv6 labs): the kernel's address, wlvs's own, the Full-NAT local address */
  address6: string;
  dip6: string;
  lip6: string;
  child: ChildProcess | null;
  output: string[];
}

export interface ClusterLab {
  lab: Lab;
  forwarding: ClusterForwarding;
  client: { role: string; addresses: string[]; addresses6: string[] };
  router: { role: string; bird: ChildProcess; socket: string };
  directors: ClusterDirector[];
  realServers: { role: string; name: string; address: string; address6: string }[];
  /** wlvs configuration of director `name` */
  config(name: string): Record<string, unknown>;
  /** startDirector runs wlvs in its namespace and waits for its "ready" line */
  startDirector(name: string): Promise<ClusterDirector>;
  /** killDirector sends `signal` to wlvs only (its keeper and BIRD follow by themselves) and waits for it to exit */
  killDirector(name: string, signal?: NodeJS.Signals): Promise<void>;
  /** nexthops lists the directors (by address) the router's kernel sends `prefix` to */
  nexthops(prefix?: string): Promise<string[]>;
  /** waitNexthops waits until the router's route for the prefix has exactly these next hops */
  waitNexthops(addresses: string[], prefix?: string, timeoutMs?: number): Promise<number>;
  /** api reads a director's admin API inside its namespace */
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- JSON of the admin API, read by tests
  api<T = any>(name: string, path: string): Promise<T>;
  /** apiWrite changes something through a director's admin API */
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- as api()
  apiWrite<T = any>(name: string, method: string, path: string, body?: unknown): Promise<T>;
  tokenFile: string;
  destroy(): Promise<void>;
}

/**
 * the router's BIRD: one eBGP session per director, kernel multipath routes (merge paths); with
 * `ipv6`, a second session per director over IPv6 carrying the ipv6 channel, and a kernel
 * protocol for the IPv6 table
 */
export function routerBirdConfig(directors: { name: string; address: string; as: number; address6?: string }[],
  bfd: boolean, ipv6 = false): string {
  const session = (name: string, local: string, channel: string) => [
    `template bgp ${name} {`,
    `  local ${local} as ${ROUTER_AS};`,
    '  strict bind yes;',
    '  hold time 3; keepalive time 1;',
    '  connect delay time 1; connect retry time 1; error wait time 1, 10;',
    '  graceful restart off; long lived graceful restart off;',
    ...(bfd ? ['  bfd on;'] : []),
    channel,
    '}',
  ];
  return [
    `router id ${ROUTER_ADDRESS};`,
    'log stderr all;',
    'protocol device { scan time 10; }',
    'protocol kernel { ipv4 { import none; export all; }; merge paths on; }',
    ...(ipv6 ? ['protocol kernel { ipv6 { import none; export all; }; merge paths on; }'] : []),
    ...(bfd ? ['protocol bfd { interface "*" { min rx interval 100 ms; min tx interval 100 ms; multiplier 3; }; }'] : []),
    // only host routes from the directors' ranges: VIPs and local addresses
    ...session('director', ROUTER_ADDRESS, '  ipv4 { import where net ~ [ 10.99.100.0/24{32,32}, 10.99.3.0/24{32,32} ]; export none; };'),
    ...directors.map((d) => `protocol bgp ${d.name} from director { neighbor ${d.address} as ${d.as}; }`),
    // only host routes from the directors' IPv6 ranges: the VIP and local addresses
    ...(ipv6 ? [
      ...session('director6', ROUTER_ADDRESS6,
        '  ipv6 { import where net ~ [ 2001:db8:100::/64{128,128}, 2001:db8:3::/64{128,128} ]; export none; };'),
      ...directors.map((d) => `protocol bgp ${d.name}v6 from director6 { neighbor ${d.address6} as ${d.as}; }`),
    ] : []),
    '',
  ].join('\n');
}

/** buildClusterLab creates the namespaces and the router; directors are started with startDirector(). */
export async function buildClusterLab(opts: ClusterLabOptions = {}): Promise<ClusterLab> {
  const n = opts.directors ?? 3;
  const m = opts.realServers ?? 3;
  const forwarding = opts.forwarding ?? 'tun';
  const bfd = opts.bfd ?? true;
  const ipv6 = opts.ipv6 ?? false;
  // IPv6 addresses without duplicate address detection: BIRD binds them at once (strict bind)
  const addr6 = async (role: string, cidr: string, dev: string) => {
    if (ipv6) await lab.ip(role, '-6', 'addr', 'add', cidr, 'dev', dev, 'nodad');
  };
  const lab = new Lab(opts.tag ?? 'wc');
  try {
    for (const role of ['router', 'client', ...Array.from({ length: n }, (_, i) => `d${i + 1}`),
      ...Array.from({ length: m }, (_, i) => `rs${i + 1}`)]) await lab.addNamespace(role);
    await lab.ip('router', 'link', 'add', 'br-srv', 'type', 'bridge', 'stp_state', '0', 'forward_delay', '0');
    await lab.ip('router', 'link', 'set', 'br-srv', 'up');
    await lab.ip('router', 'addr', 'add', `${ROUTER_ADDRESS}/24`, 'dev', 'br-srv');
    await lab.sysctl('router', 'net.ipv4.ip_forward', 1);
    // an L4 hash: the flows of one client spread over the directors (inside the router only)
    await lab.sysctl('router', 'net.ipv4.fib_multipath_hash_policy', 1);
    for (const k of ['all', 'default']) await lab.sysctl('router', `net.ipv4.conf.${k}.rp_filter`, 0);
    await addr6('router', `${ROUTER_ADDRESS6}/64`, 'br-srv');
    if (ipv6) {
      await lab.sysctl('router', 'net.ipv6.conf.all.forwarding', 1);
      await lab.sysctl('router', 'net.ipv6.fib_multipath_hash_policy', 1);
    }

    const clientAddresses = Array.from({ length: opts.clientAddresses ?? 1 }, (_, i) => `${CLUSTER_CLIENT_NET}.${10 + i}`);
    await lab.veth('client', 'eth0', 'router', 'cl0');
    await lab.ip('router', 'addr', 'add', `${CLUSTER_CLIENT_NET}.254/24`, 'dev', 'cl0');
    for (const a of clientAddresses) await lab.ip('client', 'addr', 'add', `${a}/24`, 'dev', 'eth0');
    await lab.ip('client', 'route', 'add', 'default', 'via', `${CLUSTER_CLIENT_NET}.254`);
    // the tests' fixed client ports (downloads(), 30000-41999) must never be an ephemeral port a
    // plain curl took before and left in TIME_WAIT: curl --local-port then fails with exit 45
    await lab.sysctl('client', 'net.ipv4.ip_local_port_range', `${CLUSTER_EPHEMERAL_PORTS[0]} ${CLUSTER_EPHEMERAL_PORTS[1]}`);
    const clientAddresses6 = ipv6 ? clientAddresses.map((_, i) => `${CLUSTER_CLIENT_NET6}${(0x10 + i).toString(16)}`) : [];
    if (ipv6) {
      await addr6('router', `${CLUSTER_CLIENT_NET6}fe/64`, 'cl0');
      for (const a of clientAddresses6) await addr6('client', `${a}/64`, 'eth0');
      await lab.ip('client', '-6', 'route', 'add', 'default', 'via', `${CLUSTER_CLIENT_NET6}fe`);
    }

    const attach = async (role: string, address: string, address6: string) => {
      await lab.veth(role, 'eth0', 'router', role);
      await lab.ip('router', 'link', 'set', role, 'master', 'br-srv');
      await lab.ip(role, 'addr', 'add', `${address}/24`, 'dev', 'eth0');
      await lab.ip(role, 'route', 'add', 'default', 'via', ROUTER_ADDRESS);
      await addr6(role, `${address6}/64`, 'eth0');
      if (ipv6) await lab.ip(role, '-6', 'route', 'add', 'default', 'via', ROUTER_ADDRESS6);
      for (const k of ['all', 'default', 'eth0']) await lab.sysctl(role, `net.ipv4.conf.${k}.rp_filter`, 0);
    };
    const realServers = Array.from({ length: m }, (_, i) => ({
      role: `rs${i + 1}`, name: `rs${i + 1}`, address: `${CLUSTER_NET}.${11 + i}`, address6: `${CLUSTER_NET6}${11 + i}`,
    }));
    for (const rs of realServers) await attach(rs.role, rs.address, rs.address6);
    const directors: ClusterDirector[] = Array.from({ length: n }, (_, i) => ({
      name: `d${i + 1}`, role: `d${i + 1}`, address: `${CLUSTER_NET}.${21 + i}`, as: 65001 + i, dip: `${CLUSTER_NET}.${231 + i}`,
      lip: `10.99.3.${i + 1}`, address6: `${CLUSTER_NET6}${21 + i}`, dip6: `${CLUSTER_NET6}${231 + i}`,
      lip6: `2001:db8:3::${i + 1}`, child: null, output: [],
    }));
    for (const d of directors) {
      await attach(d.role, d.address, d.address6);
      await lab.sysctl(d.role, 'net.ipv4.ip_forward', 1);
      if (ipv6) await lab.sysctl(d.role, 'net.ipv6.conf.all.forwarding', 1);
      // pitfall: TIME_WAIT sockets on VIP:port would swallow forwarded packets
      await lab.sysctl(d.role, 'net.ipv4.tcp_early_demux', 0);
      for (const k of ['all', 'default', 'eth0']) await lab.sysctl(d.role, `net.ipv4.conf.${k}.send_redirects`, 0);
    }

    const dir = lab.tempDir('cluster');
    const tokenFile = join(dir, 'token');
    writeFileSync(tokenFile, `${CLUSTER_TOKEN}\n`, { mode: 0o600 });
    const routerConf = join(dir, 'router-bird.conf');
    const routerSocket = join(dir, 'router-bird.ctl');
    writeFileSync(routerConf, routerBirdConfig(directors, bfd, ipv6));
    const bird = lab.spawn('router', defaultBirdBinary(), ['-f', '-c', routerConf, '-s', routerSocket]);
    await waitForLine(bird, /Started/, 10_000);

    // Full-NAT: each member allocates from its own local address and syncs its sessions to the others
    const fullnat = forwarding === 'fullnat';
    const keyFile = join(dir, 'sync.key');
    writeFileSync(keyFile, randomBytes(32), { mode: 0o600 });
    const members = directors.map((d) => ({
      name: d.name,
      ...(fullnat ? { sync: `${d.address}:${SYNC_PORT}`, local_addresses: ipv6 ? [d.lip, d.lip6] : [d.lip] } : {}),
    }));
    const config = (name: string): Record<string, unknown> => {
      const d = directors.find((x) => x.name === name)!;
      const service = (svc: string, port: number, extra: Record<string, unknown>, v6 = false) => ({
        name: svc, vip: v6 ? CLUSTER_VIP6 : CLUSTER_VIP, port, protocol: 'tcp', scheduler: 'mh', forwarding,
        ...(forwarding === 'tun' ? { accept_mid_flow: true } : {}),
        health_check: { type: 'none' },
        real_servers: realServers.map((r) => ({ address: v6 ? r.address6 : r.address, port })),
        ...extra,
      });
      return {
        director: {
          // wlvs's own address, not the kernel's: the kernel drops packets from its own addresses
          devices: [{ name: 'wlvs0', kind: 'tun', addresses: [`${d.dip}/24`, ...(ipv6 ? [`${d.dip6}/64`] : [])] }],
          sessions: 65536,
          ...(fullnat ? { fullnat: { local_addresses: ipv6 ? [d.lip, d.lip6] : [d.lip] } } : {}),
          admin: { listen: CLUSTER_ADMIN.replace('http://', ''), token_file: tokenFile },
          cluster: {
            name: d.name,
            bgp: {
              local_as: d.as, local_address: d.address,
              ...(ipv6 ? { local_address6: d.address6 } : {}),
              neighbors: [{ address: ROUTER_ADDRESS, as: ROUTER_AS },
                ...(ipv6 ? [{ address: ROUTER_ADDRESS6, as: ROUTER_AS }] : [])],
              hold_time: 3, keepalive: 1, ...(bfd ? { bfd: { interval: 0.1, multiplier: 3 } } : {}),
            },
            watchdog: 0.5,
            withdraw_grace: 0.5,
            drain: { deadline: 60, quiet: 2 },
            members,
            ...(fullnat ? { sync: { auth_key_file: keyFile } } : {}),
          },
        },
        services: [
          // hash the client's port too: the connections of one client spread over the servers
          service('web', 80, { sched_flags: ['mh-port'] }),
          // iperf3's control and data connections must meet on one server: the client's address only
          service('iperf', 5201, {}),
          ...(ipv6 ? [service('web6', 80, { sched_flags: ['mh-port'] }, true)] : []),
        ],
      };
    };

    const exec = (role: string, cmd: string, args: string[]) => lab.exec(role, cmd, args);
    const api = async (name: string, path: string) => JSON.parse(await exec(name, 'curl', ['-s', '--max-time', '5', `${CLUSTER_ADMIN}${path}`]));
    const apiWrite = async (name: string, method: string, path: string, body?: unknown) => {
      const args = ['-s', '--max-time', '10', '-X', method, '-H', 'content-type: application/json',
        '-H', `authorization: Bearer ${CLUSTER_TOKEN}`, `${CLUSTER_ADMIN}${path}`, ...(body === undefined ? [] : ['-d', JSON.stringify(body)])];
      return JSON.parse(await exec(name, 'curl', args));
    };
    const nexthops = async (prefix = CLUSTER_VIP) => {
      if (prefix.includes(':')) {
        const out = await lab.exec('router', 'ip', ['-6', 'route', 'show', `${prefix}/128`]);
        return [...out.matchAll(/via ([0-9a-f:]+)/g)].map((x) => x[1]).sort();
      }
      const out = await lab.exec('router', 'ip', ['route', 'show', `${prefix}/32`]);
      return [...out.matchAll(/via (\d+\.\d+\.\d+\.\d+)/g)].map((x) => x[1]).sort();
    };

    const cl: ClusterLab = {
      lab, forwarding,
      client: { role: 'client', addresses: clientAddresses, addresses6: clientAddresses6 },
      router: { role: 'router', bird, socket: routerSocket },
      directors, realServers, config, tokenFile, api, apiWrite, nexthops,
      startDirector: async (name) => {
        const d = directors.find((x) => x.name === name)!;
        const cdir = mkdtempSync(join(tmpdir(), `${lab.id}-${name}-`));
        const path = join(cdir, 'wlvs.yaml');
        writeFileSync(path, stringify(config(name)));
        const child = lab.spawn(d.role, process.execPath, [BIN, 'run', path]);
        d.child = child;
        d.output = [];
        const keep = (b: Buffer) => d.output.push(...b.toString().split('\n').filter(Boolean));
        child.stdout?.on('data', keep);
        child.stderr?.on('data', keep);
        child.once('exit', () => rmSync(cdir, { recursive: true, force: true }));
        await waitForLine(child, /"event":"ready"/, 30_000);
        return d;
      },
      killDirector: async (name, signal = 'SIGKILL') => {
        const d = directors.find((x) => x.name === name)!;
        const child = d.child;
        if (!child || child.exitCode !== null || child.signalCode !== null) return;
        const exited = new Promise<void>((r) => child.once('exit', () => r()));
        // the wlvs process alone, not its process group: what happens to its keeper and BIRD
        // must follow from wlvs's death, as on a real host
        child.kill(signal);
        await exited;
        d.child = null;
      },
      waitNexthops: async (addresses, prefix = CLUSTER_VIP, timeoutMs = 15_000) => {
        const t0 = performance.now();
        const want = [...addresses].sort().join(',');
        while (performance.now() - t0 < timeoutMs) {
          if ((await nexthops(prefix)).join(',') === want) return performance.now() - t0;
          await new Promise((r) => setTimeout(r, 10));
        }
        throw new Error(`the router's route to ${prefix} did not become [${want}] within ${timeoutMs} ms: [${(await nexthops(prefix)).join(',')}]`);
      },
      destroy: () => lab.destroy(),
    };
    return cl;
  } catch (err) {
    await lab.destroy();
    throw err;
  }
}

/** startClusterServers runs the HTTP server (and TUN decapsulation, iperf3 if asked) on every real server. */
export async function startClusterServers(cl: ClusterLab, o: { iperf?: boolean } = {}): Promise<void> {
  const waits: Promise<string>[] = [];
  for (const rs of cl.realServers) {
    if (cl.forwarding === 'tun') {
      const v6 = cl.client.addresses6.length ? ['--vip', CLUSTER_VIP6] : [];
      const prep = cl.lab.spawn(rs.role, process.execPath, [BIN, 'realserver', '--mode', 'tun', '--vip', CLUSTER_VIP, ...v6]);
      await waitForLine(prep, /"event":"ready"/);
    }
    // dual stack: listen on :: (IPv4 clients then appear as ::ffff:a.b.c.d)
    const addr = cl.client.addresses6.length ? ['--addr', '::'] : [];
    const srv = cl.lab.spawn(rs.role, process.execPath, [RS_SERVER, '--name', rs.name, '--port', '80', '--udp-port', '5353', ...addr]);
    waits.push(waitForLine(srv, /^ready/));
    if (o.iperf) waits.push(waitForLine(cl.lab.spawn(rs.role, 'iperf3', ['-s', '-p', '5201', '--forceflush']), /Server listening/));
  }
  await Promise.all(waits);
}

/** the client namespace's ephemeral ports: above every fixed port the tests pick for downloads() */
export const CLUSTER_EPHEMERAL_PORTS = [45000, 60999] as const;

export interface DownloadResult {
  port: number;
  /** SHA-256 of the body the client received, and the one the server announced */
  sha256: string;
  expected: string;
  status: number;
  /** curl's exit code (28: timed out, 7: no connection, 45: local port in use) */
  curlExit: number;
  intact: boolean;
}

/**
 * downloads fetches /ctr/`size` once per client port, in parallel, each from a fixed local port
 * (so its 5-tuple is known in advance) at `rate` bytes a second, and checks every body.
 */
export async function downloads(cl: ClusterLab, ports: number[], size: number, rate: string,
  timeoutS = 90, vip = CLUSTER_VIP): Promise<DownloadResult[]> {
  const dir = cl.lab.tempDir('dl');
  const url = vip.includes(':') ? `-6 http://[${vip}]` : `http://${vip}`;
  const script = `for p in ${ports.join(' ')}; do (
      sum=$({ curl -s --max-time ${timeoutS} --local-port $p --limit-rate ${rate} -D ${dir}/h$p ${url}/ctr/${size}; echo $? >${dir}/rc$p; } | sha256sum | cut -d' ' -f1)
      rc=$(cat ${dir}/rc$p)
      exp=$(grep -i '^x-sha256:' ${dir}/h$p | tr -d '\\r' | cut -d' ' -f2)
      code=$(head -1 ${dir}/h$p 2>/dev/null | cut -d' ' -f2)
      echo "$p $sum \${exp:-none} \${code:-0} $rc" ) &
    done; wait`;
  const out = await cl.lab.exec(cl.client.role, 'bash', ['-c', script], (timeoutS + 30) * 1000);
  return out.trim().split('\n').filter(Boolean).map((line) => {
    const [port, sha256, expected, status, curlExit] = line.split(' ');
    return {
      port: Number(port), sha256, expected, status: Number(status), curlExit: Number(curlExit),
      intact: status === '200' && sha256 === expected,
    };
  }).sort((a, b) => a.port - b.port);
}

/** One session a director holds for a client port. */
export interface Carrier { director: string; rip: string; state: string; lip: string | null }

/**
 * carriers maps each client port of `client` to the sessions the running directors hold for it;
 * `state` (ESTABLISHED, ...) keeps a page of at most 10000 free of older connections' sessions
 */
export async function carriers(cl: ClusterLab, client: string, service = 'web', state?: string): Promise<Map<number, Carrier[]>> {
  const out = new Map<number, Carrier[]>();
  for (const d of cl.directors) {
    if (!d.child) continue;
    type Row = { client_port: number; state: string; rip: string; lip: string | null };
    const page = await cl.api<{ items: Row[] }>(d.name,
      `/api/v1/sessions?client=${client}&service=${service}&limit=10000${state ? `&state=${state}` : ''}`);
    for (const s of page.items) {
      const c = { director: d.name, rip: s.rip, state: s.state, lip: s.lip };
      out.set(s.client_port, [...(out.get(s.client_port) ?? []), c]);
    }
  }
  return out;
}

/**
 * ecmpChoices asks the router's kernel which director it would send each client port's SYN to
 * (`ip route get` with the L4 hash inputs), for thousands of 5-tuples without a packet sent.
 * That is the choice for packets from a real NIC; in the lab the client's packets reach the
 * router over a veth with the hash its socket gave them (skb->l4_hash), which the router's
 * multipath hash reuses (fib_multipath_hash), so a lab flow's director is random per
 * connection, with the same shares.
 */
export async function ecmpChoices(cl: ClusterLab, client: string, ports: number[],
  dport = 80): Promise<Map<number, string>> {
  const input = ports.map((p) => `route get ${CLUSTER_VIP} from ${client} iif cl0 ipproto tcp sport ${p} dport ${dport}`).join('\n');
  const res = await cl.lab.run(cl.router.role, 'ip', ['-batch', '-'], { input: `${input}\n` });
  const lines = res.stdout.split('\n').filter((l) => l.startsWith(CLUSTER_VIP));
  if (lines.length !== ports.length) throw new Error(`ip route get answered ${lines.length} of ${ports.length} lookups`);
  const byAddress = new Map(cl.directors.map((d) => [d.address, d.name]));
  return new Map(ports.map((p, i) => [p, byAddress.get(/via (\S+)/.exec(lines[i])?.[1] ?? '') ?? 'none']));
}
