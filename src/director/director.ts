// director.ts — one running director: the shared memory and the control plane's instance of the
// WASM core, the devices and the batched port that runs the data path on them (a worker thread
// with its own instance, io/port.ts), the host stack (ARP, echo), neighbour resolution, the
// kernel routes a TUN device needs, and the timers (neighbour refresh, index reaping, event
// drain; the port sweeps sessions itself). It starts from a DirectorSpec and applies new specs
// between batches: every table change runs inside the port's exclusive(). Device I/O, kernel
// routes and the clock are injected: the native engine, `ip` and performance.now() by default;
// tests run the same director over io/fake-io.ts without root.
import * as abi from '../dataplane/abi.js';
import { type Capacities, computeLayout, createMemory, type Layout, writeHeader } from '../dataplane/memory-map.js';
import type { CoreExports } from '../dataplane/abi.js';
import { compileCore, coreModulePath, instantiateCore } from '../dataplane/module.js';
import { type EventView, Tables } from '../dataplane/tables.js';
import type { BatchStats } from '../dataplane/worker.js';
import { WlvsError } from '../errors.js';
import { directorMac, nativeIo } from '../io/device.js';
import { adviseHugePages } from '../io/huge-pages.js';
import type { BatchPort, DeviceIo, EngineInfo, OpenDevice, PortStats } from '../io/port.js';
import type { Logger } from '../log.js';
import { Neighbours } from '../net/neighbours.js';
import { linkLocalFromMac, parseCidr } from '../model/address.js';
import { RouteTable } from '../net/routes.js';
import { type ApplyReport, TableApplier } from './apply.js';
import type { DeviceInfo } from './control-plane.js';
import { loadKey } from '../ha/auth.js';
import { HaController } from '../ha/controller.js';
import { ClusterController } from '../cluster/controller.js';
import { ClusterSync } from '../cluster/sync.js';
import { HostStack } from './host-stack.js';
import { KernelRoutes } from './kernel-routes.js';
import { ConnectionLog, DEFAULT_CONNECTION_LOG, checkLogPath } from './connlog.js';
import { SynGuard } from './syn-guard.js';
import { type DirectorSpec, type HaSpec, haAddresses, needsIpv6Sessions, usesFullnat } from '../model/spec.js';
import { chooseWorkers, coreWorkers } from './workers.js';

const ZERO_MAC = '00:00:00:00:00:00';

export interface DirectorOptions {
  spec: DirectorSpec;
  log: Logger;
  /** a WASM core other than the built release one (tests, hot-swap) */
  corePath?: string;
  /** device I/O: the native addon unless given (tests: io/fake-io.ts) */
  io?: DeviceIo;
  /** kernel routes and rules for a TUN device: over `ip` unless given (tests: a recording KernelSystem) */
  kernelRoutes?: KernelRoutes;
  /** milliseconds, monotonic: performance.now unless given (tests step a fake clock) */
  clock?: () => number;
}

/** What Director's constructor needs besides the spec; Director.start builds it. */
interface Parts {
  log: Logger;
  layout: Layout;
  memory: WebAssembly.Memory;
  /** the compiled core: the port runs its own instance, the control plane `core` */
  module: WebAssembly.Module;
  core: CoreExports;
  io: DeviceIo;
  devices: DeviceState[];
  routes: RouteTable;
  kernelRoutes: KernelRoutes | undefined;
  clock: () => number;
  /** the clock is performance.now (not a test's): a port on another thread can follow it */
  realClock: boolean;
}

interface DeviceState {
  open: OpenDevice;
  l2: boolean;
  mac: string;
  address: string | null;
  /** the device's first IPv6 address, else (TAP) its link-local one; null on a TUN without one */
  address6: string | null;
  mtu: number;
}

/** nat64: some service puts IPv4 servers behind an IPv6 VIP (Full-NAT 6->4) */
const hasNat64 = (spec: DirectorSpec): boolean => spec.services.some((s) => s.vip.includes(':') &&
  s.realServers.some((r) => !r.address.includes(':')));
/** how often the Full-NAT pool's drops are looked at for the log (a rate limit, not a delay) */
const FULLNAT_LOG_MS = 10_000;

/** checkSpec rejects what the director cannot run, before anything is created (also `wlvs check`). */
export function checkSpec(spec: DirectorSpec): void {
  if (spec.devices.length === 0) throw new WlvsError('WLVS_ERR_CONFIG_INVALID', 'at least one device is needed');
  const kinds = new Set(spec.devices.map((d) => d.kind));
  if (kinds.size > 1) throw new WlvsError('WLVS_ERR_CONFIG_INVALID', 'all devices must be of one kind (all tap or all tun)');
  const tun = kinds.has('tun');
  for (const s of spec.services) {
    const modes = new Set([s.forwarding, ...s.realServers.map((r) => r.forwarding ?? s.forwarding)]);
    if (tun && modes.has('dr')) {
      throw new WlvsError('WLVS_ERR_CONFIG_INVALID', `service ${s.name}: DR rewrites MACs and needs a tap device`);
    }
    if (modes.has('fullnat') && spec.fullnat.localAddresses.length === 0) {
      throw new WlvsError('WLVS_ERR_CONFIG_INVALID', `service ${s.name}: fullnat needs director.fullnat.local_addresses`);
    }
  }
}

