// load.ts — reads the YAML configuration and returns a DirectorSpec with every default filled
// in, or throws WLVS_ERR_CONFIG_INVALID listing every problem with file, line, column and key.
// The reference of every key is docs/config.md.
import { readFileSync } from 'node:fs';
import { LineCounter, isMap, isScalar, parseDocument, type Node, type YAMLMap } from 'yaml';
import { WlvsError } from '../errors.js';
import { DEFAULT_FNAT_QUARANTINE_S, DEFAULT_TIMEOUTS_S } from '../dataplane/memory-map.js';
import type { ForwardingMode, SynProxyMode } from '../model/spec.js';
import type {
  ConnectionLogSpec, DeviceSpec, DirectorSpec, FullnatSpec, HaSpec, HealthSpec, LipSpec, RealServerSpec, RouteSpec,
  ServiceSpec, SynFloodSpec, VrrpSpec,
} from '../model/spec.js';
import { DEFAULT_TXQUEUELEN, MAX_WORKERS, SCHEDULER_NAMES, forwardingModes, haAddresses, serverFamily, serviceKey, usesFullnat } from '../model/spec.js';
import { familyOf, hostPort as joinHostPort, parseCidr } from '../model/address.js';
import { clusterSection } from './cluster.js';
import { type Issue, Reader, addressesOf, hostPort, isCidr, isIpv4 } from './reader.js';

/** canonicalCidr: an address with prefix in the form wlvs keeps ("2001:db8::1/64"; /32 or /128 when none) */
const canonicalCidr = (v: string): string => {
  const c = parseCidr(v);
  return `${c.address}/${c.prefix}`;
};

const FORWARDING_NAMES: readonly ForwardingMode[] = ['nat', 'dr', 'tun', 'fullnat'];
const SYN_PROXY_MODES: readonly SynProxyMode[] = ['off', 'auto', 'on'];

export const DEFAULT_SYN_FLOOD: SynFloodSpec = {
  embryonicShare: 0.25, pressureTimeout: 5, synRate: 20000, tableFill: 0.5, hold: 10, mss: null, wscale: 7,
  secretPeriod: 60,
};

function synFlood(r: Reader, node: Node | undefined): SynFloodSpec {
  const path = 'director.syn_flood';
  const m = r.map(node, path, ['embryonic_share', 'pressure_timeout', 'syn_rate', 'table_fill', 'hold', 'mss', 'wscale',
    'secret_period']);
  const d = DEFAULT_SYN_FLOOD;
  const share = r.num(m, 'embryonic_share', path, 0, 1, d.embryonicShare);
  if (share === 0) r.problem(r.get(m, 'embryonic_share'), `${path}.embryonic_share`, 'must be above 0 (1 = no budget)');
  const hasMss = r.get(m, 'mss') !== undefined;
  return {
    embryonicShare: share,
    pressureTimeout: r.num(m, 'pressure_timeout', path, 0, 3600, d.pressureTimeout),
    synRate: r.int(m, 'syn_rate', path, 0, 1e9, d.synRate),
    tableFill: r.num(m, 'table_fill', path, 0, 1, d.tableFill),
    hold: r.num(m, 'hold', path, 0, 3600, d.hold),
    mss: hasMss ? r.int(m, 'mss', path, 536, 9000, 1460) : null,
    wscale: r.int(m, 'wscale', path, 0, 14, d.wscale),
    secretPeriod: r.int(m, 'secret_period', path, 1, 86400, d.secretPeriod),
  };
}
const SCHED_FLAGS = ['sh-port', 'sh-fallback', 'mh-port', 'mh-fallback'];
/** ipvsadm --set names and what they set */
const TIMEOUT_ALIASES: Record<string, string[]> = { tcp: ['established'], tcpfin: ['fin_wait', 'time_wait'], udp: ['udp'] };

export const DEFAULT_HEALTH: HealthSpec = {
  type: 'tcp', interval: 5, timeout: 3, rise: 2, fall: 3, port: null, path: '/', expectStatus: [200], expectBody: null,
  tls: false, verify: false, host: null, payload: 'wlvs', expectReply: true, command: null,
};

const HEALTH_KEYS = ['type', 'interval', 'timeout', 'rise', 'fall', 'port', 'path', 'expect_status', 'expect_body', 'tls',
  'verify', 'host', 'payload', 'expect_reply', 'command'];

function health(r: Reader, node: Node | undefined, path: string, base: HealthSpec): HealthSpec {
  const m = r.map(node, path, HEALTH_KEYS);
  if (!m) return base;
  const type = r.oneOf(m, 'type', path, ['tcp', 'http', 'udp', 'exec', 'none'] as const, base.type);
  const h: HealthSpec = {
    type,
    interval: r.num(m, 'interval', path, 0.05, 3600, base.interval),
    timeout: r.num(m, 'timeout', path, 0.01, 600, base.timeout),
    rise: r.int(m, 'rise', path, 1, 100, base.rise),
    fall: r.int(m, 'fall', path, 1, 100, base.fall),
    port: r.get(m, 'port') !== undefined ? r.int(m, 'port', path, 1, 65535, 0) : base.port,
    path: r.str(m, 'path', path, base.path)!,
    expectStatus: base.expectStatus,
    expectBody: r.str(m, 'expect_body', path, base.expectBody ?? undefined) ?? null,
    tls: r.bool(m, 'tls', path, base.tls),
    verify: r.bool(m, 'verify', path, base.verify),
    host: r.str(m, 'host', path, base.host ?? undefined) ?? null,
    payload: r.str(m, 'payload', path, base.payload)!,
    expectReply: r.bool(m, 'expect_reply', path, base.expectReply),
    command: r.str(m, 'command', path, base.command ?? undefined) ?? null,
  };
  const es = r.get(m, 'expect_status');
  if (es !== undefined) {
    const items = (es as { items?: unknown[] }).items;
    const values = items ? items.map((i) => (i as { value?: unknown }).value) : [(es as { value?: unknown }).value];
    if (values.some((v) => typeof v !== 'number' || !Number.isInteger(v) || v < 100 || v > 599)) {
      r.problem(es, `${path}.expect_status`, 'expected an HTTP status 100..599 or a list of them');
    } else {
      h.expectStatus = values as number[];
    }
  }
  if (h.timeout >= h.interval) r.problem(node, `${path}.timeout`, `timeout ${h.timeout} s must be shorter than interval ${h.interval} s`);
  if (type === 'exec' && !h.command) r.problem(node, `${path}.command`, 'an exec check needs a command');
  return h;
}

