// keepalived.ts — translates the virtual_server blocks of a keepalived.conf into a wlvs
// configuration: schedulers, forwarding, persistence, sorry server, real servers with weights
// and their TCP_CHECK / HTTP_GET / SSL_GET / MISC_CHECK; and a vrrp_instance (multicast or
// unicast) into director.ha with its VRRP version, checksum variant, authentication, interval,
// preemption, virtual MAC and addresses, so the wlvs director can pair with the keepalived one
// it replaces; global_defs' lvs_timeouts into director.timeouts, lvs_sync_daemon into the
// session-sync link of director.ha, and each member of a virtual_server_group into a service of
// its own. fwmark services and anything without a wlvs equivalent are listed with their line
// numbers.
import { SCHEDULER_NAMES } from '../model/spec.js';
import { type Svc, finish, type Translation } from './ipvsadm.js';

interface Token { text: string; line: number }

/** a block: `word args... { children }` or a plain statement `word args...` */
interface Stmt { key: string; args: string[]; line: number; children: Stmt[] | null }

function tokenize(text: string): Token[] {
  const out: Token[] = [];
  text.split('\n').forEach((raw, n) => {
    const re = /"([^"]*)"|([{}])|([^\s{}"#!]+)|([#!].*$)/g;
    let m: RegExpExecArray | null;
    while ((m = re.exec(raw))) {
      if (m[4] !== undefined) break;
      out.push({ text: m[1] ?? m[2] ?? m[3], line: n + 1 });
    }
    out.push({ text: '\n', line: n + 1 });
  });
  return out;
}

function parse(tokens: Token[]): Stmt[] {
  let i = 0;
  const block = (): Stmt[] => {
    const list: Stmt[] = [];
    while (i < tokens.length) {
      while (i < tokens.length && tokens[i].text === '\n') i++;
      if (i >= tokens.length) break;
      if (tokens[i].text === '}') { i++; break; }
      const start = tokens[i];
      const words: string[] = [];
      while (i < tokens.length && tokens[i].text !== '\n' && tokens[i].text !== '{' && tokens[i].text !== '}') words.push(tokens[i++].text);
      let children: Stmt[] | null = null;
      while (i < tokens.length && tokens[i].text === '\n' && tokens[i + 1]?.text === '{') i++;
      if (tokens[i]?.text === '{') {
        i++;
        children = block();
      }
      list.push({ key: words[0] ?? '', args: words.slice(1), line: start.line, children });
    }
    return list;
  };
  return block();
}

const get = (s: Stmt[] | null, key: string) => s?.find((x) => x.key === key);
const KINDS: Record<string, string> = { NAT: 'nat', DR: 'dr', TUN: 'tun', FNAT: 'fullnat' };
const SCHEDULERS: readonly string[] = SCHEDULER_NAMES;

/** global_defs settings that shape every vrrp_instance */
interface VrrpDefaults { version: number; checksumAsV2: boolean }

function vrrpDefaults(tops: Stmt[], note: (s: Stmt, why: string) => void): VrrpDefaults {
  const g = tops.find((t) => t.key === 'global_defs')?.children ?? null;
  for (const k of ['vrrp_mcast_group4', 'vrrp_mcast_group6']) {
    const st = get(g, k);
    if (st) note(st, 'wlvs sends VRRP to 224.0.0.18 only');
  }
  // keepalived speaks version 2 unless told otherwise (keepalived.conf(5), vrrp_version)
  return { version: Number(get(g, 'vrrp_version')?.args[0] ?? 2), checksumAsV2: isOn(get(g, 'v3_checksum_as_v2')) };
}

/** a keepalived boolean keyword: present with no argument, or with true/on/yes */
function isOn(s: Stmt | undefined): boolean {
  return !!s && (s.args.length === 0 || /^(true|on|yes|1)$/i.test(s.args[0]));
}

/**
 * vrrp turns a vrrp_instance into director.ha: the same VRID, priority, interval, version,
 * checksum and authentication, so the wlvs director and the keepalived one elect each other.
 * There is no session sync with keepalived (its lvs_sync_daemon speaks IPVS's protocol).
 */
