// memory-map.ts — computes where every region of the data-path memory lives, creates the one
// WebAssembly.Memory (fixed size: growing would detach every view and the native addon's
// pointer) and writes the header the WASM module reads. Only src/dataplane/ knows this layout.
import * as abi from './abi.js';

/** Sizes the host chooses; everything else in the layout follows from them. */
export interface Capacities {
  /** frames per batch = number of slots (32..1024) */
  slotCount: number;
  /** largest frame (L2 or L3, without vnet header) a slot must hold */
  maxFrame: number;
  devices: number;
  services: number;
  realServers: number;
  /** entries in the destination lists of all services together */
  destinations: number;
  /** per-service scheduler table entries (Maglev M, a prime ≥ 256) */
  schedSize: number;
  /** session records; rounded up to a power of two */
  sessions: number;
  /** Full-NAT local addresses */
  lips: number;
  /** entries in the pool lists of all services together */
  poolEntries: number;
  /** event ring capacity; rounded up to a power of two */
  events: number;
  /** owned addresses (VIPs, DIPs, LIPs), per family */
  localAddresses: number;
  /** IPv6 sessions: every record gets its CONN6_SIZE extension (else the region is absent) */
  ipv6: boolean;
  /** first-fragment decisions remembered (rounded up to a power of two; 0 = no cache) */
  fragments: number;
  /** fragments that may wait for their first fragment at once */
  holdFrames: number;
  /** slots for frames the core builds beside a batch's own (the SYN proxy's ACKs to real servers) */
  emitSlots: number;
  /**
   * a session extension record (abi CONNX_*) per session: needed by features that translate
   * sequence numbers or timestamps (SYN proxy, PROXY protocol); +CONNX_SIZE bytes a connection
   */
  connExt: boolean;
  /** a u32 per session for the PROXY protocol (where the client's stream starts): +4 bytes a connection */
  proxyMarks: boolean;
  /** per-connection counters (abi CONNSTATS_*) for connection logs: +CONNSTATS_SIZE bytes a connection */
  connStats?: boolean;
  /**
   * data-path workers (1..MAX_LANES): each gets a lane, its own slots, descriptors, scratch,
   * emit and hold space, counters and event ring
   */
  workers?: number;
}

const DEFAULT_CAPACITIES: Capacities = {
  slotCount: 256,
  maxFrame: 2048,
  devices: 4,
  services: 64,
  realServers: 1024,
  destinations: 1024,
  schedSize: 65537,
  sessions: 1 << 20,
  lips: 64,
  poolEntries: 256,
  events: 1 << 14,
  localAddresses: 256,
  ipv6: false,
  fragments: 4096,
  holdFrames: 64,
  emitSlots: 64,
  connExt: false,
  proxyMarks: false,
};

/** how long a first fragment's decision is kept, and how long a fragment may wait for it (ms) */
export const DEFAULT_FRAGMENT_TIMEOUT_MS = 2000;
export const DEFAULT_HOLD_TIMEOUT_MS = 500;

/** A region's absolute byte offset and size. */
export interface Region { base: number; size: number }

/**
 * One lane: everything one worker's batches write. Lane 0's regions are the layout's top-level
 * slots/descriptors/... (aliases); its header is the header itself.
 */
export interface LaneLayout {
  /** absolute address of the lane header (HEADER_BASE for lane 0; lane-scoped HDR_* fields at header + field) */
  header: number;
  slots: Region;
  descriptors: Region;
  scratch: Region;
  emit: Region;
  hold: Region;
  stats: Region;
  svcStats: Region;
  rsStats: Region;
}