function device(r: Reader, node: Node, path: string): DeviceSpec {
  const m = r.map(node, path, ['name', 'kind', 'addresses', 'mac', 'mtu', 'bridge', 'offload', 'txqueuelen']);
  const name = r.need(m, 'name', path);
  if (name && !/^[A-Za-z0-9_.-]{1,14}$/.test(name)) {
    r.problem(r.get(m, 'name'), `${path}.name`, 'expected an interface name of 1 to 14 letters, digits, _ . -');
  }
  const addresses: string[] = [];
  r.seq(r.get(m, 'addresses'), `${path}.addresses`).forEach((a, i) => {
    const v = String((a as { value?: unknown }).value ?? '');
    if (!isCidr(v)) r.problem(a, `${path}.addresses[${i}]`, `expected an address with prefix like 10.0.0.1/24 or 2001:db8::1/64, got ${JSON.stringify(v)}`);
    else addresses.push(canonicalCidr(v));
  });
  const mac = r.str(m, 'mac', path) ?? null;
  if (mac && !/^([0-9a-fA-F]{2}:){5}[0-9a-fA-F]{2}$/.test(mac)) r.problem(r.get(m, 'mac'), `${path}.mac`, 'expected a MAC like 02:00:00:00:00:01');
  return {
    name,
    kind: r.oneOf(m, 'kind', path, ['tap', 'tun'] as const, 'tap'),
    addresses,
    mac,
    mtu: r.int(m, 'mtu', path, 576, 9000, 1500),
    bridge: r.str(m, 'bridge', path) ?? null,
    offload: r.bool(m, 'offload', path, true),
    txqueuelen: r.int(m, 'txqueuelen', path, 16, 1_000_000, DEFAULT_TXQUEUELEN),
  };
}

function vrrp(r: Reader, node: Node | undefined, path: string, devices: DeviceSpec[], hasKey: boolean): VrrpSpec {
  const m = r.map(node, path, ['version', 'device', 'checksum', 'unicast_peers', 'virtual_mac', 'authentication', 'password']);
  const version = r.int(m, 'version', path, 2, 3, 3) as 2 | 3;
  const device = r.str(m, 'device', path) ?? devices[0]?.name ?? '';
  const dev = devices.find((d) => d.name === device);
  if (!dev && devices.length) r.problem(r.get(m, 'device'), `${path}.device`, `no device named ${JSON.stringify(device)}`);
  if (dev && dev.addresses.length === 0) {
    r.problem(r.get(m, 'device') ?? node, `${path}.device`, `device ${device} needs an address: it is the source of VRRP advertisements`);
  }
  const unicastPeers = r.seq(r.get(m, 'unicast_peers'), `${path}.unicast_peers`).map((n, i) => {
    const v = String((n as { value?: unknown }).value ?? '');
    return r.ipv4(n, v, `${path}.unicast_peers[${i}]`);
  }).filter(Boolean);
  const checksum = r.oneOf(m, 'checksum', path, ['pseudo-header', 'no-pseudo-header'] as const, 'pseudo-header');
  if (version === 2 && r.get(m, 'checksum')) r.problem(r.get(m, 'checksum'), `${path}.checksum`, 'version 2 has one checksum (no pseudo-header): only for version 3');
  const auth = r.oneOf(m, 'authentication', path, ['none', 'pass', 'hmac'] as const, hasKey ? 'hmac' : 'none');
  const password = r.str(m, 'password', path) ?? null;
  if (auth === 'pass') {
    if (version !== 2) r.problem(r.get(m, 'authentication'), `${path}.authentication`, 'pass is VRRP version 2 authentication (RFC 3768); version 3 has none');
    if (!password || Buffer.byteLength(password) > 8) r.problem(r.get(m, 'password') ?? node, `${path}.password`, 'pass needs a password of 1 to 8 bytes (keepalived\'s auth_pass)');
  } else if (password !== null) {
    r.problem(r.get(m, 'password'), `${path}.password`, 'a password is used only with authentication: pass');
  }
  if (auth === 'hmac' && !hasKey) r.problem(r.get(m, 'authentication'), `${path}.authentication`, 'hmac needs director.ha.auth_key_file');
  return { version, device, checksum, unicastPeers, virtualMac: r.bool(m, 'virtual_mac', path, false), auth, password };
}