/**
 * logHugePages advises the memory for transparent huge pages (director.huge_pages) and says what
 * came of it (event: huge_pages): a kernel in THP mode "never" or without THP leaves 4 KiB pages
 */
function logHugePages(log: Logger, memory: WebAssembly.Memory): void {
  try {
    const { mode, advisedBytes } = adviseHugePages(memory);
    const mib = Math.round(advisedBytes / (1 << 20));
    if (advisedBytes > 0) log.info({ event: 'huge_pages', mode, advisedBytes }, `${mib} MiB of memory advised for transparent huge pages (THP mode ${mode})`);
    else log.info({ event: 'huge_pages', mode, advisedBytes }, `no transparent huge pages (THP mode ${mode}): 4 KiB pages`);
  } catch (err) {
    log.warn({ event: 'huge_pages', err: (err as Error).message }, 'transparent huge pages could not be advised: 4 KiB pages');
  }
}

/**
 * needsConnExt: the spec has a service that edits its stream: a SYN proxy that may run (auto or
 * on), TOA, PROXY protocol
 */
export function needsConnExt(spec: DirectorSpec): boolean {
  return spec.services.some((s) => s.synProxy !== 'off' || s.toa || s.proxyProtocol !== null);
}

/** the MSS the SYN proxy announces unless configured: what the smallest device MTU carries */
function proxyMss(spec: DirectorSpec): number {
  return Math.min(...spec.devices.map((d) => d.mtu)) - 40;
}

/**
 * planLayout computes the memory layout a spec needs (and whether the devices get offloads),
 * or throws WLVS_ERR_CAPACITY; `wlvs check` runs it too, without opening anything.
 */
export function planLayout(spec: DirectorSpec): { layout: Layout; offload: boolean; tso: boolean } {
  const tunMode = spec.services.some((s) => s.forwarding === 'tun' || s.realServers.some((r) => r.forwarding === 'tun'));
  const offload = spec.devices.every((d) => d.offload);
  // TSO and USO super-packets cannot be carried inside IP-in-IP (no virtio GSO type for it), nor
  // translated by NAT64 (their GSO type names the family)
  const tso = offload && !tunMode && !hasNat64(spec);
  const l2 = spec.devices[0].kind === 'tap';
  const maxMtu = Math.max(...spec.devices.map((d) => d.mtu));
  // the LIP table's entries (one per pool entry, an address may have several ranges) plus the
  // other members' addresses (TableApplier's LIP layout)
  const poolAddresses = new Set(spec.fullnat.localAddresses.map((l) => l.address));
  const lipCount = spec.fullnat.localAddresses.length + new Set((spec.cluster?.members ?? [])
    .flatMap((m) => m.localAddresses).filter((a) => !poolAddresses.has(a))).size;
  const caps: Partial<Capacities> = {
    slotCount: spec.batch,
    // one lane (slots, descriptors, counters, event ring) per data-path worker
    workers: spec.workers ?? coreWorkers(),
    maxFrame: tso ? 65535 + 14 : Math.max(2048, maxMtu + (l2 ? 14 : 0)),
    devices: spec.devices.length,
    services: Math.max(64, spec.services.length * 2),
    realServers: Math.max(1024, spec.services.reduce((n, s) => n + s.realServers.length + 1, 0) * 2),
    destinations: Math.max(1024, spec.services.reduce((n, s) => n + s.realServers.length, 0) * 2),
    schedSize: 65537,
    sessions: spec.sessions,
    // every fullnat service lists the director's whole pool; a cluster member's LIP table also
    // holds the other members' addresses (for their synced sessions), in no pool list
    lips: Math.max(64, lipCount),
    poolEntries: Math.max(256,
      spec.fullnat.localAddresses.length * (spec.services.filter(usesFullnat).length * 2 + 2)),
    events: 1 << 16,
    // owned addresses: devices, VIPs, failover addresses and every LIP of the table
    localAddresses: 256 + lipCount,
    ipv6: needsIpv6Sessions(spec),
    fragments: spec.fragments.cache,
    holdFrames: spec.fragments.buffer,
    // the SYN proxy, TOA and the PROXY protocol keep per-session state (+16 B a session, +4 B
    // more for PROXY marks); without them no byte is spent on it
    connExt: needsConnExt(spec),
    proxyMarks: spec.services.some((s) => s.proxyProtocol !== null),
    connStats: spec.services.some((s) => s.connectionLog),
  };
  try {
    return { layout: computeLayout(caps), offload, tso };
  } catch (err) {
    throw new WlvsError('WLVS_ERR_CAPACITY', `the configured capacities do not fit: ${(err as Error).message}`);
  }
}

