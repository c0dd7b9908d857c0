// to-yaml.ts — the inverse of load.ts: a DirectorSpec back to the configuration's shape (snake
// case, defaults left out where they are defaults), for `GET /api/v1/config`, runtime edits
// and the importers. parseConfig(toYaml(spec)) gives back an equal spec.
import { stringify } from 'yaml';
import { DEFAULT_FNAT_QUARANTINE_S, DEFAULT_TIMEOUTS_S } from '../dataplane/memory-map.js';
import { DEFAULT_TXQUEUELEN, type DirectorSpec, type HealthSpec, type ServiceSpec } from '../model/spec.js';
import { clusterObject } from './cluster.js';
import { DEFAULT_HEALTH, DEFAULT_SYN_FLOOD } from './load.js';

function healthObject(h: HealthSpec | null, base: HealthSpec): Record<string, unknown> | undefined {
  if (!h) return undefined;
  const o: Record<string, unknown> = {};
  const put = (k: string, v: unknown, d: unknown) => { if (JSON.stringify(v) !== JSON.stringify(d)) o[k] = v; };
  put('type', h.type, base.type);
  put('interval', h.interval, base.interval);
  put('timeout', h.timeout, base.timeout);
  put('rise', h.rise, base.rise);
  put('fall', h.fall, base.fall);
  put('port', h.port, base.port);
  put('path', h.path, base.path);
  put('expect_status', h.expectStatus, base.expectStatus);
  put('expect_body', h.expectBody, base.expectBody);
  put('tls', h.tls, base.tls);
  put('verify', h.verify, base.verify);
  put('host', h.host, base.host);
  put('payload', h.payload, base.payload);
  put('expect_reply', h.expectReply, base.expectReply);
  put('command', h.command, base.command);
  return Object.keys(o).length ? o : undefined;
}

/** serviceObject: one service in configuration shape */
function serviceObject(s: ServiceSpec, defaultHealth: HealthSpec = DEFAULT_HEALTH): Record<string, unknown> {
  const flags: string[] = [];
  if (s.hashPort) flags.push(s.scheduler === 'mh' ? 'mh-port' : 'sh-port');
  if (s.fallback) flags.push(s.scheduler === 'mh' ? 'mh-fallback' : 'sh-fallback');
  const svcBase = s.port === 0 ? { ...defaultHealth, type: 'none' as const } : defaultHealth;
  const o: Record<string, unknown> = {
    name: s.name, vip: s.vip, port: s.port, protocol: s.protocol, scheduler: s.scheduler,
  };
  if (flags.length) o.sched_flags = flags;
  o.forwarding = s.forwarding;
  if (s.persistence) o.persistence = s.persistence;
  if (s.persistence && s.persistencePrefix !== (s.vip.includes(':') ? 128 : 32)) o.persistence_netmask = s.persistencePrefix;
  if (s.proxyProtocol) o.proxy_protocol = s.proxyProtocol;
  if (s.toa) o.toa = true;
  if (s.sorry) o.sorry_server = { address: s.sorry.address, port: s.sorry.port };
  if (s.tunnelSource) o.tunnel_source = s.tunnelSource;
  const hc = healthObject(s.health, svcBase);
  if (hc) o.health_check = hc;
  if (s.onFailure !== 'quiesce') o.on_failure = s.onFailure;
  if (s.acceptMidFlow) o.accept_mid_flow = true;
  // written always: its default depends on the modes, which an edit may change
  o.syn_proxy = s.synProxy;
  o.real_servers = s.realServers.map((r) => {
    const ro: Record<string, unknown> = { address: r.address, port: r.port, weight: r.weight };
    if (r.forwarding) ro.forwarding = r.forwarding;
    if (r.upperThreshold) ro.upper_threshold = r.upperThreshold;
    const rh = healthObject(r.health, s.health ?? svcBase);
    if (rh) ro.health_check = rh;
    return ro;
  });
  return o;
}