function ha(r: Reader, node: Node, devices: DeviceSpec[]): HaSpec {
  const path = 'director.ha';
  const m = r.map(node, path, ['group', 'priority', 'state', 'preempt', 'preempt_delay', 'advert_interval', 'vrrp',
    'auth_key_file', 'listen', 'peer', 'virtual_addresses', 'sync_sessions']);
  if (!devices.every((d) => d.kind === 'tap')) r.problem(node, path, 'failover moves addresses by gratuitous ARP and needs tap devices');
  const deviceNames = new Set(devices.map((d) => d.name));
  const virtualAddresses = r.seq(r.get(m, 'virtual_addresses'), `${path}.virtual_addresses`).map((n, i) => {
    const p = `${path}.virtual_addresses[${i}]`;
    const v = r.map(n, p, ['address', 'device']);
    const address = r.need(v, 'address', p);
    const ok = !!address && isCidr(address);
    if (address && !ok) r.problem(r.get(v, 'address'), `${p}.address`, `expected an address like 10.99.2.1/24, got ${JSON.stringify(address)}`);
    const device = r.need(v, 'device', p);
    if (device && !deviceNames.has(device)) r.problem(r.get(v, 'device'), `${p}.device`, `no device named ${JSON.stringify(device)}`);
    return { address: ok ? canonicalCidr(address) : `${address}/32`, device };
  });
  const authKeyFile = r.str(m, 'auth_key_file', path) ?? null;
  const v = vrrp(r, r.get(m, 'vrrp'), `${path}.vrrp`, devices, authKeyFile !== null);
  const listen = hostPort(r, m, 'listen', path);
  const peer = hostPort(r, m, 'peer', path);
  if ((r.get(m, 'listen') === undefined) !== (r.get(m, 'peer') === undefined)) {
    r.problem(node, path, 'the session-sync link needs both listen and peer (or neither, e.g. with a keepalived peer)');
  }
  if (listen && peer && listen.host === peer.host && listen.port === peer.port) {
    r.problem(r.get(m, 'peer'), `${path}.peer`, 'must differ from listen');
  }
  const link = r.get(m, 'peer') !== undefined;
  if (link && !authKeyFile) {
    r.problem(r.get(m, 'peer'), `${path}.auth_key_file`, 'is required with a sync link (listen, peer): its datagrams carry an HMAC-SHA-256 ' +
      'under this key, the same file on both directors (e.g. head -c 32 /dev/urandom > /etc/wlvs/ha.key; chmod 600)');
  }
  const syncSessions = r.bool(m, 'sync_sessions', path, link);
  if (syncSessions && !link) r.problem(r.get(m, 'sync_sessions'), `${path}.sync_sessions`, 'session sync needs listen and peer (a wlvs peer)');
  // RFC 5798 §5.2.7: 12 bits of centiseconds; RFC 3768 §5.3.7: 8 bits of seconds
  const intervalS = r.num(m, 'advert_interval', path, v.version === 3 ? 0.01 : 1, v.version === 3 ? 40.95 : 255, 1);
  const intervalMs = Math.round(intervalS * 1000);
  const unit = v.version === 3 ? 10 : 1000;
  if (Math.abs(intervalS * 1000 - Math.round(intervalMs / unit) * unit) > 1e-6) {
    r.problem(r.get(m, 'advert_interval'), `${path}.advert_interval`,
      v.version === 3 ? 'VRRP version 3 carries the interval in centiseconds: use a multiple of 0.01 s' : 'VRRP version 2 carries the interval in whole seconds');
  }
  const priority = r.int(m, 'priority', path, 1, 255, 100);
  const preempt = r.bool(m, 'preempt', path, true);
  if (priority === 255 && !preempt) r.problem(r.get(m, 'preempt'), `${path}.preempt`, 'the address owner (priority 255) always preempts (RFC 5798 §6.1)');
  return {
    group: r.int(m, 'group', path, 1, 255, 1),
    priority,
    initialState: r.oneOf(m, 'state', path, ['backup', 'master'] as const, 'backup'),
    preempt,
    preemptDelayMs: Math.round(r.num(m, 'preempt_delay', path, 0, 1000, 0) * 1000),
    advertIntervalMs: Math.round(intervalMs / unit) * unit,
    vrrp: v, authKeyFile, listen, peer, virtualAddresses, syncSessions,
  };
}

function portRange(r: Reader, node: Node | undefined, text: string | undefined, path: string): [number, number] {
  if (text === undefined) return [1024, 65535];
  const mm = /^(\d+)-(\d+)$/.exec(text);
  const lo = mm ? Number(mm[1]) : NaN;
  const hi = mm ? Number(mm[2]) : NaN;
  if (!mm || lo < 1 || hi > 65535 || lo > hi) {
    r.problem(node, path, `expected a port range like 1024-65535, got ${JSON.stringify(text)}`);
    return [1024, 65535];
  }
  return [lo, hi];
}

/**
 * fullnat reads director.fullnat: the director's one LIP pool (addresses of either family,
 * `{ address, ports }` or an IPv4 prefix such as 10.99.3.16/28 for every address in it) and the
 * quarantine. A service takes the pool's addresses of its real servers' family (checkPool).
 */