/** The computed layout: every region, plus derived counts the host needs. */
export interface Layout {
  caps: Capacities;
  slotSize: number;
  headroom: number;
  connCap: number;
  idxSlots: number;
  localSlots: number;
  svcIdxSlots: number;
  eventCap: number;
  fragSlots: number;
  /** bytes per hold entry (HOLD_HDR, headroom, the largest frame it takes) */
  holdSize: number;
  slots: Region;
  descriptors: Region;
  scratch: Region;
  devices: Region;
  local: Region;
  services: Region;
  svcIndex: Region;
  realServers: Region;
  destinations: Region;
  sched: Region;
  conns: Region;
  index: Region;
  lips: Region;
  pools: Region;
  stats: Region;
  svcStats: Region;
  rsStats: Region;
  events: Region;
  svc6: Region;
  rs6: Region;
  lip6: Region;
  local6: Region;
  frags: Region;
  hold: Region;
  /** size 0 (base 0 in the header) unless caps.ipv6 */
  conns6: Region;
  emit: Region;
  /** session extension records; size 0 when caps.connExt is false */
  connx: Region;
  /** connection-log counters; size 0 when caps.connStats is false */
  connStats: Region;
  /** PROXY protocol marks; size 0 when caps.proxyMarks is false */
  proxyMarks: Region;
  /**
   * one per worker (caps.workers); lanes[0] aliases slots, descriptors, scratch, emit, hold,
   * events, stats, svcStats, rsStats
   */
  lanes: LaneLayout[];
  /** header blocks of lanes 1.. (HEADER_SIZE each); size 0 with one worker */
  laneHeaders: Region;
  /** total bytes, a multiple of 64 KiB */
  memoryBytes: number;
}

const PAGE = 65536;

function nextPow2(n: number): number {
  let p = 1;
  while (p < n) p *= 2;
  return p;
}

function align(n: number, a: number): number {
  return Math.ceil(n / a) * a;
}

/**
 * computeLayout places every region after the header, in a fixed order, each REGION_ALIGN
 * aligned. It throws a RangeError when a capacity is outside what the ABI can encode.
 */
export function computeLayout(partial: Partial<Capacities> = {}): Layout {
  const caps: Capacities = { ...DEFAULT_CAPACITIES, ...partial };
  const workers = caps.workers ?? 1;
  if (!Number.isInteger(workers) || workers < 1 || workers > abi.MAX_LANES) {
    throw new RangeError(`capacity workers=${workers} outside [1, ${abi.MAX_LANES}]`);
  }
  const check = (name: Exclude<keyof Capacities, 'connExt' | 'ipv6' | 'proxyMarks' | 'connStats' | 'workers'>, min: number, max: number): void => {
    const v = caps[name];
    if (!Number.isInteger(v) || v < min || v > max) {
      throw new RangeError(`capacity ${name}=${v} outside [${min}, ${max}]`);
    }
  };
  check('slotCount', 1, 4096);
  check('maxFrame', 64, 65535 + abi.ETH_HLEN);
  check('devices', 1, abi.MAX_DEVICES);
  check('services', 1, 0xfffe);
  check('realServers', 1, 0xfffe);
  check('destinations', 1, 1 << 24);
  check('schedSize', abi.SH_TABLE_SIZE, 1 << 20);
  check('sessions', 16, abi.MAX_CONN_CAP);
  check('lips', 1, 0xfffe);
  check('poolEntries', 1, 1 << 20);
  check('events', 16, 1 << 24);
  check('localAddresses', 1, 1 << 16);
  check('fragments', 0, 1 << 20);
  check('holdFrames', 0, 4096);
  check('emitSlots', 1, 4096);

  const headroom = abi.MIN_HEADROOM;
  // the frame itself starts at a 64-byte boundary inside its slot: keeps IP headers aligned
  const slotSize = align(headroom + caps.maxFrame, 64);
  const connCap = nextPow2(caps.sessions);
  const idxSlots = connCap * abi.IDX_PER_CONN;
  const localSlots = nextPow2(caps.localAddresses * 2);
  const svcIdxSlots = nextPow2(caps.services * 2);
  const eventCap = nextPow2(caps.events);
  const fragSlots = caps.fragments === 0 ? 0 : nextPow2(caps.fragments);
  // a held fragment is at most one MTU-sized frame: never a GSO super-packet
  const holdSize = align(abi.HOLD_HDR + headroom + Math.min(caps.maxFrame, 9216 + abi.ETH_HLEN), 64);

  let cursor = abi.HEADER_BASE + abi.HEADER_SIZE;
  const take = (size: number): Region => {
    const base = align(cursor, abi.REGION_ALIGN);
    cursor = base + size;
    return { base, size };
  };
  // hot, small tables first so they share as few pages as possible
  const descriptors = take(caps.slotCount * abi.DESC_SIZE);
  const scratch = take(caps.slotCount * abi.SCR_SIZE);
  const devices = take(abi.MAX_DEVICES * abi.DEV_SIZE);
  const local = take(localSlots * abi.LOCAL_SIZE);
  const svcIndex = take(svcIdxSlots * abi.SVCIDX_SIZE);
  const services = take(caps.services * abi.SVC_SIZE);
  const realServers = take(caps.realServers * abi.RS_SIZE);
  const destinations = take(caps.destinations * 2);
  const lips = take(caps.lips * abi.LIP_SIZE);
  const pools = take(caps.poolEntries * 2);
  const stats = take(abi.STAT_COUNT * 8);
  const svcStats = take(caps.services * abi.STATS_SIZE);
  const rsStats = take(caps.realServers * abi.STATS_SIZE);
  const events = take(eventCap * abi.EVT_SIZE);
  const svc6 = take(caps.services * abi.SVC6_SIZE);
  const rs6 = take(caps.realServers * abi.RS6_SIZE);
  const lip6 = take(caps.lips * abi.LIP6_SIZE);
  const local6 = take(localSlots * abi.LOCAL6_SIZE);
  const frags = take(fragSlots * abi.FRAG_SIZE);
  const hold = take(caps.holdFrames * holdSize);
  const emit = take(caps.emitSlots * abi.EMIT_SLOT_SIZE);
  const slots = take(caps.slotCount * slotSize);
  const index = take(idxSlots * 4);
  const conns = take(connCap * abi.CONN_SIZE);
  const conns6 = caps.ipv6 ? take(connCap * abi.CONN6_SIZE) : { base: 0, size: 0 };
  const connx = take(caps.connExt ? connCap * abi.CONNX_SIZE : 0);
  const proxyMarks = take(caps.proxyMarks ? connCap * 4 : 0);
  const connStats = take(caps.connStats ? connCap * abi.CONNSTATS_SIZE : 0);
  const sched = take(caps.services * caps.schedSize * 2);
  // lanes 1..: after everything else, so one worker's layout is exactly what it was before lanes
  const laneHeaders = take((workers - 1) * abi.HEADER_SIZE);
  const lanes: LaneLayout[] = [
    { header: abi.HEADER_BASE, slots, descriptors, scratch, emit, hold, stats, svcStats, rsStats },
  ];
  for (let i = 1; i < workers; i++) {
    lanes.push({
      header: laneHeaders.base + (i - 1) * abi.HEADER_SIZE,
      descriptors: take(descriptors.size), scratch: take(scratch.size), stats: take(stats.size),
      svcStats: take(svcStats.size), rsStats: take(rsStats.size), hold: take(hold.size), emit: take(emit.size),
      slots: take(slots.size),
    });
  }
  const memoryBytes = align(cursor, PAGE);
  if (memoryBytes > 4 * 1024 * 1024 * 1024 - PAGE) {
    throw new RangeError(`layout needs ${memoryBytes} bytes, more than a 32-bit WebAssembly memory`);
  }
  return {
    caps, slotSize, headroom, connCap, idxSlots, localSlots, svcIdxSlots, eventCap, fragSlots, holdSize,
    slots, descriptors, scratch, devices, local, services, svcIndex, realServers, destinations,
    sched, conns, index, lips, pools, stats, svcStats, rsStats, events, emit, svc6, rs6, lip6, local6, frags, hold,
    conns6, connx, proxyMarks, connStats, lanes, laneHeaders, memoryBytes,
  };
}

