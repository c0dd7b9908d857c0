// keepalived.ts — translates the virtual_server blocks of a keepalived.conf into a wlvs
// configuration: schedulers, forwarding, persistence, sorry server, real servers with weights
// and their TCP_CHECK / HTTP_GET / SSL_GET / MISC_CHECK. VRRP, global_defs, fwmark services,
// groups and anything without a wlvs equivalent are listed with their line numbers.
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

/** translate converts keepalived.conf text. */
export function translate(text: string): Translation {
  const untranslated: string[] = [];
  const services: { obj: Record<string, unknown>; rs: Record<string, unknown>[]; modes: string[] }[] = [];
  const note = (s: Stmt, why: string) => untranslated.push(`line ${s.line}: ${[s.key, ...s.args].join(' ')} (${why})`);
  for (const top of parse(tokenize(text))) {
    if (top.key !== 'virtual_server') {
      note(top, top.key.startsWith('vrrp') ? 'VRRP is not part of wlvs yet' : 'not a virtual_server block');
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
    if (pg) obj.persistence_netmask = pg.args[0];
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
  return finish(services, untranslated);
}