function fullnat(r: Reader, node: Node | undefined): FullnatSpec {
  const path = 'director.fullnat';
  const m = r.map(node, path, ['local_addresses', 'quarantine']);
  const lips: LipSpec[] = [];
  const seen = new Map<string, number>();
  const add = (n: Node, i: number, address: string, portMin: number, portMax: number) => {
    const before = seen.get(address);
    if (before !== undefined) r.problem(n, `${path}.local_addresses[${i}]`, `${address} is already in the pool (local_addresses[${before}])`);
    else seen.set(address, i);
    lips.push({ address, portMin, portMax });
  };
  r.seq(r.get(m, 'local_addresses'), `${path}.local_addresses`).forEach((n, i) => {
    const p = `${path}.local_addresses[${i}]`;
    const scalar = (n as { value?: unknown }).value;
    if (typeof scalar === 'string') {
      for (const a of addressesOf(r, n, p, scalar)) add(n, i, a, 1024, 65535);
      return;
    }
    const lm = r.map(n, p, ['address', 'ports']);
    const address = r.ip(r.get(lm, 'address'), r.need(lm, 'address', p) || undefined, `${p}.address`);
    const [portMin, portMax] = portRange(r, r.get(lm, 'ports'), r.str(lm, 'ports', p), `${p}.ports`);
    if (address) add(n, i, address, portMin, portMax);
  });
  return { localAddresses: lips, quarantine: r.int(m, 'quarantine', path, 0, 3600, DEFAULT_FNAT_QUARANTINE_S) };
}

/**
 * checkPool refuses what would make the pool collide with the director's other addresses: a LIP
 * that is a VIP, a device address, a failover address or a real server (replies to it would go
 * astray), a pool without a fullnat service, or a fullnat service without a pool. A cluster's
 * other members' local addresses are checked the same way; outside a cluster another director's
 * pool is not visible here: each director must be given its own (docs/config.md).
 */
function checkPool(r: Reader, root: YAMLMap, dm: YAMLMap | null, spec: DirectorSpec): void {
  const node = r.get(r.map(r.get(dm, 'fullnat'), 'director.fullnat', ['local_addresses', 'quarantine']), 'local_addresses');
  const others = new Map<string, string>();
  spec.devices.forEach((d, i) => d.addresses.forEach((a) => others.set(a.split('/')[0], `director.devices[${i}] address`)));
  for (const v of spec.ha?.virtualAddresses ?? []) others.set(v.address.split('/')[0], 'a director.ha virtual address');
  spec.services.forEach((s, i) => {
    others.set(s.vip, `the VIP of services[${i}]`);
    for (const x of s.realServers) others.set(x.address, `a real server of services[${i}]`);
    if (s.sorry) others.set(s.sorry.address, `the sorry server of services[${i}]`);
  });
  for (const l of spec.fullnat.localAddresses) {
    const clash = others.get(l.address);
    if (clash) r.problem(node, 'director.fullnat.local_addresses', `${l.address} is also ${clash}`);
  }
  // the other members' pools are routed here and announced as backups: the same holds for them
  const cluster = r.get(dm, 'cluster');
  for (const x of spec.cluster?.members ?? []) {
    if (x.name === spec.cluster!.name) continue;
    for (const a of x.localAddresses) {
      const clash = others.get(a);
      if (clash) r.problem(cluster, 'director.cluster.members', `local address ${a} of ${x.name} is also ${clash}`);
    }
  }
  const services = r.seq(r.get(root, 'services'), 'services');
  const fnat = spec.services.findIndex((s) => usesFullnat(s));
  if (fnat >= 0 && spec.fullnat.localAddresses.length === 0) {
    r.problem(services[fnat], 'director.fullnat.local_addresses', `services[${fnat}] uses fullnat: the director needs at least one local address`);
  }
  if (fnat < 0 && spec.fullnat.localAddresses.length > 0) {
    r.problem(node, 'director.fullnat.local_addresses', 'local addresses are used only by fullnat services, and none uses it');
  }
  if (fnat < 0 || spec.fullnat.localAddresses.length === 0) return;
  // the client is translated to a LIP of the servers' family (NAT64: IPv4 LIPs behind an IPv6 VIP)
  for (const family of [4, 6] as const) {
    const user = spec.services.findIndex((s) => usesFullnat(s) && s.vip && serverFamily(s) === family);
    const have = spec.fullnat.localAddresses.some((l) => familyOf(l.address) === family);
    if (user >= 0 && !have) {
      r.problem(services[user], 'director.fullnat.local_addresses',
        `services[${user}] uses fullnat toward IPv${family} real servers: the pool needs an IPv${family} local address`);
    }
    if (user < 0 && have) {
      r.problem(node, 'director.fullnat.local_addresses',
        `IPv${family} local addresses are used only by fullnat services with IPv${family} real servers, and none has them`);
    }
  }
}