/** Director runs the data path for one spec; create it with Director.start(). */
export class Director {
  readonly layout: Layout;
  readonly memory: WebAssembly.Memory;
  readonly tables: Tables;
  readonly applier: TableApplier;
  readonly neighbours: Neighbours;
  readonly hostStack: HostStack;
  /** failover and session sync with a peer director (director.ha), or null */
  readonly ha: HaController | null;
  /** embryonic budget, SYN-cookie keys, auto-mode SYN proxies, protection state */
  readonly synGuard: SynGuard;
  /** announcements to the router by BGP (director.cluster), or null */
  readonly cluster: ClusterController | null;
  readonly startedAt = Date.now();
  #log: Logger;
  /** per-connection logs; null when no service asks for them */
  connectionLog: ConnectionLog | null = null;
  #spec: DirectorSpec;
  #devices: DeviceState[];
  #io: DeviceIo;
  #port: BatchPort;
  #routes: RouteTable;
  #kernel: KernelRoutes | null;
  #timers: NodeJS.Timeout[] = [];
  #clock: () => number;
  #t0: number;
  #eventListeners: ((raw: Uint8Array) => void)[] = [];
  #stopped = false;

  private constructor(spec: DirectorSpec, p: Parts) {
    const { log, layout, memory, core, devices } = p;
    this.#spec = spec;
    this.#log = log;
    this.layout = layout;
    this.memory = memory;
    this.#devices = devices;
    this.#io = p.io;
    this.#routes = p.routes;
    this.#clock = p.clock;
    this.#t0 = p.clock();
    this.tables = new Tables(memory, layout, core);
    this.tables.setDevices(devices.map((d) => ({
      mac: d.mac, mtu: d.mtu, l2: d.l2, vnet: d.open.vnet, address: d.address ?? '0.0.0.0', address6: d.address6,
    })));
    this.#port = p.io.createPort(memory, {
      layout, busyPollUs: spec.busyPollUs, workers: spec.workers ?? 1, ioEngine: spec.ioEngine, core: p.module,
      now: () => this.now(),
      clockOrigin: p.realClock ? performance.timeOrigin + this.#t0 : null,
      onHost: (dev, frames) => {
        for (const f of frames) this.hostStack.handle(dev, f);
      },
      onError: (err) => this.#dataPathFailed(err),
    });
    this.tables.setExclusive((fn) => this.#port.exclusive(fn));
    for (const d of devices) this.#port.addDevice(d.open);
    this.neighbours = new Neighbours({
      send: (dev, frame) => this.#port.send(dev, frame),
      identity: (dev) => ({ mac: devices[dev].mac, address: devices[dev].address ?? '0.0.0.0', address6: devices[dev].address6 }),
      now: () => this.#clock(),
    });
    this.applier = new TableApplier(this.tables, {
      route: (address) => {
        const hop = this.#routes.lookup(address);
        if (!hop) return null;
        const l2 = this.#devices[hop.device].l2;
        const mac = l2 ? this.neighbours.lookup(hop.device, hop.address) : ZERO_MAC;
        return { device: hop.device, neighbour: hop.address, mac };
      },
      linkLocal: () => this.#linkLocals(),
    });
    // the sync key every director of the pair or cluster holds: their cookies verify on each other
    const syncKey = spec.ha?.authKeyFile ?? spec.cluster?.sync?.authKeyFile ?? null;
    this.synGuard = new SynGuard({
      tables: this.tables, log: log.child({ component: 'syn-flood' }),
      services: () => this.applier.view().map((v) => ({ service: v.service, index: v.index })),
      sharedSecret: syncKey ? loadKey(syncKey) : null,
    });
    this.neighbours.onResolved((dev, address, mac) => {
      this.#log.info({ event: 'neighbour', device: devices[dev].open.name, address, mac }, 'next hop resolved');
      this.#port.exclusive(() => this.applier.onNeighbour(dev, address, mac));
    });
    this.hostStack = new HostStack(devices.map((d) => ({ l2: d.l2, mac: d.mac, mtu: d.mtu })),
      () => this.ownedAddresses(),
      this.neighbours, (dev, frame) => this.#port.send(dev, frame), () => this.#clock());
    this.#kernel = devices.some((d) => !d.l2) ? p.kernelRoutes ?? new KernelRoutes() : null;
    this.ha = spec.ha ? this.#haController(spec.ha) : null;
    this.cluster = spec.cluster ? new ClusterController(spec.cluster, {
      log,
      vips: () => this.#spec.services.map((s) => s.vip),
      servingVips: () => this.#servingVips(),
      ownLips: () => this.#ownLips(),
      forwarded: () => Number(this.tables.stat(abi.STAT_FORWARDED)),
      sessions: () => this.tables.sessionCount(),
      dataPathAlive: () => !this.#stopped && this.#portRunning,
    }, spec.cluster.sync ? new ClusterSync(spec.cluster, {
      log,
      onEvent: (fn) => this.onEvent(fn),
      importSynced: (record, e) => this.#importSynced(record, e),
      exportSessions: (start, max) => this.tables.exportSessions(start, max, this.now()),
    }) : null) : null;
  }

  /** #haController ties failover to this director: VRRP on its device, the addresses, sessions */
  #haController(ha: HaSpec): HaController {
    const dev = this.#devices.findIndex((d) => d.open.name === ha.vrrp.device);
    const d = this.#devices[dev];
    const c = new HaController(ha, {
      log: this.#log,
      onEvent: (fn) => this.onEvent(fn),
      importSynced: (record, e) => this.#importSynced(record, e),
      roleChanged: (master) => {
        // RFC 5798 §7.3: the master takes frames for the virtual MAC and answers ARP with it
        const vmac = master ? c.virtualMac : null;
        this.tables.setVirtualMac(dev, vmac);
        this.hostStack.setVirtualMac(dev, vmac, () => haAddresses(this.#spec));
        if (master) this.#announceRepeatedly();
      },
      exportSessions: (start, max) => this.tables.exportSessions(start, max, this.now()),
      vrrpSelf: () => ({ mac: d.mac, address: d.address ?? '0.0.0.0' }),
      movingAddresses: () => haAddresses(this.#spec),
      peerMac: (address) => this.neighbours.lookup(dev, address),
      sendVrrp: (frame) => this.#port.send(dev, frame),
    });
    for (const p of ha.vrrp.unicastPeers) this.neighbours.want(dev, p);
    this.hostStack.onVrrp = (device, frame) => {
      if (device === dev) c.onVrrpFrame(frame);
    };
    return c;
  }

  #portRunning = false;

  /** the VIPs with a service that can take a new connection: a usable real server or a sorry server */
  #servingVips(): Set<string> {
    const out = new Set<string>();
    for (const v of this.applier.view()) {
      const usable = v.realServers.some((r) => r.index !== null && (r.sorry || (r.weight > 0 && r.resolved)));
      if (usable) out.add(v.service.vip);
    }
    return out;
  }

  /** the Full-NAT addresses this director allocates from (its member entry, else its services') */
  #ownLips(): string[] {
    const c = this.#spec.cluster;
    const me = c?.members.find((m) => m.name === c.name);
    if (me) return me.localAddresses;
    return this.#spec.fullnat.localAddresses.map((l) => l.address);
  }

  /** #importSynced maps a peer's session record to this director's indices and imports it */
  #importSynced(record: Uint8Array, e: EventView): number {
    // a template's LIP field holds its control count, not an address
    const lip = e.type === abi.EVT_TEMPLATE_CREATED ? null : e.lip;
    const idx = this.applier.syncIndices(e.vip, e.vport, e.protocol, e.rip, e.rport, lip);
    if (!idx) return abi.SYNC_BAD;
    const v = new DataView(record.buffer, record.byteOffset, record.byteLength);
    v.setUint16(abi.EVT_SVC, idx.service, true);
    v.setUint16(abi.EVT_RS, idx.realServer, true);
    v.setUint16(abi.EVT_LIPIDX, idx.lip, true);
    const result = this.tables.importSession(record, this.now());
    if (result === abi.SYNC_NO_CONNX) {
      // one line every 2^k such sessions: a peer with another configuration cannot flood the log
      const n = ++this.#unrestorable;
      if ((n & (n - 1)) === 0) {
        this.#log.warn({ event: 'sync_unrestorable', client: `${e.client}:${e.clientPort}`, vip: `${e.vip}:${e.vport}`, count: n },
          'a synced SYN-proxy or PROXY-protocol session was not installed: this director has no session extension ' +
          'records (give it the same services as its peer, or restart it with them)');
      }
    }
    return result;
  }

  /** synced sessions refused for lack of extension records (SYNC_NO_CONNX), for the log's pacing */
  #unrestorable = 0;

  /** gratuitous ARP now, after 1 s and after 3 s, as keepalived repeats its announcements */
  #announceRepeatedly(): void {
    this.hostStack.announce(this.ownedAddresses());
    for (const ms of [1000, 3000]) {
      const t = setTimeout(() => {
        if (!this.#stopped) this.hostStack.announce(this.ownedAddresses());
      }, ms);
      t.unref();
      this.#timers.push(t);
    }
  }

  /** start opens the devices, lays out memory, applies the spec and starts moving packets. */
  static async start(opts: DirectorOptions): Promise<Director> {
    const { log } = opts;
    checkSpec(opts.spec);
    const choice = chooseWorkers(opts.spec);
    // from here on the spec names its count: layout, devices, port and reload agree on it
    const spec: DirectorSpec = { ...opts.spec, workers: choice.workers };
    log.info({ event: 'workers', workers: choice.workers, reason: choice.reason }, `${choice.workers} data-path worker${choice.workers > 1 ? 's' : ''}`);
    const { layout, offload, tso } = planLayout(spec);
    const memory = createMemory(layout);
    // before the first write: the kernel backs a huge page when it is first touched
    if (spec.hugePages ?? true) logHugePages(log, memory);
    writeHeader(memory, layout);
    const module = compileCore(opts.corePath ?? coreModulePath('release'));
    const core = instantiateCore(module, memory);
    const routes = new RouteTable();
    spec.devices.forEach((d, i) => d.addresses.forEach((a) => routes.addConnected(a, i)));
    for (const v of spec.ha?.virtualAddresses ?? []) routes.addConnected(v.address,
      spec.devices.findIndex((d) => d.name === v.device));
    for (const r of spec.routes) {
      const i = spec.devices.findIndex((d) => d.name === r.device);
      if (i < 0) throw new WlvsError('WLVS_ERR_CONFIG_INVALID', `route to ${r.to}: no device ${r.device}`);
      const { address, prefix } = parseCidr(r.to);
      routes.add({ network: address, prefix, device: i, via: r.via });
    }
    const io = opts.io ?? nativeIo;
    // before any device opens: a log file that cannot be opened fails the start cleanly
    if (spec.services.some((s) => s.connectionLog)) checkLogPath((spec.connectionLog ?? DEFAULT_CONNECTION_LOG).path);
    const devices: DeviceState[] = [];
    let dir: Director;
    try {
      for (const d of spec.devices) {
        const mac = d.kind === 'tap' ? d.mac ?? directorMac(d.name, d.addresses.join(',')) : ZERO_MAC;
        const open = await io.openDevice({
          name: d.name, kind: d.kind, mtu: d.mtu, bridge: d.bridge, vnet: offload, tso, queues: spec.workers ?? 1,
          txqueuelen: d.txqueuelen, steering: (spec.queueSteering ?? 'flow-hash') === 'flow-hash',
          ...(d.kind === 'tap' ? { directorMac: mac } : {}),
        });
        // segmentation offloads asked for: say whether this kernel also hands over UDP's (6.2+)
        if (tso && open.udpSegmentation !== undefined) {
          log.info({ event: 'offload', device: open.name, tcp: true, udp: open.udpSegmentation },
            open.udpSegmentation ? 'TCP and UDP super-packets' : 'TCP super-packets only: this kernel has no UDP segmentation offload on TUN/TAP');
        }
        const first = (family: 4 | 6) =>
          d.addresses.map((a) => parseCidr(a)).find((c) => c.family === family)?.address ?? null;
        devices.push({
          open, l2: d.kind === 'tap', mac, address: first(4),
          // neighbour discovery needs an IPv6 source: the link-local one when none is configured
          address6: first(6) ?? (d.kind === 'tap' ? linkLocalFromMac(mac) : null), mtu: d.mtu,
        });
      }
      dir = new Director(spec, {
        log, layout, memory, module, core, io, devices, routes, kernelRoutes: opts.kernelRoutes,
        clock: opts.clock ?? (() => performance.now()), realClock: !opts.clock,
      });
    } catch (err) {
      for (const d of devices) io.closeDevice(d.open);
      throw err;
    }
    try {
      await dir.#begin();
    } catch (err) {
      await dir.stop();
      throw err;
    }
    return dir;
  }

  async #begin(): Promise<void> {
    if (this.#spec.services.some((s) => s.connectionLog)) {
      this.connectionLog = new ConnectionLog(this.#spec.connectionLog,
        { wallOf: (t) => this.#wallOf(t), now: Date.now });
      this.connectionLog.services(this.#spec.services);
      this.onEvent((raw) => this.connectionLog!.onEvent(raw));
    }
    const report = this.applier.apply(this.#spec);
    this.synGuard.apply(this.#spec.synFlood, proxyMss(this.#spec));
    this.#wantNeighbours();
    if (this.#kernel) {
      await this.#kernel.sync(this.#spec, this.#devices.find((d) => !d.l2)!.open.name);
      for (const w of this.#kernel.warnings) this.#log.warn({ event: 'kernel' }, w);
    }
    for (const d of this.#devices) {
      const steering = d.open.steering;
      if (steering === undefined) continue;
      if (steering === 'flow-hash') this.#log.info({ event: 'queue_steering', device: d.open.name, steering }, 'queues picked by flow hash');
      // warn only when the program was wanted and could not be loaded, not for a configured `kernel`
      else if (this.#spec.queueSteering === 'kernel') this.#log.info({ event: 'queue_steering', device: d.open.name, steering }, "queues picked by the kernel's flow table");
      else this.#log.warn({ event: 'queue_steering', device: d.open.name, steering }, "queues picked by the kernel's flow table: a flow's frames may move between workers");
    }
    await this.#port.start();
    this.#portRunning = true;
    this.#logEngine();
    await this.#awaitNeighbours(3000);
    this.#every(250, () => this.neighbours.tick());
    this.#every(1000, () => this.#port.exclusive(() => this.applier.reap()));
    if (this.#spec.fullnat.localAddresses.length) this.#every(FULLNAT_LOG_MS, () => this.#logFullnat());
    // auto-mode SYN proxies follow the SYN rate within 100 ms; the data path reacts to pressure at once
    this.#every(100, () => this.synGuard.tick(performance.now()));
    this.#every(1000, () => this.synGuard.clock(performance.now()));
    // events feed session sync (drained often, so a takeover loses few) and connection logs
    if (this.ha?.spec.syncSessions || this.#spec.cluster?.sync || this.connectionLog) {
      this.#every(20, () => this.drainEvents());
    }
    // a backup announces only its own addresses; it announces the rest when it becomes master
    if (this.ha) await this.ha.start();
    if (!this.ha?.master) this.#announceRepeatedly();
    // BIRD starts announcing nothing; the routes follow once the data path forwards
    if (this.cluster) {
      await this.cluster.start();
      this.cluster.ready();
    }
    this.#log.info({ event: 'applied', ...report }, 'configuration applied');
  }

  /**
   * awaitNeighbours waits until every L2 next hop is resolved, at most `ms`: "ready" should
   * mean a first SYN finds its server's MAC. Unresolved ones keep being asked afterwards.
   */
  async #awaitNeighbours(ms: number): Promise<void> {
    const deadline = performance.now() + ms;
    const pending = () => this.applier.neighbours()
      .filter((n) => this.#devices[n.device].l2 && !this.neighbours.lookup(n.device, n.address));
    // real time, not the injected clock: this waits for ARP answers to arrive
    while (pending().length && performance.now() < deadline) {
      await new Promise((r) => setTimeout(r, 20));
    }
    for (const n of pending()) {
      this.#log.warn({ event: 'neighbour_unresolved', address: n.address, device: this.#devices[n.device].open.name },
        'next hop not resolved yet; its real servers get no traffic until it answers ARP');
    }
  }

  /** counter values at the last Full-NAT log line */
  #fullnatSeen = { exhausted: 0n, busy: 0n, reused: 0n, quarantined: 0n, at: 0 };

  /**
   * logFullnat says, at most every FULLNAT_LOG_MS, that Full-NAT connections failed for want of a
   * tuple (warn), and at most once a minute how many clients reused their tuple and how many
   * tuples went into quarantine (info): counted in the metrics, never silent in the log either.
   */
  #logFullnat(): void {
    const t = this.tables;
    const now = {
      exhausted: t.stat(abi.STAT_DROP_BASE + abi.DROP_POOL_EXHAUSTED),
      busy: t.stat(abi.STAT_DROP_BASE + abi.DROP_FNAT_BUSY),
      reused: t.stat(abi.STAT_FNAT_REUSED), quarantined: t.stat(abi.STAT_FNAT_QUARANTINED),
    };
    const seen = this.#fullnatSeen;
    const d = {
      exhausted: Number(now.exhausted - seen.exhausted), busy: Number(now.busy - seen.busy),
      reused: Number(now.reused - seen.reused), quarantined: Number(now.quarantined - seen.quarantined),
    };
    const lips = this.applier.lips()
      .map((l) => ({ lip: l.address, held: t.lipUsage(l.index).used, ports: l.portMax - l.portMin + 1 }));
    const ms = performance.now();
    if (d.exhausted || d.busy) {
      this.#log.warn({ event: 'fullnat_pool', ...d, lips },
        'Full-NAT connections dropped for want of a LIP:lport tuple (add local addresses or lower director.fullnat.quarantine)');
    } else if ((d.reused || d.quarantined) && ms - seen.at >= 60_000) {
      this.#log.info({ event: 'fullnat_pool', ...d, lips }, 'Full-NAT tuples reused by their clients and held in quarantine');
    } else {
      return;
    }
    this.#fullnatSeen = { ...now, at: ms };
  }

  #every(ms: number, fn: () => void): void {
    const t = setInterval(fn, ms);
    t.unref();
    this.#timers.push(t);
  }

  #wantNeighbours(): void {
    for (const n of this.applier.neighbours()) {
      if (this.#devices[n.device].l2) this.neighbours.want(n.device, n.address);
    }
  }

  /** the data path's clock: milliseconds since start, as the core compares them (u32, wrap-safe) */
  now(): number {
    return Math.floor(this.#clock() - this.#t0) >>> 0;
  }

  /** #wallOf turns a data-path time (now()'s clock, at most 49 days back) into epoch milliseconds */
  #wallOf(t: number): number {
    return Date.now() - ((this.now() - t) >>> 0);
  }

  /**
   * #dataPathFailed: nothing is forwarded any more; crash as a trap on the main thread would, so
   * a supervisor restarts us
   */
  #dataPathFailed(err: Error): void {
    this.#log.fatal({ event: 'data_path_failed', err }, 'the data path stopped');
    setImmediate(() => { throw err; });
  }

  /** drainEvents empties the event ring into the listeners */
  drainEvents(): number {
    return this.tables.drainEvents((raw) => {
      for (const fn of this.#eventListeners) fn(raw);
    });
  }

  /** onEvent listens to session events: raw records, see Tables.drainEvents */
  onEvent(fn: (raw: Uint8Array) => void): void {
    this.#eventListeners.push(fn);
  }

  /** #linkLocals: the IPv6 link-local address of every TAP device (neighbour discovery talks from them) */
  #linkLocals(): string[] {
    return this.#devices.filter((d) => d.l2).map((d) => linkLocalFromMac(d.mac));
  }

  /** ownedAddresses: every address the director answers ARP and neighbour solicitations for (a backup: only its own) */
  ownedAddresses(): Set<string> {
    const out = new Set<string>(this.#linkLocals());
    for (const d of this.#spec.devices) for (const a of d.addresses) out.add(a.split('/')[0]);
    if (this.ha && !this.ha.master) return out;
    for (const v of this.#spec.ha?.virtualAddresses ?? []) out.add(v.address.split('/')[0]);
    for (const s of this.#spec.services) out.add(s.vip);
    for (const l of this.#spec.fullnat.localAddresses) out.add(l.address);
    return out;
  }

  get spec(): DirectorSpec {
    return this.#spec;
  }

  /** each data-path worker's I/O engine (director.io_engine) */
  ioEngines(): EngineInfo[] {
    return this.#port.engines?.() ?? [];
  }

  /** the data path's I/O engine: info, or a warning when auto found no io_uring */
  #logEngine(): void {
    const e = this.ioEngines()[0];
    if (!e) return;
    const fields = { event: 'io_engine', engine: e.engine, ...(e.reason ? { reason: e.reason } : {}) };
    if (e.reason) this.#log.warn(fields, `data path on epoll: io_uring unavailable (${e.reason})`);
    else this.#log.info(fields, `data path on ${e.engine}`);
  }

  deviceInfo(): DeviceInfo[] {
    return this.#devices.map((d) => ({
      name: d.open.name, kind: d.open.kind, mac: d.mac, address: d.address, address6: d.address6, vnet: d.open.vnet,
      ...(d.open.steering ? { steering: d.open.steering } : {}),
    }));
  }

  portStats(): PortStats {
    return this.#port.stats();
  }

  /**
   * exclusive runs `fn` while no batch runs (the port's barrier) and returns its result: for a
   * change or a reading that must not interleave with process(). WLVS_ERR_ENGINE when the data
   * path does not pause.
   */
  exclusive<T>(fn: () => T): T {
    return this.#port.exclusive(fn);
  }

  /** batchStats: batch sizes and processing time, as the port counted them */
  batchStats(): BatchStats {
    return this.#port.batchStats();
  }

  /** workerStats: each data-path worker's port and batch counters (one entry for a port without workers) */
  workerStats(): { port: PortStats; batch: BatchStats }[] {
    return this.#port.workerStats?.() ?? [{ port: this.#port.stats(), batch: this.#port.batchStats() }];
  }

  /**
   * reload applies a new spec between two batches. Device changes need a restart and are
   * refused; everything else (services, real servers, weights, schedulers, pools, timeouts)
   * is applied with existing sessions kept unless their real server was removed.
   */
  async reload(given: DirectorSpec): Promise<ApplyReport> {
    checkSpec(given);
    // a config that names no count keeps the one chosen at start (director/workers.ts)
    const spec: DirectorSpec = { ...given, workers: given.workers ?? this.#spec.workers };
    if (JSON.stringify(spec.devices) !== JSON.stringify(this.#spec.devices) ||
      JSON.stringify(spec.routes) !== JSON.stringify(this.#spec.routes) || spec.sessions !== this.#spec.sessions ||
      spec.batch !== this.#spec.batch || spec.busyPollUs !== this.#spec.busyPollUs ||
      (spec.hugePages ?? true) !== (this.#spec.hugePages ?? true) ||
      spec.workers !== this.#spec.workers || (spec.ioEngine ?? 'epoll') !== (this.#spec.ioEngine ?? 'epoll') || !spec.ha !== !this.#spec.ha ||
      (spec.ha && this.ha && !this.ha.canUpdate(spec.ha)) ||
      JSON.stringify(spec.cluster) !== JSON.stringify(this.#spec.cluster)) {
      throw new WlvsError('WLVS_ERR_CONFIG_INVALID', 'devices, routes, sessions, batch, busy_poll_us, huge_pages, workers, io_engine, cluster and ha ' +
        '(but its priority, preempt and preempt_delay) cannot change without a restart');
    }
    if (spec.fragments.cache !== this.#spec.fragments.cache || spec.fragments.buffer !== this.#spec.fragments.buffer) {
      throw new WlvsError('WLVS_ERR_CONFIG_INVALID', 'director.fragments cache and buffer sizes cannot change without a restart');
    }
    // IPv6 sessions need a region laid out at start (64 B per session record)
    if (needsIpv6Sessions(spec) && this.layout.conns6.size === 0) {
      throw new WlvsError('WLVS_ERR_CONFIG_INVALID', 'the first IPv6 service needs a restart: the running director has no IPv6 session records');
    }
    if (spec.services.some((s) => s.synProxy !== 'off') && !this.layout.caps.connExt) {
      throw new WlvsError('WLVS_ERR_RESTART_NEEDED',
        'a SYN proxy (syn_proxy: auto or on) needs session extension records this director was started without: restart it');
    }
    const previous = this.#spec;
    try {
      this.#spec = spec;
      // one pause for the whole change: no batch sees half of it
      const report = this.#port.exclusive(() => {
        const r = this.applier.apply(spec);
        this.synGuard.apply(spec.synFlood, proxyMss(spec));
        return r;
      });
      this.#wantNeighbours();
      if (this.#kernel) await this.#kernel.sync(spec, this.#devices.find((d) => !d.l2)!.open.name);
      this.hostStack.announce(this.ownedAddresses());
      if (spec.ha) this.ha?.update(spec.ha);
      if (this.connectionLog) {
        this.connectionLog.services(spec.services);
        this.connectionLog.update(spec.connectionLog);
      }
      return report;
    } catch (err) {
      this.#spec = previous;
      this.#port.exclusive(() => {
        this.applier.apply(previous);
        this.synGuard.apply(previous.synFlood, proxyMss(previous));
      });
      throw err;
    }
  }

  /**
   * hotSwap moves the data path to another build of the core between two batches: the control
   * plane's instance is replaced while no batch runs (instantiating writes the module's data
   * segment), and the port takes the module before its next batch. Sessions stay where they are;
   * both counts are taken while no batch runs, so a session that expires just before or after
   * the swap cannot make them differ.
   */
  hotSwap(path: string): { sessionsBefore: number; sessions: number } {
    const module = compileCore(path);
    let sessionsBefore = 0, sessions = 0;
    this.#port.exclusive(() => {
      sessionsBefore = this.tables.sessionCount();
      const core = instantiateCore(module, this.memory);
      this.tables.setCore(core);
      this.#port.setCore(module);
      sessions = this.tables.sessionCount();
    });
    this.#log.info({ event: 'hot_swap', path, sessionsBefore, sessions }, 'WASM core replaced');
    return { sessionsBefore, sessions };
  }

  /** stop halts the data path, closes the devices and removes the kernel routes it added. */
  async stop(): Promise<void> {
    if (this.#stopped) return;
    // withdraw the routes first, and forward while the router moves the flows away
    if (this.cluster) {
      try { await this.cluster.stop(); } catch (err) { this.#log.warn({ err }, 'stopping BIRD'); }
    }
    this.#stopped = true;
    if (this.ha) await this.ha.stop();
    for (const t of this.#timers) clearTimeout(t);
    // the worker must be done with the fds before they close
    await this.#port.stop();
    if (this.connectionLog) {
      this.drainEvents();
      await this.connectionLog.close();
    }
    for (const d of this.#devices) {
      try { this.#io.closeDevice(d.open); } catch (err) { this.#log.warn({ err }, 'closing device'); }
    }
    if (this.#kernel) {
      for (const e of await this.#kernel.clear()) this.#log.warn({ event: 'kernel', err: e.message }, 'cleanup');
    }
  }
}
