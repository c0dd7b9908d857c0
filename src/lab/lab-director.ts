// lab-director.ts — runs wlvs and the real-server programs inside a lab topology: the per-mode
// lab configuration, `wlvs run` in the director namespace (waiting for its "ready" line), the
// HTTP/UDP servers and the real-server preparation (DR: VIP on lo; TUN: decapsulation).
import type { ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { stringify } from 'yaml';
import type { ForwardingMode, SchedulerName } from '../model/spec.js';
import { type Runtime, scriptCommand } from '../sys/runtime.js';
import { waitForLine } from './netns.js';
import { CLIENT_NET, SERVER_NET, type Topology } from './topology.js';

const BIN = new URL('../../../bin/wlvs.js', import.meta.url).pathname;
const RS_SERVER = new URL('./rs-server.js', import.meta.url).pathname;

export const LAB_VIP_TAP = `${CLIENT_NET}.100`;
export const LAB_VIP_TUN = '10.99.100.1';
/** the IPv6 VIP the lab adds with the ipv6 option (TAP, beside the IPv4 services) */
export const LAB_VIP6_TAP = '2001:db8:1::100';
/** wlvs's IPv6 address on the servers' segment: their gateway for NAT66 */
export const LAB_DIP6 = '2001:db8:2::1';
export const LAB_LIPS_TAP = [`${SERVER_NET}.201`, `${SERVER_NET}.202`];
export const LAB_LIPS_TUN = ['10.99.3.201', '10.99.3.202'];
const ADMIN_PORT = 9180;
export const LAB_TOKEN = 'lab-token-0123456789';

export interface LabServiceOptions {
  forwarding: ForwardingMode;
  scheduler?: SchedulerName;
  weights?: number[];
  /** health checks: type none by default so tests control the servers' state */
  health?: Record<string, unknown>;
  persistence?: number;
  /** add service "sticky" on port 81 with source hashing */
  sticky?: boolean;
  extraServices?: Record<string, unknown>[];
  /** director.busy_poll_us */
  busyPollUs?: number;
  /** director.workers (data-path threads, one queue of every device each); absent: the default */
  workers?: number;
  /** director.io_engine; absent: the default (epoll) */
  ioEngine?: 'epoll' | 'io_uring';
  /** tap only: IPv6 on both devices and service "web6" (NAT66 on :80) beside the IPv4 ones */
  ipv6?: boolean;
}

/** the gateway the real servers need for a mode: wlvs's own DIP for NAT over TAP */
export function rsGatewayFor(forwarding: ForwardingMode, device: 'tap' | 'tun'): string {
  return forwarding === 'nat' && device === 'tap' ? `${SERVER_NET}.1` : `${SERVER_NET}.254`;
}

/** labConfig builds a wlvs configuration for the standard topology. */
export function labConfig(topo: Topology, device: 'tap' | 'tun', o: LabServiceOptions, tokenFile: string): Record<string, unknown> {
  const tap = device === 'tap';
  const vip = tap ? LAB_VIP_TAP : LAB_VIP_TUN;
  const realServers = (port: number) => topo.realServers.map((r, i) => ({ address: r.address, port,
    weight: o.weights?.[i] ?? 1 }));
  const lips = tap ? LAB_LIPS_TAP : LAB_LIPS_TUN;
  const common = (name: string, port: number, protocol: string) => ({
    name, vip, port, protocol, scheduler: o.scheduler ?? 'rr', forwarding: o.forwarding,
    ...(o.persistence ? { persistence: o.persistence } : {}),
    health_check: o.health ?? { type: 'none' },
    real_servers: realServers(port),
  });
  const v6 = tap && (o.ipv6 ?? false);
  const devices = tap
    ? [
      { name: 'wlvs-ext', kind: 'tap', addresses: [`${CLIENT_NET}.1/24`, ...(v6 ? ['2001:db8:1::1/64'] : [])], bridge: topo.director.extBridge },
      { name: 'wlvs-int', kind: 'tap', addresses: [`${SERVER_NET}.1/24`, ...(v6 ? [`${LAB_DIP6}/64`] : [])], bridge: topo.director.intBridge },
    ]
    // the kernel drops packets from its own addresses as martians: wlvs's source on the TUN is .253
    : [{ name: 'wlvs0', kind: 'tun', addresses: [`${SERVER_NET}.253/24`] }];
  return {
    director: {
      devices,
      ...(tap ? {
        routes: [{ to: '0.0.0.0/0', via: `${CLIENT_NET}.254`, device: 'wlvs-ext' },
          ...(v6 ? [{ to: '::/0', via: '2001:db8:1::fe', device: 'wlvs-ext' }] : [])],
      } : {}),
      sessions: 65536,
      ...(o.busyPollUs ? { busy_poll_us: o.busyPollUs } : {}),
      ...(o.workers ? { workers: o.workers } : {}),
      ...(o.ioEngine ? { io_engine: o.ioEngine } : {}),
      ...(o.forwarding === 'fullnat' || o.extraServices?.some((s) => s.forwarding === 'fullnat')
        ? { fullnat: { local_addresses: lips } } : {}),
      admin: { listen: `127.0.0.1:${ADMIN_PORT}`, token_file: tokenFile },
    },
    services: [
      common('web', 80, 'tcp'),
      // iperf3's control and data connections must meet on one server: source hashing
      { ...common('iperf', 5201, 'tcp'), scheduler: 'sh' },
      common('echo', 5353, 'udp'),
      ...(o.sticky ? [{ ...common('sticky', 81, 'tcp'), scheduler: 'sh' }] : []),
      ...(v6 ? [{
        ...common('web6', 80, 'tcp'), vip: LAB_VIP6_TAP, forwarding: 'nat',
        real_servers: topo.realServers.map((r, i) => ({ address: r.address6, port: 80, weight: o.weights?.[i] ?? 1 })),
      }] : []),
      ...(o.extraServices ?? []),
    ],
  };
}

/** the real servers' gateway in the failover lab: a virtual address that moves with the master */
export const LAB_HA_GATEWAY = `${SERVER_NET}.1`;
/** with `ipv6`: the servers' IPv6 gateway (a virtual address of the pair) and the IPv6 VIP */
export const LAB_HA_GATEWAY6 = '2001:db8:2::1';
export const LAB_HA_VIP6 = '2001:db8:1::100';
/** admin API ports of the two directors of the failover lab (one namespace, two processes) */
export const LAB_HA_ADMIN = { a: 9181, b: 9182 } as const;
/** the failover lab's VRRP virtual router id */
export const LAB_HA_VRID = 51;
/** the sync link's ports: both directors listen on the director namespace's address on the client segment */
export const LAB_HA_SYNC = { host: `${CLIENT_NET}.254`, a: 18848, b: 18849 } as const;

/** labHaKey writes the failover lab's shared HMAC key (32 random bytes, mode 600) and returns its path. */
export function labHaKey(topo: Topology): string {
  const file = join(topo.lab.tempDir('ha-key'), 'ha.key');
  writeFileSync(file, randomBytes(32), { mode: 0o600 });
  return file;
}

export interface LabHaOptions {
  syncSessions?: boolean;
  /** the shared key (labHaKey); without it there is no sync link and adverts are not authenticated */
  keyFile?: string;
  priority?: number;
  state?: 'master' | 'backup';
  /** director.ha.vrrp */
  vrrp?: Record<string, unknown>;
  advertInterval?: number;
  preempt?: boolean;
  /** dual stack (a topology built with ipv6): IPv6 device addresses, LAB_HA_GATEWAY6, `web6` on LAB_HA_VIP6 */
  ipv6?: boolean;
  /** a second service on port 8080 to the same servers' port 80 with the SYN proxy forced on */
  synProxied?: boolean;
}

/** the port of labHaConfig's SYN-proxied service (synProxied) */
export const LAB_HA_PROXIED_PORT = 8080;

/**
 * labHaConfig: director `a` (priority 150, starts master) or `b` (100, backup) of the failover
 * lab, NAT over TAP, both on the same two bridges with their own addresses (.2 and .3), VRRP
 * on the client segment, a session-sync link with the shared key, and the servers' gateway as
 * a virtual address.
 */
export function labHaConfig(topo: Topology, me: 'a' | 'b', tokenFile: string, o: LabHaOptions = {}): Record<string, unknown> {
  const own = me === 'a' ? 2 : 3;
  const link = o.keyFile ? {
    auth_key_file: o.keyFile,
    listen: `${LAB_HA_SYNC.host}:${LAB_HA_SYNC[me]}`,
    peer: `${LAB_HA_SYNC.host}:${LAB_HA_SYNC[me === 'a' ? 'b' : 'a']}`,
    sync_sessions: o.syncSessions ?? true,
  } : {};
  return {
    director: {
      devices: [
        { name: `wlvs-ext-${me}`, kind: 'tap', addresses: [`${CLIENT_NET}.${own}/24`, ...(o.ipv6 ? [`2001:db8:1::${own}/64`] : [])],
          bridge: topo.director.extBridge },
        { name: `wlvs-int-${me}`, kind: 'tap', addresses: [`${SERVER_NET}.${own}/24`, ...(o.ipv6 ? [`2001:db8:2::${own}/64`] : [])],
          bridge: topo.director.intBridge },
      ],
      sessions: 65536,
      admin: { listen: `127.0.0.1:${LAB_HA_ADMIN[me]}`, token_file: tokenFile },
      ha: {
        group: LAB_HA_VRID,
        priority: o.priority ?? (me === 'a' ? 150 : 100),
        state: o.state ?? (me === 'a' ? 'master' : 'backup'),
        ...(o.preempt === undefined ? {} : { preempt: o.preempt }),
        advert_interval: o.advertInterval ?? 0.3,
        vrrp: { device: `wlvs-ext-${me}`, ...o.vrrp },
        ...link,
        virtual_addresses: [{ address: `${LAB_HA_GATEWAY}/24`, device: `wlvs-int-${me}` },
          ...(o.ipv6 ? [{ address: `${LAB_HA_GATEWAY6}/64`, device: `wlvs-int-${me}` }] : [])],
      },
    },
    services: [{
      name: 'web', vip: LAB_VIP_TAP, port: 80, protocol: 'tcp', scheduler: 'rr', forwarding: 'nat', health_check: { type: 'none' },
      real_servers: topo.realServers.map((r) => ({ address: r.address, port: 80 })),
    }, ...(o.ipv6 ? [{
      name: 'web6', vip: LAB_HA_VIP6, port: 80, protocol: 'tcp', scheduler: 'rr', forwarding: 'nat', health_check: { type: 'none' },
      real_servers: topo.realServers.map((r) => ({ address: r.address6!, port: 80 })),
    }] : []), ...(o.synProxied ? [{
      name: 'proxied', vip: LAB_VIP_TAP, port: LAB_HA_PROXIED_PORT, protocol: 'tcp', scheduler: 'rr', forwarding: 'nat',
      syn_proxy: 'on', health_check: { type: 'none' },
      real_servers: topo.realServers.map((r) => ({ address: r.address, port: 80 })),
    }] : [])],
  };
}

export interface RunningDirector {
  child: ChildProcess;
  configPath: string;
  tokenFile: string;
  adminUrl: string;
  /** lines the director printed (JSON log lines) */
  output: string[];
  /** rewrite the configuration file (for reload tests) */
  writeConfig(config: Record<string, unknown>): void;
}

/** startDirector writes the configuration and runs `wlvs run` in the director namespace. */
export async function startDirector(topo: Topology, config: (tokenFile: string) => Record<string, unknown>,
  opts: {
    corePath?: string; adminPort?: number; bin?: string; runArgs?: string[];
    runtime?: Runtime; env?: Record<string, string>;
  } = {},
): Promise<RunningDirector> {
  const dir = mkdtempSync(join(tmpdir(), `${topo.lab.id}-`));
  const tokenFile = join(dir, 'token');
  writeFileSync(tokenFile, `${LAB_TOKEN}\n`, { mode: 0o600 });
  const configPath = join(dir, 'wlvs.yaml');
  // WLVS_E2E_WORKERS=N runs a suite's directors with N data-path workers where its configuration
  // says none (an experiment across the suites; modes.test.ts runs both counts itself)
  const workers = process.env.WLVS_E2E_WORKERS;
  const writeConfig = (c: Record<string, unknown>) => {
    const d = c.director as Record<string, unknown> | undefined;
    const own = !workers || !d || d.workers !== undefined;
    writeFileSync(configPath, stringify(own ? c : { ...c, director: { ...d, workers: Number(workers) } }));
  };
  writeConfig(config(tokenFile));
  const env = { ...process.env, ...opts.env, ...(opts.corePath ? { WLVS_CORE: opts.corePath } : {}) };
  // the runtime the lab runs on, unless told (WLVS_RUNTIME, bench:e2e --runtime)
  const [exe, args] = scriptCommand(opts.bin ?? BIN, ['run', ...opts.runArgs ?? [], configPath], opts.runtime);
  const child = topo.lab.spawn(topo.director.role, exe, args, { env });
  const output: string[] = [];
  child.stdout?.on('data', (d: Buffer) => output.push(...d.toString().split('\n').filter(Boolean)));
  child.stderr?.on('data', (d: Buffer) => output.push(...d.toString().split('\n').filter(Boolean)));
  child.once('exit', () => rmSync(dir, { recursive: true, force: true }));
  await waitForLine(child, /"event":"ready"/, 20_000);
  return { child, configPath, tokenFile, adminUrl: `http://127.0.0.1:${opts.adminPort ?? ADMIN_PORT}`, output, writeConfig };
}

/** startRealServer runs the HTTP/UDP server program on one real server; resolves when it listens. */
export async function startRealServer(topo: Topology, rs: Topology['realServers'][number], ports: number[] = [80]): Promise<ChildProcess> {
  const srv = topo.lab.spawn(rs.role, ...scriptCommand(RS_SERVER, ['--name', rs.name, ...ports.flatMap((p) => ['--port', String(p)]),
    '--udp-port', '5353']));
  await waitForLine(srv, /^ready/);
  return srv;
}

/**
 * startRealServers runs the HTTP/UDP server (and the DR/TUN preparation, and iperf3 if asked)
 * on every real server; returns the server program of each, by role.
 */
export async function startRealServers(topo: Topology,
  o: { forwarding: ForwardingMode; vip: string; ports?: number[]; iperf?: boolean;
    prepare?: { mode: 'dr' | 'tun'; vip: string }[]; addr?: string }): Promise<Map<string, ChildProcess>> {
  const waits: Promise<string>[] = [];
  const servers = new Map<string, ChildProcess>();
  // the VIPs each real server must hold: the scenario's, and any further ones (one service per mode)
  const prepare = [...(o.forwarding === 'dr' || o.forwarding === 'tun' ? [{ mode: o.forwarding, vip: o.vip }] : []),
    ...(o.prepare ?? [])];
  for (const rs of topo.realServers) {
    for (const mode of ['dr', 'tun'] as const) {
      const vips = prepare.filter((p) => p.mode === mode).flatMap((p) => ['--vip', p.vip]);
      if (!vips.length) continue;
      const prep = topo.lab.spawn(rs.role, ...scriptCommand(BIN, ['realserver', '--mode', mode, ...vips]));
      await waitForLine(prep, /"event":"ready"/);
    }
    const ports = (o.ports ?? [80]).flatMap((p) => ['--port', String(p)]);
    // `--addr ::` takes both families (IPv4 clients are reported without their ::ffff: prefix)
    const srv = topo.lab.spawn(rs.role, ...scriptCommand(RS_SERVER, ['--name', rs.name, ...ports, '--udp-port', '5353',
      ...(o.addr ? ['--addr', o.addr] : [])]));
    servers.set(rs.role, srv);
    waits.push(waitForLine(srv, /^ready/));
    if (o.iperf) {
      const ip = topo.lab.spawn(rs.role, 'iperf3', ['-s', '-p', '5201', '--forceflush']);
      waits.push(waitForLine(ip, /Server listening/));
    }
  }
  await Promise.all(waits);
  return servers;
}

/** the IPv6 local addresses of the dual-stack lab director (Full-NAT 6->6); NAT64 takes LAB_LIPS_TAP[0] */
export const LAB_LIPS6_TAP = ['2001:db8:2::201', '2001:db8:2::202'];

/**
 * labDualStackDirector: the `director` section of a TAP lab director with both families on
 * both segments, default routes of both families through the router, and one Full-NAT pool of
 * both (6->6 takes the IPv6 LIPs, NAT64 the IPv4 one).
 */
export function labDualStackDirector(topo: Topology, tokenFile: string): Record<string, unknown> {
  return {
    devices: [
      { name: 'wlvs-ext', kind: 'tap', addresses: [`${CLIENT_NET}.1/24`, '2001:db8:1::1/64'], bridge: topo.director.extBridge },
      { name: 'wlvs-int', kind: 'tap', addresses: [`${SERVER_NET}.1/24`, `${LAB_DIP6}/64`], bridge: topo.director.intBridge },
    ],
    routes: [
      { to: '0.0.0.0/0', via: `${CLIENT_NET}.254`, device: 'wlvs-ext' },
      { to: '::/0', via: '2001:db8:1::fe', device: 'wlvs-ext' },
    ],
    sessions: 65536,
    fullnat: { local_addresses: [...LAB_LIPS6_TAP, LAB_LIPS_TAP[0]] },
    admin: { listen: `127.0.0.1:${ADMIN_PORT}`, token_file: tokenFile },
  };
}