function service(r: Reader, node: Node, path: string, defaultHealth: HealthSpec): ServiceSpec {
  const m = r.map(node, path, ['name', 'vip', 'port', 'protocol', 'scheduler', 'sched_flags', 'forwarding', 'persistence',
    'persistence_netmask', 'local_addresses', 'proxy_protocol', 'toa', 'connection_log', 'sorry_server', 'tunnel_source',
    'health_check', 'on_failure', 'syn_proxy', 'real_servers', 'accept_mid_flow']);
  const vip = r.ip(r.get(m, 'vip'), r.need(m, 'vip', path) || undefined, `${path}.vip`);
  const v6 = vip.includes(':');
  const port = r.int(m, 'port', path, 0, 65535, 0);
  const protocol = r.oneOf(m, 'protocol', path, ['tcp', 'udp'] as const, 'tcp');
  const scheduler = r.oneOf(m, 'scheduler', path, SCHEDULER_NAMES, 'wlc');
  const forwarding = r.oneOf(m, 'forwarding', path, FORWARDING_NAMES, 'nat');
  const flags: string[] = [];
  r.seq(r.get(m, 'sched_flags'), `${path}.sched_flags`).forEach((f, i) => {
    const v = String((f as { value?: unknown }).value);
    if (!SCHED_FLAGS.includes(v)) r.problem(f, `${path}.sched_flags[${i}]`, `expected one of ${SCHED_FLAGS.join(', ')}, got ${JSON.stringify(v)}`);
    flags.push(v);
  });
  // ipvsadm -M: a netmask for IPv4, a prefix length for IPv6
  let prefix = v6 ? 128 : 32;
  const nm = r.get(m, 'persistence_netmask');
  if (nm !== undefined) {
    const v = (nm as { value?: unknown }).value;
    if (typeof v === 'number' && Number.isInteger(v) && v >= 0 && v <= (v6 ? 128 : 32)) prefix = v;
    else if (!v6 && typeof v === 'string' && isIpv4(v) && maskPrefix(v) >= 0) prefix = maskPrefix(v);
    else if (v6) r.problem(nm, `${path}.persistence_netmask`, `expected a prefix length 0..128 for an IPv6 VIP, got ${JSON.stringify(v)}`);
    else r.problem(nm, `${path}.persistence_netmask`, `expected a netmask like 255.255.255.0 or a prefix length 0..32, got ${JSON.stringify(v)}`);
  }
  if (r.get(m, 'local_addresses') !== undefined) {
    r.problem(r.get(m, 'local_addresses'), `${path}.local_addresses`,
      'the Full-NAT pool is one per director: list the addresses under director.fullnat.local_addresses');
  }
  let sorry: ServiceSpec['sorry'] = null;
  const sn = r.get(m, 'sorry_server');
  if (sn !== undefined) {
    const sm = r.map(sn, `${path}.sorry_server`, ['address', 'port']);
    const address = r.ip(r.get(sm, 'address'), r.need(sm, 'address', `${path}.sorry_server`) || undefined, `${path}.sorry_server.address`);
    sorry = { address, port: r.int(sm, 'port', `${path}.sorry_server`, 0, 65535, port) };
  }
  const tunnel = r.str(m, 'tunnel_source', path);
  const svcHealth = health(r, r.get(m, 'health_check'), `${path}.health_check`,
    port === 0 ? { ...defaultHealth, type: 'none' } : defaultHealth);
  const realServers: RealServerSpec[] = [];
  const seen = new Set<string>();
  r.seq(r.get(m, 'real_servers'), `${path}.real_servers`).forEach((n, i) => {
    const p = `${path}.real_servers[${i}]`;
    const rm = r.map(n, p, ['address', 'port', 'weight', 'forwarding', 'upper_threshold', 'health_check']);
    const address = r.ip(r.get(rm, 'address'), r.need(rm, 'address', p) || undefined, `${p}.address`);
    const rsPort = r.int(rm, 'port', p, 0, 65535, port);
    const key = joinHostPort(address, rsPort);
    if (seen.has(key)) r.problem(n, p, `real server ${key} is listed twice`);
    seen.add(key);
    const fwd = r.get(rm, 'forwarding') !== undefined ? r.oneOf(rm, 'forwarding', p, FORWARDING_NAMES, forwarding) : null;
    realServers.push({
      address, port: rsPort, weight: r.int(rm, 'weight', p, 0, 65535, 1), forwarding: fwd,
      upperThreshold: r.int(rm, 'upper_threshold', p, 0, 1 << 30, 0),
      health: health(r, r.get(rm, 'health_check'), `${p}.health_check`, svcHealth),
    });
  });
  const name = r.str(m, 'name', path) ?? `${protocol}/${joinHostPort(vip, port)}`;
  const s: ServiceSpec = {
    name, vip, port, protocol, scheduler, forwarding,
    hashPort: flags.includes('sh-port') || flags.includes('mh-port'),
    fallback: flags.includes('sh-fallback') || flags.includes('mh-fallback'),
    acceptMidFlow: r.bool(m, 'accept_mid_flow', path, false),
    persistence: r.int(m, 'persistence', path, 0, 86400 * 31, 0),
    persistencePrefix: prefix,
    proxyProtocol: r.get(m, 'proxy_protocol') !== undefined
      ? r.oneOf(m, 'proxy_protocol', path, ['v1', 'v2'] as const, 'v2') : null,
    toa: r.bool(m, 'toa', path, false),
    connectionLog: r.bool(m, 'connection_log', path, false),
    sorry,
    tunnelSource: tunnel !== undefined ? r.ip(r.get(m, 'tunnel_source'), tunnel, `${path}.tunnel_source`) || null : null,
    health: svcHealth,
    onFailure: r.oneOf(m, 'on_failure', path, ['quiesce', 'remove'] as const, 'quiesce'),
    synProxy: 'off',
    realServers,
  };
  const modes = forwardingModes(s);
  if ((s.proxyProtocol || s.toa) && protocol !== 'tcp') {
    r.problem(r.get(m, s.toa ? 'toa' : 'proxy_protocol'), `${path}.${s.toa ? 'toa' : 'proxy_protocol'}`, 'is for TCP services only');
  }
  if (s.proxyProtocol && (modes.has('dr') || modes.has('tun'))) {
    r.problem(r.get(m, 'proxy_protocol'), `${path}.proxy_protocol`,
      'needs nat or fullnat: the director must see the replies to translate their acknowledgements (dr and tun bypass it)');
  }
  if (s.toa && [...modes].some((x) => x !== 'fullnat')) {
    r.problem(r.get(m, 'toa'), `${path}.toa`, 'is for fullnat only: in the other modes the server sees the client\'s address');
  }
  // the proxy needs the return path (it answers for the server and translates sequence numbers):
  // on by default, in auto mode, wherever every real server is reached by NAT or Full-NAT, for
  // either family. Not across families: an IPv6 VIP with an IPv4 server (NAT64) would need the
  // proxy's handshake translated too (synproxy.ts does not), so such a service keeps the
  // embryonic budget only, and auto mode leaves it off
  const nat64 = v6 && realServers.some((x) => !x.address.includes(':'));
  const proxyable = protocol === 'tcp' && !nat64 && [...modes].every((x) => x === 'nat' || x === 'fullnat');
  const spNode = r.get(m, 'syn_proxy');
  const spRaw = spNode === undefined ? undefined : (spNode as { value?: unknown }).value;
  s.synProxy = typeof spRaw === 'boolean' ? (spRaw ? 'on' : 'off')
    : r.oneOf(m, 'syn_proxy', path, SYN_PROXY_MODES, proxyable ? 'auto' : 'off');
  if (s.synProxy !== 'off' && !proxyable) {
    r.problem(spNode, `${path}.syn_proxy`, protocol !== 'tcp' ? 'the SYN proxy is for TCP services'
      : nat64 ? 'the SYN proxy does not translate between families: an IPv6 VIP needs IPv6 real servers (one with IPv4 ones gets the embryonic budget only)'
        : 'the SYN proxy needs the return path: every real server must use nat or fullnat (dr and tun get the embryonic budget only)');
  }
  if (s.acceptMidFlow && scheduler !== 'mh') {
    r.problem(r.get(m, 'accept_mid_flow'), `${path}.accept_mid_flow`,
      'needs scheduler mh: only Maglev sends a flow to the same server on every director');
  }
  if (s.acceptMidFlow && (modes.has('nat') || modes.has('fullnat'))) {
    r.problem(r.get(m, 'accept_mid_flow'), `${path}.accept_mid_flow`,
      'only dr and tun flows can continue on another director; nat and fullnat need session sync');
  }
  familyRules(r, m, node, path, s, modes);
  if (port === 0 && (modes.has('nat') || modes.has('fullnat')) && realServers.some((x) => x.port !== 0)) {
    r.problem(node, `${path}.port`, 'a port-0 (all ports) service keeps the client\'s port: its real servers need port 0');
  }
  return s;
}

