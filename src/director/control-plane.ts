// control-plane.ts — the one interface between a running director and what watches and steers it
// from outside: the admin API, its JSON views and the Prometheus metrics. They see services and
// real servers with their counters and health, totals, sessions, device and batch figures and
// the failover role, and they may reload, edit at runtime and hot-swap — nothing else. The
// director's internals (Director, Tables, TableApplier, the batch loop) can move freely as long
// as control.ts still implements this. Types only: src/api/ imports this file and model/, never
// the director itself (test/contract/layers.test.ts checks it).
import type { ForwardingMode, ServiceSpec } from '../model/spec.js';
import type { Counters } from '../dataplane/tables.js';
import type { BatchStats } from '../dataplane/worker.js';
import type { PortStats } from '../io/port.js';
import type { HaStats } from '../ha/controller.js';
import type { VrrpStats } from '../ha/vrrp.js';
import type { ApplyReport } from './apply.js';
import type { HostStackStats } from './host-stack.js';
import type { ConnectionLogStats } from './connlog.js';
import type { SynFloodView } from './syn-guard.js';

export type { ApplyReport, BatchStats, Counters, HaStats, HostStackStats, PortStats, SynFloodView, VrrpStats };

/** A real server (or a service's sorry server) as the control plane sees it. */
/** one data-path worker's counters */
export interface WorkerStats { port: PortStats; batch: BatchStats }

export interface RealServerState {
  address: string;
  port: number;
  /** its own mode, or the service's */
  forwarding: ForwardingMode;
  /** what the data path uses now: 0 while quiesced, drained or without a table slot */
  weight: number;
  configuredWeight: number;
  /** the health checker's verdict; 'unchecked' when no check runs for it */
  health: 'up' | 'down' | 'unchecked';
  /** its next hop's MAC is known (always true on TUN devices) */
  resolved: boolean;
  sorry: boolean;
  /** null while it holds no table slot (taken out on failure with on_failure: remove) */
  counters: Counters | null;
  connections: { active: number; inactive: number; persistent: number };
  /** the health checker's last transition (wall-clock ms, new state, the probe's message); null before any */
  lastChange: { at: number; to: 'up' | 'down'; reason: string } | null;
}

export interface ServiceState {
  spec: ServiceSpec;
  counters: Counters;
  /** configured real servers in their order, then the sorry server if any */
  realServers: RealServerState[];
}

/** Counters of the whole data path. */
export interface DataPathTotals {
  received: bigint;
  forwarded: bigint;
  host: bigint;
  dropped: bigint;
  icmpRelayed: bigint;
  fragNeededSent: bigint;
  connectionsCreated: bigint;
  connectionsExpired: bigint;
  /** times a worker waited for the session table's lock (more than one worker), and the sleeps among those waits */
  tableLock: { waits: bigint; sleeps: bigint };
  /** dropped frames by reason name (every reason, zeros included) */
  drops: Record<string, bigint>;
}

/** Full-NAT's pool and the client's address toward the servers (counters since start). */
export interface FullnatStatus {
  /** a client reusing its port kept its LIP:lport */
  reused: bigint;
  /** tuples held after their connection ended, until the server's TIME_WAIT is over */
  quarantined: bigint;
  /** probes for a free tuple that met a busy one */
  probeBusy: bigint;
  proxySent: bigint;
  toaAdded: bigint;
  toaNoRoom: bigint;
  /** the director's LIPs: tuples held on each (toward every server) and its port range's size */
  lips: { address: string; held: number; ports: number }[];
}

export interface SessionQuery {
  service?: string;
  /** ADDRESS or ADDRESS:PORT */
  realServer?: string;
  client?: string;
  /** IPVS state name (ESTABLISHED, ...), UDP, or NONE for templates; any case */
  state?: string;
  protocol?: string;
}

/** One session (or persistence template), as ipvsadm -Lnc shows it. */
export interface SessionRow {
  protocol: string;
  state: string;
  template: boolean;
  client: string; clientPort: number;
  vip: string; vport: number;
  rip: string; rport: number;
  lip: string | null; lport: number | null;
  /** the service's name, null when the service is gone */
  service: string | null;
  expiresInMs: number;
}

export interface DeviceInfo {
  name: string; kind: string; mac: string; address: string | null; address6: string | null; vnet: boolean;
  /** multi-queue devices: "flow-hash", or "kernel: <why>" (director.queue_steering) */
  steering?: string;
}