/** Full-NAT quarantine in seconds: a tuple goes to another client only this long after its last
 * packet; Linux servers keep TIME_WAIT 60 s (TCP_TIMEWAIT_LEN), Windows 120 s by default */
export const DEFAULT_FNAT_QUARANTINE_S = 60;

/** what the SYN proxy announces to clients unless configured: Ethernet's MSS, Linux's usual shift */
export const SYNPROXY_DEFAULT_MSS = 1460;
export const SYNPROXY_DEFAULT_WSCALE = 7;

/** Default timeouts in seconds, IPVS's (ip_vs_proto_tcp.c, ip_vs_proto_udp.c). */
export const DEFAULT_TIMEOUTS_S: Record<string, number> = {
  none: 2, established: 900, syn_sent: 120, syn_recv: 60, fin_wait: 120, time_wait: 120,
  close: 10, close_wait: 60, last_ack: 30, listen: 120, synack: 120, udp: 300, icmp: 60,
};

/** Index of each timeout name in the HDR_TIMEOUTS array. */
export const TIMEOUT_SLOTS: Record<string, number> = {
  none: abi.TCP_S_NONE, established: abi.TCP_S_ESTABLISHED, syn_sent: abi.TCP_S_SYN_SENT,
  syn_recv: abi.TCP_S_SYN_RECV, fin_wait: abi.TCP_S_FIN_WAIT, time_wait: abi.TCP_S_TIME_WAIT,
  close: abi.TCP_S_CLOSE, close_wait: abi.TCP_S_CLOSE_WAIT, last_ack: abi.TCP_S_LAST_ACK,
  listen: abi.TCP_S_LISTEN, synack: abi.TCP_S_SYNACK, udp: abi.TO_UDP, icmp: abi.TO_ICMP,
};