/**
 * familyRules: which address families a service may mix. The real servers share one family; an
 * IPv4 VIP needs IPv4 servers; an IPv6 VIP in front of IPv4 servers (NAT64) is Full-NAT only;
 * the sorry server is of the servers' family, the tunnel source of the VIP's. (PROXY and TOA take
 * either family of client: clientaddr.ts writes IPv6 clients as "TCP6", AF_INET6 and 20-byte TOA.)
 */
function familyRules(r: Reader, m: YAMLMap | null, node: Node, path: string, s: ServiceSpec,
  modes: Set<ForwardingMode>): void {
  if (!s.vip) return;
  const vipFamily = familyOf(s.vip);
  const rsFamilies = new Set(s.realServers.filter((x) => x.address).map((x) => familyOf(x.address)));
  if (rsFamilies.size > 1) {
    r.problem(r.get(m, 'real_servers'), `${path}.real_servers`, 'real servers of one service must all be IPv4 or all IPv6');
    return;
  }
  const rsFamily = serverFamily(s);
  if (vipFamily === 4 && rsFamily === 6) {
    r.problem(r.get(m, 'real_servers'), `${path}.real_servers`, 'an IPv4 VIP needs IPv4 real servers (IPv6 servers need an IPv6 VIP)');
  }
  if (vipFamily === 6 && rsFamily === 4 && [...modes].some((x) => x !== 'fullnat')) {
    r.problem(node, `${path}.forwarding`, 'IPv4 real servers behind an IPv6 VIP need fullnat (NAT64: the client is translated to an IPv4 local address)');
  }
  if (s.sorry?.address && familyOf(s.sorry.address) !== rsFamily) {
    r.problem(r.get(m, 'sorry_server'), `${path}.sorry_server.address`, 'the sorry server must be of the real servers\' address family');
  }
  if (s.tunnelSource && familyOf(s.tunnelSource) !== vipFamily) {
    r.problem(r.get(m, 'tunnel_source'), `${path}.tunnel_source`, 'the tunnel source must be of the VIP\'s address family');
  }
}

function maskPrefix(mask: string): number {
  const n = mask.split('.').reduce((a, b) => a * 256 + Number(b), 0);
  const bits = n.toString(2).padStart(32, '0');
  return /^1*0*$/.test(bits) ? bits.indexOf('0') === -1 ? 32 : bits.indexOf('0') : -1;
}

