// cluster.ts — the `director.cluster` section: this director's BGP speaker (BIRD), the router it
// announces to, the watchdog, draining, and the members of the cluster. The reference is
// docs/config.md and docs/cluster.md.
import { existsSync } from 'node:fs';
import type { Node } from 'yaml';
import type { ClusterMemberSpec, ClusterSpec, DeviceSpec } from '../model/spec.js';
import { type Reader, addressesOf, hostPort } from './reader.js';

/** where Debian (and most others) put BIRD 2; the first one found is the default */
const BIRD_PATHS = ['/usr/sbin/bird', '/usr/local/sbin/bird', '/usr/bin/bird'];

export function defaultBirdBinary(): string {
  return BIRD_PATHS.find((p) => existsSync(p)) ?? 'bird';
}

const asNumber = (r: Reader, node: Node | undefined, path: string, v: unknown): number => {
  // 4-octet AS numbers (RFC 6793); 0 and 23456 (AS_TRANS) are not for a speaker
  if (typeof v !== 'number' || !Number.isInteger(v) || v < 1 || v > 4294967294 || v === 23456) {
    r.problem(node, path, `expected an AS number 1..4294967294, got ${JSON.stringify(v)}`);
    return 0;
  }
  return v;
};

function password(r: Reader, m: ReturnType<Reader['map']>, path: string): string | null {
  const v = r.str(m, 'password', path);
  if (v === undefined) return null;
  // BIRD's strings have no escapes
  if (!/^[\x20-\x7e]{1,80}$/.test(v) || /["\\]/.test(v)) {
    r.problem(r.get(m, 'password'), `${path}.password`, 'expected 1 to 80 printable characters without " or \\');
  }
  return v;
}

function addresses(r: Reader, node: Node | undefined, path: string): string[] {
  const out: string[] = [];
  r.seq(node, path).forEach((n, i) => {
    out.push(...addressesOf(r, n, `${path}[${i}]`, String((n as { value?: unknown }).value ?? '')));
  });
  return out;
}

/** clusterSection reads `director.cluster`; problems go to the reader. */
export function clusterSection(r: Reader, node: Node, devices: DeviceSpec[], pool: string[]): ClusterSpec {
  const path = 'director.cluster';
  const m = r.map(node, path, ['name', 'bgp', 'bird', 'watchdog', 'withdraw_grace', 'drain', 'members', 'sync']);
  if (devices.some((d) => d.kind !== 'tun')) {
    // the router's next hop is this host's kernel, which routes the VIPs into the device
    r.problem(node, path, 'a cluster member needs a tun device: the kernel routes what the router sends for the VIPs into it');
  }
  const bp = `${path}.bgp`;
  const bm = r.map(r.get(m, 'bgp'), bp, ['local_as', 'local_address', 'local_address6', 'router_id', 'neighbors', 'hold_time', 'keepalive',
    'bfd', 'backup_prepend']);
  if (!bm) r.problem(node, bp, 'is required');
  const localAsNode = r.get(bm, 'local_as');
  const localAs = localAsNode === undefined ? (r.problem(bm, `${bp}.local_as`, 'is required'), 0)
    : asNumber(r, localAsNode, `${bp}.local_as`, (localAsNode as { value?: unknown }).value);
  const localAddress = r.ipv4(r.get(bm, 'local_address'), r.need(bm, 'local_address', bp) || undefined, `${bp}.local_address`);
  // an IPv6 neighbour gets an IPv6 session of its own (BIRD's usual dual-stack setup): its
  // source and the IPv6 routes' next hop is this address
  const local6Text = r.str(bm, 'local_address6', bp);
  const localAddress6 = local6Text === undefined ? null : r.ip(r.get(bm, 'local_address6'), local6Text, `${bp}.local_address6`) || null;
  if (localAddress6 !== null && !localAddress6.includes(':')) {
    r.problem(r.get(bm, 'local_address6'), `${bp}.local_address6`, `expected an IPv6 address, got ${localAddress6}`);
  }
  const routerIdText = r.str(bm, 'router_id', bp);
  const routerId = routerIdText !== undefined ? r.ipv4(r.get(bm, 'router_id'), routerIdText, `${bp}.router_id`) : localAddress;
  const neighbors = r.seq(r.get(bm, 'neighbors'), `${bp}.neighbors`).map((n, i) => {
    const p = `${bp}.neighbors[${i}]`;
    const nm = r.map(n, p, ['address', 'as', 'password']);
    const asNode = r.get(nm, 'as');
    return {
      address: r.ip(r.get(nm, 'address'), r.need(nm, 'address', p) || undefined, `${p}.address`),
      as: asNode === undefined ? (r.problem(nm, `${p}.as`, 'is required'), 0) : asNumber(r, asNode, `${p}.as`, (asNode as { value?: unknown }).value),
      password: password(r, nm, p),
    };
  });
  for (const n of neighbors) {
    if (n.address.includes(':') && !localAddress6) {
      r.problem(r.get(bm, 'neighbors'), `${bp}.neighbors`, `${n.address}: an IPv6 neighbour needs bgp.local_address6 (this host's IPv6 address on its link)`);
    }
  }
  if (bm && neighbors.length === 0) r.problem(bm, `${bp}.neighbors`, 'at least one neighbor (the router) is required');
  for (const n of neighbors) {
    if (n.as === localAs && n.as !== 0) r.problem(r.get(bm, 'neighbors'), `${bp}.neighbors`, `${n.address}: iBGP is not supported, use another AS`);
  }
  // RFC 4271 §4.2: a hold time is 0 (no keepalives) or at least 3 seconds
  const holdTime = r.int(bm, 'hold_time', bp, 0, 65535, 3);
  if (holdTime > 0 && holdTime < 3) r.problem(r.get(bm, 'hold_time'), `${bp}.hold_time`, 'must be 0 or at least 3 seconds (RFC 4271)');
  const keepaliveTime = r.int(bm, 'keepalive', bp, 1, 21845, Math.max(1, Math.floor(holdTime / 3)));
  if (holdTime && keepaliveTime >= holdTime) r.problem(r.get(bm, 'keepalive'), `${bp}.keepalive`, 'must be shorter than hold_time');
  let bfd: ClusterSpec['bgp']['bfd'] = null;
  const bfdNode = r.get(bm, 'bfd');
  if (bfdNode !== undefined && (bfdNode as { value?: unknown }).value !== false) {
    const fm = (bfdNode as { value?: unknown }).value === true ? null : r.map(bfdNode, `${bp}.bfd`, ['interval', 'multiplier']);
    bfd = {
      intervalMs: Math.round(r.num(fm, 'interval', `${bp}.bfd`, 0.01, 10, 0.1) * 1000),
      multiplier: r.int(fm, 'multiplier', `${bp}.bfd`, 1, 255, 3),
    };
  }

  const im = r.map(r.get(m, 'bird'), `${path}.bird`, ['binary', 'state_dir']);
  const dm = r.map(r.get(m, 'drain'), `${path}.drain`, ['deadline', 'quiet']);
  const name = r.str(m, 'name', path) ?? localAddress;
  if (!/^[A-Za-z0-9_.-]{1,32}$/.test(name) && name) r.problem(r.get(m, 'name'), `${path}.name`, 'expected 1 to 32 letters, digits, _ . -');

  const members: ClusterMemberSpec[] = r.seq(r.get(m, 'members'), `${path}.members`).map((n, i) => {
    const p = `${path}.members[${i}]`;
    const mm = r.map(n, p, ['name', 'sync', 'local_addresses']);
    return {
      name: r.need(mm, 'name', p),
      sync: hostPort(r, mm, 'sync', p),
      localAddresses: addresses(r, r.get(mm, 'local_addresses'), `${p}.local_addresses`),
    };
  });
  const seen = new Set<string>();
  for (const x of members) {
    if (seen.has(x.name)) r.problem(r.get(m, 'members'), `${path}.members`, `member ${x.name} is listed twice`);
    seen.add(x.name);
  }
  if (members.length && !seen.has(name)) r.problem(r.get(m, 'members'), `${path}.members`, `this director (${name}) is not among the members`);
  const lipOwner = new Map<string, string>();
  for (const x of members) {
    for (const a of x.localAddresses) {
      const before = lipOwner.get(a);
      if (before === x.name) r.problem(r.get(m, 'members'), `${path}.members`, `local address ${a} is listed twice for ${x.name}`);
      else if (before) r.problem(r.get(m, 'members'), `${path}.members`, `local address ${a} belongs to ${before} and ${x.name}`);
      lipOwner.set(a, x.name);
    }
  }
  // a member allocates only from its own pool (director.fullnat), and the others hold its
  // sessions and routes for the addresses listed for it here: the two must be the same set
  const own = members.find((x) => x.name === name);
  if (own) {
    for (const a of pool) {
      if (!own.localAddresses.includes(a)) {
        r.problem(r.get(m, 'members'), `${path}.members`, `director.fullnat local address ${a} is not listed for ${name}`);
      }
    }
    for (const a of own.localAddresses) {
      if (!pool.includes(a)) {
        r.problem(r.get(m, 'members'), `${path}.members`, `${a} is listed for ${name} but not in its director.fullnat.local_addresses`);
      }
    }
  }
  let sync: ClusterSpec['sync'] = null;
  if (r.get(m, 'sync') !== undefined) {
    const sm = r.map(r.get(m, 'sync'), `${path}.sync`, ['auth_key_file']);
    sync = { authKeyFile: r.need(sm, 'auth_key_file', `${path}.sync`) };
    if (!own?.sync) r.problem(r.get(m, 'sync'), `${path}.sync`, `session sync needs a sync address (IPv4:port) for ${name} in members`);
    if (!members.some((x) => x.name !== name && x.sync)) r.problem(r.get(m, 'sync'), `${path}.sync`, 'no other member has a sync address');
  }
  return {
    name,
    bgp: {
      localAs, localAddress, localAddress6, routerId, neighbors, holdTime, keepaliveTime, bfd,
      backupPrepend: r.int(bm, 'backup_prepend', bp, 1, 10, 3),
    },
    bird: { binary: r.str(im, 'binary', `${path}.bird`) ?? defaultBirdBinary(), stateDir: r.str(im, 'state_dir', `${path}.bird`) ?? null },
    watchdogMs: Math.round(r.num(m, 'watchdog', path, 0.1, 60, 0.5) * 1000),
    withdrawGraceMs: Math.round(r.num(m, 'withdraw_grace', path, 0, 30, 0.5) * 1000),
    drainDeadlineS: r.num(dm, 'deadline', `${path}.drain`, 1, 86400, 300),
    drainQuietMs: Math.round(r.num(dm, 'quiet', `${path}.drain`, 0.1, 600, 2) * 1000),
    members,
    sync,
  };
}

/** clusterObject is the inverse of clusterSection (defaults left out), for runtime edits and the API. */
export function clusterObject(c: ClusterSpec): Record<string, unknown> {
  const bgp: Record<string, unknown> = {
    local_as: c.bgp.localAs, local_address: c.bgp.localAddress,
    ...(c.bgp.localAddress6 ? { local_address6: c.bgp.localAddress6 } : {}),
    neighbors: c.bgp.neighbors.map((n) => ({
      address: n.address, as: n.as, ...(n.password ? { password: n.password } : {}),
    })),
    hold_time: c.bgp.holdTime, keepalive: c.bgp.keepaliveTime, backup_prepend: c.bgp.backupPrepend,
  };
  if (c.bgp.routerId !== c.bgp.localAddress) bgp.router_id = c.bgp.routerId;
  if (c.bgp.bfd) bgp.bfd = { interval: c.bgp.bfd.intervalMs / 1000, multiplier: c.bgp.bfd.multiplier };
  return {
    name: c.name, bgp,
    bird: { binary: c.bird.binary, ...(c.bird.stateDir ? { state_dir: c.bird.stateDir } : {}) },
    watchdog: c.watchdogMs / 1000, withdraw_grace: c.withdrawGraceMs / 1000,
    drain: { deadline: c.drainDeadlineS, quiet: c.drainQuietMs / 1000 },
    ...(c.members.length ? {
      members: c.members.map((x) => ({
        name: x.name, ...(x.sync ? { sync: `${x.sync.host}:${x.sync.port}` } : {}),
        ...(x.localAddresses.length ? { local_addresses: x.localAddresses } : {}),
      })),
    } : {}),
    ...(c.sync ? { sync: { auth_key_file: c.sync.authKeyFile } } : {}),
  };
}