function vrrp(top: Stmt, vips: Set<string>, defaults: VrrpDefaults, synced: boolean,
  note: (s: Stmt, why: string) => void): Record<string, unknown> {
  const body = top.children ?? [];
  const version = Number(get(body, 'version')?.args[0] ?? defaults.version);
  const v: Record<string, unknown> = { version: version === 3 ? 3 : 2, device: PLACEHOLDER_DEVICE };
  const iface = get(body, 'interface');
  if (iface) note(iface, `VRRP runs on wlvs device ${PLACEHOLDER_DEVICE}: name the device on the segment of ${iface.args[0]}`);
  const cs = get(body, 'v3_checksum_as_v2');
  if (version === 3 && (cs ? isOn(cs) : defaults.checksumAsV2)) v.checksum = 'no-pseudo-header';
  const peers = (get(body, 'unicast_peer')?.children ?? []).map((p) => p.key);
  if (peers.length) v.unicast_peers = peers;
  if (isOn(get(body, 'use_vmac'))) v.virtual_mac = true;
  const auth = get(body, 'authentication');
  if (auth) {
    const type = get(auth.children, 'auth_type')?.args[0]?.toUpperCase();
    const pass = get(auth.children, 'auth_pass')?.args[0];
    if (version === 3) note(auth, 'VRRP version 3 has no authentication (keepalived ignores it too)');
    else if (type === 'PASS' && pass) {
      v.authentication = 'pass';
      // keepalived uses the first 8 bytes of auth_pass
      v.password = Buffer.from(pass).subarray(0, 8).toString();
      if (Buffer.byteLength(pass) > 8) note(auth, 'auth_pass is cut to its first 8 bytes, as keepalived does');
    } else note(auth, `auth_type ${type ?? '?'} is not supported (IPsec AH, removed by RFC 3768): none is used`);
  }
  const prio = Number(get(body, 'priority')?.args[0] ?? 100);
  let interval = Number(get(body, 'advert_int')?.args[0] ?? 1);
  // keepalived rounds to what the version can carry: whole seconds (v2), centiseconds (v3)
  const rounded = version === 3 ? Math.max(0.01, Math.round(interval * 100) / 100) : Math.max(1, Math.round(interval));
  if (rounded !== interval) note(get(body, 'advert_int')!, `advert_int becomes ${rounded} s, as keepalived rounds it for version ${version}`);
  interval = rounded;
  const ha: Record<string, unknown> = {
    group: Number(get(body, 'virtual_router_id')?.args[0] ?? 1),
    priority: Math.min(255, Math.max(1, prio)),
    state: get(body, 'state')?.args[0]?.toLowerCase() === 'master' ? 'master' : 'backup',
    preempt: !get(body, 'nopreempt') || prio === 255,
    advert_interval: interval,
    vrrp: v,
  };
  const pd = get(body, 'preempt_delay');
  if (pd) ha.preempt_delay = Number(pd.args[0] ?? 0);
  // VIPs of virtual servers move with the role anyway; the rest become virtual addresses
  const extra = (get(body, 'virtual_ipaddress')?.children ?? []).filter((a) => !vips.has(a.key.split('/')[0]));
  if (extra.length) {
    ha.virtual_addresses = extra.map((a) => ({ address: a.key.includes('/') ? a.key : `${a.key}/32`, device: PLACEHOLDER_DEVICE }));
    note(get(body, 'virtual_ipaddress')!, `virtual addresses are put on device ${PLACEHOLDER_DEVICE}: name the wlvs device that carries each`);
  }
  const src = get(body, 'unicast_src_ip');
  if (src) note(src, `wlvs sends VRRP from the first address of its device: give ${PLACEHOLDER_DEVICE} the address ${src.args[0]}`);
  const excluded = get(body, 'virtual_ipaddress_excluded');
  if (excluded) note(excluded, 'wlvs advertises every address that moves with the role: the keepalived peer must list them in virtual_ipaddress');
  for (const k of ['lvs_sync_daemon_interface']) {
    const st = get(body, k);
    if (st && !synced) note(st, 'translated only with a wlvs peer: see lvs_sync_daemon');
  }
  for (const k of ['track_script', 'track_interface', 'notify_master', 'notify_backup', 'notify_fault', 'notify', 'garp_master_delay', 'dont_track_primary']) {
    const st = get(body, k);
    if (st) note(st, 'no wlvs equivalent');
  }
  if (!synced) note(top, 'no session sync with keepalived; between two wlvs directors add director.ha listen, peer and auth_key_file');
  return ha;
}

const PLACEHOLDER_DEVICE = 'wlvs0';

/** IPVS's sync daemon port (ip_vs_sync.c), keepalived's default for lvs_sync_daemon */
const SYNC_PORT = 8848;
/** RFC 5737 TEST-NET-1: placeholders the operator must replace, never routed anywhere */
const PLACEHOLDER_SELF = '192.0.2.1';
const PLACEHOLDER_PEER = '192.0.2.2';
const PLACEHOLDER_KEY = '/etc/wlvs/ha.key';