/** configObject: the whole spec in configuration shape */
export function configObject(spec: DirectorSpec): Record<string, unknown> {
  const timeouts: Record<string, number> = {};
  for (const [k, v] of Object.entries(spec.timeouts)) if (DEFAULT_TIMEOUTS_S[k] !== v) timeouts[k] = v;
  const director: Record<string, unknown> = {
    devices: spec.devices.map((d) => {
      const o: Record<string, unknown> = { name: d.name, kind: d.kind, addresses: d.addresses };
      if (d.mac) o.mac = d.mac;
      if (d.mtu !== 1500) o.mtu = d.mtu;
      if (d.bridge) o.bridge = d.bridge;
      if (!d.offload) o.offload = false;
      if (d.txqueuelen !== DEFAULT_TXQUEUELEN) o.txqueuelen = d.txqueuelen;
      return o;
    }),
  };
  if (spec.routes.length) director.routes = spec.routes.map((r) => (r.via ? { to: r.to, via: r.via,
    device: r.device } : { to: r.to, device: r.device }));
  director.sessions = spec.sessions;
  if (spec.batch !== 256) director.batch = spec.batch;
  if (spec.busyPollUs) director.busy_poll_us = spec.busyPollUs;
  if (spec.hugePages === false) director.huge_pages = false;
  // written always: the default depends on the machine that reads the file
  if (spec.workers !== undefined) director.workers = spec.workers;
  if (spec.queueSteering === 'kernel') director.queue_steering = spec.queueSteering;
  if (spec.ioEngine && spec.ioEngine !== 'epoll') director.io_engine = spec.ioEngine;
  if (Object.keys(timeouts).length) director.timeouts = timeouts;
  if (spec.unknownPackets !== 'drop') director.unknown_packets = spec.unknownPackets;
  const f = spec.fullnat;
  if (f.localAddresses.length || f.quarantine !== DEFAULT_FNAT_QUARANTINE_S) {
    director.fullnat = {
      ...(f.localAddresses.length ? {
        local_addresses: f.localAddresses.map((l) => (l.portMin === 1024 && l.portMax === 65535 ? l.address
          : { address: l.address, ports: `${l.portMin}-${l.portMax}` })),
      } : {}),
      ...(f.quarantine !== DEFAULT_FNAT_QUARANTINE_S ? { quarantine: f.quarantine } : {}),
    };
  }
  if (spec.sloppyTcp) director.sloppy_tcp = true;
  const fr = spec.fragments;
  if (fr.cache !== 4096 || fr.buffer !== 64 || fr.timeout !== 2 || fr.wait !== 0.5) director.fragments = { ...fr };
  if (spec.admin) director.admin = spec.admin.tokenFile ? { listen: spec.admin.listen,
    token_file: spec.admin.tokenFile } : { listen: spec.admin.listen };
  if (spec.ha) {
    const h = spec.ha;
    const v = h.vrrp;
    const vrrp: Record<string, unknown> = { version: v.version, device: v.device };
    if (v.version === 3 && v.checksum !== 'pseudo-header') vrrp.checksum = v.checksum;
    if (v.unicastPeers.length) vrrp.unicast_peers = v.unicastPeers;
    if (v.virtualMac) vrrp.virtual_mac = true;
    vrrp.authentication = v.auth;
    if (v.password !== null) vrrp.password = v.password;
    director.ha = {
      group: h.group, priority: h.priority, state: h.initialState, preempt: h.preempt,
      ...(h.preemptDelayMs ? { preempt_delay: h.preemptDelayMs / 1000 } : {}),
      advert_interval: h.advertIntervalMs / 1000, vrrp,
      ...(h.authKeyFile ? { auth_key_file: h.authKeyFile } : {}),
      ...(h.listen && h.peer ? { listen: `${h.listen.host}:${h.listen.port}`, peer: `${h.peer.host}:${h.peer.port}` } : {}),
      ...(h.virtualAddresses.length ? { virtual_addresses: h.virtualAddresses } : {}),
      sync_sessions: h.syncSessions,
    };
  }
  if (spec.cluster) director.cluster = clusterObject(spec.cluster);
  if (spec.logLevel !== 'info') director.log = { level: spec.logLevel };
  const sf: Record<string, unknown> = {};
  const sfs = spec.synFlood;
  const d = DEFAULT_SYN_FLOOD;
  if (sfs.embryonicShare !== d.embryonicShare) sf.embryonic_share = sfs.embryonicShare;
  if (sfs.pressureTimeout !== d.pressureTimeout) sf.pressure_timeout = sfs.pressureTimeout;
  if (sfs.synRate !== d.synRate) sf.syn_rate = sfs.synRate;
  if (sfs.tableFill !== d.tableFill) sf.table_fill = sfs.tableFill;
  if (sfs.hold !== d.hold) sf.hold = sfs.hold;
  if (sfs.mss !== null) sf.mss = sfs.mss;
  if (sfs.wscale !== d.wscale) sf.wscale = sfs.wscale;
  if (sfs.secretPeriod !== d.secretPeriod) sf.secret_period = sfs.secretPeriod;
  if (Object.keys(sf).length) director.syn_flood = sf;
  return { director, services: spec.services.map((s) => serviceObject(s)) };
}

export function toYaml(spec: DirectorSpec): string {
  return stringify(configObject(spec), { lineWidth: 0 });
}
