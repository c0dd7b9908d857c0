// fixture.ts — a whole director on fake devices (src/io/fake-io.ts), started from YAML as
// `wlvs run` would, with a recording logger, an injected clock, a recording kernel, and peers
// that answer ARP. Frames are built and decoded with the test oracle, never with the code under
// test. Needs no root: nothing here opens a device, runs a command or touches a namespace.
import { Writable } from 'node:stream';
import { pino } from 'pino';
import { parseConfig } from '../../src/config/load.js';
import { Director } from '../../src/director/director.js';
import { KernelRoutes, type KernelSystem } from '../../src/director/kernel-routes.js';
import { Supervisor } from '../../src/director/supervisor.js';
import type { RunnerOptions } from '../../src/health/runner.js';
import { FakeIo, type FakePort, type WrittenFrame } from '../../src/io/fake-io.js';
import type { Logger } from '../../src/log.js';
import {
  type DecodedFrame, arpReply, bytesToIp, decodeFrame, ethernet, tcpPacket, type TcpSpec, udpPacket,
} from '../oracle/packet.js';

export const EXT_MAC = '02:00:00:00:d0:00';
export const INT_MAC = '02:00:00:00:d0:01';
export const CLIENT_MAC = '02:00:00:00:0c:01';
export const VIP = '10.0.1.100';
export const CIP = '10.0.1.10';
export const DIP = '10.0.2.1';
export const RIPS = ['10.0.2.11', '10.0.2.12', '10.0.2.13', '10.0.2.14', '10.0.2.15'];
export const RS_MACS = RIPS.map((_, i) => `02:00:00:00:a0:${(11 + i).toString(16).padStart(2, '0')}`);
export const LIPS = ['10.0.2.201', '10.0.2.202', '10.0.2.203'];

/** the director block of a two-TAP lab: ext (clients, device 0) and int (servers, device 1) */
export const TAP_DIRECTOR = `
director:
  devices:
    - { name: ext0, kind: tap, addresses: [10.0.1.1/24], mac: "${EXT_MAC}", offload: false }
    - { name: int0, kind: tap, addresses: [${DIP}/24], mac: "${INT_MAC}", offload: false }
  sessions: 1024
  batch: 32
`;

/** a one-TUN director (device 0); the kernel routes VIPs and LIPs into it */
export const TUN_DIRECTOR = `
director:
  devices:
    - { name: tun0, kind: tun, addresses: [10.0.2.253/24], offload: false }
  sessions: 1024
  batch: 32
`;

/** health checks a test steps itself with runOnce(): the first one is an hour away */
export const MANUAL_CHECK = '{ type: tcp, interval: 3600, timeout: 1, rise: 1, fall: 1 }';

/**
 * webService is the YAML of service "web" (VIP:80, rr) with real servers RIPS[0..] on port
 * 8080 of the given weights; `extra` adds keys (local_addresses, sorry_server, ...).
 */
export function webService(
  o: { forwarding?: string; port?: number; weights?: number[]; health?: string; extra?: string } = {},
): string {
  return `
  - name: web
    vip: ${VIP}
    port: ${o.port ?? 80}
    scheduler: rr
    forwarding: ${o.forwarding ?? 'nat'}
    health_check: ${o.health ?? '{ type: none }'}
    ${o.extra ?? ''}
    real_servers:
${(o.weights ?? [1]).map((w, i) => `      - { address: ${RIPS[i]}, port: 8080, weight: ${w} }`).join('\n')}
`;
}

/** A log that keeps its lines as objects, for assertions on events. */
export function recordingLog(): { log: Logger; lines: Record<string, unknown>[] } {
  const lines: Record<string, unknown>[] = [];
  const sink = new Writable({
    write(chunk, _enc, done) {
      for (const l of String(chunk).split('\n')) if (l) lines.push(JSON.parse(l) as Record<string, unknown>);
      done();
    },
  });
  return { log: pino({ level: 'debug' }, sink), lines };
}