/** parseConfig validates YAML text; `fileName` is only used in messages. */
export function parseConfig(text: string, fileName = 'config'): DirectorSpec {
  const lines = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lines, prettyErrors: false });
  if (doc.errors.length) {
    const e = doc.errors[0];
    const pos = e.linePos?.[0];
    throw new WlvsError('WLVS_ERR_CONFIG_READ', `${fileName}:${pos?.line ?? 0}:${pos?.col ?? 0}: YAML syntax error: ${e.message.split('\n')[0]}`);
  }
  const r = new Reader(lines, doc);
  const root = r.map(doc.contents as Node, '', ['director', 'services']) as YAMLMap | null;
  if (!root) throw invalid(fileName, r.issues.length ? r.issues : [{ line: 1, col: 1, path: '', message: 'the file is empty' }]);
  const dm = r.map(r.get(root, 'director'), 'director', ['devices', 'routes', 'sessions', 'batch', 'busy_poll_us', 'huge_pages', 'workers', 'queue_steering', 'io_engine', 'timeouts',
    'unknown_packets', 'fullnat', 'sloppy_tcp', 'admin', 'ha', 'cluster', 'log', 'health_check', 'fragments',
    'syn_flood', 'connection_log']);
  if (!dm) r.problem(root, 'director', 'is required');
  const devices = r.seq(r.get(dm, 'devices'), 'director.devices').map((n, i) => device(r, n, `director.devices[${i}]`));
  if (dm && devices.length === 0) r.problem(dm, 'director.devices', 'at least one device is required');
  if (devices.length > 16) r.problem(r.get(dm, 'devices'), 'director.devices', 'at most 16 devices');
  const names = new Set<string>();
  for (const d of devices) {
    if (names.has(d.name)) r.problem(r.get(dm, 'devices'), 'director.devices', `device ${d.name} is listed twice`);
    names.add(d.name);
  }
  if (new Set(devices.map((d) => d.kind)).size > 1) {
    r.problem(r.get(dm, 'devices'), 'director.devices', 'all devices must be of one kind: all tap or all tun');
  }
  const routes: RouteSpec[] = r.seq(r.get(dm, 'routes'), 'director.routes').map((n, i) => {
    const p = `director.routes[${i}]`;
    const m = r.map(n, p, ['to', 'via', 'device']);
    const to = r.need(m, 'to', p);
    const toOk = !!to && isCidr(to);
    if (to && !toOk) r.problem(r.get(m, 'to'), `${p}.to`, `expected a network like 0.0.0.0/0 or ::/0, got ${JSON.stringify(to)}`);
    const via = r.str(m, 'via', p);
    const dev = r.need(m, 'device', p);
    if (dev && !names.has(dev)) r.problem(r.get(m, 'device'), `${p}.device`, `no device named ${JSON.stringify(dev)}`);
    const gw = via !== undefined ? r.ip(r.get(m, 'via'), via, `${p}.via`) : null;
    if (gw && toOk && familyOf(gw) !== parseCidr(to).family) r.problem(r.get(m, 'via'), `${p}.via`, 'the gateway must be of the route\'s address family');
    return { to: toOk ? canonicalCidr(to) : to, via: gw || null, device: dev };
  });
  const timeouts: Record<string, number> = { ...DEFAULT_TIMEOUTS_S };
  const tm = r.map(r.get(dm, 'timeouts'), 'director.timeouts', [...Object.keys(TIMEOUT_ALIASES), ...Object.keys(DEFAULT_TIMEOUTS_S)]);
  if (tm) {
    for (const pair of tm.items) {
      const key = String((pair.key as { value?: unknown }).value);
      const v = r.num(tm, key, 'director.timeouts', 1, 86400 * 31, NaN);
      if (Number.isNaN(v)) continue;
      for (const k of TIMEOUT_ALIASES[key] ?? [key]) if (k in DEFAULT_TIMEOUTS_S) timeouts[k] = v;
    }
  }
  const am = r.map(r.get(dm, 'admin'), 'director.admin', ['listen', 'token_file']);
  const fm = r.map(r.get(dm, 'fragments'), 'director.fragments', ['cache', 'buffer', 'timeout', 'wait']);
  const fragments = {
    cache: r.int(fm, 'cache', 'director.fragments', 0, 1 << 20, 4096),
    buffer: r.int(fm, 'buffer', 'director.fragments', 0, 4096, 64),
    timeout: r.num(fm, 'timeout', 'director.fragments', 0.01, 60, 2),
    wait: r.num(fm, 'wait', 'director.fragments', 0.001, 10, 0.5),
  };
  const lm = r.map(r.get(dm, 'log'), 'director.log', ['level']);
  const defaultHealth = health(r, r.get(dm, 'health_check'), 'director.health_check', DEFAULT_HEALTH);
  const services = r.seq(r.get(root, 'services'), 'services').map((n, i) => service(r, n, `services[${i}]`, defaultHealth));
  const keys = new Map<string, number>();
  const svcNames = new Set<string>();
  services.forEach((s, i) => {
    const node = r.seq(r.get(root, 'services'), 'services')[i];
    const k = serviceKey(s);
    if (keys.has(k)) r.problem(node, `services[${i}]`, `same VIP, port and protocol as services[${keys.get(k)}]`);
    keys.set(k, i);
    if (svcNames.has(s.name)) r.problem(node, `services[${i}].name`, `name ${JSON.stringify(s.name)} is used twice`);
    svcNames.add(s.name);
    const tun = devices.length > 0 && devices[0].kind === 'tun';
    if (tun && (s.forwarding === 'dr' || s.realServers.some((x) => x.forwarding === 'dr'))) {
      r.problem(node, `services[${i}].forwarding`, 'dr rewrites MAC addresses and needs tap devices');
    }
  });
  const admin = am ? { listen: r.str(am, 'listen', 'director.admin', '127.0.0.1:9180')!, tokenFile: r.str(am, 'token_file', 'director.admin') ?? null } : null;
  const fullnatSpec = fullnat(r, r.get(dm, 'fullnat'));
  const spec: DirectorSpec = {
    devices, routes,
    sessions: r.int(dm, 'sessions', 'director', 16, 1 << 23, 1 << 20),
    batch: r.int(dm, 'batch', 'director', 1, 1024, 256),
    busyPollUs: r.int(dm, 'busy_poll_us', 'director', 0, 1000, 0),
    hugePages: r.bool(dm, 'huge_pages', 'director', true),
    ...workersOf(r, dm),
    queueSteering: r.oneOf(dm, 'queue_steering', 'director', ['flow-hash', 'kernel'] as const, 'flow-hash'),
    ioEngine: r.oneOf(dm, 'io_engine', 'director', ['epoll', 'io_uring', 'auto'] as const, 'epoll'),
    timeouts,
    unknownPackets: r.oneOf(dm, 'unknown_packets', 'director', ['drop', 'host', 'pass'] as const, 'drop'),
    fullnat: fullnatSpec,
    sloppyTcp: r.bool(dm, 'sloppy_tcp', 'director', false),
    fragments,
    admin,
    ha: dm && r.get(dm, 'ha') ? ha(r, r.get(dm, 'ha')!, devices) : null,
    cluster: dm && r.get(dm, 'cluster') ? clusterSection(r, r.get(dm, 'cluster')!, devices,
      fullnatSpec.localAddresses.map((l) => l.address)) : null,
    logLevel: r.oneOf(lm, 'level', 'director.log', ['trace', 'debug', 'info', 'warn', 'error'] as const, 'info'),
    synFlood: synFlood(r, r.get(dm, 'syn_flood')),
    connectionLog: connectionLog(r, dm),
    services,
  };
  checkPool(r, root, dm, spec);
  if (spec.ha && spec.cluster) {
    r.problem(r.get(dm, 'cluster'), 'director.cluster', 'a director is either one of a pair (ha) or a cluster member, not both');
  }
  if (spec.cluster) clusterFamilies(r, root, r.get(dm, 'cluster'), spec);
  if (spec.ha && haAddresses(spec).length > 255) {
    r.problem(r.get(dm, 'ha'), 'director.ha', `${haAddresses(spec).length} addresses move with the master role; a VRRP advertisement carries at most 255`);
  }
  if (r.issues.length) throw invalid(fileName, r.issues);
  return spec;
}