/**
 * createMemory returns a shared memory of exactly layout.memoryBytes that can never grow: the
 * data-path worker and the control plane's thread both work on it (the core imports it shared).
 */
export function createMemory(layout: Layout): WebAssembly.Memory {
  const pages = layout.memoryBytes / PAGE;
  return new WebAssembly.Memory({ initial: pages, maximum: pages, shared: true });
}

/**
 * writeHeader fills the header from the layout, sets default timeouts and empties every
 * table. Call it once, before the first batch; the memory must be zeroed (fresh).
 */
export function writeHeader(memory: WebAssembly.Memory, layout: Layout): void {
  const view = new DataView(memory.buffer);
  const h = (field: number, value: number): void => view.setUint32(abi.HEADER_BASE + field, value, true);
  h(abi.HDR_MAGIC, abi.MAGIC);
  h(abi.HDR_ABI, abi.ABI_VERSION);
  h(abi.HDR_OPTIONS, abi.OPT_EVENTS);
  h(abi.HDR_SLOT_SIZE, layout.slotSize);
  h(abi.HDR_SLOT_COUNT, layout.caps.slotCount);
  h(abi.HDR_HEADROOM, layout.headroom);
  h(abi.HDR_DEV_BASE, layout.devices.base);
  h(abi.HDR_DEV_COUNT, 0);
  h(abi.HDR_LOCAL_BASE, layout.local.base);
  h(abi.HDR_LOCAL_MASK, layout.localSlots - 1);
  h(abi.HDR_SVC_BASE, layout.services.base);
  h(abi.HDR_SVC_CAP, layout.caps.services);
  h(abi.HDR_SVCIDX_BASE, layout.svcIndex.base);
  h(abi.HDR_SVCIDX_MASK, layout.svcIdxSlots - 1);
  h(abi.HDR_RS_BASE, layout.realServers.base);
  h(abi.HDR_RS_CAP, layout.caps.realServers);
  h(abi.HDR_DEST_BASE, layout.destinations.base);
  h(abi.HDR_DEST_CAP, layout.caps.destinations);
  h(abi.HDR_SCHED_BASE, layout.sched.base);
  h(abi.HDR_SCHED_SIZE, layout.caps.schedSize);
  h(abi.HDR_CONN_BASE, layout.conns.base);
  h(abi.HDR_CONN_CAP, layout.connCap);
  h(abi.HDR_IDX_BASE, layout.index.base);
  h(abi.HDR_IDX_MASK, layout.idxSlots - 1);
  h(abi.HDR_CONN_COUNT, 0);
  h(abi.HDR_CONN_FREE, 0);
  h(abi.HDR_CONN_HIGH, 0);
  h(abi.HDR_LIP_BASE, layout.lips.base);
  h(abi.HDR_LIP_CAP, layout.caps.lips);
  h(abi.HDR_FNAT_QUARANTINE, DEFAULT_FNAT_QUARANTINE_S * 1000);
  h(abi.HDR_POOL_BASE, layout.pools.base);
  h(abi.HDR_POOL_CAP, layout.caps.poolEntries);
  h(abi.HDR_EVT_CAP, layout.eventCap);
  // one event ring for the table, whatever the lanes (assembly/events.ts)
  h(abi.HDR_EVT_BASE, layout.events.base);
  h(abi.HDR_EVT_HEAD, 0);
  h(abi.HDR_EVT_TAIL, 0);
  h(abi.HDR_MEM_END, layout.memoryBytes);
  h(abi.HDR_CONN6_BASE, layout.conns6.base);
  h(abi.HDR_SVC6_BASE, layout.svc6.base);
  h(abi.HDR_RS6_BASE, layout.rs6.base);
  h(abi.HDR_LIP6_BASE, layout.lip6.base);
  h(abi.HDR_LOCAL6_BASE, layout.local6.base);
  h(abi.HDR_LOCAL6_MASK, layout.localSlots - 1);
  h(abi.HDR_FRAG_BASE, layout.fragSlots ? layout.frags.base : 0);
  h(abi.HDR_FRAG_MASK, layout.fragSlots ? layout.fragSlots - 1 : 0);
  h(abi.HDR_FRAG_TIMEOUT, DEFAULT_FRAGMENT_TIMEOUT_MS);
  h(abi.HDR_HOLD_COUNT, layout.caps.holdFrames);
  h(abi.HDR_HOLD_SIZE, layout.holdSize);
  h(abi.HDR_HOLD_TIMEOUT, DEFAULT_HOLD_TIMEOUT_MS);
  h(abi.HDR_EMIT_CAP, layout.caps.emitSlots);
  // no SYN-flood defence until the host configures it: no embryonic budget, no fill trigger
  h(abi.HDR_EMBRYONIC, 0);
  h(abi.HDR_EMBRYONIC_MAX, layout.connCap);
  h(abi.HDR_EVICT_CURSOR, 0);
  h(abi.HDR_SYN_RECV_PRESSURE, 0);
  h(abi.HDR_SYNPROXY_FILL, 0);
  h(abi.HDR_SYNPROXY_OPTS, SYNPROXY_DEFAULT_MSS | (SYNPROXY_DEFAULT_WSCALE << 16));
  h(abi.HDR_CONNX_BASE, layout.connx.size > 0 ? layout.connx.base : 0);
  h(abi.HDR_PROXY_BASE, layout.proxyMarks.size > 0 ? layout.proxyMarks.base : 0);
  h(abi.HDR_CONNSTATS_BASE, layout.connStats.size > 0 ? layout.connStats.base : 0);
  for (const [name, seconds] of Object.entries(DEFAULT_TIMEOUTS_S)) {
    h(abi.HDR_TIMEOUTS + TIMEOUT_SLOTS[name] * 4, seconds * 1000);
  }
  h(abi.HDR_LANE_BASE, layout.laneHeaders.size > 0 ? layout.laneHeaders.base : 0);
  h(abi.HDR_LANE_COUNT, layout.lanes.length);
  h(abi.HDR_TABLE_LOCK, 0);
  layout.lanes.forEach((lane, n) => {
    const l = (field: number, value: number): void => view.setUint32(lane.header + field, value, true);
    // the lane-scoped fields, for lane 0 too: its header is the one above, its regions the aliases
    l(abi.HDR_BATCH_FLAGS, 0);
    l(abi.HDR_BATCH_DEV, 0);
    l(abi.HDR_SLOT_BASE, lane.slots.base);
    l(abi.HDR_DESC_BASE, lane.descriptors.base);
    l(abi.HDR_SCRATCH_BASE, lane.scratch.base);
    l(abi.HDR_STATS_BASE, lane.stats.base);
    l(abi.HDR_SVC_STATS_BASE, lane.svcStats.base);
    l(abi.HDR_RS_STATS_BASE, lane.rsStats.base);
    l(abi.HDR_SWEEP_CURSOR, n);
    l(abi.HDR_HOLD_BASE, layout.caps.holdFrames ? lane.hold.base : 0);
    l(abi.HDR_HOLD_WAITING, 0);
    l(abi.HDR_HOLD_READY, 0);
    l(abi.HDR_EMIT_BASE, lane.emit.base);
    l(abi.HDR_EMIT_COUNT, 0);
    // descriptors point at their slot's frame position from the start
    for (let i = 0; i < layout.caps.slotCount; i++) {
      const d = lane.descriptors.base + i * abi.DESC_SIZE;
      view.setUint32(d + abi.DESC_OFF, frameAddress(layout, i, n), true);
      view.setUint32(d + abi.DESC_LEN, 0, true);
    }
  });
  // scheduler tables start empty (NO_RS), not 0, which is a valid real-server index
  new Uint16Array(memory.buffer, layout.sched.base, layout.sched.size / 2).fill(abi.NO_RS);
}

/** frameAddress is where the reader puts frame i of lane `lane` (after headroom; vnet header just before). */
export function frameAddress(layout: Layout, slot: number, lane = 0): number {
  return layout.lanes[lane].slots.base + slot * layout.slotSize + layout.headroom;
}

/** laneHeaderField is the absolute address of lane-scoped header field `field` of lane `lane` */
export function laneHeaderField(layout: Layout, lane: number, field: number): number {
  return layout.lanes[lane].header + field;
}