/**
 * syncLink turns `lvs_sync_daemon IFACE INSTANCE [id N] [maxlen N] [port N] [ttl N] [group ADDR]`
 * (or a vrrp_instance's older `lvs_sync_daemon_interface IFACE`) into director.ha's sync link.
 * IPVS's daemon multicasts on IFACE; wlvs's link is unicast between two peers under an HMAC key,
 * so the addresses come from the instance's unicast_src_ip / unicast_peer when it has them.
 */
function syncLink(st: Stmt, instance: Stmt | undefined, note: (s: Stmt, why: string) => void): Record<string, unknown> {
  const opts = new Map<string, string>();
  for (let i = 2; i + 1 < st.args.length; i += 2) opts.set(st.args[i], st.args[i + 1]);
  const port = Number(opts.get('port') ?? SYNC_PORT);
  const body = instance?.children ?? [];
  const src = get(body, 'unicast_src_ip')?.args[0];
  const peer = (get(body, 'unicast_peer')?.children ?? [])[0]?.key;
  if (!src || !peer) {
    note(st, `sync link addresses unknown (IPVS's daemon multicasts on ${st.args[0] ?? 'its interface'}): ` +
      `replace listen ${PLACEHOLDER_SELF} by this director's address and peer ${PLACEHOLDER_PEER} by the other's`);
  }
  note(st, `the sync link is authenticated: create ${PLACEHOLDER_KEY} (head -c 32 /dev/urandom; chmod 600), the same file on both directors`);
  const why: Record<string, string> = {
    id: 'a sync id tells multicast sync groups apart; the wlvs link joins two peers only',
    maxlen: 'wlvs sizes its sync datagrams itself', ttl: 'the wlvs link is unicast', group: 'the wlvs link is unicast',
  };
  for (const [k, v] of opts) if (k !== 'port') note(st, `${k} ${v} is left out: ${why[k] ?? 'unknown option'}`);
  return {
    auth_key_file: PLACEHOLDER_KEY,
    listen: `${src ?? PLACEHOLDER_SELF}:${port}`,
    peer: `${peer ?? PLACEHOLDER_PEER}:${port}`,
    sync_sessions: true,
  };
}

/** timeouts turns `lvs_timeouts [tcp N] [tcpfin N] [udp N]` into director.timeouts (ipvsadm --set names) */
function timeouts(st: Stmt, note: (s: Stmt, why: string) => void): Record<string, number> {
  const out: Record<string, number> = {};
  for (let i = 0; i < st.args.length; i += 2) {
    const [k, v] = [st.args[i], Number(st.args[i + 1])];
    if (!['tcp', 'tcpfin', 'udp'].includes(k) || !Number.isInteger(v) || v < 0) note(st, `${k} ${st.args[i + 1] ?? ''}: expected tcp, tcpfin or udp with seconds`);
    // ipvsadm --set: 0 leaves a timeout unchanged
    else if (v > 0) out[k] = v;
  }
  return out;
}

/** groupMembers expands a virtual_server_group: `ADDR PORT` and `A.B.C.D-E PORT` lines (fwmarks are noted) */
function groupMembers(group: Stmt, note: (s: Stmt, why: string) => void): { vip: string; port: number }[] {
  const out: { vip: string; port: number }[] = [];
  for (const m of group.children ?? []) {
    if (m.key === 'fwmark') {
      note(m, 'fwmark members have no wlvs equivalent; use a port-0 service on the VIP');
      continue;
    }
    const r = /^(\d+\.\d+\.\d+\.)(\d+)(?:-(\d+))?$/.exec(m.key);
    const port = Number(m.args[0] ?? 0);
    if (!r || !Number.isInteger(port) || port < 0 || port > 65535) {
      note(m, 'expected ADDRESS PORT or A.B.C.D-E PORT');
      continue;
    }
    const [lo, hi] = [Number(r[2]), Number(r[3] ?? r[2])];
    for (let i = lo; i <= hi && i <= 255; i++) out.push({ vip: `${r[1]}${i}`, port });
  }
  return out;
}