/** IP fragments: the first-fragment decision cache, the hold buffer and their counters */
export interface FragmentState {
  cache_entries: number; cache_capacity: number; cache_timeout_s: number; waiting: number; buffer_capacity: number;
  first: number; forwarded: number; held: number; released: number; timed_out: number; buffer_full: number;
}

export interface HaStatus {
  master: boolean;
  stats: HaStats;
  /** the VRRP instance's advertisement counters, null until it runs */
  vrrp: VrrpStats | null;
  /** the /status view: state, priority, peer, timers */
  view: Record<string, unknown>;
}

/** A cluster member's routing state (director.cluster). */
export interface ClusterStatus {
  state: 'starting' | 'active' | 'draining' | 'drained' | 'stopping';
  neighbors: { address: string; up: boolean }[];
  /** what BIRD announces for this member now */
  announced: { prefix: string; kind: 'vip' | 'lip' | 'backup' }[];
  /** times the watchdog withdrew everything; times BIRD exited and was restarted */
  stalls: number;
  birdRestarts: number;
  /** the other members as session sync sees them (empty without director.cluster.sync) */
  members: { name: string; up: boolean; sent: number; received: number; imported: number; refused: number }[];
  /** sync datagrams dropped, by reason; null without session sync */
  syncDropped: Record<string, number> | null;
  /** the /cluster view: BGP sessions, announcements, drain, members and their sync */
  view: Record<string, unknown>;
}

type Fields = Record<string, unknown>;

/** A runtime change, as ipvsadm -A/-E/-D/-a/-e/-d allow; fields are configuration keys. */
export type RuntimeEdit =
  | { op: 'add-service'; service: Fields }
  | { op: 'edit-service'; name: string; patch: Fields }
  | { op: 'delete-service'; name: string }
  | { op: 'add-real-server'; service: string; realServer: Fields }
  | { op: 'edit-real-server'; service: string; key: string; patch: Fields }
  | { op: 'delete-real-server'; service: string; key: string }
  | { op: 'drain-real-server'; service: string; key: string };

/** ControlPlane is everything the admin API and the metrics may read and change. */
export interface ControlPlane {
  services(): ServiceState[];
  totals(): DataPathTotals;
  /** sessions matching `q` from table position `cursor`, at most `limit`; `next` continues */
  sessions(q: SessionQuery, cursor: number, limit: number): { items: SessionRow[]; next: number | null };
  sessionTable(): { count: number; capacity: number };
  fragments(): FragmentState;
  fullnat(): FullnatStatus;
  /** connection-log lines written, suppressed by the rate limit, lost by the writer; null when no service logs */
  connectionLog?(): ConnectionLogStats | null;
  /** events the data path could not put in a full ring (session sync records, connection-log pairs) */
  eventsLost?(): number;
  devices(): DeviceInfo[];
  portStats(): PortStats;
  batchStats(): BatchStats;
  /** each data-path worker's counters (index = worker); absent: one worker, the sums */
  workerStats?(): WorkerStats[];
  /** director.io_engine as the data-path workers run it; absent: epoll */
  ioEngine?(): string;
  hostStackStats(): HostStackStats;
  /** null without director.ha */
  ha(): HaStatus | null;
  /** the SYN-flood defence: embryonic sessions, cookies, evictions, each service's protection state */
  synFlood(): SynFloodView;
  /** null without director.cluster */
  cluster(): ClusterStatus | null;
  /** a cluster member withdraws its routes and forwards what still arrives until it ends (the new view) */
  drainDirector(deadlineS?: number): Fields;
  /** a drained or draining member announces again (the new view) */
  resumeDirector(): Fields;
  uptimeSeconds(): number;
  /** runtime edits since the configuration file was last loaded */
  runtimeEdits(): number;
  /** the running configuration, in the file's shape */
  configObject(): Fields;
  configYaml(): string;
  /** re-read the configuration file; an invalid one changes nothing and throws */
  reload(reason: string): Promise<ApplyReport>;
  edit(change: RuntimeEdit, reason: string): Promise<ApplyReport>;
  /** replace the WASM core between two batches; the sessions before and after, counted while no batch runs */
  hotSwap(path: string): { sessionsBefore: number; sessions: number };
}
