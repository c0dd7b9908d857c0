// keepalived.ts — translates the virtual_server blocks of a keepalived.conf into a wlvs
// configuration: schedulers, forwarding, persistence, sorry server, real servers with weights
// and their TCP_CHECK / HTTP_GET / SSL_GET / MISC_CHECK, and a unicast vrrp_instance into
// director.ha. global_defs, multicast VRRP, fwmark services, groups and anything without a wlvs
// equivalent are listed with their line numbers.
import { finish, type Translation } from './ipvsadm.js';

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
const SCHEDULERS = ['rr', 'wrr', 'lc', 'wlc', 'sed', 'nq', 'sh', 'dh', 'mh'];

/** SYNC_PORT: keepalived has no sync port of its own; wlvs's is chosen here */
const SYNC_PORT = 8848;

/**
 * vrrp turns a unicast vrrp_instance into director.ha; null (with a note) when it cannot: wlvs
 * speaks to one peer over unicast, so a multicast instance needs its peer filled in by hand.
 */
function vrrp(top: Stmt, vips: Set<string>, note: (s: Stmt, why: string) => void): Record<string, unknown> | null {
  const body = top.children ?? [];
  const src = get(body, 'unicast_src_ip')?.args[0];
  const peers = (get(body, 'unicast_peer')?.children ?? []).map((p) => p.key);
  if (!src || peers.length === 0) {
    note(top, 'multicast VRRP: add director.ha with listen and peer addresses by hand');
    return null;
  }
  if (peers.length > 1) note(get(body, 'unicast_peer')!, 'wlvs pairs two directors: only the first unicast_peer is used');
  const prio = Number(get(body, 'priority')?.args[0] ?? 100);
  if (prio > 254) note(get(body, 'priority')!, 'priority 255 (address owner) becomes 254');
  const ha: Record<string, unknown> = {
    group: Number(get(body, 'virtual_router_id')?.args[0] ?? 1),
    priority: Math.min(254, Math.max(1, prio)),
    state: get(body, 'state')?.args[0]?.toLowerCase() === 'master' ? 'master' : 'backup',
    preempt: !get(body, 'nopreempt'),
    advert_interval: Number(get(body, 'advert_int')?.args[0] ?? 1),
    listen: `${src}:${SYNC_PORT}`,
    peer: `${peers[0]}:${SYNC_PORT}`,
  };
  // VIPs of virtual servers move with the role anyway; the rest become virtual addresses
  const extra = (get(body, 'virtual_ipaddress')?.children ?? []).filter((a) => !vips.has(a.key.split('/')[0]));
  if (extra.length) {
    ha.virtual_addresses = extra.map((a) => ({ address: a.key.includes('/') ? a.key : `${a.key}/32`, device: PLACEHOLDER_DEVICE }));
    note(get(body, 'virtual_ipaddress')!, `virtual addresses are put on device ${PLACEHOLDER_DEVICE}: name the wlvs device that carries each`);
  }
  for (const k of ['track_script', 'track_interface', 'notify_master', 'notify_backup', 'notify', 'authentication']) {
    const s = get(body, k);
    if (s) note(s, 'no wlvs equivalent');
  }
  return ha;
}

const PLACEHOLDER_DEVICE = 'wlvs0';

/** translate converts keepalived.conf text. */
export function translate(text: string): Translation {
  const untranslated: string[] = [];
  const services: { obj: Record<string, unknown>; rs: Record<string, unknown>[]; modes: string[] }[] = [];
  const note = (s: Stmt, why: string) => untranslated.push(`line ${s.line}: ${[s.key, ...s.args].join(' ')} (${why})`);
  const tops = parse(tokenize(text));
  const vips = new Set(tops.filter((t) => t.key === 'virtual_server').map((t) => t.args[0]));
  let ha: Record<string, unknown> | null = null;
  for (const top of tops) {
    if (top.key === 'vrrp_instance') {
      if (ha) note(top, 'wlvs runs one failover pair per director: only the first vrrp_instance is translated');
      else ha = vrrp(top, vips, note);
      continue;
    }
    if (top.key !== 'virtual_server') {
      note(top, top.key.startsWith('vrrp') ? 'no wlvs equivalent' : 'not a virtual_server block');
      continue;
    }
    if (top.args[0] === 'fwmark' || top.args[0] === 'group' || top.args.length < 2) {
      note(top, 'fwmark and group virtual servers have no wlvs equivalent');
      continue;
    }
    const [vip, portText] = top.args;
    const port = Number(portText);
    const body = top.children ?? [];
    const protocol = (get(body, 'protocol')?.args[0] ?? 'TCP').toLowerCase();
    const algo = (get(body, 'lvs_sched') ?? get(body, 'lb_algo'))?.args[0] ?? 'wlc';
    const kind = (get(body, 'lvs_method') ?? get(body, 'lb_kind'))?.args[0]?.toUpperCase() ?? 'NAT';
    const delay = Number(get(body, 'delay_loop')?.args[0] ?? 6);
    const obj: Record<string, unknown> = {
      name: `${protocol}-${vip}-${port}`, vip, port, protocol: protocol === 'udp' ? 'udp' : 'tcp',
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
    services.push({ obj, rs, modes });
  }
  return finish(services, untranslated, ha ?? undefined);
}