/** translate converts keepalived.conf text. */
export function translate(text: string): Translation {
  const untranslated: string[] = [];
  const services: Svc[] = [];
  const note = (s: Stmt, why: string) => untranslated.push(`line ${s.line}: ${[s.key, ...s.args].join(' ')} (${why})`);
  const tops = parse(tokenize(text));
  const groups = new Map(tops.filter((t) => t.key === 'virtual_server_group').map((t) => [t.args[0], t]));
  const vips = new Set<string>();
  for (const t of tops.filter((x) => x.key === 'virtual_server')) {
    if (t.args[0] === 'group') for (const m of groups.has(t.args[1]) ? groupMembers(groups.get(t.args[1])!, () => undefined) : []) vips.add(m.vip);
    else vips.add(t.args[0]);
  }
  const defaults = vrrpDefaults(tops, note);
  // lvs_timeouts and lvs_sync_daemon belong in global_defs; older files have them at the top
  const globals = [...(tops.find((t) => t.key === 'global_defs')?.children ?? []), ...tops.filter((t) => GLOBAL_LVS.has(t.key))];
  const instances = tops.filter((t) => t.key === 'vrrp_instance');
  const syncSt = globals.find((g) => g.key === 'lvs_sync_daemon');
  const oldSync = instances[0] ? get(instances[0].children, 'lvs_sync_daemon_interface') : undefined;
  let ha: Record<string, unknown> | null = null;
  if (instances[0]) ha = vrrp(instances[0], vips, defaults, !!(syncSt || oldSync), note);
  for (const extra of instances.slice(1)) note(extra, 'wlvs runs one VRRP instance per director: only the first vrrp_instance is translated');
  if (syncSt || oldSync) {
    const st = (syncSt ?? oldSync)!;
    const named = syncSt ? instances.find((i) => i.args[0] === syncSt.args[1]) : instances[0];
    if (!ha) note(st, 'a sync link needs director.ha: no vrrp_instance to translate');
    else {
      if (syncSt && named !== instances[0]) note(st, `names vrrp_instance ${syncSt.args[1] ?? '?'}, not the translated ${instances[0].args[0]}`);
      Object.assign(ha, syncLink(st, named ?? instances[0], note));
    }
  }
  let director: Record<string, unknown> = {};
  for (const g of globals) {
    if (g.key === 'lvs_timeouts') director = { ...director, timeouts: { ...(director.timeouts as object), ...timeouts(g, note) } };
    else if (g.key === 'lvs_flush' || g.key === 'lvs_flush_on_stop') continue; // wlvs's tables live in its own memory: always empty at start and gone at exit
    else if (g.key !== 'lvs_sync_daemon' && !VRRP_GLOBALS.includes(g.key)) note(g, 'global_defs: no wlvs equivalent');
  }
  for (const top of tops) {
    if (top.key === 'vrrp_instance' || top.key === 'global_defs' || top.key === 'virtual_server_group' || GLOBAL_LVS.has(top.key)) continue;
    if (top.key !== 'virtual_server') {
      note(top, top.key.startsWith('vrrp') ? 'no wlvs equivalent' : 'not a virtual_server block');
      continue;
    }
    if (top.args[0] === 'fwmark' || top.args.length < 2) {
      note(top, 'fwmark virtual servers have no wlvs equivalent; use a port-0 service on the VIP');
      continue;
    }
    if (top.args[0] === 'group') {
      const g = groups.get(top.args[1]);
      if (!g) {
        note(top, `no virtual_server_group ${top.args[1]}`);
        continue;
      }
      // one wlvs service per member, each with the block's scheduler, real servers and checks
      for (const m of groupMembers(g, note)) services.push(virtualServer(m.vip, m.port, top, `${top.args[1]}-`, note));
      continue;
    }
    services.push(virtualServer(top.args[0], Number(top.args[1]), top, '', note));
  }
  // a group repeats its block's notes once per member: list each once
  return finish(services, [...new Set(untranslated)], ha ?? undefined, director);
}

const GLOBAL_LVS = new Set(['lvs_timeouts', 'lvs_sync_daemon', 'lvs_flush', 'lvs_flush_on_stop']);
const VRRP_GLOBALS = ['vrrp_version', 'v3_checksum_as_v2', 'vrrp_mcast_group4', 'vrrp_mcast_group6'];

