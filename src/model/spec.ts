// spec.ts — the director's normalized view of what it should run: every default filled in,
// addresses parsed, nothing left to interpret. The YAML config (src/config/) is turned into this
// by from-config.ts; the table applier and the device setup read only this.

export type Protocol = 'tcp' | 'udp';

/** director.workers at most: a device gets one queue per worker, the layout one lane each */
export const MAX_WORKERS = 16;

export type ForwardingMode = 'nat' | 'dr' | 'tun' | 'fullnat';
export type SchedulerName = 'rr' | 'wrr' | 'lc' | 'wlc' | 'sed' | 'nq' | 'sh' | 'dh' | 'mh';
/** every scheduler, as ipvsadm names them */
export const SCHEDULER_NAMES: readonly SchedulerName[] = ['rr', 'wrr', 'lc', 'wlc', 'sed', 'nq', 'sh', 'dh', 'mh'];
/** off; auto: cookies while the director sees a SYN flood; on: cookies for every new connection */
export type SynProxyMode = 'off' | 'auto' | 'on';

export interface DeviceSpec {
  name: string;
  kind: 'tap' | 'tun';
  /** the director's own addresses on this device (DIPs), CIDR */
  addresses: string[];
  /** the director's MAC on a TAP segment (never the kernel TAP's own) */
  mac: string | null;
  mtu: number;
  /** enslave the TAP to this bridge */
  bridge: string | null;
  /** IFF_VNET_HDR with checksum offload (and TSO unless a TUN-mode service forbids it) */
  offload: boolean;
  /** frames the kernel queues for the director on this device before it drops (ip link's txqueuelen) */
  txqueuelen: number;
}

/**
 * DEFAULT_TXQUEUELEN: the kernel gives a TUN/TAP 500 frames, sized for a VPN. A director must
 * ride out its own pauses (a batch, a GC) at full rate: in the SYN-flood bench (100k SYN/s, the
 * budget defence) 500 dropped so many frames that no legitimate connection got through, 10,000
 * let 99 % through (docs/syn-flood.md). 10,000 is 10 ms at 1 Mpps.
 */
export const DEFAULT_TXQUEUELEN = 10000;

export interface RouteSpec { to: string; via: string | null; device: string }

export type HealthType = 'tcp' | 'http' | 'udp' | 'exec' | 'none';

/** A health check, defaults filled in (seconds for times). */
export interface HealthSpec {
  type: HealthType;
  interval: number;
  timeout: number;
  /** consecutive successes that bring a failed server back */
  rise: number;
  /** consecutive failures that take a server out */
  fall: number;
  /** check port when it differs from the real server's (null = the server's port) */
  port: number | null;
  /** http: path, accepted statuses, optional body substring, TLS, Host header */
  path: string;
  expectStatus: number[];
  expectBody: string | null;
  tls: boolean;
  verify: boolean;
  host: string | null;
  /** udp: payload to send; expectReply false = success unless ICMP unreachable comes back */
  payload: string;
  expectReply: boolean;
  /** exec: command run with WLVS_RS_ADDRESS, WLVS_RS_PORT, WLVS_SERVICE in its environment */
  command: string | null;
}

export interface RealServerSpec {
  address: string;
  port: number;
  weight: number;
  forwarding: ForwardingMode | null;
  upperThreshold: number;
  health: HealthSpec | null;
}

export interface LipSpec { address: string; portMin: number; portMax: number }

/**
 * Full-NAT: the director's one pool of local addresses, shared by every fullnat service (two
 * directors in front of the same servers must have disjoint pools), and how long a tuple is held
 * before another client may have it.
 */
export interface FullnatSpec {
  localAddresses: LipSpec[];
  /** seconds after a tuple's last packet before it goes to another client (server TIME_WAIT) */
  quarantine: number;
}

export interface ServiceSpec {
  name: string;
  vip: string;
  port: number;
  protocol: Protocol;
  scheduler: SchedulerName;
  hashPort: boolean;
  fallback: boolean;
  /** TCP segments other than SYN create sessions (mh with dr/tun: a flow moved by ECMP continues) */
  acceptMidFlow: boolean;
  forwarding: ForwardingMode;
  persistence: number;
  persistencePrefix: number;
  /** TCP: a PROXY protocol header (v1 text, v2 binary) ahead of the client's stream */
  proxyProtocol: 'v1' | 'v2' | null;
  /** TCP Full-NAT: the client's address and port as TCP option 254 (servers with the TOA module) */
  toa: boolean;
  /** one JSON line per connection when it ends (director.connection_log says where) */
  connectionLog: boolean;
  sorry: { address: string; port: number } | null;
  tunnelSource: string | null;
  health: HealthSpec | null;
  onFailure: 'quiesce' | 'remove';
  /** SYN cookies and the proxied handshake (NAT and Full-NAT TCP services only) */
  synProxy: SynProxyMode;
  realServers: RealServerSpec[];
}