/** A KernelSystem that records every command instead of running it. */
export function recordingKernel(): { sys: KernelSystem; commands: string[] } {
  const commands: string[] = [];
  const sys: KernelSystem = {
    run: async (cmd, args) => { commands.push(`${cmd} ${args.join(' ')}`); },
    runQuiet: async (cmd, args) => { commands.push(`${cmd} ${args.join(' ')}`); return null; },
    read: async (path) => (path.endsWith('ip_forward') ? '1' : '0'),
  };
  return { sys, commands };
}

/**
 * answerArp makes the peers in `peers` (address → MAC) answer the director's ARP requests, a
 * moment later as a real peer would (the fake port is not re-entrant).
 */
export function answerArp(io: FakeIo, peers: Record<string, string>): void {
  io.onWrite((w, port) => {
    const f = w.frame;
    if (f.length < 42 || f[12] !== 0x08 || f[13] !== 0x06 || f[21] !== 1) return;
    const target = bytesToIp(f, 38);
    const mac = peers[target];
    // a gratuitous ARP (sender = target) asks nobody
    if (!mac || bytesToIp(f, 28) === target) return;
    const asker = Array.from(f.subarray(22, 28), (b) => b.toString(16).padStart(2, '0')).join(':');
    setImmediate(() => {
      if (port.started) port.inject(w.device, [arpReply(mac, target, asker, bytesToIp(f, 28))]);
    });
  });
}

export interface FakeDirector {
  dir: Director;
  io: FakeIo;
  port: FakePort;
  log: Logger;
  lines: Record<string, unknown>[];
  kernel: string[];
  clock: { now: number };
  /** inject frames into a device, return the frames written (host ARP/announcements excluded) */
  send(device: number, frames: Uint8Array[]): WrittenFrame[];
  stop(): Promise<void>;
}

/** startDirector starts a director from YAML on fake devices; every real server in RIPS answers ARP. */
export async function startDirector(yaml: string, opts: { io?: FakeIo } = {}): Promise<FakeDirector> {
  const spec = parseConfig(yaml, 'test.yaml');
  const io = opts.io ?? new FakeIo();
  answerArp(io, Object.fromEntries([...RIPS.map((r, i) => [r, RS_MACS[i]]), [CIP, CLIENT_MAC]]));
  const { log, lines } = recordingLog();
  const { sys, commands } = recordingKernel();
  const clock = { now: 1000 };
  const dir = await Director.start({ spec, log, io, kernelRoutes: new KernelRoutes(sys), clock: () => clock.now });
  return {
    dir, io, port: io.port, log, lines, kernel: commands, clock,
    send: (device, frames) => io.port.inject(device, frames).filter((w) => !w.host),
    stop: () => dir.stop(),
  };
}

/** supervise adds a supervisor (health checks from `health`, no config file unless given). */
export function supervise(f: FakeDirector, health: RunnerOptions = {}, configPath: string | null = null): Supervisor {
  const sup = new Supervisor(f.dir, f.log, configPath, health);
  sup.start();
  return sup;
}

/** a client segment as it reaches the ext TAP */
export function fromClient(t: TcpSpec & { src?: string; dst?: string }): Uint8Array {
  return ethernet(EXT_MAC, CLIENT_MAC, tcpPacket({ src: t.src ?? CIP, dst: t.dst ?? VIP }, t));
}

/** a real server's segment as it reaches the int TAP */
export function fromServer(i: number, t: TcpSpec & { dst?: string }): Uint8Array {
  return ethernet(INT_MAC, RS_MACS[i], tcpPacket({ src: RIPS[i], dst: t.dst ?? CIP }, t));
}

export function udpFromClient(sport: number, dport: number, payload = new Uint8Array(8)): Uint8Array {
  return ethernet(EXT_MAC, CLIENT_MAC, udpPacket({ src: CIP, dst: VIP }, { sport, dport, payload }));
}

/** decode an L2 frame the port wrote */
export function decoded(w: WrittenFrame): DecodedFrame {
  return decodeFrame(w.frame, true);
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** until waits (a real 1 s at most) for `cond`, e.g. a peer's ARP answer to arrive */
export async function until(cond: () => boolean, what = 'condition'): Promise<void> {
  const deadline = performance.now() + 1000;
  while (!cond()) {
    if (performance.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(2);
  }
}