/** virtualServer translates one virtual_server block for (vip, port) */
function virtualServer(vip: string, port: number, top: Stmt, prefix: string,
  note: (s: Stmt, why: string) => void): Svc {
  const body = top.children ?? [];
  const protocol = (get(body, 'protocol')?.args[0] ?? 'TCP').toLowerCase();
  const algo = (get(body, 'lvs_sched') ?? get(body, 'lb_algo'))?.args[0] ?? 'wlc';
  const kind = (get(body, 'lvs_method') ?? get(body, 'lb_kind'))?.args[0]?.toUpperCase() ?? 'NAT';
  const delay = Number(get(body, 'delay_loop')?.args[0] ?? 6);
  const obj: Record<string, unknown> = {
    name: `${prefix}${protocol}-${vip}-${port}`, vip, port, protocol: protocol === 'udp' ? 'udp' : 'tcp',
    scheduler: SCHEDULERS.includes(algo) ? algo : 'wlc',
  };
  if (!SCHEDULERS.includes(algo)) note(get(body, 'lvs_sched') ?? get(body, 'lb_algo')!, `scheduler ${algo} unsupported, wlc used`);
  if (!KINDS[kind]) note(get(body, 'lb_kind') ?? get(body, 'lvs_method')!, `forwarding ${kind} unsupported`);
  const pt = get(body, 'persistence_timeout');
  if (pt) obj.persistence = Number(pt.args[0] ?? 360);
  const pg = get(body, 'persistence_granularity');
  // a netmask for IPv4, a prefix length for IPv6
  if (pg) obj.persistence_netmask = /^\d+$/.test(pg.args[0] ?? '') ? Number(pg.args[0]) : pg.args[0];
  const sorry = get(body, 'sorry_server');
  if (sorry) obj.sorry_server = { address: sorry.args[0], port: Number(sorry.args[1] ?? port) };
  const rs: Record<string, unknown>[] = [];
  const modes: string[] = [];
  let inhibit = 0;
  const servers = body.filter((s) => s.key === 'real_server');
  for (const s of servers) {
    const rb = s.children ?? [];
    const r: Record<string, unknown> = { address: s.args[0], port: Number(s.args[1] ?? port), weight: Number(get(rb, 'weight')?.args[0] ?? 1) };
    if (get(rb, 'inhibit_on_failure')) inhibit++;
    const uth = get(rb, 'uthreshold');
    if (uth) r.upper_threshold = Number(uth.args[0]);
    const checks = rb.filter((c) => ['TCP_CHECK', 'HTTP_GET', 'SSL_GET', 'MISC_CHECK', 'SMTP_CHECK', 'DNS_CHECK', 'BFD_CHECK', 'UDP_CHECK'].includes(c.key));
    if (checks.length > 1) note(checks[1], 'only the first check of a real server is translated');
    const c = checks[0];
    if (c) {
      const cb = c.children ?? [];
      const num = (k: string) => (get(cb, k) ? Number(get(cb, k)!.args[0]) : undefined);
      const timeout = num('connect_timeout') ?? num('misc_timeout') ?? 5;
      const hc: Record<string, unknown> = {
        interval: delay, timeout: Math.min(timeout, Math.max(delay - 0.5, 0.5)),
        fall: num('retry') ?? num('nb_get_retry') ?? 1, rise: 1,
      };
      const cport = num('connect_port');
      if (cport) hc.port = cport;
      if (c.key === 'TCP_CHECK') hc.type = 'tcp';
      else if (c.key === 'HTTP_GET' || c.key === 'SSL_GET') {
        hc.type = 'http';
        if (c.key === 'SSL_GET') hc.tls = true;
        const url = get(cb, 'url');
        const path = get(url?.children ?? null, 'path')?.args[0];
        if (path) hc.path = path;
        const code = get(url?.children ?? null, 'status_code')?.args[0];
        if (code) hc.expect_status = Number(code);
        const digest = get(url?.children ?? null, 'digest');
        if (digest) note(digest, 'body digests are not checked; consider expect_body');
      } else if (c.key === 'MISC_CHECK') {
        hc.type = 'exec';
        hc.command = get(cb, 'misc_path')?.args[0] ?? 'false';
        if (get(cb, 'misc_dynamic')) note(get(cb, 'misc_dynamic')!, 'dynamic weights from the exit code are not supported');
      } else if (c.key === 'UDP_CHECK') {
        hc.type = 'udp';
      } else {
        note(c, `${c.key} is not supported; a TCP check is used`);
        hc.type = 'tcp';
      }
      if (hc.timeout !== timeout) note(c, `timeout ${timeout} s is not shorter than delay_loop ${delay} s: shortened`);
      r.health_check = hc;
    } else {
      r.health_check = { type: 'none' };
    }
    rs.push(r);
    modes.push(KINDS[kind] ?? 'nat');
  }
  // keepalived removes a failed server unless it says inhibit_on_failure (weight 0 instead)
  obj.on_failure = inhibit > servers.length / 2 ? 'quiesce' : 'remove';
  if (inhibit && inhibit !== servers.length) note(top, 'inhibit_on_failure set on some real servers only: wlvs decides per service');
  obj.health_check = { type: 'none' };
  return { obj, rs, modes };
}