/**
 * How a VRRP version 3 checksum over IPv4 is computed: with the IPv4 pseudo-header (keepalived's
 * default, FRR, Wireshark) or over the VRRP message alone (keepalived's `v3_checksum_as_v2`).
 */
export type VrrpChecksum = 'pseudo-header' | 'no-pseudo-header';

/** How VRRP advertisements are authenticated: nothing, a version 2 text password, or wlvs's HMAC trailer. */
export type VrrpAuth = 'none' | 'pass' | 'hmac';

/** The VRRP side of director.ha: how advertisements look on the wire and where they go. */
export interface VrrpSpec {
  version: 2 | 3;
  /** the device adverts go out on and are heard on; its first address is their source */
  device: string;
  checksum: VrrpChecksum;
  /** empty: multicast to 224.0.0.18; else unicast to each */
  unicastPeers: string[];
  /** 00:00:5E:00:01:VRID on the VRRP device while master (RFC 5798 §7.3) */
  virtualMac: boolean;
  auth: VrrpAuth;
  /** version 2 simple password (auth 'pass'), at most 8 bytes as keepalived */
  password: string | null;
}

/** A failover pair (or more) in the manner of keepalived's VRRP instance plus IPVS's sync daemon. */
export interface HaSpec {
  /** VRRP's virtual router id (keepalived's virtual_router_id) */
  group: number;
  /** 1..255, the higher one is master; 255 is the address owner */
  priority: number;
  initialState: 'master' | 'backup';
  /** a higher-priority director takes over from a lower one that is master */
  preempt: boolean;
  /** keepalived's preempt_delay: a lower-priority master keeps the role this long after it is first heard */
  preemptDelayMs: number;
  advertIntervalMs: number;
  vrrp: VrrpSpec;
  /** HMAC-SHA-256 key of the sync link and of `auth: hmac` adverts */
  authKeyFile: string | null;
  /** UDP address:port of the session-sync link, this director's and its peer's (a wlvs peer only) */
  listen: { host: string; port: number } | null;
  peer: { host: string; port: number } | null;
  /** addresses that move with the master role besides VIPs and LIPs (e.g. the servers' gateway) */
  virtualAddresses: { address: string; device: string }[];
  /** send session creations and TCP state changes to the peer; import the peer's */
  syncSessions: boolean;
}

/** The SYN-flood defence of the whole table and the thresholds of auto-mode SYN proxies. */
export interface SynFloodSpec {
  /** share of the session table embryonic (SYN_RECV) sessions may hold, (0, 1] */
  embryonicShare: number;
  /** SYN_RECV timeout in seconds while half the embryonic budget is used (0: unchanged) */
  pressureTimeout: number;
  /** auto-mode SYN proxies switch on above this many SYNs per second to the service (0: never by rate) */
  synRate: number;
  /** ... or at this table fill (0: never by fill) */
  tableFill: number;
  /** seconds an auto-on proxy stays on after its trigger last fired */
  hold: number;
  /** MSS and window shift the proxy announces to clients (mss null: the smallest device MTU - 40) */
  mss: number | null;
  wscale: number;
  /** seconds between SYN-cookie key rotations; a cookie is valid for up to two periods */
  secretPeriod: number;
}

/** A BGP neighbour of this director's BIRD: the router that spreads the VIPs by ECMP. */
export interface BgpNeighborSpec {
  address: string;
  as: number;
  /** TCP MD5 password (RFC 2385), or null */
  password: string | null;
}

/** Another director of the cluster (or this one), as every member's configuration lists it. */
export interface ClusterMemberSpec {
  name: string;
  /** its session-sync address, or null when it does not sync */
  sync: { host: string; port: number } | null;
  /** the Full-NAT local addresses it allocates from (announced by it, backed up by the others) */
  localAddresses: string[];
}

/** Active/active directors behind ECMP: this director's BIRD announces what it serves. */
export interface ClusterSpec {
  /** this director's member name */
  name: string;
  bgp: {
    localAs: number;
    /** this host's IPv4 address: the source of IPv4 sessions and the IPv4 routes' next hop */
    localAddress: string;
    /** this host's IPv6 address for IPv6 neighbours (their session's source, the next hop of IPv6 routes), or null */
    localAddress6: string | null;
    routerId: string;
    neighbors: BgpNeighborSpec[];
    /** seconds (RFC 4271 §4.2: 0 or at least 3) */
    holdTime: number;
    keepaliveTime: number;
    /** BFD (RFC 5880) with the neighbours, or null */
    bfd: { intervalMs: number; multiplier: number } | null;
    /** extra copies of the local AS on the routes held for another member (less preferred) */
    backupPrepend: number;
  };
  bird: {
    binary: string;
    /** where the generated configuration and the control socket live (null: a temp dir) */
    stateDir: string | null;
  };
  /** heartbeats missing this long mean a stalled data path: the watchdog withdraws every route */
  watchdogMs: number;
  /** after withdrawing on stop, keep forwarding this long so the router moves the flows first */
  withdrawGraceMs: number;
  /** a drain ends after this long even if flows still arrive */
  drainDeadlineS: number;
  /** a drain ends when no frame was forwarded for this long */
  drainQuietMs: number;
  members: ClusterMemberSpec[];
  /** session sync with the other members (their `sync` addresses), or null */
  sync: { authKeyFile: string } | null;
}