/** connectionLog reads director.connection_log: { path: FILE | stdout, rate_limit: lines/s } */
function connectionLog(r: Reader, dm: YAMLMap | null): ConnectionLogSpec {
  const m = r.map(r.get(dm, 'connection_log'), 'director.connection_log', ['path', 'rate_limit']);
  const path = r.str(m, 'path', 'director.connection_log', 'stdout')!;
  if (m && path === '') r.problem(m, 'director.connection_log.path', 'must be a file name or stdout');
  return {
    path,
    rateLimit: r.int(m, 'rate_limit', 'director.connection_log', 1, 1_000_000, 1000),
  };
}

/**
 * clusterFamilies: a member announces each VIP and local address over the BGP sessions of its
 * family only (bird-config.ts: IPv4 neighbours carry /32s, IPv6 neighbours /128s), so an address
 * of a family no neighbour speaks would never draw traffic: refused.
 */
function clusterFamilies(r: Reader, root: YAMLMap, cluster: Node | undefined, spec: DirectorSpec): void {
  const speaks = new Set(spec.cluster!.bgp.neighbors.filter((n) => n.address).map((n) => (n.address.includes(':') ? 6 : 4)));
  const missing = (a: string): string | null => {
    const f = a.includes(':') ? 6 : 4;
    if (speaks.has(f)) return null;
    return f === 6 ? 'no BGP neighbour is IPv6: add the router\'s IPv6 address to director.cluster.bgp.neighbors ' +
      '(and bgp.local_address6) to announce IPv6 routes' : 'no BGP neighbour is IPv4: IPv4 routes are announced to IPv4 neighbours';
  };
  if (speaks.size === 0) return;
  const nodes = r.seq(r.get(root, 'services'), 'services');
  spec.services.forEach((s, i) => {
    const why = s.vip ? missing(s.vip) : null;
    if (!why) return;
    const m = isMap(nodes[i]) ? nodes[i] as YAMLMap : null;
    r.problem(r.get(m, 'vip') ?? nodes[i], `services[${i}].vip`, `${s.vip} cannot be announced: ${why}`);
  });
  for (const x of spec.cluster!.members) {
    for (const a of x.localAddresses) {
      const why = missing(a);
      if (why) {
        r.problem(cluster, 'director.cluster.members', `local address ${a} of ${x.name} cannot be announced: ${why}`);
        break;
      }
    }
  }
}

function invalid(fileName: string, issues: Issue[]): WlvsError {
  const lines = issues.map((i) => `${fileName}:${i.line}:${i.col} ${i.path || '(top)'}: ${i.message}`);
  return new WlvsError('WLVS_ERR_CONFIG_INVALID', `invalid configuration:\n${lines.join('\n')}`,
    { issues: issues.map((i) => ({ file: fileName, ...i })) });
}

/** loadConfig reads and validates a configuration file. */
export function loadConfig(path: string): DirectorSpec {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    throw new WlvsError('WLVS_ERR_CONFIG_READ', `cannot read ${path}: ${(err as Error).message}`);
  }
  return parseConfig(text, path);
}

/**
 * director.workers: a count, or absent / `auto`, which leaves it to the director: one worker per
 * core it may run on (src/director/workers.ts)
 */
function workersOf(r: Reader, dm: YAMLMap | null): { workers?: number } {
  const node = r.get(dm, 'workers');
  if (node === undefined || (isScalar(node) && (node.value === 'auto' || node.value === null))) return {};
  if (isScalar(node) && typeof node.value === 'string') {
    r.problem(node, 'director.workers', `expected auto or an integer 1..${MAX_WORKERS}, got ${JSON.stringify(node.value)}`);
    return {};
  }
  return { workers: r.int(dm, 'workers', 'director', 1, MAX_WORKERS, 1) };
}