/** director.io_engine */
export type IoEngine = 'auto' | 'io_uring' | 'epoll';

export interface DirectorSpec {
  devices: DeviceSpec[];
  routes: RouteSpec[];
  sessions: number;
  batch: number;
  /** microseconds to keep polling the devices after a wakeup (0: sleep until the next frame) */
  busyPollUs: number;
  /** advise the memory for transparent huge pages (src/io/huge-pages.ts); absent: yes */
  hugePages?: boolean;
  /**
   * data-path workers, one per queue of every (multi-queue) device; absent (config: absent or
   * `auto`): the director starts one per core it may run on (src/director/workers.ts)
   */
  workers?: number;
  /**
   * who picks the queue (the worker) of each frame the kernel sends to a multi-queue device:
   * wlvs's flow-hash steering program (a flow's frames stay on one worker) or the kernel's flow
   * table (follows the queue wlvs last wrote a flow on); absent: flow-hash
   */
  queueSteering?: 'flow-hash' | 'kernel';
  /**
   * how the data-path workers move frames: epoll with a read() and a write() per frame,
   * io_uring (a call that submits a batch's writes, one that waits; Linux 6.7: multishot read),
   * or auto (io_uring where the kernel has what it needs, else epoll); absent: epoll
   */
  ioEngine?: IoEngine;
  /** seconds by IPVS state name (established, fin_wait, udp, ...) */
  timeouts: Record<string, number>;
  unknownPackets: 'drop' | 'host' | 'pass';
  fullnat: FullnatSpec;
  /** create TCP sessions on any segment (backup director taking over) */
  sloppyTcp: boolean;
  /**
   * IP fragments: first-fragment decisions kept (`cache`, for `timeout` s) and fragments that
   * may wait for their first one (`buffer`, at most `wait` s each)
   */
  fragments: { cache: number; buffer: number; timeout: number; wait: number };
  admin: { listen: string; tokenFile: string | null } | null;
  ha: HaSpec | null;
  cluster: ClusterSpec | null;
  logLevel: string;
  synFlood: SynFloodSpec;
  /** where connection logs go and how many lines a second at most (services opt in) */
  connectionLog?: ConnectionLogSpec;
  services: ServiceSpec[];
}

export interface ConnectionLogSpec { path: string; rateLimit: number }

export const serviceKey = (s: { vip: string; port: number; protocol: string }): string => `${s.protocol}:${s.vip}:${s.port}`;
/** realServerKey: ADDRESS:PORT as users write it, `[2001:db8::11]:80` for IPv6 (the API's key of a real server) */
export const realServerKey = (r: { address: string; port: number }): string =>
  r.address.includes(':') ? `[${r.address}]:${r.port}` : `${r.address}:${r.port}`;

/** needsIpv6Sessions: the spec has a service whose clients are IPv6 (the director reserves CONN6 records) */
export const needsIpv6Sessions = (spec: { services: { vip: string }[] }): boolean => spec.services.some((s) => s.vip.includes(':'));

/** forwardingModes: every mode a service uses (its own and its real servers' overrides). */
export const forwardingModes = (s: Pick<ServiceSpec, 'forwarding' | 'realServers'>): Set<ForwardingMode> =>
  new Set([s.forwarding, ...s.realServers.map((r) => r.forwarding ?? s.forwarding)]);

/** serverFamily: the address family of a service's real servers (its VIP's while it has none) */
export const serverFamily = (s: Pick<ServiceSpec, 'vip' | 'realServers'>): 4 | 6 =>
  ((s.realServers.find((r) => r.address)?.address ?? s.vip).includes(':') ? 6 : 4);

/** usesFullnat: some connection of the service may take a tuple of the director's LIP pool. */
export const usesFullnat = (s: Pick<ServiceSpec, 'forwarding' | 'realServers'>): boolean => forwardingModes(s).has('fullnat');

/**
 * haAddresses lists the addresses that move with the master role, in the order VRRP
 * advertisements carry them: the services' VIPs (in service order), the director's LIP pool,
 * then director.ha.virtual_addresses; each once. A keepalived peer's virtual_ipaddress must
 * hold the same set (keepalived checks the count and that each of its own is present).
 */
export function haAddresses(spec: DirectorSpec): string[] {
  const out = new Set<string>();
  for (const s of spec.services) out.add(s.vip);
  for (const l of spec.fullnat.localAddresses) out.add(l.address);
  for (const v of spec.ha?.virtualAddresses ?? []) out.add(v.address.split('/')[0]);
  // IPv6 addresses move with the role too (unsolicited neighbour advertisements), but an IPv4
  // VRRP advertisement carries IPv4 addresses only (RFC 5798 §5.2.9)
  return [...out].filter((a) => !a.includes(':'));
}
